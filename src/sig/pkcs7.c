/*
 * One Authenticode SignedData: OpenSSL decodes the PKCS#7 envelope; the Authenticode payload
 * (SpcIndirectDataContent: the image digest, the page-hash moniker) and SpcSpOpusInfo are
 * read with the bounded DER reader because OpenSSL treats them as opaque. Signatures are
 * checked by hand (messageDigest attribute, then the signature over the DER of the
 * authenticated attributes) rather than with PKCS7_verify(), so each failure gets its own
 * verdict instead of one generic error. Nested signatures (1.3.6.1.4.1.311.2.4.1) recurse,
 * bounded by STRAIN_SIG_MAX_NEST_DEPTH and STRAIN_SIG_MAX_SIGNATURES.
 */
#include <string.h>

#include <openssl/objects.h>

#include "sig/sig_impl.h"
#include "util/hex.h"
#include "util/limits.h"

#define OID_SPC_INDIRECT_DATA "1.3.6.1.4.1.311.2.1.4"
#define OID_SPC_SP_OPUS_INFO "1.3.6.1.4.1.311.2.1.12"
#define OID_SPC_NESTED_SIGNATURE "1.3.6.1.4.1.311.2.4.1"
#define OID_PAGE_HASHES_V1 "1.3.6.1.4.1.311.2.3.1" /* SHA-1 pages */
#define OID_PAGE_HASHES_V2 "1.3.6.1.4.1.311.2.3.2" /* SHA-256 pages */

/* SpcSerializedObject.classId of the page-hash moniker. */
static const uint8_t PAGE_HASH_CLASSID[16] = {0xa6, 0xb5, 0x86, 0xd5, 0xb4, 0xa1, 0x24, 0x66,
                                              0xae, 0x05, 0xa2, 0x17, 0xda, 0x8e, 0x60, 0xd6};

const char *strain_sig__md_name(const EVP_MD *md)
{
    switch (md ? EVP_MD_get_type(md) : NID_undef) {
    case NID_md5: return "MD5";
    case NID_sha1: return "SHA1";
    case NID_sha256: return "SHA256";
    case NID_sha384: return "SHA384";
    case NID_sha512: return "SHA512";
    default: return NULL;
    }
}

const EVP_MD *strain_sig__md_from_alg(const X509_ALGOR *alg)
{
    if (alg == NULL || alg->algorithm == NULL) {
        return NULL;
    }
    switch (OBJ_obj2nid(alg->algorithm)) {
    case NID_md5: return EVP_md5();
    case NID_sha1: return EVP_sha1();
    case NID_sha256: return EVP_sha256();
    case NID_sha384: return EVP_sha384();
    case NID_sha512: return EVP_sha512();
    default: return NULL;
    }
}

X509 *strain_sig__find_signer(STACK_OF(X509) * certs, PKCS7_SIGNER_INFO *si)
{
    if (certs == NULL || si == NULL || si->issuer_and_serial == NULL) {
        return NULL;
    }
    return X509_find_by_issuer_and_serial(certs, si->issuer_and_serial->issuer,
                                          si->issuer_and_serial->serial);
}

static bool obj_is(const ASN1_OBJECT *o, const char *dotted)
{
    char buf[80];
    if (o == NULL || OBJ_obj2txt(buf, sizeof(buf), o, 1) <= 0) {
        return false;
    }
    return strcmp(buf, dotted) == 0;
}

int strain_sig__signer_verify(PKCS7_SIGNER_INFO *si, X509 *signer, const uint8_t *content,
                              size_t content_len, const char **out_detail)
{
    const EVP_MD *md = strain_sig__md_from_alg(si->digest_alg);
    EVP_MD_CTX *mc = NULL;
    unsigned char *abuf = NULL;
    int ret = 0;
    *out_detail = "";
    if (md == NULL) {
        *out_detail = "unsupported signer digest algorithm";
        return 0;
    }
    if (signer == NULL) {
        *out_detail = "signer certificate not found";
        return 0;
    }
    EVP_PKEY *pkey = X509_get0_pubkey(signer);
    if (pkey == NULL || si->enc_digest == NULL) {
        *out_detail = "signer public key unreadable";
        return 0;
    }
    const unsigned char *data = content;
    size_t dlen = content_len;
    STACK_OF(X509_ATTRIBUTE) *attrs = PKCS7_get_signed_attributes(si);
    if (sk_X509_ATTRIBUTE_num(attrs) > 0) {
        /* RFC 2315 9.3: with attributes, messageDigest covers the content and the signature
         * covers the DER SET OF the attributes. */
        ASN1_TYPE *mdv = PKCS7_get_signed_attribute(si, NID_pkcs9_messageDigest);
        uint8_t h[EVP_MAX_MD_SIZE];
        unsigned hl = 0;
        if (mdv == NULL || mdv->type != V_ASN1_OCTET_STRING) {
            *out_detail = "no messageDigest attribute";
            return 0;
        }
        if (EVP_Digest(content, content_len, h, &hl, md, NULL) != 1) {
            return STRAIN_ENOMEM;
        }
        if ((unsigned)mdv->value.octet_string->length != hl ||
            memcmp(mdv->value.octet_string->data, h, hl) != 0) {
            *out_detail = "messageDigest attribute does not match the signed content";
            return 0;
        }
        int alen = ASN1_item_i2d((ASN1_VALUE *)attrs, &abuf, ASN1_ITEM_rptr(PKCS7_ATTR_VERIFY));
        if (alen <= 0) {
            *out_detail = "authenticated attributes cannot be re-encoded";
            return 0;
        }
        data = abuf;
        dlen = (size_t)alen;
    }
    mc = EVP_MD_CTX_new();
    if (mc == NULL) {
        ret = STRAIN_ENOMEM;
        goto done;
    }
    if (EVP_DigestVerifyInit(mc, NULL, md, NULL, pkey) == 1 &&
        EVP_DigestVerify(mc, si->enc_digest->data, (size_t)si->enc_digest->length, data, dlen) ==
            1) {
        ret = 1;
    } else {
        *out_detail = "signature does not verify with the signer's key";
    }
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mc);
    OPENSSL_free(abuf);
    return ret;
}

/* Page-hash table from SpcPeImageData, if there is one: sets *out_md (SHA-1 or SHA-256). */
static bool find_page_hashes(strain_span pe_image_data, strain_span *out, const EVP_MD **out_md)
{
    strain_der seq, d;
    size_t pos = 0;
    /* SpcPeImageData ::= SEQUENCE { flags BIT STRING, file [0] EXPLICIT SpcLink OPTIONAL } */
    if (!strain_der_read(pe_image_data, &seq) || seq.tag != 16) {
        return false;
    }
    if (!strain_der_next(seq.value, &pos, &d) || d.tag != 3 ||
        !strain_der_next(seq.value, &pos, &d) || d.cls != 2 || d.tag != 0) {
        return false;
    }
    /* SpcLink ::= CHOICE { url [0], moniker [1] IMPLICIT SpcSerializedObject, file [2] } */
    strain_der link, cls, ser, set, attr, oid, vset, os;
    if (!strain_der_read(d.value, &link) || link.cls != 2 || link.tag != 1) {
        return false;
    }
    pos = 0;
    if (!strain_der_next(link.value, &pos, &cls) || cls.tag != 4 ||
        cls.value.len != sizeof(PAGE_HASH_CLASSID) ||
        memcmp(cls.value.p, PAGE_HASH_CLASSID, sizeof(PAGE_HASH_CLASSID)) != 0 ||
        !strain_der_next(link.value, &pos, &ser) || ser.tag != 4) {
        return false;
    }
    /* serializedData: SET { SEQUENCE { OID (2.3.1 | 2.3.2), SET { OCTET STRING table } } } */
    if (!strain_der_read(ser.value, &set) || set.tag != 17 || !strain_der_read(set.value, &attr) ||
        attr.tag != 16) {
        return false;
    }
    pos = 0;
    if (!strain_der_next(attr.value, &pos, &oid) || oid.tag != 6 ||
        !strain_der_next(attr.value, &pos, &vset) || vset.tag != 17 ||
        !strain_der_read(vset.value, &os) || os.tag != 4) {
        return false;
    }
    if (strain_der_oid_is(oid.value, OID_PAGE_HASHES_V1)) {
        *out_md = EVP_sha1();
    } else if (strain_der_oid_is(oid.value, OID_PAGE_HASHES_V2)) {
        *out_md = EVP_sha256();
    } else {
        return false;
    }
    *out = os.value;
    return true;
}

/* SpcString ::= CHOICE { unicode [0] IMPLICIT BMPString, ascii [1] IMPLICIT IA5String } */
static const char *spc_string(strain_sig_report *r, strain_der *s)
{
    if (s->tag == 1) {
        return strain_arena_strndup(&r->arena, (const char *)s->value.p, s->value.len);
    }
    if (s->tag != 0) {
        return NULL;
    }
    /* BMPString (UTF-16BE) to UTF-8, BMP only (surrogates become '?'). */
    char *out = strain_arena_alloc(&r->arena, s->value.len / 2 * 3 + 1);
    size_t n = 0;
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i + 1 < s->value.len; i += 2) {
        unsigned c = ((unsigned)s->value.p[i] << 8) | s->value.p[i + 1];
        if (c >= 0xd800 && c < 0xe000) {
            c = '?';
        }
        if (c < 0x80) {
            out[n++] = (char)c;
        } else if (c < 0x800) {
            out[n++] = (char)(0xc0 | (c >> 6));
            out[n++] = (char)(0x80 | (c & 0x3f));
        } else {
            out[n++] = (char)(0xe0 | (c >> 12));
            out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[n] = '\0';
    return out;
}

/* SpcSpOpusInfo ::= SEQUENCE { programName [0] EXPLICIT SpcString OPTIONAL,
 *                              moreInfo [1] EXPLICIT SpcLink OPTIONAL } */
static void opus_info(strain_sig_report *r, strain_sig_signature *sig, PKCS7_SIGNER_INFO *si)
{
    STACK_OF(X509_ATTRIBUTE) *attrs = PKCS7_get_signed_attributes(si);
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, i);
        if (!obj_is(X509_ATTRIBUTE_get0_object(a), OID_SPC_SP_OPUS_INFO)) {
            continue;
        }
        ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
        if (t == NULL || t->type != V_ASN1_SEQUENCE) {
            return;
        }
        strain_der seq, f, inner;
        strain_span s =
            strain_span_make(t->value.sequence->data, (size_t)t->value.sequence->length);
        if (!strain_der_read(s, &seq)) {
            return;
        }
        size_t pos = 0;
        while (strain_der_next(seq.value, &pos, &f)) {
            if (f.cls != 2 || !strain_der_read(f.value, &inner)) {
                continue;
            }
            if (f.tag == 0) {
                sig->program_name = spc_string(r, &inner);
            } else if (f.tag == 1 && inner.cls == 2 && inner.tag == 0) {
                sig->program_url =
                    strain_arena_strndup(&r->arena, (const char *)inner.value.p, inner.value.len);
            }
        }
        return;
    }
}

/* SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue,
 *                                        messageDigest DigestInfo } */
typedef struct spc_content {
    strain_span value;   /* content octets: what messageDigest covers */
    strain_span pe_data; /* SpcPeImageData TLV, may be empty */
    strain_span digest;  /* the image digest */
    const EVP_MD *md;
} spc_content;

static const char *parse_spc(strain_span tlv, spc_content *out)
{
    strain_der seq, data, dig, alg, os, oid;
    size_t pos = 0, p2 = 0;
    memset(out, 0, sizeof(*out));
    if (!strain_der_read(tlv, &seq) || seq.tag != 16 || !seq.constructed) {
        return "SpcIndirectDataContent is not a SEQUENCE";
    }
    out->value = seq.value;
    if (!strain_der_next(seq.value, &pos, &data) || data.tag != 16 ||
        !strain_der_next(seq.value, &pos, &dig) || dig.tag != 16) {
        return "SpcIndirectDataContent fields unreadable";
    }
    if (strain_der_next(data.value, &p2, &oid) && oid.tag == 6 && p2 < data.value.len) {
        strain_span_tail(data.value, p2, &out->pe_data);
    }
    pos = 0;
    if (!strain_der_next(dig.value, &pos, &alg) || alg.tag != 16 ||
        !strain_der_next(dig.value, &pos, &os) || os.tag != 4) {
        return "DigestInfo unreadable";
    }
    /* The AlgorithmIdentifier through OpenSSL: it knows every digest OID. */
    const unsigned char *ap = alg.value.p - (alg.total - alg.value.len);
    X509_ALGOR *xa = d2i_X509_ALGOR(NULL, &ap, (long)alg.total);
    out->md = strain_sig__md_from_alg(xa);
    X509_ALGOR_free(xa);
    if (out->md == NULL) {
        return "unsupported image digest algorithm";
    }
    if (os.value.len != (size_t)EVP_MD_get_size(out->md)) {
        return "image digest length does not match its algorithm";
    }
    out->digest = os.value;
    return NULL;
}

/* Certificates of the SignedData as records. */
static int cert_records(strain_sig_report *r, strain_sig_signature *sig, STACK_OF(X509) * certs,
                        X509 *signer)
{
    int n = sk_X509_num(certs);
    if (n <= 0) {
        return 0;
    }
    if ((unsigned)n > STRAIN_SIG_MAX_CERTS) {
        STRAIN_SIG_TRY_WARN(r, "%d certificates in one signature: first %u kept", n,
                            STRAIN_SIG_MAX_CERTS);
        n = STRAIN_SIG_MAX_CERTS;
    }
    strain_sig_cert *recs = strain_arena_array(&r->arena, (size_t)n, sizeof(*recs));
    if (recs == NULL) {
        return STRAIN_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(certs, i);
        int err = strain_sig__cert_record(&recs[i], r, x);
        if (err < 0) {
            return err;
        }
        if (x == signer) {
            sig->signer = &recs[i];
        }
    }
    sig->certs = recs;
    sig->n_certs = (size_t)n;
    return 0;
}

static int chain_check(strain_sig_report *r, strain_sig_signature *sig, X509 *signer,
                       STACK_OF(X509) * certs, int64_t ts_time)
{
    int verr = 0;
    sig->verify_time = ts_time != 0 ? ts_time : r->now;
    sig->timestamped = ts_time != 0;
    int err = strain_sig__chain_verify(r, signer, certs, sig->verify_time, X509_PURPOSE_ANY,
                                       &sig->chain, &sig->n_chain, &verr);
    if (err < 0) {
        return err;
    }
    /* OpenSSL 3.0 has no code-signing purpose; Windows requires the signer to allow code
     * signing: an EKU, when present, must list it (or anyExtendedKeyUsage), and a KeyUsage,
     * when present, must allow digitalSignature. */
    uint32_t xf = X509_get_extension_flags(signer);
    if (verr == X509_V_OK && (xf & EXFLAG_XKUSAGE) != 0 &&
        (X509_get_extended_key_usage(signer) & (XKU_CODE_SIGN | XKU_ANYEKU)) == 0) {
        verr = X509_V_ERR_INVALID_PURPOSE;
    }
    if (verr == X509_V_OK && (xf & EXFLAG_KUSAGE) != 0 &&
        (X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE) == 0) {
        verr = X509_V_ERR_INVALID_PURPOSE;
    }
    sig->chain_ok = verr == X509_V_OK;
    sig->chain_error = sig->chain_ok ? "" : X509_verify_cert_error_string(verr);
    sig->chain_expired =
        verr == X509_V_ERR_CERT_HAS_EXPIRED || verr == X509_V_ERR_CERT_NOT_YET_VALID;
    return 0;
}

static int malformed(strain_sig_report *r, strain_sig_signature *sig, const char *why)
{
    sig->verdict = STRAIN_SIG_MALFORMED;
    sig->detail = why;
    return strain_sig__warn(r, "signature in entry %zu: %s", sig->entry, why);
}

/* Everything about one SignedData except its nested signatures. */
static int examine(strain_sig_report *r, strain_sig_signature *sig, PKCS7 *p7)
{
    int err;
    if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL || p7->d.sign->contents == NULL) {
        return malformed(r, sig, "not a PKCS#7 SignedData");
    }
    PKCS7 *inner = p7->d.sign->contents;
    if (!obj_is(inner->type, OID_SPC_INDIRECT_DATA) || inner->d.other == NULL ||
        inner->d.other->type != V_ASN1_SEQUENCE) {
        return malformed(r, sig, "content is not SpcIndirectDataContent");
    }
    spc_content spc;
    const char *why = parse_spc(strain_span_make(inner->d.other->value.sequence->data,
                                                 (size_t)inner->d.other->value.sequence->length),
                                &spc);
    if (why != NULL) {
        return malformed(r, sig, why);
    }
    sig->digest_alg = strain_sig__md_name(spc.md);
    strain_hex_encode(sig->digest_signed, spc.digest.p, spc.digest.len);
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    err = strain_sig__image_hash(r, spc.md, h, &hl);
    if (err == STRAIN_ENOMEM) {
        return err;
    }
    if (err == 0) {
        strain_hex_encode(sig->digest_computed, h, hl);
        sig->digest_ok = hl == spc.digest.len && memcmp(h, spc.digest.p, hl) == 0;
    }
    strain_span ph;
    const EVP_MD *phmd = NULL;
    if (spc.pe_data.len > 0 && find_page_hashes(spc.pe_data, &ph, &phmd)) {
        sig->has_page_hashes = true;
        int pr = strain_sig__page_hashes_check(r, phmd, ph, &sig->n_page_hashes);
        if (pr == STRAIN_ENOMEM) {
            return pr;
        }
        sig->page_hashes_ok = pr == 1;
        if (pr < 0) {
            STRAIN_SIG_TRY_WARN(r, "page hash table unreadable (%s)", strain_strerror(pr));
        }
    }

    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
    if (sk_PKCS7_SIGNER_INFO_num(sis) < 1) {
        return malformed(r, sig, "no SignerInfo");
    }
    if (sk_PKCS7_SIGNER_INFO_num(sis) > 1) {
        /* Authenticode allows exactly one; extra signers are reported, not trusted. */
        STRAIN_SIG_TRY_WARN(r, "%d SignerInfos (Authenticode allows one): first used",
                            sk_PKCS7_SIGNER_INFO_num(sis));
    }
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
    STACK_OF(X509) *certs = p7->d.sign->cert;
    X509 *signer = strain_sig__find_signer(certs, si);
    if ((err = cert_records(r, sig, certs, signer)) < 0) {
        return err;
    }
    const char *detail = "";
    int vr = strain_sig__signer_verify(si, signer, spc.value.p, spc.value.len, &detail);
    if (vr < 0) {
        return vr;
    }
    sig->signature_ok = vr == 1;
    sig->detail = detail;
    opus_info(r, sig, si);

    int64_t ts_time = 0;
    if ((err = strain_sig__timestamps(r, sig, p7, si, &ts_time)) < 0) {
        return err;
    }
    if (signer != NULL && (err = chain_check(r, sig, signer, certs, ts_time)) < 0) {
        return err;
    }
    if (signer == NULL) {
        sig->chain_error = "signer certificate not found";
    }
    return 0;
}

/* Nested signatures hang off the primary signer's unauthenticated attributes. */
static int nested(strain_sig_report *r, size_t entry, size_t self, PKCS7 *p7, unsigned depth)
{
    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
    if (si == NULL) {
        return 0;
    }
    STACK_OF(X509_ATTRIBUTE) *ua = PKCS7_get_attributes(si);
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(ua); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(ua, i);
        if (!obj_is(X509_ATTRIBUTE_get0_object(a), OID_SPC_NESTED_SIGNATURE)) {
            continue;
        }
        for (int k = 0; k < X509_ATTRIBUTE_count(a); k++) {
            ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, k);
            if (t == NULL || t->type != V_ASN1_SEQUENCE) {
                STRAIN_SIG_TRY_WARN(r, "nested signature %d is not a SEQUENCE", k);
                continue;
            }
            if (depth + 1 > STRAIN_SIG_MAX_NEST_DEPTH) {
                STRAIN_SIG_TRY_WARN(r, "nested signatures deeper than %u: ignored",
                                    STRAIN_SIG_MAX_NEST_DEPTH);
                return 0;
            }
            int err = strain_sig__pkcs7_process(
                r, entry, self,
                strain_span_make(t->value.sequence->data, (size_t)t->value.sequence->length),
                depth + 1);
            if (err < 0) {
                return err;
            }
        }
    }
    return 0;
}

int strain_sig__pkcs7_process(strain_sig_report *r, size_t entry, size_t parent, strain_span der,
                              unsigned depth)
{
    if (r->signatures.len >= STRAIN_SIG_MAX_SIGNATURES) {
        STRAIN_SIG_TRY_WARN(r, "more than %u signatures: rest ignored", STRAIN_SIG_MAX_SIGNATURES);
        return 0;
    }
    /* The record is filled in a local copy: nested signatures push into the same vector. */
    size_t self = r->signatures.len;
    if (strain_vec_push(&r->signatures) == NULL) {
        return STRAIN_ENOMEM;
    }
    strain_sig_signature sig;
    memset(&sig, 0, sizeof(sig));
    sig.entry = entry;
    sig.parent = parent;
    sig.digest_alg = "";
    sig.detail = "";
    sig.chain_error = "";
    int err = 0;
    const unsigned char *p = der.p;
    PKCS7 *p7 =
        der.len > 0 && der.len < (size_t)INT32_MAX ? d2i_PKCS7(NULL, &p, (long)der.len) : NULL;
    ERR_clear_error();
    if (p7 == NULL) {
        err = malformed(r, &sig, "PKCS#7 SignedData does not decode");
    } else {
        err = examine(r, &sig, p7);
    }
    if (err >= 0) {
        strain_sig__set_verdict(&sig);
    }
    *STRAIN_VEC_AT(&r->signatures, strain_sig_signature, self) = sig;
    if (err >= 0 && p7 != NULL && sig.verdict != STRAIN_SIG_MALFORMED) {
        err = nested(r, entry, self, p7, depth);
    }
    PKCS7_free(p7);
    return err < 0 ? err : 0;
}
