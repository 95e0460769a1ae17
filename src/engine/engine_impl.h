/*
 * Internals shared by the engine's files (hunt, cluster, yara): building genomes out of hash
 * sets, for the library-code discount.
 */
#ifndef STRAIN_ENGINE_IMPL_H
#define STRAIN_ENGINE_IMPL_H

#include <strain/code.h>

/*
 * A genome holding only the given function exact hashes, fragments and strings (no sketches,
 * no addresses): the shape strain_genome_discount() reads from its clean argument. The arrays
 * need not be sorted or unique. Built through the documented serialisation so that it is a
 * genome like any other. Caller frees.
 */
int strain_engine__hash_genome(strain_genome **out, strain_ctx *ctx, const uint64_t *exact,
                               size_t n_exact, const uint64_t *frags, size_t n_frags,
                               const uint64_t *strs, size_t n_strs);

/*
 * A genome of the code present in at least min_count of the n genomes (by function exact
 * hash and by fragment; counted once per genome). Caller frees.
 */
int strain_engine__common_genome(strain_genome **out, strain_ctx *ctx,
                                 const strain_genome *const *g, size_t n, unsigned min_count);

/* Deep copy through serialisation. */
int strain_engine__genome_copy(strain_genome **out, strain_ctx *ctx, const strain_genome *g);

#endif
