/*
 * Ranking a query against the reference database.
 *
 * 1. Weights. Every distinct feature of the query (keys.c) gets w = kind factor x idf^2, with
 *    the probabilistic idf over families idf(f) = ln(1 + (F - f + 0.5) / (f + 0.5)), F the
 *    families in the database and f those holding the feature (the form Lucene's BM25 uses:
 *    it never goes negative and falls close to 0 for code every family has). Code in one
 *    family is strong evidence, code in every family (a C runtime) almost none, and a
 *    feature held by any clean sample weighs 0. A feature absent from the database weighs
 *    as if one family held it: it is the query's own code and counts in the denominator, so
 *    a file that is mostly new code scores low against everything.
 * 2. Candidates, MaxScore-style. Features are looked up in decreasing weight. After each
 *    batch, `remaining` (the weight not yet looked up) bounds what any sample can still gain;
 *    once no sample outside the verification pool and no unseen sample can climb into it (nor
 *    above the reporting floor), the low-weight features (the common ones, with the longest
 *    posting lists) are never read. No fixed document-frequency cut-off: a common feature is
 *    skipped only when the weights prove it cannot change the ranking.
 * 3. Verification. The best candidates' stored genomes are re-keyed and intersected with the
 *    query: a sample's score is the weighted share of the query's features it holds (exact,
 *    not the partial sums of step 2). A family's score is the same share for the union of its
 *    candidates, an actor's for the union over its families (families of an actor share
 *    tooling code: the union sees it).
 * 4. Evidence: strain_compare against the best sample of the verdict gives the matched
 *    functions (ranked by rarity and size) and the shared fragments ranked by rarity.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "util/err.h"

#define LOOKUP_BATCH 64u
#define VERIFY_POOL 24u
/* Share of the query's weight MaxScore may leave unread before scores are made exact from
 * the stored genomes (a score is then off by at most this much). */
#define VERIFY_UNREAD 0.02
/* df family counts are exact for features in at most this many samples (the store counts
 * them over the postings). Beyond it the feature is taken to be in min(F, samples) families:
 * the lowest weight it could have. That is right for common code (a runtime linked by
 * thousands of samples); it under-weighs code unique to one family of more than this many
 * samples (documented in docs/attribution.md). */
#define FAMILY_SCAN_MAX 64u

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
    double score;
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
    size_t n_words;
} qstate;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static size_t find_key(const qstate *q, uint32_t kind, uint64_t hash)
{
    for (size_t s = mix(hash ^ kind) & q->mask;; s = (s + 1) & q->mask) {
        size_t v = q->slots[s];
        if (v == 0) {
            return SIZE_MAX;
        }
        if (q->keys[v - 1].hash == hash && q->keys[v - 1].kind == kind) {
            return v - 1;
        }
    }
}

static int cmp_ekey(const void *a, const void *b)
{
    const strain_engine_key *x = a;
    const strain_engine_key *y = b;
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    return x->gene < y->gene ? -1 : x->gene > y->gene;
}

/* Distinct query keys and their lookup table. */
static int build_keys(qstate *q, const strain_engine_item *it)
{
    strain_engine_key *k = NULL;
    strain_engine_key *names = NULL;
    size_t n = 0;
    size_t nn = 0;
    int err;
    STRAIN_TRY(strain_engine__keys(&k, &n, q->e->ctx, it->genome));
    STRAIN_TRY(strain_engine__name_keys(&names, &nn, q->e->ctx, it));
    if (nn > 0) {
        strain_engine_key *r = realloc(k, (n + nn) * sizeof(*k));
        if (r == NULL) {
            err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
            goto done;
        }
        k = r;
        memcpy(k + n, names, nn * sizeof(*k));
        n += nn;
    }
    qsort(k, n, sizeof(*k), cmp_ekey);
    q->keys = calloc(n ? n : 1, sizeof(*q->keys));
    size_t cap = 16;
    while (cap < 2 * n) {
        cap *= 2;
    }
    q->slots = calloc(cap, sizeof(*q->slots));
    if (q->keys == NULL || q->slots == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    q->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        if (q->n_keys > 0 && q->keys[q->n_keys - 1].kind == k[i].kind &&
            q->keys[q->n_keys - 1].hash == k[i].hash) {
            continue;
        }
        qkey *x = &q->keys[q->n_keys];
        x->kind = k[i].kind;
        x->gene = k[i].gene;
        x->hash = k[i].hash;
        size_t s = mix(x->hash ^ x->kind) & q->mask;
        while (q->slots[s] != 0) {
            s = (s + 1) & q->mask;
        }
        q->slots[s] = ++q->n_keys;
    }
    q->n_words = (q->n_keys + 63) / 64;
done:
    free(k);
    free(names);
    return err;
}

/* Rarity weights from the database's document frequencies. */
static int weigh(qstate *q, double F)
{
    strain_store_key *sk = malloc((q->n_keys ? q->n_keys : 1) * sizeof(*sk));
    strain_store_df *df = malloc((q->n_keys ? q->n_keys : 1) * sizeof(*df));
    int err = STRAIN_OK;
    if (sk == NULL || df == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < q->n_keys; i++) {
        sk[i] = (strain_store_key){q->keys[i].kind, q->keys[i].hash};
    }
    STRAIN_TRY(strain_store_df_get(q->e->st, df, sk, q->n_keys, FAMILY_SCAN_MAX));
    double idf_max = log(1.0 + (F - 0.5) / 1.5);
    q->total_w = 0;
    for (size_t i = 0; i < q->n_keys; i++) {
        qkey *x = &q->keys[i];
        double factor = strain_engine__kind_factor(x->kind);
        double idf;
        x->n_samples = df[i].n_samples;
        if (df[i].n_samples == 0) {
            idf = idf_max;
        } else if (df[i].n_clean > 0) {
            idf = 0;
            x->seen = true;
        } else {
            double f;
            if (df[i].families_counted) {
                f = df[i].n_families;
            } else {
                f = df[i].n_samples;
            }
            f = f < 1 ? 1 : (f > F ? F : f);
            x->n_families = (uint32_t)f;
            idf = log(1.0 + (F - f + 0.5) / (f + 0.5));
            x->seen = true;
        }
        /* squared, as in a cosine of idf-weighted vectors (the query's weight and the
         * reference's multiply): statically linked runtimes are hundreds of functions held
         * by most families, and a linear idf left them outweighing a small module's own
         * code (measured: T4 false attributions 0.51 with idf, see bench/RESULTS.md) */
        x->w = factor * idf * idf;
        q->total_w += x->w;
    }
done:
    free(sk);
    free(df);
    return err;
}

static int cand_slot(qstate *q, int64_t id, size_t *out)
{
    if (2 * (q->n_cands + 1) > q->cmask + 1 || q->cslots == NULL) {
        size_t ncap = q->cslots ? 2 * (q->cmask + 1) : 1024;
        size_t *ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL) {
            return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < q->n_cands; i++) {
            size_t s = mix((uint64_t)q->cands[i].id) & (ncap - 1);
            while (ns[s] != 0) {
                s = (s + 1) & (ncap - 1);
            }
            ns[s] = i + 1;
        }
        free(q->cslots);
        q->cslots = ns;
        q->cmask = ncap - 1;
    }
    size_t s = mix((uint64_t)id) & q->cmask;
    for (; q->cslots[s] != 0; s = (s + 1) & q->cmask) {
        if (q->cands[q->cslots[s] - 1].id == id) {
            *out = q->cslots[s] - 1;
            return STRAIN_OK;
        }
    }
    if (q->n_cands == q->cap_cands) {
        size_t nc = q->cap_cands ? 2 * q->cap_cands : 256;
        cand *r = realloc(q->cands, nc * sizeof(*r));
        if (r == NULL) {
            return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        }
        q->cands = r;
        q->cap_cands = nc;
    }
    memset(&q->cands[q->n_cands], 0, sizeof(cand));
    q->cands[q->n_cands].id = id;
    q->cslots[s] = ++q->n_cands;
    *out = q->n_cands - 1;
    return STRAIN_OK;
}

static size_t find_cand(const qstate *q, int64_t id)
{
    if (q->cslots == NULL) {
        return SIZE_MAX;
    }
    for (size_t s = mix((uint64_t)id) & q->cmask; q->cslots[s] != 0; s = (s + 1) & q->cmask) {
        if (q->cands[q->cslots[s] - 1].id == id) {
            return q->cslots[s] - 1;
        }
    }
    return SIZE_MAX;
}

static int cmp_w_desc(const void *a, const void *b)
{
    double x = (*(const qkey *const *)a)->w;
    double y = (*(const qkey *const *)b)->w;
    return x > y ? -1 : x < y;
}

static int cmp_dbl_desc(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x > y ? -1 : x < y;
}

/* The pool'th and (pool+1)'th best partial sums (0 when there are fewer candidates). */
static int pool_bounds(qstate *q, size_t pool, double *in_pool, double *outside)
{
    *in_pool = 0;
    *outside = 0;
    if (q->n_cands < pool) {
        return STRAIN_OK;
    }
    double *a = malloc(q->n_cands * sizeof(*a));
    if (a == NULL) {
        return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < q->n_cands; i++) {
        a[i] = q->cands[i].acc;
    }
    qsort(a, q->n_cands, sizeof(*a), cmp_dbl_desc);
    *in_pool = a[pool - 1];
    *outside = q->n_cands > pool ? a[pool] : 0;
    free(a);
    return STRAIN_OK;
}

/* Step 2: candidates by MaxScore over the weight-ordered features. */
static int gather(qstate *q, size_t pool, double floor_w, size_t *out_looked, double *out_remaining)
{
    qkey **order = NULL;
    strain_store_key *batch = NULL;
    strain_store_posting *p = NULL;
    size_t n_order = 0;
    double remaining = 0;
    int err = STRAIN_OK;
    order = malloc((q->n_keys ? q->n_keys : 1) * sizeof(*order));
    batch = malloc(LOOKUP_BATCH * sizeof(*batch));
    if (order == NULL || batch == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < q->n_keys; i++) {
        if (q->keys[i].seen && q->keys[i].w > 0) {
            order[n_order++] = &q->keys[i];
            remaining += q->keys[i].w;
        }
    }
    qsort(order, n_order, sizeof(*order), cmp_w_desc);
    size_t next = 0;
    while (next < n_order) {
        double in_pool;
        double outside;
        STRAIN_TRY(pool_bounds(q, pool, &in_pool, &outside));
        double bar = in_pool > floor_w ? in_pool : floor_w;
        /* nothing outside the pool (nor any sample not yet met) can reach the bar */
        if (remaining + outside < bar) {
            break;
        }
        size_t nb = 0;
        while (next < n_order && nb < LOOKUP_BATCH) {
            batch[nb].kind = order[next]->kind;
            batch[nb].hash = order[next]->hash;
            remaining -= order[next]->w;
            nb++;
            next++;
        }
        size_t np = 0;
        free(p);
        p = NULL;
        STRAIN_TRY(strain_store_lookup(q->e->st, &p, &np, batch, nb, UINT32_MAX));
        for (size_t i = 0; i < np; i++) {
            size_t k = find_key(q, p[i].kind, p[i].hash);
            size_t c = 0;
            if (k == SIZE_MAX) {
                continue;
            }
            STRAIN_TRY(cand_slot(q, p[i].sample_id, &c));
            cand *cc = &q->cands[c];
            if (cc->bits == NULL &&
                (cc->bits = calloc(q->n_words ? q->n_words : 1, sizeof(uint64_t))) == NULL) {
                err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
                goto done;
            }
            if (!(cc->bits[k / 64] & (1ull << (k % 64)))) {
                cc->bits[k / 64] |= 1ull << (k % 64);
                cc->acc += q->keys[k].w;
            }
        }
    }
    /* Completion: the pool's scores still miss the unread (common) features. Reading their
     * postings for the pool only costs their sample counts; re-keying the pool's genomes
     * costs about pool x query features. The cheaper wins (the genomes, in verify(), on a
     * large database where common features have long posting lists). */
    uint64_t post_cost = 0;
    for (size_t i = next; i < n_order; i++) {
        post_cost += order[i]->n_samples;
    }
    if (next < n_order && post_cost <= (uint64_t)pool * q->n_keys) {
        while (next < n_order) {
            size_t nb = 0;
            while (next < n_order && nb < LOOKUP_BATCH) {
                batch[nb].kind = order[next]->kind;
                batch[nb].hash = order[next]->hash;
                remaining -= order[next]->w;
                nb++;
                next++;
            }
            size_t np = 0;
            free(p);
            p = NULL;
            STRAIN_TRY(strain_store_lookup(q->e->st, &p, &np, batch, nb, UINT32_MAX));
            for (size_t i = 0; i < np; i++) {
                size_t k = find_key(q, p[i].kind, p[i].hash);
                size_t c = find_cand(q, p[i].sample_id);
                if (k == SIZE_MAX || c == SIZE_MAX) {
                    continue; /* no new candidates in this phase */
                }
                cand *cc = &q->cands[c];
                if (!(cc->bits[k / 64] & (1ull << (k % 64)))) {
                    cc->bits[k / 64] |= 1ull << (k % 64);
                    cc->acc += q->keys[k].w;
                }
            }
        }
        remaining = 0;
    }
    *out_looked = next;
    *out_remaining = remaining;
done:
    free(p);
    free(order);
    free(batch);
    return err;
}

static int cmp_cand_acc(const void *a, const void *b)
{
    const cand *x = a;
    const cand *y = b;
    if (x->acc != y->acc) {
        return x->acc > y->acc ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_cand_score(const void *a, const void *b)
{
    const cand *x = a;
    const cand *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The stored genome of a candidate (once). */
static int load_genome(qstate *q, cand *c)
{
    void *blob = NULL;
    size_t len = 0;
    uint32_t ver = 0;
    int err;
    if (c->genome != NULL) {
        return STRAIN_OK;
    }
    STRAIN_TRY(strain_store_get_genome(q->e->st, &blob, &len, &ver, c->id));
    if (ver != STRAIN_ENGINE_GENOME_VERSION) {
        err = strain__fail(q->e->ctx, STRAIN_ESTORE,
                           "sample %" PRId64 ": genome version %u unknown", c->id, ver);
        goto done;
    }
    STRAIN_TRY(strain_genome_deserialize(&c->genome, q->e->ctx, blob, len));
done:
    free(blob);
    return err;
}

/* Step 3 for one candidate: its labels and, when exact is set, its matched-feature set
 * recomputed from its stored genome (otherwise the postings' partial set stands). */
static int verify(qstate *q, cand *c, bool exact)
{
    strain_engine_key *k = NULL;
    size_t nk = 0;
    int err;
    STRAIN_TRY(strain_store_get_sample_by_id(q->e->st, &c->meta, c->id));
    if (!exact) {
        c->score = q->total_w > 0 ? c->acc / q->total_w : 0;
        return STRAIN_OK;
    }
    STRAIN_TRY(load_genome(q, c));
    STRAIN_TRY(strain_engine__keys(&k, &nk, q->e->ctx, c->genome));
    /* the genome re-keys code features; name features (not in the genome) keep what the
     * postings found */
    c->score = 0;
    for (size_t j = 0; j < q->n_keys; j++) {
        bool named = q->keys[j].kind == STRAIN_KIND_NAME || q->keys[j].kind == STRAIN_KIND_IMPORT;
        if (!named) {
            c->bits[j / 64] &= ~(1ull << (j % 64));
        } else if (c->bits[j / 64] & (1ull << (j % 64))) {
            c->score += q->keys[j].w;
        }
    }
    for (size_t i = 0; i < nk; i++) {
        size_t j = find_key(q, k[i].kind, k[i].hash);
        if (j != SIZE_MAX && !(c->bits[j / 64] & (1ull << (j % 64)))) {
            c->bits[j / 64] |= 1ull << (j % 64);
            c->score += q->keys[j].w;
        }
    }
    c->score = q->total_w > 0 ? c->score / q->total_w : 0;
done:
    free(k);
    return err;
}

/*
 * Actor spread. Among the verified candidates, a feature held by samples of k different
 * actors is code those actors share (a statically linked runtime of one compiler version,
 * an SDK's glue code): it cannot tell them apart, so its weight is divided by k^2, in the
 * denominator too. Family-level rarity alone cannot see this when only a few families were
 * built with the same toolchain (measured: a tiny module scored 0.83 against an unrelated
 * actor through its runtime alone). Code shared by the families of one actor keeps its
 * full weight: that is the tooling an actor reuses.
 */
static void spread_discount(qstate *q, size_t verified)
{
    const char *names[32];
    int idx[64];
    size_t n_names = 0;
    size_t v = verified < 64 ? verified : 64;
    for (size_t i = 0; i < v; i++) {
        const cand *c = &q->cands[i];
        const char *a =
            (c->meta != NULL && c->meta->label.clean != 1) ? c->meta->label.actor : NULL;
        idx[i] = -1;
        if (a == NULL || a[0] == '\0') {
            continue;
        }
        for (size_t j = 0; j < n_names; j++) {
            if (strcmp(names[j], a) == 0) {
                idx[i] = (int)j;
            }
        }
        if (idx[i] < 0 && n_names < 32) {
            names[n_names] = a;
            idx[i] = (int)n_names++;
        }
    }
    double total = 0;
    for (size_t k = 0; k < q->n_keys; k++) {
        uint32_t mask = 0;
        for (size_t i = 0; i < v; i++) {
            if (idx[i] >= 0 && (q->cands[i].bits[k / 64] & (1ull << (k % 64)))) {
                mask |= 1u << idx[i];
            }
        }
        int spread = __builtin_popcount(mask);
        if (spread > 1) {
            q->keys[k].w /= (double)spread * spread;
        }
        total += q->keys[k].w;
    }
    q->total_w = total;
    for (size_t i = 0; i < verified; i++) {
        cand *c = &q->cands[i];
        double sc = 0;
        for (size_t k = 0; k < q->n_keys; k++) {
            if (c->bits[k / 64] & (1ull << (k % 64))) {
                sc += q->keys[k].w;
            }
        }
        c->score = total > 0 ? sc / total : 0;
    }
}

static void free_cand(cand *c)
{
    free(c->bits);
    strain_store_sample_free(c->meta);
    strain_genome_free(c->genome);
}

/* The result plus the strings it owns. */
typedef struct result_impl {
    strain_query_result pub;
    char **strs;
    size_t n_strs;
    size_t cap_strs;
} result_impl;

void strain_query_result_free(strain_query_result *r)
{
    if (r == NULL) {
        return;
    }
    result_impl *ri = (result_impl *)r;
    for (size_t i = 0; i < ri->n_strs; i++) {
        free(ri->strs[i]);
    }
    free(ri->strs);
    free(r->actors);
    free(r->families);
    free(r->neighbors);
    free(r->functions);
    free(r->fragments);
    free(ri);
}

/* A copy of s owned by the result (NULL stays NULL). */
static int keep_str(qstate *q, strain_query_result *r, const char **out, const char *s)
{
    result_impl *ri = (result_impl *)r;
    *out = NULL;
    if (s == NULL) {
        return STRAIN_OK;
    }
    if (ri->n_strs == ri->cap_strs) {
        size_t nc = ri->cap_strs ? 2 * ri->cap_strs : 32;
        char **ns = realloc(ri->strs, nc * sizeof(*ns));
        if (ns == NULL) {
            return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        }
        ri->strs = ns;
        ri->cap_strs = nc;
    }
    char *d = strdup(s);
    if (d == NULL) {
        return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    ri->strs[ri->n_strs++] = d;
    *out = d;
    return STRAIN_OK;
}

static bool usable(const cand *c)
{
    return c->meta != NULL && c->meta->label.clean != 1;
}

static const char *field_of(const cand *c, bool actor)
{
    const char *s = actor ? c->meta->label.actor : c->meta->label.family;
    return (s != NULL && s[0] != '\0') ? s : NULL;
}

static int cmp_label(const void *a, const void *b)
{
    const strain_query_label *x = a;
    const strain_query_label *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* Families (actor = false) or actors: the union of their candidates' matched features. */
static int rank_group(qstate *q, strain_query_result *r, size_t verified, bool actor,
                      strain_query_label **out, size_t *out_n)
{
    strain_query_label *l = calloc(verified ? verified : 1, sizeof(*l));
    uint64_t *u = calloc(q->n_words ? q->n_words : 1, sizeof(*u));
    size_t n = 0;
    int err = STRAIN_OK;
    if (l == NULL || u == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < verified; i++) {
        const cand *c = &q->cands[i];
        const char *name = usable(c) ? field_of(c, actor) : NULL;
        bool dup = false;
        if (name == NULL) {
            continue;
        }
        for (size_t j = 0; j < i && !dup; j++) {
            dup = usable(&q->cands[j]) && field_of(&q->cands[j], actor) != NULL &&
                  strcmp(field_of(&q->cands[j], actor), name) == 0;
        }
        if (dup) {
            continue;
        }
        memset(u, 0, q->n_words * sizeof(*u));
        size_t members = 0;
        for (size_t j = i; j < verified; j++) {
            const cand *d = &q->cands[j];
            if (!usable(d) || field_of(d, actor) == NULL || strcmp(field_of(d, actor), name)) {
                continue;
            }
            members++;
            for (size_t w = 0; w < q->n_words; w++) {
                u[w] |= d->bits[w];
            }
        }
        double s = 0;
        for (size_t k = 0; k < q->n_keys; k++) {
            if (u[k / 64] & (1ull << (k % 64))) {
                s += q->keys[k].w;
            }
        }
        strain_query_label *x = &l[n++];
        x->score = q->total_w > 0 ? s / q->total_w : 0;
        x->confidence = strain_engine_confidence(x->score);
        x->n_samples = members;
        STRAIN_TRY(keep_str(q, r, &x->name, name));
        if (!actor) {
            STRAIN_TRY(keep_str(q, r, &x->actor, field_of(c, true)));
        }
    }
    qsort(l, n, sizeof(*l), cmp_label);
    *out = l;
    *out_n = n;
    l = NULL;
done:
    free(l);
    free(u);
    return err;
}

/* Keeps the first max entries, and only those at or above thr unless all. */
static size_t trim_labels(const strain_query_label *l, size_t n, size_t max, bool all, double thr)
{
    size_t k = 0;
    while (k < n && k < max && (all || l[k].score >= thr)) {
        k++;
    }
    return k;
}

static int rank_labels(qstate *q, strain_query_result *r, size_t verified,
                       const strain_query_options *o, double thr)
{
    int err;
    size_t nf = 0;
    size_t na = 0;
    STRAIN_TRY(rank_group(q, r, verified, false, &r->families, &nf));
    STRAIN_TRY(rank_group(q, r, verified, true, &r->actors, &na));
    /* the verdict: the best actor, and its best family, when at or above the threshold */
    if (na > 0 && r->actors[0].score >= thr) {
        r->verdict_actor = r->actors[0].name;
        r->verdict_score = r->actors[0].score;
        for (size_t i = 0; i < nf; i++) {
            if (r->families[i].score >= thr && r->families[i].actor != NULL &&
                strcmp(r->families[i].actor, r->verdict_actor) == 0) {
                r->verdict_family = r->families[i].name;
                r->verdict_score = r->families[i].score;
                break;
            }
        }
        r->verdict_confidence = strain_engine_confidence(r->verdict_score);
    }
    r->n_families = trim_labels(r->families, nf, o->max_labels, o->all, thr);
    r->n_actors = trim_labels(r->actors, na, o->max_labels, o->all, thr);

    r->neighbors = calloc(verified ? verified : 1, sizeof(*r->neighbors));
    if (r->neighbors == NULL) {
        return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < verified && r->n_neighbors < o->max_neighbors; i++) {
        const cand *c = &q->cands[i];
        if (!usable(c) || c->score <= 0 || (!o->all && c->score < thr)) {
            continue;
        }
        strain_query_neighbor *x = &r->neighbors[r->n_neighbors++];
        x->id = c->id;
        memcpy(x->sha256, c->meta->sha256, sizeof(x->sha256));
        x->score = c->score;
        STRAIN_TRY(keep_str(q, r, &x->actor, field_of(c, true)));
        STRAIN_TRY(keep_str(q, r, &x->family, field_of(c, false)));
        STRAIN_TRY(keep_str(q, r, &x->file_name, c->meta->file_name));
    }
done:
    return err;
}

/* The reference sample the evidence is drawn from (NULL: none worth showing). */
static const cand *evidence_ref(const qstate *q, const strain_query_result *r, size_t verified)
{
    for (size_t i = 0; i < verified; i++) {
        const cand *c = &q->cands[i];
        if (!usable(c) || c->score <= 0) {
            continue;
        }
        const char *fam = field_of(c, false);
        const char *act = field_of(c, true);
        if (r->verdict_family != NULL) {
            if (fam != NULL && strcmp(fam, r->verdict_family) == 0) {
                return c;
            }
        } else if (r->verdict_actor != NULL) {
            if (act != NULL && strcmp(act, r->verdict_actor) == 0) {
                return c;
            }
        } else if (r->n_neighbors > 0) {
            return c; /* --all: the nearest sample, below the threshold */
        }
    }
    return NULL;
}

static const strain_gene *gene_at(const strain_genome_info *gi, uint64_t va)
{
    size_t lo = 0;
    size_t hi = gi->n_genes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (gi->genes[mid].address < va) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < gi->n_genes && gi->genes[lo].address == va ? &gi->genes[lo] : NULL;
}

static int cmp_fn(const void *a, const void *b)
{
    const strain_query_function *x = a;
    const strain_query_function *y = b;
    double kx = x->weight * x->similarity * x->query_size;
    double ky = y->weight * y->similarity * y->query_size;
    if (kx != ky) {
        return kx > ky ? -1 : 1;
    }
    return x->query_address < y->query_address ? -1 : x->query_address > y->query_address;
}

static int cmp_frag(const void *a, const void *b)
{
    const strain_query_fragment *x = a;
    const strain_query_fragment *y = b;
    if (x->weight != y->weight) {
        return x->weight > y->weight ? -1 : 1;
    }
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int collect_evidence(qstate *q, strain_query_result *r, const strain_engine_item *it,
                            size_t verified, const strain_query_options *o)
{
    strain_comparison *cmp = NULL;
    int err = STRAIN_OK;
    const cand *ref = evidence_ref(q, r, verified);
    if (ref == NULL) {
        return STRAIN_OK;
    }
    STRAIN_TRY(load_genome(q, (cand *)ref));
    STRAIN_TRY(strain_compare(&cmp, q->e->ctx, it->genome, ref->genome));
    const strain_genome_info *gi = strain_genome_get_info(it->genome);
    r->functions = calloc(cmp->n_matches ? cmp->n_matches : 1, sizeof(*r->functions));
    r->fragments = calloc(q->n_keys ? q->n_keys : 1, sizeof(*r->fragments));
    if (r->functions == NULL || r->fragments == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < cmp->n_matches; i++) {
        const strain_gene_match *m = &cmp->matches[i];
        const strain_gene *g = gene_at(gi, m->address_a);
        size_t k = g ? find_key(q, STRAIN_KIND_FUNC_EXACT, g->exact) : SIZE_MAX;
        if (k == SIZE_MAX || q->keys[k].w <= 0) {
            continue; /* small, or clean code: not evidence */
        }
        strain_query_function *f = &r->functions[n++];
        f->query_address = m->address_a;
        f->query_size = m->size_a;
        memcpy(f->ref_sha256, ref->meta->sha256, sizeof(f->ref_sha256));
        f->ref_address = m->address_b;
        f->ref_size = m->size_b;
        f->similarity = m->similarity;
        f->weight = q->keys[k].w;
        f->n_families = q->keys[k].seen ? q->keys[k].n_families : 0;
    }
    qsort(r->functions, n, sizeof(*r->functions), cmp_fn);
    r->n_functions = n < o->max_functions ? n : o->max_functions;
    n = 0;
    for (size_t k = 0; k < q->n_keys; k++) {
        const qkey *x = &q->keys[k];
        if (x->kind != STRAIN_KIND_FRAGMENT || x->w <= 0 ||
            !(ref->bits[k / 64] & (1ull << (k % 64)))) {
            continue;
        }
        strain_query_fragment *f = &r->fragments[n++];
        f->hash = x->hash;
        f->weight = x->w;
        f->n_families = x->n_families;
        memcpy(f->ref_sha256, ref->meta->sha256, sizeof(f->ref_sha256));
    }
    qsort(r->fragments, n, sizeof(*r->fragments), cmp_frag);
    r->n_fragments = n < o->max_fragments ? n : o->max_fragments;
done:
    strain_comparison_free(cmp);
    return err;
}

int strain_engine_query(strain_query_result **out, strain_engine *e, const strain_engine_item *it,
                        const strain_query_options *opts)
{
    strain_query_options o = {0};
    strain_query_result *r = NULL;
    qstate q;
    strain_store_stats stats;
    size_t verified = 0;
    int err;
    memset(&q, 0, sizeof(q));
    if (out == NULL || e == NULL || it == NULL) {
        return STRAIN_EINVAL;
    }
    if (opts != NULL) {
        o = *opts;
    }
    o.max_neighbors = o.max_neighbors ? o.max_neighbors : 10;
    o.max_functions = o.max_functions ? o.max_functions : 12;
    o.max_fragments = o.max_fragments ? o.max_fragments : 10;
    o.max_labels = o.max_labels ? o.max_labels : 10;
    double thr = o.threshold > 0 ? o.threshold : strain_engine_default_threshold();
    q.e = e;
    result_impl *ri = calloc(1, sizeof(*ri));
    if (ri == NULL) {
        return strain__fail(e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    r = &ri->pub;
    memcpy(r->sha256, it->meta.sha256, sizeof(r->sha256));
    r->threshold = thr;
    STRAIN_TRY(strain_store_stats_get(e->st, &stats));
    double F = (double)(stats.families > 0 ? stats.families : 1);
    r->n_db_samples = (size_t)stats.samples;
    r->n_db_families = (size_t)stats.families;

    STRAIN_TRY(build_keys(&q, it));
    r->n_keys = q.n_keys;
    STRAIN_TRY(weigh(&q, F));
    size_t pool = VERIFY_POOL > o.max_neighbors ? VERIFY_POOL : o.max_neighbors;
    /* a sample below half the threshold cannot matter to a verdict; --all reports lower */
    double floor_s = o.all ? 0.01 : thr / 2;
    double remaining = 0;
    STRAIN_TRY(gather(&q, pool, floor_s * q.total_w, &r->n_keys_looked, &remaining));
    r->n_candidates = q.n_cands;

    if (q.n_cands > 0) { /* qsort(NULL, 0) is undefined */
        qsort(q.cands, q.n_cands, sizeof(*q.cands), cmp_cand_acc);
    }
    /* verify the pool, but not a candidate that cannot reach the floor even with every
     * feature left unread: loading its genome would change nothing */
    verified = 0;
    while (verified < q.n_cands && verified < pool &&
           q.cands[verified].acc + remaining >= floor_s * q.total_w) {
        verified++;
    }
    /* When MaxScore left at most VERIFY_UNREAD of the query's weight unread, the postings'
     * scores are within that of the exact ones and no genome is loaded; otherwise the pool
     * is re-scored exactly from the stored genomes. */
    r->unread_share = q.total_w > 0 ? remaining / q.total_w : 0;
    bool exact = r->unread_share > VERIFY_UNREAD;
    for (size_t i = 0; i < verified; i++) {
        STRAIN_TRY(verify(&q, &q.cands[i], exact));
    }
    r->n_verified = verified;
    spread_discount(&q, verified);
    if (verified > 0) {
        qsort(q.cands, verified, sizeof(*q.cands), cmp_cand_score);
    }
    STRAIN_TRY(rank_labels(&q, r, verified, &o, thr));
    STRAIN_TRY(collect_evidence(&q, r, it, verified, &o));
    *out = r;
    r = NULL;
done:
    for (size_t i = 0; i < q.n_cands; i++) {
        free_cand(&q.cands[i]);
    }
    free(q.cands);
    free(q.cslots);
    free(q.keys);
    free(q.slots);
    strain_query_result_free(r);
    return err;
}
