/*
 * strain/store.h: the reference database. Labelled samples (keyed by SHA-256), their
 * genomes, posting lists of feature hashes for candidate search, and the certificates that
 * signed them.
 *
 * The engine talks to the database only through this header, so a backend is a detail:
 * "sqlite" (one embedded file, the default) today, a server database later. Every backend
 * passes the same conformance suite (tests/unit/store/test_store_conformance.c).
 *
 * Threading: a strain_store is one connection. Use it from one thread at a time (give each
 * thread its own store and its own strain_ctx). Several processes and connections may use
 * one database at once: readers run while one writer adds samples.
 *
 * Durability: every call that changes the database is atomic on its own. Group calls into one
 * atomic unit with strain_store_begin()/commit() (e.g. a sample, its features and its
 * certificates). Once strain_store_commit() returns, the unit survives the process being
 * killed at any moment (see src/store/sqlite.c for the power-loss trade-off).
 */
#ifndef STRAIN_STORE_H
#define STRAIN_STORE_H

#include "common.h"
#include "hash.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strain_store strain_store;

/* Flags for strain_store_open(). */
#define STRAIN_STORE_CREATE 0x1u    /* create the database (and its parent folders) if missing */
#define STRAIN_STORE_READONLY 0x2u  /* never write; refuses a database needing a migration */
#define STRAIN_STORE_SYNC_FULL 0x4u /* also survive power loss: sync every commit (slower) */

/* Longest actor, family, tag or file name kept (bytes, NUL excluded); longer is EINVAL. */
#define STRAIN_STORE_LABEL_MAX 255
#define STRAIN_STORE_NAME_MAX 1023
/* Tags on one sample. */
#define STRAIN_STORE_MAX_TAGS 256
/* Room for a resolved database path, NUL included. */
#define STRAIN_STORE_PATH_MAX 4096

/* Tri-state for the clean flag in labels: leave as is, or set. */
#define STRAIN_STORE_KEEP (-1)

/*
 * Labels of a sample. In a put or label call, a NULL actor/family leaves the stored value
 * alone and "" clears it; tags are added to the stored set unless replace_tags is set; clean
 * is STRAIN_STORE_KEEP, 0 or 1 ("clean" = goodware or library reference code).
 */
typedef struct strain_store_label {
    const char *actor;
    const char *family;
    const char *const *tags;
    size_t n_tags;
    bool replace_tags;
    int clean;
} strain_store_label;

/*
 * A sample's identity and metadata. On put: the caller's; strings are borrowed for the call,
 * empty hash fields mean unknown; sha256 is required (64 lowercase or uppercase hex).
 * On get/list: filled by the store (strings valid as documented by the call).
 */
typedef struct strain_store_sample {
    int64_t id; /* store-assigned, > 0; ignored on put */
    char sha256[STRAIN_SHA256_HEX];
    char md5[STRAIN_MD5_HEX];
    char sha1[STRAIN_SHA1_HEX];
    uint64_t size;
    char format[16]; /* "pe32", "pe32+", "elf64", "raw" */
    char arch[16];   /* "x86", "x64", "arm64" */
    const char *file_name;
    int64_t first_seen; /* unix seconds, 0 = unknown; a re-put keeps the earliest */
    int64_t added;      /* unix seconds of the first put; set by the store */
    int64_t updated;    /* unix seconds of the last put or label; set by the store */
    char imphash[STRAIN_MD5_HEX];
    char ssdeep[STRAIN_SSDEEP_MAX];
    char tlsh[STRAIN_TLSH_MAX];
    bool has_pe_timestamp;
    uint32_t pe_timestamp; /* COFF TimeDateStamp */
    strain_store_label label;
    size_t n_postings; /* on get/list: postings stored for the sample */
} strain_store_sample;

/* A feature: kind (a small number the engine defines, < 2^31) and a 64-bit hash. */
typedef struct strain_store_key {
    uint32_t kind;
    uint64_t hash;
} strain_store_key;

/* One posting: the feature occurs in the sample; payload is the engine's (e.g. a function's
 * address and size packed in 64 bits). */
typedef struct strain_store_posting {
    uint32_t kind;
    uint64_t hash;
    int64_t sample_id;
    uint64_t payload;
} strain_store_posting;

/*
 * A sample's features: an opaque versioned genome blob (strain_genome_serialize's output) and
 * its postings (sample_id ignored). A (kind, hash) listed twice is stored once, with the
 * first payload.
 */
typedef struct strain_store_features {
    uint32_t genome_version;
    const void *genome;
    size_t genome_len;
    const strain_store_posting *postings;
    size_t n_postings;
} strain_store_features;

/* How common a feature is, for rarity weighting. */
typedef struct strain_store_df {
    uint32_t kind;
    uint64_t hash;
    uint32_t n_samples;    /* samples holding it */
    uint32_t n_clean;      /* of which clean */
    uint32_t n_families;   /* distinct non-empty families among the non-clean ones */
    bool families_counted; /* true: the SQLite store maintains family counts (schema 4), so
                            * they are exact whatever family_scan_max is; a store that has to
                            * count over postings may leave it false past family_scan_max */
} strain_store_df;

/* Filter for strain_store_list(); NULL/KEEP fields do not filter. */
typedef struct strain_store_filter {
    const char *actor;
    const char *family;
    const char *tag;
    int clean;    /* STRAIN_STORE_KEEP, 0 or 1 */
    size_t limit; /* 0 = all */
} strain_store_filter;

typedef struct strain_store_stats {
    uint64_t samples;
    uint64_t families;
    uint64_t actors;
    uint64_t clean;
    uint64_t postings;
    uint64_t distinct_features;
    uint64_t certificates;
    uint64_t bytes_on_disk; /* database plus its journal files and read index */
    uint64_t index_bytes;   /* the read index (a flat copy of the features written by
                             * strain_store_compact); 0 when there is none */
    bool index_current;     /* it describes the database: df and lookup read it */
    int schema_version;
    char backend[16];
} strain_store_stats;

/* An Authenticode signer or chain certificate. Thumbprints are lowercase hex of the DER. */
typedef struct strain_store_cert {
    int64_t id; /* store-assigned; ignored on put */
    char sha1[STRAIN_SHA1_HEX];
    char sha256[STRAIN_SHA256_HEX]; /* required */
    const char *subject;
    const char *issuer;
    const char *serial; /* hex */
    int64_t not_before; /* unix seconds */
    int64_t not_after;
} strain_store_cert;

/* Called once per listed sample; the record is borrowed for the call. Return non-zero to
 * stop the listing (that value is then returned by the list call). A callback must not call
 * into the same store (open a second one if needed). */
typedef int (*strain_store_sample_cb)(const strain_store_sample *s, void *payload);
typedef int (*strain_store_cert_cb)(const strain_store_cert *c, void *payload);

/*
 * Where the database lives when nothing says otherwise: $XDG_DATA_HOME/strain/strain.db, else
 * $HOME/.local/share/strain/strain.db. explicit_path (e.g. --db) wins over $STRAIN_DB, which
 * wins over the default. Writes into out (cap bytes). 0, or STRAIN_EINVAL when no location can
 * be derived (no HOME) or it does not fit. Thread-safe (reads the environment).
 */
STRAIN_API int strain_store_resolve_path(char *out, size_t cap, const char *explicit_path);

/*
 * Opens a database. backend: "sqlite" or NULL for the default; location: for sqlite a file
 * path. The schema is created or migrated forward; a database written by a newer strain is
 * refused (STRAIN_ESTORE, message says which versions). ctx is borrowed and receives error
 * details for every call on the store; it must outlive the store. Caller frees with
 * strain_store_close(). Missing database without STRAIN_STORE_CREATE: STRAIN_ENOTFOUND.
 */
STRAIN_API int strain_store_open(strain_store **out, strain_ctx *ctx, const char *backend,
                                 const char *location, unsigned flags);
/* Closes; rolls back an open transaction. NULL-safe. */
STRAIN_API void strain_store_close(strain_store *st);
/* The backend's name ("sqlite") and location as given to open; borrowed. */
STRAIN_API const char *strain_store_backend(const strain_store *st);
STRAIN_API const char *strain_store_location(const strain_store *st);

/*
 * Explicit transaction: begin takes the write lock (waits up to the busy timeout). Nested
 * begin is STRAIN_EINVAL. Inside a transaction, a call rejected for its arguments
 * (STRAIN_EINVAL, STRAIN_ELIMIT) or not finding its target (STRAIN_ENOTFOUND) changes nothing
 * and the transaction goes on; any other failure aborts the transaction: later changing calls
 * fail, and commit rolls back and returns STRAIN_ESTORE. A transaction holding many samples
 * is still all-or-nothing for each; for bulk imports it is several times faster than one
 * transaction per sample (bench/RESULTS.md).
 */
STRAIN_API int strain_store_begin(strain_store *st);
STRAIN_API int strain_store_commit(strain_store *st);
STRAIN_API int strain_store_rollback(strain_store *st);

/*
 * Adds a sample or, when its sha256 is already stored, updates its metadata (empty fields do
 * not erase stored ones) and labels (see strain_store_label). *out_id (may be NULL) receives
 * the sample's id. Invalid input is STRAIN_EINVAL and changes nothing.
 */
STRAIN_API int strain_store_put_sample(strain_store *st, int64_t *out_id,
                                       const strain_store_sample *s);

/*
 * Gets one sample by sha256 (any case). *out is allocated (free with
 * strain_store_sample_free); STRAIN_ENOTFOUND when absent.
 */
STRAIN_API int strain_store_get_sample(strain_store *st, strain_store_sample **out,
                                       const char *sha256);
STRAIN_API int strain_store_get_sample_by_id(strain_store *st, strain_store_sample **out,
                                             int64_t id);
/* Frees a record returned by a get. NULL-safe. */
STRAIN_API void strain_store_sample_free(strain_store_sample *s);

/* Lists samples matching the filter in id order. Returns 0, a negative error, or the callback's
 * non-zero value. */
STRAIN_API int strain_store_list(strain_store *st, const strain_store_filter *filter,
                                 strain_store_sample_cb cb, void *payload);

/* Changes the labels of a stored sample. STRAIN_ENOTFOUND when absent. */
STRAIN_API int strain_store_label_set(strain_store *st, const char *sha256,
                                      const strain_store_label *label);

/* Removes a sample with its features and certificate links (certificates stay).
 * STRAIN_ENOTFOUND when absent. */
STRAIN_API int strain_store_remove(strain_store *st, const char *sha256);

STRAIN_API int strain_store_stats_get(strain_store *st, strain_store_stats *out);

/* Runs the backend's consistency check. 0 when sound; STRAIN_ESTORE with the first problem in
 * the context message otherwise. */
STRAIN_API int strain_store_check(strain_store *st);

/*
 * Rewrites the database so that each table and index lies in consecutive pages, and drops free
 * pages. A database filled sample by sample interleaves the pages of its tables; a query then
 * reads pages scattered over the whole file, and the kernel maps each through its own page
 * fault (on a compacted public-corpus index a small query costs 15-20% less CPU, see
 * bench/RESULTS.md). The contents, sample ids included, do not change. Needs exclusive use of
 * the store (no transaction open in this handle; STRAIN_ESTORE, database locked, while another
 * process writes) and free disk space about twice the database's size; takes seconds per
 * hundred MB. Not on a store opened read-only (STRAIN_EINVAL).
 */
STRAIN_API int strain_store_compact(strain_store *st);

/*
 * Replaces the features of a stored sample (the old genome and postings are dropped, so
 * re-adding a sample never duplicates). Feature limits: see STRAIN_STORE_MAX_* in
 * src/util/limits.h; over a limit is STRAIN_ELIMIT and changes nothing.
 */
STRAIN_API int strain_store_put_features(strain_store *st, int64_t sample_id,
                                         const strain_store_features *f);

/* The stored genome of a sample: *out malloc'd (caller frees), *out_len, *out_version.
 * STRAIN_ENOTFOUND when the sample has no features. */
STRAIN_API int strain_store_get_genome(strain_store *st, void **out, size_t *out_len,
                                       uint32_t *out_version, int64_t sample_id);

/*
 * Postings of a batch of features: *out (malloc'd array, caller frees with free()) receives
 * every (kind, hash, sample_id, payload) whose key is in keys, *out_n their count. Features
 * held by more than max_df samples are skipped (their postings would be many and their weight
 * nil); pass UINT32_MAX for no cap. Duplicate keys are looked up once. The postings come in
 * key order (kind, then hash read as a signed 64-bit integer), then by sample id, whatever
 * the order of keys: a caller summing weights over them gets the same sums every time.
 */
STRAIN_API int strain_store_lookup(strain_store *st, strain_store_posting **out, size_t *out_n,
                                   const strain_store_key *keys, size_t n_keys, uint32_t max_df);

/*
 * Document frequencies of a batch: out[i] describes keys[i] (out has n_keys entries).
 * n_samples/n_clean/n_families are maintained counters (constant cost per key in the SQLite
 * store). family_scan_max bounds the work of a store that would count families over the
 * postings (families_counted false beyond it); the SQLite store never needs to.
 */
STRAIN_API int strain_store_df_get(strain_store *st, strain_store_df *out,
                                   const strain_store_key *keys, size_t n_keys,
                                   uint32_t family_scan_max);

/* Adds or updates (by sha256 thumbprint) a certificate; *out_id may be NULL. */
STRAIN_API int strain_store_put_cert(strain_store *st, int64_t *out_id, const strain_store_cert *c);
/* Links a stored sample and certificate (idempotent). */
STRAIN_API int strain_store_link_cert(strain_store *st, int64_t sample_id, int64_t cert_id);
/* Finds a certificate by thumbprint (sha1 or sha256 hex, by length); the record passed to cb
 * is borrowed for the call. STRAIN_ENOTFOUND when absent. */
STRAIN_API int strain_store_get_cert(strain_store *st, const char *thumbprint,
                                     strain_store_cert_cb cb, void *payload);
/* Certificates linked to a sample, and samples linked to a certificate. */
STRAIN_API int strain_store_sample_certs(strain_store *st, int64_t sample_id,
                                         strain_store_cert_cb cb, void *payload);
STRAIN_API int strain_store_cert_samples(strain_store *st, int64_t cert_id,
                                         strain_store_sample_cb cb, void *payload);

/*
 * Certificate intelligence (schema 3). How a certificate relates to one signed sample: it
 * is the signer (leaf) of one of its signatures or a chain/bag certificate, with that
 * signature's verdict and whether the sample is a kernel driver. Links made with
 * strain_store_link_cert() alone have has_info false (role and verdict unknown).
 */
typedef struct strain_store_cert_link {
    int64_t sample_id;
    int64_t cert_id;
    bool has_info;       /* false: a link without role/verdict (strain_store_link_cert) */
    bool signer;         /* the certificate that signed (a signature's leaf) */
    const char *verdict; /* strain_sig_verdict_name() of the best such signature, "" unknown */
    bool kernel_driver;  /* the sample is a kernel driver (strain_binary_info.is_driver) */
} strain_store_cert_link;

/* Links with role and verdict (creates the link when missing). On an existing link signer is
 * or'ed and a "valid" verdict is never replaced by a worse one. STRAIN_ENOTFOUND when the
 * sample or certificate is absent. verdict: at most 31 bytes. */
STRAIN_API int strain_store_link_cert_info(strain_store *st, const strain_store_cert_link *l);

/* Called per link with the linked sample (both borrowed for the call); non-zero stops. */
typedef int (*strain_store_link_cb)(const strain_store_cert_link *l, const strain_store_sample *s,
                                    void *payload);
/* Every link of a certificate with its sample, in sample id order. */
STRAIN_API int strain_store_cert_links(strain_store *st, int64_t cert_id, strain_store_link_cb cb,
                                       void *payload);
/* Every stored certificate in id order. */
STRAIN_API int strain_store_list_certs(strain_store *st, strain_store_cert_cb cb, void *payload);

/*
 * A known-abused certificate (an imported list entry). Matched by sha1 or sha256 thumbprint,
 * or by serial and issuer together. On put: sha1 40 hex, sha256 64 hex, serial hex (any case,
 * stored uppercase without leading zeros), each "" or NULL when absent, at least one key;
 * texts at most STRAIN_STORE_NAME_MAX bytes. An entry with the same keys is updated (a list
 * imported twice is stored once).
 */
typedef struct strain_store_abused {
    int64_t id; /* store-assigned; ignored on put */
    const char *sha1;
    const char *sha256;
    const char *serial;
    const char *issuer;
    const char *reason; /* "stolen", "revoked", "abused", ... */
    const char *actor;
    const char *source;
    const char *note;
} strain_store_abused;
typedef int (*strain_store_abused_cb)(const strain_store_abused *a, void *payload);
STRAIN_API int strain_store_put_abused(strain_store *st, int64_t *out_id,
                                       const strain_store_abused *a);
/* Every abused-list entry in id order (the record is borrowed for the call). */
STRAIN_API int strain_store_list_abused(strain_store *st, strain_store_abused_cb cb,
                                        void *payload);

#ifdef __cplusplus
}
#endif
#endif
