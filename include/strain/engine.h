/*
 * strain/engine.h: attribution. Samples labelled with an actor and a family are indexed in a
 * reference database (strain/store.h); an unknown file is then ranked against it: which
 * actors and families it resembles, how strongly, how sure we are, and the evidence (matched
 * functions and rare shared code fragments).
 *
 * Evidence is weighted by rarity: a genotype held by many families (a C runtime, zlib, an
 * SSL library) says little, one held by a single family says a lot, and one present in the
 * clean set (goodware and library reference code added with clean = 1) says nothing. See
 * docs/attribution.md for the scoring and the calibration of the confidence.
 *
 * Threading: a strain_engine wraps one store connection and is used by one thread at a time.
 * strain_engine_prepare() does the expensive part (parsing, code recovery) without the
 * engine and may run on many threads at once, each with its own strain_ctx.
 */
#ifndef STRAIN_ENGINE_H
#define STRAIN_ENGINE_H

#include <stdio.h>

#include "code.h"
#include "store.h"
#include "sig.h"
#include "certs.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strain_engine strain_engine;

/* A sample analysed for indexing or querying: its identity, metadata and genome. */
typedef struct strain_engine_item strain_engine_item;

/*
 * Parses data and builds its genome and metadata (hashes, format). file_name (may be NULL) is
 * recorded with the sample (an absolute path lets --explain show reference code later).
 * Fails only for bad arguments or out of memory: an unparsable file becomes a raw sample with
 * an empty genome. Caller frees with strain_engine_item_free(). Thread-safe for distinct
 * contexts; data is copied.
 */
STRAIN_API int strain_engine_prepare(strain_engine_item **out, strain_ctx *ctx, const uint8_t *data,
                                     size_t size, const char *file_name);
STRAIN_API void strain_engine_item_free(strain_engine_item *it);
/* Borrowed until the item is freed: its SHA-256 (lowercase hex) and genome. */
STRAIN_API const char *strain_engine_item_sha256(const strain_engine_item *it);
STRAIN_API const strain_genome *strain_engine_item_genome(const strain_engine_item *it);
STRAIN_API const strain_binary *strain_engine_item_binary(const strain_engine_item *it);

/*
 * An engine over an open store (borrowed: it must outlive the engine). ctx is borrowed too
 * and receives error details. Caller frees with strain_engine_free().
 */
STRAIN_API int strain_engine_open(strain_engine **out, strain_ctx *ctx, strain_store *st);
STRAIN_API void strain_engine_free(strain_engine *e);

/*
 * The trust store the engine verifies Authenticode chains against when it adds or queries
 * signed files: ca_file is a PEM file of trusted certificates (`--ca FILE`), NULL the system
 * bundle (the default, loaded on the first signed file). Loaded now: STRAIN_EIO when
 * unreadable, the engine's previous store then stays. Not thread-safe against adds/queries
 * on the same engine.
 */
STRAIN_API int strain_engine_set_trust(strain_engine *e, const char *ca_file);

/*
 * Stores a prepared item with its labels, genome and postings (replacing what an earlier add
 * of the same bytes stored). Atomic on its own, or part of the caller's open transaction.
 * *out_id (may be NULL) receives the sample id.
 */
STRAIN_API int strain_engine_add(strain_engine *e, int64_t *out_id, const strain_engine_item *it,
                                 const strain_store_label *label);

/* One entry of a bulk load: a path (file, directory or archive) and its labels. */
typedef struct strain_ingest_entry {
    const char *path;
    strain_store_label label;
} strain_ingest_entry;

/* Progress of a bulk load: entries finished so far, samples stored, inputs that failed. */
typedef void (*strain_ingest_progress_cb)(size_t entries_done, size_t n_entries,
                                          size_t samples_added, size_t errors, void *payload);
/* Called for each input that could not be read (message names it); may be NULL. */
typedef void (*strain_ingest_error_cb)(const char *message, void *payload);

/*
 * Adds every sample found under the entries' paths (strain_input_walk: files, directories,
 * archives) with the entry's labels. Parsing and genome building run on `threads` worker
 * threads (0 = all online cores), each with its own context; the calling thread is the only
 * store writer and commits in batches. Returns the number of inputs that failed (>= 0) or a
 * negative error (store failure, out of memory); *out_added (may be NULL) receives the number
 * of samples stored. Entries and their labels are borrowed for the call.
 */
STRAIN_API int strain_engine_ingest(strain_engine *e, size_t *out_added,
                                    const strain_ingest_entry *entries, size_t n_entries,
                                    unsigned threads, strain_ingest_progress_cb progress,
                                    strain_ingest_error_cb on_error, void *payload);

/* Query options; zero-initialise, then change what you need. */
typedef struct strain_query_options {
    unsigned max_neighbors; /* nearest reference samples reported; 0 = 10 */
    unsigned max_functions; /* matched functions reported; 0 = 12 */
    unsigned max_fragments; /* rare shared fragments reported; 0 = 10 */
    unsigned max_strings;   /* rare shared strings reported; 0 = 10 */
    unsigned max_labels;    /* actors and families reported; 0 = 10 */
    bool all;               /* also report actors/families/neighbours below the threshold */
    double threshold;       /* verdict threshold on the score; 0 = the calibrated default */
} strain_query_options;

/* A ranked actor or family. */
typedef struct strain_query_label {
    const char *name;
    const char *actor; /* for a family: its actor (NULL for an actor entry) */
    double score;      /* 0..1: the code and strings channels combined (docs/attribution.md) */
    double confidence; /* 0..1, calibrated: see strain_engine_confidence() */
    size_t n_samples;  /* reference samples of the label among the candidates */
    /* Code channel (functions, fragments, names, imports): */
    double code_score; /* 0..1: share and evidence combined */
    double share;      /* 0..1: weighted share of the query's code features found here */
    double evidence;   /* matched weight in units of one function held by one family only */
    /* Strings channel (strings of the data sections), measured the same way: */
    double string_score;
    double string_share;
    double string_evidence;
} strain_query_label;

/* A nearest reference sample. */
typedef struct strain_query_neighbor {
    int64_t id;
    char sha256[STRAIN_SHA256_HEX];
    const char *actor;
    const char *family;
    const char *file_name;
    double score; /* 0..1, as for labels, for this sample alone */
    double code_score;
    double share;
    double evidence;
    double string_score;
    double string_share;
    double string_evidence;
} strain_query_neighbor;

/* A function of the query matched in a reference sample. */
typedef struct strain_query_function {
    uint64_t query_address;
    uint32_t query_size;
    char ref_sha256[STRAIN_SHA256_HEX];
    uint64_t ref_address;
    uint32_t ref_size;
    double similarity;   /* 0..1, 1 = identical normalised code */
    double weight;       /* rarity weight of the query function's genotype */
    uint32_t n_families; /* families holding the exact genotype (0: unseen or near match) */
    uint32_t how;        /* what paired the two functions: STRAIN_MATCH_* (strain/code.h) */
} strain_query_function;

/* A rare code fragment the query shares with a reference sample. */
typedef struct strain_query_fragment {
    uint64_t hash;
    double weight;
    uint32_t n_families;
    char ref_sha256[STRAIN_SHA256_HEX];
} strain_query_fragment;

/* A rare string the query shares with a reference sample. */
typedef struct strain_query_string {
    uint64_t hash;    /* the string feature's hash */
    const char *text; /* as found in the query (UTF-16LE narrowed; at most 256 bytes shown) */
    bool utf16;
    size_t length;   /* characters in the query's string (text may be cut shorter) */
    uint64_t offset; /* file offset in the query */
    double weight;
    uint32_t n_families;
    char ref_sha256[STRAIN_SHA256_HEX];
} strain_query_string;

typedef struct strain_query_result {
    char sha256[STRAIN_SHA256_HEX];
    /* Verdict: actor/family NULL when unknown (family may be NULL while the actor is known). */
    const char *verdict_actor;
    const char *verdict_family;
    double verdict_score;
    double verdict_confidence;
    double threshold; /* the score threshold used */
    size_t n_actors;
    strain_query_label *actors; /* best first */
    size_t n_families;
    strain_query_label *families;
    size_t n_neighbors;
    strain_query_neighbor *neighbors;
    size_t n_functions;
    strain_query_function *functions;
    size_t n_fragments;
    strain_query_fragment *fragments;
    size_t n_strings;
    strain_query_string *strings;
    /* Work done, for the curious and for benchmarks. */
    size_t n_keys;        /* distinct query features */
    size_t n_keys_looked; /* features whose postings were read (MaxScore stops early) */
    size_t n_candidates;  /* samples reached through postings */
    size_t n_verified;    /* candidates ranked (labels read; genomes read when unread_share
                           * was above 2%) */
    size_t n_db_samples;
    size_t n_db_families;
    double unread_share; /* share of the query's weight whose postings MaxScore skipped */
    double total_weight; /* the query's summed feature weight: scores are shares of it */
    bool strings_indexed; /* false: the database predates string features (re-add its
                           * samples to use them); the query then leaves strings out */
    /* The best-ranked actor whatever the threshold (NULL: no candidate at all), so that an
     * "unknown" verdict can still say how close the nearest actor came. */
    const char *best_actor;
    double best_actor_score;
    /* Authenticode of the queried file (a signed PE; NULL otherwise), and the certificate
     * findings about its signers: abused-list matches and what the database knows of each
     * signer (stolen, multi-actor, multi-family, driver-and-actor). Owned by the result;
     * NULL when there is nothing to say. */
    const strain_sig_report *signatures;
    const strain_certs_findings *cert_findings;
    const strain_certs_findings *abused_matches;
} strain_query_result;

/*
 * Ranks the database against a prepared item. Caller frees *out with
 * strain_query_result_free(). opts may be NULL. Not thread-safe for one engine.
 */
STRAIN_API int strain_engine_query(strain_query_result **out, strain_engine *e,
                                   const strain_engine_item *it, const strain_query_options *opts);
STRAIN_API void strain_query_result_free(strain_query_result *r);

/* The calibrated confidence of a score (observed 1 - false-attribution rate on the public
 * corpus benchmark, see docs/attribution.md), and the default verdict threshold. Pure. */
STRAIN_API double strain_engine_confidence(double score);
STRAIN_API double strain_engine_default_threshold(void);

/*
 * Report writers. text: the human report; explain adds the top evidence as normalised
 * disassembly side by side (the reference is disassembled from its recorded file name when
 * that file still holds the same bytes). json: the schema of docs/query-schema.md (one
 * object; the caller wraps several). Both return 0 or a negative error.
 */
STRAIN_API int strain_report_query_text(FILE *f, strain_ctx *ctx, const strain_query_result *r,
                                        const char *query_name, const strain_engine_item *it,
                                        bool explain);
STRAIN_API int strain_report_query_json(char **out, const strain_query_result *r,
                                        const char *query_name);

#ifdef __cplusplus
}
#endif
#endif
