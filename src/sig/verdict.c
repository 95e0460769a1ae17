/*
 * The public face of sig/: builds a report (layout, authentihash, table walk, trust store),
 * turns each signature's findings into one verdict, and matches reports against lists of
 * abused certificates. The verdict order puts what invalidates everything else first:
 * unreadable, then a signature that does not verify (it then vouches for nothing), then a
 * file that changed after signing, then the chain.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>

#include "sig/sig_impl.h"
#include "util/err.h"
#include "util/hex.h"

#define SIG_MAX_WARNINGS 256u /* a hostile table only repeats itself past this */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

const char *strain_sig_verdict_name(strain_sig_verdict v)
{
    switch (v) {
    case STRAIN_SIG_VALID: return "valid";
    case STRAIN_SIG_DIGEST_MISMATCH: return "digest-mismatch";
    case STRAIN_SIG_BAD_SIGNATURE: return "bad-signature";
    case STRAIN_SIG_UNTRUSTED_ROOT: return "untrusted-root";
    case STRAIN_SIG_EXPIRED: return "expired";
    default: return "malformed";
    }
}

const char *strain_sig_ts_kind_name(strain_sig_ts_kind k)
{
    return k == STRAIN_SIG_TS_RFC3161 ? "rfc3161" : "legacy";
}

const char *strain_sig_ts_status_name(strain_sig_ts_status s)
{
    switch (s) {
    case STRAIN_SIG_TS_VALID: return "valid";
    case STRAIN_SIG_TS_UNBOUND: return "unbound";
    case STRAIN_SIG_TS_BAD_SIGNATURE: return "bad-signature";
    case STRAIN_SIG_TS_UNTRUSTED: return "untrusted";
    default: return "malformed";
    }
}

int strain_sig__warn(strain_sig_report *r, const char *fmt, ...)
{
    r->info.partial = true;
    if (r->warnings.len >= SIG_MAX_WARNINGS) {
        r->dropped_warnings++;
        return 0;
    }
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    char *w = strain_arena_strdup(&r->arena, tmp);
    const char **slot = strain_vec_push(&r->warnings);
    if (w == NULL || slot == NULL) {
        return STRAIN_ENOMEM;
    }
    *slot = w;
    return 0;
}

void strain_sig__set_verdict(strain_sig_signature *sig)
{
    if (sig->verdict == STRAIN_SIG_MALFORMED) {
        return;
    }
    if (!sig->signature_ok) {
        sig->verdict = STRAIN_SIG_BAD_SIGNATURE;
        if (sig->detail == NULL || sig->detail[0] == '\0') {
            sig->detail = "signature does not verify";
        }
    } else if (!sig->digest_ok) {
        sig->verdict = STRAIN_SIG_DIGEST_MISMATCH;
        sig->detail = "image digest differs from the signed one";
    } else if (sig->has_page_hashes && !sig->page_hashes_ok) {
        sig->verdict = STRAIN_SIG_DIGEST_MISMATCH;
        sig->detail = "page hashes differ from the signed ones";
    } else if (!sig->chain_ok) {
        sig->verdict = sig->chain_expired ? STRAIN_SIG_EXPIRED : STRAIN_SIG_UNTRUSTED_ROOT;
        sig->detail = sig->chain_error;
    } else {
        sig->verdict = STRAIN_SIG_VALID;
        sig->detail = "";
    }
}

void strain_sig_report_free(strain_sig_report *r)
{
    if (r == NULL) {
        return;
    }
    X509_STORE_free(r->store);
    strain_sig__layout_free(&r->layout);
    strain_vec_free(&r->entries);
    strain_vec_free(&r->signatures);
    strain_vec_free(&r->warnings);
    strain_arena_release(&r->arena);
    free(r);
}

const strain_sig_info *strain_sig_report_info(const strain_sig_report *r)
{
    return &r->info;
}

struct strain_sig_store {
    X509_STORE *x;
};

static int load_store(X509_STORE **out, strain_ctx *ctx, const char *ca_file)
{
    const char *path = ca_file != NULL ? ca_file : SYSTEM_CA_BUNDLE;
    X509_STORE *x = X509_STORE_new();
    if (x == NULL) {
        return STRAIN_ENOMEM;
    }
    if (X509_STORE_load_file(x, path) != 1) {
        ERR_clear_error();
        X509_STORE_free(x);
        return strain__fail(ctx, STRAIN_EIO, "cannot load trust store %s", path);
    }
    *out = x;
    return 0;
}

int strain_sig_store_new(strain_sig_store **out, strain_ctx *ctx, const char *ca_file)
{
    strain_sig_store *s = calloc(1, sizeof(*s));
    int err;
    if (out == NULL) {
        free(s);
        return STRAIN_EINVAL;
    }
    if (s == NULL) {
        return STRAIN_ENOMEM;
    }
    if ((err = load_store(&s->x, ctx, ca_file)) < 0) {
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

void strain_sig_store_free(strain_sig_store *store)
{
    if (store != NULL) {
        X509_STORE_free(store->x);
        free(store);
    }
}

static void publish(strain_sig_report *r)
{
    r->info.entries = r->entries.items;
    r->info.n_entries = r->entries.len;
    r->info.signatures = r->signatures.items;
    r->info.n_signatures = r->signatures.len;
    r->info.warnings = (const char *const *)r->warnings.items;
    r->info.n_warnings = r->warnings.len;
}

int strain_sig_verify(strain_sig_report **out, strain_ctx *ctx, const strain_binary *bin,
                      const strain_sig_opts *opts)
{
    strain_sig_report *r = NULL;
    int err = 0;
    if (out == NULL || bin == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "strain_sig_verify: NULL argument");
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return STRAIN_ENOMEM;
    }
    r->ctx = ctx;
    r->entries = (strain_vec)STRAIN_VEC_INIT(strain_sig_entry);
    r->signatures = (strain_vec)STRAIN_VEC_INIT(strain_sig_signature);
    r->warnings = (strain_vec)STRAIN_VEC_INIT(const char *);
    size_t size = 0;
    const uint8_t *data = strain_binary_data(bin, &size);
    r->file = strain_span_make(data, size);
    r->now = (opts != NULL && opts->now != 0) ? opts->now : (int64_t)time(NULL);

    STRAIN_TRY(strain_sig__layout_read(&r->layout, r, bin));
    r->info.is_pe = r->layout.is_pe;
    if (r->layout.is_pe) {
        r->info.table_offset = r->layout.table_offset;
        r->info.table_size = r->layout.table_size;
        uint8_t h[EVP_MAX_MD_SIZE];
        unsigned hl = 0;
        int hr = strain_sig__image_hash(r, EVP_sha256(), h, &hl);
        if (hr == STRAIN_ENOMEM) {
            err = hr;
            goto done;
        }
        if (hr == 0) {
            strain_hex_encode(r->info.authentihash, h, hl);
        }
        if (opts != NULL && opts->store != NULL) {
            if (X509_STORE_up_ref(opts->store->x) != 1) {
                err = STRAIN_ENOMEM;
                goto done;
            }
            r->store = opts->store->x;
        } else {
            STRAIN_TRY(load_store(&r->store, ctx, opts != NULL ? opts->ca_file : NULL));
        }
        STRAIN_TRY(strain_sig__wincert_walk(r));
    }
    if (r->dropped_warnings > 0) {
        STRAIN_TRY(strain_sig__warn(r, "%zu more warnings dropped", r->dropped_warnings));
    }
    publish(r);
    *out = r;
    r = NULL;
done:
    ERR_clear_error();
    strain_sig_report_free(r);
    return err;
}

/* Hex strings equal ignoring case and leading zeros (serials are printed both ways). */
static bool hex_eq(const char *a, const char *b)
{
    while (*a == '0' && a[1] != '\0') {
        a++;
    }
    while (*b == '0' && b[1] != '\0') {
        b++;
    }
    return strcasecmp(a, b) == 0;
}

static bool cert_matches(const strain_sig_cert *c, const strain_sig_abused *e)
{
    if (e->sha1 != NULL && strcasecmp(c->sha1, e->sha1) == 0) {
        return true;
    }
    if (e->sha256 != NULL && strcasecmp(c->sha256, e->sha256) == 0) {
        return true;
    }
    return e->serial != NULL && e->issuer != NULL && hex_eq(c->serial, e->serial) &&
           strcmp(c->issuer, e->issuer) == 0;
}

int strain_sig_check_abused(strain_sig_report *r, const strain_sig_abused *list, size_t n)
{
    if (r == NULL || (list == NULL && n > 0)) {
        return STRAIN_EINVAL;
    }
    int flagged = 0;
    for (size_t i = 0; i < r->signatures.len; i++) {
        strain_sig_signature *s = STRAIN_VEC_AT(&r->signatures, strain_sig_signature, i);
        s->abused = false;
        for (size_t k = 0; k < n && !s->abused; k++) {
            if (s->signer != NULL && cert_matches(s->signer, &list[k])) {
                s->abused = true;
            }
            for (size_t c = 0; c < s->n_chain && !s->abused; c++) {
                s->abused = cert_matches(&s->chain[c], &list[k]);
            }
        }
        flagged += s->abused ? 1 : 0;
    }
    return flagged;
}
