/*
 * Retrohunt (strain_hunt_db, strain/hunt.h): a hunt against the reference database. The
 * verification is the streaming hunt's own (strain_hunt_match on the stored genome: same
 * discount, same strain_compare, same scores); what is new is how candidates are found
 * without loading every stored genome.
 *
 * Why an evidence bound is sound. strain_compare's score is 80 x func + 20 x fragment
 * Jaccard, with func = sum(sim x (size_a + size_b)) / (total_a + total_b) over the matched
 * pairs. A pair's sizes differ by at most 2x (exact pairs share a normalised CFG; sketch
 * pairs are refused past 2x), so func <= 3 x cov_a / total_a = 3c, c the share of the seed's
 * function bytes matched, and the Jaccard is at most f, the share of the seed's fragments the
 * sample holds. So S <= 240c + 20f <= 260 max(c, f): a sample scoring S holds at least
 * phi = S / 260 of the seed's code, by function bytes or by fragments. (The exact maximum of
 * func is 3c / (1 + 2c), which puts the floor higher, 0.146 instead of 0.115 at S = 30: that
 * slack absorbs the sampling noise of the fragment share, estimated from the one fragment in
 * four the index holds, STRAIN_ENGINE_FRAGMENT_MOD.) Pairs found by neutral hash keep sizes
 * within 2x too. What the index cannot see: functions matched by MinHash only (near-identical,
 * not indexed: STRAIN_ENGINE_BANDS) show only through their fragments, and functions matched by
 * neutral hash only (an x86 build of an x64 seed) only through the strings they share.
 *
 * The search is MaxScore-like: features are read rarest first; once the features left
 * unread could not give an unseen sample phi, the rest (the common ones, with the longest
 * posting lists) are skipped, and only samples whose evidence (plus what the unread features
 * could add) reaches phi are verified, one stored genome at a time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strain/hunt.h>

#include "attribution_impl.h"
#include "engine_impl.h"
#include "hunt_impl.h"
#include "util/err.h"
#include "util/limits.h"

/* phi = min_score / EVIDENCE_DIV (see above). */
#define EVIDENCE_DIV 260.0

typedef struct hd_key {
    uint32_t kind;
    uint64_t hash;
    double w;           /* function bytes (exact keys) or 1 (fragments) */
    uint32_t n_samples; /* postings */
} hd_key;

typedef struct hd_cand {
    int64_t id;
    double ex;     /* seed function bytes seen in this sample */
    double fr;     /* seed indexed fragments seen */
    uint32_t strs; /* seed strings seen */
} hd_cand;

typedef struct hd_hit {
    int64_t id;
    size_t seed;
    double score, code_score, string_score, coverage, seed_coverage;
    size_t n_matches, n_shared_strings;
} hd_hit;

typedef struct hd_pair {
    int64_t id;
    size_t seed;
} hd_pair;

typedef struct hd_state {
    strain_hunt *h;
    strain_ctx *ctx;
    strain_store *st;
    double min_score;
    strain_hunt_db_stats stats;
    int64_t *clean_ids; /* sorted */
    size_t n_clean;
    hd_pair *verify; /* (sample, seed) pairs to verify */
    size_t n_verify, cap_verify;
    hd_hit *hits;
    size_t n_hits, cap_hits;
    int64_t cur_id; /* the sample being verified */
} hd_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_key(const void *a, const void *b)
{
    const hd_key *x = a, *y = b;
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int cmp_key_df(const void *a, const void *b)
{
    const hd_key *x = a, *y = b;
    if (x->n_samples != y->n_samples) {
        return x->n_samples < y->n_samples ? -1 : 1;
    }
    return cmp_key(a, b);
}

static bool is_clean(const hd_state *s, int64_t id)
{
    return s->n_clean > 0 &&
           bsearch(&id, s->clean_ids, s->n_clean, sizeof(int64_t), cmp_i64) != NULL;
}

/* The stored genome of a sample (NULL in *out when it has none). */
static int load_genome(hd_state *s, strain_genome **out, int64_t id)
{
    void *blob = NULL;
    size_t len = 0;
    uint32_t ver = 0;
    *out = NULL;
    int err = strain_store_get_genome(s->st, &blob, &len, &ver, id);
    if (err == STRAIN_ENOTFOUND) {
        return STRAIN_OK;
    }
    STRAIN_TRY(err);
    if (ver != STRAIN_ENGINE_GENOME_VERSION) {
        err = strain__fail(s->ctx, STRAIN_ESTORE, "sample %" PRId64 ": genome version %u unknown",
                           id, ver);
        goto done;
    }
    err = strain_genome_deserialize(out, s->ctx, blob, len);
    if (err < 0) {
        char why[256]; /* the context's message is rewritten below: copy it first */
        snprintf(why, sizeof(why), "%s", strain_ctx_errmsg(s->ctx));
        err = strain__fail(s->ctx, STRAIN_ESTORE,
                           "sample %" PRId64 ": stored genome unreadable (%s)", id, why);
    }
done:
    free(blob);
    return err;
}

/* ---- clean samples: their code joins the hunt's discount ---- */

typedef struct id_list {
    int64_t *v;
    size_t n, cap;
    bool oom;
} id_list;

static int push_id(id_list *l, int64_t id)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        int64_t *r = realloc(l->v, nc * sizeof(*r));
        if (r == NULL) {
            l->oom = true;
            return 1;
        }
        l->v = r;
        l->cap = nc;
    }
    l->v[l->n++] = id;
    return 0;
}

static int on_clean(const strain_store_sample *smp, void *payload)
{
    return push_id(payload, smp->id);
}

static int push_hashes(hd_state *s, uint64_t **v, size_t *n, size_t *cap, const uint64_t *src,
                       size_t k, size_t *total)
{
    if (*total + k > STRAIN_HUNT_DB_CLEAN_HASHES) {
        return strain__fail(s->ctx, STRAIN_ELIMIT,
                            "clean samples hold more than %u code and string hashes "
                            "(STRAIN_HUNT_DB_CLEAN_HASHES)",
                            STRAIN_HUNT_DB_CLEAN_HASHES);
    }
    if (*n + k > *cap) {
        size_t nc = *cap ? *cap : 1024;
        while (nc < *n + k) {
            nc *= 2;
        }
        uint64_t *r = realloc(*v, nc * sizeof(*r));
        if (r == NULL) {
            return strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        }
        *v = r;
        *cap = nc;
    }
    memcpy(*v + *n, src, k * sizeof(uint64_t));
    *n += k;
    *total += k;
    return STRAIN_OK;
}

/* One hash genome of every clean sample's function hashes, fragments and strings (the union
 * is what strain_genome_discount reads), added to the hunt as a clean genome. */
static int add_clean_samples(hd_state *s)
{
    id_list ids = {NULL, 0, 0, false};
    uint64_t *ex = NULL, *fr = NULL, *sr = NULL, *tmp = NULL;
    size_t ne = 0, nf = 0, ns = 0, cap_e = 0, cap_f = 0, cap_s = 0, total = 0;
    strain_genome *g = NULL, *hg = NULL;
    strain_store_filter f = {NULL, NULL, NULL, 1, 0};
    int err = strain_store_list(s->st, &f, on_clean, &ids);
    if (ids.oom) {
        err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
    }
    STRAIN_TRY(err);
    s->clean_ids = ids.v;
    s->n_clean = ids.n;
    ids.v = NULL;
    if (s->n_clean > 0) {
        qsort(s->clean_ids, s->n_clean, sizeof(int64_t), cmp_i64);
    }
    if (s->n_clean > 0 && s->h->prepared) {
        err = strain__fail(s->ctx, STRAIN_EINVAL,
                           "the database has clean samples but the hunt was already prepared");
        goto done;
    }
    for (size_t i = 0; i < s->n_clean; i++) {
        STRAIN_TRY(load_genome(s, &g, s->clean_ids[i]));
        if (g == NULL) {
            continue;
        }
        const strain_genome_info *gi = strain_genome_get_info(g);
        free(tmp);
        tmp = malloc((gi->n_genes + 1) * sizeof(uint64_t));
        if (tmp == NULL) {
            err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < gi->n_genes; k++) {
            tmp[k] = gi->genes[k].exact;
        }
        STRAIN_TRY(push_hashes(s, &ex, &ne, &cap_e, tmp, gi->n_genes, &total));
        STRAIN_TRY(push_hashes(s, &fr, &nf, &cap_f, gi->fragments, gi->n_fragments, &total));
        STRAIN_TRY(push_hashes(s, &sr, &ns, &cap_s, gi->strings, gi->n_strings, &total));
        strain_genome_free(g);
        g = NULL;
        s->stats.clean++;
    }
    if (s->stats.clean > 0) {
        STRAIN_TRY(strain_engine__hash_genome(&hg, s->ctx, ex, ne, fr, nf, sr, ns));
        err = strain_hunt__add_clean_owned(s->h, s->ctx, hg);
        hg = NULL;
    }
done:
    free(ids.v);
    free(ex);
    free(fr);
    free(sr);
    free(tmp);
    strain_genome_free(g);
    strain_genome_free(hg);
    return err;
}

/* ---- candidates of one seed ---- */

typedef struct cand_map {
    hd_cand *v;
    size_t n, cap;
    size_t *slots; /* index + 1, 0 = empty */
    size_t mask;
} cand_map;

static void cand_map_free(cand_map *m)
{
    free(m->v);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static hd_cand *cand_get(cand_map *m, strain_ctx *ctx, int64_t id)
{
    if (m->slots == NULL || 2 * (m->n + 1) > m->mask + 1) {
        size_t ncap = m->slots ? 2 * (m->mask + 1) : 1024;
        size_t *ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL) {
            strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < m->n; i++) {
            size_t sl = mix((uint64_t)m->v[i].id) & (ncap - 1);
            while (ns[sl] != 0) {
                sl = (sl + 1) & (ncap - 1);
            }
            ns[sl] = i + 1;
        }
        free(m->slots);
        m->slots = ns;
        m->mask = ncap - 1;
    }
    size_t sl = mix((uint64_t)id) & m->mask;
    for (; m->slots[sl] != 0; sl = (sl + 1) & m->mask) {
        if (m->v[m->slots[sl] - 1].id == id) {
            return &m->v[m->slots[sl] - 1];
        }
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 256;
        hd_cand *r = realloc(m->v, nc * sizeof(*r));
        if (r == NULL) {
            strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
            return NULL;
        }
        m->v = r;
        m->cap = nc;
    }
    m->v[m->n] = (hd_cand){id, 0, 0, 0};
    m->slots[sl] = ++m->n;
    return &m->v[m->n - 1];
}

static hd_cand *cand_find(const cand_map *m, int64_t id)
{
    if (m->slots == NULL) {
        return NULL;
    }
    for (size_t sl = mix((uint64_t)id) & m->mask; m->slots[sl] != 0; sl = (sl + 1) & m->mask) {
        if (m->v[m->slots[sl] - 1].id == id) {
            return &m->v[m->slots[sl] - 1];
        }
    }
    return NULL;
}

/* The seed's distinct features with their weights; *out_bytes and *out_frags are the
 * seed's totals (the denominators of the evidence). */
static int seed_keys(hd_state *s, const strain_genome *g, hd_key **out, size_t *out_n,
                     double *out_bytes, double *out_frags)
{
    strain_engine_key *k = NULL;
    size_t nk = 0;
    hd_key *v = NULL;
    int err;
    const strain_genome_info *gi = strain_genome_get_info(g);
    STRAIN_TRY(strain_engine__keys(&k, &nk, s->ctx, g));
    v = malloc((nk + 1) * sizeof(*v));
    if (v == NULL) {
        err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    double bytes = 0, frags = 0;
    for (size_t i = 0; i < nk; i++) {
        double w = 1;
        if (k[i].kind == STRAIN_KIND_FUNC_EXACT) {
            w = gi->genes[k[i].gene].size;
            bytes += w;
        } else if (k[i].kind == STRAIN_KIND_FRAGMENT) {
            frags += 1;
        } else {
            continue; /* band keys (not indexed by default) say nothing of coverage */
        }
        v[i] = (hd_key){k[i].kind, k[i].hash, w, 0};
    }
    /* distinct keys; a duplicated function's bytes add up (an upper bound stays one) */
    size_t n = 0;
    for (size_t i = 0; i < nk; i++) {
        if (k[i].kind == STRAIN_KIND_FUNC_EXACT || k[i].kind == STRAIN_KIND_FRAGMENT) {
            v[n++] = v[i];
        }
    }
    if (n > 0) {
        qsort(v, n, sizeof(*v), cmp_key);
    }
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u > 0 && cmp_key(&v[u - 1], &v[i]) == 0) {
            if (v[i].kind == STRAIN_KIND_FUNC_EXACT) {
                v[u - 1].w += v[i].w;
            } else {
                frags -= 1; /* fragments are unique in a genome; keep the count honest */
            }
            continue;
        }
        v[u++] = v[i];
    }
    *out = v;
    *out_n = u;
    *out_bytes = bytes;
    *out_frags = frags;
    v = NULL;
done:
    free(k);
    free(v);
    return err;
}

/* Best share of the seed a sample could hold: what it was seen holding plus what is unread. */
static double evidence(double ex, double fr, double bytes, double frags)
{
    double a = bytes > 0 ? ex / bytes : 0, b = frags > 0 ? fr / frags : 0;
    return a > b ? a : b;
}

static void credit(hd_cand *c, const hd_key *k)
{
    if (k->kind == STRAIN_KIND_FUNC_EXACT) {
        c->ex += k->w;
    } else {
        c->fr += k->w;
    }
}

/* Features [*next, ...) into one lookup batch, bounded by STRAIN_HUNT_DB_BATCH_POSTINGS. */
static size_t fill_batch(strain_store_key *batch, size_t cap, const hd_key *keys, size_t n,
                         size_t *next, double *rem_ex, double *rem_fr)
{
    size_t nb = 0;
    uint64_t posts = 0;
    while (*next < n && nb < cap &&
           (nb == 0 || posts + keys[*next].n_samples <= STRAIN_HUNT_DB_BATCH_POSTINGS)) {
        const hd_key *k = &keys[*next];
        batch[nb++] = (strain_store_key){k->kind, k->hash};
        posts += k->n_samples;
        if (k->kind == STRAIN_KIND_FUNC_EXACT) {
            *rem_ex -= k->w;
        } else {
            *rem_fr -= k->w;
        }
        (*next)++;
    }
    return nb;
}

static int push_verify(hd_state *s, int64_t id, size_t seed)
{
    if (s->n_verify == s->cap_verify) {
        size_t nc = s->cap_verify ? 2 * s->cap_verify : 256;
        hd_pair *r = realloc(s->verify, nc * sizeof(*r));
        if (r == NULL) {
            return strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        }
        s->verify = r;
        s->cap_verify = nc;
    }
    s->verify[s->n_verify++] = (hd_pair){id, seed};
    return STRAIN_OK;
}

#define HD_BATCH_KEYS 256u

/*
 * The string channel: a sample sharing STRAIN_COMPARE_MIN_SHARED_STRINGS of the seed's
 * strings may reach min_score on strings alone (0.8 x the share of the smaller string set,
 * which the postings cannot bound), so each such sample is nominated and every posting of
 * the seed's strings is read. Strings held by clean samples were discounted from the seed.
 */
static int string_candidates(hd_state *s, const strain_genome *g, cand_map *m)
{
    const strain_genome_info *gi = strain_genome_get_info(g);
    hd_key *keys = NULL;
    strain_store_key *sk = NULL;
    strain_store_df *df = NULL;
    strain_store_posting *p = NULL;
    int err = STRAIN_OK;
    if (!(gi->flags & STRAIN_GENOME_STRINGS) || gi->n_strings < STRAIN_COMPARE_MIN_SHARED_STRINGS) {
        return STRAIN_OK;
    }
    size_t nk = gi->n_strings;
    keys = malloc(nk * sizeof(*keys));
    sk = malloc(nk * sizeof(*sk));
    df = malloc(nk * sizeof(*df));
    if (keys == NULL || sk == NULL || df == NULL) {
        err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nk; i++) {
        sk[i] = (strain_store_key){STRAIN_KIND_STRING, gi->strings[i]};
    }
    STRAIN_TRY(strain_store_df_get(s->st, df, sk, nk, 0));
    size_t n = 0;
    for (size_t i = 0; i < nk; i++) {
        if (df[i].n_samples > 0 && df[i].n_clean == 0) {
            keys[n++] = (hd_key){STRAIN_KIND_STRING, gi->strings[i], 1, df[i].n_samples};
        }
    }
    s->stats.keys += n;
    double rem_ex = 0, rem_fr = 0; /* unused here: strings bound nothing */
    for (size_t next = 0; next < n;) {
        size_t nb = fill_batch(sk, HD_BATCH_KEYS, keys, n, &next, &rem_ex, &rem_fr);
        size_t np = 0;
        free(p);
        p = NULL;
        STRAIN_TRY(strain_store_lookup(s->st, &p, &np, sk, nb, UINT32_MAX));
        s->stats.keys_read += nb;
        s->stats.postings += np;
        for (size_t i = 0; i < np; i++) {
            if (is_clean(s, p[i].sample_id)) {
                continue;
            }
            hd_cand *c = cand_get(m, s->ctx, p[i].sample_id);
            if (c == NULL) {
                err = STRAIN_ENOMEM;
                goto done;
            }
            c->strs++;
        }
    }
done:
    free(keys);
    free(sk);
    free(df);
    free(p);
    return err;
}

static int gather_seed(hd_state *s, size_t seed)
{
    const strain_genome *g = s->h->seeds[seed].prepared;
    hd_key *keys = NULL;
    size_t nk = 0;
    strain_store_key *sk = NULL, *batch = NULL;
    hd_key *bk = NULL;
    strain_store_df *df = NULL;
    strain_store_posting *p = NULL;
    cand_map m;
    double bytes = 0, frags = 0;
    int err;
    memset(&m, 0, sizeof(m));
    STRAIN_TRY(seed_keys(s, g, &keys, &nk, &bytes, &frags));
    sk = malloc((nk + 1) * sizeof(*sk));
    df = malloc((nk + 1) * sizeof(*df));
    batch = malloc(HD_BATCH_KEYS * sizeof(*batch));
    bk = malloc(HD_BATCH_KEYS * sizeof(*bk));
    if (sk == NULL || df == NULL || batch == NULL || bk == NULL) {
        err = strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nk; i++) {
        sk[i] = (strain_store_key){keys[i].kind, keys[i].hash};
    }
    if (nk > 0) {
        STRAIN_TRY(strain_store_df_get(s->st, df, sk, nk, 0));
    }
    /* features no sample holds cannot nominate anything, and clean code counts for nothing
     * (it was discounted from the seed already; this keeps a stale df from nominating) */
    size_t n = 0;
    double rem_ex = 0, rem_fr = 0;
    for (size_t i = 0; i < nk; i++) {
        if (df[i].n_samples == 0 || df[i].n_clean > 0) {
            continue;
        }
        keys[n] = keys[i];
        keys[n].n_samples = df[i].n_samples;
        if (keys[n].kind == STRAIN_KIND_FUNC_EXACT) {
            rem_ex += keys[n].w;
        } else {
            rem_fr += keys[n].w;
        }
        n++;
    }
    s->stats.keys += n;
    if (n > 0) {
        qsort(keys, n, sizeof(*keys), cmp_key_df);
    }
    double phi = s->min_score / EVIDENCE_DIV;
    size_t next = 0;
    bool gathering = true;
    while (next < n) {
        if (gathering && evidence(rem_ex, rem_fr, bytes, frags) < phi) {
            /* no sample not met yet can reach phi with the features left */
            gathering = false;
            uint64_t post_cost = 0;
            for (size_t i = next; i < n; i++) {
                post_cost += keys[i].n_samples;
            }
            /* completing the met samples' evidence costs the unread postings; verifying them
             * on a bound costs a genome each: read on when the postings are the cheaper */
            if (post_cost > (uint64_t)m.n * 64u) {
                break;
            }
        }
        size_t from = next;
        size_t nb = fill_batch(batch, HD_BATCH_KEYS, keys, n, &next, &rem_ex, &rem_fr);
        /* the batch's keys by (kind, hash), to find each posting's key */
        memcpy(bk, keys + from, nb * sizeof(*bk));
        qsort(bk, nb, sizeof(*bk), cmp_key);
        size_t np = 0;
        free(p);
        p = NULL;
        STRAIN_TRY(strain_store_lookup(s->st, &p, &np, batch, nb, UINT32_MAX));
        s->stats.keys_read += nb;
        s->stats.postings += np;
        for (size_t i = 0; i < np; i++) {
            if (is_clean(s, p[i].sample_id)) {
                continue;
            }
            hd_key probe = {p[i].kind, p[i].hash, 0, 0};
            const hd_key *k = bsearch(&probe, bk, nb, sizeof(*bk), cmp_key);
            if (k == NULL) {
                continue;
            }
            hd_cand *c =
                gathering ? cand_get(&m, s->ctx, p[i].sample_id) : cand_find(&m, p[i].sample_id);
            if (c == NULL && gathering) {
                err = STRAIN_ENOMEM;
                goto done;
            }
            if (c != NULL) {
                credit(c, k);
            }
        }
    }
    STRAIN_TRY(string_candidates(s, g, &m));
    s->stats.candidates += m.n;
    for (size_t i = 0; i < m.n; i++) {
        const hd_cand *c = &m.v[i];
        if (evidence(c->ex + rem_ex, c->fr + rem_fr, bytes, frags) >= phi ||
            c->strs >= STRAIN_COMPARE_MIN_SHARED_STRINGS) {
            STRAIN_TRY(push_verify(s, c->id, seed));
        }
    }
    err = STRAIN_OK;
done:
    cand_map_free(&m);
    free(keys);
    free(sk);
    free(df);
    free(batch);
    free(bk);
    free(p);
    return err;
}

/* ---- verification and report ---- */

static int on_match(const strain_hunt_hit *hit, void *payload)
{
    hd_state *s = payload;
    if (s->n_hits == s->cap_hits) {
        size_t nc = s->cap_hits ? 2 * s->cap_hits : 64;
        hd_hit *r = realloc(s->hits, nc * sizeof(*r));
        if (r == NULL) {
            return strain__fail(s->ctx, STRAIN_ENOMEM, "out of memory");
        }
        s->hits = r;
        s->cap_hits = nc;
    }
    s->hits[s->n_hits++] = (hd_hit){s->cur_id,          hit->seed,         hit->score,
                                    hit->code_score,    hit->string_score, hit->coverage,
                                    hit->seed_coverage, hit->n_matches,    hit->n_shared_strings};
    return 0;
}

static int cmp_hit(const void *a, const void *b)
{
    const hd_hit *x = a, *y = b;
    if (x->seed != y->seed) {
        return x->seed < y->seed ? -1 : 1;
    }
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_pair(const void *a, const void *b)
{
    const hd_pair *x = a, *y = b;
    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

/* Each nominated sample's genome is loaded once and compared with every seed, not only with
 * the seeds that nominated it: a sample's kinship to a seed through near-identical functions
 * alone (MinHash pairs, not indexed: STRAIN_ENGINE_BANDS) is invisible to the postings, and
 * the comparisons are cheap beside loading the genome. */
static int verify_all(hd_state *s)
{
    strain_genome *g = NULL;
    int err = STRAIN_OK;
    if (s->n_verify == 0) {
        return STRAIN_OK;
    }
    qsort(s->verify, s->n_verify, sizeof(*s->verify), cmp_pair);
    for (size_t i = 0; i < s->n_verify;) {
        size_t j = i;
        while (j < s->n_verify && s->verify[j].id == s->verify[i].id) {
            j++;
        }
        STRAIN_TRY(load_genome(s, &g, s->verify[i].id));
        if (g != NULL && !(strain_genome_get_info(g)->flags & STRAIN_GENOME_NO_CODE)) {
            s->stats.verified++;
            s->stats.compared += s->h->n_seeds;
            s->cur_id = s->verify[i].id;
            STRAIN_TRY(
                strain_hunt_match(s->h, s->ctx, g, s->min_score, NULL, NULL, NULL, on_match, s));
        }
        strain_genome_free(g);
        g = NULL;
        i = j;
    }
    err = STRAIN_OK;
done:
    strain_genome_free(g);
    return err;
}

static int report(hd_state *s, const strain_hunt_db_opts *o)
{
    strain_store_sample *meta = NULL;
    int err = STRAIN_OK;
    if (s->n_hits > 0) {
        qsort(s->hits, s->n_hits, sizeof(*s->hits), cmp_hit);
    }
    for (size_t i = 0; i < s->n_hits; i++) {
        const hd_hit *x = &s->hits[i];
        STRAIN_TRY(strain_store_get_sample_by_id(s->st, &meta, x->id));
        const char *fn =
            meta->file_name != NULL && meta->file_name[0] != '\0' ? meta->file_name : NULL;
        const char *actor = meta->label.actor, *family = meta->label.family;
        strain_hunt_hit hit = {
            .path = fn != NULL ? fn : meta->sha256,
            .archive_path = NULL,
            .sha256 = meta->sha256,
            .seed = x->seed,
            .seed_name = s->h->seeds[x->seed].name,
            .score = x->score,
            .code_score = x->code_score,
            .string_score = x->string_score,
            .n_shared_strings = x->n_shared_strings,
            .n_matches = x->n_matches,
            .coverage = x->coverage,
            .seed_coverage = x->seed_coverage,
            .sample_id = x->id,
            .file_name = fn,
            .actor = actor != NULL && actor[0] != '\0' ? actor : NULL,
            .family = family != NULL && family[0] != '\0' ? family : NULL,
        };
        s->stats.hits++;
        err = o->on_hit != NULL ? o->on_hit(&hit, o->payload) : 0;
        strain_store_sample_free(meta);
        meta = NULL;
        STRAIN_TRY(err);
    }
done:
    strain_store_sample_free(meta);
    return err;
}

int strain_hunt_db(strain_hunt_db_stats *stats, strain_hunt *h, strain_ctx *ctx, strain_store *st,
                   const strain_hunt_db_opts *opts)
{
    hd_state s;
    strain_store_stats dbs;
    int err;
    if (h == NULL || st == NULL || opts == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "no hunt, database or options");
    }
    if (h->n_seeds == 0) {
        return strain__fail(ctx, STRAIN_EINVAL, "a hunt needs at least one seed");
    }
    memset(&s, 0, sizeof(s));
    double t0 = now_s();
    s.h = h;
    s.ctx = ctx;
    s.st = st;
    s.min_score = opts->min_score > 0 ? opts->min_score : STRAIN_HUNT_DEFAULT_MIN_SCORE;
    STRAIN_TRY(strain_store_stats_get(st, &dbs));
    s.stats.samples = dbs.samples;
    STRAIN_TRY(add_clean_samples(&s));
    STRAIN_TRY(strain_hunt__prepare(h, ctx));
    for (size_t i = 0; i < h->n_seeds; i++) {
        STRAIN_TRY(gather_seed(&s, i));
    }
    STRAIN_TRY(verify_all(&s));
    STRAIN_TRY(report(&s, opts));
done:
    s.stats.seconds = now_s() - t0;
    if (stats != NULL) {
        *stats = s.stats;
    }
    free(s.clean_ids);
    free(s.verify);
    free(s.hits);
    return err;
}
