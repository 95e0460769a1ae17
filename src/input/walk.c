/*
 * strain_input_walk(): arguments -> files, directories, stdin -> samples or archives (handed
 * to archive.c). Shaped by what analysts point a tool at: a case folder with a mix of loose
 * samples and password-protected zips, a symlink farm, a pipe from curl.
 *
 * Directories are walked in strcmp order of names so that two runs yield the same sequence.
 * Symlinks are resolved (realpath) and followed only when they stay inside the tree given;
 * every file and directory is remembered by (st_dev, st_ino), so a file reached through a
 * link (or a hard link) is read once and a directory that is one of our own ancestors is a
 * loop, reported and skipped. Only regular files are read inside a tree: a FIFO would block
 * the walk forever. An argument given by name may be anything readable (a FIFO, /dev/stdin).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input/input_impl.h"
#include "util/ctx.h"
#include "util/err.h"
#include "util/file.h"
#include "util/limits.h"

int strain_input__report(strain_walk *w, int err, const char *fmt, ...)
{
    char msg[STRAIN_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (w->stop < 0) {
        return w->stop;
    }
    w->failures++;
    int rc = w->cb(NULL, err, msg, w->payload);
    if (rc < 0) {
        w->stop = rc;
    }
    return w->stop;
}

int strain_input__yield(strain_walk *w, uint8_t *bytes, size_t size, const char *path,
                        const char *archive_path)
{
    strain_sample *s = NULL;
    if (w->stop < 0) {
        free(bytes);
        return w->stop;
    }
    int err = strain_sample__adopt(&s, w->ctx, bytes, size, path, archive_path);
    if (err < 0) {
        return w->stop = err;
    }
    int rc = w->cb(s, 0, NULL, w->payload);
    strain_sample_free(s);
    if (rc < 0) {
        w->stop = rc;
    }
    return w->stop;
}

void strain_input__budget_reset(strain_walk *w)
{
    w->unpacked = 0;
    w->members = 0;
    w->budget_hit = false;
}

/* An archive on disk or from stdin: a fresh budget, and its escaped name as the first
 * archive_path level. */
static void walk_archive_top(strain_walk *w, strain_input_kind kind, int fd, const uint8_t *data,
                             size_t len, const char *path, const char *where)
{
    strain_buf chain = STRAIN_BUF_INIT;
    if (strain_input__put_member_name(&chain, strain_input__basename(path)) < 0 ||
        strain_buf_putc(&chain, '\0') < 0) {
        strain_buf_free(&chain);
        w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
        return;
    }
    strain_input_level lv = {path, chain.ptr, where, 1};
    strain_input__budget_reset(w);
    strain_input__walk_archive(w, kind, fd, data, len, &lv);
    strain_buf_free(&chain);
}

/* Bytes already in memory: an archive to walk, or a sample (takes bytes). */
static void walk_bytes(strain_walk *w, uint8_t *bytes, size_t len, const char *path,
                       const char *where)
{
    strain_input_kind kind = w->no_archives ? STRAIN_INPUT_PLAIN : strain_input__sniff(bytes, len);
    if (kind == STRAIN_INPUT_PLAIN) {
        strain_input__yield(w, bytes, len, path, NULL);
        return;
    }
    walk_archive_top(w, kind, -1, bytes, len, path, where);
    free(bytes);
}

/* Reads a whole stream (stdin, a FIFO) within the file size limit, then walks it. */
static void walk_stream(strain_walk *w, const char *path, const char *where)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int err = strain__read_file(w->ctx, path, w->ctx->limits.max_file_size, &bytes, &len);
    if (err < 0) {
        if (err == STRAIN_ENOMEM) {
            w->stop = err;
            return;
        }
        strain_input__report(w, err, "%s", strain_ctx_errmsg(w->ctx));
        return;
    }
    walk_bytes(w, bytes, len, path, where);
}

/* A regular file: sniffed from its first bytes, then streamed (archive) or read (sample). */
static void walk_file(strain_walk *w, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        strain_input__report(w, STRAIN_EIO, "%s: %s", path, strerror(errno));
        return;
    }
    uint8_t head[STRAIN_INPUT_SNIFF_LEN];
    ssize_t n;
    do {
        n = pread(fd, head, sizeof(head), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        strain_input__report(w, STRAIN_EIO, "%s: %s", path, strerror(errno));
        close(fd);
        return;
    }
    strain_input_kind kind =
        w->no_archives ? STRAIN_INPUT_PLAIN : strain_input__sniff(head, (size_t)n);
    if (kind != STRAIN_INPUT_PLAIN) {
        walk_archive_top(w, kind, fd, NULL, 0, path, path);
        close(fd);
        return;
    }
    close(fd);
    walk_stream(w, path, path);
}

/* (st_dev, st_ino) of every node seen in one directory argument: open addressing. */
typedef struct node_id {
    dev_t dev;
    ino_t ino;
} node_id;

typedef struct node_set {
    node_id *slots;
    bool *used;
    size_t cap; /* power of two */
    size_t len;
} node_set;

static size_t node_hash(node_id id, size_t cap)
{
    uint64_t h =
        (uint64_t)id.ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)id.dev * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static bool node_find(const node_set *s, node_id id, size_t *slot)
{
    size_t i = node_hash(id, s->cap);
    while (s->used[i]) {
        if (s->slots[i].dev == id.dev && s->slots[i].ino == id.ino) {
            *slot = i;
            return true;
        }
        i = (i + 1) & (s->cap - 1);
    }
    *slot = i;
    return false;
}

/* 1 if added, 0 if already there, < 0 on OOM or past the node cap. */
static int node_add(node_set *s, node_id id)
{
    size_t slot;
    if (s->cap == 0 || (s->len + 1) * 2 > s->cap) {
        if (s->len >= STRAIN_INPUT_MAX_TREE_NODES) {
            return STRAIN_ELIMIT;
        }
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        node_set n = {calloc(ncap, sizeof(node_id)), calloc(ncap, sizeof(bool)), ncap, 0};
        if (n.slots == NULL || n.used == NULL) {
            free(n.slots);
            free(n.used);
            return STRAIN_ENOMEM;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (s->used[i]) {
                node_find(&n, s->slots[i], &slot);
                n.slots[slot] = s->slots[i];
                n.used[slot] = true;
                n.len++;
            }
        }
        free(s->slots);
        free(s->used);
        *s = n;
    }
    if (node_find(s, id, &slot)) {
        return 0;
    }
    s->slots[slot] = id;
    s->used[slot] = true;
    s->len++;
    return 1;
}

typedef struct tree {
    const char *root_real; /* realpath of the argument */
    node_set seen;
    node_id stack[STRAIN_DEFAULT_MAX_DIR_DEPTH + 2]; /* ancestors, for loop detection */
    unsigned depth;
} tree;

static bool inside(const tree *t, const char *real)
{
    size_t n = strlen(t->root_real);
    if (n == 1 && t->root_real[0] == '/') {
        return true;
    }
    return strncmp(real, t->root_real, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    size_t m = strlen(name);
    char *p = malloc(n + 1 + m + 1);
    if (p != NULL) {
        memcpy(p, dir, n);
        p[n] = '/';
        memcpy(p + n + 1, name, m + 1);
    }
    return p;
}

static void walk_dir(strain_walk *w, tree *t, const char *path);

/* One entry of a directory: classify, apply the link and loop rules, recurse or read. */
static void walk_entry(strain_walk *w, tree *t, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        strain_input__report(w, STRAIN_EIO, "%s: %s", path, strerror(errno));
        return;
    }
    if (S_ISLNK(st.st_mode)) {
        char *real = realpath(path, NULL);
        if (real == NULL) {
            /* ELOOP: a cycle of links; ENOENT: dangling. */
            strain_input__report(w, STRAIN_EIO, "%s: symlink not followed: %s", path,
                                 strerror(errno));
            return;
        }
        bool in = inside(t, real);
        if (!in) {
            strain_input__report(w, STRAIN_EINVAL,
                                 "%s: symlink leaves the tree (to %s); not followed", path, real);
        }
        free(real);
        if (!in) {
            return;
        }
        if (stat(path, &st) != 0) {
            strain_input__report(w, STRAIN_EIO, "%s: %s", path, strerror(errno));
            return;
        }
    }
    node_id id = {st.st_dev, st.st_ino};
    if (S_ISDIR(st.st_mode)) {
        for (unsigned i = 0; i <= t->depth; i++) {
            if (t->stack[i].dev == id.dev && t->stack[i].ino == id.ino) {
                strain_input__report(w, STRAIN_EINVAL,
                                     "%s: directory loop (leads back to an ancestor); skipped",
                                     path);
                return;
            }
        }
    } else if (!S_ISREG(st.st_mode)) {
        strain_input__report(w, STRAIN_EINVAL, "%s: not a regular file or directory; skipped",
                             path);
        return;
    }
    int added = node_add(&t->seen, id);
    if (added < 0) {
        if (added == STRAIN_ENOMEM) {
            w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
        } else {
            strain_input__report(w, STRAIN_ELIMIT, "%s: more than %u files in the tree; skipped",
                                 path, STRAIN_INPUT_MAX_TREE_NODES);
        }
        return;
    }
    if (added == 0) {
        return; /* reached before through another link: read once */
    }
    if (!S_ISDIR(st.st_mode)) {
        walk_file(w, path);
        return;
    }
    /* The ancestor stack is fixed-size: a larger configured limit is capped to it. */
    unsigned max_depth = w->ctx->limits.max_dir_depth < STRAIN_DEFAULT_MAX_DIR_DEPTH
                             ? (unsigned)w->ctx->limits.max_dir_depth
                             : STRAIN_DEFAULT_MAX_DIR_DEPTH;
    if (t->depth + 1 > max_depth) {
        strain_input__report(w, STRAIN_ELIMIT,
                             "%s: deeper than the directory depth limit (%u); skipped", path,
                             max_depth);
        return;
    }
    t->stack[++t->depth] = id;
    walk_dir(w, t, path);
    t->depth--;
}

static void walk_dir(strain_walk *w, tree *t, const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        strain_input__report(w, STRAIN_EIO, "%s: %s", path, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    bool oom = false;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (nn == NULL) {
                oom = true;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            oom = true;
            break;
        }
        n++;
    }
    closedir(d);
    if (oom) {
        w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
    }
    if (n > 0) {
        qsort(names, n, sizeof(*names), cmp_names);
    }
    for (size_t i = 0; i < n && w->stop >= 0; i++) {
        char *child = join_path(path, names[i]);
        if (child == NULL) {
            w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
            break;
        }
        walk_entry(w, t, child);
        free(child);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static void walk_tree(strain_walk *w, const char *path, const struct stat *st)
{
    tree t = {0};
    char *real = realpath(path, NULL);
    if (real == NULL) {
        strain_input__report(w, STRAIN_EIO, "%s: %s", path, strerror(errno));
        return;
    }
    t.root_real = real;
    node_id id = {st->st_dev, st->st_ino};
    t.stack[0] = id;
    if (node_add(&t.seen, id) < 0) {
        w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
    } else {
        walk_dir(w, &t, path);
    }
    free(t.seen.slots);
    free(t.seen.used);
    free(real);
}

static void walk_arg(strain_walk *w, const char *path)
{
    if (strcmp(path, "-") == 0) {
        walk_stream(w, "-", "<stdin>");
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        strain_input__report(w, STRAIN_EIO, "%s: %s", path, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        walk_tree(w, path, &st);
    } else if (S_ISREG(st.st_mode)) {
        walk_file(w, path);
    } else {
        walk_stream(w, path, path); /* a FIFO or device named explicitly */
    }
}

static void walk_init(strain_walk *w, strain_ctx *ctx, const strain_input_opts *opts,
                      strain_input_cb cb, void *payload)
{
    memset(w, 0, sizeof(*w));
    w->ctx = ctx;
    w->password = opts != NULL ? opts->password : NULL;
    w->no_archives = opts != NULL && opts->no_archives;
    w->cb = cb;
    w->payload = payload;
}

int strain_input_walk(strain_ctx *ctx, const char *const *paths, size_t n_paths,
                      const strain_input_opts *opts, strain_input_cb cb, void *payload)
{
    if (ctx == NULL || cb == NULL || (n_paths > 0 && paths == NULL)) {
        return strain__fail(ctx, STRAIN_EINVAL, "strain_input_walk: missing argument");
    }
    strain_walk w;
    walk_init(&w, ctx, opts, cb, payload);
    for (size_t i = 0; i < n_paths && w.stop >= 0; i++) {
        if (paths[i] == NULL) {
            continue;
        }
        walk_arg(&w, paths[i]);
    }
    return w.stop < 0 ? w.stop : w.failures;
}

int strain_input__walk_memory(strain_ctx *ctx, const uint8_t *data, size_t size, const char *name,
                              const strain_input_opts *opts, strain_input_cb cb, void *payload)
{
    if (ctx == NULL || cb == NULL || (size > 0 && data == NULL)) {
        return strain__fail(ctx, STRAIN_EINVAL, "strain_input__walk_memory: missing argument");
    }
    strain_walk w;
    walk_init(&w, ctx, opts, cb, payload);
    if ((uint64_t)size > ctx->limits.max_file_size) {
        strain_input__report(&w, STRAIN_ELIMIT,
                             "%s: %zu bytes is larger than the file size "
                             "limit (%llu bytes)",
                             name, size, (unsigned long long)ctx->limits.max_file_size);
        return w.stop < 0 ? w.stop : w.failures;
    }
    uint8_t *copy = malloc(size + 1);
    if (copy == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    if (size > 0) {
        memcpy(copy, data, size);
    }
    copy[size] = 0;
    walk_bytes(&w, copy, size, name, name);
    return w.stop < 0 ? w.stop : w.failures;
}
