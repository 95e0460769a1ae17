/*
 * Query internals shared by query.c (features, weights, MaxScore candidates, verification)
 * and rank.c (families, actors, verdict, evidence).
 */
#ifndef STRAIN_ENGINE_QUERY_IMPL_H
#define STRAIN_ENGINE_QUERY_IMPL_H

#include "attribution_impl.h"

typedef struct qkey {
    uint32_t kind;
    uint32_t gene;
    uint64_t hash;
    double w;
    uint32_t n_families;
    uint32_t n_samples;
    bool seen;
} qkey;

typedef struct cand {
    int64_t id;
    double acc;
    double matched; /* exact matched weight after verification */
    double score;   /* strain_engine__score(matched) */
    uint64_t *bits; /* matched query keys */
    strain_store_sample *meta;
    strain_genome *genome;
} cand;

typedef struct qstate {
    strain_engine *e;
    qkey *keys;
    size_t n_keys;
    size_t *slots; /* open addressing over keys: index + 1, 0 = empty */
    size_t mask;
    cand *cands;
    size_t n_cands;
    size_t cap_cands;
    size_t *cslots; /* sample id -> cand index + 1 */
    size_t cmask;
    double total_w;
    double unit; /* weight of one function no other family holds: the evidence-mass unit */
    size_t n_words;
} qstate;

/*
 * Evidence mass at which the mass alone explains 1 - 1/e of a score, in unit functions
 * (code held by one family only). See strain_engine__score().
 */
#define STRAIN_ENGINE_EVIDENCE_K 300.0

/*
 * The score of a label or sample holding matched_w of the query's weight: a noisy-OR of two
 * indications that the code is kin rather than a shared library, each enough alone:
 *   share = matched_w / total weight  (most of the query's rare code is there), and
 *   mass  = matched_w / unit          (a lot of rare code is there, whatever the share)
 *   score = 1 - (1 - share) * exp(-mass / STRAIN_ENGINE_EVIDENCE_K).
 * The share alone misses a new version that added much code (esbuild: 25% of a 5 MB Go
 * binary is thousands of shared functions); the mass alone misses a small module whose
 * whole code is matched. Increasing in matched_w, so MaxScore bounds still hold.
 */
double strain_engine__score(const qstate *q, double matched_w);
/* The two measures behind it, as reported: share (0..1) and evidence (unit functions). */
void strain_engine__measures(const qstate *q, double matched_w, double *share, double *evidence);
/* The least matched weight whose score reaches s (total_w when none below it does). */
double strain_engine__weight_for_score(const qstate *q, double s);

/* The query key index of (kind, hash), SIZE_MAX when the query has no such key. */
size_t strain_engine__find_key(const qstate *q, uint32_t kind, uint64_t hash);
/* Loads (once) the stored genome of a candidate. */
int strain_engine__load_genome(qstate *q, cand *c);
/* Families, actors, verdict and neighbours from the ranked candidates (best first). */
int strain_engine__rank_labels(qstate *q, strain_query_result *r, size_t verified,
                               const strain_query_options *o, double thr);
/* Matched functions and rare fragments against the verdict's best sample. */
int strain_engine__collect_evidence(qstate *q, strain_query_result *r, const strain_engine_item *it,
                                    size_t verified, const strain_query_options *o);
/* A zeroed result that owns its strings (freed by strain_query_result_free). */
strain_query_result *strain_engine__result_new(void);

#endif
