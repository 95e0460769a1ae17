/*
 * Attribution internals shared by item.c (analysis), keys.c (genome -> features), index.c
 * (adding), query.c (ranking) and ingest.c (bulk loads).
 */
#ifndef STRAIN_ENGINE_ATTRIBUTION_IMPL_H
#define STRAIN_ENGINE_ATTRIBUTION_IMPL_H

#include <strain/engine.h>
#include <strain/input.h>
#include <strain/sample.h>
#include <strain/sig.h>

#include "code/genome_strings.h"

/* Posting kinds (stored in the database: append only, never renumber). */
#define STRAIN_KIND_FUNC_EXACT 1u /* a function's exact normalised-CFG hash */
#define STRAIN_KIND_FUNC_BAND 2u  /* one LSH band of a function's MinHash sketch */
#define STRAIN_KIND_FRAGMENT 3u   /* a sampled code fragment (winnowed k-gram) */
#define STRAIN_KIND_NAME 4u       /* an exported or defined function name (case-folded) */
#define STRAIN_KIND_IMPORT                                                                         \
    5u                        /* an imported function name (case-folded, library dropped:          \
                               * the same module imports the same API from KERNEL32 on             \
                               * Windows and libc on Linux) */
#define STRAIN_KIND_STRING 6u /* a printable string of a data section (code/genome_strings.c) */

/* Posting (STRAIN_KIND_STRING, 0) marks a sample whose strings were indexed: a database
 * built before string features has none, and a query against it leaves strings out (they
 * would all look unseen, i.e. the query's own, and dilute every score). */
#define STRAIN_ENGINE_STRINGS_MARKER 0ull

/* MinHash LSH band keys (kind 2) are not indexed: measured on the public corpus, eight
 * bands per function made the index and the query's feature set about five times larger
 * (query cost ~6x `strain genes` instead of the target 1.5x), while near-identical functions
 * still share most of their fragments (kind 3) and are paired by strain_compare when the
 * evidence is built. Set STRAIN_ENGINE_BANDS to 8 (rows 4) to index them again. */
#define STRAIN_ENGINE_BANDS 0u
#define STRAIN_ENGINE_BAND_ROWS 4u
/* Fragments are sampled (hash mod 4 == 0) so a sample's postings stay proportional to its
 * functions rather than its bytes; sampling by hash value keeps shared fragments shared. */
#define STRAIN_ENGINE_FRAGMENT_MOD 4u

/* Genome blob version written with the postings (strain_genome_serialize's format). */
#define STRAIN_ENGINE_GENOME_VERSION 1u

/* A feature of a genome; payload packs a function's address (low 48 bits) and size. */
typedef struct strain_engine_key {
    uint32_t kind;
    uint32_t gene; /* index of the gene in the genome (UINT32_MAX for fragments) */
    uint64_t hash;
} strain_engine_key;

/* A distinct string of an item: its hash and where its first occurrence is in the file. */
typedef strain_code_string strain_engine_string;

struct strain_engine_item {
    uint64_t *names; /* sorted, unique hashes of kind NAME (low bit 0) and IMPORT (low bit 1) */
    size_t n_names;
    strain_engine_string *strs; /* sorted by hash, unique */
    size_t n_strs;
    strain_sample *sample;
    strain_binary *bin;
    strain_genome *genome;
    char *file_name;
    strain_store_sample meta;
};

struct strain_engine {
    strain_ctx *ctx;
    strain_store *st;
    strain_sig_store *trust; /* loaded on the first signed sample added, then shared */
};

/* Verifies the Authenticode signatures of a signed PE item (*out NULL for anything else),
 * with the engine's trust store loaded once. Caller frees *out. */
int strain_engine__verify_sig(strain_sig_report **out, strain_engine *e,
                              const strain_engine_item *it);

/* Kind factor: how much one key of that kind counts before the rarity weight. */
double strain_engine__kind_factor(uint32_t kind);

/*
 * The features of a genome: counted functions (not small, not thunks) give an exact key and
 * STRAIN_ENGINE_BANDS band keys, sampled fragments one key each. *out is malloc'd (caller
 * frees), possibly with duplicates.
 */
int strain_engine__keys(strain_engine_key **out, size_t *out_n, strain_ctx *ctx,
                        const strain_genome *g);
/* The name and string features of an item (kinds NAME, IMPORT, STRING): they come from the
 * parsed binary, not the genome, so they exist for the item only (a stored sample has them
 * as postings). */
int strain_engine__name_keys(strain_engine_key **out, size_t *out_n, strain_ctx *ctx,
                             const strain_engine_item *it);
/* Computes it->names from the parsed binary. */
int strain_engine__item_names(strain_engine_item *it, strain_ctx *ctx);
/* Computes it->strs from the parsed binary. */
int strain_engine__item_strings(strain_engine_item *it, strain_ctx *ctx);
/* The item's string with hash h, or NULL. */
const strain_engine_string *strain_engine__item_string(const strain_engine_item *it, uint64_t h);
/* Copies s's text (UTF-16LE narrowed) into out, NUL-terminated, truncated to cap - 1 bytes;
 * returns the bytes written. */
size_t strain_engine__string_text(char *out, size_t cap, const strain_engine_item *it,
                                  const strain_engine_string *s);

#endif
