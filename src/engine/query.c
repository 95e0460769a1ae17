/*
 * Ranking a query against the reference database.
 *
 * 1. Weights. Every distinct feature of the query (keys.c; strings: code/genome_strings.c) gets
 *    w = kind factor x idf^2, with the probabilistic idf over families
 *    idf(f) = ln(1 + (F - f + 0.5) / (f + 0.5)), F the families in the database and f those
 *    holding the feature (the form Lucene's BM25 uses: it never goes negative and falls close
 *    to 0 for code every family has). Code in one family is strong evidence, code in every
 *    family (a C runtime) almost none, and a feature held by any clean sample weighs 0. A
 *    feature absent from the database weighs as if one family held it: it is the query's own
 *    and counts in the denominator, so a file that is mostly new code scores low against
 *    everything. Features fall into two channels, code and strings, each with its own total.
 * 2. Candidates, MaxScore-style. Features are looked up in decreasing share of their
 *    channel's score. After each batch, `remaining` (the weight not yet looked up, per
 *    channel) bounds what any sample can still gain; once no sample outside the verification
 *    pool and no unseen sample can climb into it (nor above the reporting floor), the
 *    low-weight features (the common ones, with the longest posting lists) are never read.
 *    No fixed document-frequency cut-off: a common feature is skipped only when the weights
 *    prove it cannot change the ranking.
 * 3. Verification. The best candidates' stored genomes are re-keyed and intersected with the
 *    query (name and string matches come from the postings): a sample's score combines the
 *    weighted shares of the query's code and strings it holds (strain_engine__score, exact,
 *    not the partial sums of step 2). A family's score is the same for the union of its
 *    candidates, an actor's for the union over its families (families of an actor share
 *    tooling code: the union sees it).
 * 4. Evidence: strain_compare against the best sample of the verdict gives the matched
 *    functions (ranked by rarity and size), then the shared fragments and strings ranked by
 *    rarity.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/certs_impl.h"
#include "query_impl.h"
#include "util/err.h"

#define LOOKUP_BATCH 64u
#define VERIFY_POOL 24u
/* Share of the query's weight MaxScore may leave unread before scores are made exact from
 * the stored genomes (a score is then off by at most this much). */
#define VERIFY_UNREAD 0.02
/* For a store that counts families over the postings: exact counts up to this many samples,
 * beyond it the feature is taken to be in min(F, samples) families (the lowest weight it
 * could have). The SQLite store maintains the counts (schema 4) and is exact for all. */
#define FAMILY_SCAN_MAX 64u

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

size_t strain_engine__find_key(const qstate *q, uint32_t kind, uint64_t hash)
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
        for (size_t i = 0; i < nn; i++) {
            if (q->strings || names[i].kind != STRAIN_KIND_STRING) {
                k[n++] = names[i];
            }
        }
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

/* q->strings: whether every sample of the database carries the strings marker (a database
 * built before string features has none; its samples would look as if they had no strings). */
static int strings_indexed(qstate *q, uint64_t samples)
{
    strain_store_key k = {STRAIN_KIND_STRING, STRAIN_ENGINE_STRINGS_MARKER};
    strain_store_df df;
    int err = strain_store_df_get(q->e->st, &df, &k, 1, FAMILY_SCAN_MAX);
    if (err < 0) {
        return err;
    }
    q->strings = samples > 0 && df.n_samples >= samples;
    return STRAIN_OK;
}

/* Adds w to the channel of key k in m. */
static void add_to(qmass *m, const qkey *k, double w)
{
    if (k->str) {
        m->str += w;
    } else {
        m->code += w;
    }
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
    q->unit = strain_engine__kind_factor(STRAIN_KIND_FUNC_EXACT) * idf_max * idf_max;
    q->total = (qmass){0, 0};
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
        x->str = x->kind == STRAIN_KIND_STRING;
        add_to(&q->total, x, x->w);
    }
done:
    free(sk);
    free(df);
    return err;
}

static double noisy_or(double matched, double total, double unit)
{
    if (total <= 0 || matched <= 0) {
        return 0;
    }
    double share = matched / total;
    share = share > 1 ? 1 : share;
    return 1.0 - (1.0 - share) * exp(-(matched / unit) / STRAIN_ENGINE_EVIDENCE_K);
}

void strain_engine__channel(const qstate *q, qmass m, bool str, double *score, double *share,
                            double *evidence)
{
    double mw = str ? m.str : m.code;
    double tot = str ? q->total.str : q->total.code;
    if (score != NULL) {
        *score = noisy_or(mw, tot, q->unit);
    }
    if (share != NULL) {
        *share = tot > 0 && mw > 0 ? mw / tot : 0;
    }
    if (evidence != NULL) {
        *evidence = q->unit > 0 && mw > 0 ? mw / q->unit : 0;
    }
}

double strain_engine__score(const qstate *q, qmass m)
{
    double code = noisy_or(m.code, q->total.code, q->unit);
    double str = noisy_or(m.str, q->total.str, q->unit);
    double mix = STRAIN_ENGINE_STRING_ALPHA * str + (1.0 - STRAIN_ENGINE_STRING_ALPHA) * code;
    double alone = code - STRAIN_ENGINE_CODE_ALONE_DELTA;
    return mix > alone ? mix : alone;
}

qmass strain_engine__matched(const qstate *q, const uint64_t *bits)
{
    qmass m = {0, 0};
    for (size_t k = 0; k < q->n_keys; k++) {
        if (bits[k / 64] & (1ull << (k % 64))) {
            add_to(&m, &q->keys[k], q->keys[k].w);
        }
    }
    return m;
}

static qmass plus(qmass a, qmass b)
{
    return (qmass){a.code + b.code, a.str + b.str};
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

static int cmp_prio_desc(const void *a, const void *b)
{
    double x = (*(const qkey *const *)a)->prio;
    double y = (*(const qkey *const *)b)->prio;
    return x > y ? -1 : x < y;
}

/* The next up-to-LOOKUP_BATCH features in weight order; their weight leaves *remaining. */
static size_t fill_batch(strain_store_key *batch, qkey *const *order, size_t n_order, size_t *next,
                         qmass *remaining)
{
    size_t nb = 0;
    while (*next < n_order && nb < LOOKUP_BATCH) {
        batch[nb].kind = order[*next]->kind;
        batch[nb].hash = order[*next]->hash;
        add_to(remaining, order[*next], -order[*next]->w);
        nb++;
        (*next)++;
    }
    return nb;
}

/* Counts query feature k once for a candidate. */
static void credit(qstate *q, cand *cc, size_t k)
{
    if (!(cc->bits[k / 64] & (1ull << (k % 64)))) {
        cc->bits[k / 64] |= 1ull << (k % 64);
        add_to(&cc->acc, &q->keys[k], q->keys[k].w);
    }
}

typedef struct ranked {
    double score;
    size_t i;
} ranked;

static int cmp_ranked_desc(const void *a, const void *b)
{
    const ranked *x = a;
    const ranked *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

/* in_pool: the pool'th best score from the partial sums (0 with fewer candidates). outside:
 * the best score a candidate outside the pool, or a sample not met yet, could still reach
 * with every unread feature (bounded with the channel-wise largest partial sums outside:
 * the score increases in both channels). */
static int pool_bounds(qstate *q, size_t pool, qmass remaining, double *in_pool, double *outside)
{
    *in_pool = 0;
    *outside = strain_engine__score(q, remaining);
    if (q->n_cands < pool) {
        return STRAIN_OK;
    }
    ranked *a = malloc(q->n_cands * sizeof(*a));
    if (a == NULL) {
        return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < q->n_cands; i++) {
        a[i] = (ranked){strain_engine__score(q, q->cands[i].acc), i};
    }
    qsort(a, q->n_cands, sizeof(*a), cmp_ranked_desc);
    *in_pool = a[pool - 1].score;
    qmass best = {0, 0};
    for (size_t r = pool; r < q->n_cands; r++) {
        const qmass *x = &q->cands[a[r].i].acc;
        best.code = x->code > best.code ? x->code : best.code;
        best.str = x->str > best.str ? x->str : best.str;
    }
    double up = strain_engine__score(q, plus(best, remaining));
    *outside = up > *outside ? up : *outside;
    free(a);
    return STRAIN_OK;
}

/* Step 2: candidates by MaxScore over the weight-ordered features. */
static int gather(qstate *q, size_t pool, double floor_s, size_t *out_looked, qmass *out_remaining)
{
    qkey **order = NULL;
    strain_store_key *batch = NULL;
    strain_store_posting *p = NULL;
    size_t n_order = 0;
    qmass remaining = {0, 0};
    int err = STRAIN_OK;
    order = malloc((q->n_keys ? q->n_keys : 1) * sizeof(*order));
    batch = malloc(LOOKUP_BATCH * sizeof(*batch));
    if (order == NULL || batch == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < q->n_keys; i++) {
        qkey *x = &q->keys[i];
        if (x->seen && x->w > 0) {
            order[n_order++] = x;
            add_to(&remaining, x, x->w);
            /* read first what moves the score most: a feature's share of its channel,
             * times the channel's part in the score */
            x->prio =
                x->str ? STRAIN_ENGINE_STRING_ALPHA * x->w / q->total.str : x->w / q->total.code;
        }
    }
    qsort(order, n_order, sizeof(*order), cmp_prio_desc);
    size_t next = 0;
    while (next < n_order) {
        double in_pool;
        double outside;
        STRAIN_TRY(pool_bounds(q, pool, remaining, &in_pool, &outside));
        double bar = in_pool > floor_s ? in_pool : floor_s;
        /* nothing outside the pool (nor any sample not yet met) can reach the bar */
        if (outside < bar) {
            break;
        }
        size_t nb = fill_batch(batch, order, n_order, &next, &remaining);
        size_t np = 0;
        free(p);
        p = NULL;
        STRAIN_TRY(strain_store_lookup(q->e->st, &p, &np, batch, nb, UINT32_MAX));
        for (size_t i = 0; i < np; i++) {
            size_t k = strain_engine__find_key(q, p[i].kind, p[i].hash);
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
            credit(q, cc, k);
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
            size_t nb = fill_batch(batch, order, n_order, &next, &remaining);
            size_t np = 0;
            free(p);
            p = NULL;
            STRAIN_TRY(strain_store_lookup(q->e->st, &p, &np, batch, nb, UINT32_MAX));
            for (size_t i = 0; i < np; i++) {
                size_t k = strain_engine__find_key(q, p[i].kind, p[i].hash);
                size_t c = find_cand(q, p[i].sample_id);
                if (k == SIZE_MAX || c == SIZE_MAX) {
                    continue; /* no new candidates in this phase */
                }
                cand *cc = &q->cands[c];
                credit(q, cc, k);
            }
        }
        remaining = (qmass){0, 0};
    }
    *out_looked = next;
    *out_remaining = remaining;
done:
    free(p);
    free(order);
    free(batch);
    return err;
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
int strain_engine__load_genome(qstate *q, cand *c)
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
 * recomputed from its stored genome (otherwise the postings' partial set stands). The
 * scores follow from the sets in spread_discount(), once the weights are final. */
static int verify(qstate *q, cand *c, bool exact)
{
    strain_engine_key *k = NULL;
    size_t nk = 0;
    int err;
    STRAIN_TRY(strain_store_get_sample_by_id(q->e->st, &c->meta, c->id));
    if (!exact) {
        return STRAIN_OK;
    }
    STRAIN_TRY(strain_engine__load_genome(q, c));
    STRAIN_TRY(strain_engine__keys(&k, &nk, q->e->ctx, c->genome));
    /* the genome re-keys code features; name features (not in the genome) keep what the
     * postings found */
    for (size_t j = 0; j < q->n_keys; j++) {
        bool named = q->keys[j].kind == STRAIN_KIND_NAME || q->keys[j].kind == STRAIN_KIND_IMPORT ||
                     q->keys[j].str;
        if (!named) {
            c->bits[j / 64] &= ~(1ull << (j % 64));
        }
    }
    for (size_t i = 0; i < nk; i++) {
        size_t j = strain_engine__find_key(q, k[i].kind, k[i].hash);
        if (j != SIZE_MAX) {
            c->bits[j / 64] |= 1ull << (j % 64);
        }
    }
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
    q->total = (qmass){0, 0};
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
        add_to(&q->total, &q->keys[k], q->keys[k].w);
    }
    for (size_t i = 0; i < verified; i++) {
        cand *c = &q->cands[i];
        c->matched = strain_engine__matched(q, c->bits);
        c->score = strain_engine__score(q, c->matched);
    }
}

static void free_cand(cand *c)
{
    free(c->bits);
    strain_store_sample_free(c->meta);
    strain_genome_free(c->genome);
}

/*
 * Signed PEs: verify the signatures and ask the database about their certificates, so that
 * a stolen or abused certificate is flagged in every query report, whatever the code says.
 */
static int query_certs(strain_engine *e, strain_query_result *r, const strain_engine_item *it)
{
    strain_sig_report *rep = NULL;
    strain_certs_findings *found = NULL, *abused = NULL;
    int err;
    STRAIN_TRY(strain_engine__verify_sig(&rep, e, it));
    if (rep == NULL) {
        return STRAIN_OK; /* not a signed PE */
    }
    STRAIN_TRY(strain_certs_match_report(&abused, e->ctx, e->st, rep));
    STRAIN_TRY(strain_certs_findings_report(&found, e->ctx, e->st, rep));
    /* the LuckyMouse pattern: this file's code against the vendor software its valid
     * signer signs in the database */
    STRAIN_TRY(strain_certs__unrelated_report(found, e->ctx, e->st, rep, it->genome,
                                              it->meta.sha256, STRAIN_CERTS_UNRELATED_THRESHOLD));
    r->signatures = rep;
    r->abused_matches = abused;
    r->cert_findings = found;
    rep = NULL;
    abused = found = NULL;
done:
    strain_sig_report_free(rep);
    strain_certs_findings_free(abused);
    strain_certs_findings_free(found);
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
    o.max_strings = o.max_strings ? o.max_strings : 10;
    o.max_labels = o.max_labels ? o.max_labels : 10;
    double thr = o.threshold > 0 ? o.threshold : strain_engine_default_threshold();
    q.e = e;
    r = strain_engine__result_new();
    if (r == NULL) {
        return strain__fail(e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    memcpy(r->sha256, it->meta.sha256, sizeof(r->sha256));
    r->threshold = thr;
    STRAIN_TRY(strain_store_stats_get(e->st, &stats));
    double F = (double)(stats.families > 0 ? stats.families : 1);
    r->n_db_samples = (size_t)stats.samples;
    r->n_db_families = (size_t)stats.families;

    STRAIN_TRY(strings_indexed(&q, stats.samples));
    r->strings_indexed = q.strings;
    STRAIN_TRY(build_keys(&q, it));
    r->n_keys = q.n_keys;
    STRAIN_TRY(weigh(&q, F));
    size_t pool = VERIFY_POOL > o.max_neighbors ? VERIFY_POOL : o.max_neighbors;
    /* a sample below half the threshold cannot matter to a verdict; --all reports lower */
    double floor_s = o.all ? 0.01 : thr / 2;
    qmass remaining = {0, 0};
    STRAIN_TRY(gather(&q, pool, floor_s, &r->n_keys_looked, &remaining));
    r->n_candidates = q.n_cands;

    for (size_t i = 0; i < q.n_cands; i++) {
        q.cands[i].score = strain_engine__score(&q, q.cands[i].acc); /* partial, for now */
    }
    if (q.n_cands > 0) { /* qsort(NULL, 0) is undefined */
        qsort(q.cands, q.n_cands, sizeof(*q.cands), cmp_cand_score);
    }
    /* verify the pool, but not a candidate that cannot reach the floor even with every
     * feature left unread: loading its genome would change nothing */
    verified = 0;
    while (verified < q.n_cands && verified < pool &&
           strain_engine__score(&q, plus(q.cands[verified].acc, remaining)) >= floor_s) {
        verified++;
    }
    /* When MaxScore left at most VERIFY_UNREAD of the query's weight unread, the postings'
     * scores are within that of the exact ones and no genome is loaded; otherwise the pool
     * is re-scored exactly from the stored genomes. */
    double total = q.total.code + q.total.str;
    r->unread_share = total > 0 ? (remaining.code + remaining.str) / total : 0;
    bool exact = r->unread_share > VERIFY_UNREAD;
    for (size_t i = 0; i < verified; i++) {
        STRAIN_TRY(verify(&q, &q.cands[i], exact));
    }
    r->n_verified = verified;
    spread_discount(&q, verified);
    r->total_weight = q.total.code + q.total.str;
    if (verified > 0) {
        qsort(q.cands, verified, sizeof(*q.cands), cmp_cand_score);
    }
    STRAIN_TRY(strain_engine__rank_labels(&q, r, verified, &o, thr));
    STRAIN_TRY(strain_engine__collect_evidence(&q, r, it, verified, &o));
    STRAIN_TRY(query_certs(e, r, it));
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
