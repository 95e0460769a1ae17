/*
 * The store interface: argument checking and normalisation, then dispatch through the
 * backend's table of functions (store_impl.h). Everything a backend could get wrong in its
 * own way (hex case, lengths, limits, duplicate keys, nested transactions) is settled here
 * once, so every backend sees the same clean input.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"
#include "util/err.h"
#include "util/limits.h"

struct strain_store {
    const strain_store_ops *ops;
    void *be;
    strain_ctx *ctx;
    char *location;
    bool in_txn;
};

static const strain_store_ops *const backends[] = {
    &strain_store_sqlite,
};

int strain_store_resolve_path(char *out, size_t cap, const char *explicit_path)
{
    const char *env = getenv("STRAIN_DB");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (out == NULL || cap == 0) {
        return STRAIN_EINVAL;
    }
    if (explicit_path != NULL && explicit_path[0] != '\0') {
        n = snprintf(out, cap, "%s", explicit_path);
    } else if (env != NULL && env[0] != '\0') {
        n = snprintf(out, cap, "%s", env);
    } else if (xdg != NULL && xdg[0] == '/') {
        /* The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored. */
        n = snprintf(out, cap, "%s/strain/strain.db", xdg);
    } else if (home != NULL && home[0] != '\0') {
        n = snprintf(out, cap, "%s/.local/share/strain/strain.db", home);
    } else {
        out[0] = '\0';
        return STRAIN_EINVAL;
    }
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return STRAIN_EINVAL;
    }
    return STRAIN_OK;
}

int strain_store_open(strain_store **out, strain_ctx *ctx, const char *backend,
                      const char *location, unsigned flags)
{
    strain_store *st = NULL;
    const strain_store_ops *ops = NULL;
    int err;
    if (out == NULL || location == NULL || location[0] == '\0') {
        return strain__fail(ctx, STRAIN_EINVAL, "store: no database location");
    }
    *out = NULL;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (backend == NULL || strcmp(backend, backends[i]->name) == 0) {
            ops = backends[i];
            break;
        }
    }
    if (ops == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "store: unknown backend '%s'", backend);
    }
    if ((flags & STRAIN_STORE_CREATE) && (flags & STRAIN_STORE_READONLY)) {
        return strain__fail(ctx, STRAIN_EINVAL, "store: CREATE and READONLY are exclusive");
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL || (st->location = strdup(location)) == NULL) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "store: out of memory");
        goto done;
    }
    st->ops = ops;
    st->ctx = ctx;
    STRAIN_TRY(ops->open(&st->be, ctx, location, flags));
    *out = st;
    st = NULL;
done:
    strain_store_close(st);
    return err;
}

void strain_store_close(strain_store *st)
{
    if (st == NULL) {
        return;
    }
    if (st->be != NULL) {
        if (st->in_txn) {
            st->ops->rollback(st->be);
        }
        st->ops->close(st->be);
    }
    free(st->location);
    free(st);
}

const char *strain_store_backend(const strain_store *st)
{
    return st != NULL ? st->ops->name : "";
}

const char *strain_store_location(const strain_store *st)
{
    return st != NULL ? st->location : "";
}

int strain_store_begin(strain_store *st)
{
    int err;
    if (st == NULL) {
        return STRAIN_EINVAL;
    }
    if (st->in_txn) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: transaction already open");
    }
    if ((err = st->ops->begin(st->be)) == 0) {
        st->in_txn = true;
    }
    return err;
}

int strain_store_commit(strain_store *st)
{
    int err;
    if (st == NULL) {
        return STRAIN_EINVAL;
    }
    if (!st->in_txn) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: commit without begin");
    }
    err = st->ops->commit(st->be);
    /* A failed COMMIT in SQLite may leave the transaction open (SQLITE_BUSY); the backend
     * rolls back in that case so the caller's state is always "no transaction". */
    st->in_txn = false;
    return err;
}

int strain_store_rollback(strain_store *st)
{
    if (st == NULL) {
        return STRAIN_EINVAL;
    }
    if (!st->in_txn) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: rollback without begin");
    }
    st->in_txn = false;
    return st->ops->rollback(st->be);
}

/* Checks that buf (cap bytes) holds 0 or want hex digits, NUL-terminated; lowercases into out. */
static bool norm_hex(char *out, const char *buf, size_t cap, size_t want, bool required)
{
    const char *nul = memchr(buf, '\0', cap);
    if (nul == NULL) {
        return false;
    }
    size_t len = (size_t)(nul - buf);
    if (len == 0) {
        out[0] = '\0';
        return !required;
    }
    if (len != want) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)buf[i])) {
            return false;
        }
        out[i] = (char)tolower((unsigned char)buf[i]);
    }
    out[len] = '\0';
    return true;
}

/* Text a person typed or a manifest held: bounded, without control characters (they would
 * corrupt the text output and the terminal showing it). */
static bool good_text(const char *s, size_t max, bool allow_empty)
{
    size_t i;
    if (s == NULL) {
        return true;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || i >= max) {
            return false;
        }
    }
    return allow_empty || i > 0;
}

static bool terminated(const char *buf, size_t cap)
{
    return memchr(buf, '\0', cap) != NULL;
}

static int check_label(strain_ctx *ctx, const strain_store_label *l)
{
    if (!good_text(l->actor, STRAIN_STORE_LABEL_MAX, true) ||
        !good_text(l->family, STRAIN_STORE_LABEL_MAX, true)) {
        return strain__fail(ctx, STRAIN_EINVAL,
                            "store: actor/family longer than %d bytes or with control characters",
                            STRAIN_STORE_LABEL_MAX);
    }
    if (l->n_tags > STRAIN_STORE_MAX_TAGS || (l->n_tags > 0 && l->tags == NULL)) {
        return strain__fail(ctx, STRAIN_EINVAL, "store: more than %d tags", STRAIN_STORE_MAX_TAGS);
    }
    for (size_t i = 0; i < l->n_tags; i++) {
        if (l->tags[i] == NULL || !good_text(l->tags[i], STRAIN_STORE_LABEL_MAX, false)) {
            return strain__fail(ctx, STRAIN_EINVAL, "store: empty, overlong or invalid tag");
        }
    }
    if (l->clean != STRAIN_STORE_KEEP && l->clean != 0 && l->clean != 1) {
        return strain__fail(ctx, STRAIN_EINVAL, "store: clean must be KEEP, 0 or 1");
    }
    return STRAIN_OK;
}

static int norm_sha256(strain_ctx *ctx, char out[STRAIN_SHA256_HEX], const char *sha256)
{
    if (sha256 == NULL || strlen(sha256) != 64 ||
        !norm_hex(out, sha256, STRAIN_SHA256_HEX, 64, true)) {
        return strain__fail(ctx, STRAIN_EINVAL, "store: '%.80s' is not a SHA-256 (64 hex digits)",
                            sha256 != NULL ? sha256 : "(null)");
    }
    return STRAIN_OK;
}

int strain_store_put_sample(strain_store *st, int64_t *out_id, const strain_store_sample *s)
{
    strain_store_sample n;
    int64_t id = 0;
    int err;
    if (st == NULL || s == NULL) {
        return STRAIN_EINVAL;
    }
    n = *s;
    if (!norm_hex(n.sha256, s->sha256, sizeof(s->sha256), 64, true)) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: sample sha256 is not 64 hex digits");
    }
    if (!norm_hex(n.md5, s->md5, sizeof(s->md5), 32, false) ||
        !norm_hex(n.sha1, s->sha1, sizeof(s->sha1), 40, false) ||
        !norm_hex(n.imphash, s->imphash, sizeof(s->imphash), 32, false)) {
        return strain__fail(st->ctx, STRAIN_EINVAL,
                            "store: md5/sha1/imphash not hex of the "
                            "right length");
    }
    if (!terminated(s->format, sizeof(s->format)) || !terminated(s->arch, sizeof(s->arch)) ||
        !terminated(s->ssdeep, sizeof(s->ssdeep)) || !terminated(s->tlsh, sizeof(s->tlsh)) ||
        !good_text(s->format, sizeof(s->format), true) ||
        !good_text(s->arch, sizeof(s->arch), true) ||
        !good_text(s->ssdeep, sizeof(s->ssdeep), true) ||
        !good_text(s->tlsh, sizeof(s->tlsh), true)) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: unterminated or invalid field");
    }
    if (!good_text(s->file_name, STRAIN_STORE_NAME_MAX, true)) {
        return strain__fail(st->ctx, STRAIN_EINVAL,
                            "store: file name longer than %d bytes or with control characters",
                            STRAIN_STORE_NAME_MAX);
    }
    if (s->size > INT64_MAX || s->first_seen < 0) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: size or first_seen out of range");
    }
    STRAIN_TRY(check_label(st->ctx, &s->label));
    STRAIN_TRY(st->ops->put_sample(st->be, &id, &n));
    if (out_id != NULL) {
        *out_id = id;
    }
done:
    return err;
}

int strain_store_get_sample(strain_store *st, strain_store_sample **out, const char *sha256)
{
    char h[STRAIN_SHA256_HEX];
    int err;
    if (st == NULL || out == NULL) {
        return STRAIN_EINVAL;
    }
    *out = NULL;
    STRAIN_TRY(norm_sha256(st->ctx, h, sha256));
    err = st->ops->get_sample(st->be, out, h, 0);
done:
    return err;
}

int strain_store_get_sample_by_id(strain_store *st, strain_store_sample **out, int64_t id)
{
    if (st == NULL || out == NULL) {
        return STRAIN_EINVAL;
    }
    *out = NULL;
    if (id <= 0) {
        return strain__fail(st->ctx, STRAIN_ENOTFOUND, "store: no sample with id %lld",
                            (long long)id);
    }
    return st->ops->get_sample(st->be, out, NULL, id);
}

void strain_store_sample_free(strain_store_sample *s)
{
    strain_store__sample_free(s);
}

void strain_store__sample_free(strain_store_sample *s)
{
    if (s == NULL) {
        return;
    }
    free((void *)s->file_name);
    free((void *)s->label.actor);
    free((void *)s->label.family);
    for (size_t i = 0; i < s->label.n_tags; i++) {
        free((void *)s->label.tags[i]);
    }
    free((void *)s->label.tags);
    free(s);
}

int strain_store_list(strain_store *st, const strain_store_filter *filter,
                      strain_store_sample_cb cb, void *payload)
{
    strain_store_filter f = {.clean = STRAIN_STORE_KEEP};
    if (st == NULL || cb == NULL) {
        return STRAIN_EINVAL;
    }
    if (filter != NULL) {
        f = *filter;
    }
    if (f.clean != STRAIN_STORE_KEEP && f.clean != 0 && f.clean != 1) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: filter clean must be KEEP, 0 or 1");
    }
    return st->ops->list(st->be, &f, cb, payload);
}

int strain_store_label_set(strain_store *st, const char *sha256, const strain_store_label *label)
{
    char h[STRAIN_SHA256_HEX];
    int err;
    if (st == NULL || label == NULL) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(norm_sha256(st->ctx, h, sha256));
    STRAIN_TRY(check_label(st->ctx, label));
    err = st->ops->label(st->be, h, label);
done:
    return err;
}

int strain_store_remove(strain_store *st, const char *sha256)
{
    char h[STRAIN_SHA256_HEX];
    int err;
    if (st == NULL) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(norm_sha256(st->ctx, h, sha256));
    err = st->ops->remove(st->be, h);
done:
    return err;
}

int strain_store_stats_get(strain_store *st, strain_store_stats *out)
{
    if (st == NULL || out == NULL) {
        return STRAIN_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->backend, sizeof(out->backend), "%s", st->ops->name);
    return st->ops->stats(st->be, out);
}

int strain_store_check(strain_store *st)
{
    if (st == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->check(st->be);
}

int strain_store_compact(strain_store *st)
{
    if (st == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->compact(st->be);
}

int strain_store_put_features(strain_store *st, int64_t sample_id, const strain_store_features *f)
{
    if (st == NULL || f == NULL) {
        return STRAIN_EINVAL;
    }
    if (f->n_postings > STRAIN_STORE_MAX_POSTINGS) {
        return strain__fail(st->ctx, STRAIN_ELIMIT,
                            "store: %zu postings for one sample exceed STRAIN_STORE_MAX_POSTINGS "
                            "(%u)",
                            f->n_postings, STRAIN_STORE_MAX_POSTINGS);
    }
    if (f->genome_len > STRAIN_STORE_MAX_GENOME) {
        return strain__fail(st->ctx, STRAIN_ELIMIT,
                            "store: genome of %zu bytes exceeds STRAIN_STORE_MAX_GENOME (%u)",
                            f->genome_len, STRAIN_STORE_MAX_GENOME);
    }
    if ((f->n_postings > 0 && f->postings == NULL) || (f->genome_len > 0 && f->genome == NULL)) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: NULL postings or genome");
    }
    for (size_t i = 0; i < f->n_postings; i++) {
        if (f->postings[i].kind > INT32_MAX) {
            return strain__fail(st->ctx, STRAIN_EINVAL, "store: feature kind %u >= 2^31",
                                f->postings[i].kind);
        }
    }
    return st->ops->put_features(st->be, sample_id, f);
}

int strain_store_get_genome(strain_store *st, void **out, size_t *out_len, uint32_t *out_version,
                            int64_t sample_id)
{
    if (st == NULL || out == NULL || out_len == NULL || out_version == NULL) {
        return STRAIN_EINVAL;
    }
    *out = NULL;
    *out_len = 0;
    *out_version = 0;
    return st->ops->get_genome(st->be, out, out_len, out_version, sample_id);
}

static int key_cmp(const void *a, const void *b)
{
    const strain_store_key *x = a;
    const strain_store_key *y = b;
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    /* Order by the stored signed value: that is the index order, so the backend walks the
     * index forward. */
    int64_t hx = (int64_t)x->hash;
    int64_t hy = (int64_t)y->hash;
    return hx < hy ? -1 : hx > hy;
}

/* A sorted, de-duplicated copy of a key batch (malloc'd into *out). */
static int sorted_keys(strain_ctx *ctx, strain_store_key **out, size_t *out_n,
                       const strain_store_key *keys, size_t n)
{
    strain_store_key *k;
    size_t m = 0;
    *out = NULL;
    *out_n = 0;
    if (n > STRAIN_STORE_MAX_BATCH) {
        return strain__fail(ctx, STRAIN_ELIMIT,
                            "store: batch of %zu keys exceeds STRAIN_STORE_MAX_BATCH (%u)", n,
                            STRAIN_STORE_MAX_BATCH);
    }
    if (n == 0) {
        return STRAIN_OK;
    }
    if (keys == NULL) {
        return STRAIN_EINVAL;
    }
    if ((k = malloc(n * sizeof(*k))) == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "store: out of memory");
    }
    memcpy(k, keys, n * sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        if (k[i].kind > INT32_MAX) {
            uint32_t bad = k[i].kind;
            free(k);
            return strain__fail(ctx, STRAIN_EINVAL, "store: feature kind %u >= 2^31", bad);
        }
    }
    qsort(k, n, sizeof(*k), key_cmp);
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || key_cmp(&k[m - 1], &k[i]) != 0) {
            k[m++] = k[i];
        }
    }
    *out = k;
    *out_n = m;
    return STRAIN_OK;
}

int strain_store_lookup(strain_store *st, strain_store_posting **out, size_t *out_n,
                        const strain_store_key *keys, size_t n_keys, uint32_t max_df)
{
    strain_store_key *k = NULL;
    size_t m = 0;
    int err;
    if (st == NULL || out == NULL || out_n == NULL) {
        return STRAIN_EINVAL;
    }
    *out = NULL;
    *out_n = 0;
    STRAIN_TRY(sorted_keys(st->ctx, &k, &m, keys, n_keys));
    if (m > 0) {
        err = st->ops->lookup(st->be, out, out_n, k, m, max_df);
    }
done:
    free(k);
    return err;
}

int strain_store_df_get(strain_store *st, strain_store_df *out, const strain_store_key *keys,
                        size_t n_keys, uint32_t family_scan_max)
{
    if (st == NULL || (n_keys > 0 && (out == NULL || keys == NULL))) {
        return STRAIN_EINVAL;
    }
    if (n_keys > STRAIN_STORE_MAX_BATCH) {
        return strain__fail(st->ctx, STRAIN_ELIMIT,
                            "store: batch of %zu keys exceeds STRAIN_STORE_MAX_BATCH (%u)", n_keys,
                            STRAIN_STORE_MAX_BATCH);
    }
    for (size_t i = 0; i < n_keys; i++) {
        if (keys[i].kind > INT32_MAX) {
            return strain__fail(st->ctx, STRAIN_EINVAL, "store: feature kind %u >= 2^31",
                                keys[i].kind);
        }
    }
    if (n_keys == 0) {
        return STRAIN_OK;
    }
    return st->ops->df(st->be, out, keys, n_keys, family_scan_max);
}

static int check_cert(strain_ctx *ctx, strain_store_cert *n, const strain_store_cert *c)
{
    *n = *c;
    if (!norm_hex(n->sha256, c->sha256, sizeof(c->sha256), 64, true) ||
        !norm_hex(n->sha1, c->sha1, sizeof(c->sha1), 40, false)) {
        return strain__fail(ctx, STRAIN_EINVAL, "store: certificate thumbprint is not hex");
    }
    if (!good_text(c->subject, STRAIN_STORE_NAME_MAX, true) ||
        !good_text(c->issuer, STRAIN_STORE_NAME_MAX, true) ||
        !good_text(c->serial, STRAIN_STORE_LABEL_MAX, true)) {
        return strain__fail(ctx, STRAIN_EINVAL,
                            "store: certificate subject/issuer/serial overlong or invalid");
    }
    return STRAIN_OK;
}

int strain_store_put_cert(strain_store *st, int64_t *out_id, const strain_store_cert *c)
{
    strain_store_cert n;
    int64_t id = 0;
    int err;
    if (st == NULL || c == NULL) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(check_cert(st->ctx, &n, c));
    STRAIN_TRY(st->ops->put_cert(st->be, &id, &n));
    if (out_id != NULL) {
        *out_id = id;
    }
done:
    return err;
}

int strain_store_link_cert(strain_store *st, int64_t sample_id, int64_t cert_id)
{
    if (st == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->link_cert(st->be, sample_id, cert_id);
}

int strain_store_get_cert(strain_store *st, const char *thumbprint, strain_store_cert_cb cb,
                          void *payload)
{
    char h[STRAIN_SHA256_HEX];
    size_t len;
    if (st == NULL || cb == NULL || thumbprint == NULL) {
        return STRAIN_EINVAL;
    }
    len = strlen(thumbprint);
    if ((len != 40 && len != 64) || !norm_hex(h, thumbprint, len + 1, len, true)) {
        return strain__fail(st->ctx, STRAIN_EINVAL,
                            "store: thumbprint must be 40 (sha1) or 64 (sha256) hex digits");
    }
    return st->ops->get_cert(st->be, h, cb, payload);
}

int strain_store_sample_certs(strain_store *st, int64_t sample_id, strain_store_cert_cb cb,
                              void *payload)
{
    if (st == NULL || cb == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->sample_certs(st->be, sample_id, cb, payload);
}

int strain_store_cert_samples(strain_store *st, int64_t cert_id, strain_store_sample_cb cb,
                              void *payload)
{
    if (st == NULL || cb == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->cert_samples(st->be, cert_id, cb, payload);
}

/* Certificate intelligence (schema 3): link roles, listings, the abused list. */

int strain_store_link_cert_info(strain_store *st, const strain_store_cert_link *l)
{
    if (st == NULL || l == NULL) {
        return STRAIN_EINVAL;
    }
    if (l->verdict != NULL && (!good_text(l->verdict, 31, true))) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: link verdict overlong or invalid");
    }
    return st->ops->link_cert_info(st->be, l);
}

int strain_store_cert_links(strain_store *st, int64_t cert_id, strain_store_link_cb cb,
                            void *payload)
{
    if (st == NULL || cb == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->cert_links(st->be, cert_id, cb, payload);
}

int strain_store_list_certs(strain_store *st, strain_store_cert_cb cb, void *payload)
{
    if (st == NULL || cb == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->list_certs(st->be, cb, payload);
}

/* Serial numbers are printed with and without leading zeros and in either case; one form is
 * stored so the UNIQUE key and matching agree: uppercase, no leading zeros. */
static bool norm_serial(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    while (in[0] == '0' && in[1] != '\0') {
        in++;
    }
    for (; *in != '\0'; in++) {
        if (!isxdigit((unsigned char)*in) || n + 1 >= cap) {
            return false;
        }
        out[n++] = (char)toupper((unsigned char)*in);
    }
    out[n] = '\0';
    return true;
}

int strain_store_put_abused(strain_store *st, int64_t *out_id, const strain_store_abused *a)
{
    char sha1[STRAIN_SHA1_HEX];
    char sha256[STRAIN_SHA256_HEX];
    char serial[STRAIN_STORE_LABEL_MAX + 1];
    strain_store_abused n;
    int64_t id = 0;
    int err;
    if (st == NULL || a == NULL) {
        return STRAIN_EINVAL;
    }
    n = *a;
    sha1[0] = sha256[0] = serial[0] = '\0';
    if ((a->sha1 != NULL && a->sha1[0] != '\0' &&
         (strlen(a->sha1) != 40 || !norm_hex(sha1, a->sha1, 41, 40, true))) ||
        (a->sha256 != NULL && a->sha256[0] != '\0' &&
         (strlen(a->sha256) != 64 || !norm_hex(sha256, a->sha256, 65, 64, true)))) {
        return strain__fail(st->ctx, STRAIN_EINVAL,
                            "store: abused certificate thumbprint must be 40 (sha1) or 64 "
                            "(sha256) hex digits");
    }
    if (a->serial != NULL && !norm_serial(serial, sizeof(serial), a->serial)) {
        return strain__fail(st->ctx, STRAIN_EINVAL, "store: abused certificate serial is not hex");
    }
    if (!good_text(a->issuer, STRAIN_STORE_NAME_MAX, true) ||
        !good_text(a->reason, STRAIN_STORE_NAME_MAX, true) ||
        !good_text(a->actor, STRAIN_STORE_NAME_MAX, true) ||
        !good_text(a->source, STRAIN_STORE_NAME_MAX, true) ||
        !good_text(a->note, STRAIN_STORE_NAME_MAX, true)) {
        return strain__fail(st->ctx, STRAIN_EINVAL,
                            "store: abused certificate text overlong or has control characters");
    }
    n.sha1 = sha1;
    n.sha256 = sha256;
    n.serial = serial;
    n.issuer = a->issuer != NULL ? a->issuer : "";
    if (sha1[0] == '\0' && sha256[0] == '\0' && (serial[0] == '\0' || n.issuer[0] == '\0')) {
        return strain__fail(st->ctx, STRAIN_EINVAL,
                            "store: abused certificate needs sha1, sha256, or serial and issuer");
    }
    if (serial[0] != '\0' && n.issuer[0] == '\0') {
        return strain__fail(st->ctx, STRAIN_EINVAL,
                            "store: abused certificate serial given without its issuer");
    }
    STRAIN_TRY(st->ops->put_abused(st->be, &id, &n));
    if (out_id != NULL) {
        *out_id = id;
    }
done:
    return err;
}

int strain_store_list_abused(strain_store *st, strain_store_abused_cb cb, void *payload)
{
    if (st == NULL || cb == NULL) {
        return STRAIN_EINVAL;
    }
    return st->ops->list_abused(st->be, cb, payload);
}
