/*
 * strain/hunt.h: hunting. Given seed genomes (samples of a family an analyst cares about),
 * stream over a collection of files, directories and archives without indexing it, on all
 * cores, and report every file whose code resembles a seed. Memory stays flat however large
 * the collection: the walker feeds samples to worker threads through a bounded queue, and a
 * sample's bytes and genome are freed as soon as it has been compared.
 *
 * A sample resembles a seed by its code and by the strings of its data sections (messages,
 * formats, paths), which survive a change of compiler where code does not: the score is
 * strain_comparison.combined_score, and both channels are reported.
 *
 * Shared runtime code (CRT, compiler helpers, common libraries) makes unrelated programs of
 * one toolchain look alike. Two remedies, both optional: clean genomes (the genome of an
 * empty program built with the same toolchain, or of a known-clean file) whose code is
 * discounted, and a "common" threshold: code present in at least that many seeds is taken
 * for library code (seeds of different families rarely share anything else).
 */
#ifndef STRAIN_HUNT_H
#define STRAIN_HUNT_H

#include "code.h"
#include "input.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strain_hunt strain_hunt;

/* A file that resembles a seed. Borrowed: valid only during the callback. */
typedef struct strain_hunt_hit {
    const char *path;         /* file on disk ("-" for stdin) */
    const char *archive_path; /* "a.zip!x.dll" for archive members, NULL otherwise */
    const char *sha256;       /* of the sample's bytes */
    size_t seed;              /* index of the seed (order of strain_hunt_add_seed) */
    const char *seed_name;    /* name given to strain_hunt_add_seed */
    double score;             /* code and strings, 0..100 after discounting
                                 (strain_comparison.combined_score) */
    double code_score;        /* the code channel alone (strain_comparison.score) */
    double string_score;      /* the string channel alone (strain_comparison.string_score) */
    size_t n_shared_strings;  /* strings both hold, clean strings left out */
    size_t n_matches;         /* matched function pairs */
    double coverage;          /* share of the file's counted code in matched functions, 0..1 */
    double seed_coverage;     /* share of the seed's counted code matched, 0..1 */
    /* Retrohunt (strain_hunt_db) only; 0 / NULL in a streaming hunt. path is then the stored
     * file name, or the sha256 when none was recorded. */
    int64_t sample_id;
    const char *file_name; /* as recorded by `strain add` (may be NULL) */
    const char *actor;     /* labels (may be NULL) */
    const char *family;
} strain_hunt_hit;

/* Called for each hit. Return < 0 to stop the hunt. */
typedef int (*strain_hunt_hit_cb)(const strain_hunt_hit *hit, void *payload);
/* Called for each input that could not be read or analysed (see strain_input_cb). */
typedef void (*strain_hunt_error_cb)(const char *path, const char *archive_path, int err,
                                     const char *errmsg, void *payload);
/* Called after each sample (files and bytes done so far, bytes read by the walker so far). */
typedef void (*strain_hunt_progress_cb)(uint64_t files_done, uint64_t bytes_done,
                                        uint64_t bytes_queued, void *payload);

typedef struct strain_hunt_opts {
    double min_score; /* report hits scoring >= this; 0 => STRAIN_HUNT_DEFAULT_MIN_SCORE */
    unsigned threads; /* workers; 0 => one per online CPU */
    strain_input_opts input;
    strain_code_options code;
    strain_hunt_hit_cb on_hit;
    strain_hunt_error_cb on_error;       /* may be NULL */
    strain_hunt_progress_cb on_progress; /* may be NULL */
    void *payload;
} strain_hunt_opts;

/* Default --min-score: see the measurements in docs and tests/unit/engine/test_hunt.c. */
#define STRAIN_HUNT_DEFAULT_MIN_SCORE 30.0

typedef struct strain_hunt_stats {
    uint64_t files;   /* samples compared */
    uint64_t bytes;   /* their bytes */
    uint64_t hits;    /* hit callbacks made */
    uint64_t errors;  /* error callbacks made */
    uint64_t no_code; /* samples without code of a supported architecture */
    double seconds;   /* wall time */
} strain_hunt_stats;

/* A hunt with no seeds. Caller frees with strain_hunt_free(). */
STRAIN_API int strain_hunt_new(strain_hunt **out, strain_ctx *ctx);
STRAIN_API void strain_hunt_free(strain_hunt *h);

/*
 * Adds a seed; g is copied (the caller keeps ownership of g), name is copied (may be NULL:
 * "seed N"). Returns the seed's index. Not thread-safe for one hunt.
 */
STRAIN_API int strain_hunt_add_seed(strain_hunt *h, strain_ctx *ctx, const strain_genome *g,
                                    const char *name);
/* Adds a clean genome (copied) whose functions and fragments count for nothing. */
STRAIN_API int strain_hunt_add_clean(strain_hunt *h, strain_ctx *ctx, const strain_genome *g);
/*
 * Code present in at least n seeds is treated as library code and discounted (0 = off, the
 * default). Use it when the seeds belong to different families; with several samples of one
 * family as seeds it would discount the family's own code.
 */
STRAIN_API int strain_hunt_set_common(strain_hunt *h, strain_ctx *ctx, unsigned n);

/*
 * Compares one genome with every seed and calls cb for each seed scoring >= min_score (the
 * hit's path fields are those given here, sha256 may be NULL). The seeds are prepared on the
 * first call (discounting): later changes to seeds or clean genomes are refused. Returns the
 * number of hits or a negative error. Thread-safe once prepared (distinct contexts), which is
 * what the workers of strain_hunt_run do.
 */
STRAIN_API int strain_hunt_match(strain_hunt *h, strain_ctx *ctx, const strain_genome *g,
                                 double min_score, const char *path, const char *archive_path,
                                 const char *sha256, strain_hunt_hit_cb cb, void *payload);

/*
 * Walks paths (strain_input_walk semantics, ctx's limits) and matches every sample against
 * the seeds on opts->threads workers. Callbacks are serialised (never two at once) but come
 * from worker threads, in no particular order. Memory: at most STRAIN_HUNT_QUEUE_PER_THREAD
 * samples per worker wait in the queue, and the queued bytes are capped by
 * STRAIN_HUNT_QUEUE_BYTES (src/util/limits.h), besides one sample being analysed per worker.
 * stats may be NULL. Returns 0 when every input was analysed, the number of error callbacks
 * otherwise, or a negative error (ENOMEM, a callback's stop value, EINVAL without seeds).
 */
STRAIN_API int strain_hunt_run(strain_hunt_stats *stats, strain_hunt *h, strain_ctx *ctx,
                               const char *const *paths, size_t n_paths,
                               const strain_hunt_opts *opts);

/*
 * Retrohunt: the same hunt against the reference database (strain/store.h) instead of files.
 *
 * Clean samples of the database (`strain add --clean`) join the hunt's clean genomes, so
 * their code counts for nothing, as --clean FILE does in a streaming hunt. Call this on a
 * hunt that has not been prepared yet (no strain_hunt_match or strain_hunt_run before) when
 * the database holds clean samples.
 *
 * Candidates come from the posting index, not from a scan: each seed's features (function
 * exact hashes and sampled fragments, the features `strain add` indexes) are looked up rarest
 * first, and a sample's evidence is the share of the seed's code it was seen holding; every
 * sample sharing STRAIN_COMPARE_MIN_SHARED_STRINGS of the seed's strings is a candidate too. The
 * score formula bounds what a sample sharing little of a seed can score (docs/hunt.md), so
 * the most common features' posting lists are left unread once no unseen sample could still
 * reach --min-score, and only (seed, sample) pairs whose evidence can reach the bound are
 * verified: the sample's stored genome is loaded (one at a time), discounted and compared with
 * the seed exactly as strain_hunt_match does (same scores as a streaming hunt over the same
 * files).
 */
typedef struct strain_hunt_db_opts {
    double min_score; /* 0 => STRAIN_HUNT_DEFAULT_MIN_SCORE */
    strain_hunt_hit_cb on_hit;
    void *payload;
} strain_hunt_db_opts;

typedef struct strain_hunt_db_stats {
    uint64_t samples;    /* in the database */
    uint64_t clean;      /* clean samples whose code was discounted */
    uint64_t keys;       /* distinct seed features held by some sample (over all seeds) */
    uint64_t keys_read;  /* of which the posting lists were read */
    uint64_t postings;   /* postings read */
    uint64_t candidates; /* samples met in the postings (summed over seeds) */
    uint64_t verified;   /* stored genomes loaded and compared */
    uint64_t compared;   /* (seed, sample) comparisons made */
    uint64_t hits;       /* hit callbacks made */
    double seconds;      /* wall time */
} strain_hunt_db_stats;

/*
 * Runs the retrohunt. st is borrowed (one thread at a time, see strain/store.h); the hits are
 * reported after the search, ordered by seed, then score (best first), then sample id; each
 * hit and its strings are borrowed for the callback. Memory: the candidates' evidence (a few
 * words each), one posting batch (STRAIN_HUNT_DB_BATCH_POSTINGS) and one genome at a time,
 * plus the hashes of the clean samples (capped by STRAIN_HUNT_DB_CLEAN_HASHES). stats may be
 * NULL. Returns 0, or a negative error (EINVAL without seeds, ESTORE for a damaged database,
 * a callback's stop value). Not thread-safe for one hunt.
 */
STRAIN_API int strain_hunt_db(strain_hunt_db_stats *stats, strain_hunt *h, strain_ctx *ctx,
                              strain_store *st, const strain_hunt_db_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
