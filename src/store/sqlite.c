/*
 * The SQLite backend: one database file, opened in WAL mode so that queries read a stable
 * snapshot while one writer adds samples, with foreign keys enforced and a busy timeout so
 * concurrent writers queue instead of failing.
 *
 * Durability: synchronous=NORMAL in WAL mode. A COMMIT appends the transaction's pages and a
 * commit frame to the -wal file with write(2) before it returns; only checkpoints fsync. Once
 * write(2) has returned, the bytes are in the kernel's page cache, which belongs to no process:
 * a SIGKILL (or crash, or OOM kill) of strain at any later moment cannot take them back, and
 * the next opener replays the WAL up to the last complete commit frame (frames carry
 * checksums, so a half-written transaction is ignored). So every commit that returned
 * survives the process dying, which tests/unit/store/test_store_crash.c checks by killing real
 * processes. What NORMAL does not survive is the machine losing power or the kernel crashing
 * before the page cache reaches the disk: then the last transactions may roll back (the file
 * stays consistent, never corrupt). A reference corpus is re-buildable and `strain add` is
 * idempotent, so we trade that for not paying an fsync per sample; STRAIN_STORE_SYNC_FULL
 * selects synchronous=FULL (fsync of the WAL at every commit) for callers who need it.
 *
 * A reference database may come from someone else: it is opened with SQLite's defensive mode
 * and trusted_schema off, so a crafted schema cannot call functions from views or triggers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/sqlite_impl.h"
#include "util/err.h"

int strain_sqlite__fail(sq *s, const char *what)
{
    int code = s->db != NULL ? sqlite3_extended_errcode(s->db) : 0;
    const char *msg = s->db != NULL ? sqlite3_errmsg(s->db) : "cannot open";
    if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
        return strain__fail(s->ctx, STRAIN_ESTORE,
                            "%s: %s: database is locked by another process (%s)", s->path, what,
                            msg);
    }
    return strain__fail(s->ctx, STRAIN_ESTORE, "%s: %s: %s", s->path, what, msg);
}

int strain_sqlite__stmt(sq *s, sqlite3_stmt **out, const char *sql)
{
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < s->n_cache; i++) {
        if (s->cache[i].sql == sql) {
            sqlite3_reset(s->cache[i].stmt);
            sqlite3_clear_bindings(s->cache[i].stmt);
            *out = s->cache[i].stmt;
            return STRAIN_OK;
        }
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, "preparing a statement");
    }
    if (s->n_cache < SQ_STMT_CACHE) {
        s->cache[s->n_cache].sql = sql;
        s->cache[s->n_cache].stmt = st;
        s->n_cache++;
    } else {
        /* The cache is sized for every statement in the backend; running out is a bug. */
        sqlite3_finalize(st);
        return strain__fail(s->ctx, STRAIN_ERROR, "%s: statement cache full", s->path);
    }
    *out = st;
    return STRAIN_OK;
}

int strain_sqlite__exec(sq *s, const char *sql)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, sql);
    }
    return STRAIN_OK;
}

int strain_sqlite__step_done(sq *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int err = STRAIN_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        err = strain_sqlite__fail(s, what);
    }
    sqlite3_reset(st);
    return err;
}

int strain_sqlite__step_id(sq *s, sqlite3_stmt *st, const char *what, int64_t *out_id)
{
    int err = STRAIN_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out_id = sqlite3_column_int64(st, 0);
    } else {
        err = strain_sqlite__fail(s, what);
    }
    sqlite3_reset(st);
    return err;
}

int strain_sqlite__bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL || v[0] == '\0') {
        return sqlite3_bind_null(st, i);
    }
    return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int strain_sqlite__op_begin(sq *s)
{
    if (s->in_txn) {
        if (s->aborted) {
            return strain__fail(s->ctx, STRAIN_ESTORE,
                                "%s: the transaction was aborted by an earlier error; roll it "
                                "back",
                                s->path);
        }
        return STRAIN_OK;
    }
    return strain_sqlite__exec(s, "BEGIN IMMEDIATE");
}

int strain_sqlite__op_end(sq *s, int err)
{
    if (s->in_txn) {
        /* Not found is detected before anything changes; any other failure may have left
         * the call half done, so the whole transaction is aborted (as PostgreSQL does). */
        if (err < 0 && err != STRAIN_ENOTFOUND) {
            s->aborted = true;
        }
        return err;
    }
    if (err >= 0) {
        int c = strain_sqlite__exec(s, "COMMIT");
        if (c >= 0) {
            return err;
        }
        err = c;
    }
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return err;
}

int strain_sqlite__meta_add(sq *s, const char *key, int64_t delta)
{
    sqlite3_stmt *st;
    int err;
    if (delta == 0) {
        return STRAIN_OK;
    }
    /* an upsert: a counter missing from the row set (a database migrated by a development
     * build) starts counting instead of silently staying put */
    STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                   "INSERT INTO store_meta(key, value) VALUES(?1, ?2) "
                                   "ON CONFLICT(key) DO UPDATE SET value = value + ?2"));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, delta);
    err = strain_sqlite__step_done(s, st, "updating counters");
done:
    return err;
}

/* mkdir -p of the folder holding path. */
static int make_parents(sq *s, const char *path)
{
    char *dir = strdup(path);
    int err = STRAIN_OK;
    if (dir == NULL) {
        return strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; *p != '\0'; p++) {
            if (*p == '/') {
                *p = '\0';
                if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                    break; /* reported below by the final mkdir or by sqlite3_open */
                }
                *p = '/';
            }
        }
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            err = strain__fail(s->ctx, STRAIN_ESTORE, "%s: cannot create folder %s: %s", path, dir,
                               strerror(errno));
        }
    }
    free(dir);
    return err;
}

static int pragma_text(sq *s, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    out[0] = '\0';
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STRAIN_OK : strain_sqlite__fail(s, sql);
}

static void sq_close(void *be)
{
    sq *s = be;
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n_cache; i++) {
        sqlite3_finalize(s->cache[i].stmt);
    }
    if (s->db != NULL && !sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close_v2(s->db);
    strain_sqlite__index_unmap(s);
    free(s->path);
    free(s);
}

static int sq_open(void **out, strain_ctx *ctx, const char *path, unsigned flags)
{
    sq *s = calloc(1, sizeof(*s));
    struct stat sb;
    char mode[32];
    int oflags = SQLITE_OPEN_NOMUTEX; /* one connection per thread (store.h) */
    int have = 0;
    int err;
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    s->ctx = ctx;
    s->flags = flags;
    if (stat(path, &sb) != 0) {
        if (!(flags & STRAIN_STORE_CREATE)) {
            err = strain__fail(ctx, STRAIN_ENOTFOUND, "%s: no database here", path);
            goto done;
        }
        STRAIN_TRY(make_parents(s, path));
    } else if (!S_ISREG(sb.st_mode)) {
        err = strain__fail(ctx, STRAIN_ESTORE, "%s: not a regular file", path);
        goto done;
    }
    if (flags & STRAIN_STORE_READONLY) {
        oflags |= SQLITE_OPEN_READONLY;
    } else {
        oflags |= SQLITE_OPEN_READWRITE | ((flags & STRAIN_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
    }
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        err = strain_sqlite__fail(s, "opening");
        goto done;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    /* Writers queue behind each other for up to 10 s (a sample's commit takes milliseconds;
     * a long migration or bulk import of another process may hold the lock longer). */
    sqlite3_busy_timeout(s->db, 10000);
    /* Reading the version is the first access to the file: a file that is not a SQLite
     * database fails here with a clear message. */
    if ((err = strain_sqlite__user_version(s, &have)) < 0) {
        goto done;
    }
    if (have == 0 && !(flags & STRAIN_STORE_READONLY)) {
        /* Before the first table: 4 KiB pages match the OS page and SSD sector; posting rows
         * are ~20 bytes, so larger pages buy nothing for point lookups (bench/store.sh). */
        STRAIN_TRY(strain_sqlite__exec(s, "PRAGMA page_size = 4096"));
    }
    if (!(flags & STRAIN_STORE_READONLY)) {
        STRAIN_TRY(pragma_text(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode)));
        if (strcmp(mode, "wal") != 0) {
            err = strain__fail(ctx, STRAIN_ESTORE, "%s: cannot switch to WAL mode (got %s)", path,
                               mode);
            goto done;
        }
    }
    STRAIN_TRY(strain_sqlite__exec(s, (flags & STRAIN_STORE_SYNC_FULL)
                                          ? "PRAGMA synchronous = FULL"
                                          : "PRAGMA synchronous = NORMAL"));
    /* 64 MiB of page cache (allocated as used): the postings b-tree's inner pages for a
     * 100k-sample corpus fit, so a lookup costs about one leaf read. Reads through a memory
     * map (up to 1 GiB; writes still go through the WAL): a query's thousands of posting and
     * df reads no longer copy each page with pread (measured: 20 leveldown queries against
     * the public-corpus index, 1.67 -> 1.44 CPU s). */
    STRAIN_TRY(strain_sqlite__exec(s, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;"
                                      "PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 1073741824"));
    STRAIN_TRY(strain_sqlite__migrate(s, strain_sqlite__schema_latest()));
    *out = s;
    s = NULL;
    err = STRAIN_OK;
done:
    sq_close(s);
    return err;
}

static int sq_begin(void *be)
{
    sq *s = be;
    int err = strain_sqlite__exec(s, "BEGIN IMMEDIATE");
    if (err == 0) {
        s->in_txn = true;
        s->aborted = false;
    }
    return err;
}

static int sq_commit(void *be)
{
    sq *s = be;
    int err;
    if (s->aborted) {
        s->in_txn = false;
        s->aborted = false;
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return strain__fail(s->ctx, STRAIN_ESTORE,
                            "%s: transaction rolled back: it was aborted by an earlier error",
                            s->path);
    }
    err = strain_sqlite__exec(s, "COMMIT");
    s->in_txn = false;
    if (err < 0 && !sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return err;
}

static int sq_rollback(void *be)
{
    sq *s = be;
    s->in_txn = false;
    s->aborted = false;
    if (sqlite3_get_autocommit(s->db)) {
        return STRAIN_OK; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    }
    return strain_sqlite__exec(s, "ROLLBACK");
}

int strain_sqlite__count(sq *s, const char *sql, uint64_t *out)
{
    sqlite3_stmt *st;
    int err;
    STRAIN_TRY(strain_sqlite__stmt(s, &st, sql));
    if (sqlite3_step(st) != SQLITE_ROW) {
        err = strain_sqlite__fail(s, "counting");
    } else {
        sqlite3_int64 v = sqlite3_column_int64(st, 0);
        *out = v > 0 ? (uint64_t)v : 0;
    }
    sqlite3_reset(st);
done:
    return err;
}

int strain_sqlite__sample_counts(sq *s, uint64_t *samples, uint64_t *families, uint64_t *actors,
                                 uint64_t *clean)
{
    int err;
    if ((err = strain_sqlite__count(s, "SELECT count(*) FROM samples", samples)) >= 0 &&
        (err = strain_sqlite__count(s, "SELECT count(DISTINCT family) FROM samples", families)) >=
            0 &&
        (err = strain_sqlite__count(s, "SELECT count(DISTINCT actor) FROM samples", actors)) >= 0) {
        err = strain_sqlite__count(s, "SELECT count(*) FROM samples WHERE clean = 1", clean);
    }
    return err;
}

static uint64_t file_size(const char *path, const char *suffix)
{
    char buf[STRAIN_STORE_PATH_MAX + 8];
    struct stat sb;
    snprintf(buf, sizeof(buf), "%s%s", path, suffix);
    return stat(buf, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static int sq_stats(void *be, strain_store_stats *out)
{
    sq *s = be;
    int err;
    /* Read in one transaction so the counts agree with each other while a writer runs. */
    if (!s->in_txn) {
        STRAIN_TRY(strain_sqlite__exec(s, "BEGIN"));
    }
    /* The sample counts are scans (O(samples): 4 ms of a query at 30,000 samples); a current
     * read index holds them for this snapshot. */
    err = strain_sqlite__index_current(s, &out->index_current);
    if (err >= 0 && out->index_current) {
        out->samples = s->index.n_samples;
        out->families = s->index.n_families;
        out->actors = s->index.n_actors;
        out->clean = s->index.n_clean;
    } else if (err >= 0) {
        err = strain_sqlite__sample_counts(s, &out->samples, &out->families, &out->actors,
                                           &out->clean);
    }
    if (err >= 0 &&
        (err = strain_sqlite__count(s, "SELECT value FROM store_meta WHERE key = 'postings'",
                                    &out->postings)) >= 0 &&
        (err =
             strain_sqlite__count(s, "SELECT value FROM store_meta WHERE key = 'distinct_features'",
                                  &out->distinct_features)) >= 0 &&
        (err = strain_sqlite__count(s, "SELECT count(*) FROM certificates", &out->certificates)) >=
            0) {
        int v = 0;
        err = strain_sqlite__user_version(s, &v);
        out->schema_version = v;
    }
    if (!s->in_txn) {
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    }
    out->index_bytes = strain_sqlite__index_bytes(s);
    out->bytes_on_disk = file_size(s->path, "") + file_size(s->path, "-wal") +
                         file_size(s->path, "-shm") + out->index_bytes;
done:
    return err;
}

/* Runs a check query whose rows are problems; the first one becomes the message. */
static int check_rows(sq *s, const char *sql, const char *ok_text, const char *what)
{
    sqlite3_stmt *st = NULL;
    int err = STRAIN_OK;
    int rc;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, what);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (ok_text == NULL || t == NULL || strcmp((const char *)t, ok_text) != 0) {
            err = strain__fail(s->ctx, STRAIN_ESTORE, "%s: %s: %s", s->path, what,
                               t != NULL ? (const char *)t : "(null)");
        }
    } else if (rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, what);
    }
    sqlite3_finalize(st);
    return err;
}

static int sq_check(void *be)
{
    sq *s = be;
    int err;
    STRAIN_TRY(check_rows(s, "PRAGMA integrity_check", "ok", "integrity check"));
    STRAIN_TRY(check_rows(s,
                          "SELECT 'table ' || \"table\" || ' row ' || rowid FROM "
                          "pragma_foreign_key_check",
                          NULL, "foreign key check"));
    /* The store's own invariants: every sample's postings are all there (sample_keys says how
     * many), the counters match the rows. Full scans: a check is allowed to be slow. */
    STRAIN_TRY(check_rows(
        s,
        "SELECT 'sample ' || k.sample_id || ' lists ' || k.n_postings || ' postings, holds ' || "
        "coalesce(c.n, 0) FROM sample_keys k LEFT JOIN (SELECT sample_id, count(*) AS n FROM "
        "postings GROUP BY sample_id) c ON c.sample_id = k.sample_id "
        "WHERE coalesce(c.n, 0) != k.n_postings OR length(k.keys) != 12 * k.n_postings",
        NULL, "postings check"));
    STRAIN_TRY(check_rows(
        s,
        "SELECT 'postings without a sample: ' || count(*) FROM postings WHERE sample_id NOT IN "
        "(SELECT sample_id FROM sample_keys) HAVING count(*) > 0",
        NULL, "postings check"));
    STRAIN_TRY(check_rows(
        s,
        "SELECT 'counters say ' || (SELECT value FROM store_meta WHERE key = 'postings') || "
        "' postings and ' || (SELECT value FROM store_meta WHERE key = 'distinct_features') || "
        "' features; tables hold ' || (SELECT count(*) FROM postings) || ' and ' || "
        "(SELECT count(*) FROM feature_df) WHERE (SELECT value FROM store_meta WHERE key = "
        "'postings') != (SELECT count(*) FROM postings) OR (SELECT value FROM store_meta WHERE "
        "key = 'distinct_features') != (SELECT count(*) FROM feature_df)",
        NULL, "counter check"));
    STRAIN_TRY(check_rows(
        s,
        "SELECT 'feature ' || d.kind || ':' || d.hash || ' counts ' || d.n_samples || '/' || "
        "d.n_clean || ', postings say ' || count(p.sample_id) || '/' || "
        "coalesce(sum(sm.clean), 0) FROM feature_df d LEFT JOIN postings p ON p.kind = d.kind "
        "AND p.hash = d.hash LEFT JOIN samples sm ON sm.id = p.sample_id GROUP BY d.kind, "
        "d.hash HAVING count(p.sample_id) != d.n_samples OR coalesce(sum(sm.clean), 0) != "
        "d.n_clean",
        NULL, "document frequency check"));
    STRAIN_TRY(check_rows(
        s,
        "SELECT 'feature ' || kind || ':' || hash || ' family ' || family || ' counts ' || n || "
        "', postings say ' || m FROM (SELECT f.kind, f.hash, f.family, f.n_samples AS n, "
        "(SELECT count(*) FROM postings p JOIN samples sm ON sm.id = p.sample_id WHERE p.kind "
        "= f.kind AND p.hash = f.hash AND sm.clean = 0 AND sm.family = f.family) AS m FROM "
        "feature_families f) WHERE n != m UNION ALL SELECT 'feature ' || d.kind || ':' || "
        "d.hash || ' counts ' || d.n_families || ' families, postings say ' || count(DISTINCT "
        "sm.family) FROM feature_df d LEFT JOIN postings p ON p.kind = d.kind AND p.hash = "
        "d.hash LEFT JOIN samples sm ON sm.id = p.sample_id AND sm.clean = 0 GROUP BY d.kind, "
        "d.hash HAVING count(DISTINCT sm.family) != d.n_families",
        NULL, "family count check"));
    STRAIN_TRY(strain_sqlite__index_check(s));
done:
    return err;
}

/* VACUUM rebuilds the file table by table, in key order (the postings and feature_df b-trees
 * become runs of consecutive pages, so the kernel's fault-around maps neighbours a query
 * reads next). In WAL mode the rebuilt pages land in the -wal file: the checkpoint copies
 * them back so that readers do not look every page up in the WAL index. */
static int sq_compact(void *be)
{
    sq *s = be;
    int err;
    if (s->flags & STRAIN_STORE_READONLY) {
        return strain__fail(s->ctx, STRAIN_EINVAL, "%s: cannot compact a store opened read-only",
                            s->path);
    }
    if (s->in_txn) {
        return strain__fail(s->ctx, STRAIN_ESTORE,
                            "%s: cannot compact inside a transaction; commit it first", s->path);
    }
    STRAIN_TRY(strain_sqlite__exec(s, "VACUUM"));
    /* A reader holding an old snapshot can keep the checkpoint from finishing (it reports
     * busy, not an error): the data is committed either way and a later checkpoint ends it. */
    STRAIN_TRY(strain_sqlite__exec(s, "PRAGMA wal_checkpoint(TRUNCATE)"));
    STRAIN_TRY(strain_sqlite__index_build(s));
done:
    return err;
}

const strain_store_ops strain_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .put_sample = strain_sqlite__put_sample,
    .get_sample = strain_sqlite__get_sample,
    .list = strain_sqlite__list,
    .label = strain_sqlite__label,
    .remove = strain_sqlite__remove,
    .stats = sq_stats,
    .check = sq_check,
    .compact = sq_compact,
    .put_features = strain_sqlite__put_features,
    .get_genome = strain_sqlite__get_genome,
    .lookup = strain_sqlite__lookup,
    .df = strain_sqlite__df,
    .put_cert = strain_sqlite__put_cert,
    .link_cert = strain_sqlite__link_cert,
    .get_cert = strain_sqlite__get_cert,
    .sample_certs = strain_sqlite__sample_certs,
    .cert_samples = strain_sqlite__cert_samples,
    .link_cert_info = strain_sqlite__link_cert_info,
    .cert_links = strain_sqlite__cert_links,
    .list_certs = strain_sqlite__list_certs,
    .put_abused = strain_sqlite__put_abused,
    .list_abused = strain_sqlite__list_abused,
};
