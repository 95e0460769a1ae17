/*
 * SQLite backend: a sample's features. Postings live in one WITHOUT ROWID table keyed
 * (kind, hash, sample_id), so the lookup of a batch is one index seek per distinct key,
 * walked in key order (store.c sorts the batch) so consecutive seeks touch neighbouring pages.
 * feature_df keeps, per key, how many samples and clean samples hold it and in how many
 * families (feature_families holds the per-family counts behind that number), updated in the
 * same transaction as the postings: rarity is then a point read, and a caller can skip the
 * postings of features too common to matter without reading them.
 *
 * Hashes are u64 in the API and stored as the same 64 bits read as int64 (SQLite integers
 * are signed); the cast both ways is the identity on the bits.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_impl.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/span.h"

#define KEY_BYTES 12 /* kind u32 LE, hash u64 LE in sample_keys.keys */

static int read_begin(sq *s)
{
    return s->in_txn ? STRAIN_OK : strain_sqlite__exec(s, "BEGIN");
}

static void read_end(sq *s)
{
    if (!s->in_txn) {
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    }
}

static void put_key(uint8_t *p, uint32_t kind, uint64_t hash)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(kind >> (8 * i));
    }
    for (int i = 0; i < 8; i++) {
        p[4 + i] = (uint8_t)(hash >> (8 * i));
    }
}

/* A sample's stored keys (malloc'd copy); *out NULL and *out_n 0 when it has no features. */
static int load_keys(sq *s, uint8_t **out, size_t *out_n, int64_t sample_id)
{
    sqlite3_stmt *st;
    int err;
    int rc;
    *out = NULL;
    *out_n = 0;
    STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                   "SELECT n_postings, keys FROM sample_keys WHERE sample_id = ?"));
    sqlite3_bind_int64(st, 1, sample_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(st, 0);
        const void *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        /* The file may have been edited or damaged: trust nothing the blob says. */
        if (n < 0 || n > STRAIN_STORE_MAX_POSTINGS || len != (size_t)n * KEY_BYTES) {
            err = strain__fail(s->ctx, STRAIN_ESTORE,
                               "%s: sample %lld: key list of %zu bytes for %lld postings "
                               "(database damaged?)",
                               s->path, (long long)sample_id, len, (long long)n);
        } else if (n > 0 && (*out = malloc(len)) == NULL) {
            err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        } else {
            if (n > 0) {
                memcpy(*out, blob, len);
            }
            *out_n = (size_t)n;
        }
    } else if (rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "reading a sample's keys");
    }
    sqlite3_reset(st);
done:
    return err;
}

static void get_key(const uint8_t *keys, size_t i, uint32_t *kind, uint64_t *hash)
{
    strain_span sp = strain_span_make(keys + i * KEY_BYTES, KEY_BYTES);
    (void)strain_span_u32le(sp, 0, kind);
    (void)strain_span_u64le(sp, 4, hash);
}

int strain_sqlite__counted_family(sq *s, char **out, int64_t sample_id)
{
    sqlite3_stmt *st;
    int err = STRAIN_OK;
    *out = NULL;
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st, "SELECT family FROM samples WHERE id = ? AND clean = 0 AND family IS NOT NULL"));
    sqlite3_bind_int64(st, 1, sample_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *f = (const char *)sqlite3_column_text(st, 0);
        if (f != NULL && (*out = strdup(f)) == NULL) {
            err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        }
    } else if (rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "reading a sample's family");
    }
    sqlite3_reset(st);
done:
    return err;
}

/* One feature's count for family moves by delta (+1/-1); the feature's family count follows
 * when the family starts or stops holding it. The feature_df row must exist. */
static int family_step(sq *s, uint32_t kind, uint64_t hash, const char *family, int delta)
{
    sqlite3_stmt *st;
    int err;
    int rc;
    int64_t n = -1;
    if (delta > 0) {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st,
            "INSERT INTO feature_families(kind, hash, family, n_samples) VALUES(?1, ?2, ?3, 1) "
            "ON CONFLICT(kind, hash, family) DO UPDATE SET n_samples = n_samples + 1 "
            "RETURNING n_samples"));
    } else {
        STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                       "UPDATE feature_families SET n_samples = n_samples - 1 "
                                       "WHERE kind = ?1 AND hash = ?2 AND family = ?3 "
                                       "RETURNING n_samples"));
    }
    sqlite3_bind_int64(st, 1, kind);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)hash);
    sqlite3_bind_text(st, 3, family, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return strain_sqlite__fail(s, "updating family counts");
    }
    if (n == 0) {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "DELETE FROM feature_families WHERE kind = ? AND hash = ? AND family = ?"));
        sqlite3_bind_int64(st, 1, kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hash);
        sqlite3_bind_text(st, 3, family, -1, SQLITE_TRANSIENT);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "updating family counts"));
    }
    if ((delta > 0 && n == 1) || (delta < 0 && n == 0)) {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st,
            "UPDATE feature_df SET n_families = n_families + ?3 WHERE kind = ?1 AND hash = ?2"));
        sqlite3_bind_int64(st, 1, kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hash);
        sqlite3_bind_int(st, 3, delta > 0 ? 1 : -1);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "updating family counts"));
    }
done:
    return err;
}

int strain_sqlite__refamily(sq *s, int64_t sample_id, const char *family, int delta)
{
    uint8_t *keys = NULL;
    size_t n = 0;
    int err = STRAIN_OK;
    if (family == NULL) {
        return STRAIN_OK;
    }
    STRAIN_TRY(strain_sqlite__meta_add(s, "data_gen", 1));
    STRAIN_TRY(load_keys(s, &keys, &n, sample_id));
    for (size_t i = 0; i < n; i++) {
        uint32_t kind;
        uint64_t hash;
        get_key(keys, i, &kind, &hash);
        STRAIN_TRY(family_step(s, kind, hash, family, delta));
    }
done:
    free(keys);
    return err;
}

int strain_sqlite__drop_features(sq *s, int64_t sample_id, int clean)
{
    sqlite3_stmt *st;
    uint8_t *keys = NULL;
    size_t n = 0;
    int64_t gone = 0;
    char *family = NULL;
    int err;
    STRAIN_TRY(strain_sqlite__meta_add(s, "data_gen", 1));
    STRAIN_TRY(strain_sqlite__counted_family(s, &family, sample_id));
    STRAIN_TRY(load_keys(s, &keys, &n, sample_id));
    for (size_t i = 0; i < n; i++) {
        uint32_t kind;
        uint64_t hash;
        get_key(keys, i, &kind, &hash);
        if (family != NULL) {
            STRAIN_TRY(family_step(s, kind, hash, family, -1));
        }
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "DELETE FROM postings WHERE kind = ? AND hash = ? AND sample_id = ?"));
        sqlite3_bind_int64(st, 1, kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hash);
        sqlite3_bind_int64(st, 3, sample_id);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "removing postings"));
        /* Last holder: the feature disappears; otherwise one fewer. */
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "DELETE FROM feature_df WHERE kind = ? AND hash = ? AND n_samples <= 1"));
        sqlite3_bind_int64(st, 1, kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hash);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "updating feature counts"));
        if (sqlite3_changes(s->db) > 0) {
            gone++;
            continue;
        }
        STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                       "UPDATE feature_df SET n_samples = n_samples - 1, "
                                       "n_clean = n_clean - ?3 WHERE kind = ?1 AND hash = ?2"));
        sqlite3_bind_int64(st, 1, kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hash);
        sqlite3_bind_int(st, 3, clean);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "updating feature counts"));
    }
    STRAIN_TRY(strain_sqlite__stmt(s, &st, "DELETE FROM sample_keys WHERE sample_id = ?"));
    sqlite3_bind_int64(st, 1, sample_id);
    STRAIN_TRY(strain_sqlite__step_done(s, st, "removing features"));
    STRAIN_TRY(strain_sqlite__stmt(s, &st, "DELETE FROM genomes WHERE sample_id = ?"));
    sqlite3_bind_int64(st, 1, sample_id);
    STRAIN_TRY(strain_sqlite__step_done(s, st, "removing a genome"));
    STRAIN_TRY(strain_sqlite__meta_add(s, "postings", -(int64_t)n));
    STRAIN_TRY(strain_sqlite__meta_add(s, "distinct_features", -gone));
done:
    free(family);
    free(keys);
    return err;
}

int strain_sqlite__reclean(sq *s, int64_t sample_id, int delta)
{
    sqlite3_stmt *st;
    uint8_t *keys = NULL;
    size_t n = 0;
    int err;
    STRAIN_TRY(strain_sqlite__meta_add(s, "data_gen", 1));
    STRAIN_TRY(load_keys(s, &keys, &n, sample_id));
    for (size_t i = 0; i < n; i++) {
        uint32_t kind;
        uint64_t hash;
        get_key(keys, i, &kind, &hash);
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "UPDATE feature_df SET n_clean = n_clean + ?3 WHERE kind = ?1 AND hash = ?2"));
        sqlite3_bind_int64(st, 1, kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hash);
        sqlite3_bind_int(st, 3, delta);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "updating clean counts"));
    }
done:
    free(keys);
    return err;
}

typedef struct idx_posting {
    const strain_store_posting *p;
    size_t order;
} idx_posting;

static int posting_cmp(const void *a, const void *b)
{
    const idx_posting *x = a;
    const idx_posting *y = b;
    int64_t hx = (int64_t)x->p->hash;
    int64_t hy = (int64_t)y->p->hash;
    if (x->p->kind != y->p->kind) {
        return x->p->kind < y->p->kind ? -1 : 1;
    }
    if (hx != hy) {
        return hx < hy ? -1 : 1;
    }
    /* Equal keys keep input order, so the first occurrence's payload wins. */
    return x->order < y->order ? -1 : x->order > y->order;
}

static int put_features_op(sq *s, int64_t sample_id, const strain_store_features *f)
{
    sqlite3_stmt *st;
    idx_posting *ix = NULL;
    uint8_t *keys = NULL;
    size_t n = 0;
    int64_t fresh = 0;
    int clean = 0;
    char *family = NULL;
    int err;
    int rc;
    /* every change of features moves the generation: the read index stops describing it */
    STRAIN_TRY(strain_sqlite__meta_add(s, "data_gen", 1));
    STRAIN_TRY(strain_sqlite__stmt(s, &st, "SELECT clean FROM samples WHERE id = ?"));
    sqlite3_bind_int64(st, 1, sample_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        clean = sqlite3_column_int(st, 0);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        err = strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: no sample with id %lld", s->path,
                           (long long)sample_id);
        goto done;
    } else if (rc != SQLITE_ROW) {
        err = strain_sqlite__fail(s, "finding a sample");
        goto done;
    }
    STRAIN_TRY(strain_sqlite__drop_features(s, sample_id, clean));
    STRAIN_TRY(strain_sqlite__counted_family(s, &family, sample_id));
    /* n_postings <= STRAIN_STORE_MAX_POSTINGS (store.c), so the sizes below cannot wrap. */
    if (f->n_postings > 0 && ((ix = malloc(f->n_postings * sizeof(*ix))) == NULL ||
                              (keys = malloc(f->n_postings * KEY_BYTES)) == NULL)) {
        err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < f->n_postings; i++) {
        ix[i].p = &f->postings[i];
        ix[i].order = i;
    }
    if (f->n_postings > 0) {
        qsort(ix, f->n_postings, sizeof(*ix), posting_cmp);
    }
    for (size_t i = 0; i < f->n_postings; i++) {
        const strain_store_posting *p = ix[i].p;
        if (i > 0 && p->kind == ix[i - 1].p->kind && p->hash == ix[i - 1].p->hash) {
            continue;
        }
        put_key(keys + n * KEY_BYTES, p->kind, p->hash);
        n++;
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "INSERT INTO postings(kind, hash, sample_id, payload) VALUES(?, ?, ?, ?)"));
        sqlite3_bind_int64(st, 1, p->kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)p->hash);
        sqlite3_bind_int64(st, 3, sample_id);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)p->payload);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "storing postings"));
        /* One statement per posting for the counters; RETURNING tells a new feature
         * (count 1) from a known one, for the distinct-feature counter. */
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st,
            "INSERT INTO feature_df(kind, hash, n_samples, n_clean) VALUES(?1, ?2, 1, ?3) "
            "ON CONFLICT(kind, hash) DO UPDATE SET n_samples = n_samples + 1, "
            "n_clean = n_clean + ?3 RETURNING n_samples"));
        sqlite3_bind_int64(st, 1, p->kind);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)p->hash);
        sqlite3_bind_int(st, 3, clean);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == 1) {
            fresh++;
        }
        if (rc == SQLITE_ROW) {
            rc = sqlite3_step(st);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            err = strain_sqlite__fail(s, "updating feature counts");
            goto done;
        }
        if (family != NULL) {
            STRAIN_TRY(family_step(s, p->kind, p->hash, family, 1));
        }
    }
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st, "INSERT INTO sample_keys(sample_id, n_postings, keys) VALUES(?, ?, ?)"));
    sqlite3_bind_int64(st, 1, sample_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
    if (n > 0) {
        sqlite3_bind_blob(st, 3, keys, (int)(n * KEY_BYTES), SQLITE_STATIC);
    } else {
        sqlite3_bind_zeroblob(st, 3, 0);
    }
    STRAIN_TRY(strain_sqlite__step_done(s, st, "storing features"));
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st, "INSERT INTO genomes(sample_id, version, genome) VALUES(?, ?, ?)"));
    sqlite3_bind_int64(st, 1, sample_id);
    sqlite3_bind_int64(st, 2, f->genome_version);
    if (f->genome_len > 0) {
        sqlite3_bind_blob64(st, 3, f->genome, f->genome_len, SQLITE_STATIC);
    } else {
        sqlite3_bind_zeroblob(st, 3, 0);
    }
    STRAIN_TRY(strain_sqlite__step_done(s, st, "storing a genome"));
    STRAIN_TRY(strain_sqlite__meta_add(s, "postings", (int64_t)n));
    STRAIN_TRY(strain_sqlite__meta_add(s, "distinct_features", fresh));
done:
    free(family);
    free(ix);
    free(keys);
    return err;
}

int strain_sqlite__put_features(void *be, int64_t sample_id, const strain_store_features *f)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, put_features_op(s, sample_id, f));
}

int strain_sqlite__get_genome(void *be, void **out, size_t *out_len, uint32_t *out_version,
                              int64_t sample_id)
{
    sq *s = be;
    sqlite3_stmt *st;
    int err;
    int rc;
    STRAIN_TRY(
        strain_sqlite__stmt(s, &st, "SELECT version, genome FROM genomes WHERE sample_id = ?"));
    sqlite3_bind_int64(st, 1, sample_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        /* One extra byte so an empty genome still gets a non-NULL buffer. */
        void *copy = malloc(len + 1);
        if (copy == NULL) {
            err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        } else {
            if (len > 0) {
                memcpy(copy, blob, len);
            }
            *out = copy;
            *out_len = len;
            *out_version = (uint32_t)sqlite3_column_int64(st, 0);
        }
    } else if (rc == SQLITE_DONE) {
        err = strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: sample %lld has no genome", s->path,
                           (long long)sample_id);
    } else {
        err = strain_sqlite__fail(s, "reading a genome");
    }
    sqlite3_reset(st);
done:
    return err;
}

/*
 * Batched reads. A query asks for the counts of thousands of keys and the postings of
 * hundreds to thousands: one statement per key paid SQLite's per-statement work (reset, bind,
 * open a cursor, run the program) for every key. A batch is instead a run of up to IN_BATCH
 * keys of one kind, read by one statement whose `hash IN (...)` list SQLite sorts and seeks in
 * key order (unused slots stay NULL, which matches nothing). Measured on the public-corpus
 * index the gain is small, 0-3% of a query (bench/RESULTS.md, query speed): what remains per
 * key is the seek to a cold leaf and its page fault, which only the file's layout changes
 * (strain_store_compact).
 */
#define IN_BATCH 64
#define IN8 "?,?,?,?,?,?,?,?"
#define IN64 IN8 "," IN8 "," IN8 "," IN8 "," IN8 "," IN8 "," IN8 "," IN8

/* Store order: kind, then hash as the signed integer the index holds. */
static int key_order(const strain_store_key *x, const strain_store_key *y)
{
    int64_t hx = (int64_t)x->hash;
    int64_t hy = (int64_t)y->hash;
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return hx < hy ? -1 : hx > hy;
}

/* Keys [from, *to) of one kind, at most IN_BATCH, bound to st (kind ?1, hashes ?2...). */
static void bind_run(sqlite3_stmt *st, const strain_store_key *const *keys, size_t n, size_t from,
                     size_t *to)
{
    size_t i = from;
    sqlite3_bind_int64(st, 1, keys[from]->kind);
    while (i < n && i - from < IN_BATCH && keys[i]->kind == keys[from]->kind) {
        sqlite3_bind_int64(st, (int)(2 + i - from), (sqlite3_int64)keys[i]->hash);
        i++;
    }
    *to = i;
}

static int ptr_key_cmp(const void *a, const void *b)
{
    return key_order(*(const strain_store_key *const *)a, *(const strain_store_key *const *)b);
}

/* Counts of every key (0s when absent) into out[i] for keys[i]; any order, duplicates
 * allowed. */
static int df_batch(sq *s, strain_store_df *out, const strain_store_key *keys, size_t n_keys)
{
    const strain_store_key **ord = malloc((n_keys ? n_keys : 1) * sizeof(*ord));
    sqlite3_stmt *st;
    int err = STRAIN_OK;
    int rc;
    if (ord == NULL) {
        return strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < n_keys; k++) {
        memset(&out[k], 0, sizeof(out[k]));
        out[k].kind = keys[k].kind;
        out[k].hash = keys[k].hash;
        out[k].families_counted = true;
        ord[k] = &keys[k];
    }
    qsort(ord, n_keys, sizeof(*ord), ptr_key_cmp);
    for (size_t from = 0, to = 0; from < n_keys; from = to) {
        STRAIN_TRY(
            strain_sqlite__stmt(s, &st,
                                "SELECT hash, n_samples, n_clean, n_families FROM feature_df "
                                "WHERE kind = ? AND hash IN (" IN64 ")"));
        bind_run(st, ord, n_keys, from, &to);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            /* the row's place in the sorted run (not trusting the order rows come in) */
            strain_store_key row = {ord[from]->kind, (uint64_t)sqlite3_column_int64(st, 0)};
            size_t lo = from;
            size_t hi = to;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (key_order(ord[mid], &row) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for (; lo < to && key_order(ord[lo], &row) == 0; lo++) {
                strain_store_df *d = &out[ord[lo] - keys];
                int64_t ns = sqlite3_column_int64(st, 1);
                int64_t nc = sqlite3_column_int64(st, 2);
                int64_t nf = sqlite3_column_int64(st, 3);
                d->n_samples = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns < 0 ? 0 : ns);
                d->n_clean = nc > UINT32_MAX ? UINT32_MAX : (uint32_t)(nc < 0 ? 0 : nc);
                d->n_families = nf > UINT32_MAX ? UINT32_MAX : (uint32_t)(nf < 0 ? 0 : nf);
            }
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            err = strain_sqlite__fail(s, "reading feature counts");
            goto done;
        }
    }
done:
    free(ord);
    return err;
}

static int posting_order(const void *a, const void *b)
{
    const strain_store_posting *x = a;
    const strain_store_posting *y = b;
    strain_store_key kx = {x->kind, x->hash};
    strain_store_key ky = {y->kind, y->hash};
    int c = key_order(&kx, &ky);
    if (c != 0) {
        return c;
    }
    return x->sample_id < y->sample_id ? -1 : x->sample_id > y->sample_id;
}

/* keys: sorted and distinct (store.c). Postings in key order, then sample id. */
static int lookup_read(sq *s, strain_store_posting **out, size_t *out_n,
                       const strain_store_key *keys, size_t n_keys, uint32_t max_df)
{
    strain_store_posting *res = NULL;
    const strain_store_key **ord = NULL;
    strain_store_df *df = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t n_ord = 0;
    sqlite3_stmt *st;
    int err = STRAIN_OK;
    int rc;
    if ((ord = malloc(n_keys * sizeof(*ord))) == NULL ||
        (max_df != UINT32_MAX && (df = malloc(n_keys * sizeof(*df))) == NULL)) {
        err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    if (max_df != UINT32_MAX) {
        STRAIN_TRY(df_batch(s, df, keys, n_keys));
    }
    for (size_t k = 0; k < n_keys; k++) {
        if (df == NULL || (df[k].n_samples > 0 && df[k].n_samples <= max_df)) {
            ord[n_ord++] = &keys[k];
        }
    }
    for (size_t from = 0, to = 0; from < n_ord; from = to) {
        size_t first = n;
        STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                       "SELECT hash, sample_id, payload FROM postings "
                                       "WHERE kind = ? AND hash IN (" IN64 ")"));
        bind_run(st, ord, n_ord, from, &to);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 1024;
                strain_store_posting *r;
                if (n >= STRAIN_STORE_MAX_RESULTS) {
                    sqlite3_reset(st);
                    err = strain__fail(s->ctx, STRAIN_ELIMIT,
                                       "%s: lookup returns more than STRAIN_STORE_MAX_RESULTS "
                                       "(%u) postings; pass a smaller max_df",
                                       s->path, STRAIN_STORE_MAX_RESULTS);
                    goto done;
                }
                if ((r = realloc(res, ncap * sizeof(*r))) == NULL) {
                    sqlite3_reset(st);
                    err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
                    goto done;
                }
                res = r;
                cap = ncap;
            }
            res[n].kind = ord[from]->kind;
            res[n].hash = (uint64_t)sqlite3_column_int64(st, 0);
            res[n].sample_id = sqlite3_column_int64(st, 1);
            res[n].payload = (uint64_t)sqlite3_column_int64(st, 2);
            n++;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            err = strain_sqlite__fail(s, "reading postings");
            goto done;
        }
        /* SQLite walks an IN list in index order, so this is a check; the order callers
         * see must not depend on the query plan. */
        for (size_t i = first + 1; i < n; i++) {
            if (posting_order(&res[i - 1], &res[i]) > 0) {
                qsort(res + first, n - first, sizeof(*res), posting_order);
                break;
            }
        }
    }
    *out = res;
    *out_n = n;
    res = NULL;
done:
    free(res);
    free(ord);
    free(df);
    return err;
}

int strain_sqlite__lookup(void *be, strain_store_posting **out, size_t *out_n,
                          const strain_store_key *keys, size_t n_keys, uint32_t max_df)
{
    sq *s = be;
    int err = read_begin(s);
    if (err < 0) {
        return err;
    }
    /* One read transaction: the batch sees one snapshot even while a writer commits. */
    bool indexed = false;
    err = strain_sqlite__index_current(s, &indexed);
    if (err >= 0) {
        err = indexed ? strain_sqlite__index_lookup(s, out, out_n, keys, n_keys, max_df)
                      : lookup_read(s, out, out_n, keys, n_keys, max_df);
    }
    read_end(s);
    return err;
}

/* Family counts are maintained (feature_families), so they are exact for every feature
 * whatever family_scan_max says. */
static int df_read(sq *s, strain_store_df *out, const strain_store_key *keys, size_t n_keys,
                   uint32_t family_scan_max)
{
    (void)family_scan_max;
    return df_batch(s, out, keys, n_keys);
}

int strain_sqlite__df(void *be, strain_store_df *out, const strain_store_key *keys, size_t n_keys,
                      uint32_t family_scan_max)
{
    sq *s = be;
    int err = read_begin(s);
    if (err < 0) {
        return err;
    }
    bool indexed = false;
    err = strain_sqlite__index_current(s, &indexed);
    if (err >= 0) {
        err = indexed ? strain_sqlite__index_df(s, out, keys, n_keys)
                      : df_read(s, out, keys, n_keys, family_scan_max);
    }
    read_end(s);
    return err;
}
