/*
 * The SQLite schema as an ordered list of forward migrations. The database records the last
 * step applied in PRAGMA user_version (one integer in the file header, readable without
 * parsing any table) and each step in schema_migrations (when and what, for people). Steps
 * are append-only: a released step is never edited, a change is a new step. All pending steps
 * run in one transaction, so a process killed mid-migration leaves the old schema intact,
 * and two processes opening an old database at once migrate it once (the second re-reads
 * the version after taking the write lock).
 *
 * Postings are the bulk of the data (thousands per sample), so their table is WITHOUT ROWID
 * keyed (kind, hash, sample_id): the lookup index is the table itself, with no rowid b-tree
 * beside it. They carry no foreign key (a check per posting would cost a samples lookup per
 * row); the backend deletes a sample's postings itself, listed in sample_keys, in the same
 * transaction as the sample.
 */
#include <stdio.h>
#include <time.h>

#include "store/sqlite_impl.h"
#include "util/err.h"

typedef struct migration {
    int version;
    const char *description;
    const char *sql;
} migration;

static const migration migrations[] = {
    {1, "samples, labels, tags, genomes, postings, feature counters",
     "CREATE TABLE schema_migrations("
     "  version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL);"
     "CREATE TABLE store_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
     "INSERT INTO store_meta VALUES('postings', 0), ('distinct_features', 0);"
     "CREATE TABLE samples("
     "  id INTEGER PRIMARY KEY,"
     "  sha256 TEXT NOT NULL UNIQUE CHECK(length(sha256) = 64),"
     "  md5 TEXT, sha1 TEXT, size INTEGER NOT NULL DEFAULT 0,"
     "  format TEXT, arch TEXT, file_name TEXT,"
     "  first_seen INTEGER, added INTEGER NOT NULL, updated INTEGER NOT NULL,"
     "  imphash TEXT, ssdeep TEXT, tlsh TEXT, pe_timestamp INTEGER,"
     "  actor TEXT, family TEXT,"
     "  clean INTEGER NOT NULL DEFAULT 0 CHECK(clean IN (0, 1)));"
     "CREATE INDEX samples_actor ON samples(actor);"
     "CREATE INDEX samples_family ON samples(family);"
     "CREATE INDEX samples_md5 ON samples(md5) WHERE md5 IS NOT NULL;"
     "CREATE INDEX samples_sha1 ON samples(sha1) WHERE sha1 IS NOT NULL;"
     "CREATE INDEX samples_imphash ON samples(imphash) WHERE imphash IS NOT NULL;"
     "CREATE TABLE sample_tags("
     "  sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,"
     "  tag TEXT NOT NULL, PRIMARY KEY(sample_id, tag)) WITHOUT ROWID;"
     "CREATE INDEX sample_tags_tag ON sample_tags(tag);"
     "CREATE TABLE genomes("
     "  sample_id INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,"
     "  version INTEGER NOT NULL, genome BLOB NOT NULL);"
     /* The (kind, hash) keys of a sample's postings, 12 bytes each: what removing or
      * relabelling the sample must touch, without an index on postings(sample_id) that
      * would be as large as the postings themselves. */
     "CREATE TABLE sample_keys("
     "  sample_id INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,"
     "  n_postings INTEGER NOT NULL, keys BLOB NOT NULL);"
     "CREATE TABLE postings("
     "  kind INTEGER NOT NULL, hash INTEGER NOT NULL, sample_id INTEGER NOT NULL,"
     "  payload INTEGER NOT NULL DEFAULT 0,"
     "  PRIMARY KEY(kind, hash, sample_id)) WITHOUT ROWID;"
     /* Per-feature document frequency, maintained on every put/remove/relabel so that
      * rarity is one b-tree probe at query time instead of a count over the postings. */
     "CREATE TABLE feature_df("
     "  kind INTEGER NOT NULL, hash INTEGER NOT NULL,"
     "  n_samples INTEGER NOT NULL, n_clean INTEGER NOT NULL,"
     "  PRIMARY KEY(kind, hash)) WITHOUT ROWID;"},
    {2, "certificates and their links to samples",
     "CREATE TABLE certificates("
     "  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE CHECK(length(sha256) = 64),"
     "  sha1 TEXT, subject TEXT, issuer TEXT, serial TEXT,"
     "  not_before INTEGER, not_after INTEGER);"
     "CREATE INDEX certificates_sha1 ON certificates(sha1) WHERE sha1 IS NOT NULL;"
     "CREATE INDEX certificates_subject ON certificates(subject);"
     "CREATE TABLE sample_certificates("
     "  sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,"
     "  cert_id INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,"
     "  PRIMARY KEY(sample_id, cert_id)) WITHOUT ROWID;"
     "CREATE INDEX sample_certificates_cert ON sample_certificates(cert_id, sample_id);"},
    /* Certificate intelligence: what a link means (signer or chain, the signature's verdict,
     * kernel driver) so findings count only certificates that really signed; NULL on links
     * made before (unknown). The abused list keeps '' for an absent key so the UNIQUE
     * constraint makes a re-import an update, not a duplicate. */
    {3, "certificate link roles and verdicts, abused-certificate list",
     "ALTER TABLE sample_certificates ADD COLUMN signer INTEGER;"
     "ALTER TABLE sample_certificates ADD COLUMN verdict TEXT;"
     "ALTER TABLE sample_certificates ADD COLUMN kernel_driver INTEGER;"
     "CREATE TABLE abused_certs("
     "  id INTEGER PRIMARY KEY,"
     "  sha1 TEXT NOT NULL DEFAULT '', sha256 TEXT NOT NULL DEFAULT '',"
     "  serial TEXT NOT NULL DEFAULT '', issuer TEXT NOT NULL DEFAULT '',"
     "  reason TEXT, actor TEXT, source TEXT, note TEXT, added INTEGER NOT NULL,"
     "  CHECK(sha1 != '' OR sha256 != '' OR (serial != '' AND issuer != '')),"
     "  UNIQUE(sha1, sha256, serial, issuer));"},
    /* Per (feature, family) count of the non-clean samples of that family holding the
     * feature, and per feature the number of such families: maintained on every
     * put/remove/relabel like feature_df, so a query reads a feature's family count in its
     * one feature_df probe instead of joining its postings to their samples (that join was
     * half of a query's own cost, and was skipped, approximated, past 64 samples). */
    {4, "family counts per feature",
     "CREATE TABLE feature_families("
     "  kind INTEGER NOT NULL, hash INTEGER NOT NULL, family TEXT NOT NULL,"
     "  n_samples INTEGER NOT NULL,"
     "  PRIMARY KEY(kind, hash, family)) WITHOUT ROWID;"
     "INSERT INTO feature_families(kind, hash, family, n_samples) "
     "  SELECT p.kind, p.hash, sm.family, count(*) FROM postings p JOIN samples sm "
     "  ON sm.id = p.sample_id WHERE sm.clean = 0 AND sm.family IS NOT NULL "
     "  GROUP BY p.kind, p.hash, sm.family;"
     "ALTER TABLE feature_df ADD COLUMN n_families INTEGER NOT NULL DEFAULT 0;"
     "UPDATE feature_df SET n_families = (SELECT count(*) FROM feature_families f "
     "  WHERE f.kind = feature_df.kind AND f.hash = feature_df.hash);"},
    /* The read index (sqlite_index.c) is a file beside the database: it is used only while
     * the generation it was built at is the database's (every change of features adds one)
     * and it names this database (a random id, so that an index left beside a replaced
     * database file is never read for it). */
    {5, "feature generation and store id for the read index",
     "INSERT INTO store_meta(key, value) VALUES('data_gen', 0), "
     "  ('store_id', random() & 9223372036854775807);"},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

int strain_sqlite__schema_latest(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

int strain_sqlite__user_version(sq *s, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return STRAIN_OK;
    }
    int err = strain_sqlite__fail(s, "reading the schema version");
    sqlite3_finalize(st);
    return err;
}

static int newer_error(sq *s, int have)
{
    return strain__fail(s->ctx, STRAIN_ESTORE,
                        "%s: database schema version %d is newer than this strain supports "
                        "(%d); use a newer strain or another database",
                        s->path, have, strain_sqlite__schema_latest());
}

int strain_sqlite__migrate(sq *s, int target)
{
    int have = 0;
    int err;
    char buf[64];
    STRAIN_TRY(strain_sqlite__user_version(s, &have));
    if (have > strain_sqlite__schema_latest()) {
        return newer_error(s, have);
    }
    if (have >= target) {
        return STRAIN_OK;
    }
    if (s->flags & STRAIN_STORE_READONLY) {
        return strain__fail(s->ctx, STRAIN_ESTORE,
                            "%s: database schema version %d needs upgrading to %d; open it "
                            "read-write once",
                            s->path, have, target);
    }
    STRAIN_TRY(strain_sqlite__exec(s, "BEGIN IMMEDIATE"));
    /* Another process may have migrated while we waited for the lock. */
    if ((err = strain_sqlite__user_version(s, &have)) < 0) {
        goto fail;
    }
    if (have > strain_sqlite__schema_latest()) {
        err = newer_error(s, have);
        goto fail;
    }
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        const migration *m = &migrations[i];
        sqlite3_stmt *st = NULL;
        if (m->version <= have || m->version > target) {
            continue;
        }
        if ((err = strain_sqlite__exec(s, m->sql)) < 0) {
            goto fail;
        }
        if (sqlite3_prepare_v2(s->db,
                               "INSERT INTO schema_migrations(version, description, applied_at) "
                               "VALUES(?, ?, ?)",
                               -1, &st, NULL) != SQLITE_OK) {
            err = strain_sqlite__fail(s, "recording a migration");
            goto fail;
        }
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_text(st, 2, m->description, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
        err = strain_sqlite__step_done(s, st, "recording a migration");
        sqlite3_finalize(st);
        if (err < 0) {
            goto fail;
        }
        snprintf(buf, sizeof(buf), "PRAGMA user_version = %d", m->version);
        if ((err = strain_sqlite__exec(s, buf)) < 0) {
            goto fail;
        }
    }
    if ((err = strain_sqlite__exec(s, "COMMIT")) < 0) {
        goto fail;
    }
    return STRAIN_OK;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
done:
    return err;
}
