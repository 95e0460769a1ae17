/*
 * strain/sig.h: Authenticode. Reads every entry of a PE's attribute certificate table, every
 * signature in it (nested ones included), recomputes the image hash and page hashes, checks
 * the signers' signatures, timestamps (legacy countersignatures and RFC 3161 tokens) and
 * certificate chains with OpenSSL, and gives one verdict per signature. Certificates come
 * out as plain records (subject, issuer, serial, thumbprints, validity) so they can be
 * stored and matched against lists of abused certificates.
 *
 * Nothing here downloads anything (no CRL, no AIA): trust is decided by the given store.
 */
#ifndef STRAIN_SIG_H
#define STRAIN_SIG_H

#include "binary.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One verdict per signature. Append only. */
typedef enum strain_sig_verdict {
    STRAIN_SIG_VALID = 0,           /* digest, signature and chain all check out */
    STRAIN_SIG_DIGEST_MISMATCH = 1, /* the file (or its page hashes) changed after signing */
    STRAIN_SIG_BAD_SIGNATURE = 2,   /* the signer's signature or messageDigest does not verify */
    STRAIN_SIG_UNTRUSTED_ROOT = 3,  /* the chain does not reach a trusted root */
    STRAIN_SIG_EXPIRED = 4,         /* a certificate was out of validity and no valid timestamp */
    STRAIN_SIG_MALFORMED = 5,       /* the structure could not be read */
} strain_sig_verdict;

/* "valid", "digest-mismatch", "bad-signature", "untrusted-root", "expired", "malformed". */
STRAIN_API const char *strain_sig_verdict_name(strain_sig_verdict v);

typedef enum strain_sig_ts_kind {
    STRAIN_SIG_TS_LEGACY = 1,  /* PKCS#9 countersignature (1.2.840.113549.1.9.6) */
    STRAIN_SIG_TS_RFC3161 = 2, /* RFC 3161 token (1.3.6.1.4.1.311.3.3.1) */
} strain_sig_ts_kind;

/* Only STRAIN_SIG_TS_VALID timestamps move the chain's evaluation time. Append only. */
typedef enum strain_sig_ts_status {
    STRAIN_SIG_TS_VALID = 0,         /* own signature ok, bound to its signature, TSA trusted */
    STRAIN_SIG_TS_UNBOUND = 1,       /* imprint / messageDigest is not over this signature */
    STRAIN_SIG_TS_BAD_SIGNATURE = 2, /* the timestamp's own signature does not verify, or
                                      * (RFC 3161) its ESS signingCertificate(V2) attribute
                                      * does not name the TSA certificate it carries */
    STRAIN_SIG_TS_UNTRUSTED = 3,     /* the TSA chain does not verify against the store */
    STRAIN_SIG_TS_MALFORMED = 4,
} strain_sig_ts_status;

/* "legacy", "rfc3161" / "valid", "unbound", "bad-signature", "untrusted", "malformed". */
STRAIN_API const char *strain_sig_ts_kind_name(strain_sig_ts_kind k);
STRAIN_API const char *strain_sig_ts_status_name(strain_sig_ts_status s);

/* Key usage bits (X.509 KeyUsage, as OpenSSL's X509_get_key_usage() returns them). */
#define STRAIN_SIG_KU_DIGITAL_SIGNATURE 0x80u
#define STRAIN_SIG_KU_KEY_CERT_SIGN 0x04u

/* A certificate, as a record a database can keep. Strings are never NULL. */
typedef struct strain_sig_cert {
    const char *subject; /* OpenSSL one-line form "/C=US/O=...", as osslsigncode prints it */
    const char *issuer;
    const char *serial;             /* uppercase hex, no separators, as osslsigncode prints it */
    char sha1[STRAIN_SHA1_HEX];     /* thumbprint: lowercase hex of SHA-1 over the DER */
    char sha256[STRAIN_SHA256_HEX]; /* lowercase hex of SHA-256 over the DER */
    int64_t not_before;             /* unix seconds */
    int64_t not_after;
    bool has_key_usage;
    uint32_t key_usage;    /* STRAIN_SIG_KU_* bits */
    bool has_eku;          /* extended key usage present */
    bool eku_code_signing; /* 1.3.6.1.5.5.7.3.3 listed */
    bool eku_timestamping; /* 1.3.6.1.5.5.7.3.8 listed */
    bool self_signed;
    const uint8_t *der; /* the certificate itself */
    size_t der_len;
} strain_sig_cert;

typedef struct strain_sig_timestamp {
    strain_sig_ts_kind kind;
    strain_sig_ts_status status;
    int64_t time;                  /* signingTime (legacy) / genTime (RFC 3161), unix seconds */
    char time_text[32];            /* "Sep  9 16:20:53 2019 GMT" (ASN1_TIME_print form) */
    const char *digest_alg;        /* "SHA256" ... of the timestamp's own signature */
    const strain_sig_cert *signer; /* the TSA certificate, NULL when not found */
    const char *detail;            /* why the status, "" when valid */
} strain_sig_timestamp;

typedef struct strain_sig_signature {
    size_t entry;  /* WIN_CERTIFICATE entry it came from */
    size_t parent; /* index in strain_sig_info.signatures of the signature it is nested in, or
                      SIZE_MAX for an entry's primary signature */
    strain_sig_verdict verdict;
    const char *detail; /* the first reason behind the verdict, "" when valid */
    bool abused;        /* set by strain_sig_check_abused() */
    /* Image digest */
    const char *digest_alg;    /* "SHA256", "SHA1", "MD5", "SHA384", "SHA512" */
    char digest_signed[129];   /* lowercase hex from SpcIndirectDataContent */
    char digest_computed[129]; /* lowercase hex recomputed over the file */
    bool digest_ok;
    bool has_page_hashes; /* SpcSerializedObject with 2.3.1 / 2.3.2 */
    bool page_hashes_ok;
    size_t n_page_hashes;
    /* Signer */
    bool signature_ok;        /* messageDigest attribute and the signature over the attributes */
    const char *program_name; /* SpcSpOpusInfo, NULL when absent */
    const char *program_url;
    const strain_sig_cert *signer; /* NULL when the signer certificate is not in the bag */
    size_t n_certs;                /* every certificate carried by the SignedData */
    const strain_sig_cert *certs;
    /* Chain */
    bool chain_ok;
    const char *chain_error; /* X509_verify_cert_error_string(), "" when ok */
    bool chain_expired;      /* the failure is a certificate out of its validity period */
    int64_t verify_time;     /* when the chain was evaluated (timestamp or now) */
    size_t n_chain;          /* chain built by the verifier, leaf first */
    const strain_sig_cert *chain;
    /* Timestamps */
    size_t n_timestamps;
    const strain_sig_timestamp *timestamps;
    bool timestamped; /* a STRAIN_SIG_TS_VALID timestamp set verify_time */
} strain_sig_signature;

typedef struct strain_sig_entry {
    uint64_t offset;   /* file offset of the WIN_CERTIFICATE header */
    uint32_t length;   /* dwLength as written */
    uint16_t revision; /* wRevision (0x0200 = WIN_CERT_REVISION_2_0) */
    uint16_t type;     /* wCertificateType (0x0002 = WIN_CERT_TYPE_PKCS_SIGNED_DATA) */
    bool readable;     /* header and dwLength fit in the table */
} strain_sig_entry;

typedef struct strain_sig_info {
    bool is_pe;
    char authentihash[STRAIN_SHA256_HEX]; /* SHA-256 Authenticode image hash, "" if not PE */
    uint64_t table_offset;                /* data directory 4 (a file offset), 0 when none */
    uint64_t table_size;
    size_t n_entries;
    const strain_sig_entry *entries;
    size_t n_signatures; /* primary signatures and nested ones, in file order */
    const strain_sig_signature *signatures;
    bool partial; /* something could not be read: see warnings */
    size_t n_warnings;
    const char *const *warnings;
} strain_sig_info;

/*
 * A loaded trust store, to share across many verifications (loading the system bundle costs
 * tens of milliseconds). ca_file is a PEM file of trusted certificates; NULL means the
 * system bundle /etc/ssl/certs/ca-certificates.crt. Fails with STRAIN_EIO when unreadable.
 * Free with strain_sig_store_free(). A store may be used by several threads at once once
 * loaded (OpenSSL's X509_STORE is locked internally).
 */
typedef struct strain_sig_store strain_sig_store;
STRAIN_API int strain_sig_store_new(strain_sig_store **out, strain_ctx *ctx, const char *ca_file);
STRAIN_API void strain_sig_store_free(strain_sig_store *store);

typedef struct strain_sig_opts {
    const char *ca_file;           /* PEM trust store; NULL = /etc/ssl/certs/ca-certificates.crt */
    const strain_sig_store *store; /* borrowed; when set, used instead of ca_file */
    int64_t now;                   /* unix seconds to evaluate untimestamped chains at; 0 = now */
} strain_sig_opts;

typedef struct strain_sig_report strain_sig_report;

/*
 * Reads and verifies the Authenticode signatures of bin (a PE; other formats give an empty
 * report with is_pe false). opts may be NULL. Hostile or broken signatures become
 * STRAIN_SIG_MALFORMED verdicts and warnings, never a failure: fails only for
 * out-of-memory, bad arguments, or an unreadable trust store (STRAIN_EIO). The caller frees
 * *out with strain_sig_report_free(). Thread-safe for distinct contexts.
 */
STRAIN_API int strain_sig_verify(strain_sig_report **out, strain_ctx *ctx, const strain_binary *bin,
                                 const strain_sig_opts *opts);
/* NULL-safe. */
STRAIN_API void strain_sig_report_free(strain_sig_report *report);
/* Borrowed until the report is freed (or changed by strain_sig_check_abused). */
STRAIN_API const strain_sig_info *strain_sig_report_info(const strain_sig_report *report);

/* An abused certificate: matched by either thumbprint, or by serial and issuer. */
typedef struct strain_sig_abused {
    const char *sha1;   /* hex, any case, or NULL */
    const char *sha256; /* hex, any case, or NULL */
    const char *serial; /* hex, any case, leading zeros ignored, or NULL */
    const char *issuer; /* one-line form; required with serial */
} strain_sig_abused;

/*
 * Sets `abused` on every signature whose signer certificate, or any certificate of its
 * chain, matches an entry of list. Returns the number of signatures flagged. Not
 * thread-safe for the same report.
 */
STRAIN_API int strain_sig_check_abused(strain_sig_report *report, const strain_sig_abused *list,
                                       size_t n);

#ifdef __cplusplus
}
#endif
#endif
