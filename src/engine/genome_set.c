/*
 * Genomes built from hash sets (src/engine/engine_impl.h). The discount of library code takes
 * a "clean" genome; the engine derives such genomes from counts over several genomes (code
 * present in many seeds, in many families). Writing them through the serialised form keeps
 * the engine on the code layer's public contract instead of its private structures.
 */
#include <stdlib.h>
#include <string.h>

#include "code/hash64.h"
#include "engine_impl.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/u64sort.h"

/* Layout of strain_genome_serialize() version 2 (src/code/genome.c). */
#define HG_MAGIC "SGNM"
#define HG_VERSION 2u
#define HG_HEADER 36u
#define HG_GENE_BYTES (8u + 8u + 6u * 4u + 4u * STRAIN_GENE_SKETCH)
#define HG_CHECK_SEED 0x53474e4du

static void put(uint8_t **w, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        *(*w)++ = (uint8_t)(v >> (8 * i));
    }
}

/* A sorted, unique copy of v (NULL when out of memory). */
static uint64_t *sorted_copy(const uint64_t *v, size_t *n)
{
    uint64_t *c = malloc((*n + 1) * sizeof(uint64_t));
    if (c != NULL && *n > 0) {
        memcpy(c, v, *n * sizeof(uint64_t));
        *n = strain_u64_sort_unique(c, *n);
    }
    return c;
}

int strain_engine__hash_genome(strain_genome **out, strain_ctx *ctx, const uint64_t *exact,
                               size_t n_exact, const uint64_t *frags, size_t n_frags,
                               const uint64_t *strs, size_t n_strs)
{
    uint64_t *e = NULL, *f = NULL, *t = NULL;
    uint8_t *buf = NULL;
    int err = 0;
    if (n_exact > UINT32_MAX || n_frags > UINT32_MAX || n_strs > STRAIN_GENOME_MAX_STRINGS) {
        return strain__fail(ctx, STRAIN_ELIMIT, "hash set too large for a genome");
    }
    e = sorted_copy(exact, &n_exact);
    f = sorted_copy(frags, &n_frags);
    t = sorted_copy(strs, &n_strs);
    if (e == NULL || f == NULL || t == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    size_t len = HG_HEADER + n_exact * HG_GENE_BYTES + n_frags * 8 + 4 + n_strs * 8 + 8;
    buf = calloc(1, len);
    if (buf == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    uint8_t *w = buf;
    memcpy(w, HG_MAGIC, 4);
    w += 4;
    put(&w, HG_VERSION, 2);
    put(&w, 0, 2);
    put(&w, STRAIN_ARCH_X64, 4); /* arch byte + 3 reserved; informative only */
    put(&w, 0, 4);               /* flags (STRAIN_GENOME_STRINGS is set when read) */
    put(&w, 0, 8);               /* code bytes */
    put(&w, n_exact, 4);
    put(&w, n_frags, 4);
    put(&w, 0, 4); /* notes */
    for (size_t k = 0; k < n_exact; k++) {
        put(&w, k + 1, 8); /* addresses must increase */
        put(&w, e[k], 8);
        w += HG_GENE_BYTES - 16;
    }
    for (size_t k = 0; k < n_frags; k++) {
        put(&w, f[k], 8);
    }
    put(&w, n_strs, 4);
    for (size_t k = 0; k < n_strs; k++) {
        put(&w, t[k], 8);
    }
    put(&w, strain_hash64(buf, len - 8, HG_CHECK_SEED), 8);
    err = strain_genome_deserialize(out, ctx, buf, len);
done:
    free(buf);
    free(e);
    free(f);
    free(t);
    return err;
}

/* Hashes present in >= min_count of the lists (each list already unique). */
static size_t count_common(uint64_t *all, size_t n, unsigned min_count)
{
    qsort(all, n, sizeof(uint64_t), strain_u64_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && all[j] == all[i]) {
            j++;
        }
        if (j - i >= min_count) {
            all[m++] = all[i];
        }
        i = j;
    }
    return m;
}

int strain_engine__common_genome(strain_genome **out, strain_ctx *ctx,
                                 const strain_genome *const *g, size_t n, unsigned min_count)
{
    size_t ng = 0, nf = 0, ns = 0;
    uint64_t *eg = NULL, *ef = NULL, *es = NULL;
    int err = 0;
    for (size_t i = 0; i < n; i++) {
        ng += strain_genome_get_info(g[i])->n_genes;
        nf += strain_genome_get_info(g[i])->n_fragments;
        ns += strain_genome_get_info(g[i])->n_strings;
    }
    eg = malloc((ng + 1) * sizeof(uint64_t));
    ef = malloc((nf + 1) * sizeof(uint64_t));
    es = malloc((ns + 1) * sizeof(uint64_t));
    if (eg == NULL || ef == NULL || es == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    ng = nf = ns = 0;
    for (size_t i = 0; i < n; i++) {
        const strain_genome_info *gi = strain_genome_get_info(g[i]);
        size_t start = ng;
        for (size_t k = 0; k < gi->n_genes; k++) {
            eg[ng++] = gi->genes[k].exact;
        }
        /* One genome counts once per hash (a function may be duplicated in a file). */
        ng = start + strain_u64_sort_unique(eg + start, ng - start);
        if (gi->n_fragments > 0) {
            memcpy(ef + nf, gi->fragments, gi->n_fragments * sizeof(uint64_t)); /* unique */
            nf += gi->n_fragments;
        }
        if (gi->n_strings > 0) {
            memcpy(es + ns, gi->strings, gi->n_strings * sizeof(uint64_t)); /* unique */
            ns += gi->n_strings;
        }
    }
    ng = count_common(eg, ng, min_count);
    nf = count_common(ef, nf, min_count);
    ns = count_common(es, ns, min_count);
    err = strain_engine__hash_genome(out, ctx, eg, ng, ef, nf, es, ns);
done:
    free(eg);
    free(ef);
    free(es);
    return err;
}

int strain_engine__genome_copy(strain_genome **out, strain_ctx *ctx, const strain_genome *g)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = strain_genome_serialize(&buf, &len, ctx, g);
    if (err == 0) {
        err = strain_genome_deserialize(out, ctx, buf, len);
    }
    free(buf);
    return err;
}
