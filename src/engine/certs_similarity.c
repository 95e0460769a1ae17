/*
 * Code similarity for the unrelated-code finding (certs_unrelated.c): how much of two files'
 * own code they share, leaving out what the database's clean samples hold.
 *
 * Raw strain_compare() figures between unrelated programs built with one toolchain are high
 * (measured on the test fixtures: an actor's relay program and a vendor's tool, sharing
 * nothing but the mingw-w64 C runtime, score 0.97), so a stolen certificate's malware would
 * look like the vendor's software. Code held by a clean sample (`strain add --clean`:
 * goodware, runtimes, SDKs) is therefore dropped from both sides through
 * strain_genome_discount() before the comparison: functions by exact hash, fragments by
 * value.
 *
 * But the vendor's own software is usually labelled clean too, and its library is what makes
 * its programs alike: that code must not be dropped. So each side is built with an "own" set
 * of clean samples whose holding does not count (the clean software the certificate signs,
 * or for a plain pair the two samples themselves): a feature is dropped when a clean sample
 * outside that set holds it. With only the two compared excluded, three clean tools of one
 * vendor would already make their shared library "clean" and every new tool unrelated.
 *
 * Which code is clean comes from the posting index (strain_store_df_get: n_clean per
 * feature), not from loading every clean genome: a feature held by more clean samples than
 * the own set has is clean outright; only the others' postings are read, to see who holds
 * them. Only sampled fragments are indexed (STRAIN_ENGINE_FRAGMENT_MOD), so the others cannot
 * be known clean or not: both sides keep only sampled fragments (sampled by hash value, so
 * the overlap of the samples estimates the whole). Functions are dropped on exact equality
 * only: runtime code of another compiler version (near, not equal) still counts until a
 * clean sample of that toolchain is added.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "code/hash64.h"
#include "engine/attribution_impl.h"
#include "engine/certs_impl.h"
#include "engine/engine_impl.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/u64sort.h"

/* Features whose postings one lookup reads (see mark_clean). */
#define AMBIGUOUS_BATCH 256u

/* One side of comparisons: a genome, its indexed features and how many clean samples hold
 * each (sorted by hash, per kind). */
struct strain_certs__side {
    strain_genome *loaded; /* read from the store (freed with the side), or NULL */
    const strain_genome *g;
    uint64_t *exact;   /* counted functions' exact hashes, sorted unique */
    bool *exact_clean; /* held by a clean sample outside the own set */
    size_t n_exact;
    uint64_t *frag; /* sampled fragments, sorted unique */
    bool *frag_clean;
    size_t n_frag;
    uint64_t *unsampled; /* fragments the index does not hold */
    size_t n_unsampled;
};

/* Index of h in the sorted v, SIZE_MAX when absent. */
static size_t find(const uint64_t *v, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < h) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && v[lo] == h ? lo : SIZE_MAX;
}

void strain_certs__side_free(strain_certs__side *s)
{
    if (s == NULL) {
        return;
    }
    strain_genome_free(s->loaded);
    free(s->exact);
    free(s->exact_clean);
    free(s->frag);
    free(s->frag_clean);
    free(s->unsampled);
    free(s);
}

static bool has_id(const int64_t *v, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && v[lo] == id;
}

/* The side's features, exact keys first then fragments. */
static strain_store_key key_at(const strain_certs__side *s, size_t i)
{
    return i < s->n_exact ? (strain_store_key){STRAIN_KIND_FUNC_EXACT, s->exact[i]}
                          : (strain_store_key){STRAIN_KIND_FRAGMENT, s->frag[i - s->n_exact]};
}

/*
 * Marks the features a clean sample outside own (sorted ids) holds. n_clean beyond the size
 * of own settles it; for the rest the postings say which samples hold the feature (a
 * feature in more than STRAIN_CERTS_MAX_UNRELATED_DF samples is common code: clean).
 */
static int mark_clean(strain_certs__side *s, strain_ctx *ctx, strain_store *st, const int64_t *own,
                      size_t n_own)
{
    size_t n = s->n_exact + s->n_frag;
    strain_store_key *k = malloc((n ? n : 1) * sizeof(*k));
    strain_store_df *df = malloc((n ? n : 1) * sizeof(*df));
    uint32_t *inside = calloc(n + 1, sizeof(*inside));
    strain_store_key *amb = malloc((n ? n : 1) * sizeof(*amb));
    strain_store_posting *p = NULL;
    size_t n_amb = 0, np = 0;
    int err = STRAIN_OK;
    s->exact_clean = calloc(s->n_exact + 1, sizeof(bool));
    s->frag_clean = calloc(s->n_frag + 1, sizeof(bool));
    if (k == NULL || df == NULL || inside == NULL || amb == NULL || s->exact_clean == NULL ||
        s->frag_clean == NULL) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        k[i] = key_at(s, i);
    }
    if (n == 0) {
        goto done;
    }
    STRAIN_TRY(strain_store_df_get(st, df, k, n, 0));
    for (size_t i = 0; i < n; i++) {
        if (df[i].n_clean > 0 && df[i].n_clean <= n_own) {
            amb[n_amb++] = k[i];
        }
    }
    /* in batches, so that at most AMBIGUOUS_BATCH x STRAIN_CERTS_MAX_UNRELATED_DF postings
     * are held at once */
    for (size_t b = 0; b < n_amb; b += AMBIGUOUS_BATCH) {
        size_t nb = n_amb - b < AMBIGUOUS_BATCH ? n_amb - b : AMBIGUOUS_BATCH;
        free(p);
        p = NULL;
        STRAIN_TRY(strain_store_lookup(st, &p, &np, amb + b, nb, STRAIN_CERTS_MAX_UNRELATED_DF));
        for (size_t i = 0; i < np; i++) {
            size_t x = p[i].kind == STRAIN_KIND_FUNC_EXACT ? find(s->exact, s->n_exact, p[i].hash)
                       : p[i].kind == STRAIN_KIND_FRAGMENT ? find(s->frag, s->n_frag, p[i].hash)
                                                           : SIZE_MAX;
            if (x == SIZE_MAX) {
                continue;
            }
            x += p[i].kind == STRAIN_KIND_FRAGMENT ? s->n_exact : 0;
            inside[x] += has_id(own, n_own, p[i].sample_id);
        }
    }
    for (size_t i = 0; i < n; i++) {
        /* ambiguous features whose postings were not read (too common) have inside 0 */
        bool clean = df[i].n_clean > inside[i];
        if (i < s->n_exact) {
            s->exact_clean[i] = clean;
        } else {
            s->frag_clean[i - s->n_exact] = clean;
        }
    }
done:
    free(p);
    free(k);
    free(df);
    free(inside);
    free(amb);
    return err;
}

static int side_fill(strain_certs__side *s, strain_ctx *ctx, strain_store *st, const int64_t *own,
                     size_t n_own)
{
    const strain_genome_info *gi = strain_genome_get_info(s->g);
    strain_engine_key *keys = NULL;
    size_t nk = 0;
    int err;
    STRAIN_TRY(strain_engine__keys(&keys, &nk, ctx, s->g));
    s->exact = malloc((nk + 1) * sizeof(uint64_t));
    s->frag = malloc((nk + 1) * sizeof(uint64_t));
    s->unsampled = malloc((gi->n_fragments + 1) * sizeof(uint64_t));
    if (s->exact == NULL || s->frag == NULL || s->unsampled == NULL) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nk; i++) {
        if (keys[i].kind == STRAIN_KIND_FUNC_EXACT) {
            s->exact[s->n_exact++] = keys[i].hash;
        } else if (keys[i].kind == STRAIN_KIND_FRAGMENT) {
            s->frag[s->n_frag++] = keys[i].hash;
        }
    }
    s->n_exact = strain_u64_sort_unique(s->exact, s->n_exact);
    s->n_frag = strain_u64_sort_unique(s->frag, s->n_frag);
    for (size_t i = 0; i < gi->n_fragments; i++) {
        if (find(s->frag, s->n_frag, gi->fragments[i]) == SIZE_MAX) {
            s->unsampled[s->n_unsampled++] = gi->fragments[i];
        }
    }
    STRAIN_TRY(mark_clean(s, ctx, st, own, n_own));
done:
    free(keys);
    return err;
}

int strain_certs__side_genome(strain_certs__side **out, strain_ctx *ctx, strain_store *st,
                              const strain_genome *g, const int64_t *own, size_t n_own)
{
    strain_certs__side *s = calloc(1, sizeof(*s));
    int err;
    if (s == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    s->g = g;
    STRAIN_TRY(side_fill(s, ctx, st, own, n_own));
    *out = s;
    s = NULL;
done:
    strain_certs__side_free(s);
    return err;
}

/* A stored sample's genome (STRAIN_ENOTFOUND when it has none). */
static int load_genome(strain_genome **out, strain_ctx *ctx, strain_store *st, int64_t id)
{
    void *blob = NULL;
    size_t len = 0;
    uint32_t ver = 0;
    int err;
    STRAIN_TRY(strain_store_get_genome(st, &blob, &len, &ver, id));
    if (ver != STRAIN_ENGINE_GENOME_VERSION) {
        err = strain__fail(ctx, STRAIN_ESTORE, "sample %" PRId64 ": genome version %u unknown", id,
                           ver);
        goto done;
    }
    err = strain_genome_deserialize(out, ctx, blob, len);
done:
    free(blob);
    return err;
}

int strain_certs__side_load(strain_certs__side **out, strain_ctx *ctx, strain_store *st, int64_t id,
                            const int64_t *own, size_t n_own)
{
    strain_genome *g = NULL;
    int err;
    STRAIN_TRY(load_genome(&g, ctx, st, id));
    err = strain_certs__side_genome(out, ctx, st, g, own, n_own);
    if (err == STRAIN_OK) {
        (*out)->loaded = g;
        g = NULL;
    }
done:
    strain_genome_free(g);
    return err;
}

bool strain_certs__side_has_code(const strain_certs__side *s)
{
    uint32_t no = STRAIN_GENOME_NO_CODE | STRAIN_GENOME_DOTNET;
    return s->n_exact > 0 && (strain_genome_get_info(s->g)->flags & no) == 0;
}

bool strain_certs__side_same_arch(const strain_certs__side *a, const strain_certs__side *b)
{
    return strain_genome_get_info(a->g)->arch == strain_genome_get_info(b->g)->arch;
}

/* Appends the side's clean features and its unsampled fragments to ex / fr. */
static void clean_of(uint64_t *ex, size_t *n_ex, uint64_t *fr, size_t *n_fr,
                     const strain_certs__side *s)
{
    for (size_t i = 0; i < s->n_exact; i++) {
        if (s->exact_clean[i]) {
            ex[(*n_ex)++] = s->exact[i];
        }
    }
    for (size_t i = 0; i < s->n_frag; i++) {
        if (s->frag_clean[i]) {
            fr[(*n_fr)++] = s->frag[i];
        }
    }
    if (s->n_unsampled > 0) {
        memcpy(fr + *n_fr, s->unsampled, s->n_unsampled * sizeof(uint64_t));
        *n_fr += s->n_unsampled;
    }
}

int strain_certs__similarity(double *out, strain_ctx *ctx, const strain_certs__side *a,
                             const strain_certs__side *b)
{
    uint64_t *ex = malloc((a->n_exact + b->n_exact + 1) * sizeof(uint64_t));
    uint64_t *fr =
        malloc((a->n_frag + b->n_frag + a->n_unsampled + b->n_unsampled + 1) * sizeof(uint64_t));
    strain_genome *clean = NULL, *da = NULL, *db = NULL;
    strain_comparison *cmp = NULL;
    size_t n_ex = 0, n_fr = 0;
    int err;
    if (ex == NULL || fr == NULL) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    clean_of(ex, &n_ex, fr, &n_fr, a);
    clean_of(ex, &n_ex, fr, &n_fr, b);
    STRAIN_TRY(strain_engine__hash_genome(&clean, ctx, ex, n_ex, fr, n_fr, NULL, 0));
    STRAIN_TRY(strain_genome_discount(&da, ctx, a->g, clean));
    STRAIN_TRY(strain_genome_discount(&db, ctx, b->g, clean));
    STRAIN_TRY(strain_compare(&cmp, ctx, da, db));
    *out = cmp->score / 100.0;
done:
    strain_comparison_free(cmp);
    strain_genome_free(da);
    strain_genome_free(db);
    strain_genome_free(clean);
    free(ex);
    free(fr);
    return err;
}

double strain_certs_code_similarity(int64_t a, int64_t b, void *payload)
{
    strain_store *st = payload;
    strain_store_sample *m = NULL;
    strain_genome *ga = NULL, *gb = NULL;
    strain_certs__side *x = NULL, *y = NULL;
    int64_t own[2];
    size_t n_own = 0;
    double r = 0;
    int err;
    if (st == NULL || a <= 0 || b <= 0) {
        return STRAIN_EINVAL;
    }
    /* the two samples' own holding does not make their code clean */
    for (int i = 0; i < 2; i++) {
        STRAIN_TRY(strain_store_get_sample_by_id(st, &m, i == 0 ? a : b));
        if (m->label.clean == 1) {
            own[n_own++] = i == 0 ? a : b;
        }
        strain_store_sample_free(m);
        m = NULL;
    }
    if (n_own == 2 && own[0] > own[1]) {
        int64_t t = own[0];
        own[0] = own[1];
        own[1] = t;
    }
    STRAIN_TRY(load_genome(&ga, NULL, st, a));
    STRAIN_TRY(load_genome(&gb, NULL, st, b));
    STRAIN_TRY(strain_certs__side_genome(&x, NULL, st, ga, own, n_own));
    STRAIN_TRY(strain_certs__side_genome(&y, NULL, st, gb, own, n_own));
    STRAIN_TRY(strain_certs__similarity(&r, NULL, x, y));
done:
    strain_certs__side_free(x);
    strain_certs__side_free(y);
    strain_genome_free(ga);
    strain_genome_free(gb);
    return err < 0 ? (double)err : r;
}
