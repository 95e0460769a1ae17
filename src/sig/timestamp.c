/*
 * Timestamps on a signer: legacy PKCS#9 countersignatures (1.2.840.113549.1.9.6, a SignerInfo
 * whose messageDigest covers the signer's encryptedDigest) and RFC 3161 tokens
 * (1.3.6.1.4.1.311.3.3.1, a SignedData over a TSTInfo whose messageImprint covers the same
 * bytes). A timestamp counts only when it is bound to this signature, its own signature
 * verifies (for a token: under the certificate its ESS signingCertificate attribute names)
 * and the TSA chain is trusted at the time it claims: a token lifted from another file is
 * "unbound" and a re-signed one "bad-signature", and neither moves the time the signer's
 * chain is judged at.
 */
#include <string.h>

#include <openssl/cms.h>
#include <openssl/ess.h>
#include <openssl/objects.h>
#include <openssl/ts.h>

#include "sig/sig_impl.h"
#include "util/limits.h"

#define OID_RFC3161_TOKEN "1.3.6.1.4.1.311.3.3.1"

static bool obj_is(const ASN1_OBJECT *o, const char *dotted)
{
    char buf[80];
    return o != NULL && OBJ_obj2txt(buf, sizeof(buf), o, 1) > 0 && strcmp(buf, dotted) == 0;
}

/* Is msg the digest (with md) of the signer's encryptedDigest? */
static int bound(const EVP_MD *md, const ASN1_OCTET_STRING *enc_digest, const uint8_t *msg,
                 size_t msg_len)
{
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    if (md == NULL || enc_digest == NULL) {
        return 0;
    }
    if (EVP_Digest(enc_digest->data, (size_t)enc_digest->length, h, &hl, md, NULL) != 1) {
        return STRAIN_ENOMEM;
    }
    return hl == msg_len && memcmp(h, msg, hl) == 0;
}

/* TSA chain at the time the timestamp claims; sets status when untrusted. */
static int tsa_chain(strain_sig_report *r, strain_sig_timestamp *ts, X509 *tsa,
                     STACK_OF(X509) * certs)
{
    const strain_sig_cert *chain = NULL;
    size_t n = 0;
    int verr = 0;
    int err =
        strain_sig__chain_verify(r, tsa, certs, ts->time, X509_PURPOSE_ANY, &chain, &n, &verr);
    if (err < 0) {
        return err;
    }
    if (verr != X509_V_OK) {
        ts->status = STRAIN_SIG_TS_UNTRUSTED;
        ts->detail = X509_verify_cert_error_string(verr);
    }
    return 0;
}

static int signer_record(strain_sig_report *r, strain_sig_timestamp *ts, X509 *x)
{
    if (x == NULL) {
        return 0;
    }
    strain_sig_cert *rec = strain_arena_alloc(&r->arena, sizeof(*rec));
    if (rec == NULL) {
        return STRAIN_ENOMEM;
    }
    ts->signer = rec;
    return strain_sig__cert_record(rec, r, x);
}

static int legacy(strain_sig_report *r, strain_sig_timestamp *ts, PKCS7 *p7, PKCS7_SIGNER_INFO *si,
                  ASN1_TYPE *t)
{
    PKCS7_SIGNER_INFO *csi = NULL;
    int err = 0;
    ts->kind = STRAIN_SIG_TS_LEGACY;
    ts->status = STRAIN_SIG_TS_MALFORMED;
    ts->detail = "countersignature unreadable";
    if (t == NULL || t->type != V_ASN1_SEQUENCE) {
        return 0;
    }
    const unsigned char *p = t->value.sequence->data;
    csi = d2i_PKCS7_SIGNER_INFO(NULL, &p, t->value.sequence->length);
    ERR_clear_error();
    if (csi == NULL) {
        return 0;
    }
    const EVP_MD *md = strain_sig__md_from_alg(csi->digest_alg);
    ts->digest_alg = md ? strain_sig__md_name(md) : "";
    ASN1_TYPE *st = PKCS7_get_signed_attribute(csi, NID_pkcs9_signingTime);
    ASN1_TYPE *mdv = PKCS7_get_signed_attribute(csi, NID_pkcs9_messageDigest);
    if (st == NULL || (st->type != V_ASN1_UTCTIME && st->type != V_ASN1_GENERALIZEDTIME) ||
        !strain_sig__time_to_unix(st->value.utctime, &ts->time) || mdv == NULL ||
        mdv->type != V_ASN1_OCTET_STRING || md == NULL) {
        ts->detail = "countersignature lacks signingTime or messageDigest";
        goto done;
    }
    strain_sig__time_text(ts->time_text, st->value.utctime);
    X509 *tsa = strain_sig__find_signer(p7->d.sign->cert, csi);
    if ((err = signer_record(r, ts, tsa)) < 0) {
        goto done;
    }
    int b = bound(md, si->enc_digest, mdv->value.octet_string->data,
                  (size_t)mdv->value.octet_string->length);
    if (b < 0) {
        err = b;
        goto done;
    }
    if (b == 0) {
        ts->status = STRAIN_SIG_TS_UNBOUND;
        ts->detail = "countersignature messageDigest is not over this signature";
        goto done;
    }
    const char *why = "";
    int v = strain_sig__signer_verify(csi, tsa, si->enc_digest->data,
                                      (size_t)si->enc_digest->length, &why);
    if (v < 0) {
        err = v;
        goto done;
    }
    if (v == 0) {
        ts->status = STRAIN_SIG_TS_BAD_SIGNATURE;
        ts->detail = why;
        goto done;
    }
    ts->status = STRAIN_SIG_TS_VALID;
    ts->detail = "";
    err = tsa_chain(r, ts, tsa, p7->d.sign->cert);
done:
    PKCS7_SIGNER_INFO_free(csi);
    return err;
}

/*
 * RFC 3161 2.4.1: a token names the TSA certificate it was signed under in a signed ESS
 * signingCertificate (RFC 2634, SHA-1 ESSCertID) or signingCertificateV2 (RFC 5035)
 * attribute. The signature only binds the key: without this check another certificate for
 * the same key (another name, other extensions, same issuer and serial) passes for the one
 * the TSA signed with. 1 bound, 0 not (attribute missing, malformed or naming another
 * certificate; *why says which), negative on out of memory.
 */
static int ess_bound(CMS_SignerInfo *tsi, X509 *tsa, const char **why)
{
    ASN1_STRING *v1 = CMS_signed_get0_data_by_OBJ(
        tsi, OBJ_nid2obj(NID_id_smime_aa_signingCertificate), -3, V_ASN1_SEQUENCE);
    ASN1_STRING *v2 = CMS_signed_get0_data_by_OBJ(
        tsi, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3, V_ASN1_SEQUENCE);
    ESS_SIGNING_CERT *ss = NULL;
    ESS_SIGNING_CERT_V2 *ss2 = NULL;
    STACK_OF(X509) *chain = NULL;
    int r = 0;
    *why = "no ESS signingCertificate attribute names the TSA certificate (RFC 3161 2.4.1)";
    if (v1 == NULL && v2 == NULL) {
        goto done;
    }
    *why = "ESS signingCertificate attribute unreadable";
    if (v1 != NULL) {
        const unsigned char *p = v1->data;
        if ((ss = d2i_ESS_SIGNING_CERT(NULL, &p, v1->length)) == NULL) {
            goto done;
        }
    }
    if (v2 != NULL) {
        const unsigned char *p = v2->data;
        if ((ss2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, v2->length)) == NULL) {
            goto done;
        }
    }
    if ((chain = sk_X509_new_null()) == NULL || !sk_X509_push(chain, tsa)) {
        r = STRAIN_ENOMEM;
        goto done;
    }
    /* both attributes, when present, must name the signer (first ESSCertID) */
    r = OSSL_ESS_check_signing_certs(ss, ss2, chain, 1) > 0;
    *why = r ? "" : "ESS signingCertificate names another certificate than the token's TSA";
done:
    ERR_clear_error();
    sk_X509_free(chain);
    ESS_SIGNING_CERT_free(ss);
    ESS_SIGNING_CERT_V2_free(ss2);
    return r;
}

/* RFC 3161 tokens are CMS, not PKCS#7: Microsoft's TSA puts attribute certificates in the
 * certificate set, which the PKCS#7 decoder refuses, so the token goes through the CMS API. */
static int rfc3161(strain_sig_report *r, strain_sig_timestamp *ts, PKCS7 *p7, PKCS7_SIGNER_INFO *si,
                   ASN1_TYPE *t)
{
    CMS_ContentInfo *cms = NULL;
    TS_TST_INFO *tst = NULL;
    STACK_OF(X509) *certs = NULL, *signers = NULL;
    int err = 0;
    ts->kind = STRAIN_SIG_TS_RFC3161;
    ts->status = STRAIN_SIG_TS_MALFORMED;
    ts->detail = "timestamp token unreadable";
    if (t == NULL || t->type != V_ASN1_SEQUENCE) {
        return 0;
    }
    const unsigned char *p = t->value.sequence->data;
    cms = d2i_CMS_ContentInfo(NULL, &p, t->value.sequence->length);
    if (cms == NULL || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
        OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo) {
        goto done;
    }
    ASN1_OCTET_STRING **content = CMS_get0_content(cms);
    if (content == NULL || *content == NULL) {
        goto done;
    }
    const unsigned char *q = (*content)->data;
    tst = d2i_TS_TST_INFO(NULL, &q, (*content)->length);
    if (tst == NULL) {
        goto done;
    }
    const ASN1_GENERALIZEDTIME *gt = TS_TST_INFO_get_time(tst);
    if (gt == NULL || !strain_sig__time_to_unix(gt, &ts->time)) {
        ts->detail = "TSTInfo genTime unreadable";
        goto done;
    }
    strain_sig__time_text(ts->time_text, gt);
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
    const EVP_MD *imd = strain_sig__md_from_alg(TS_MSG_IMPRINT_get_algo(mi));
    ASN1_OCTET_STRING *msg = TS_MSG_IMPRINT_get_msg(mi);
    CMS_SignerInfo *tsi = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    if (imd == NULL || msg == NULL || tsi == NULL) {
        ts->detail = "messageImprint or SignerInfo unreadable";
        goto done;
    }
    X509_ALGOR *dig = NULL;
    CMS_SignerInfo_get0_algs(tsi, NULL, NULL, &dig, NULL);
    const EVP_MD *smd = strain_sig__md_from_alg(dig);
    ts->digest_alg = smd ? strain_sig__md_name(smd) : "";
    /* The TSA's certificate travels in the token; some signers put it in the outer bag. */
    certs = CMS_get1_certs(cms);
    if (certs == NULL && (certs = sk_X509_new_null()) == NULL) {
        err = STRAIN_ENOMEM;
        goto done;
    }
    for (int i = 0; i < sk_X509_num(p7->d.sign->cert); i++) {
        if (sk_X509_num(certs) >= (int)STRAIN_SIG_MAX_CERTS ||
            !X509_add_cert(certs, sk_X509_value(p7->d.sign->cert, i), X509_ADD_FLAG_UP_REF)) {
            break;
        }
    }
    int b = bound(imd, si->enc_digest, msg->data, (size_t)msg->length);
    if (b < 0) {
        err = b;
        goto done;
    }
    if (b == 0) {
        ts->status = STRAIN_SIG_TS_UNBOUND;
        ts->detail = "messageImprint is not over this signature";
        goto done;
    }
    /* Signature and messageDigest over the TSTInfo only; the chain is judged below at the
     * token's own time, which CMS_verify() cannot do. */
    if (CMS_verify(cms, certs, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
        ts->status = STRAIN_SIG_TS_BAD_SIGNATURE;
        ts->detail = "timestamp signature does not verify";
        goto done;
    }
    signers = CMS_get0_signers(cms);
    X509 *tsa = sk_X509_value(signers, 0);
    if ((err = signer_record(r, ts, tsa)) < 0) {
        goto done;
    }
    const char *why = "";
    int eb = tsa != NULL ? ess_bound(tsi, tsa, &why) : 0;
    if (eb < 0) {
        err = eb;
        goto done;
    }
    if (eb == 0) {
        ts->status = STRAIN_SIG_TS_BAD_SIGNATURE; /* signed, but not under this certificate */
        ts->detail = tsa != NULL ? why : "no TSA certificate for the token's signer";
        goto done;
    }
    ts->status = STRAIN_SIG_TS_VALID;
    ts->detail = "";
    err = tsa == NULL ? 0 : tsa_chain(r, ts, tsa, certs);
done:
    ERR_clear_error();
    sk_X509_free(signers);
    sk_X509_pop_free(certs, X509_free);
    TS_TST_INFO_free(tst);
    CMS_ContentInfo_free(cms);
    return err;
}

int strain_sig__timestamps(strain_sig_report *r, strain_sig_signature *sig, PKCS7 *p7,
                           PKCS7_SIGNER_INFO *si, int64_t *out_time)
{
    STACK_OF(X509_ATTRIBUTE) *ua = PKCS7_get_attributes(si);
    strain_sig_timestamp tmp[STRAIN_SIG_MAX_TIMESTAMPS];
    size_t n = 0;
    int err;
    *out_time = 0;
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(ua); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(ua, i);
        const ASN1_OBJECT *o = X509_ATTRIBUTE_get0_object(a);
        bool is_legacy = OBJ_obj2nid(o) == NID_pkcs9_countersignature;
        if (!is_legacy && !obj_is(o, OID_RFC3161_TOKEN)) {
            continue;
        }
        for (int k = 0; k < X509_ATTRIBUTE_count(a); k++) {
            if (n >= STRAIN_SIG_MAX_TIMESTAMPS) {
                STRAIN_SIG_TRY_WARN(r, "more than %u timestamps: rest ignored",
                                    STRAIN_SIG_MAX_TIMESTAMPS);
                goto publish;
            }
            strain_sig_timestamp *ts = &tmp[n++];
            memset(ts, 0, sizeof(*ts));
            ts->digest_alg = "";
            ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, k);
            err = is_legacy ? legacy(r, ts, p7, si, t) : rfc3161(r, ts, p7, si, t);
            if (err < 0) {
                return err;
            }
            if (ts->status != STRAIN_SIG_TS_VALID) {
                STRAIN_SIG_TRY_WARN(r, "timestamp not trusted (%s): %s",
                                    strain_sig_ts_status_name(ts->status), ts->detail);
            } else if (*out_time == 0) {
                *out_time = ts->time;
            }
        }
    }
publish:
    if (n == 0) {
        return 0;
    }
    strain_sig_timestamp *arr = strain_arena_array(&r->arena, n, sizeof(*arr));
    if (arr == NULL) {
        return STRAIN_ENOMEM;
    }
    memcpy(arr, tmp, n * sizeof(*arr));
    sig->timestamps = arr;
    sig->n_timestamps = n;
    return 0;
}
