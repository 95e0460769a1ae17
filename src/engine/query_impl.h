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
    double prio; /* lookup order (gather) */
    bool str; /* a string feature (the strings channel), else code, names and imports */
} qkey;

/* Weight of a query in its two channels of evidence: code (functions, fragments, names,
 * imports) and strings. */
typedef struct qmass {
    double code;
    double str;
} qmass;

typedef struct cand {
    int64_t id;
    qmass acc;      /* partial matched weight from the postings read so far */
    qmass matched;  /* exact matched weight after verification */
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
    qmass total;
    double unit; /* weight of one function no other family holds: the evidence-mass unit */
    size_t n_words;
    bool strings; /* every sample of the database has its strings indexed: use them */
} qstate;

/*
 * Evidence mass at which the mass alone explains 1 - 1/e of a channel's score, in unit
 * functions (code held by one family only). See strain_engine__score().
 */
#define STRAIN_ENGINE_EVIDENCE_K 300.0
/* Weight of the strings channel in the combined score, and how far below its own score the
 * code channel alone may carry a verdict (see strain_engine__score). */
#define STRAIN_ENGINE_STRING_ALPHA 0.8
#define STRAIN_ENGINE_CODE_ALONE_DELTA 0.6

/*
 * The score of a label or sample holding matched weight m of the query's. Per channel (code,
 * strings), a noisy-OR of two indications that the match is kinship rather than a shared
 * library, each enough alone:
 *   share = matched / channel total  (most of the query's rare code or strings are there),
 *   mass  = matched / unit           (a lot of rare code is there, whatever the share),
 *   channel score = 1 - (1 - share) * exp(-mass / STRAIN_ENGINE_EVIDENCE_K).
 * The share alone misses a new version that added much code (esbuild: 25% of a 5 MB Go
 * binary is thousands of shared functions); the mass alone misses a small module whose
 * whole code is matched. The combined score is
 *   max(ALPHA * strings + (1 - ALPHA) * code,  code - DELTA):
 * strings are the stronger witness across compiler versions, and code shared without the
 * strings that go with it is most often a library both linked (measured: bench/RESULTS.md,
 * "String features"); but code alone still attributes a file without strings (stripped,
 * encrypted) once its own score is high (code 0.9 lands where the mix's threshold is).
 * Increasing in both channels, so MaxScore bounds hold.
 */
double strain_engine__score(const qstate *q, qmass m);
/* One channel (str false: code) as reported: its score, share (0..1) and evidence (unit
 * functions). Any output pointer may be NULL. */
void strain_engine__channel(const qstate *q, qmass m, bool str, double *score, double *share,
                            double *evidence);
/* The matched weight of a set of query keys (a bitset over q->keys). */
qmass strain_engine__matched(const qstate *q, const uint64_t *bits);

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
