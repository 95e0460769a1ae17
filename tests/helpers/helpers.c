/* Test helpers: see helpers.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define TH_MAX_CORPUS 1024

static th_corpus_file corpus[TH_MAX_CORPUS];
static size_t n_corpus;
static int corpus_loaded;
static char tmpdir[256];

static void cleanup(void)
{
    if (tmpdir[0] != '\0') {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            /* best effort */
        }
    }
}

const char *th_tmpdir(void)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "%s/strain-test-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(tmpdir) == NULL) {
            fail_msg("mkdtemp failed");
        }
        atexit(cleanup);
    }
    return tmpdir;
}

static char *field(char **s)
{
    char *start = *s;
    if (start == NULL) {
        return (char *)"";
    }
    char *tab = strchr(start, '\t');
    if (tab != NULL) {
        *tab = '\0';
        *s = tab + 1;
    } else {
        char *nl = strchr(start, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        *s = NULL;
    }
    return start;
}

size_t th_corpus(const th_corpus_file **out)
{
    const char *shared = getenv("STRAIN_SHARED_DIR");
    const char *dir = getenv("STRAIN_CORPUS_DIR");
    const char *req = getenv("STRAIN_REQUIRE_CORPUS");
    int required = req != NULL && strcmp(req, "1") == 0;
    *out = corpus;
    if (corpus_loaded) {
        return n_corpus;
    }
    corpus_loaded = 1;
    if (shared == NULL || dir == NULL) {
        if (required) {
            fail_msg("STRAIN_SHARED_DIR / STRAIN_CORPUS_DIR not set");
        }
        return 0;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/corpus/public.tsv", shared);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (required) {
            fail_msg("cannot read %s", path);
        }
        return 0;
    }
    char line[4096];
    int header = 1;
    size_t missing = 0;
    while (fgets(line, sizeof(line), f) != NULL && n_corpus < TH_MAX_CORPUS) {
        if (header) {
            header = 0;
            continue;
        }
        char *s = line;
        th_corpus_file *c = &corpus[n_corpus];
        memset(c, 0, sizeof(*c));
        snprintf(c->family, sizeof(c->family), "%s", field(&s));
        snprintf(c->actor, sizeof(c->actor), "%s", field(&s));
        (void)field(&s); /* npm_package */
        snprintf(c->version, sizeof(c->version), "%s", field(&s));
        const char *member = field(&s);
        snprintf(c->sha256, sizeof(c->sha256), "%s", field(&s));
        (void)field(&s); /* size */
        snprintf(c->format, sizeof(c->format), "%s", field(&s));
        snprintf(c->arch, sizeof(c->arch), "%s", field(&s));
        (void)field(&s); /* toolchain */
        c->signed_ = atoi(field(&s));
        const char *base = strrchr(member, '/');
        base = base ? base + 1 : member;
        const char *suffix = "";
        if (strcmp(c->format, "pe32") == 0) {
            suffix = "@win32-ia32";
        } else if (strcmp(c->format, "elf64") == 0) {
            suffix = "@linux-x64";
        }
        snprintf(c->path, sizeof(c->path), "%s/%s/%s/%s%s/%s", dir, c->actor, c->family,
                 c->version, suffix, base);
        if (access(c->path, R_OK) != 0) {
            missing++;
            continue;
        }
        n_corpus++;
    }
    fclose(f);
    if (missing > 0 && required) {
        fail_msg("%zu corpus files missing under %s (run scripts/corpus.sh)", missing, dir);
    }
    if (missing > 0) {
        n_corpus = 0;
    }
    return n_corpus;
}

int th_run(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
    }
    if (buf != NULL) {
        buf[len] = '\0';
    }
    int status = pclose(p);
    if (out != NULL) {
        *out = buf;
    } else {
        free(buf);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

uint8_t *th_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

int th_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    size_t n = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && n == len) ? 0 : -1;
}

int th_have(const char *program)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", program);
    return system(cmd) == 0;
}
