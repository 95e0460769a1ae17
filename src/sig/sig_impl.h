/*
 * Private layout of the sig module, shared by its files: the PE layout the Authenticode hash
 * needs, the certificate-table walk, a small DER reader, and the report being built.
 */
#ifndef STRAIN_SIG_IMPL_H
#define STRAIN_SIG_IMPL_H

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <strain/sig.h>

#include "util/arena.h"
#include "util/span.h"
#include "util/vec.h"

/* What the Authenticode image hash needs of a PE (PE/COFF spec, "Calculating the PE Image
 * Hash"); filled from the parsed binary or, failing that, read from the headers here. */
typedef struct strain_sig__range {
    uint64_t offset, size;
} strain_sig__range;

typedef struct strain_sig__layout {
    bool is_pe;
    uint64_t checksum_offset;     /* OptionalHeader.CheckSum */
    uint64_t secdir_entry_offset; /* data directory entry 4 */
    uint64_t size_of_headers;
    uint64_t table_offset, table_size; /* data directory 4: a FILE offset */
    uint32_t page_size;                /* SectionAlignment (page hashes), 0 if unreadable */
    size_t n_sections;
    strain_sig__range *sections; /* raw data, clipped to the file; malloc'd */
} strain_sig__layout;

/* One image digest per algorithm a signature named (MD5, SHA-1, SHA-256/384/512). */
#define STRAIN_SIG_HASH_CACHE 8
typedef struct strain_sig__hash_cache {
    int nid;
    int err;
    unsigned len;
    uint8_t digest[EVP_MAX_MD_SIZE];
} strain_sig__hash_cache;

/* The report under construction; published read-only through strain_sig_info. */
struct strain_sig_report {
    strain_ctx *ctx;
    strain_arena arena; /* strings, records */
    strain_sig_info info;
    strain_vec entries;    /* strain_sig_entry */
    strain_vec signatures; /* strain_sig_signature */
    strain_vec warnings;   /* const char * */
    size_t dropped_warnings;
    /* verification inputs */
    strain_span file;
    strain_sig__layout layout;
    X509_STORE *store;
    int64_t now;
    strain_sig__hash_cache hash_cache[STRAIN_SIG_HASH_CACHE];
    size_t n_hash_cache;
};

/* Records a warning and marks the report partial; 0 or STRAIN_ENOMEM. */
int strain_sig__warn(strain_sig_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Warns and returns from the calling function when out of memory. */
#define STRAIN_SIG_TRY_WARN(r, ...)                                                                \
    do {                                                                                           \
        int warn_err_ = strain_sig__warn((r), __VA_ARGS__);                                        \
        if (warn_err_ < 0) {                                                                       \
            return warn_err_;                                                                      \
        }                                                                                          \
    } while (0)

/* layout.c */
int strain_sig__layout_read(strain_sig__layout *out, strain_sig_report *r,
                            const strain_binary *bin);
void strain_sig__layout_free(strain_sig__layout *l);

/* wincert.c: walks the table, appends to r->entries; returns 0 or STRAIN_ENOMEM. */
int strain_sig__wincert_walk(strain_sig_report *r);

/* authenticode_hash.c */
/* Image hash of r->file with md into out (EVP_MAX_MD_SIZE), *out_len set. 0 or < 0. */
int strain_sig__image_hash(strain_sig_report *r, const EVP_MD *md, uint8_t *out, unsigned *out_len);
/* Checks a page-hash table (4-byte offset + digest per entry) against the file. Returns 1
 * when every page matches, 0 when one differs, < 0 when the table is malformed. */
int strain_sig__page_hashes_check(strain_sig_report *r, const EVP_MD *md, strain_span table,
                                  size_t *out_count);

/* der.c: a bounded DER reader for the Authenticode structures OpenSSL leaves opaque. */
typedef struct strain_der {
    uint8_t cls; /* 0 universal, 1 application, 2 context, 3 private */
    bool constructed;
    uint32_t tag;      /* tag number */
    strain_span value; /* content octets */
    size_t total;      /* header + content */
} strain_der;
/* Reads one TLV at the start of s (definite lengths only, as DER requires). */
bool strain_der_read(strain_span s, strain_der *out);
/* Reads the TLV at *pos inside s and advances *pos. */
bool strain_der_next(strain_span s, size_t *pos, strain_der *out);
/* True when the OID content equals the dotted text (e.g. "1.3.6.1.4.1.311.2.1.4"). */
bool strain_der_oid_is(strain_span oid_value, const char *dotted);

/* chain.c */
/* Fills a record (strings in the arena) from a certificate. 0 or STRAIN_ENOMEM. */
int strain_sig__cert_record(strain_sig_cert *out, strain_sig_report *r, X509 *x);
/* Verifies leaf against r->store with untrusted intermediates at time t (unix seconds).
 * purpose is an X509_PURPOSE_* id. On return out_chain and out_n hold the chain built
 * (arena), out_err the verify error (X509_V_OK when trusted). 0 or STRAIN_ENOMEM. */
int strain_sig__chain_verify(strain_sig_report *r, X509 *leaf, STACK_OF(X509) * untrusted,
                             int64_t t, int purpose, const strain_sig_cert **out_chain,
                             size_t *out_n, int *out_err);
/* asn1 time -> unix seconds; false when unreadable. */
bool strain_sig__time_to_unix(const ASN1_TIME *t, int64_t *out);
/* "Sep  9 16:20:53 2019 GMT" into out (32 bytes). */
void strain_sig__time_text(char out[32], const ASN1_TIME *t);

/* pkcs7.c */
/* Name as osslsigncode prints it ("SHA256"), or NULL for an unknown digest. */
const char *strain_sig__md_name(const EVP_MD *md);
/* Digest for an AlgorithmIdentifier, NULL when not one Authenticode uses. */
const EVP_MD *strain_sig__md_from_alg(const X509_ALGOR *alg);
/* The signer certificate of si inside certs, or NULL. */
X509 *strain_sig__find_signer(STACK_OF(X509) * certs, PKCS7_SIGNER_INFO *si);
/* Checks si over content (messageDigest attribute over content, then the signature over the
 * DER of the authenticated attributes; without attributes, the signature over content).
 * Returns 1 ok, 0 when it does not verify (detail set), < 0 on out-of-memory. */
int strain_sig__signer_verify(PKCS7_SIGNER_INFO *si, X509 *signer, const uint8_t *content,
                              size_t content_len, const char **out_detail);
/* Parses one SignedData blob (a WIN_CERTIFICATE payload or a nested signature) and appends
 * its signature and every nested one to r->signatures. depth = nesting depth. 0/ENOMEM. */
int strain_sig__pkcs7_process(strain_sig_report *r, size_t entry, size_t parent, strain_span der,
                              unsigned depth);

/* timestamp.c: reads every timestamp of si, fills sig->timestamps and returns the time of
 * the first valid one in *out_time (0 when none). 0 or STRAIN_ENOMEM. */
int strain_sig__timestamps(strain_sig_report *r, strain_sig_signature *sig, PKCS7 *p7,
                           PKCS7_SIGNER_INFO *si, int64_t *out_time);

/* verdict.c */
void strain_sig__set_verdict(strain_sig_signature *sig);

#endif
