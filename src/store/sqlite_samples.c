/*
 * SQLite backend: samples and their labels. A sample row is keyed by its SHA-256; putting a
 * known SHA-256 again updates it in place (metadata fills in what was unknown, labels follow
 * strain_store_label's rules), so re-adding a corpus is idempotent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite_impl.h"
#include "util/err.h"

/* id and clean flag of a sample by sha256; STRAIN_ENOTFOUND when absent. */
static int find_sample(sq *s, int64_t *out_id, int *out_clean, const char *sha256)
{
    sqlite3_stmt *st;
    int err;
    int rc;
    STRAIN_TRY(strain_sqlite__stmt(s, &st, "SELECT id, clean FROM samples WHERE sha256 = ?"));
    sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out_id = sqlite3_column_int64(st, 0);
        *out_clean = sqlite3_column_int(st, 1);
        err = STRAIN_OK;
    } else if (rc == SQLITE_DONE) {
        err = strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: no sample %s", s->path, sha256);
    } else {
        err = strain_sqlite__fail(s, "finding a sample");
    }
    sqlite3_reset(st);
done:
    return err;
}

/* NULL keeps the stored value (bound as NULL); "" clears it (bound as ''; nullif stores NULL). */
static void bind_label_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    }
}

static int apply_label(sq *s, int64_t id, int old_clean, const strain_store_label *l)
{
    sqlite3_stmt *st;
    char *old_family = NULL;
    char *new_family = NULL;
    int err;
    /* samples, actors, families, clean counts may move: the read index stops describing them */
    STRAIN_TRY(strain_sqlite__meta_add(s, "data_gen", 1));
    STRAIN_TRY(strain_sqlite__counted_family(s, &old_family, id));
    STRAIN_TRY(strain_sqlite__stmt(
        s, &st,
        "UPDATE samples SET actor = CASE WHEN ?2 IS NULL THEN actor ELSE nullif(?2, '') END, "
        "family = CASE WHEN ?3 IS NULL THEN family ELSE nullif(?3, '') END, "
        "clean = CASE WHEN ?4 < 0 THEN clean ELSE ?4 END, updated = ?5 WHERE id = ?1"));
    sqlite3_bind_int64(st, 1, id);
    bind_label_text(st, 2, l->actor);
    bind_label_text(st, 3, l->family);
    sqlite3_bind_int(st, 4, l->clean);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
    STRAIN_TRY(strain_sqlite__step_done(s, st, "labelling a sample"));
    if (l->replace_tags) {
        STRAIN_TRY(strain_sqlite__stmt(s, &st, "DELETE FROM sample_tags WHERE sample_id = ?"));
        sqlite3_bind_int64(st, 1, id);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "clearing tags"));
    }
    for (size_t i = 0; i < l->n_tags; i++) {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "INSERT OR IGNORE INTO sample_tags(sample_id, tag) VALUES(?, ?)"));
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, l->tags[i], -1, SQLITE_TRANSIENT);
        STRAIN_TRY(strain_sqlite__step_done(s, st, "tagging a sample"));
    }
    if (l->clean != STRAIN_STORE_KEEP && l->clean != old_clean) {
        STRAIN_TRY(strain_sqlite__reclean(s, id, l->clean - old_clean));
    }
    /* The family this sample counts for (none when clean) may have changed. */
    STRAIN_TRY(strain_sqlite__counted_family(s, &new_family, id));
    if ((old_family == NULL) != (new_family == NULL) ||
        (old_family != NULL && strcmp(old_family, new_family) != 0)) {
        STRAIN_TRY(strain_sqlite__refamily(s, id, old_family, -1));
        STRAIN_TRY(strain_sqlite__refamily(s, id, new_family, 1));
    }
done:
    free(old_family);
    free(new_family);
    return err;
}

static int put_sample_op(sq *s, int64_t *out_id, const strain_store_sample *m)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    int old_clean = 0;
    int err = find_sample(s, &id, &old_clean, m->sha256);
    sqlite3_int64 now = (sqlite3_int64)time(NULL);
    if (err == STRAIN_ENOTFOUND) {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st,
            "INSERT INTO samples(sha256, md5, sha1, size, format, arch, file_name, first_seen, "
            "added, updated, imphash, ssdeep, tlsh, pe_timestamp) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13)"));
    } else if (err < 0) {
        goto done;
    } else {
        /* Known sample: fill in what was unknown, keep the earliest first-seen. */
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st,
            "UPDATE samples SET md5 = coalesce(?2, md5), sha1 = coalesce(?3, sha1), "
            "size = CASE WHEN ?4 > 0 THEN ?4 ELSE size END, format = coalesce(?5, format), "
            "arch = coalesce(?6, arch), file_name = coalesce(?7, file_name), "
            "first_seen = CASE WHEN ?8 IS NULL THEN first_seen WHEN first_seen IS NULL THEN ?8 "
            "ELSE min(first_seen, ?8) END, updated = ?9, imphash = coalesce(?10, imphash), "
            "ssdeep = coalesce(?11, ssdeep), tlsh = coalesce(?12, tlsh), "
            "pe_timestamp = coalesce(?13, pe_timestamp) WHERE id = ?14"));
        sqlite3_bind_int64(st, 14, id);
    }
    strain_sqlite__bind_text(st, 1, m->sha256);
    strain_sqlite__bind_text(st, 2, m->md5);
    strain_sqlite__bind_text(st, 3, m->sha1);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)m->size);
    strain_sqlite__bind_text(st, 5, m->format);
    strain_sqlite__bind_text(st, 6, m->arch);
    strain_sqlite__bind_text(st, 7, m->file_name);
    if (m->first_seen > 0) {
        sqlite3_bind_int64(st, 8, m->first_seen);
    }
    sqlite3_bind_int64(st, 9, now);
    strain_sqlite__bind_text(st, 10, m->imphash);
    strain_sqlite__bind_text(st, 11, m->ssdeep);
    strain_sqlite__bind_text(st, 12, m->tlsh);
    if (m->has_pe_timestamp) {
        sqlite3_bind_int64(st, 13, m->pe_timestamp);
    }
    STRAIN_TRY(strain_sqlite__step_done(s, st, "storing a sample"));
    if (id == 0) {
        id = sqlite3_last_insert_rowid(s->db);
    }
    STRAIN_TRY(apply_label(s, id, old_clean, &m->label));
    *out_id = id;
done:
    return err;
}

int strain_sqlite__put_sample(void *be, int64_t *out_id, const strain_store_sample *m)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, put_sample_op(s, out_id, m));
}

static char *dup_col(sqlite3_stmt *st, int i, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    char *d;
    if (t == NULL) {
        return NULL;
    }
    if ((d = strdup((const char *)t)) == NULL) {
        *oom = true;
    }
    return d;
}

static void copy_col(char *out, size_t cap, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
}

static int load_tags(sq *s, strain_store_sample *m)
{
    sqlite3_stmt *st;
    const char **tags = NULL;
    size_t n = 0;
    size_t cap = 0;
    int rc;
    int err;
    STRAIN_TRY(strain_sqlite__stmt(s, &st,
                                   "SELECT tag FROM sample_tags WHERE sample_id = ? ORDER BY tag"));
    sqlite3_bind_int64(st, 1, m->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            const char **t = realloc(tags, ncap * sizeof(*t));
            if (t == NULL) {
                err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
                goto fail;
            }
            tags = t;
            cap = ncap;
        }
        const unsigned char *txt = sqlite3_column_text(st, 0);
        if ((tags[n] = strdup(txt != NULL ? (const char *)txt : "")) == NULL) {
            err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
            goto fail;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "reading tags");
        goto fail;
    }
    sqlite3_reset(st);
    m->label.tags = tags;
    m->label.n_tags = n;
    return STRAIN_OK;
fail:
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++) {
        free((void *)tags[i]);
    }
    free(tags);
done:
    return err;
}

int strain_sqlite__row_sample(sq *s, strain_store_sample **out, sqlite3_stmt *st)
{
    strain_store_sample *m = calloc(1, sizeof(*m));
    bool oom = false;
    int err;
    if (m == NULL) {
        return strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
    }
    m->id = sqlite3_column_int64(st, 0);
    copy_col(m->sha256, sizeof(m->sha256), st, 1);
    copy_col(m->md5, sizeof(m->md5), st, 2);
    copy_col(m->sha1, sizeof(m->sha1), st, 3);
    m->size = (uint64_t)sqlite3_column_int64(st, 4);
    copy_col(m->format, sizeof(m->format), st, 5);
    copy_col(m->arch, sizeof(m->arch), st, 6);
    m->file_name = dup_col(st, 7, &oom);
    m->first_seen = sqlite3_column_int64(st, 8);
    m->added = sqlite3_column_int64(st, 9);
    m->updated = sqlite3_column_int64(st, 10);
    copy_col(m->imphash, sizeof(m->imphash), st, 11);
    copy_col(m->ssdeep, sizeof(m->ssdeep), st, 12);
    copy_col(m->tlsh, sizeof(m->tlsh), st, 13);
    m->has_pe_timestamp = sqlite3_column_type(st, 14) != SQLITE_NULL;
    m->pe_timestamp = (uint32_t)sqlite3_column_int64(st, 14);
    m->label.actor = dup_col(st, 15, &oom);
    m->label.family = dup_col(st, 16, &oom);
    m->label.clean = sqlite3_column_int(st, 17);
    m->n_postings = (size_t)sqlite3_column_int64(st, 18);
    if (oom) {
        err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    STRAIN_TRY(load_tags(s, m));
    *out = m;
    m = NULL;
done:
    strain_store__sample_free(m);
    return err;
}

int strain_sqlite__get_sample(void *be, strain_store_sample **out, const char *sha256, int64_t id)
{
    sq *s = be;
    sqlite3_stmt *st;
    int err;
    int rc;
    if (sha256 != NULL) {
        STRAIN_TRY(strain_sqlite__stmt(
            s, &st, "SELECT " SQ_SAMPLE_COLS " FROM samples s WHERE sha256 = ?"));
        sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
    } else {
        STRAIN_TRY(
            strain_sqlite__stmt(s, &st, "SELECT " SQ_SAMPLE_COLS " FROM samples s WHERE id = ?"));
        sqlite3_bind_int64(st, 1, id);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        err = strain_sqlite__row_sample(s, out, st);
    } else if (rc == SQLITE_DONE) {
        if (sha256 != NULL) {
            err = strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: no sample %s", s->path, sha256);
        } else {
            err = strain__fail(s->ctx, STRAIN_ENOTFOUND, "%s: no sample with id %lld", s->path,
                               (long long)id);
        }
    } else {
        err = strain_sqlite__fail(s, "reading a sample");
    }
    sqlite3_reset(st);
done:
    return err;
}

int strain_sqlite__list(void *be, const strain_store_filter *f, strain_store_sample_cb cb,
                        void *payload)
{
    sq *s = be;
    char sql[1024];
    sqlite3_stmt *st = NULL;
    int err = STRAIN_OK;
    int rc;
    int n = 0;
    /* Filters are bound parameters; only their presence shapes the text. */
    snprintf(
        sql, sizeof(sql),
        "SELECT " SQ_SAMPLE_COLS " FROM samples s WHERE 1%s%s%s%s ORDER BY s.id%s",
        f->actor != NULL ? " AND s.actor = ?1" : "", f->family != NULL ? " AND s.family = ?2" : "",
        f->clean != STRAIN_STORE_KEEP ? " AND s.clean = ?3" : "",
        f->tag != NULL
            ? " AND EXISTS(SELECT 1 FROM sample_tags t WHERE t.sample_id = s.id AND t.tag = ?4)"
            : "",
        f->limit > 0 ? " LIMIT ?5" : "");
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return strain_sqlite__fail(s, "listing samples");
    }
    if (f->actor != NULL) {
        sqlite3_bind_text(st, 1, f->actor, -1, SQLITE_TRANSIENT);
    }
    if (f->family != NULL) {
        sqlite3_bind_text(st, 2, f->family, -1, SQLITE_TRANSIENT);
    }
    if (f->clean != STRAIN_STORE_KEEP) {
        sqlite3_bind_int(st, 3, f->clean);
    }
    if (f->tag != NULL) {
        sqlite3_bind_text(st, 4, f->tag, -1, SQLITE_TRANSIENT);
    }
    if (f->limit > 0) {
        sqlite3_bind_int64(st, 5, f->limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)f->limit);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        strain_store_sample *m = NULL;
        if ((err = strain_sqlite__row_sample(s, &m, st)) < 0) {
            break;
        }
        n = cb(m, payload);
        strain_store__sample_free(m);
        if (n != 0) {
            err = n;
            break;
        }
    }
    if (err == STRAIN_OK && rc != SQLITE_DONE) {
        err = strain_sqlite__fail(s, "listing samples");
    }
    sqlite3_finalize(st);
    return err;
}

static int label_op(sq *s, const char *sha256, const strain_store_label *l)
{
    int64_t id;
    int clean;
    int err;
    STRAIN_TRY(find_sample(s, &id, &clean, sha256));
    err = apply_label(s, id, clean, l);
done:
    return err;
}

int strain_sqlite__label(void *be, const char *sha256, const strain_store_label *l)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, label_op(s, sha256, l));
}

static int remove_op(sq *s, const char *sha256)
{
    sqlite3_stmt *st;
    int64_t id;
    int clean;
    int err;
    STRAIN_TRY(find_sample(s, &id, &clean, sha256));
    STRAIN_TRY(strain_sqlite__drop_features(s, id, clean));
    /* Tags, genome, keys and certificate links go by ON DELETE CASCADE. */
    STRAIN_TRY(strain_sqlite__stmt(s, &st, "DELETE FROM samples WHERE id = ?"));
    sqlite3_bind_int64(st, 1, id);
    err = strain_sqlite__step_done(s, st, "removing a sample");
done:
    return err;
}

int strain_sqlite__remove(void *be, const char *sha256)
{
    sq *s = be;
    int err = strain_sqlite__op_begin(s);
    if (err < 0) {
        return err;
    }
    return strain_sqlite__op_end(s, remove_op(s, sha256));
}
