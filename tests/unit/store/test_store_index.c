/*
 * The SQLite store's read index (src/store/sqlite_index.c): compact writes it, df and lookup
 * read it while it describes the database, and give exactly what the tables give; any change
 * of features makes it stale (the tables answer again); a damaged index, or one written for
 * another database, is never trusted; a handle opened before another process compacted
 * picks the new index up. Expected values come from the same store read through its tables
 * (before the index exists, or after it is made stale), which the conformance suite holds
 * to an in-memory model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <strain/store.h>

#include "helpers.h"

#define N_KEYS 400
#define N_SAMPLES 40

#define OK(e)                                                                                      \
    do {                                                                                           \
        int rc_ = (e);                                                                             \
        if (rc_ != 0) {                                                                            \
            fail_msg("%s = %d (%s)", #e, rc_, strain_ctx_errmsg(ctx));                             \
        }                                                                                          \
    } while (0)

static strain_ctx *ctx;

/* Keys of three kinds spread over the whole signed range (the index sorts as SQLite does),
 * with hash 0 and the extremes among them; the last 40 are never stored. */
static strain_store_key key_of(int k)
{
    static const uint64_t edge[] = {0, 1, 0x8000000000000000ull, 0x7fffffffffffffffull,
                                    0xffffffffffffffffull};
    strain_store_key key = {(uint32_t)(1 + k % 3), 0};
    key.hash = k < 5 ? edge[k] : (uint64_t)k * 0x9e3779b97f4a7c15ull;
    return key;
}

static void sha_of(char out[STRAIN_SHA256_HEX], unsigned n)
{
    snprintf(out, STRAIN_SHA256_HEX, "%016x%016x%016x%016x", n * 2654435761u, n, ~n, n ^ 0x5eedu);
}

static int64_t put(strain_store *st, unsigned n, unsigned seed)
{
    static const char *fams[] = {"alpha", "beta", "gamma", ""};
    strain_store_sample smp;
    strain_store_posting p[N_KEYS];
    size_t np = 0;
    int64_t id = 0;
    memset(&smp, 0, sizeof(smp));
    sha_of(smp.sha256, n);
    smp.label.family = fams[n % 4];
    smp.label.clean = n % 7 == 3;
    OK(strain_store_put_sample(st, &id, &smp));
    for (int k = 0; k < N_KEYS - 40; k++) {
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 3 == 0) {
            p[np].kind = key_of(k).kind;
            p[np].hash = key_of(k).hash;
            p[np].payload = seed;
            np++;
        }
    }
    strain_store_features fe = {.postings = p, .n_postings = np};
    OK(strain_store_put_features(st, id, &fe));
    return id;
}

typedef struct reads {
    strain_store_df df[N_KEYS];
    strain_store_posting *post;
    size_t n_post;
    strain_store_posting *capped; /* lookup with max_df 5 */
    size_t n_capped;
} reads;

static void read_all(strain_store *st, reads *r)
{
    strain_store_key keys[N_KEYS];
    for (int k = 0; k < N_KEYS; k++) {
        keys[k] = key_of(k);
    }
    OK(strain_store_df_get(st, r->df, keys, N_KEYS, UINT32_MAX));
    OK(strain_store_lookup(st, &r->post, &r->n_post, keys, N_KEYS, UINT32_MAX));
    OK(strain_store_lookup(st, &r->capped, &r->n_capped, keys, N_KEYS, 5));
}

static void free_reads(reads *r)
{
    free(r->post);
    free(r->capped);
    memset(r, 0, sizeof(*r));
}

static void same_postings(const strain_store_posting *a, size_t na, const strain_store_posting *b,
                          size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].kind, b[i].kind);
        assert_true(a[i].hash == b[i].hash);
        assert_int_equal(a[i].sample_id, b[i].sample_id);
        assert_true(a[i].payload == b[i].payload);
    }
}

static void same(const reads *a, const reads *b)
{
    for (int k = 0; k < N_KEYS; k++) {
        assert_int_equal(a->df[k].kind, b->df[k].kind);
        assert_true(a->df[k].hash == b->df[k].hash);
        assert_int_equal(a->df[k].n_samples, b->df[k].n_samples);
        assert_int_equal(a->df[k].n_clean, b->df[k].n_clean);
        assert_int_equal(a->df[k].n_families, b->df[k].n_families);
    }
    same_postings(a->post, a->n_post, b->post, b->n_post);
    same_postings(a->capped, a->n_capped, b->capped, b->n_capped);
}

static bool index_current(strain_store *st, uint64_t *bytes)
{
    strain_store_stats s;
    OK(strain_store_stats_get(st, &s));
    if (bytes != NULL) {
        *bytes = s.index_bytes;
    }
    return s.index_current;
}

/* The statistics' sample counts, wherever the store reads them from. */
static void counts(strain_store *st, uint64_t out[4])
{
    strain_store_stats s;
    OK(strain_store_stats_get(st, &s));
    out[0] = s.samples;
    out[1] = s.families;
    out[2] = s.actors;
    out[3] = s.clean;
}

static void same_counts(const uint64_t a[4], const uint64_t b[4])
{
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a[i], b[i]);
    }
}

static strain_store *fresh(char *path, size_t cap, const char *name)
{
    strain_store *st = NULL;
    snprintf(path, cap, "%s/idx/%s.db", th_tmpdir(), name);
    OK(strain_store_open(&st, ctx, "sqlite", path, STRAIN_STORE_CREATE));
    OK(strain_store_begin(st));
    for (unsigned n = 0; n < N_SAMPLES; n++) {
        put(st, n, n * 7919u + 1);
    }
    OK(strain_store_commit(st));
    return st;
}

static void test_exact_and_stale(void **state)
{
    (void)state;
    char path[1024];
    uint64_t bytes = 0;
    reads tables;
    reads idx;
    uint64_t c_tables[4];
    uint64_t c_idx[4];
    strain_store *st = fresh(path, sizeof(path), "exact");
    read_all(st, &tables);
    counts(st, c_tables);
    assert_false(index_current(st, &bytes));
    assert_int_equal(bytes, 0);
    assert_true(tables.n_capped < tables.n_post); /* the cap is exercised */
    /* from the inputs: 40 samples, families alpha/beta/gamma and none, clean n % 7 == 3 */
    assert_int_equal(c_tables[0], N_SAMPLES);
    assert_int_equal(c_tables[1], 3);
    assert_int_equal(c_tables[3], 6);

    OK(strain_store_compact(st));
    assert_true(index_current(st, &bytes));
    assert_true(bytes > 0);
    read_all(st, &idx);
    same(&tables, &idx);
    counts(st, c_idx);
    same_counts(c_tables, c_idx);
    free_reads(&idx);
    free_reads(&tables);

    /* A new sample: the index is stale, the tables answer (with the sample). */
    int64_t id = put(st, 1000, 42);
    assert_false(index_current(st, NULL));
    read_all(st, &tables);
    bool found = false;
    for (size_t i = 0; i < tables.n_post; i++) {
        found |= tables.post[i].sample_id == id;
    }
    assert_true(found);
    OK(strain_store_compact(st));
    assert_true(index_current(st, NULL));
    read_all(st, &idx);
    same(&tables, &idx);
    free_reads(&idx);
    free_reads(&tables);

    /* Relabelling moves family counts: stale again, and the tables have the new counts. */
    char sha[STRAIN_SHA256_HEX];
    sha_of(sha, 1000);
    strain_store_label l = {.family = "delta", .clean = STRAIN_STORE_KEEP};
    OK(strain_store_label_set(st, sha, &l));
    assert_false(index_current(st, NULL));
    read_all(st, &tables);
    counts(st, c_tables);
    assert_int_equal(c_tables[1], 4); /* delta is new */
    OK(strain_store_compact(st));
    read_all(st, &idx);
    same(&tables, &idx);
    counts(st, c_idx);
    same_counts(c_tables, c_idx);
    /* A label change that touches no feature (the actor) makes it stale too. */
    strain_store_label la = {.actor = "someone", .clean = STRAIN_STORE_KEEP};
    OK(strain_store_label_set(st, sha, &la));
    assert_false(index_current(st, NULL));
    counts(st, c_tables);
    assert_int_equal(c_tables[2], c_idx[2] + 1);
    free_reads(&idx);
    free_reads(&tables);
    /* Removing a sample, too. */
    OK(strain_store_remove(st, sha));
    assert_false(index_current(st, NULL));
    strain_store_close(st);
}

/* Overwrites len bytes at off of path (or truncates it to off when data is NULL). */
static void damage(const char *path, long off, const void *data, size_t len)
{
    if (data == NULL) {
        assert_int_equal(truncate(path, off), 0);
        return;
    }
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void copy_file(const char *from, const char *to)
{
    assert_int_equal(th_run(NULL, "cp '%s' '%s'", from, to), 0);
}

static void test_damaged_or_foreign(void **state)
{
    (void)state;
    char path[1024];
    char other[1024];
    char ix[1100];
    char saved[1100];
    reads tables;
    reads now;
    strain_store *st = fresh(path, sizeof(path), "damaged");
    read_all(st, &tables);
    OK(strain_store_compact(st));
    strain_store_close(st);
    snprintf(ix, sizeof(ix), "%s-index", path);
    snprintf(saved, sizeof(saved), "%s-index.good", path);
    copy_file(ix, saved);

    /* Truncated, wrong magic, a size field that lies: not used, the tables answer. */
    struct {
        long off;
        const char *data;
        size_t len;
    } cases[] = {{100, NULL, 0},
                 {0, "XTRNFIDX", 8},
                 {48, "\x01\x02\x03\x04", 4},
                 {12, "\xff\xff\xff\xff", 4},
                 {32, "\xff\xff\xff\xff\xff\xff\xff\x7f", 8}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        copy_file(saved, ix);
        damage(ix, cases[c].off, cases[c].data, cases[c].len);
        OK(strain_store_open(&st, ctx, "sqlite", path, 0));
        assert_false(index_current(st, NULL));
        read_all(st, &now);
        same(&tables, &now);
        free_reads(&now);
        strain_store_close(st);
    }

    /* Postings ranges out of the file (a header that checks out): a clear error, never a
     * read outside it. The ranges (starts, the array before the postings) are overwritten
     * between the first entry and the last, which the header check reads. */
    copy_file(saved, ix);
    {
        FILE *f = fopen(ix, "rb");
        uint8_t h[64];
        assert_int_equal(fread(h, 1, 64, f), 64);
        fclose(f);
        uint64_t n_kinds = h[12];
        uint64_t n_keys = 0;
        for (int i = 7; i >= 0; i--) {
            n_keys = n_keys << 8 | h[32 + i];
        }
        uint64_t starts = 96 + 24 * n_kinds + 8 * n_keys + 12 * n_keys;
        starts = (starts + 7) & ~7ull;
        size_t len = (size_t)(8 * (n_keys - 1));
        uint8_t *junk = malloc(len);
        assert_non_null(junk);
        memset(junk, 0xff, len);
        damage(ix, (long)(starts + 8), junk, len);
        free(junk);
    }
    OK(strain_store_open(&st, ctx, "sqlite", path, 0));
    assert_true(index_current(st, NULL));
    strain_store_key k0 = key_of(0);
    strain_store_posting *p = NULL;
    size_t np = 0;
    assert_int_equal(strain_store_lookup(st, &p, &np, &k0, 1, UINT32_MAX), STRAIN_ESTORE);
    assert_non_null(strstr(strain_ctx_errmsg(ctx), "damaged read index"));
    strain_store_close(st);
    /* compact writes a good one again, which the check passes */
    OK(strain_store_open(&st, ctx, "sqlite", path, 0));
    OK(strain_store_compact(st));
    OK(strain_store_check(st));
    strain_store_close(st);
    /* A count changed in an index whose header checks out: reads cannot see it, the check
     * does (every feature and posting against the tables). */
    {
        FILE *f = fopen(ix, "rb");
        uint8_t h[96];
        assert_int_equal(fread(h, 1, 96, f), 96);
        fclose(f);
        uint64_t n_kinds = h[12];
        uint64_t n_keys = 0;
        for (int i = 7; i >= 0; i--) {
            n_keys = n_keys << 8 | h[32 + i];
        }
        uint64_t counts = 96 + 24 * n_kinds + 8 * n_keys;
        damage(ix, (long)(counts + 12 * (n_keys / 2)), "\x77\x77", 2);
    }
    OK(strain_store_open(&st, ctx, "sqlite", path, 0));
    assert_true(index_current(st, NULL));
    assert_int_equal(strain_store_check(st), STRAIN_ESTORE);
    assert_non_null(strstr(strain_ctx_errmsg(ctx), "read index disagrees"));
    OK(strain_store_compact(st));
    OK(strain_store_check(st));
    read_all(st, &now);
    same(&tables, &now);
    free_reads(&now);
    strain_store_close(st);

    /* An index written for another database (same contents even) is not read for this one:
     * each database has its own random id. */
    strain_store *o = fresh(other, sizeof(other), "other");
    strain_store_close(o);
    snprintf(ix, sizeof(ix), "%s-index", other);
    copy_file(saved, ix);
    OK(strain_store_open(&o, ctx, "sqlite", other, 0));
    assert_false(index_current(o, NULL));
    read_all(o, &now);
    same(&tables, &now);
    free_reads(&now);
    strain_store_close(o);
    free_reads(&tables);
}

/* A long-lived handle (a server) maps the index once; another process that changes and
 * compacts the database replaces the file; the handle then reads the new one. */
static void test_other_handle_compacts(void **state)
{
    (void)state;
    char path[1024];
    reads a;
    reads b;
    strain_store *st = fresh(path, sizeof(path), "handles");
    strain_store *other = NULL;
    OK(strain_store_compact(st));
    assert_true(index_current(st, NULL));
    OK(strain_store_open(&other, ctx, "sqlite", path, 0));
    put(other, 2000, 77);
    OK(strain_store_compact(other));
    assert_true(index_current(st, NULL));
    read_all(st, &a);
    read_all(other, &b);
    same(&a, &b);
    free_reads(&a);
    free_reads(&b);
    /* A handle that looked before any index existed finds one written later by another
     * handle, though the data did not change (compacting moves no generation). */
    strain_store *late = NULL;
    OK(strain_store_open(&late, ctx, "sqlite", path, 0));
    put(late, 3000, 99);
    assert_false(index_current(late, NULL));
    assert_false(index_current(st, NULL));
    OK(strain_store_compact(other));
    assert_true(index_current(late, NULL));
    assert_true(index_current(st, NULL));
    strain_store_close(late);
    /* read-only handles use it too */
    strain_store *ro = NULL;
    OK(strain_store_open(&ro, ctx, "sqlite", path, STRAIN_STORE_READONLY));
    assert_true(index_current(ro, NULL));
    strain_store_close(ro);
    strain_store_close(other);
    strain_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_stale),
        cmocka_unit_test(test_damaged_or_foreign),
        cmocka_unit_test(test_other_handle_compacts),
    };
    if (strain_ctx_new(&ctx) != 0) {
        return 1;
    }
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    strain_ctx_free(ctx);
    return rc;
}
