/*
 * MinHash signatures and banded LSH candidate pairs (src/engine/lsh.c), for clustering.
 */
#ifndef STRAIN_ENGINE_LSH_H
#define STRAIN_ENGINE_LSH_H

#include <strain/common.h>

/* 64 MinHash values in 32 bands of 2 rows: a pair with Jaccard J shares a band with
 * probability 1 - (1 - J^2)^32: 0.96 at J = 0.3, 0.27 at J = 0.1, 0.003 at J = 0.01. Families
 * need only be connected, not complete, so weak links missed here are usually bridged. */
#define STRAIN_LSH_K 64
#define STRAIN_LSH_ROWS 2

/* out[STRAIN_LSH_K]: MinHash of the set f (all 0xffffffff when empty). */
void strain_lsh__minhash(uint32_t *out, const uint64_t *f, size_t n);

/*
 * Candidate pairs of n signatures (sig[i * STRAIN_LSH_K ...]): every pair sharing a band
 * bucket, as (a << 32 | b) with a < b, sorted and unique (*out malloc'd). Buckets above
 * STRAIN_CLUSTER_MAX_BUCKET are skipped and counted in *skipped. Empty sets are never paired.
 */
int strain_lsh__candidates(uint64_t **out, size_t *n_out, uint64_t *skipped, strain_ctx *ctx,
                           const uint32_t *sig, size_t n);

#endif
