/*
 * SQLite backend: what the certificate intelligence (src/engine/certs*.c) needs beyond plain
 * certificate rows: the role and verdict of each sample<->certificate link, listings of every
 * certificate and of a certificate's links with their samples, and the imported list of
 * abused certificates (schema step 3).
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_impl.h"
#include "util/err.h"

static int link_info_op(sq *s, const strain_store_cert_link *l)
{
    sqlite3_stmt *st;
    int err;
    /* A sample signed twice with the same certificate (nested SHA-1 + SHA-256 signatures)
     * keeps the strongest statement: signer wins over chain, "valid" over anything else. */
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st,
        "INSERT INTO sample_certificates(sample_id, cert_id, signer, verdict, kernel_driver) "
        "SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS(SELECT 1 FROM samples WHERE id = ?1) AND "
        "EXISTS(SELECT 1 FROM certificates WHERE id = ?2) "
        "ON CONFLICT(sample_id, cert_id) DO UPDATE SET "
        "signer = max(coalesce(signer, 0), excluded.signer), "
        "verdict = CASE WHEN excluded.signer > coalesce(signer, 0) THEN excluded.verdict "
        "WHEN excluded.signer < coalesce(signer, 0) THEN verdict "
        "WHEN verdict = 'valid' THEN verdict ELSE coalesce(excluded.verdict, verdict) END, "
        "kernel_driver = max(coalesce(kernel_driver, 0), excluded.kernel_driver)"));
    sqlite3_bind_int64(st, 1, l->sample_id);
    sqlite3_bind_int64(st, 2, l->cert_id);
    sqlite3_bind_int(st, 3, l->signer ? 1 : 0);
    strain_sqlite__bind_text(st, 4, l->verdict);
    sqlite3_bind_int(st, 5, l->kernel_driver ? 1 : 0);
    STRAIN_TRY(strain_sqlite__step_done(s, st, "linking a certificate"));
    if (sqlite3_changes(s->db) == 0) {
        err = strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: no sample %lld or no certificate %lld",
                           s->path, (long long)l->sample_id, (long long)l->cert_id);
    }
done:
    return err;
}

int strain_sqlite__link_cert_info(void *be, const strain_store_cert_link *l)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, link_info_op(s, l));
}

int strain_sqlite__cert_links(void *be, int64_t cert_id, strain_store_link_cb cb, void *payload)
{
    sq *s = be;
    sqlite3_stmt *st = NULL;
    int err = STRAIN_OK;
    int rc;
    /* Not cached: row_sample runs cached statements while this one is stepping. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " SQ_SAMPLE_COLS ", l.signer, l.verdict, l.kernel_driver "
                           "FROM sample_certificates l JOIN samples s ON s.id = l.sample_id "
                           "WHERE l.cert_id = ? ORDER BY s.id",
                           -1, &st, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, "listing certificate links");
    }
    sqlite3_bind_int64(st, 1, cert_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        strain_store_sample *m = NULL;
        strain_store_cert_link l;
        int base = sqlite3_column_count(st) - 3;
        if ((err = strain_sqlite__row_sample(s, &m, st)) < 0) {
            break;
        }
        memset(&l, 0, sizeof(l));
        l.sample_id = m->id;
        l.cert_id = cert_id;
        l.has_info = sqlite3_column_type(st, base) != SQLITE_NULL;
        l.signer = sqlite3_column_int(st, base) != 0;
        l.verdict = sqlite3_column_text(st, base + 1) != NULL
                        ? (const char *)sqlite3_column_text(st, base + 1)
                        : "";
        l.kernel_driver = sqlite3_column_int(st, base + 2) != 0;
        int r = cb(&l, m, payload);
        strain_store__sample_free(m);
        if (r != 0) {
            err = r;
            break;
        }
    }
    if (err == STRAIN_OK && rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "listing certificate links");
    }
    sqlite3_finalize(st);
    return err;
}

int strain_sqlite__list_certs(void *be, strain_store_cert_cb cb, void *payload)
{
    sq *s = be;
    sqlite3_stmt *st = NULL;
    int rows = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT " CERT_COLS " FROM certificates c ORDER BY c.id", -1,
                           &st, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, "listing certificates");
    }
    int r = strain_sqlite__cert_rows(s, st, cb, payload, &rows);
    sqlite3_finalize(st);
    return r;
}

static int put_abused_op(sq *s, int64_t *out_id, const strain_store_abused *a)
{
    sqlite3_stmt *st;
    int err;
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st,
        "INSERT INTO abused_certs(sha1, sha256, serial, issuer, reason, actor, source, note, "
        "added) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, strftime('%s', 'now')) "
        "ON CONFLICT(sha1, sha256, serial, issuer) DO UPDATE SET "
        "reason = coalesce(excluded.reason, reason), actor = coalesce(excluded.actor, actor), "
        "source = coalesce(excluded.source, source), note = coalesce(excluded.note, note)"));
    sqlite3_bind_text(st, 1, a->sha1 ? a->sha1 : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->sha256 ? a->sha256 : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->serial ? a->serial : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->issuer ? a->issuer : "", -1, SQLITE_STATIC);
    strain_sqlite__bind_text(st, 5, a->reason);
    strain_sqlite__bind_text(st, 6, a->actor);
    strain_sqlite__bind_text(st, 7, a->source);
    strain_sqlite__bind_text(st, 8, a->note);
    STRAIN_TRY(strain_sqlite__step_done(s, st, "storing an abused certificate"));
    STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                   "SELECT id FROM abused_certs WHERE sha1 = ?1 AND sha256 = ?2 "
                                   "AND serial = ?3 AND issuer = ?4"));
    sqlite3_bind_text(st, 1, a->sha1 ? a->sha1 : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->sha256 ? a->sha256 : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->serial ? a->serial : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->issuer ? a->issuer : "", -1, SQLITE_STATIC);
    err = strain_sqlite__step_id(s, st, "reading an abused certificate id", out_id);
done:
    return err;
}

int strain_sqlite__put_abused(void *be, int64_t *out_id, const strain_store_abused *a)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, put_abused_op(s, out_id, a));
}

static const char *col_or_null(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t != NULL && t[0] != '\0' ? (const char *)t : NULL;
}

int strain_sqlite__list_abused(void *be, strain_store_abused_cb cb, void *payload)
{
    sq *s = be;
    sqlite3_stmt *st = NULL;
    int rc;
    int r = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, sha1, sha256, serial, issuer, reason, actor, source, note "
                           "FROM abused_certs ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, "listing abused certificates");
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        strain_store_abused a;
        a.id = sqlite3_column_int64(st, 0);
        a.sha1 = col_or_null(st, 1);
        a.sha256 = col_or_null(st, 2);
        a.serial = col_or_null(st, 3);
        a.issuer = col_or_null(st, 4);
        a.reason = col_or_null(st, 5);
        a.actor = col_or_null(st, 6);
        a.source = col_or_null(st, 7);
        a.note = col_or_null(st, 8);
        if ((r = cb(&a, payload)) != 0) {
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = strain_sqlite__fail(s, "listing abused certificates");
    }
    sqlite3_finalize(st);
    return r;
}
