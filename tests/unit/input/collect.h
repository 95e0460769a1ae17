/*
 * Shared by the input tests: run a walk and keep everything the callback saw (samples and
 * errors, in order), then look results up and check hashes against sha256sum.
 */
#ifndef STRAIN_TEST_INPUT_COLLECT_H
#define STRAIN_TEST_INPUT_COLLECT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/input.h>

#include "helpers.h"

typedef struct got {
    char *path;
    char *ap; /* archive_path, NULL for a plain file */
    char sha[STRAIN_SHA256_HEX];
    size_t size;
    int err; /* 0 for a sample */
    char *msg;
} got;

typedef struct walk_result {
    got *items;
    size_t n, cap;
    size_t n_samples, n_errors;
    int rc;
    int stop_at; /* > 0: return -42 from the callback at this item (1-based) */
} walk_result;

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int collect_cb(const strain_sample *s, int err, const char *msg, void *payload)
{
    walk_result *r = payload;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = realloc(r->items, r->cap * sizeof(*r->items));
        assert_non_null(r->items);
    }
    got *g = &r->items[r->n++];
    memset(g, 0, sizeof(*g));
    if (s != NULL) {
        assert_int_equal(err, 0);
        g->path = dup_or_null(s->path);
        g->ap = dup_or_null(s->archive_path);
        memcpy(g->sha, s->sha256, sizeof(g->sha));
        g->size = s->size;
        r->n_samples++;
    } else {
        assert_true(err < 0);
        assert_non_null(msg);
        g->err = err;
        g->msg = strdup(msg);
        r->n_errors++;
    }
    if (r->stop_at > 0 && r->n == (size_t)r->stop_at) {
        return -42;
    }
    return 0;
}

static void result_print(const walk_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const got *g = &r->items[i];
        if (g->err == 0) {
            print_message("  sample %s | %s | %s\n", g->path, g->ap ? g->ap : "(none)", g->sha);
        } else {
            print_message("  error %d: %s\n", g->err, g->msg);
        }
    }
}

static void result_free(walk_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].path);
        free(r->items[i].ap);
        free(r->items[i].msg);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static void walk_collect(walk_result *r, strain_ctx *ctx, const char *const *paths, size_t n,
                         const strain_input_opts *opts)
{
    int stop_at = r->stop_at;
    memset(r, 0, sizeof(*r));
    r->stop_at = stop_at;
    r->rc = strain_input_walk(ctx, paths, n, opts, collect_cb, r);
}

static const got *find_sample(const walk_result *r, const char *path, const char *ap)
{
    for (size_t i = 0; i < r->n; i++) {
        const got *g = &r->items[i];
        if (g->err == 0 && strcmp(g->path, path) == 0 &&
            ((ap == NULL && g->ap == NULL) ||
             (ap != NULL && g->ap != NULL && strcmp(ap, g->ap) == 0))) {
            return g;
        }
    }
    return NULL;
}

/* The error with this code whose message holds every one of the (NULL-terminated) parts. */
static const got *find_error_v(const walk_result *r, int err, const char *const *parts)
{
    for (size_t i = 0; i < r->n; i++) {
        const got *g = &r->items[i];
        if (g->err != err) {
            continue;
        }
        bool all = true;
        for (size_t k = 0; parts[k] != NULL; k++) {
            all = all && strstr(g->msg, parts[k]) != NULL;
        }
        if (all) {
            return g;
        }
    }
    return NULL;
}

#define find_error(r, err, ...) find_error_v((r), (err), (const char *const[]){__VA_ARGS__, NULL})

#define expect_error(r, err, ...)                                                                  \
    do {                                                                                           \
        if (find_error((r), (err), __VA_ARGS__) == NULL) {                                         \
            result_print(r);                                                                       \
            fail_msg("no error %d with message parts: %s", (err), #__VA_ARGS__);                   \
        }                                                                                          \
    } while (0)

/* sha256 of a file by the independent tool. */
static void sha256sum_of(char out[STRAIN_SHA256_HEX], const char *file)
{
    char *o = NULL;
    int st = th_run(&o, "sha256sum '%s'", file);
    assert_int_equal(st, 0);
    assert_non_null(o);
    assert_true(strlen(o) >= 64);
    memcpy(out, o, 64);
    out[64] = '\0';
    free(o);
}

/* A sample (path, archive_path) was yielded and its hash is sha256sum of original. */
static void expect_sample_at(const walk_result *r, const char *path, const char *ap,
                             const char *original, const char *file, int line)
{
    const got *g = find_sample(r, path, ap);
    if (g == NULL) {
        result_print(r);
        print_error("missing sample %s | %s\n", path, ap ? ap : "(none)");
        _fail(file, line);
    }
    char want[STRAIN_SHA256_HEX];
    sha256sum_of(want, original);
    if (strcmp(g->sha, want) != 0) {
        fail_msg("%s:%d: sha256 of %s | %s is %s, sha256sum of %s says %s", file, line, path,
                 ap ? ap : "(none)", g->sha, original, want);
    }
}

#define expect_sample(r, path, ap, original)                                                       \
    expect_sample_at((r), (path), (ap), (original), __FILE__, __LINE__)

#define expect_counts(r, samples, errors)                                                          \
    do {                                                                                           \
        if ((r)->n_samples != (size_t)(samples) || (r)->n_errors != (size_t)(errors)) {            \
            result_print(r);                                                                       \
            fail_msg("got %zu samples / %zu errors, want %d / %d", (r)->n_samples, (r)->n_errors,  \
                     (int)(samples), (int)(errors));                                               \
        }                                                                                          \
    } while (0)

/* Runs a shell command in dir; fails the test if it fails. */
#define sh(dir, ...)                                                                               \
    do {                                                                                           \
        char *out_ = NULL;                                                                         \
        char cmd_[4096];                                                                           \
        snprintf(cmd_, sizeof(cmd_), __VA_ARGS__);                                                 \
        int st_ = th_run(&out_, "cd '%s' && ( %s ) 2>&1", (dir), cmd_);                            \
        if (st_ != 0) {                                                                            \
            fail_msg("fixture command failed (%d): %s\n%s", st_, cmd_, out_ ? out_ : "");          \
        }                                                                                          \
        free(out_);                                                                                \
    } while (0)

#endif
