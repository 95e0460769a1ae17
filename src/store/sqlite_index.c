/*
 * SQLite backend: the read index (feature_index.h), a flat copy of feature_df and postings
 * (and the sample counts of the statistics) in PATH-index that compact writes and the df,
 * lookup and stats reads use while it describes the database exactly.
 *
 * Exactly means: every change to samples or features (put, label, remove, reclean) adds one
 * to store_meta.data_gen in its own transaction, and the index records the generation and
 * the store's random id of the snapshot it was built from. A read checks both inside its
 * read transaction, so it uses the index only when that snapshot is the one the index copied;
 * otherwise it reads the tables (correct, slower) until the next compact. The file is written
 * beside the database under a temporary name, synced, then renamed over the old one: a reader
 * keeps the mapping it has, a crash leaves the old index or none, never half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite_impl.h"
#include "util/err.h"
#include "util/limits.h"

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void index_path(const sq *s, char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "%s-index%s", s->path, suffix);
}

void strain_sqlite__index_unmap(sq *s)
{
    if (s->index_map != NULL) {
        munmap(s->index_map, s->index_len);
    }
    s->index_map = NULL;
    s->index_len = 0;
    s->index_valid = false;
}

static void file_id(const struct stat *sb, uint64_t id[4])
{
    id[0] = (uint64_t)sb->st_dev;
    id[1] = (uint64_t)sb->st_ino;
    id[2] = (uint64_t)sb->st_size;
    id[3] = (uint64_t)sb->st_mtim.tv_sec * 1000000000u + (uint64_t)sb->st_mtim.tv_nsec;
}

/* Maps PATH-index if it is there and well formed (s->index_valid); absence is not an error. */
static void index_map(sq *s)
{
    char path[STRAIN_STORE_PATH_MAX + 16];
    struct stat sb;
    strain_sqlite__index_unmap(s);
    memset(s->index_file_id, 0, sizeof(s->index_file_id));
    index_path(s, path, sizeof(path), "");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return;
    }
    file_id(&sb, s->index_file_id);
    if (S_ISREG(sb.st_mode) && sb.st_size >= (off_t)FIDX_HEADER) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            s->index_map = m;
            s->index_len = (size_t)sb.st_size;
            s->index_valid = fidx_open(&s->index, m, (uint64_t)sb.st_size);
        }
    }
    close(fd);
}

static int meta_get(sq *s, const char *key, uint64_t *out)
{
    sqlite3_stmt *st;
    int err;
    int rc;
    *out = 0;
    STRAIN_TRY(strain_sqlite__stmt(s, &st, "SELECT value FROM store_meta WHERE key = ?"));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    } else if (rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "reading the store's generation");
    }
    sqlite3_reset(st);
done:
    return err;
}

int strain_sqlite__index_current(sq *s, bool *out)
{
    uint64_t gen;
    uint64_t id;
    int err;
    *out = false;
    STRAIN_TRY(meta_get(s, "data_gen", &gen));
    STRAIN_TRY(meta_get(s, "store_id", &id));
    if (s->index_valid && s->index.generation == gen && s->index.store_id == id) {
        *out = true;
        return STRAIN_OK;
    }
    /* Another process may have compacted since this one mapped (or found no) index: look
     * again when the generation moved or the file is not the one looked at (a stat). */
    char path[STRAIN_STORE_PATH_MAX + 16];
    struct stat sb;
    uint64_t fid[4] = {0, 0, 0, 0};
    index_path(s, path, sizeof(path), "");
    if (stat(path, &sb) == 0) {
        file_id(&sb, fid);
    }
    if (!s->index_looked || s->index_looked_gen != gen ||
        memcmp(fid, s->index_file_id, sizeof(fid)) != 0) {
        s->index_looked = true;
        s->index_looked_gen = gen;
        index_map(s);
        *out = s->index_valid && s->index.generation == gen && s->index.store_id == id;
    }
done:
    return err;
}

/* Per kind, how many features: the index's kind table. */
static int kind_table(sq *s, fidx_kind *kinds, uint32_t *n_kinds, uint64_t *n_keys)
{
    sqlite3_stmt *st;
    int err;
    int rc;
    *n_kinds = 0;
    *n_keys = 0;
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st, "SELECT kind, count(*) FROM feature_df GROUP BY kind ORDER BY kind"));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t kind = sqlite3_column_int64(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        if (*n_kinds == FIDX_MAX_KINDS || kind < 0 || kind > UINT32_MAX || n <= 0) {
            sqlite3_reset(st);
            return strain__fail(s->ctx, STRAIN_ELIMIT,
                                "%s: cannot index features: more than %u kinds or a bad kind",
                                s->path, FIDX_MAX_KINDS);
        }
        kinds[*n_kinds] = (fidx_kind){(uint32_t)kind, *n_keys, (uint64_t)n};
        *n_keys += (uint64_t)n;
        (*n_kinds)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "counting features");
    }
done:
    return err;
}

static void clamp_u32(sqlite3_stmt *st, int col, uint32_t *out)
{
    int64_t v = sqlite3_column_int64(st, col);
    *out = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Fills the mapped image m (size bytes, laid out for n_keys / n_postings) from the tables. */
static int fill(sq *s, uint8_t *m, const fidx *x)
{
    sqlite3_stmt *df;
    sqlite3_stmt *po;
    uint64_t i = 0;
    uint64_t np = 0;
    int err;
    int rc;
    int prc;
    STRAIN_TRY(strain_sqlite__stmt(s, &df,
                                   "SELECT kind, hash, n_samples, n_clean, n_families FROM "
                                   "feature_df ORDER BY kind, hash"));
    if ((err = strain_sqlite__stmt(s, &po,
                                   "SELECT kind, hash, sample_id, payload FROM postings "
                                   "ORDER BY kind, hash, sample_id")) < 0) {
        sqlite3_reset(df);
        return err;
    }
    prc = sqlite3_step(po);
    while ((rc = sqlite3_step(df)) == SQLITE_ROW && i < x->n_keys) {
        int64_t kind = sqlite3_column_int64(df, 0);
        int64_t hash = sqlite3_column_int64(df, 1);
        uint32_t c[3];
        clamp_u32(df, 2, &c[0]);
        clamp_u32(df, 3, &c[1]);
        clamp_u32(df, 4, &c[2]);
        put_u64(m + x->hashes_off + 8 * i, (uint64_t)hash);
        for (int k = 0; k < 3; k++) {
            put_u32(m + x->counts_off + FIDX_COUNT_BYTES * i + 4 * (uint64_t)k, c[k]);
        }
        put_u64(m + x->starts_off + 8 * i, np);
        while (prc == SQLITE_ROW && sqlite3_column_int64(po, 0) == kind &&
               sqlite3_column_int64(po, 1) == hash) {
            if (np == x->n_postings) {
                break;
            }
            put_u64(m + x->postings_off + FIDX_POSTING_BYTES * np,
                    (uint64_t)sqlite3_column_int64(po, 2));
            put_u64(m + x->postings_off + FIDX_POSTING_BYTES * np + 8,
                    (uint64_t)sqlite3_column_int64(po, 3));
            np++;
            prc = sqlite3_step(po);
        }
        i++;
    }
    /* Both tables are walked in the same key order; a posting left over, or a count that is
     * not the rows', means the counters disagree with the postings. */
    if (rc == SQLITE_ROW || prc == SQLITE_ROW || i != x->n_keys || np != x->n_postings) {
        err = strain__fail(s->ctx, STRAIN_ESTORE,
                           "%s: feature counts disagree with the postings; run strain db check",
                           s->path);
    } else if ((rc != SQLITE_DONE && rc != SQLITE_ROW) || (prc != SQLITE_DONE)) {
        err = strain_sqlite__fail(s, "reading features for the index");
    }
    put_u64(m + x->starts_off + 8 * x->n_keys, np);
    sqlite3_reset(df);
    sqlite3_reset(po);
done:
    return err;
}

/* Writes the index of the current snapshot to tmp (created, sized, mapped, filled, synced). */
static int write_index(sq *s, const char *tmp)
{
    fidx x;
    uint64_t gen;
    uint64_t size;
    uint8_t *m = MAP_FAILED;
    int fd = -1;
    int err;
    memset(&x, 0, sizeof(x));
    STRAIN_TRY(meta_get(s, "data_gen", &gen));
    STRAIN_TRY(meta_get(s, "store_id", &x.store_id));
    STRAIN_TRY(meta_get(s, "postings", &x.n_postings));
    STRAIN_TRY(kind_table(s, x.kinds, &x.n_kinds, &x.n_keys));
    STRAIN_TRY(
        strain_sqlite__sample_counts(s, &x.n_samples, &x.n_families, &x.n_actors, &x.n_clean));
    if (!fidx_layout(x.n_kinds, x.n_keys, x.n_postings, &x.hashes_off, &x.counts_off, &x.starts_off,
                     &x.postings_off, &size) ||
        size > (uint64_t)SIZE_MAX) {
        return strain__fail(s->ctx, STRAIN_ELIMIT, "%s: too many features to index", s->path);
    }
    /* readable by whoever can read the database, no more */
    struct stat db;
    mode_t mode = stat(s->path, &db) == 0 ? (db.st_mode & 0666) : 0600;
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd >= 0) {
        fchmod(fd, mode); /* an old temporary file keeps its mode through O_TRUNC */
    }
    /* The blocks are allocated before the map is written: a full disk is then an error here,
     * not a SIGBUS on a store into a hole of a sparse file. */
    int rc = 0;
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
        rc = errno;
    } else if ((rc = posix_fallocate(fd, 0, (off_t)size)) == 0 &&
               (m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
                   MAP_FAILED) {
        rc = errno;
    }
    if (rc != 0) {
        err = strain__fail(s->ctx, STRAIN_ESTORE, "%s: cannot write the read index: %s", tmp,
                           strerror(rc));
        goto done;
    }
    memcpy(m, FIDX_MAGIC, 8);
    put_u32(m + 8, FIDX_VERSION);
    put_u32(m + 12, x.n_kinds);
    put_u64(m + 16, x.store_id);
    put_u64(m + 24, gen);
    put_u64(m + 32, x.n_keys);
    put_u64(m + 40, x.n_postings);
    put_u64(m + 48, size);
    put_u64(m + 56, x.n_samples);
    put_u64(m + 64, x.n_families);
    put_u64(m + 72, x.n_actors);
    put_u64(m + 80, x.n_clean);
    for (uint32_t i = 0; i < x.n_kinds; i++) {
        uint8_t *p = m + FIDX_HEADER + (uint64_t)i * FIDX_KIND_BYTES;
        put_u32(p, x.kinds[i].kind);
        put_u64(p + 8, x.kinds[i].first);
        put_u64(p + 16, x.kinds[i].count);
    }
    STRAIN_TRY(fill(s, m, &x));
    if (msync(m, (size_t)size, MS_SYNC) != 0 || fsync(fd) != 0) {
        err = strain__fail(s->ctx, STRAIN_ESTORE, "%s: cannot sync the read index: %s", tmp,
                           strerror(errno));
    }
done:
    if (m != MAP_FAILED) {
        munmap(m, (size_t)size);
    }
    if (fd >= 0) {
        close(fd);
    }
    return err;
}

int strain_sqlite__index_build(sq *s)
{
    char tmp[STRAIN_STORE_PATH_MAX + 16];
    char path[STRAIN_STORE_PATH_MAX + 16];
    int err;
    index_path(s, tmp, sizeof(tmp), ".tmp");
    index_path(s, path, sizeof(path), "");
    /* one read transaction: the counts, postings and generation of one snapshot */
    STRAIN_TRY(strain_sqlite__exec(s, "BEGIN"));
    err = write_index(s, tmp);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (err >= 0 && rename(tmp, path) != 0) {
        err = strain__fail(s->ctx, STRAIN_ESTORE, "%s: cannot install the read index: %s", path,
                           strerror(errno));
    }
    if (err < 0) {
        unlink(tmp);
        return err;
    }
    s->index_looked = false;
    index_map(s);
done:
    return err;
}

uint64_t strain_sqlite__index_bytes(const sq *s)
{
    char path[STRAIN_STORE_PATH_MAX + 16];
    struct stat sb;
    index_path(s, path, sizeof(path), "");
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

int strain_sqlite__index_df(sq *s, strain_store_df *out, const strain_store_key *keys,
                            size_t n_keys)
{
    for (size_t k = 0; k < n_keys; k++) {
        uint64_t pos;
        memset(&out[k], 0, sizeof(out[k]));
        out[k].kind = keys[k].kind;
        out[k].hash = keys[k].hash;
        out[k].families_counted = true;
        if (fidx_find(&s->index, keys[k].kind, keys[k].hash, &pos)) {
            fidx_counts(&s->index, pos, &out[k].n_samples, &out[k].n_clean, &out[k].n_families);
        }
    }
    return STRAIN_OK;
}

int strain_sqlite__index_lookup(sq *s, strain_store_posting **out, size_t *out_n,
                                const strain_store_key *keys, size_t n_keys, uint32_t max_df)
{
    strain_store_posting *res = NULL;
    size_t n = 0;
    size_t cap = 0;
    for (size_t k = 0; k < n_keys; k++) {
        uint64_t pos;
        uint64_t first;
        uint64_t cnt;
        uint32_t ns;
        uint32_t nc;
        uint32_t nf;
        if (!fidx_find(&s->index, keys[k].kind, keys[k].hash, &pos)) {
            continue;
        }
        fidx_counts(&s->index, pos, &ns, &nc, &nf);
        if (ns > max_df) {
            continue;
        }
        if (!fidx_postings(&s->index, pos, &first, &cnt)) {
            free(res);
            return strain__fail(s->ctx, STRAIN_ESTORE,
                                "%s-index: damaged read index; run strain db compact", s->path);
        }
        if (cnt > STRAIN_STORE_MAX_RESULTS - n) {
            free(res);
            return strain__fail(s->ctx, STRAIN_ELIMIT,
                                "%s: lookup returns more than STRAIN_STORE_MAX_RESULTS (%u) "
                                "postings; pass a smaller max_df",
                                s->path, STRAIN_STORE_MAX_RESULTS);
        }
        if (n + cnt > cap) {
            size_t ncap = cap ? cap : 1024;
            while (ncap < n + cnt) {
                ncap *= 2;
            }
            strain_store_posting *r = realloc(res, ncap * sizeof(*r));
            if (r == NULL) {
                free(res);
                return strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
            }
            res = r;
            cap = ncap;
        }
        for (uint64_t i = 0; i < cnt; i++) {
            strain_store_posting *p = &res[n++];
            p->kind = keys[k].kind;
            p->hash = keys[k].hash;
            fidx_posting(&s->index, first + i, &p->sample_id, &p->payload);
        }
    }
    *out = res;
    *out_n = n;
    return STRAIN_OK;
}

/* Every feature and posting of the tables against the index, when it is current: a check may
 * be slow (one pass over both tables, a binary search per feature). */
static int check_snapshot(sq *s)
{
    sqlite3_stmt *df;
    sqlite3_stmt *po;
    bool current;
    uint64_t seen = 0;
    int err;
    int rc = SQLITE_DONE;
    int prc;
    STRAIN_TRY(strain_sqlite__index_current(s, &current));
    if (!current) {
        return STRAIN_OK;
    }
    STRAIN_TRY(strain_sqlite__stmt(s, &df,
                                   "SELECT kind, hash, n_samples, n_clean, n_families FROM "
                                   "feature_df ORDER BY kind, hash"));
    if ((err = strain_sqlite__stmt(s, &po,
                                   "SELECT kind, hash, sample_id, payload FROM postings "
                                   "ORDER BY kind, hash, sample_id")) < 0) {
        sqlite3_reset(df);
        return err;
    }
    prc = sqlite3_step(po);
    while (err >= 0 && (rc = sqlite3_step(df)) == SQLITE_ROW) {
        uint32_t kind = (uint32_t)sqlite3_column_int64(df, 0);
        uint64_t hash = (uint64_t)sqlite3_column_int64(df, 1);
        uint32_t c[3];
        uint32_t x[3];
        uint64_t pos;
        uint64_t first;
        uint64_t n;
        clamp_u32(df, 2, &c[0]);
        clamp_u32(df, 3, &c[1]);
        clamp_u32(df, 4, &c[2]);
        if (!fidx_find(&s->index, kind, hash, &pos) || !fidx_postings(&s->index, pos, &first, &n)) {
            err = -1;
            break;
        }
        fidx_counts(&s->index, pos, &x[0], &x[1], &x[2]);
        err = memcmp(c, x, sizeof(c)) == 0 ? STRAIN_OK : -1;
        for (uint64_t i = 0; err >= 0 && i < n; i++) {
            int64_t id;
            uint64_t payload;
            fidx_posting(&s->index, first + i, &id, &payload);
            if (prc != SQLITE_ROW || (uint32_t)sqlite3_column_int64(po, 0) != kind ||
                (uint64_t)sqlite3_column_int64(po, 1) != hash ||
                sqlite3_column_int64(po, 2) != id ||
                (uint64_t)sqlite3_column_int64(po, 3) != payload) {
                err = -1;
            }
            prc = sqlite3_step(po);
        }
        seen++;
    }
    sqlite3_reset(df);
    sqlite3_reset(po);
    if (err >= 0 &&
        ((rc != SQLITE_DONE && rc != SQLITE_ROW) || (prc != SQLITE_DONE && prc != SQLITE_ROW))) {
        return strain_sqlite__fail(s, "checking the read index");
    }
    if (err < 0 || prc == SQLITE_ROW || seen != s->index.n_keys) {
        return strain__fail(
            s->ctx, STRAIN_ESTORE,
            "%s-index: the read index disagrees with the tables (at feature %" PRIu64
            "); strain db compact rewrites it",
            s->path, seen);
    }
done:
    return err;
}

int strain_sqlite__index_check(sq *s)
{
    int err;
    /* one read transaction: the generation and the rows of one snapshot */
    if (!s->in_txn) {
        STRAIN_TRY(strain_sqlite__exec(s, "BEGIN"));
    }
    err = check_snapshot(s);
    if (!s->in_txn) {
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    }
done:
    return err;
}
