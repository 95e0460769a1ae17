/*
 * SQLite backend: certificates (fed by the Authenticode parser) and which samples they
 * signed. A certificate is keyed by its SHA-256 thumbprint; the same certificate seen in many
 * samples is one row and many links, which is what lets "every sample signed by this
 * stolen certificate" be one indexed query.
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_impl.h"
#include "util/err.h"

static int put_cert_op(sq *s, int64_t *out_id, const strain_store_cert *c)
{
    sqlite3_stmt *st;
    int err;
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st,
        "INSERT INTO certificates(sha256, sha1, subject, issuer, serial, not_before, not_after) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(sha256) DO UPDATE SET "
        "sha1 = coalesce(excluded.sha1, sha1), subject = coalesce(excluded.subject, subject), "
        "issuer = coalesce(excluded.issuer, issuer), serial = coalesce(excluded.serial, serial), "
        "not_before = coalesce(excluded.not_before, not_before), "
        "not_after = coalesce(excluded.not_after, not_after)"));
    strain_sqlite__bind_text(st, 1, c->sha256);
    strain_sqlite__bind_text(st, 2, c->sha1);
    strain_sqlite__bind_text(st, 3, c->subject);
    strain_sqlite__bind_text(st, 4, c->issuer);
    strain_sqlite__bind_text(st, 5, c->serial);
    sqlite3_bind_int64(st, 6, c->not_before);
    sqlite3_bind_int64(st, 7, c->not_after);
    STRAIN_TRY(strain_sqlite__step_done(s, st, "storing a certificate"));
    STRAIN_TRY(strain_sqlite__stmt(s, &st, "SELECT id FROM certificates WHERE sha256 = ?"));
    sqlite3_bind_text(st, 1, c->sha256, -1, SQLITE_STATIC);
    err = strain_sqlite__step_id(s, st, "reading a certificate id", out_id);
done:
    return err;
}

int strain_sqlite__put_cert(void *be, int64_t *out_id, const strain_store_cert *c)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, put_cert_op(s, out_id, c));
}

static int link_op(sq *s, int64_t sample_id, int64_t cert_id)
{
    sqlite3_stmt *st;
    int err;
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st,
        "INSERT OR IGNORE INTO sample_certificates(sample_id, cert_id) SELECT ?1, ?2 WHERE "
        "EXISTS(SELECT 1 FROM samples WHERE id = ?1) AND "
        "EXISTS(SELECT 1 FROM certificates WHERE id = ?2)"));
    sqlite3_bind_int64(st, 1, sample_id);
    sqlite3_bind_int64(st, 2, cert_id);
    STRAIN_TRY(strain_sqlite__step_done(s, st, "linking a certificate"));
    if (sqlite3_changes(s->db) == 0) {
        /* Either already linked (fine) or one side is missing (not found). */
        STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                       "SELECT 1 FROM sample_certificates WHERE sample_id = ? "
                                       "AND cert_id = ?"));
        sqlite3_bind_int64(st, 1, sample_id);
        sqlite3_bind_int64(st, 2, cert_id);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            err =
                strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: no sample %lld or no certificate %lld",
                             s->path, (long long)sample_id, (long long)cert_id);
        } else if (rc != SQLITE_ROW) {
            err = strain_sqlite__fail(s, "linking a certificate");
        }
    }
done:
    return err;
}

int strain_sqlite__link_cert(void *be, int64_t sample_id, int64_t cert_id)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, link_op(s, sample_id, cert_id));
}

int strain_sqlite__cert_rows(sq *s, sqlite3_stmt *st, strain_store_cert_cb cb, void *payload,
                             int *out_rows)
{
    int rc;
    int r = 0;
    *out_rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        strain_store_cert c;
        memset(&c, 0, sizeof(c));
        c.id = sqlite3_column_int64(st, 0);
        snprintf(c.sha256, sizeof(c.sha256), "%s",
                 sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
        snprintf(c.sha1, sizeof(c.sha1), "%s",
                 sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "");
        c.subject = (const char *)sqlite3_column_text(st, 3);
        c.issuer = (const char *)sqlite3_column_text(st, 4);
        c.serial = (const char *)sqlite3_column_text(st, 5);
        c.not_before = sqlite3_column_int64(st, 6);
        c.not_after = sqlite3_column_int64(st, 7);
        (*out_rows)++;
        if ((r = cb(&c, payload)) != 0) {
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = strain_sqlite__fail(s, "reading certificates");
    }
    sqlite3_reset(st);
    return r;
}

int strain_sqlite__get_cert(void *be, const char *thumbprint, strain_store_cert_cb cb,
                            void *payload)
{
    sq *s = be;
    sqlite3_stmt *st;
    int rows = 0;
    int err;
    if (strlen(thumbprint) == 64) {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "SELECT " CERT_COLS " FROM certificates c WHERE c.sha256 = ?"));
    } else {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "SELECT " CERT_COLS " FROM certificates c WHERE c.sha1 = ? ORDER BY c.id"));
    }
    sqlite3_bind_text(st, 1, thumbprint, -1, SQLITE_STATIC);
    err = strain_sqlite__cert_rows(s, st, cb, payload, &rows);
    if (err == 0 && rows == 0) {
        err = strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: no certificate %s", s->path, thumbprint);
    }
done:
    return err;
}

int strain_sqlite__sample_certs(void *be, int64_t sample_id, strain_store_cert_cb cb, void *payload)
{
    sq *s = be;
    sqlite3_stmt *st;
    int rows = 0;
    int err;
    STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                   "SELECT " CERT_COLS " FROM sample_certificates l JOIN "
                                   "certificates c ON c.id = l.cert_id WHERE l.sample_id = ? "
                                   "ORDER BY c.id"));
    sqlite3_bind_int64(st, 1, sample_id);
    err = strain_sqlite__cert_rows(s, st, cb, payload, &rows);
done:
    return err;
}

int strain_sqlite__cert_samples(void *be, int64_t cert_id, strain_store_sample_cb cb, void *payload)
{
    sq *s = be;
    sqlite3_stmt *st = NULL;
    int err = STRAIN_OK;
    int rc;
    int r = 0;
    /* Not cached: row_sample runs cached statements while this one is stepping. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " SQ_SAMPLE_COLS " FROM sample_certificates l JOIN samples s "
                           "ON s.id = l.sample_id WHERE l.cert_id = ? ORDER BY s.id",
                           -1, &st, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, "listing signed samples");
    }
    sqlite3_bind_int64(st, 1, cert_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        strain_store_sample *m = NULL;
        if ((err = strain_sqlite__row_sample(s, &m, st)) < 0) {
            break;
        }
        r = cb(m, payload);
        strain_store__sample_free(m);
        if (r != 0) {
            err = r;
            break;
        }
    }
    if (err == STRAIN_OK && rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "listing signed samples");
    }
    sqlite3_finalize(st);
    return err;
}
