/*
 * Private to the SQLite backend (src/store/sqlite*.c, schema_sqlite.c): the connection
 * state, the prepared-statement cache and the helpers every file of the backend shares.
 */
#ifndef STRAIN_STORE_SQLITE_IMPL_H
#define STRAIN_STORE_SQLITE_IMPL_H

#include <sqlite3.h>

#include "store/feature_index.h"
#include "store/store_impl.h"

/* Hot statements are prepared once per connection and reused (the SQL text's address is the
 * key, so every statement is a string literal at its one place of use). */
#define SQ_STMT_CACHE 64

typedef struct sq {
    sqlite3 *db;
    strain_ctx *ctx;
    char *path;
    unsigned flags;
    bool in_txn;  /* an explicit strain_store_begin() is open */
    bool aborted; /* a call failed inside it: only rollback is possible */
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[SQ_STMT_CACHE];
    size_t n_cache;
    /* The read index (sqlite_index.c): PATH-index mapped read-only, its checked view, and
     * the database generation and file identity (dev, inode, size, mtime; 0s when there was
     * no file) at which this connection last looked for it. */
    void *index_map;
    size_t index_len;
    fidx index;
    bool index_valid;
    bool index_looked;
    uint64_t index_looked_gen;
    uint64_t index_file_id[4];
} sq;

/* Records "PATH: what: sqlite's message" and returns STRAIN_ESTORE. */
int strain_sqlite__fail(sq *s, const char *what);
/* A reset, unbound cached statement for sql (a string literal). */
int strain_sqlite__stmt(sq *s, sqlite3_stmt **out, const char *sql);
/* Runs statements without results (sqlite3_exec). */
int strain_sqlite__exec(sq *s, const char *sql);
/* Steps a statement expected to finish without rows (INSERT/UPDATE/DELETE). */
int strain_sqlite__step_done(sq *s, sqlite3_stmt *st, const char *what);
/* Steps a statement that must yield one row and reads its first column as an id. */
int strain_sqlite__step_id(sq *s, sqlite3_stmt *st, const char *what, int64_t *out_id);

/*
 * Every changing call is atomic: outside an explicit transaction it runs in its own
 * BEGIN IMMEDIATE..COMMIT. Inside one it runs in the caller's transaction, and a failure
 * other than "not found" aborts that transaction (only rollback is then accepted), the
 * semantics PostgreSQL has, so backends agree. (A SAVEPOINT per call would keep the
 * transaction usable, but SQLite then journals every page the call touches into an in-memory
 * sub-journal whose truncation walks a linked list: adding one sample with thousands of
 * postings went quadratic, 3 samples/s instead of hundreds.) op_end commits or undoes
 * according to err and returns err (or the commit's failure).
 */
int strain_sqlite__op_begin(sq *s);
int strain_sqlite__op_end(sq *s, int err);

/* The first column of a one-row query as a count (negatives read as 0). */
int strain_sqlite__count(sq *s, const char *sql, uint64_t *out);
/* Samples, distinct families and actors, clean samples: scans of the samples table. */
int strain_sqlite__sample_counts(sq *s, uint64_t *samples, uint64_t *families, uint64_t *actors,
                                 uint64_t *clean);

/* Adds delta to a named counter in store_meta (kept so stats need no full scans). */
int strain_sqlite__meta_add(sq *s, const char *key, int64_t delta);

/* Binds text, or NULL for NULL/"" (empty means unknown/cleared everywhere in the schema). */
int strain_sqlite__bind_text(sqlite3_stmt *st, int i, const char *v);

/* Schema: migrates forward to the latest version (schema_sqlite.c). */
int strain_sqlite__schema_latest(void);
int strain_sqlite__migrate(sq *s, int target);
int strain_sqlite__user_version(sq *s, int *out);

/* Samples (sqlite_samples.c). */
int strain_sqlite__put_sample(void *be, int64_t *out_id, const strain_store_sample *smp);
int strain_sqlite__get_sample(void *be, strain_store_sample **out, const char *sha256, int64_t id);
int strain_sqlite__list(void *be, const strain_store_filter *f, strain_store_sample_cb cb,
                        void *payload);
int strain_sqlite__label(void *be, const char *sha256, const strain_store_label *l);
int strain_sqlite__remove(void *be, const char *sha256);
/* Row of `SELECT <SQ_SAMPLE_COLS> FROM samples` into a new record (strings malloc'd). */
#define SQ_SAMPLE_COLS                                                                             \
    "s.id, s.sha256, s.md5, s.sha1, s.size, s.format, s.arch, s.file_name, s.first_seen, "         \
    "s.added, s.updated, s.imphash, s.ssdeep, s.tlsh, s.pe_timestamp, s.actor, s.family, "         \
    "s.clean, coalesce((SELECT n_postings FROM sample_keys k WHERE k.sample_id = s.id), 0)"
int strain_sqlite__row_sample(sq *s, strain_store_sample **out, sqlite3_stmt *st);

/* Features (sqlite_features.c). */
int strain_sqlite__put_features(void *be, int64_t sample_id, const strain_store_features *f);
int strain_sqlite__get_genome(void *be, void **out, size_t *out_len, uint32_t *out_version,
                              int64_t sample_id);
int strain_sqlite__lookup(void *be, strain_store_posting **out, size_t *out_n,
                          const strain_store_key *keys, size_t n_keys, uint32_t max_df);
int strain_sqlite__df(void *be, strain_store_df *out, const strain_store_key *keys, size_t n_keys,
                      uint32_t family_scan_max);
/* Drops a sample's postings and genome, keeping the counters right (inside an op). */
int strain_sqlite__drop_features(sq *s, int64_t sample_id, int clean);
/* Moves a sample's postings between clean and not clean in the per-feature counters. */
int strain_sqlite__reclean(sq *s, int64_t sample_id, int delta);
/* The columns of a certificate row, in the order strain_sqlite__cert_rows reads them. */
#define CERT_COLS "c.id, c.sha256, c.sha1, c.subject, c.issuer, c.serial, c.not_before, c.not_after"
/* Calls cb for every row of st (a CERT_COLS select), counting them in *out_rows; returns 0,
 * an error, or cb's non-zero value. Resets st. */
int strain_sqlite__cert_rows(sq *s, sqlite3_stmt *st, strain_store_cert_cb cb, void *payload,
                             int *out_rows);
/* The family a sample counts for in the family counts (NULL: clean or unlabelled); *out is
 * malloc'd, caller frees. */
int strain_sqlite__counted_family(sq *s, char **out, int64_t sample_id);
/* Adds (delta 1) or removes (-1) a sample's features from family's counts (family may be
 * NULL: nothing to do). */
int strain_sqlite__refamily(sq *s, int64_t sample_id, const char *family, int delta);

/* The read index (sqlite_index.c). index_current (inside a read transaction): whether the
 * mapped index describes this snapshot; it maps a newer file when another process wrote one.
 * index_build writes it from the current snapshot (outside a transaction) and maps it;
 * index_df/index_lookup serve df and lookup from it (same contracts as the tables). */
int strain_sqlite__index_current(sq *s, bool *out);
int strain_sqlite__index_build(sq *s);
/* With a current index, checks it holds exactly the tables' features (strain_store_check). */
int strain_sqlite__index_check(sq *s);
void strain_sqlite__index_unmap(sq *s);
uint64_t strain_sqlite__index_bytes(const sq *s);
int strain_sqlite__index_df(sq *s, strain_store_df *out, const strain_store_key *keys,
                            size_t n_keys);
int strain_sqlite__index_lookup(sq *s, strain_store_posting **out, size_t *out_n,
                                const strain_store_key *keys, size_t n_keys, uint32_t max_df);

/* Certificates (sqlite_certs.c). */
int strain_sqlite__put_cert(void *be, int64_t *out_id, const strain_store_cert *c);
int strain_sqlite__link_cert(void *be, int64_t sample_id, int64_t cert_id);
int strain_sqlite__get_cert(void *be, const char *thumbprint, strain_store_cert_cb cb,
                            void *payload);
int strain_sqlite__sample_certs(void *be, int64_t sample_id, strain_store_cert_cb cb,
                                void *payload);
int strain_sqlite__cert_samples(void *be, int64_t cert_id, strain_store_sample_cb cb,
                                void *payload);

/* Certificate intelligence: link roles, listing, abused list (sqlite_certinfo.c). */
int strain_sqlite__link_cert_info(void *be, const strain_store_cert_link *l);
int strain_sqlite__cert_links(void *be, int64_t cert_id, strain_store_link_cb cb, void *payload);
int strain_sqlite__list_certs(void *be, strain_store_cert_cb cb, void *payload);
int strain_sqlite__put_abused(void *be, int64_t *out_id, const strain_store_abused *a);
int strain_sqlite__list_abused(void *be, strain_store_abused_cb cb, void *payload);

#endif
