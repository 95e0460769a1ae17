/*
 * Authenticode: every verdict on fixtures signed here with osslsigncode under a PKI made here
 * with openssl (mkfixtures.sh), checked against what `osslsigncode verify` says of the same
 * files; the signed.tsv ground truth (npm snoretoast and Debian secure-boot files) checked
 * field by field against both the table and osslsigncode at test time; hostile tables; and
 * the abused-certificate matcher.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helpers.h"
#include <strain/sig.h>

static char fx[1024];    /* fixture directory */
static long long fx_now; /* when the fixtures were made */

static int setup(void **state)
{
    (void)state;
    snprintf(fx, sizeof(fx), "%s/sigfx", th_tmpdir());
    char *out = NULL;
    int rc = th_run(&out, "mkdir -p '%s' && sh '%s/tests/unit/sig/mkfixtures.sh' '%s' 2>&1", fx,
                    getenv("STRAIN_SOURCE_DIR"), fx);
    if (rc != 0) {
        fprintf(stderr, "mkfixtures.sh failed:\n%s\n", out ? out : "");
        free(out);
        return -1;
    }
    free(out);
    char p[1100];
    snprintf(p, sizeof(p), "%s/now", fx);
    size_t n = 0;
    uint8_t *t = th_read_file(p, &n);
    fx_now = t ? atoll((char *)t) : 0;
    free(t);
    return fx_now > 0 ? 0 : -1;
}

typedef struct verified {
    strain_ctx *ctx;
    uint8_t *data;
    strain_binary *bin;
    strain_sig_report *rep;
    const strain_sig_info *info;
} verified;

static const strain_sig_store *shared_store; /* when set, used instead of ca */

static void verify_path(verified *v, const char *path, const char *ca, long long now)
{
    size_t n = 0;
    memset(v, 0, sizeof(*v));
    v->data = th_read_file(path, &n);
    assert_non_null(v->data);
    assert_int_equal(strain_ctx_new(&v->ctx), 0);
    assert_int_equal(strain_binary_parse(&v->bin, v->ctx, v->data, n), 0);
    strain_sig_opts o = {ca, shared_store, now};
    assert_int_equal(strain_sig_verify(&v->rep, v->ctx, v->bin, &o), 0);
    v->info = strain_sig_report_info(v->rep);
}

static void verify_fx(verified *v, const char *name, const char *ca, long long now)
{
    char p[1200], c[1200];
    snprintf(p, sizeof(p), "%s/%s", fx, name);
    if (ca != NULL) {
        snprintf(c, sizeof(c), "%s/%s", fx, ca);
    }
    verify_path(v, p, ca ? c : NULL, now);
}

static void release(verified *v)
{
    strain_sig_report_free(v->rep);
    strain_binary_free(v->bin);
    strain_ctx_free(v->ctx);
    free(v->data);
}

/* osslsigncode's own opinion of a fixture (no network: -ignore-crl). */
static char *ossl(const char *name, const char *extra)
{
    char *out = NULL;
    th_run(&out, "cd '%s' && osslsigncode verify -ignore-crl %s -in '%s' 2>&1", fx, extra, name);
    assert_non_null(out);
    return out;
}

static const char *line_value(const char *out, const char *key, char *buf, size_t cap)
{
    const char *p = strstr(out, key);
    buf[0] = '\0';
    if (p == NULL) {
        return buf;
    }
    p += strlen(key);
    while (*p == ' ' || *p == ':' || *p == '\t') {
        p++;
    }
    size_t n = strcspn(p, "\r\n");
    while (n > 0 && p[n - 1] == ' ') {
        n--;
    }
    snprintf(buf, cap, "%.*s", (int)n, p);
    return buf;
}

static void expect_one(const char *name, const char *ca, long long now, strain_sig_verdict want,
                       const char *ossl_args, bool ossl_ok)
{
    verified v;
    verify_fx(&v, name, ca, now);
    assert_int_equal(v.info->n_signatures, 1);
    const strain_sig_signature *s = &v.info->signatures[0];
    if (s->verdict != want) {
        fail_msg("%s: verdict %s (%s), want %s", name, strain_sig_verdict_name(s->verdict),
                 s->detail, strain_sig_verdict_name(want));
    }
    if (want == STRAIN_SIG_VALID && v.info->n_warnings > 0) {
        fail_msg("%s: unexpected warning: %s", name, v.info->warnings[0]);
    }
    char *o = ossl(name, ossl_args);
    bool ok = strstr(o, "\nSucceeded") != NULL;
    if (ok != ossl_ok) {
        fail_msg("%s: osslsigncode %s, expected %s:\n%s", name, ok ? "ok" : "failed",
                 ossl_ok ? "ok" : "failed", o);
    }
    /* Same digests as osslsigncode computes and reads. */
    char cur[256], calc[256];
    line_value(o, "Current message digest", cur, sizeof(cur));
    line_value(o, "Calculated message digest", calc, sizeof(calc));
    calc[strcspn(calc, " ")] = '\0'; /* "... MISMATCH!!!" */
    if (strcasecmp(cur, s->digest_signed) != 0 || strcasecmp(calc, s->digest_computed) != 0) {
        fail_msg("%s: digests %s / %s, osslsigncode %s / %s", name, s->digest_signed,
                 s->digest_computed, cur, calc);
    }
    free(o);
    release(&v);
}

static void test_verdicts(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof(args), "-CAfile root.crt -TSA-CAfile root.crt");
    expect_one("valid.exe", "root.crt", 0, STRAIN_SIG_VALID, args, true);
    expect_one("sha1.exe", "root.crt", 0, STRAIN_SIG_VALID, args, true);
    expect_one("md5.exe", "root.crt", 0, STRAIN_SIG_VALID, args, true);
    expect_one("sha384.exe", "root.crt", 0, STRAIN_SIG_VALID, args, true);
    expect_one("sha512.exe", "root.crt", 0, STRAIN_SIG_VALID, args, true);
    expect_one("vendor.exe", "root.crt", 0, STRAIN_SIG_VALID, args, true);
    expect_one("patched.exe", "root.crt", 0, STRAIN_SIG_DIGEST_MISMATCH, args, false);
    expect_one("transplant.exe", "root.crt", 0, STRAIN_SIG_DIGEST_MISMATCH, args, false);
    expect_one("badsig.exe", "root.crt", 0, STRAIN_SIG_BAD_SIGNATURE, args, false);
    expect_one("expired.exe", "root.crt", 0, STRAIN_SIG_EXPIRED, args, false);
    /* A TLS server certificate (EKU serverAuth only) may not sign code. */
    expect_one("serverauth.exe", "root.crt", 0, STRAIN_SIG_UNTRUSTED_ROOT, args, false);
    /* Trusted by nobody: an unrelated root, and the system bundle (no --ca). */
    expect_one("valid.exe", "other.crt", 0, STRAIN_SIG_UNTRUSTED_ROOT,
               "-CAfile other.crt -TSA-CAfile other.crt", false);
    expect_one("valid.exe", NULL, 0, STRAIN_SIG_UNTRUSTED_ROOT, "", false);
    /* A month later the short-lived signer has expired: only a valid timestamp saves it. */
    long long later = fx_now + 30 * 86400;
    snprintf(args, sizeof(args), "-CAfile root.crt -TSA-CAfile root.crt -time %lld", later);
    expect_one("short_nots.exe", "root.crt", later, STRAIN_SIG_EXPIRED, args, false);
    expect_one("short_ts.exe", "root.crt", later, STRAIN_SIG_VALID, args, true);
    expect_one("legacy_ts.exe", "root.crt", later, STRAIN_SIG_VALID, args, true);
    expect_one("unbound_ts.exe", "root.crt", later, STRAIN_SIG_EXPIRED, args, false);
    expect_one("forged_ts.exe", "root.crt", later, STRAIN_SIG_EXPIRED, args, false);
    expect_one("forged_legacy_ts.exe", "root.crt", later, STRAIN_SIG_EXPIRED, args, false);
    /* And today, all three are valid. */
    expect_one("short_nots.exe", "root.crt", 0, STRAIN_SIG_VALID, "-CAfile root.crt", true);
}

static void test_timestamps(void **state)
{
    (void)state;
    long long later = fx_now + 30 * 86400;
    struct {
        const char *name;
        strain_sig_ts_kind kind;
        strain_sig_ts_status status;
    } cases[] = {
        {"short_ts.exe", STRAIN_SIG_TS_RFC3161, STRAIN_SIG_TS_VALID},
        {"legacy_ts.exe", STRAIN_SIG_TS_LEGACY, STRAIN_SIG_TS_VALID},
        {"unbound_ts.exe", STRAIN_SIG_TS_RFC3161, STRAIN_SIG_TS_UNBOUND},
        {"forged_ts.exe", STRAIN_SIG_TS_RFC3161, STRAIN_SIG_TS_BAD_SIGNATURE},
        {"forged_legacy_ts.exe", STRAIN_SIG_TS_LEGACY, STRAIN_SIG_TS_BAD_SIGNATURE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        verified v;
        verify_fx(&v, cases[i].name, "root.crt", later);
        const strain_sig_signature *s = &v.info->signatures[0];
        assert_int_equal(s->n_timestamps, 1);
        const strain_sig_timestamp *t = &s->timestamps[0];
        assert_int_equal(t->kind, cases[i].kind);
        assert_int_equal(t->status, cases[i].status);
        /* The time osslsigncode reads from the same token. */
        char *o = ossl(cases[i].name, "-CAfile root.crt -TSA-CAfile root.crt");
        char tt[64];
        line_value(o, "Timestamp time", tt, sizeof(tt));
        assert_string_equal(tt, t->time_text);
        /* osslsigncode trusts the same timestamps (signature and imprint both checked). */
        bool ossl_ts_ok = strstr(o, "Timestamp Server Signature verification: ok") != NULL;
        assert_int_equal(ossl_ts_ok, t->status == STRAIN_SIG_TS_VALID);
        free(o);
        assert_true(t->time >= fx_now - 60 && t->time <= fx_now + 600);
        assert_int_equal(s->timestamped, t->status == STRAIN_SIG_TS_VALID);
        if (t->status == STRAIN_SIG_TS_VALID) {
            assert_int_equal(s->verify_time, t->time);
            assert_non_null(t->signer);
            assert_string_equal(t->signer->subject, "/C=XX/O=Strain Test/CN=Strain Test TSA");
            assert_true(t->signer->eku_timestamping);
        } else {
            assert_int_equal(s->verify_time, later);
        }
        release(&v);
    }
}

/* `openssl ts -verify` of a token cut out of a fixture, against its own imprint (the imprint
 * is checked by test_timestamps; here the question is the signer certificate). */
static bool openssl_ts_ok(const char *token, char **out)
{
    int rc = th_run(out,
                    "cd '%s' && d=$(openssl ts -reply -in %s -token_in -text 2>/dev/null | "
                    "grep -A4 'Message data' | grep ' - ' | sed 's/^ *[0-9a-f]* - //; s/   .*//' "
                    "| tr -d '\\n -') && openssl ts -verify -token_in -in %s -digest \"$d\" "
                    "-CAfile root.crt 2>&1",
                    fx, token, token);
    return rc == 0 && strstr(*out, "Verification: OK") != NULL;
}

/* ESS binding: ess_ts.exe is short_ts.exe with the TSA certificate in the token swapped for
 * another certificate of the same key, issuer and serial (mkfixtures.sh). The token's
 * signature still verifies with the key, and osslsigncode accepts it; its ESS
 * signingCertificateV2 attribute names the original certificate, which `openssl ts -verify`
 * checks: the token is not trusted, and the expired signer is not saved by it. */
static void test_timestamp_ess(void **state)
{
    (void)state;
    long long later = fx_now + 30 * 86400;
    char *o = NULL;
    assert_true(openssl_ts_ok("ts_token.der", &o));
    free(o);
    assert_false(openssl_ts_ok("ess_token.der", &o));
    assert_non_null(strstr(o, "ess cert id not found"));
    free(o);
    verified v;
    verify_fx(&v, "ess_ts.exe", "root.crt", later);
    const strain_sig_signature *s = &v.info->signatures[0];
    assert_int_equal(s->n_timestamps, 1);
    assert_int_equal(s->timestamps[0].kind, STRAIN_SIG_TS_RFC3161);
    assert_int_equal(s->timestamps[0].status, STRAIN_SIG_TS_BAD_SIGNATURE);
    assert_non_null(strstr(s->timestamps[0].detail, "ESS signingCertificate"));
    assert_false(s->timestamped);
    assert_int_equal(s->verdict, STRAIN_SIG_EXPIRED);
    release(&v);
    /* The untouched token is bound to its certificate. */
    verify_fx(&v, "short_ts.exe", "root.crt", later);
    assert_int_equal(v.info->signatures[0].timestamps[0].status, STRAIN_SIG_TS_VALID);
    release(&v);
    /* osslsigncode does not check ESS: it trusts the swapped token (why openssl ts is the
     * reference here). */
    o = ossl("ess_ts.exe", "-CAfile root.crt -TSA-CAfile root.crt");
    assert_non_null(strstr(o, "Timestamp Server Signature verification: ok"));
    free(o);
}

static void test_nested_and_records(void **state)
{
    (void)state;
    verified v;
    verify_fx(&v, "nested.exe", "root.crt", 0);
    assert_int_equal(v.info->n_entries, 1);
    assert_int_equal(v.info->n_signatures, 2);
    const strain_sig_signature *a = &v.info->signatures[0], *b = &v.info->signatures[1];
    assert_int_equal(a->parent, SIZE_MAX);
    assert_int_equal(b->parent, 0);
    assert_string_equal(a->digest_alg, "SHA1");
    assert_string_equal(b->digest_alg, "SHA256");
    assert_int_equal(a->verdict, STRAIN_SIG_VALID);
    assert_int_equal(b->verdict, STRAIN_SIG_VALID);
    assert_string_equal(a->signer->subject, "/C=XX/O=Strain Test/CN=Strain Test Signer");
    assert_string_equal(b->signer->subject, "/C=XX/O=Vendor Corp/CN=Vendor Corp Code Signing");
    assert_string_equal(a->program_name, "Strain Fixture");
    assert_string_equal(a->program_url, "https://strain.invalid/fixture");
    /* osslsigncode sees the same two signatures. */
    char *o = ossl("nested.exe", "-CAfile root.crt");
    assert_non_null(strstr(o, "Number of verified signatures: 2"));
    free(o);
    /* Certificate records against openssl's own view of the PEM files. */
    char *want = NULL;
    assert_int_equal(th_run(&want,
                            "cd '%s' && openssl x509 -in vendor.crt -noout -serial "
                            "-fingerprint -sha1 -subject -nameopt compat -startdate",
                            fx),
                     0);
    const strain_sig_cert *c = b->signer;
    char serial[128], fp[128];
    line_value(want, "serial=", serial, sizeof(serial));
    line_value(want, "Fingerprint=", fp, sizeof(fp));
    assert_true(strcasecmp(serial, c->serial) == 0);
    char fpn[64] = {0};
    for (size_t i = 0, k = 0; fp[i] && k < 40; i++) {
        if (fp[i] != ':') {
            fpn[k++] = (char)tolower((unsigned char)fp[i]);
        }
    }
    assert_string_equal(fpn, c->sha1);
    assert_string_equal(c->issuer, "/C=XX/O=Strain Test/CN=Strain Test Code Signing CA");
    assert_true(c->eku_code_signing && c->has_key_usage);
    assert_true(c->key_usage & STRAIN_SIG_KU_DIGITAL_SIGNATURE);
    assert_true(c->not_after > c->not_before);
    assert_true(c->der_len > 100);
    free(want);
    /* Chain: leaf, intermediate, root. */
    assert_int_equal(b->n_chain, 3);
    assert_string_equal(b->chain[2].subject, "/C=XX/O=Strain Test/CN=Strain Test Root CA");
    assert_true(b->chain[2].self_signed);
    release(&v);
}

static void test_page_hashes(void **state)
{
    (void)state;
    verified v;
    verify_fx(&v, "pagehash.exe", "root.crt", 0);
    const strain_sig_signature *s = &v.info->signatures[0];
    assert_true(s->has_page_hashes);
    assert_true(s->page_hashes_ok);
    assert_true(s->n_page_hashes > 2);
    assert_int_equal(s->verdict, STRAIN_SIG_VALID);
    release(&v);
    char *o = ossl("pagehash.exe", "-CAfile root.crt");
    assert_non_null(strstr(o, "Page hash algorithm  : SHA256"));
    assert_null(strstr(o, "MISMATCH"));
    free(o);
    verify_fx(&v, "pagehash_patched.exe", "root.crt", 0);
    s = &v.info->signatures[0];
    assert_true(s->has_page_hashes);
    assert_false(s->page_hashes_ok);
    assert_int_equal(s->verdict, STRAIN_SIG_DIGEST_MISMATCH);
    release(&v);
    o = ossl("pagehash_patched.exe", "-CAfile root.crt");
    assert_non_null(strstr(o, "MISMATCH"));
    free(o);
    /* The SHA-1 form (1.3.6.1.4.1.311.2.3.1). */
    verify_fx(&v, "pagehash1.exe", "root.crt", 0);
    s = &v.info->signatures[0];
    assert_true(s->has_page_hashes && s->page_hashes_ok);
    assert_int_equal(s->verdict, STRAIN_SIG_VALID);
    release(&v);
    o = ossl("pagehash1.exe", "-CAfile root.crt");
    assert_non_null(strstr(o, "Page hash algorithm  : SHA1"));
    assert_null(strstr(o, "MISMATCH"));
    free(o);
}

static void test_authentihash_unsigned(void **state)
{
    (void)state;
    /* The authentihash of the unsigned program is the digest osslsigncode put in its
     * signature (one.exe is 512-aligned, so signing added no padding). */
    verified v, w;
    verify_fx(&v, "one.exe", "root.crt", 0);
    verify_fx(&w, "valid.exe", "root.crt", 0);
    assert_true(v.info->is_pe);
    assert_int_equal(v.info->n_signatures, 0);
    char *o = ossl("valid.exe", "-CAfile root.crt");
    char cur[256];
    line_value(o, "Current message digest", cur, sizeof(cur));
    assert_true(strcasecmp(cur, v.info->authentihash) == 0);
    assert_string_equal(v.info->authentihash, w.info->authentihash);
    free(o);
    release(&v);
    release(&w);
}

/* ---- hostile tables: built from valid.exe ---- */

static uint8_t *load_fx(const char *name, size_t *n)
{
    char p[1200];
    snprintf(p, sizeof(p), "%s/%s", fx, name);
    uint8_t *d = th_read_file(p, n);
    assert_non_null(d);
    return d;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Offset of data directory 4 in a PE32+ (the fixtures are x86-64). */
static size_t secdir(const uint8_t *d)
{
    return rd32(d + 0x3c) + 24 + 112 + 4 * 8;
}

static const strain_sig_info *check_bytes(verified *v, uint8_t *d, size_t n)
{
    memset(v, 0, sizeof(*v));
    v->data = d;
    assert_int_equal(strain_ctx_new(&v->ctx), 0);
    assert_int_equal(strain_binary_parse(&v->bin, v->ctx, d, n), 0);
    char ca[1200];
    snprintf(ca, sizeof(ca), "%s/root.crt", fx);
    strain_sig_opts o = {ca, NULL, 0};
    assert_int_equal(strain_sig_verify(&v->rep, v->ctx, v->bin, &o), 0);
    v->info = strain_sig_report_info(v->rep);
    return v->info;
}

static void expect_malformed(uint8_t *d, size_t n, const char *what)
{
    verified v;
    const strain_sig_info *i = check_bytes(&v, d, n);
    if (i->n_signatures < 1 || i->signatures[0].verdict != STRAIN_SIG_MALFORMED || !i->partial ||
        i->n_warnings == 0) {
        fail_msg("%s: expected a malformed verdict with warnings", what);
    }
    release(&v);
}

static void test_hostile(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d;
    /* dwLength past the end of the table and the file. */
    d = load_fx("valid.exe", &n);
    size_t sd = secdir(d), toff = rd32(d + sd);
    wr32(d + toff, 0x7fffffff);
    expect_malformed(d, n, "dwLength past EOF");
    /* dwLength smaller than its own header. */
    d = load_fx("valid.exe", &n);
    wr32(d + toff, 4);
    expect_malformed(d, n, "dwLength < 8");
    /* Table truncated: the file cut in the middle of the PKCS#7. */
    d = load_fx("valid.exe", &n);
    expect_malformed(d, toff + 200, "truncated table");
    /* Table size claims more than the file has. */
    d = load_fx("valid.exe", &n);
    wr32(d + sd + 4, 0x00ffffff);
    {
        verified v;
        const strain_sig_info *i = check_bytes(&v, d, n);
        assert_true(i->partial);
        assert_int_equal(i->n_signatures, 1); /* the entry itself is intact */
        release(&v);
    }
    /* Garbage instead of PKCS#7. */
    d = load_fx("valid.exe", &n);
    for (size_t k = toff + 8; k < n; k++) {
        d[k] = (uint8_t)(k * 131);
    }
    expect_malformed(d, n, "garbage PKCS#7");
    /* Deeply nested ASN.1: SEQUENCEs inside SEQUENCEs to the end of the entry. */
    d = load_fx("valid.exe", &n);
    uint32_t len = rd32(d + toff) - 8;
    for (uint32_t k = 0; k + 2 <= len; k += 2) {
        d[toff + 8 + k] = 0x30;
        d[toff + 8 + k + 1] = 0x80; /* BER indefinite: DER forbids it */
    }
    expect_malformed(d, n, "deep ASN.1");
    /* Huge ASN.1 length. */
    d = load_fx("valid.exe", &n);
    d[toff + 8] = 0x30;
    d[toff + 9] = 0x84;
    wr32(d + toff + 10, 0xfffffff0);
    expect_malformed(d, n, "huge ASN.1 length");
    /* Wrong certificate type. */
    d = load_fx("valid.exe", &n);
    d[toff + 6] = 0x01;
    expect_malformed(d, n, "X.509 certificate type");

    /* Table in the middle: bytes appended after it are hashed (so the signature no longer
     * covers the file), reported, and the table itself still excluded. */
    size_t n2;
    uint8_t *one = load_fx("one.exe", &n2);
    d = load_fx("valid.exe", &n);
    uint8_t *mid = malloc(n + 64);
    assert_non_null(mid);
    memcpy(mid, d, n);
    memset(mid + n, 0x41, 64);
    free(d);
    uint8_t *plain = malloc(n2 + 64);
    assert_non_null(plain);
    memcpy(plain, one, n2);
    memset(plain + n2, 0x41, 64);
    free(one);
    verified v, w;
    const strain_sig_info *i = check_bytes(&v, mid, n + 64);
    const strain_sig_info *j = check_bytes(&w, plain, n2 + 64);
    assert_int_equal(i->signatures[0].verdict, STRAIN_SIG_DIGEST_MISMATCH);
    assert_true(i->partial);
    assert_string_equal(i->authentihash, j->authentihash);
    release(&v);
    release(&w);
}

static void test_abused(void **state)
{
    (void)state;
    verified v;
    verify_fx(&v, "nested.exe", "root.crt", 0);
    char *fp = NULL, *serial = NULL;
    assert_int_equal(th_run(&fp,
                            "cd '%s' && openssl x509 -in leaf.crt -noout -fingerprint "
                            "-sha1 | sed 's/.*=//; s/://g'",
                            fx),
                     0);
    fp[strcspn(fp, "\n")] = '\0';
    assert_int_equal(th_run(&serial,
                            "cd '%s' && openssl x509 -in vendor.crt -noout -serial | "
                            "sed 's/.*=//'",
                            fx),
                     0);
    serial[strcspn(serial, "\n")] = '\0';
    strain_sig_abused none = {"0000000000000000000000000000000000000000", NULL, NULL, NULL};
    assert_int_equal(strain_sig_check_abused(v.rep, &none, 1), 0);
    strain_sig_abused by_fp = {fp, NULL, NULL, NULL};
    assert_int_equal(strain_sig_check_abused(v.rep, &by_fp, 1), 1);
    assert_true(v.info->signatures[0].abused);
    assert_false(v.info->signatures[1].abused);
    strain_sig_abused by_serial = {NULL, NULL, serial,
                                   "/C=XX/O=Strain Test/CN=Strain Test Code Signing CA"};
    assert_int_equal(strain_sig_check_abused(v.rep, &by_serial, 1), 1);
    assert_false(v.info->signatures[0].abused);
    assert_true(v.info->signatures[1].abused);
    strain_sig_abused wrong_issuer = {NULL, NULL, serial, "/CN=Someone Else"};
    assert_int_equal(strain_sig_check_abused(v.rep, &wrong_issuer, 1), 0);
    /* The root is in both chains: flagging it flags both signatures. */
    strain_sig_abused root = {NULL, v.info->signatures[0].chain[2].sha256, NULL, NULL};
    assert_int_equal(strain_sig_check_abused(v.rep, &root, 1), 2);
    free(fp);
    free(serial);
    release(&v);
}

/* ---- signed.tsv ground truth ---- */

static const char *col(char **cols, char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(hdr[i], name) == 0) {
            return cols[i];
        }
    }
    fail_msg("signed.tsv has no column %s", name);
    return "";
}

static int split(char *line, char **out, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        out[n++] = p;
        char *t = strchr(p, '\t');
        if (t == NULL) {
            break;
        }
        *t = '\0';
        p = t + 1;
    }
    return n;
}

/* osslsigncode on one entry of a multi-entry table (it refuses those whole): a copy whose
 * table holds only that entry. */
static char *ossl_entry(const char *path, const strain_sig_info *info, size_t entry)
{
    size_t n;
    uint8_t *d = th_read_file(path, &n);
    assert_non_null(d);
    const strain_sig_entry *e = &info->entries[entry];
    uint32_t padded = (e->length + 7u) & ~7u;
    memmove(d + info->table_offset, d + e->offset, e->length);
    memset(d + info->table_offset + e->length, 0, padded - e->length);
    wr32(d + secdir(d) + 4, padded);
    char tmp[1200];
    snprintf(tmp, sizeof(tmp), "%s/entry%zu.efi", th_tmpdir(), entry);
    assert_int_equal(th_write_file(tmp, d, info->table_offset + padded), 0);
    free(d);
    char *out = NULL;
    th_run(&out, "osslsigncode verify -ignore-crl -in '%s' 2>&1", tmp);
    assert_non_null(out);
    return out;
}

static void test_signed_tsv(void **state)
{
    (void)state;
    char path[2048];
    snprintf(path, sizeof(path), "%s/corpus/signed.tsv", getenv("STRAIN_SHARED_DIR"));
    const char *req = getenv("STRAIN_REQUIRE_CORPUS");
    bool require = req != NULL && strcmp(req, "1") == 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (require) {
            fail_msg("cannot read %s (STRAIN_SHARED_DIR)", path);
        }
        skip();
    }
    const char *signed_dir = getenv("STRAIN_SIGNED_DIR");
    char def[1024];
    if (signed_dir == NULL) {
        snprintf(def, sizeof(def), "%s/.cache/strain-corpus/signed", getenv("HOME"));
        signed_dir = def;
    }
    char hline[4096], line[4096];
    char *hdr[64], *c[64];
    assert_non_null(fgets(hline, sizeof(hline), f));
    int nh = split(hline, hdr, 64);
    int rows = 0, matched = 0, missing = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        int nc = split(line, c, 64);
        assert_int_equal(nc, nh);
        rows++;
        const char *src = col(c, hdr, nh, "source");
        const char *p = col(c, hdr, nh, "path");
        const char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
        char file[2048];
        if (strcmp(src, "npm") == 0) {
            snprintf(file, sizeof(file), "%s/%s/%s/%s%s/%s", getenv("STRAIN_CORPUS_DIR"),
                     col(c, hdr, nh, "actor"), col(c, hdr, nh, "family"),
                     col(c, hdr, nh, "version"),
                     strcmp(col(c, hdr, nh, "format"), "pe32") == 0 ? "@win32-ia32" : "", base);
        } else {
            snprintf(file, sizeof(file), "%s/debian/%s%s", signed_dir, col(c, hdr, nh, "package"),
                     p);
        }
        FILE *t = fopen(file, "rb");
        if (t == NULL) {
            missing++;
            fprintf(stderr, "signed.tsv: missing %s\n", file);
            continue;
        }
        fclose(t);
        verified v;
        verify_path(&v, file, NULL, 0);
        const strain_sig_info *in = v.info;
        assert_int_equal(in->n_entries, atoi(col(c, hdr, nh, "n_cert_entries")));
        /* sig_index "E.S": entry E, signature S within it (0 = primary). */
        size_t entry = (size_t)atoi(col(c, hdr, nh, "sig_index"));
        const char *dot = strchr(col(c, hdr, nh, "sig_index"), '.');
        size_t sub = dot ? (size_t)atoi(dot + 1) : 0, seen = 0;
        const strain_sig_signature *s = NULL;
        for (size_t k = 0; k < in->n_signatures && s == NULL; k++) {
            if (in->signatures[k].entry == entry && seen++ == sub) {
                s = &in->signatures[k];
            }
        }
        assert_non_null(s);
        assert_non_null(s->signer);
        assert_string_equal(s->signer->subject, col(c, hdr, nh, "signer_subject"));
        assert_string_equal(s->signer->issuer, col(c, hdr, nh, "signer_issuer"));
        assert_string_equal(s->signer->serial, col(c, hdr, nh, "signer_serial"));
        assert_true(strcasecmp(s->signer->sha1, col(c, hdr, nh, "signer_sha1")) == 0);
        assert_string_equal(s->digest_alg, col(c, hdr, nh, "digest_algorithm"));
        assert_int_equal(s->digest_ok, strcmp(col(c, hdr, nh, "image_digest_ok"), "yes") == 0);
        assert_true(s->signature_ok);
        if (strcmp(col(c, hdr, nh, "verify_system_ca"), "ok") == 0) {
            assert_int_equal(s->verdict, STRAIN_SIG_VALID);
        } else {
            assert_int_equal(s->verdict, STRAIN_SIG_UNTRUSTED_ROOT);
            assert_string_equal(s->chain_error, col(c, hdr, nh, "verify_system_ca_error"));
        }
        bool has_ts = strcmp(col(c, hdr, nh, "timestamp"), "yes") == 0;
        assert_int_equal(s->n_timestamps > 0, has_ts);
        if (has_ts) {
            assert_string_equal(s->timestamps[0].time_text, col(c, hdr, nh, "timestamp_time"));
        }
        /* osslsigncode, now, on the same bytes (one entry at a time). */
        char *o = in->n_entries > 1 ? ossl_entry(file, in, entry) : NULL;
        if (o == NULL) {
            th_run(&o, "osslsigncode verify -ignore-crl -in '%s' 2>&1", file);
        }
        assert_non_null(o);
        char buf[512];
        const char *signer = strstr(o, "Signer #0:");
        assert_non_null(signer);
        assert_string_equal(line_value(signer, "Subject", buf, sizeof(buf)), s->signer->subject);
        assert_string_equal(line_value(signer, "Issuer", buf, sizeof(buf)), s->signer->issuer);
        assert_string_equal(line_value(signer, "Serial", buf, sizeof(buf)), s->signer->serial);
        assert_string_equal(line_value(o, "Message digest algorithm", buf, sizeof(buf)),
                            s->digest_alg);
        assert_true(strcasecmp(line_value(o, "Current message digest", buf, sizeof(buf)),
                               s->digest_signed) == 0);
        line_value(o, "Calculated message digest", buf, sizeof(buf));
        buf[strcspn(buf, " ")] = '\0';
        assert_true(strcasecmp(buf, s->digest_computed) == 0);
        assert_int_equal(strstr(o, "\nSucceeded") != NULL, s->verdict == STRAIN_SIG_VALID);
        if (has_ts) {
            assert_string_equal(line_value(o, "Timestamp time", buf, sizeof(buf)),
                                s->timestamps[0].time_text);
        }
        free(o);
        release(&v);
        matched++;
    }
    fclose(f);
    fprintf(stderr, "signed.tsv: %d/%d rows matched (%d missing)\n", matched, rows, missing);
    if (missing > 0 && require) {
        fail_msg("signed.tsv: %d files missing and STRAIN_REQUIRE_CORPUS=1", missing);
    }
    if (missing > 0) {
        skip();
    }
}

/* ---- the whole public corpus: signed flag and authentihash ---- */

static void test_corpus_authentihash(void **state)
{
    (void)state;
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    size_t pe = 0, agreed = 0, signed_ = 0;
    char der[1200];
    snprintf(der, sizeof(der), "%s/extract.der", th_tmpdir());
    /* One system store for the whole corpus, as an indexer would hold it. */
    strain_ctx *ctx;
    strain_sig_store *store;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    assert_int_equal(strain_sig_store_new(&store, ctx, NULL), 0);
    shared_store = store;
    for (size_t i = 0; i < n; i++) {
        const th_corpus_file *cf = &files[i];
        if (strncmp(cf->format, "pe", 2) != 0) {
            continue;
        }
        pe++;
        verified v;
        verify_path(&v, cf->path, NULL, 0);
        assert_true(v.info->is_pe);
        assert_int_equal(v.info->n_entries > 0, cf->signed_ != 0);
        assert_int_equal(v.info->n_signatures > 0, cf->signed_ != 0);
        assert_int_equal(strlen(v.info->authentihash), 64);
        /* osslsigncode's digest of the same image: for unsigned files the SpcIndirectData it
         * would sign (extract-data), for signed ones the digest it recomputes. */
        char *o = NULL;
        if (cf->signed_) {
            signed_++;
            th_run(&o,
                   "osslsigncode verify -ignore-crl -in '%s' 2>&1 | "
                   "sed -n 's/^Calculated message digest : *\\([0-9A-F]*\\).*/\\1/p' | head -1",
                   cf->path);
            assert_string_equal(v.info->signatures[0].digest_alg, "SHA256");
        } else {
            th_run(&o,
                   "osslsigncode extract-data -h sha256 -in '%s' -out '%s' >/dev/null 2>&1 && "
                   "openssl asn1parse -inform DER -in '%s' | "
                   "sed -n 's/.*l=  32 prim: OCTET STRING *\\[HEX DUMP\\]://p' | tail -1; "
                   "rm -f '%s'",
                   cf->path, der, der, der);
        }
        assert_non_null(o);
        o[strcspn(o, "\n")] = '\0';
        if (strcasecmp(o, v.info->authentihash) != 0) {
            fail_msg("%s: authentihash %s, osslsigncode %s", cf->path, v.info->authentihash, o);
        }
        agreed++;
        free(o);
        release(&v);
    }
    shared_store = NULL;
    strain_sig_store_free(store);
    strain_ctx_free(ctx);
    fprintf(stderr, "corpus: %zu/%zu PE authentihashes equal osslsigncode's (%zu signed)\n", agreed,
            pe, signed_);
    assert_true(pe > 0);
}

/* Debian's secure-boot CA is not in the system bundle but shim carries it (.vendor_cert):
 * with it as the trust store grub and the kernel verify, as signed.tsv records. */
static void test_debian_vendor_ca(void **state)
{
    (void)state;
    const char *signed_dir = getenv("STRAIN_SIGNED_DIR");
    char def[1024], shim[1200], ca[1200];
    if (signed_dir == NULL) {
        snprintf(def, sizeof(def), "%s/.cache/strain-corpus/signed", getenv("HOME"));
        signed_dir = def;
    }
    snprintf(shim, sizeof(shim), "%s/debian/shim-signed/usr/lib/shim/shimx64.efi.signed",
             signed_dir);
    FILE *f = fopen(shim, "rb");
    if (f == NULL) {
        const char *req = getenv("STRAIN_REQUIRE_CORPUS");
        if (req != NULL && strcmp(req, "1") == 0) {
            fail_msg("missing %s and STRAIN_REQUIRE_CORPUS=1", shim);
        }
        skip();
    }
    fclose(f);
    snprintf(ca, sizeof(ca), "%s/debian-ca.pem", th_tmpdir());
    char *o = NULL;
    int rc = th_run(&o,
                    "/usr/bin/python3 '%s/tests/unit/sig/vendor_cert.py' '%s' | "
                    "openssl x509 -inform DER -out '%s' && "
                    "openssl x509 -in '%s' -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'",
                    getenv("STRAIN_SOURCE_DIR"), shim, ca, ca);
    assert_int_equal(rc, 0);
    o[strcspn(o, "\n")] = '\0';
    /* The certificate signed.tsv names. */
    assert_string_equal(o, "53610CF81FBD7E0CEB67913C9EF3E794A9633ECB");
    free(o);
    const char *files[] = {
        "grub-efi-amd64-signed/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
        "linux-image-6.1.0-56-amd64/boot/vmlinuz-6.1.0-56-amd64",
    };
    for (size_t i = 0; i < 2; i++) {
        char p[1400];
        snprintf(p, sizeof(p), "%s/debian/%s", signed_dir, files[i]);
        verified v;
        verify_path(&v, p, ca, 0);
        assert_int_equal(v.info->signatures[0].verdict, STRAIN_SIG_VALID);
        assert_int_equal(v.info->signatures[0].n_chain, 2);
        release(&v);
        th_run(&o, "osslsigncode verify -ignore-crl -CAfile '%s' -in '%s' 2>&1", ca, p);
        assert_non_null(strstr(o, "\nSucceeded"));
        free(o);
    }
}

int main(void)
{
    if (!th_have("osslsigncode") || !th_have("x86_64-w64-mingw32-gcc") || !th_have("openssl")) {
        fprintf(stderr, "osslsigncode, mingw-w64 and openssl are required\n");
        return 1;
    }
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_timestamp_ess),
        cmocka_unit_test(test_nested_and_records),
        cmocka_unit_test(test_page_hashes),
        cmocka_unit_test(test_authentihash_unsigned),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_abused),
        cmocka_unit_test(test_signed_tsv),
        cmocka_unit_test(test_corpus_authentihash),
        cmocka_unit_test(test_debian_vendor_ca),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, setup, NULL);
}
