/*
 * strain/certs.h: certificates as evidence. Records the certificates of every indexed
 * sample's Authenticode signatures in the store, imports lists of known-abused certificates,
 * and draws findings from the database:
 *   - a certificate signing clean reference software and samples attributed to an actor
 *     (likely stolen, the LuckyMouse / Stuxnet pattern);
 *   - one certificate across several actors or families (shared or sold certificate);
 *   - a signed kernel driver whose certificate also signs an actor's user-mode samples;
 *   - a valid signature on code sharing nothing with the signer's other signed software in
 *     the database (genome comparison with the code of clean samples left out);
 *   - a signature by a certificate on the imported abused list.
 *
 * "Signs" means: the certificate is the signer (leaf) of a signature whose cryptography holds
 * over this file (verdict valid, untrusted-root or expired). A signature block copied onto
 * another file (digest-mismatch) or forged (bad-signature) does not count: the certificate
 * did not sign that file. Chain certificates (CAs) are stored and listed but never raise
 * findings: one public CA signs every vendor.
 *
 * Threading: the functions use the given store, so one thread at a time per store.
 */
#ifndef STRAIN_CERTS_H
#define STRAIN_CERTS_H

#include "code.h"
#include "sig.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Stores every certificate of rep's signatures (each signer, the chain the verifier built,
 * the certificates carried in the SignedData; not timestamping authorities) and links them to
 * the stored sample sample_id with role, verdict and kernel_driver (pass
 * strain_binary_get_info(bin)->is_driver). Runs in the caller's transaction when one is open,
 * else in its own. Returns the number of certificates linked (0 for an unsigned file), or a
 * negative error (details in the store's context). Call it from `strain add` for every sample.
 */
STRAIN_API int strain_certs_record(strain_store *st, int64_t sample_id,
                                   const strain_sig_report *rep, bool kernel_driver);

/*
 * Imports an abused-certificate list (format: docs/certs.md; CSV or TSV, detected from the
 * header row) into the store, all entries in one transaction: a malformed line fails the
 * whole import with "NAME:LINE: reason" in ctx and leaves the database as it was. *out_n
 * receives the number of entries imported. ctx should be the store's context (messages).
 * The file is read whole (at most 64 MiB). Opens its own transaction: not to be called
 * inside strain_store_begin() (STRAIN_EINVAL).
 */
STRAIN_API int strain_certs_import_file(size_t *out_n, strain_ctx *ctx, strain_store *st,
                                        const char *path);
/* The same over a buffer; name labels the messages. */
STRAIN_API int strain_certs_import_buffer(size_t *out_n, strain_ctx *ctx, strain_store *st,
                                          const void *data, size_t len, const char *name);

/* Finding kinds. Append only. */
typedef enum strain_certs_kind {
    STRAIN_CERTS_ABUSED = 1,       /* signed by a certificate on the abused list */
    STRAIN_CERTS_STOLEN = 2,       /* signs clean software and an actor's samples */
    STRAIN_CERTS_MULTI_ACTOR = 3,  /* signs samples of several actors */
    STRAIN_CERTS_MULTI_FAMILY = 4, /* signs samples of several families */
    STRAIN_CERTS_DRIVER_ACTOR = 5, /* signs a kernel driver and an actor's user-mode samples */
    STRAIN_CERTS_UNRELATED = 6,    /* valid signature on code unlike the signer's other code */
} strain_certs_kind;

/* "abused", "stolen", "multi-actor", "multi-family", "driver-and-actor", "unrelated-code". */
STRAIN_API const char *strain_certs_kind_name(strain_certs_kind k);

/* One finding. Strings are never NULL ("" when absent). */
typedef struct strain_certs_finding {
    strain_certs_kind kind;
    int64_t cert_id;
    char cert_sha1[STRAIN_SHA1_HEX];
    char cert_sha256[STRAIN_SHA256_HEX];
    const char *subject;
    const char *issuer;
    const char *serial;
    const char *text; /* one line for people, e.g. "signs 2 clean samples and ..." */
    size_t n_samples; /* evidence: the samples concerned, ascending ids */
    const int64_t *sample_ids;
    size_t n_actors; /* distinct actors among them */
    const char *const *actors;
    size_t n_families;
    const char *const *families;
    /* STRAIN_CERTS_ABUSED: the list entry's fields. */
    const char *reason;
    const char *list_actor;
    const char *source;
    const char *note;
    /* STRAIN_CERTS_UNRELATED: the best similarity found against the signer's other code. */
    double best_similarity;
} strain_certs_finding;

typedef struct strain_certs_findings strain_certs_findings;
STRAIN_API size_t strain_certs_findings_count(const strain_certs_findings *f);
/* Borrowed until the set is freed; NULL when i is out of range. */
STRAIN_API const strain_certs_finding *strain_certs_findings_get(const strain_certs_findings *f,
                                                                 size_t i);
/* NULL-safe. */
STRAIN_API void strain_certs_findings_free(strain_certs_findings *f);
/*
 * Files whose unrelated-code check was not made because the set's work budget
 * (STRAIN_CERTS_MAX_UNRELATED_COMPARISONS genomes loaded plus comparisons made,
 * src/util/limits.h) ran out: no finding is said about them either way. 0 for NULL.
 */
STRAIN_API size_t strain_certs_findings_skipped(const strain_certs_findings *f);

/*
 * Findings over the whole database (abused, stolen, multi-actor, multi-family,
 * driver-and-actor, unrelated-code), ordered by certificate id then kind (unrelated-code:
 * one finding per file, ascending file id). Unrelated-code findings use the engine's
 * similarity (strain_certs_code_similarity) and STRAIN_CERTS_UNRELATED_THRESHOLD; the
 * comparisons are capped (see strain_certs_findings_skipped). The caller frees *out.
 */
STRAIN_API int strain_certs_findings_db(strain_certs_findings **out, strain_ctx *ctx,
                                        strain_store *st);

/*
 * Findings concerning one stored sample: those of every certificate that signs it, plus its
 * abused-list matches and its own unrelated-code finding. The caller frees *out.
 */
STRAIN_API int strain_certs_findings_sample(strain_certs_findings **out, strain_ctx *ctx,
                                            strain_store *st, int64_t sample_id);

/*
 * Findings about the certificates that sign a file being queried (stored or not): for each
 * signature whose cryptography holds, its signer is looked up in the store by thumbprint and
 * that certificate's database findings (stolen, multi-actor, multi-family, driver-and-actor)
 * are returned whole. Abused-list matches come from strain_certs_match_report(). The caller
 * frees *out.
 */
STRAIN_API int strain_certs_findings_report(strain_certs_findings **out, strain_ctx *ctx,
                                            strain_store *st, const strain_sig_report *rep);

/*
 * Abused-list entries matching a signature report (a file not, or not yet, in the database):
 * one STRAIN_CERTS_ABUSED finding per matching entry (n_samples 0). Uses
 * strain_sig_check_abused(), so it also sets `abused` on rep's signatures.
 */
STRAIN_API int strain_certs_match_report(strain_certs_findings **out, strain_ctx *ctx,
                                         strain_store *st, strain_sig_report *rep);

/*
 * Code similarity between two stored samples in [0, 1] (1 = same code), or a negative error.
 */
typedef double (*strain_certs_similarity_cb)(int64_t a, int64_t b, void *payload);

/*
 * The engine's similarity, to pass to strain_certs_unrelated() with the store as payload:
 * strain_compare() of the two stored genomes after code held by a clean sample other than
 * the two (runtimes, SDKs, goodware added with `strain add --clean`) is left out of both,
 * functions by exact hash and fragments by value; raw figures between unrelated programs
 * built with one toolchain are high because of the runtime they share. score / 100.
 * STRAIN_ENOTFOUND (as a double) when a sample has no stored genome. The database findings
 * and strain_certs_unrelated_report() use the same comparison, but leave out only code held
 * by clean samples the certificate does not sign (the vendor's own clean tools hold its
 * library: that is its code, not a runtime's). One thread per store.
 */
STRAIN_API double strain_certs_code_similarity(int64_t a, int64_t b, void *payload);

/*
 * Below this engine similarity a file shares nothing with the vendor's software. Measured
 * (tests/unit/certs, tests/integration/test_certs_unrelated.sh): a vendor's two tools
 * sharing a small library 0.92 once the runtime is left out, 7-Zip 4.0.2 and 5.2.0 (x64)
 * 0.40; an actor's relay and the vendor's tool 0.00, a secp256k1 module and 7-Zip 0.0005.
 */
#define STRAIN_CERTS_UNRELATED_THRESHOLD 0.10

/*
 * The LuckyMouse pattern for one stored sample: for each certificate validly signing it
 * (verdict "valid": a trusted vendor signature), the vendor's software that certificate
 * validly signs (samples not attributed to an actor: clean or unlabelled; not the actor's
 * other samples, which must not clear each other) is compared with it through sim, at most
 * 32 of them (STRAIN_CERTS_MAX_UNRELATED_PEERS, src/util/limits.h), lowest ids first,
 * stopping at the first that reaches threshold. When at least one was compared and none
 * reached it, a STRAIN_CERTS_UNRELATED finding lists the sample and those compared
 * (best_similarity = the highest score). A sample labelled clean gets none (the analyst's
 * label stands). The database findings and strain_certs_unrelated_report() do the same with
 * the engine's similarity, and also pass over peers of another architecture or without
 * native code (nothing to compare). The caller frees *out.
 */
STRAIN_API int strain_certs_unrelated(strain_certs_findings **out, strain_ctx *ctx,
                                      strain_store *st, int64_t sample_id,
                                      strain_certs_similarity_cb sim, void *payload,
                                      double threshold);

/*
 * The same for a file being queried, stored or not: g is its genome, rep its verified
 * signatures, sha256 its SHA-256 (may be NULL; when the file is stored, it is not compared
 * with itself, and a file stored as clean gets nothing). Each signature with verdict valid
 * whose signer is in the store is judged with the engine's similarity (as
 * strain_certs_code_similarity) against that certificate's vendor software. A file with no
 * native code (none, or .NET) is not judged. The caller frees *out.
 */
STRAIN_API int strain_certs_unrelated_report(strain_certs_findings **out, strain_ctx *ctx,
                                             strain_store *st, const strain_sig_report *rep,
                                             const strain_genome *g, const char *sha256,
                                             double threshold);

#ifdef __cplusplus
}
#endif
#endif
