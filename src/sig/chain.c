/*
 * Certificates as records (the fields a certificate database keys on, rendered the way
 * osslsigncode prints them so reports can be diffed against it) and chain verification with
 * X509_verify_cert() at a chosen time: the timestamp's when one is valid, else now. No CRL or
 * AIA fetching: a verdict must not depend on the network.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "sig/sig_impl.h"
#include "util/hex.h"

bool strain_sig__time_to_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return false;
    }
    *out = (int64_t)timegm(&tm);
    return true;
}

void strain_sig__time_text(char out[32], const ASN1_TIME *t)
{
    /* osslsigncode's form ("Sep  9 16:20:53 2019 GMT"), without the fractional seconds
     * ASN1_TIME_print() shows for GeneralizedTime. */
    int64_t u;
    struct tm tm;
    time_t tt;
    out[0] = '\0';
    if (!strain_sig__time_to_unix(t, &u)) {
        return;
    }
    tt = (time_t)u;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%b %e %H:%M:%S %Y GMT", &tm) == 0) {
        out[0] = '\0';
    }
}

static const char *name_line(strain_sig_report *r, const X509_NAME *n)
{
    char *s = X509_NAME_oneline(n, NULL, 0);
    const char *out = strain_arena_strdup(&r->arena, s ? s : "");
    OPENSSL_free(s);
    return out;
}

static const char *serial_hex(strain_sig_report *r, const ASN1_INTEGER *serial)
{
    /* osslsigncode prints BN_bn2hex of the serial: uppercase, whole bytes. */
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    const char *out = strain_arena_strdup(&r->arena, h ? h : "");
    OPENSSL_free(h);
    BN_free(bn);
    return out;
}

int strain_sig__cert_record(strain_sig_cert *out, strain_sig_report *r, X509 *x)
{
    memset(out, 0, sizeof(*out));
    out->subject = name_line(r, X509_get_subject_name(x));
    out->issuer = name_line(r, X509_get_issuer_name(x));
    out->serial = serial_hex(r, X509_get0_serialNumber(x));
    if (out->subject == NULL || out->issuer == NULL || out->serial == NULL) {
        return STRAIN_ENOMEM;
    }
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (X509_digest(x, EVP_sha1(), d, &dl) == 1) {
        strain_hex_encode(out->sha1, d, dl);
    }
    if (X509_digest(x, EVP_sha256(), d, &dl) == 1) {
        strain_hex_encode(out->sha256, d, dl);
    }
    strain_sig__time_to_unix(X509_get0_notBefore(x), &out->not_before);
    strain_sig__time_to_unix(X509_get0_notAfter(x), &out->not_after);
    /* X509_get_extension_flags() also caches the extensions the next calls read. */
    uint32_t flags = X509_get_extension_flags(x);
    out->has_key_usage = (flags & EXFLAG_KUSAGE) != 0;
    out->key_usage = out->has_key_usage ? X509_get_key_usage(x) : 0;
    out->has_eku = (flags & EXFLAG_XKUSAGE) != 0;
    if (out->has_eku) {
        uint32_t xku = X509_get_extended_key_usage(x);
        out->eku_code_signing = (xku & XKU_CODE_SIGN) != 0;
        out->eku_timestamping = (xku & XKU_TIMESTAMP) != 0;
    }
    out->self_signed = (flags & EXFLAG_SS) != 0;
    int len = i2d_X509(x, NULL);
    if (len > 0) {
        uint8_t *buf = strain_arena_alloc(&r->arena, (size_t)len);
        if (buf == NULL) {
            return STRAIN_ENOMEM;
        }
        uint8_t *p = buf;
        i2d_X509(x, &p);
        out->der = buf;
        out->der_len = (size_t)len;
    }
    ERR_clear_error();
    return 0;
}

int strain_sig__chain_verify(strain_sig_report *r, X509 *leaf, STACK_OF(X509) * untrusted,
                             int64_t t, int purpose, const strain_sig_cert **out_chain,
                             size_t *out_n, int *out_err)
{
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    int err = 0;
    *out_chain = NULL;
    *out_n = 0;
    *out_err = X509_V_ERR_UNSPECIFIED;
    if (sc == NULL) {
        return STRAIN_ENOMEM;
    }
    if (X509_STORE_CTX_init(sc, r->store, leaf, untrusted) != 1) {
        err = STRAIN_ENOMEM;
        goto done;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sc);
    X509_VERIFY_PARAM_set_time(param, (time_t)t);
    X509_STORE_CTX_set_purpose(sc, purpose);
    int ok = X509_verify_cert(sc);
    *out_err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(sc);
    if (*out_err == X509_V_OK && ok != 1) {
        *out_err = X509_V_ERR_UNSPECIFIED;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sc);
    int n = sk_X509_num(chain);
    if (n > 0) {
        strain_sig_cert *recs = strain_arena_array(&r->arena, (size_t)n, sizeof(*recs));
        if (recs == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        for (int i = 0; i < n; i++) {
            if ((err = strain_sig__cert_record(&recs[i], r, sk_X509_value(chain, i))) < 0) {
                goto done;
            }
        }
        *out_chain = recs;
        *out_n = (size_t)n;
    }
done:
    ERR_clear_error();
    X509_STORE_CTX_free(sc);
    return err;
}
