/*
 * strain/cluster.h: group samples into families by code similarity without comparing all
 * pairs. Each sample gets a MinHash signature of its code-fragment set (after discounting
 * fragments present in a large share of the collection: runtime and library code); banded
 * LSH over the signatures proposes candidate pairs, each is verified with strain_compare
 * (or the exact Jaccard of feature sets), and groups are merged by greedy average linkage
 * over the pairs at or above a threshold (or single linkage, union-find). Clusters are named by the
 * labels of their known members; quality figures are computed (mean intra-cluster similarity, a
 * silhouette-like separation and, when labels are known, the adjusted Rand index).
 */
#ifndef STRAIN_CLUSTER_H
#define STRAIN_CLUSTER_H

#include "code.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strain_cluster strain_cluster;

/* Best ARI on the public corpus of 10, 15, 20, 30, 40, 50 (tests/unit/engine/test_cluster.c):
 * 0.928 against the family labels at 30, 0.902 at 20, 0.907 at 40. */
#define STRAIN_CLUSTER_DEFAULT_THRESHOLD 30.0

typedef struct strain_cluster_opts {
    double threshold; /* edge when the verified score (strain_comparison.combined_score in
                         genome mode) >= this (0..100); 0 => STRAIN_CLUSTER_DEFAULT_THRESHOLD */
    /* Fragments present in more than this share of the samples are library code and do not
     * enter signatures or scores; 0 => 0.10; >= 1 disables. */
    double max_df;
    /* Default: greedy average linkage (groups merge when the mean score over all their cross
     * pairs, unproposed pairs counting 0, is >= threshold). true: single linkage (any pair). */
    bool single_linkage;
} strain_cluster_opts;

/* An empty clustering. Caller frees with strain_cluster_free(). */
STRAIN_API int strain_cluster_new(strain_cluster **out, strain_ctx *ctx,
                                  const strain_cluster_opts *opts);
STRAIN_API void strain_cluster_free(strain_cluster *c);

/*
 * Adds a sample by genome (copied). name is the display name (copied); label (family, may be
 * NULL) and actor (may be NULL) are the known labels; timestamp is the PE compile time (0 if
 * none), used to order lineages. Returns the sample's index. Not thread-safe for one c.
 */
STRAIN_API int strain_cluster_add_genome(strain_cluster *c, strain_ctx *ctx, const strain_genome *g,
                                         const char *name, const char *label, const char *actor,
                                         uint32_t timestamp);
/* Adds a sample given only as a set of 64-bit features (copied): verified by exact Jaccard
 * x 100. Mixing genomes and feature sets in one clustering is refused (EINVAL). */
STRAIN_API int strain_cluster_add_features(strain_cluster *c, strain_ctx *ctx,
                                           const uint64_t *features, size_t n, const char *name,
                                           const char *label, const char *actor,
                                           uint32_t timestamp);

/*
 * Adds every sample of a reference database (strain/store.h) that has a stored genome and
 * is not clean (`strain add --clean` samples are reference goodware, not members of a
 * family): name = its recorded file name (its sha256 when none), label = its family, actor
 * = its actor, timestamp = its PE compile time. Genomes are loaded one at a time and copied
 * into c. st is borrowed (one thread at a time). *out_added (may be NULL) receives the
 * number of samples added; samples without code are skipped. Not thread-safe for one c.
 */
STRAIN_API int strain_cluster_add_store(strain_cluster *c, strain_ctx *ctx, strain_store *st,
                                        size_t *out_added);

typedef struct strain_cluster_edge {
    size_t a, b; /* sample indexes, a < b */
    double score;
} strain_cluster_edge;

typedef struct strain_cluster_group {
    size_t n_members;
    const size_t *members; /* sample indexes, in lineage order (timestamp, then strongest link) */
    const char *name;      /* majority label of labelled members, or "cluster N" */
    double mean_score;     /* mean verified score over the group's edges (0 for singletons) */
} strain_cluster_group;

typedef struct strain_cluster_result {
    size_t n_samples;
    const size_t *assignment; /* group of each sample */
    size_t n_groups;          /* sorted by size, largest first */
    const strain_cluster_group *groups;
    size_t n_edges;
    const strain_cluster_edge *edges;
    uint64_t candidate_pairs; /* proposed by LSH */
    uint64_t verified_pairs;  /* compared (= candidates, deduplicated) */
    double mean_intra;        /* mean score of edges inside groups */
    double separation;        /* silhouette-like: mean over samples of (in - out)/max(in,out)
                                 with in/out the best edge score inside/outside its group */
    double ari;               /* adjusted Rand index against labels, -2 when none are known */
    double seconds;
} strain_cluster_result;

/*
 * Clusters the samples added so far. *out is borrowed from c: valid until c is freed or
 * run again. Not thread-safe for one c.
 */
STRAIN_API int strain_cluster_run(const strain_cluster_result **out, strain_cluster *c,
                                  strain_ctx *ctx);

/* The name of sample i as given, its label, actor, timestamp (borrowed). */
STRAIN_API const char *strain_cluster_sample_name(const strain_cluster *c, size_t i);
STRAIN_API const char *strain_cluster_sample_label(const strain_cluster *c, size_t i);
STRAIN_API uint32_t strain_cluster_sample_timestamp(const strain_cluster *c, size_t i);

#ifdef __cplusplus
}
#endif
#endif
