/*
 * Code similarity for the unrelated-code finding (certs_unrelated.c): how much of two files'
 * own code they share, leaving out what the database's clean samples hold.
 *
 * Raw strain_compare() figures between unrelated programs built with one toolchain are high
 * (measured on the test fixtures: two mingw-w64 programs sharing nothing but the C runtime
 * score well above what a vendor's two tools sharing a library score once the runtime is
 * gone), so a stolen certificate's malware would look like the vendor's software. Code held
 * by a clean sample (`strain add --clean`: goodware, runtimes, SDKs) is therefore dropped
 * from both sides through strain_genome_discount() before the comparison: functions by exact
 * hash, fragments by value.
 *
 * Which code is clean comes from the posting index's counters (strain_store_df_get: n_clean
 * per feature, constant cost), not from loading every clean genome. Two consequences:
 *   - a feature counts as clean when a clean sample OTHER than the two compared holds it: the
 *     vendor's own tools are usually labelled clean themselves, and the library they share
 *     must not be discounted because they hold it (that is what makes them alike);
 *   - only sampled fragments are indexed (STRAIN_ENGINE_FRAGMENT_MOD), so the others cannot
 *     be known clean or not: both sides keep only sampled fragments. Sampling by hash value
 *     keeps shared fragments shared, so the Jaccard of the samples estimates the whole one.
 * Functions are discounted by exact hash only: runtime code of another compiler version
 * (near, not equal) still counts. A clean sample of that toolchain fixes it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "code/hash64.h"
#include "engine/attribution_impl.h"
#include "engine/certs_impl.h"
#include "engine/engine_impl.h"
#include "util/err.h"

/* One side of comparisons: a genome, its indexed features and how many clean samples hold
 * each (sorted by hash, per kind). */
struct strain_certs__side {
    int64_t id; /* 0: a file not in the store */
    bool clean;
    strain_genome *own; /* loaded from the store (freed with the side) */
    const strain_genome *g;
    uint64_t *exact; /* counted functions' exact hashes, sorted unique */
    uint32_t *exact_clean;
    size_t n_exact;
    uint64_t *frag; /* sampled fragments, sorted unique */
    uint32_t *frag_clean;
    size_t n_frag;
    uint64_t *unsampled; /* fragments the index does not hold */
    size_t n_unsampled;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(uint64_t *v, size_t n)
{
    if (n == 0) {
        return 0;
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    size_t m = 1;
    for (size_t i = 1; i < n; i++) {
        if (v[i] != v[m - 1]) {
            v[m++] = v[i];
        }
    }
    return m;
}

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
    strain_genome_free(s->own);
    free(s->exact);
    free(s->exact_clean);
    free(s->frag);
    free(s->frag_clean);
    free(s->unsampled);
    free(s);
}

/* The index's clean counts of the side's features (one batch). */
static int clean_counts(strain_certs__side *s, strain_ctx *ctx, strain_store *st)
{
    size_t n = s->n_exact + s->n_frag;
    strain_store_key *k = malloc((n ? n : 1) * sizeof(*k));
    strain_store_df *df = malloc((n ? n : 1) * sizeof(*df));
    s->exact_clean = calloc(s->n_exact + 1, sizeof(uint32_t));
    s->frag_clean = calloc(s->n_frag + 1, sizeof(uint32_t));
    int err = STRAIN_OK;
    if (k == NULL || df == NULL || s->exact_clean == NULL || s->frag_clean == NULL) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < s->n_exact; i++) {
        k[i] = (strain_store_key){STRAIN_KIND_FUNC_EXACT, s->exact[i]};
    }
    for (size_t i = 0; i < s->n_frag; i++) {
        k[s->n_exact + i] = (strain_store_key){STRAIN_KIND_FRAGMENT, s->frag[i]};
    }
    if (n > 0) {
        STRAIN_TRY(strain_store_df_get(st, df, k, n, 0));
    }
    for (size_t i = 0; i < s->n_exact; i++) {
        s->exact_clean[i] = df[i].n_clean;
    }
    for (size_t i = 0; i < s->n_frag; i++) {
        s->frag_clean[i] = df[s->n_exact + i].n_clean;
    }
done:
    free(k);
    free(df);
    return err;
}

static int side_fill(strain_certs__side *s, strain_ctx *ctx, strain_store *st)
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
    s->n_exact = sort_unique(s->exact, s->n_exact);
    s->n_frag = sort_unique(s->frag, s->n_frag);
    for (size_t i = 0; i < gi->n_fragments; i++) {
        if (find(s->frag, s->n_frag, gi->fragments[i]) == SIZE_MAX) {
            s->unsampled[s->n_unsampled++] = gi->fragments[i];
        }
    }
    STRAIN_TRY(clean_counts(s, ctx, st));
done:
    free(keys);
    return err;
}

int strain_certs__side_genome(strain_certs__side **out, strain_ctx *ctx, strain_store *st,
                              const strain_genome *g, int64_t id, bool clean)
{
    strain_certs__side *s = calloc(1, sizeof(*s));
    int err;
    if (s == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    s->id = id;
    s->clean = clean;
    s->g = g;
    STRAIN_TRY(side_fill(s, ctx, st));
    *out = s;
    s = NULL;
done:
    strain_certs__side_free(s);
    return err;
}

int strain_certs__side_load(strain_certs__side **out, strain_ctx *ctx, strain_store *st, int64_t id)
{
    strain_store_sample *meta = NULL;
    strain_genome *g = NULL;
    strain_certs__side *s = NULL;
    void *blob = NULL;
    size_t len = 0;
    uint32_t ver = 0;
    int err;
    STRAIN_TRY(strain_store_get_sample_by_id(st, &meta, id));
    STRAIN_TRY(strain_store_get_genome(st, &blob, &len, &ver, id));
    if (ver != STRAIN_ENGINE_GENOME_VERSION) {
        err = strain__fail(ctx, STRAIN_ESTORE, "sample %" PRId64 ": genome version %u unknown", id,
                           ver);
        goto done;
    }
    STRAIN_TRY(strain_genome_deserialize(&g, ctx, blob, len));
    STRAIN_TRY(strain_certs__side_genome(&s, ctx, st, g, id, meta->label.clean == 1));
    s->own = g;
    g = NULL;
    *out = s;
done:
    free(blob);
    strain_genome_free(g);
    strain_store_sample_free(meta);
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

/* Appends to ex/fr the features of s held by a clean sample other than a and b. */
static void clean_of(uint64_t *ex, size_t *n_ex, uint64_t *fr, size_t *n_fr,
                     const strain_certs__side *s, const strain_certs__side *other)
{
    for (size_t i = 0; i < s->n_exact; i++) {
        uint32_t c = s->exact_clean[i];
        c -= c > 0 && s->clean && s->id > 0;
        c -= c > 0 && other->clean && other->id > 0 &&
             find(other->exact, other->n_exact, s->exact[i]) != SIZE_MAX;
        if (c > 0) {
            ex[(*n_ex)++] = s->exact[i];
        }
    }
    for (size_t i = 0; i < s->n_frag; i++) {
        uint32_t c = s->frag_clean[i];
        c -= c > 0 && s->clean && s->id > 0;
        c -= c > 0 && other->clean && other->id > 0 &&
             find(other->frag, other->n_frag, s->frag[i]) != SIZE_MAX;
        if (c > 0) {
            fr[(*n_fr)++] = s->frag[i];
        }
    }
    memcpy(fr + *n_fr, s->unsampled, s->n_unsampled * sizeof(uint64_t));
    *n_fr += s->n_unsampled;
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
    clean_of(ex, &n_ex, fr, &n_fr, a, b);
    clean_of(ex, &n_ex, fr, &n_fr, b, a);
    STRAIN_TRY(strain_engine__hash_genome(&clean, ctx, ex, n_ex, fr, n_fr));
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
    strain_certs__side *x = NULL, *y = NULL;
    double r = 0;
    int err;
    if (st == NULL || a <= 0 || b <= 0) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(strain_certs__side_load(&x, NULL, st, a));
    STRAIN_TRY(strain_certs__side_load(&y, NULL, st, b));
    STRAIN_TRY(strain_certs__similarity(&r, NULL, x, y));
done:
    strain_certs__side_free(x);
    strain_certs__side_free(y);
    return err < 0 ? (double)err : r;
}
