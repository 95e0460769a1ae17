/*
 * The store conformance suite: what every backend must do, written against
 * include/strain/store.h only. It runs once per backend named in $STRAIN_TEST_STORE_BACKENDS
 * (comma-separated; default "sqlite"). A new backend adds a location maker to `backends`
 * below (e.g. a PostgreSQL DSN naming a fresh schema per test) and must pass unchanged.
 *
 * Expected values come from the test's own inputs or from an in-memory model the random test
 * keeps beside the store, never from the store itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <strain/store.h>

#include "helpers.h"

typedef struct backend {
    const char *name;
    /* Fills out with a location for a fresh, empty database. */
    void (*fresh_location)(char *out, size_t cap);
} backend;

static void sqlite_location(char *out, size_t cap)
{
    static int n;
    snprintf(out, cap, "%s/conf-%d/store.db", th_tmpdir(), n++);
}

static const backend backends[] = {
    {"sqlite", sqlite_location},
};

static const backend *cur; /* the backend the running group tests */

typedef struct fx {
    strain_ctx *ctx;
    strain_store *st;
    char loc[1024];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(strain_ctx_new(&f->ctx), 0);
    cur->fresh_location(f->loc, sizeof(f->loc));
    int err = strain_store_open(&f->st, f->ctx, cur->name, f->loc, STRAIN_STORE_CREATE);
    if (err != 0) {
        fail_msg("open %s: %s", f->loc, strain_ctx_errmsg(f->ctx));
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    strain_store_close(f->st);
    strain_ctx_free(f->ctx);
    free(f);
    return 0;
}

#define OK(e)                                                                                      \
    do {                                                                                           \
        int rc_ = (e);                                                                             \
        if (rc_ != 0) {                                                                            \
            fail_msg("%s = %d (%s)", #e, rc_, strain_ctx_errmsg(f->ctx));                          \
        }                                                                                          \
    } while (0)

/* A deterministic distinct sha256 per number. */
static void sha_of(char out[STRAIN_SHA256_HEX], unsigned n)
{
    snprintf(out, STRAIN_SHA256_HEX, "%016x%016x%016x%016x", n * 2654435761u, n, ~n, n ^ 0xabcdu);
}

static void mk_sample(strain_store_sample *s, unsigned n)
{
    memset(s, 0, sizeof(*s));
    sha_of(s->sha256, n);
    s->label.clean = STRAIN_STORE_KEEP;
}

static int64_t put(fx *f, unsigned n, const char *actor, const char *family, int clean)
{
    strain_store_sample s;
    int64_t id = 0;
    mk_sample(&s, n);
    s.label.actor = actor;
    s.label.family = family;
    s.label.clean = clean;
    OK(strain_store_put_sample(f->st, &id, &s));
    assert_true(id > 0);
    return id;
}

static void test_open_and_empty(void **state)
{
    fx *f = *state;
    strain_store_stats s;
    strain_store *other = NULL;
    char loc[1024];
    OK(strain_store_stats_get(f->st, &s));
    assert_int_equal(s.samples, 0);
    assert_int_equal(s.postings, 0);
    assert_true(s.schema_version >= 1);
    assert_string_equal(s.backend, cur->name);
    assert_string_equal(strain_store_backend(f->st), cur->name);
    OK(strain_store_check(f->st));
    /* A missing database without CREATE is not found, and is not created. */
    cur->fresh_location(loc, sizeof(loc));
    assert_int_equal(strain_store_open(&other, f->ctx, cur->name, loc, 0), STRAIN_ENOTFOUND);
    assert_null(other);
    assert_int_equal(strain_store_open(&other, f->ctx, cur->name, loc, 0), STRAIN_ENOTFOUND);
    assert_int_equal(strain_store_open(&other, f->ctx, "no-such-backend", loc, 0), STRAIN_EINVAL);
}

static void test_sample_roundtrip(void **state)
{
    fx *f = *state;
    strain_store_sample s;
    strain_store_sample *g = NULL;
    const char *tags[] = {"apt", "loader"};
    int64_t id = 0;
    mk_sample(&s, 1);
    /* Upper case in, lower case out: SHA-256 identity is case-blind. */
    for (char *p = s.sha256; *p; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    snprintf(s.md5, sizeof(s.md5), "%s", "0123456789ABCDEF0123456789abcdef");
    snprintf(s.sha1, sizeof(s.sha1), "%s", "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    s.size = 123456789012ull;
    snprintf(s.format, sizeof(s.format), "pe32+");
    snprintf(s.arch, sizeof(s.arch), "x64");
    s.file_name = "setup \xc3\xa9t\xc3\xa9.exe";
    s.first_seen = 1600000000;
    snprintf(s.imphash, sizeof(s.imphash), "f34d5f2d4577ed6d9ceec516c1f5a744");
    snprintf(s.ssdeep, sizeof(s.ssdeep), "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C");
    snprintf(s.tlsh, sizeof(s.tlsh),
             "T1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4");
    s.has_pe_timestamp = true;
    s.pe_timestamp = 0xfedcba98u;
    s.label.actor = "APT-X";
    s.label.family = "Gh0st";
    s.label.tags = tags;
    s.label.n_tags = 2;
    s.label.clean = 0;
    OK(strain_store_put_sample(f->st, &id, &s));
    char lower[STRAIN_SHA256_HEX];
    sha_of(lower, 1);
    OK(strain_store_get_sample(f->st, &g, lower));
    assert_int_equal(g->id, id);
    assert_string_equal(g->sha256, lower);
    assert_string_equal(g->md5, "0123456789abcdef0123456789abcdef");
    assert_string_equal(g->sha1, s.sha1);
    assert_true(g->size == 123456789012ull);
    assert_string_equal(g->format, "pe32+");
    assert_string_equal(g->arch, "x64");
    assert_string_equal(g->file_name, s.file_name);
    assert_int_equal(g->first_seen, 1600000000);
    assert_true(g->added > 1600000000);
    assert_string_equal(g->imphash, s.imphash);
    assert_string_equal(g->ssdeep, s.ssdeep);
    assert_string_equal(g->tlsh, s.tlsh);
    assert_true(g->has_pe_timestamp);
    assert_true(g->pe_timestamp == 0xfedcba98u);
    assert_string_equal(g->label.actor, "APT-X");
    assert_string_equal(g->label.family, "Gh0st");
    assert_int_equal(g->label.clean, 0);
    assert_int_equal(g->label.n_tags, 2);
    assert_string_equal(g->label.tags[0], "apt");
    assert_string_equal(g->label.tags[1], "loader");
    assert_int_equal(g->n_postings, 0);
    strain_store_sample_free(g);
    g = NULL;
    OK(strain_store_get_sample_by_id(f->st, &g, id));
    assert_string_equal(g->sha256, lower);
    strain_store_sample_free(g);
    g = NULL;
    /* Absent samples. */
    sha_of(lower, 2);
    assert_int_equal(strain_store_get_sample(f->st, &g, lower), STRAIN_ENOTFOUND);
    assert_null(g);
    assert_int_equal(strain_store_get_sample_by_id(f->st, &g, id + 1000), STRAIN_ENOTFOUND);
    assert_int_equal(strain_store_get_sample(f->st, &g, "xyz"), STRAIN_EINVAL);
}

static void test_reput_updates(void **state)
{
    fx *f = *state;
    strain_store_sample s;
    strain_store_sample *g = NULL;
    strain_store_stats st;
    const char *t1[] = {"a", "b"};
    const char *t2[] = {"b", "c"};
    int64_t id1 = 0;
    int64_t id2 = 0;
    mk_sample(&s, 7);
    s.first_seen = 2000;
    s.file_name = "one.exe";
    s.label.actor = "A1";
    s.label.family = "F1";
    s.label.tags = t1;
    s.label.n_tags = 2;
    OK(strain_store_put_sample(f->st, &id1, &s));
    /* Second put: earlier first_seen kept as the minimum, md5 filled in, file name kept when
     * not given, family replaced, actor left alone (NULL), tags added. */
    mk_sample(&s, 7);
    s.first_seen = 1000;
    snprintf(s.md5, sizeof(s.md5), "%s", "00000000000000000000000000000001");
    s.label.family = "F2";
    s.label.tags = t2;
    s.label.n_tags = 2;
    s.label.clean = 1;
    OK(strain_store_put_sample(f->st, &id2, &s));
    assert_int_equal(id1, id2);
    OK(strain_store_get_sample(f->st, &g, s.sha256));
    assert_int_equal(g->first_seen, 1000);
    assert_string_equal(g->md5, "00000000000000000000000000000001");
    assert_string_equal(g->file_name, "one.exe");
    assert_string_equal(g->label.actor, "A1");
    assert_string_equal(g->label.family, "F2");
    assert_int_equal(g->label.clean, 1);
    assert_int_equal(g->label.n_tags, 3);
    assert_string_equal(g->label.tags[0], "a");
    assert_string_equal(g->label.tags[2], "c");
    strain_store_sample_free(g);
    g = NULL;
    /* label_set: "" clears the actor, replace_tags replaces, KEEP keeps clean. */
    strain_store_label l = {
        .actor = "", .tags = t1, .n_tags = 1, .replace_tags = true, .clean = STRAIN_STORE_KEEP};
    OK(strain_store_label_set(f->st, s.sha256, &l));
    OK(strain_store_get_sample(f->st, &g, s.sha256));
    assert_null(g->label.actor);
    assert_string_equal(g->label.family, "F2");
    assert_int_equal(g->label.clean, 1);
    assert_int_equal(g->label.n_tags, 1);
    assert_string_equal(g->label.tags[0], "a");
    strain_store_sample_free(g);
    OK(strain_store_stats_get(f->st, &st));
    assert_int_equal(st.samples, 1);
    assert_int_equal(st.clean, 1);
    char other[STRAIN_SHA256_HEX];
    sha_of(other, 8);
    assert_int_equal(strain_store_label_set(f->st, other, &l), STRAIN_ENOTFOUND);
}

/* Postings with hashes across the whole u64 range (high bit set = negative int64). */
static void mk_postings(strain_store_posting *p, size_t n, uint32_t kind, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t x = (seed + i) * 0x9e3779b97f4a7c15ull;
        x ^= x >> 29;
        p[i].kind = kind;
        p[i].hash = x;
        p[i].payload = ((uint64_t)0x401000 + i * 16) << 32 | (uint32_t)(i + 1);
    }
}

static int posting_cmp(const void *a, const void *b)
{
    const strain_store_posting *x = a;
    const strain_store_posting *y = b;
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    if (x->sample_id != y->sample_id) {
        return x->sample_id < y->sample_id ? -1 : 1;
    }
    return x->payload < y->payload ? -1 : x->payload > y->payload;
}

static void test_features(void **state)
{
    fx *f = *state;
    strain_store_posting p[300];
    strain_store_key keys[301];
    strain_store_posting *res = NULL;
    size_t n = 0;
    void *g = NULL;
    size_t glen = 0;
    uint32_t gver = 0;
    const char genome[] = "GENOME\0with\0nuls";
    int64_t a = put(f, 1, "A", "FamA", 0);
    mk_postings(p, 300, 3, 1000);
    /* Duplicates in the input: stored once, first payload wins. */
    p[299] = p[5];
    p[299].payload = 999;
    strain_store_features fe = {.genome_version = 7,
                                .genome = genome,
                                .genome_len = sizeof(genome),
                                .postings = p,
                                .n_postings = 300};
    OK(strain_store_put_features(f->st, a, &fe));
    OK(strain_store_get_genome(f->st, &g, &glen, &gver, a));
    assert_int_equal(glen, sizeof(genome));
    assert_int_equal(gver, 7);
    assert_memory_equal(g, genome, sizeof(genome));
    free(g);
    strain_store_sample *smp = NULL;
    OK(strain_store_get_sample_by_id(f->st, &smp, a));
    assert_int_equal(smp->n_postings, 299);
    strain_store_sample_free(smp);
    for (size_t i = 0; i < 300; i++) {
        keys[i].kind = p[i].kind;
        keys[i].hash = p[i].hash;
    }
    keys[300].kind = 4; /* same hash, other kind: no match */
    keys[300].hash = p[0].hash;
    OK(strain_store_lookup(f->st, &res, &n, keys, 301, UINT32_MAX));
    assert_int_equal(n, 299);
    qsort(res, n, sizeof(*res), posting_cmp);
    strain_store_posting exp[299];
    memcpy(exp, p, sizeof(exp));
    for (size_t i = 0; i < 299; i++) {
        exp[i].sample_id = a;
    }
    qsort(exp, 299, sizeof(*exp), posting_cmp);
    for (size_t i = 0; i < 299; i++) {
        assert_int_equal(posting_cmp(&res[i], &exp[i]), 0);
    }
    free(res);
    res = NULL;
    /* Re-put replaces: the first 100 postings only, new genome. */
    fe.n_postings = 100;
    fe.genome_len = 0;
    fe.genome_version = 8;
    OK(strain_store_put_features(f->st, a, &fe));
    OK(strain_store_lookup(f->st, &res, &n, keys, 300, UINT32_MAX));
    assert_int_equal(n, 100);
    free(res);
    res = NULL;
    OK(strain_store_get_genome(f->st, &g, &glen, &gver, a));
    assert_int_equal(glen, 0);
    assert_int_equal(gver, 8);
    free(g);
    strain_store_stats st;
    OK(strain_store_stats_get(f->st, &st));
    assert_int_equal(st.postings, 100);
    assert_int_equal(st.distinct_features, 100);
    /* Features for a missing sample. */
    assert_int_equal(strain_store_put_features(f->st, a + 77, &fe), STRAIN_ENOTFOUND);
    assert_int_equal(strain_store_get_genome(f->st, &g, &glen, &gver, a + 77), STRAIN_ENOTFOUND);
    /* Empty batch. */
    OK(strain_store_lookup(f->st, &res, &n, keys, 0, UINT32_MAX));
    assert_int_equal(n, 0);
    free(res);
    OK(strain_store_check(f->st));
}

static void test_df_and_max_df(void **state)
{
    fx *f = *state;
    strain_store_posting p[3];
    strain_store_key k[4] = {{1, 10}, {1, 20}, {1, 30}, {2, 10}};
    strain_store_df d[4];
    strain_store_posting *res = NULL;
    size_t n = 0;
    /* Key 10: in 4 samples (families F1, F1, F2 and a clean one); key 20: in 1; 30: none. */
    int64_t s1 = put(f, 1, "A", "F1", 0);
    int64_t s2 = put(f, 2, "A", "F1", 0);
    int64_t s3 = put(f, 3, "B", "F2", 0);
    int64_t s4 = put(f, 4, NULL, "Lib", 1);
    memset(p, 0, sizeof(p));
    p[0].kind = 1;
    p[0].hash = 10;
    p[1].kind = 1;
    p[1].hash = 20;
    strain_store_features fe = {.postings = p, .n_postings = 1};
    OK(strain_store_put_features(f->st, s1, &fe));
    OK(strain_store_put_features(f->st, s2, &fe));
    OK(strain_store_put_features(f->st, s4, &fe));
    fe.n_postings = 2;
    OK(strain_store_put_features(f->st, s3, &fe));
    OK(strain_store_df_get(f->st, d, k, 4, 1000));
    assert_int_equal(d[0].n_samples, 4);
    assert_int_equal(d[0].n_clean, 1);
    assert_int_equal(d[0].n_families, 2); /* the clean sample's family does not count */
    assert_true(d[0].families_counted);
    assert_int_equal(d[1].n_samples, 1);
    assert_int_equal(d[1].n_families, 1);
    assert_int_equal(d[2].n_samples, 0);
    assert_int_equal(d[3].n_samples, 0);
    /* Family counts are maintained with the postings: exact even when family_scan_max is
     * below n_samples. */
    OK(strain_store_df_get(f->st, d, k, 2, 3));
    assert_int_equal(d[0].n_samples, 4);
    assert_true(d[0].families_counted);
    assert_int_equal(d[0].n_families, 2);
    assert_true(d[1].families_counted);
    /* Relabelling a family moves the counts: s2 to F2 leaves F1 (s1) and F2 (s2, s3). */
    strain_store_label lf = {.family = "F2", .clean = STRAIN_STORE_KEEP};
    char sha2[STRAIN_SHA256_HEX];
    sha_of(sha2, 2);
    OK(strain_store_label_set(f->st, sha2, &lf));
    OK(strain_store_df_get(f->st, d, k, 1, 1000));
    assert_int_equal(d[0].n_families, 2);
    lf.family = "F3";
    OK(strain_store_label_set(f->st, sha2, &lf));
    OK(strain_store_df_get(f->st, d, k, 1, 1000));
    assert_int_equal(d[0].n_families, 3);
    OK(strain_store_check(f->st));
    lf.family = "F1";
    OK(strain_store_label_set(f->st, sha2, &lf));
    OK(strain_store_df_get(f->st, d, k, 1, 1000));
    assert_int_equal(d[0].n_families, 2);
    /* max_df skips the common key. */
    OK(strain_store_lookup(f->st, &res, &n, k, 4, 3));
    assert_int_equal(n, 1);
    assert_int_equal(res[0].sample_id, s3);
    assert_true(res[0].hash == 20);
    free(res);
    /* Relabelling clean moves the counters; removing drops them. */
    strain_store_label l = {.clean = 0};
    char sha[STRAIN_SHA256_HEX];
    sha_of(sha, 4);
    OK(strain_store_label_set(f->st, sha, &l));
    OK(strain_store_df_get(f->st, d, k, 1, 1000));
    assert_int_equal(d[0].n_clean, 0);
    assert_int_equal(d[0].n_families, 3);
    sha_of(sha, 3);
    OK(strain_store_remove(f->st, sha));
    OK(strain_store_df_get(f->st, d, k, 2, 1000));
    assert_int_equal(d[0].n_samples, 3);
    assert_int_equal(d[1].n_samples, 0);
    assert_int_equal(strain_store_remove(f->st, sha), STRAIN_ENOTFOUND);
    strain_store_stats st;
    OK(strain_store_stats_get(f->st, &st));
    assert_int_equal(st.samples, 3);
    assert_int_equal(st.postings, 3);
    assert_int_equal(st.distinct_features, 1);
    OK(strain_store_check(f->st));
}

typedef struct collect {
    char sha[16][STRAIN_SHA256_HEX];
    size_t n;
    size_t stop_after;
} collect;

static int collect_cb(const strain_store_sample *s, void *payload)
{
    collect *c = payload;
    if (c->n < 16) {
        snprintf(c->sha[c->n], STRAIN_SHA256_HEX, "%s", s->sha256);
    }
    c->n++;
    return (c->stop_after > 0 && c->n >= c->stop_after) ? 42 : 0;
}

static void test_list_filters(void **state)
{
    fx *f = *state;
    collect c;
    char sha[STRAIN_SHA256_HEX];
    put(f, 1, "A", "F1", 0);
    put(f, 2, "A", "F2", 0);
    put(f, 3, "B", "F1", 0);
    put(f, 4, NULL, NULL, 1);
    const char *tags[] = {"x"};
    strain_store_label l = {.tags = tags, .n_tags = 1, .clean = STRAIN_STORE_KEEP};
    sha_of(sha, 3);
    OK(strain_store_label_set(f->st, sha, &l));

    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, NULL, collect_cb, &c));
    assert_int_equal(c.n, 4);
    sha_of(sha, 1);
    assert_string_equal(c.sha[0], sha); /* id order */

    strain_store_filter fl = {.actor = "A", .clean = STRAIN_STORE_KEEP};
    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, &fl, collect_cb, &c));
    assert_int_equal(c.n, 2);
    fl = (strain_store_filter){.family = "F1", .clean = STRAIN_STORE_KEEP};
    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, &fl, collect_cb, &c));
    assert_int_equal(c.n, 2);
    fl = (strain_store_filter){.actor = "A", .family = "F1", .clean = STRAIN_STORE_KEEP};
    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, &fl, collect_cb, &c));
    assert_int_equal(c.n, 1);
    fl = (strain_store_filter){.clean = 1};
    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, &fl, collect_cb, &c));
    assert_int_equal(c.n, 1);
    sha_of(sha, 4);
    assert_string_equal(c.sha[0], sha);
    fl = (strain_store_filter){.clean = 0};
    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, &fl, collect_cb, &c));
    assert_int_equal(c.n, 3);
    fl = (strain_store_filter){.tag = "x", .clean = STRAIN_STORE_KEEP};
    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, &fl, collect_cb, &c));
    assert_int_equal(c.n, 1);
    sha_of(sha, 3);
    assert_string_equal(c.sha[0], sha);
    fl = (strain_store_filter){.clean = STRAIN_STORE_KEEP, .limit = 3};
    memset(&c, 0, sizeof(c));
    OK(strain_store_list(f->st, &fl, collect_cb, &c));
    assert_int_equal(c.n, 3);
    /* The callback stops the listing and its value comes back. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    assert_int_equal(strain_store_list(f->st, NULL, collect_cb, &c), 42);
    assert_int_equal(c.n, 2);
    strain_store_stats st;
    OK(strain_store_stats_get(f->st, &st));
    assert_int_equal(st.samples, 4);
    assert_int_equal(st.families, 2);
    assert_int_equal(st.actors, 2);
    assert_int_equal(st.clean, 1);
}

static void test_transactions(void **state)
{
    fx *f = *state;
    strain_store_sample *g = NULL;
    char sha[STRAIN_SHA256_HEX];
    strain_store_posting p[10];
    OK(strain_store_begin(f->st));
    assert_int_equal(strain_store_begin(f->st), STRAIN_EINVAL);
    put(f, 1, "A", "F", 0);
    OK(strain_store_rollback(f->st));
    sha_of(sha, 1);
    assert_int_equal(strain_store_get_sample(f->st, &g, sha), STRAIN_ENOTFOUND);
    assert_int_equal(strain_store_commit(f->st), STRAIN_EINVAL);
    assert_int_equal(strain_store_rollback(f->st), STRAIN_EINVAL);

    /* A failing call inside a transaction undoes only itself. */
    OK(strain_store_begin(f->st));
    int64_t id = put(f, 1, "A", "F", 0);
    mk_postings(p, 10, 1, 5);
    strain_store_features fe = {.postings = p, .n_postings = 10};
    OK(strain_store_put_features(f->st, id, &fe));
    assert_int_equal(strain_store_put_features(f->st, id + 50, &fe), STRAIN_ENOTFOUND);
    OK(strain_store_commit(f->st));
    OK(strain_store_get_sample(f->st, &g, sha));
    assert_int_equal(g->n_postings, 10);
    strain_store_sample_free(g);
    OK(strain_store_check(f->st));
}

static void test_bad_input_keeps_data(void **state)
{
    fx *f = *state;
    strain_store_sample s;
    strain_store_sample *g = NULL;
    strain_store_posting p[20];
    strain_store_stats before;
    strain_store_stats after;
    char longtxt[STRAIN_STORE_LABEL_MAX + 2];
    const char *manytags[STRAIN_STORE_MAX_TAGS + 1];
    int64_t id = put(f, 1, "A", "F", 0);
    mk_postings(p, 20, 1, 9);
    strain_store_features fe = {.postings = p, .n_postings = 20};
    OK(strain_store_put_features(f->st, id, &fe));
    OK(strain_store_stats_get(f->st, &before));

    mk_sample(&s, 1);
    s.sha256[10] = 'g';
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    s.sha256[63] = '\0';
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    snprintf(s.md5, sizeof(s.md5), "abc");
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    memset(s.format, 'x', sizeof(s.format)); /* unterminated */
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    memset(longtxt, 'a', sizeof(longtxt) - 1);
    longtxt[sizeof(longtxt) - 1] = '\0';
    s.label.family = longtxt;
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    s.label.actor = "evil\x1b[2J";
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    for (size_t i = 0; i <= STRAIN_STORE_MAX_TAGS; i++) {
        manytags[i] = "t";
    }
    s.label.tags = manytags;
    s.label.n_tags = STRAIN_STORE_MAX_TAGS + 1;
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    s.label.clean = 2;
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);
    mk_sample(&s, 1);
    const char *emptytag[] = {""};
    s.label.tags = emptytag;
    s.label.n_tags = 1;
    assert_int_equal(strain_store_put_sample(f->st, NULL, &s), STRAIN_EINVAL);

    /* Over-limit and invalid features change nothing. */
    strain_store_features big = {.postings = p, .n_postings = 2000000};
    assert_int_equal(strain_store_put_features(f->st, id, &big), STRAIN_ELIMIT);
    strain_store_features bigg = {.genome = p, .genome_len = (size_t)1 << 31};
    assert_int_equal(strain_store_put_features(f->st, id, &bigg), STRAIN_ELIMIT);
    p[3].kind = 0x80000000u;
    assert_int_equal(strain_store_put_features(f->st, id, &fe), STRAIN_EINVAL);
    strain_store_features nul = {.postings = NULL, .n_postings = 3};
    assert_int_equal(strain_store_put_features(f->st, id, &nul), STRAIN_EINVAL);
    strain_store_key k = {0x80000000u, 1};
    strain_store_posting *res = NULL;
    size_t n = 0;
    assert_int_equal(strain_store_lookup(f->st, &res, &n, &k, 1, UINT32_MAX), STRAIN_EINVAL);

    OK(strain_store_stats_get(f->st, &after));
    assert_int_equal(after.samples, before.samples);
    assert_int_equal(after.postings, before.postings);
    OK(strain_store_get_sample_by_id(f->st, &g, id));
    assert_string_equal(g->label.family, "F");
    assert_int_equal(g->n_postings, 20);
    strain_store_sample_free(g);
    OK(strain_store_check(f->st));
}

typedef struct certs_seen {
    int n;
    char sha256[4][STRAIN_SHA256_HEX];
    char subject[128];
    int64_t nb;
} certs_seen;

static int cert_cb(const strain_store_cert *c, void *payload)
{
    certs_seen *cs = payload;
    if (cs->n < 4) {
        snprintf(cs->sha256[cs->n], STRAIN_SHA256_HEX, "%s", c->sha256);
    }
    snprintf(cs->subject, sizeof(cs->subject), "%s", c->subject ? c->subject : "");
    cs->nb = c->not_before;
    cs->n++;
    return 0;
}

static void test_certificates(void **state)
{
    fx *f = *state;
    strain_store_cert c;
    certs_seen cs;
    collect col;
    int64_t c1 = 0;
    int64_t c1b = 0;
    int64_t c2 = 0;
    int64_t s1 = put(f, 1, "A", "F", 0);
    int64_t s2 = put(f, 2, "A", "F", 0);
    memset(&c, 0, sizeof(c));
    sha_of(c.sha256, 100);
    snprintf(c.sha1, sizeof(c.sha1), "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    c.subject = "CN=Stolen Corp";
    c.issuer = "CN=Some CA";
    c.serial = "0a1b";
    c.not_before = 1500000000;
    c.not_after = 1600000000;
    OK(strain_store_put_cert(f->st, &c1, &c));
    c.subject = "CN=Stolen Corp Ltd";
    OK(strain_store_put_cert(f->st, &c1b, &c)); /* same thumbprint: update */
    assert_int_equal(c1, c1b);
    sha_of(c.sha256, 101);
    c.sha1[0] = '\0';
    OK(strain_store_put_cert(f->st, &c2, &c));
    assert_true(c2 != c1);
    OK(strain_store_link_cert(f->st, s1, c1));
    OK(strain_store_link_cert(f->st, s1, c1)); /* idempotent */
    OK(strain_store_link_cert(f->st, s1, c2));
    OK(strain_store_link_cert(f->st, s2, c1));
    assert_int_equal(strain_store_link_cert(f->st, s2 + 9, c1), STRAIN_ENOTFOUND);
    assert_int_equal(strain_store_link_cert(f->st, s2, c2 + 9), STRAIN_ENOTFOUND);

    memset(&cs, 0, sizeof(cs));
    OK(strain_store_get_cert(f->st, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", cert_cb, &cs));
    assert_int_equal(cs.n, 1);
    assert_string_equal(cs.subject, "CN=Stolen Corp Ltd");
    assert_int_equal(cs.nb, 1500000000);
    memset(&cs, 0, sizeof(cs));
    char thumb[STRAIN_SHA256_HEX];
    sha_of(thumb, 101);
    OK(strain_store_get_cert(f->st, thumb, cert_cb, &cs));
    assert_int_equal(cs.n, 1);
    sha_of(thumb, 102);
    assert_int_equal(strain_store_get_cert(f->st, thumb, cert_cb, &cs), STRAIN_ENOTFOUND);
    assert_int_equal(strain_store_get_cert(f->st, "abc", cert_cb, &cs), STRAIN_EINVAL);

    memset(&cs, 0, sizeof(cs));
    OK(strain_store_sample_certs(f->st, s1, cert_cb, &cs));
    assert_int_equal(cs.n, 2);
    memset(&col, 0, sizeof(col));
    OK(strain_store_cert_samples(f->st, c1, collect_cb, &col));
    assert_int_equal(col.n, 2);

    /* Removing a sample drops its links, not the certificates. */
    char sha[STRAIN_SHA256_HEX];
    sha_of(sha, 1);
    OK(strain_store_remove(f->st, sha));
    memset(&col, 0, sizeof(col));
    OK(strain_store_cert_samples(f->st, c1, collect_cb, &col));
    assert_int_equal(col.n, 1);
    strain_store_stats st;
    OK(strain_store_stats_get(f->st, &st));
    assert_int_equal(st.certificates, 2);
    OK(strain_store_check(f->st));
}

/* Two connections: a reader keeps working while a writer holds an open transaction, and sees
 * only committed data. */
static void test_reader_during_writer(void **state)
{
    fx *f = *state;
    strain_store *r = NULL;
    strain_ctx *rctx = NULL;
    strain_store_sample *g = NULL;
    char sha[STRAIN_SHA256_HEX];
    put(f, 1, "A", "F", 0);
    assert_int_equal(strain_ctx_new(&rctx), 0);
    OK(strain_store_open(&r, rctx, cur->name, f->loc, 0));
    OK(strain_store_begin(f->st));
    put(f, 2, "A", "F", 0);
    sha_of(sha, 1);
    assert_int_equal(strain_store_get_sample(r, &g, sha), 0);
    strain_store_sample_free(g);
    g = NULL;
    sha_of(sha, 2);
    assert_int_equal(strain_store_get_sample(r, &g, sha), STRAIN_ENOTFOUND);
    OK(strain_store_commit(f->st));
    assert_int_equal(strain_store_get_sample(r, &g, sha), 0);
    strain_store_sample_free(g);
    strain_store_close(r);
    strain_ctx_free(rctx);
}

/* A second writer waits for the first one's transaction (busy timeout) instead of failing. */
static void test_writer_waits_for_writer(void **state)
{
    fx *f = *state;
    int fds[2];
    char c;
    char sha[STRAIN_SHA256_HEX];
    strain_store_sample *g = NULL;
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        strain_ctx *ctx = NULL;
        strain_store *st = NULL;
        strain_store_sample s;
        int ok = strain_ctx_new(&ctx) == 0 &&
                 strain_store_open(&st, ctx, cur->name, f->loc, 0) == 0 &&
                 strain_store_begin(st) == 0;
        mk_sample(&s, 77);
        ok = ok && strain_store_put_sample(st, NULL, &s) == 0;
        /* Tell the parent the write lock is held, hold it a while, then commit. */
        if (write(fds[1], ok ? "1" : "0", 1) != 1) {
            _exit(2);
        }
        usleep(300 * 1000);
        ok = ok && strain_store_commit(st) == 0;
        strain_store_close(st);
        strain_ctx_free(ctx);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &c, 1), 1);
    assert_int_equal(c, '1');
    put(f, 78, "A", "F", 0); /* blocks until the child commits, then succeeds */
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    sha_of(sha, 77);
    OK(strain_store_get_sample(f->st, &g, sha));
    strain_store_sample_free(g);
}

/* Store order of keys: kind, then the hash as a signed integer. */
static int store_key_cmp(const strain_store_key *x, const strain_store_key *y)
{
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return (int64_t)x->hash < (int64_t)y->hash ? -1 : (int64_t)x->hash > (int64_t)y->hash;
}

#define B_SAMPLES 12
#define B_KEYS 400 /* kind 5: 300 keys (several batches of a statement), kind 9: 100 */

static strain_store_key bkey(int k)
{
    uint64_t x = (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ull;
    strain_store_key key = {k < 300 ? 5u : 9u, x ^ (x >> 31)};
    return key;
}

static bool b_has(int s, int k)
{
    return k % 7 != 3 && (k + s) % 3 != 0; /* every 7th key is in no sample */
}

/* df and lookup of a large, unsorted batch with duplicates against what b_has() says;
 * out, out_n: the lookup's postings. */
static void batch_verify(fx *f, const int64_t *ids, strain_store_posting **out, size_t *out_n)
{
    static strain_store_key keys[B_KEYS + 50];
    static strain_store_df d[B_KEYS + 50];
    size_t nk = 0;
    for (int k = B_KEYS - 1; k >= 0; k--) { /* reversed: not the store's order */
        keys[nk++] = bkey(k);
    }
    for (int k = 0; k < 50; k++) {
        keys[nk++] = bkey(k * 5);
    }
    OK(strain_store_df_get(f->st, d, keys, nk, UINT32_MAX));
    size_t expect = 0;
    for (size_t i = 0; i < nk; i++) {
        int k = i < B_KEYS ? B_KEYS - 1 - (int)i : (int)(i - B_KEYS) * 5;
        uint32_t ns = 0;
        for (int s = 0; s < B_SAMPLES; s++) {
            ns += b_has(s, k);
        }
        expect += i < B_KEYS ? ns : 0;
        assert_true(d[i].kind == keys[i].kind && d[i].hash == keys[i].hash);
        if (d[i].n_samples != ns || d[i].n_clean != 0 || d[i].n_families != (ns > 0)) {
            fail_msg("key %d: %u/%u/%u, expected %u/0/%u", k, d[i].n_samples, d[i].n_clean,
                     d[i].n_families, ns, ns > 0);
        }
    }
    OK(strain_store_lookup(f->st, out, out_n, keys, nk, UINT32_MAX));
    assert_int_equal(*out_n, expect);
    for (size_t i = 0; i < *out_n; i++) {
        const strain_store_posting *p = &(*out)[i];
        int s = -1;
        for (int j = 0; j < B_SAMPLES; j++) {
            s = ids[j] == p->sample_id ? j : s;
        }
        assert_true(s >= 0);
        if (i > 0) { /* key order, then sample id */
            const strain_store_posting *q = &(*out)[i - 1];
            strain_store_key a = {q->kind, q->hash};
            strain_store_key b = {p->kind, p->hash};
            int c = store_key_cmp(&a, &b);
            assert_true(c < 0 || (c == 0 && q->sample_id < p->sample_id));
        }
        assert_true(p->payload == p->hash + (uint64_t)s);
    }
}

/* 1 when the pages of the b-tree `name` below its root are one run of the file (the root is
 * made with the schema, apart; SQLite only, through the sqlite3 shell's dbstat table); -1
 * when it cannot tell. */
static int contiguous(const char *loc, const char *name)
{
    char *out = NULL;
    int v = -1;
    if (!th_have("sqlite3") ||
        th_run(&out,
               "sqlite3 '%s' \"SELECT count(*) = max(pageno) - min(pageno) + 1 FROM dbstat "
               "WHERE name = '%s' AND pageno != (SELECT rootpage FROM sqlite_schema WHERE "
               "name = '%s')\"",
               loc, name, name) != 0) {
        free(out);
        return -1;
    }
    v = out != NULL && out[0] == '1';
    free(out);
    return v;
}

static void test_batches_and_compact(void **state)
{
    fx *f = *state;
    int64_t ids[B_SAMPLES];
    static strain_store_posting p[B_KEYS];
    static char genome[6000];
    strain_store_posting *before = NULL;
    strain_store_posting *after = NULL;
    size_t n_before = 0;
    size_t n_after = 0;
    /* Samples added one by one, each with a genome: the tables' pages interleave. */
    for (int s = 0; s < B_SAMPLES; s++) {
        size_t n = 0;
        ids[s] = put(f, 900 + (unsigned)s, "A", "F", 0);
        for (int k = 0; k < B_KEYS; k++) {
            if (b_has(s, k)) {
                p[n].kind = bkey(k).kind;
                p[n].hash = bkey(k).hash;
                p[n].payload = bkey(k).hash + (uint64_t)s;
                n++;
            }
        }
        memset(genome, 'a' + s, sizeof(genome));
        strain_store_features fe = {.genome_version = 1,
                                    .genome = genome,
                                    .genome_len = sizeof(genome),
                                    .postings = p,
                                    .n_postings = n};
        OK(strain_store_put_features(f->st, ids[s], &fe));
    }
    batch_verify(f, ids, &before, &n_before);
    int was = strcmp(cur->name, "sqlite") == 0 ? contiguous(f->loc, "postings") : -1;
    /* Not inside a transaction. */
    OK(strain_store_begin(f->st));
    assert_int_equal(strain_store_compact(f->st), STRAIN_ESTORE);
    OK(strain_store_rollback(f->st));
    OK(strain_store_compact(f->st));
    batch_verify(f, ids, &after, &n_after);
    assert_int_equal(n_after, n_before);
    for (size_t i = 0; i < n_after; i++) { /* field by field: the structs have padding */
        assert_true(after[i].kind == before[i].kind && after[i].hash == before[i].hash &&
                    after[i].sample_id == before[i].sample_id &&
                    after[i].payload == before[i].payload);
    }
    OK(strain_store_check(f->st));
    for (int s = 0; s < B_SAMPLES; s++) {
        void *g = NULL;
        size_t glen = 0;
        uint32_t gver = 0;
        OK(strain_store_get_genome(f->st, &g, &glen, &gver, ids[s]));
        assert_int_equal(glen, sizeof(genome));
        assert_int_equal(((unsigned char *)g)[glen - 1], 'a' + s);
        free(g);
    }
    if (was >= 0) {
        assert_int_equal(was, 0); /* the layout this test builds is interleaved... */
        assert_int_equal(contiguous(f->loc, "postings"), 1); /* ...and compacting joins it */
        assert_int_equal(contiguous(f->loc, "feature_df"), 1);
    }
    free(before);
    free(after);
    /* A read-only handle cannot compact. */
    strain_store *ro = NULL;
    OK(strain_store_open(&ro, f->ctx, cur->name, f->loc, STRAIN_STORE_READONLY));
    assert_int_equal(strain_store_compact(ro), STRAIN_EINVAL);
    strain_store_close(ro);
}

/*
 * Random operations against an in-memory model: after each round, every key's document
 * frequencies and postings must match what the model computes from the operations alone.
 */
#define M_SAMPLES 30
#define M_KEYS 120
#define M_FAMILIES 4

typedef struct model {
    bool present[M_SAMPLES];
    int64_t id[M_SAMPLES];
    int family[M_SAMPLES]; /* -1 = none */
    int clean[M_SAMPLES];
    bool has[M_SAMPLES][M_KEYS];
    uint64_t payload[M_SAMPLES][M_KEYS];
} model;

static strain_store_key mkey(int k)
{
    strain_store_key key = {(uint32_t)(k % 3), 0x8000000000000000ull ^ ((uint64_t)k * 7919)};
    return key;
}

static void model_verify(fx *f, const model *m)
{
    strain_store_key keys[M_KEYS];
    strain_store_df d[M_KEYS];
    strain_store_posting *res = NULL;
    size_t n = 0;
    size_t expect_postings = 0;
    for (int k = 0; k < M_KEYS; k++) {
        keys[k] = mkey(k);
    }
    OK(strain_store_df_get(f->st, d, keys, M_KEYS, UINT32_MAX));
    for (int k = 0; k < M_KEYS; k++) {
        uint32_t ns = 0;
        uint32_t nc = 0;
        bool fam[M_FAMILIES] = {false};
        uint32_t nf = 0;
        for (int s = 0; s < M_SAMPLES; s++) {
            if (m->present[s] && m->has[s][k]) {
                ns++;
                nc += (uint32_t)m->clean[s];
                if (!m->clean[s] && m->family[s] >= 0 && !fam[m->family[s]]) {
                    fam[m->family[s]] = true;
                    nf++;
                }
            }
        }
        expect_postings += ns;
        if (d[k].n_samples != ns || d[k].n_clean != nc || d[k].n_families != nf) {
            fail_msg("key %d: store %u/%u/%u, model %u/%u/%u", k, d[k].n_samples, d[k].n_clean,
                     d[k].n_families, ns, nc, nf);
        }
    }
    OK(strain_store_lookup(f->st, &res, &n, keys, M_KEYS, UINT32_MAX));
    assert_int_equal(n, expect_postings);
    for (size_t i = 0; i < n; i++) {
        int s = -1;
        int k = -1;
        for (int j = 0; j < M_SAMPLES; j++) {
            if (m->present[j] && m->id[j] == res[i].sample_id) {
                s = j;
            }
        }
        for (int j = 0; j < M_KEYS; j++) {
            strain_store_key kk = mkey(j);
            if (kk.kind == res[i].kind && kk.hash == res[i].hash) {
                k = j;
            }
        }
        assert_true(s >= 0 && k >= 0);
        assert_true(m->has[s][k]);
        assert_true(m->payload[s][k] == res[i].payload);
    }
    free(res);
}

static void test_random_model(void **state)
{
    fx *f = *state;
    static model m;
    static const char *fams[M_FAMILIES] = {"fa", "fb", "fc", "fd"};
    unsigned seed = 12345;
    strain_store *early = NULL;
    memset(&m, 0, sizeof(m));
    OK(strain_store_open(&early, f->ctx, cur->name, f->loc, 0));
    for (int op = 0; op < 400; op++) {
        seed = seed * 1103515245u + 12345u;
        int s = (int)((seed >> 8) % M_SAMPLES);
        int what = (int)((seed >> 20) % 10);
        char sha[STRAIN_SHA256_HEX];
        sha_of(sha, (unsigned)s + 500);
        if (what < 5) {
            /* put sample + features */
            int fam = (int)((seed >> 4) % (M_FAMILIES + 1)) - 1;
            int clean = (seed >> 28) % 5 == 0;
            strain_store_posting p[M_KEYS];
            size_t n = 0;
            strain_store_sample smp;
            mk_sample(&smp, (unsigned)s + 500);
            smp.label.family = fam >= 0 ? fams[fam] : "";
            smp.label.clean = clean;
            OK(strain_store_begin(f->st));
            OK(strain_store_put_sample(f->st, &m.id[s], &smp));
            memset(m.has[s], 0, sizeof(m.has[s]));
            for (int k = 0; k < M_KEYS; k++) {
                seed = seed * 1103515245u + 12345u;
                if ((seed >> 16) % 4 == 0) {
                    p[n].kind = mkey(k).kind;
                    p[n].hash = mkey(k).hash;
                    p[n].payload = seed;
                    m.has[s][k] = true;
                    m.payload[s][k] = seed;
                    n++;
                }
            }
            strain_store_features fe = {.postings = p, .n_postings = n};
            OK(strain_store_put_features(f->st, m.id[s], &fe));
            OK(strain_store_commit(f->st));
            m.present[s] = true;
            m.family[s] = fam;
            m.clean[s] = clean;
        } else if (what < 7) {
            strain_store_label l = {.family = fams[(seed >> 5) % M_FAMILIES],
                                    .clean = (int)((seed >> 9) % 2)};
            int rc = strain_store_label_set(f->st, sha, &l);
            if (m.present[s]) {
                assert_int_equal(rc, 0);
                m.family[s] = (int)((seed >> 5) % M_FAMILIES);
                m.clean[s] = l.clean;
            } else {
                assert_int_equal(rc, STRAIN_ENOTFOUND);
            }
        } else if (what < 9) {
            int rc = strain_store_remove(f->st, sha);
            assert_int_equal(rc, m.present[s] ? 0 : STRAIN_ENOTFOUND);
            m.present[s] = false;
        } else {
            /* a transaction rolled back changes nothing */
            strain_store_sample smp;
            mk_sample(&smp, (unsigned)s + 500);
            smp.label.family = "rolled-back";
            smp.label.clean = 1;
            OK(strain_store_begin(f->st));
            OK(strain_store_put_sample(f->st, NULL, &smp));
            OK(strain_store_rollback(f->st));
        }
        if (op % 40 == 39) {
            model_verify(f, &m);
            /* Compacting may build read structures (the SQLite store's read index): reads
             * must agree with the model through them, on this handle and on one opened
             * before, and again once later changes make them out of date. */
            if (op % 80 == 79) {
                OK(strain_store_compact(f->st));
                model_verify(f, &m);
                fx g = *f;
                g.st = early;
                model_verify(&g, &m);
            }
        }
    }
    model_verify(f, &m);
    fx g = *f;
    g.st = early;
    model_verify(&g, &m);
    strain_store_close(early);
    OK(strain_store_check(f->st));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_and_empty),
        T(test_sample_roundtrip),
        T(test_reput_updates),
        T(test_features),
        T(test_df_and_max_df),
        T(test_list_filters),
        T(test_transactions),
        T(test_bad_input_keeps_data),
        T(test_certificates),
        T(test_reader_during_writer),
        T(test_writer_waits_for_writer),
        T(test_random_model),
        T(test_batches_and_compact),
    };
    const char *want = getenv("STRAIN_TEST_STORE_BACKENDS");
    int failed = 0;
    int ran = 0;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (want != NULL && want[0] != '\0' && strstr(want, backends[i].name) == NULL) {
            continue;
        }
        cur = &backends[i];
        fprintf(stderr, "[ store backend: %s ]\n", cur->name);
        failed += cmocka_run_group_tests_name(cur->name, tests, NULL, NULL);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no store backend matches STRAIN_TEST_STORE_BACKENDS=%s\n", want);
        return 1;
    }
    return failed;
}
