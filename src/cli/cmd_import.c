/*
 * `strain import MANIFEST.tsv`: bulk load. One sample path per line with its labels:
 *     path <TAB> actor <TAB> family [<TAB> tags, comma-separated]
 * A first line starting "path<TAB>" is a header. Relative paths are relative to the
 * manifest's folder. Analysis runs on all cores (strain_engine_ingest).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_cli.h"

enum { OPT_DB = 256, OPT_QUIET, OPT_NO_COMPACT };

static const struct option import_opts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"no-compact", no_argument, NULL, OPT_NO_COMPACT},
    {"jobs", required_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

typedef struct manifest {
    char **lines;
    size_t n_lines;
    strain_ingest_entry *e;
    const char ***tags;
    size_t n;
} manifest;

static void manifest_free(manifest *m)
{
    for (size_t i = 0; i < m->n_lines; i++) {
        free(m->lines[i]);
    }
    for (size_t i = 0; i < m->n; i++) {
        free(m->tags[i]);
    }
    free(m->lines);
    free(m->tags);
    free(m->e);
}

/* Splits line in place at tabs; returns the field count (at most max). */
static size_t split(char *line, char **f, size_t max, char sep)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p != '\0' && n < max; p++) {
        if (*p == sep) {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

static int read_manifest(manifest *m, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_error("import: %s: cannot open", path);
        return CLI_EXIT_INPUT;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        slash[1] = '\0';
    } else {
        dir[0] = '\0';
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t lineno = 0;
    int rc = CLI_EXIT_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len == 0 || line[0] == '#' || (lineno == 1 && strncmp(line, "path\t", 5) == 0)) {
            continue;
        }
        char *fl[4];
        size_t nf = split(line, fl, 4, '\t');
        if (nf < 3 || fl[0][0] == '\0') {
            cli_error("import: %s:%zu: expected path, actor, family [, tags]", path, lineno);
            rc = CLI_EXIT_INPUT;
            continue;
        }
        size_t need = strlen(dir) + strlen(line) + 2;
        char *full =
            malloc(need + strlen(fl[1]) + strlen(fl[2]) + (nf > 3 ? strlen(fl[3]) : 0) + 4);
        void *ne = realloc(m->e, (m->n + 1) * sizeof(*m->e));
        if (ne != NULL) {
            m->e = ne;
        }
        void *nt = realloc(m->tags, (m->n + 1) * sizeof(*m->tags));
        if (nt != NULL) {
            m->tags = nt;
        }
        void *nl = realloc(m->lines, (m->n_lines + 1) * sizeof(*m->lines));
        if (nl != NULL) {
            m->lines = nl;
        }
        if (full == NULL || ne == NULL || nt == NULL || nl == NULL) {
            free(full);
            rc = CLI_EXIT_ERROR;
            break;
        }
        m->lines[m->n_lines++] = full;
        /* one allocation holds the path and the label strings */
        char *p = full;
        int w = snprintf(p, need, "%s%s", fl[0][0] == '/' ? "" : dir, fl[0]);
        char *actor = p + w + 1;
        strcpy(actor, fl[1]);
        char *family = actor + strlen(actor) + 1;
        strcpy(family, fl[2]);
        char *tagstr = family + strlen(family) + 1;
        strcpy(tagstr, nf > 3 ? fl[3] : "");
        const char **tags = calloc(STRAIN_STORE_MAX_TAGS, sizeof(*tags));
        if (tags == NULL) {
            rc = CLI_EXIT_ERROR;
            break;
        }
        size_t nt2 = tagstr[0] ? split(tagstr, (char **)tags, STRAIN_STORE_MAX_TAGS, ',') : 0;
        m->tags[m->n] = tags;
        strain_ingest_entry *e = &m->e[m->n++];
        memset(e, 0, sizeof(*e));
        e->path = full;
        e->label.actor = actor;
        e->label.family = family;
        e->label.tags = tags;
        e->label.n_tags = nt2;
        e->label.clean = STRAIN_STORE_KEEP;
    }
    free(line);
    fclose(f);
    return rc;
}

static int import_run(int argc, char **argv)
{
    const char *db = NULL;
    unsigned threads = 0;
    bool quiet = false;
    bool compact = true;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:", import_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: db = optarg; break;
        case OPT_QUIET: quiet = true; break;
        case OPT_NO_COMPACT: compact = false; break;
        case 'j':
            if (cli_parse_threads(&threads, "import", optarg) != CLI_EXIT_OK) {
                return CLI_EXIT_USAGE;
            }
            break;
        default: return cli_usage_error("import", "unknown option");
        }
    }
    if (optind != argc - 1) {
        return cli_usage_error("import", "one MANIFEST.tsv is required");
    }
    manifest m;
    memset(&m, 0, sizeof(m));
    int rc = read_manifest(&m, argv[optind]);
    if (rc != CLI_EXIT_ERROR) {
        int r2 = cli_ingest("import", db, m.e, m.n, threads, quiet, NULL, compact);
        rc = r2 != CLI_EXIT_OK ? r2 : rc;
    } else {
        cli_error("out of memory");
    }
    manifest_free(&m);
    return rc;
}

const cli_command cli_cmd_import = {
    "import",
    "bulk-load labelled reference samples from a TSV manifest",
    "usage: strain import [--db PATH] [-j N] [--quiet] [--no-compact] MANIFEST.tsv\n"
    "Each line: path <TAB> actor <TAB> family [<TAB> tag,tag...]; an optional header line\n"
    "starts with \"path\". Relative paths are relative to the manifest. Analysis runs on N\n"
    "threads (default: all cores); a progress bar is drawn when stderr is a terminal.\n"
    "The database is then compacted (`strain db compact`: faster queries; it rewrites the\n"
    "whole file, so --no-compact skips it when adding a few samples to a large database).\n",
    import_run,
};
