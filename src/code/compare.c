/*
 * Comparing two genomes. Functions above the size floor are paired one-to-one: first by
 * exact hash (same normalised CFG), then among MinHash candidates found through LSH banding
 * (8 bands of 4 slots: a pair with Jaccard 0.8 shares a band with probability 0.98, one with
 * 0.3 with 0.06), never all pairs. Pairs are taken greedily by similarity. Functions left
 * unpaired are then paired by neutral hash (strain_gene.neutral: the same APIs, strings and
 * constants): no code hash survives a change of instruction set, and on the public corpus
 * this pairing is what makes an x86 build's nearest neighbour its x64 sibling (node-hid
 * 3.4.0, leveldown 5.6.0), where before it was an unrelated x86 file.
 *
 * The function score is the similarity-weighted share of both files' counted code bytes
 * that the pairs cover, so a big shared function weighs more than a small one, and it is
 * symmetric. Fragment Jaccard (winnowed k-grams) is reported beside it and blended in with
 * a small weight: it catches shared code inside functions that changed.
 */
#include <stdlib.h>
#include <string.h>

#include "code/code_impl.h"
#include "code/hash64.h"
#include "util/err.h"
#include "util/u64sort.h"

#define BANDS 8u
#define ROWS (STRAIN_GENE_SKETCH / BANDS)
#define MIN_SIM 0.5     /* below this a pair is chance, not kinship */
#define MAX_BUCKET 64u  /* a band value shared by more functions carries no signal */
#define FUNC_WEIGHT 0.8 /* share of the score from function pairs (rest: fragments) */
#define NEUTRAL_SIM 0.6 /* similarity given to a pair found by its neutral hash only */

typedef code_key key_idx;

typedef struct cand {
    double sim;
    uint32_t a, b;
} cand;

static int cmp_key(const void *x, const void *y)
{
    const key_idx *a = x, *b = y;
    if (a->key != b->key) {
        return a->key < b->key ? -1 : 1;
    }
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_cand(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->sim != b->sim) {
        return a->sim > b->sim ? -1 : 1;
    }
    if (a->a != b->a) {
        return a->a < b->a ? -1 : 1;
    }
    return a->b < b->b ? -1 : a->b > b->b;
}

static int cmp_match(const void *x, const void *y)
{
    const strain_gene_match *a = x, *b = y;
    return a->address_a < b->address_a ? -1 : a->address_a > b->address_a;
}

static bool counted(const strain_gene *g)
{
    return (g->flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK)) == 0;
}

/* Sizes that differ by more than 2x cannot be one function (x64 code is 10-40% larger than
 * x86 code of the same source). Retrohunt's evidence bound relies on it (hunt_db.c). */
static bool sizes_close(const strain_gene *x, const strain_gene *y)
{
    double ra = x->size, rb = y->size;
    return ra <= 2 * rb && rb <= 2 * ra;
}

bool strain_code__neutral_counted(const strain_gene *g)
{
    return counted(g) && g->n_neutral >= STRAIN_NEUTRAL_MIN;
}

static uint64_t band_key(const strain_gene *g, unsigned band)
{
    uint64_t h = 0x62616e64ull + band;
    for (unsigned r = 0; r < ROWS; r++) {
        h = strain_hash_add(h, g->sketch[band * ROWS + r]);
    }
    return h;
}

/* Lower bound of key in a sorted key_idx array. */
static size_t lower(const key_idx *a, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid].key < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Sorts a in cmp_key order. The entries were appended in increasing idx order, so a stable
 * sort on key alone gives exactly that order: LSD radix sort, 8 passes of one byte (a pass
 * where every key has the same byte is skipped). Keys are hashes, the band index holds 8 per
 * counted function: qsort with a comparator call per step was ~4% of `strain genes`. */
static int sort_keys(key_idx *a, size_t n)
{
    if (n < 64) {
        code_sort(a, n, sizeof(key_idx), cmp_key);
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (a[i - 1].idx > a[i].idx) { /* not in idx order: fall back to the full compare */
            code_sort(a, n, sizeof(key_idx), cmp_key);
            return 0;
        }
    }
    key_idx *tmp = malloc(n * sizeof(key_idx));
    if (tmp == NULL) {
        return STRAIN_ENOMEM;
    }
    key_idx *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++) {
            count[(src[i].key >> shift) & 0xffu]++;
        }
        if (count[(src[0].key >> shift) & 0xffu] == n) {
            continue;
        }
        size_t pos = 0;
        for (unsigned b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++) {
            dst[count[(src[i].key >> shift) & 0xffu]++] = src[i];
        }
        key_idx *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) {
        memcpy(a, src, n * sizeof(key_idx));
    }
    free(tmp);
    return 0;
}

int strain_code__genome_index(strain_genome *g)
{
    int err = 0;
    const strain_genome_info *gi = &g->info;
    size_t n = 0;
    for (size_t i = 0; i < gi->n_genes; i++) {
        n += counted(&gi->genes[i]);
    }
    g->exact_ix = calloc(n + 1, sizeof(key_idx));
    g->band_ix = calloc(n * BANDS + 1, sizeof(key_idx));
    g->neutral_ix = calloc(n + 1, sizeof(key_idx));
    if (g->exact_ix == NULL || g->band_ix == NULL || g->neutral_ix == NULL) {
        return STRAIN_ENOMEM;
    }
    size_t ne = 0, nb = 0, nn = 0;
    for (size_t i = 0; i < gi->n_genes; i++) {
        const strain_gene *x = &gi->genes[i];
        if (!counted(x)) {
            continue;
        }
        g->exact_ix[ne].key = x->exact;
        g->exact_ix[ne++].idx = (uint32_t)i;
        for (unsigned band = 0; band < BANDS; band++) {
            g->band_ix[nb].key = band_key(x, band);
            g->band_ix[nb++].idx = (uint32_t)i;
        }
        if (x->n_neutral >= STRAIN_NEUTRAL_MIN) {
            g->neutral_ix[nn].key = x->neutral;
            g->neutral_ix[nn++].idx = (uint32_t)i;
        }
    }
    STRAIN_TRY(sort_keys(g->exact_ix, ne));
    STRAIN_TRY(sort_keys(g->band_ix, nb));
    STRAIN_TRY(sort_keys(g->neutral_ix, nn));
    g->n_exact_ix = ne;
    g->n_band_ix = nb;
    g->n_neutral_ix = nn;
done:
    return err;
}

bool strain_code__neutral_gene(const strain_genome *g, const strain_gene *x)
{
    if (g->neutral_ix == NULL || !strain_code__neutral_counted(x)) {
        return false;
    }
    for (size_t k = lower(g->neutral_ix, g->n_neutral_ix, x->neutral);
         k < g->n_neutral_ix && g->neutral_ix[k].key == x->neutral; k++) {
        if (sizes_close(x, &g->info.genes[g->neutral_ix[k].idx])) {
            return true;
        }
    }
    return false;
}

bool strain_code__near_gene(const strain_genome *g, const strain_gene *x, double min_sim)
{
    const key_idx *bands = g->band_ix;
    size_t nb = g->n_band_ix;
    if (bands == NULL || !counted(x)) {
        return false;
    }
    for (unsigned band = 0; band < BANDS; band++) {
        uint64_t key = band_key(x, band);
        size_t k = lower(bands, nb, key);
        for (unsigned seen = 0; k < nb && bands[k].key == key && seen < MAX_BUCKET; k++, seen++) {
            const strain_gene *y = &g->info.genes[bands[k].idx];
            double ra = x->size, rb = y->size;
            if (ra > 2 * rb || rb > 2 * ra) {
                continue;
            }
            if (strain_code__sketch_sim(x->sketch, y->sketch) >= min_sim) {
                return true;
            }
        }
    }
    return false;
}

const char *strain_match_name(uint32_t how)
{
    switch (how) {
    case STRAIN_MATCH_EXACT: return "exact";
    case STRAIN_MATCH_SIMILAR: return "similar";
    case STRAIN_MATCH_NEUTRAL: return "neutral";
    default: return "unknown";
    }
}

void strain_comparison_free(strain_comparison *c)
{
    if (c == NULL) {
        return;
    }
    free(c->matches);
    free(c);
}

static void fragments(strain_comparison *c, const strain_genome_info *a,
                      const strain_genome_info *b)
{
    size_t both = strain_u64_common(a->fragments, a->n_fragments, b->fragments, b->n_fragments);
    size_t uni = a->n_fragments + b->n_fragments - both;
    size_t mn = a->n_fragments < b->n_fragments ? a->n_fragments : b->n_fragments;
    c->fragment_jaccard = uni > 0 ? (double)both / (double)uni : 0.0;
    c->fragment_containment = mn > 0 ? (double)both / (double)mn : 0.0;
}

/*
 * The string channel and the combination. Overlap (shared over the smaller set) rather than
 * Jaccard: a new version adds strings, and a small tool built from a larger one keeps few of
 * them, yet every string they share is evidence. On the public corpus (hunt with the oldest
 * version of each family, clean set discounted), overlap found 0.98 of the other versions at a
 * precision of 0.79 where Jaccard found 0.84 at 0.81 (docs/hunt.md). The combination is
 * the one attribution uses (docs/attribution.md): code shared without the strings that go
 * with it is runtime or library code, so it counts fully only when it is near-identical.
 */
static void strings(strain_comparison *c, const strain_genome_info *a, const strain_genome_info *b)
{
    size_t both = strain_u64_common(a->strings, a->n_strings, b->strings, b->n_strings);
    size_t mn = a->n_strings < b->n_strings ? a->n_strings : b->n_strings;
    c->n_shared_strings = both;
    c->string_score =
        both >= STRAIN_COMPARE_MIN_SHARED_STRINGS ? 100.0 * (double)both / (double)mn : 0.0;
    c->combined_score = c->score;
    if ((a->flags & b->flags & STRAIN_GENOME_STRINGS) != 0) {
        double mixed = 0.8 * c->string_score + 0.2 * c->score;
        c->combined_score = mixed > c->score - 60.0 ? mixed : c->score - 60.0;
    }
}

int strain_compare(strain_comparison **out, strain_ctx *ctx, const strain_genome *ga,
                   const strain_genome *gb)
{
    const strain_genome_info *A = strain_genome_get_info(ga), *B = strain_genome_get_info(gb);
    strain_comparison *c = calloc(1, sizeof(*c));
    cand *cands = NULL;
    size_t n_cands = 0, cap_cands = 0;
    uint8_t *used_a = calloc(A->n_genes + 1, 1), *used_b = calloc(B->n_genes + 1, 1);
    int err = 0;
    if (c == NULL || used_a == NULL || used_b == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    c->matches = calloc(A->n_genes < B->n_genes ? A->n_genes + 1 : B->n_genes + 1,
                        sizeof(strain_gene_match));
    if (c->matches == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    uint64_t total_a = 0, total_b = 0, cov_a = 0, cov_b = 0;
    double weighted = 0;
    const key_idx *exact = gb->exact_ix, *bands = gb->band_ix;
    size_t ne = gb->n_exact_ix, nb = gb->n_band_ix;
    for (size_t k = 0; k < ne; k++) {
        total_b += B->genes[exact[k].idx].size;
    }
    c->n_counted_b = ne;
    /* 1. Exact pairs. */
    for (size_t i = 0; i < A->n_genes; i++) {
        const strain_gene *x = &A->genes[i];
        if (!counted(x)) {
            continue;
        }
        total_a += x->size;
        c->n_counted_a++;
        for (size_t k = lower(exact, ne, x->exact); k < ne && exact[k].key == x->exact; k++) {
            if (!used_b[exact[k].idx]) {
                used_a[i] = used_b[exact[k].idx] = 1;
                const strain_gene *y = &B->genes[exact[k].idx];
                strain_gene_match *m = &c->matches[c->n_matches++];
                m->address_a = x->address;
                m->address_b = y->address;
                m->size_a = x->size;
                m->size_b = y->size;
                m->similarity = 1.0;
                m->how = STRAIN_MATCH_EXACT;
                break;
            }
        }
    }
    /* 2. Sketch candidates through B's LSH bands (its unmatched functions only). */
    for (size_t i = 0; i < A->n_genes; i++) {
        const strain_gene *x = &A->genes[i];
        if (!counted(x) || used_a[i]) {
            continue;
        }
        for (unsigned band = 0; band < BANDS; band++) {
            uint64_t key = band_key(x, band);
            size_t k = lower(bands, nb, key);
            for (unsigned seen = 0; k < nb && bands[k].key == key && seen < MAX_BUCKET;
                 k++, seen++) {
                if (used_b[bands[k].idx]) {
                    continue;
                }
                const strain_gene *y = &B->genes[bands[k].idx];
                double sim = strain_code__sketch_sim(x->sketch, y->sketch);
                /* Sizes that differ a lot cannot be near-identical functions. */
                double ra = x->size, rb = y->size;
                if (sim < MIN_SIM || ra > 2 * rb || rb > 2 * ra) {
                    continue;
                }
                if (n_cands == cap_cands) {
                    size_t nc = cap_cands == 0 ? 256 : cap_cands * 2;
                    cand *p = realloc(cands, nc * sizeof(cand));
                    if (p == NULL) {
                        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
                    }
                    cands = p;
                    cap_cands = nc;
                }
                cands[n_cands].sim = sim;
                cands[n_cands].a = (uint32_t)i;
                cands[n_cands].b = bands[k].idx;
                n_cands++;
            }
        }
    }
    code_sort(cands, n_cands, sizeof(cand), cmp_cand);
    for (size_t k = 0; k < n_cands; k++) {
        if (used_a[cands[k].a] || used_b[cands[k].b]) {
            continue;
        }
        used_a[cands[k].a] = used_b[cands[k].b] = 1;
        const strain_gene *x = &A->genes[cands[k].a], *y = &B->genes[cands[k].b];
        strain_gene_match *m = &c->matches[c->n_matches++];
        m->address_a = x->address;
        m->address_b = y->address;
        m->size_a = x->size;
        m->size_b = y->size;
        m->similarity = cands[k].sim;
        m->how = STRAIN_MATCH_SIMILAR;
    }
    /* 3. What is left, by neutral hash: the same APIs, strings and constants where the code
     * differs (another instruction set, another compiler). The pair is kin, but how close
     * its code is cannot be said: it counts at NEUTRAL_SIM. */
    const key_idx *neutral = gb->neutral_ix;
    size_t nn = gb->n_neutral_ix;
    for (size_t i = 0; i < A->n_genes && nn > 0; i++) {
        const strain_gene *x = &A->genes[i];
        if (used_a[i] || !strain_code__neutral_counted(x)) {
            continue;
        }
        for (size_t k = lower(neutral, nn, x->neutral); k < nn && neutral[k].key == x->neutral;
             k++) {
            const strain_gene *y = &B->genes[neutral[k].idx];
            if (!used_b[neutral[k].idx] && sizes_close(x, y)) {
                used_a[i] = used_b[neutral[k].idx] = 1;
                strain_gene_match *m = &c->matches[c->n_matches++];
                m->address_a = x->address;
                m->address_b = y->address;
                m->size_a = x->size;
                m->size_b = y->size;
                m->similarity = NEUTRAL_SIM;
                m->how = STRAIN_MATCH_NEUTRAL;
                break;
            }
        }
    }
    for (size_t k = 0; k < c->n_matches; k++) {
        const strain_gene_match *m = &c->matches[k];
        weighted += m->similarity * ((double)m->size_a + (double)m->size_b);
        cov_a += m->size_a;
        cov_b += m->size_b;
    }
    code_sort(c->matches, c->n_matches, sizeof(strain_gene_match), cmp_match);
    fragments(c, A, B);
    double func = total_a + total_b > 0 ? weighted / (double)(total_a + total_b) : 0.0;
    c->coverage_a = total_a > 0 ? (double)cov_a / (double)total_a : 0.0;
    c->coverage_b = total_b > 0 ? (double)cov_b / (double)total_b : 0.0;
    c->score = 100.0 * (FUNC_WEIGHT * func + (1.0 - FUNC_WEIGHT) * c->fragment_jaccard);
    strings(c, A, B);
    *out = c;
    c = NULL;
done:
    free(cands);
    free(used_a);
    free(used_b);
    strain_comparison_free(c);
    return err;
}
