/*
 * strain/code.h: code genotypes. Machine code (x86, x64) is recovered from a parsed binary
 * (functions, basic blocks, control flow) and every function is reduced to fingerprints that
 * survive recompilation, relinking and rebasing: an exact position-independent hash, a
 * MinHash sketch of normalised instruction shingles, and counts. A sample's genome is its
 * function table plus a sorted set of code-fragment hashes (winnowed k-grams), so that shared
 * code smaller than a function is still found.
 *
 * A genome is a compact value: it can be serialised (versioned, bounds-checked on the way
 * back in) and stored, and two genomes can be compared without the binaries.
 */
#ifndef STRAIN_CODE_H
#define STRAIN_CODE_H

#include "binary.h"
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MinHash values per function: 32 x u32 gives a Jaccard standard error of ~0.09. */
#define STRAIN_GENE_SKETCH 32

/* strain_gene.flags */
#define STRAIN_GENE_SMALL 0x1u     /* below the size floor: not evidence of kinship */
#define STRAIN_GENE_TRUNCATED 0x2u /* a per-function cap was hit */
#define STRAIN_GENE_THUNK 0x4u     /* a single jump (import stub, tail-call thunk) */

/* One function's genotype. Addresses are VAs in the analysed file (informative only: no
 * hash depends on them). */
typedef struct strain_gene {
    uint64_t address;
    uint64_t exact; /* hash of the normalised CFG: equal => same code modulo addresses */
    uint32_t size;  /* bytes of instructions recovered */
    uint32_t n_insns;
    uint32_t n_blocks;
    uint32_t n_edges;
    uint32_t n_calls;
    uint32_t flags;                      /* STRAIN_GENE_* */
    uint32_t sketch[STRAIN_GENE_SKETCH]; /* MinHash; equal slots estimate Jaccard */
    /* Hash of the set of what the function calls and references that does not depend on the
     * instruction set: API names, strings, distinctive constants (0 with none). An x86 and an
     * x64 build of one function, or two compilers' builds of it, share it where no code hash
     * survives. n_neutral: the set's size (how much the hash says). */
    uint64_t neutral;
    uint32_t n_neutral;
} strain_gene;

/* strain_genome_info.flags */
#define STRAIN_GENOME_PARTIAL 0x1u  /* a cap was hit or the binary itself was partial */
#define STRAIN_GENOME_PACKED 0x2u   /* looks packed/encrypted: genes describe the stub */
#define STRAIN_GENOME_DOTNET 0x4u   /* managed code: native genes are only the loader stub */
#define STRAIN_GENOME_NO_CODE 0x8u  /* no executable bytes for a supported architecture */
#define STRAIN_GENOME_STRINGS 0x10u /* strings were collected (genomes stored before had none) */

typedef struct strain_genome_info {
    strain_arch arch;
    uint32_t flags;      /* STRAIN_GENOME_* */
    uint64_t code_bytes; /* executable bytes examined */
    size_t n_genes;      /* sorted by address */
    const strain_gene *genes;
    size_t n_fragments; /* sorted, unique */
    const uint64_t *fragments;
    size_t n_notes; /* human-readable notes ("packed: ...") */
    const char *const *notes;
    /* Hashes of the distinct strings of the data sections (messages, formats, paths, names
     * the binary does not state as imports or exports), sorted, unique: the genome's second
     * channel, which survives a change of compiler where code genotypes do not. */
    size_t n_strings;
    const uint64_t *strings;
} strain_genome_info;

typedef struct strain_genome strain_genome;

/* Analysis options; zero-initialise then change what you need. */
typedef struct strain_code_options {
    bool ignore_pdata;   /* do not seed functions from x64 .pdata (to measure discovery) */
    bool ignore_symbols; /* do not seed functions from ELF symbols / PE exports */
} strain_code_options;

/*
 * Recovers the code of bin and computes its genome: code genotypes, and the hashes of the
 * strings of its data sections (STRAIN_GENOME_STRINGS). opts may be NULL. Fails only for
 * out-of-memory or bad arguments: a binary with no usable code gives an empty genome with
 * STRAIN_GENOME_NO_CODE, and caps hit give STRAIN_GENOME_PARTIAL plus a note. Deterministic:
 * the same bytes give the same genome on every run and machine. Caller frees with
 * strain_genome_free(). Thread-safe for distinct contexts (bin is only read).
 */
STRAIN_API int strain_genome_build(strain_genome **out, strain_ctx *ctx, const strain_binary *bin,
                                   const strain_code_options *opts);
STRAIN_API void strain_genome_free(strain_genome *g);
/* Borrowed until the genome is freed. */
STRAIN_API const strain_genome_info *strain_genome_get_info(const strain_genome *g);

/*
 * Serialises a genome to a stable, versioned little-endian byte string (*out, malloc'd,
 * caller frees with free()). Equal genomes give equal bytes.
 */
STRAIN_API int strain_genome_serialize(uint8_t **out, size_t *out_len, strain_ctx *ctx,
                                       const strain_genome *g);
/*
 * Reads bytes written by strain_genome_serialize(). The bytes are untrusted (a corrupt
 * database): anything inconsistent fails with STRAIN_EMALFORMED, never reads out of bounds.
 * Caller frees the result with strain_genome_free().
 */
STRAIN_API int strain_genome_deserialize(strain_genome **out, strain_ctx *ctx, const uint8_t *data,
                                         size_t len);

/*
 * A new genome holding what g has and clean has not: functions whose exact hash occurs in
 * clean, that are near-identical to one of clean's (MinHash similarity >= 0.8, sizes within
 * a factor of 2: the same runtime function from another compiler release) or that share a
 * neutral hash with one of clean's (the same runtime function built for the other
 * instruction set), and fragments and strings present in clean, are dropped. clean is typically the genome of
 * an empty program built with the same toolchain (its runtime library), so that unrelated programs
 * sharing a CRT do not look related. Caller frees *out. Thread-safe.
 */
STRAIN_API int strain_genome_discount(strain_genome **out, strain_ctx *ctx, const strain_genome *g,
                                      const strain_genome *clean);

/*
 * The normalised disassembly of the function starting at va (one line per instruction,
 * blocks in canonical order, "; block N -> succ..." headers): what the genotype hashes see.
 * *out is malloc'd, caller frees. STRAIN_ENOTFOUND when no function starts at va.
 */
STRAIN_API int strain_code_disasm(char **out, strain_ctx *ctx, const strain_binary *bin,
                                  const strain_code_options *opts, uint64_t va);

/* strain_gene_match.how: what paired the two functions. */
#define STRAIN_MATCH_EXACT 1u   /* the same exact hash: identical normalised code */
#define STRAIN_MATCH_SIMILAR 2u /* MinHash: near-identical code */
#define STRAIN_MATCH_NEUTRAL 3u /* the same neutral hash only: same APIs, strings, constants */

/* One matched function pair of a comparison. */
typedef struct strain_gene_match {
    uint64_t address_a;
    uint64_t address_b;
    uint32_t size_a;
    uint32_t size_b;
    double similarity; /* 0..1; 1 = identical normalised CFG */
    uint32_t how;      /* STRAIN_MATCH_* */
} strain_gene_match;

/* "exact", "similar" or "neutral". */
STRAIN_API const char *strain_match_name(uint32_t how);

typedef struct strain_comparison {
    double score;      /* code: 0..100, symmetric */
    double coverage_a; /* share of A's counted code bytes in matched functions, 0..1 */
    double coverage_b;
    double fragment_jaccard;     /* |FA & FB| / |FA | FB| */
    double fragment_containment; /* |FA & FB| / min(|FA|, |FB|) */
    size_t n_counted_a;          /* functions above the size floor */
    size_t n_counted_b;
    size_t n_matches; /* sorted by address_a */
    strain_gene_match *matches;
    /* Strings: shared over the smaller set, 0..100; 0 with fewer than
     * STRAIN_COMPARE_MIN_SHARED_STRINGS shared or when a genome has no strings recorded. */
    double string_score;
    size_t n_shared_strings;
    /* Code and strings together, 0..100: max(0.8 strings + 0.2 code, code - 60) when both
     * genomes recorded strings, else the code score. Hunting and clustering rank by it. */
    double combined_score;
} strain_comparison;

/* A string or two in common is chance (a format, a path); a family shares more. */
#define STRAIN_COMPARE_MIN_SHARED_STRINGS 2u

/*
 * Compares two genomes: functions are paired one-to-one (exact hash first, then MinHash
 * candidates from LSH bands, then equal neutral hashes at similarity 0.6, which pair an x86
 * function with its x64 build), and the code score is the similarity-weighted share of both
 * files' counted code covered by the pairs, blended with the fragment Jaccard; the strings
 * are compared as sets, and both channels combined (see strain_comparison). Raw figures:
 * runtime library code and strings shared by unrelated files are not discounted here. Caller frees
 * with strain_comparison_free(). Thread-safe (the genomes are only read).
 */
STRAIN_API int strain_compare(strain_comparison **out, strain_ctx *ctx, const strain_genome *a,
                              const strain_genome *b);
STRAIN_API void strain_comparison_free(strain_comparison *c);

#ifdef __cplusplus
}
#endif
#endif
