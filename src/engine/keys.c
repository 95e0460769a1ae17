/*
 * Genome -> features for the posting index. The same function runs when a sample is added
 * and when a reference genome is verified at query time, so both sides always agree on what
 * a feature is. Hashes mix the kind in so that kinds never collide.
 */
#include <stdlib.h>
#include <string.h>

#include "code/hash64.h"
#include "attribution_impl.h"
#include "util/err.h"
#include "util/u64sort.h"

double strain_engine__kind_factor(uint32_t kind)
{
    switch (kind) {
    case STRAIN_KIND_FUNC_EXACT: return 1.0;
    case STRAIN_KIND_FUNC_BAND:
        /* eight bands together weigh as much as the exact hash: a near-identical function
         * (most bands equal) counts about as much as an identical one */
        return 1.0 / 8;
    case STRAIN_KIND_FRAGMENT: return 0.5;
    case STRAIN_KIND_NAME: return 1.0;
    case STRAIN_KIND_IMPORT: return 0.25;
    /* strings are scored in their own channel (query_impl.h): the factor only sets their
     * evidence mass, one string held by one family counting as one such function */
    case STRAIN_KIND_STRING: return 1.0;
    default: return 0.0;
    }
}

static bool counted(const strain_gene *g)
{
    return (g->flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK)) == 0;
}

int strain_engine__keys(strain_engine_key **out, size_t *out_n, strain_ctx *ctx,
                        const strain_genome *g)
{
    const strain_genome_info *gi = strain_genome_get_info(g);
    size_t n = 0;
    size_t cap = 0;
    strain_engine_key *k = NULL;
    size_t nf = 0;
    int err = STRAIN_OK;
    for (size_t i = 0; i < gi->n_genes; i++) {
        nf += counted(&gi->genes[i]);
    }
    size_t nfrag = gi->n_fragments / STRAIN_ENGINE_FRAGMENT_MOD + 16;
    if (__builtin_mul_overflow(nf, (size_t)(1 + STRAIN_ENGINE_BANDS), &cap) ||
        __builtin_add_overflow(cap, nfrag * 2, &cap)) {
        return strain__fail(ctx, STRAIN_ELIMIT, "genome too large to index");
    }
    k = malloc((cap ? cap : 1) * sizeof(*k));
    if (k == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < gi->n_genes; i++) {
        const strain_gene *x = &gi->genes[i];
        if (!counted(x)) {
            continue;
        }
        k[n++] = (strain_engine_key){STRAIN_KIND_FUNC_EXACT, (uint32_t)i, x->exact};
#if STRAIN_ENGINE_BANDS > 0
        for (uint32_t b = 0; b < STRAIN_ENGINE_BANDS; b++) {
            uint64_t h = strain_mix64(0x5eed0000u + b);
            for (uint32_t r = 0; r < STRAIN_ENGINE_BAND_ROWS; r++) {
                h = strain_hash_add(h, x->sketch[b * STRAIN_ENGINE_BAND_ROWS + r]);
            }
            k[n++] = (strain_engine_key){STRAIN_KIND_FUNC_BAND, (uint32_t)i, h};
        }
#endif
    }
    for (size_t i = 0; i < gi->n_fragments; i++) {
        uint64_t f = gi->fragments[i];
        if (strain_mix64(f) % STRAIN_ENGINE_FRAGMENT_MOD != 0) {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap * 2;
            strain_engine_key *r = realloc(k, ncap * sizeof(*k));
            if (r == NULL) {
                err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
                goto done;
            }
            k = r;
            cap = ncap;
        }
        k[n++] = (strain_engine_key){STRAIN_KIND_FRAGMENT, UINT32_MAX, f};
    }
    *out = k;
    *out_n = n;
    k = NULL;
done:
    free(k);
    return err;
}

static int add_name(uint64_t **v, size_t *n, size_t *cap, const char *name, uint64_t tag)
{
    if (name == NULL || name[0] == '\0') {
        return STRAIN_OK;
    }
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        uint64_t *r = realloc(*v, nc * sizeof(*r));
        if (r == NULL) {
            return STRAIN_ENOMEM;
        }
        *v = r;
        *cap = nc;
    }
    (*v)[(*n)++] = (strain_hash64_str_nocase(name, 0x6e616d65u) & ~1ull) | tag;
    return STRAIN_OK;
}

int strain_engine__item_names(strain_engine_item *it, strain_ctx *ctx)
{
    const strain_binary_info *bi = strain_binary_get_info(it->bin);
    uint64_t *v = NULL;
    size_t n = 0;
    size_t cap = 0;
    int err = STRAIN_OK;
    for (size_t i = 0; i < bi->n_exports && err == STRAIN_OK; i++) {
        err = add_name(&v, &n, &cap, bi->exports[i].name, 0);
    }
    for (size_t i = 0; i < bi->n_symbols && err == STRAIN_OK; i++) {
        /* defined functions only: undefined symbols are imports, counted below */
        if (bi->symbols[i].is_function && bi->symbols[i].address != 0) {
            err = add_name(&v, &n, &cap, bi->symbols[i].name, 0);
        }
    }
    for (size_t i = 0; i < bi->n_imports && err == STRAIN_OK; i++) {
        err = add_name(&v, &n, &cap, bi->imports[i].name, 1);
    }
    if (err < 0) {
        free(v);
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    size_t u = strain_u64_sort_unique(v, n);
    it->names = v;
    it->n_names = u;
    return STRAIN_OK;
}

int strain_engine__name_keys(strain_engine_key **out, size_t *out_n, strain_ctx *ctx,
                             const strain_engine_item *it)
{
    size_t n = it->n_names + it->n_strs;
    strain_engine_key *k = malloc((n ? n : 1) * sizeof(*k));
    if (k == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < it->n_names; i++) {
        uint64_t h = it->names[i];
        k[i] = (strain_engine_key){(h & 1) ? STRAIN_KIND_IMPORT : STRAIN_KIND_NAME, UINT32_MAX, h};
    }
    for (size_t i = 0; i < it->n_strs; i++) {
        k[it->n_names + i] = (strain_engine_key){STRAIN_KIND_STRING, UINT32_MAX, it->strs[i].hash};
    }
    *out = k;
    *out_n = n;
    return STRAIN_OK;
}
