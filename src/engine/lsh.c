/*
 * MinHash and banded LSH (see lsh.h). The candidate list is deduplicated after every band so
 * that its size stays near the number of distinct candidate pairs rather than bands x pairs.
 */
#include <stdlib.h>
#include <string.h>

#include "code/hash64.h"
#include "lsh.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/u64sort.h"

void strain_lsh__minhash(uint32_t *out, const uint64_t *f, size_t n)
{
    for (unsigned k = 0; k < STRAIN_LSH_K; k++) {
        out[k] = UINT32_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < STRAIN_LSH_K; k++) {
            /* One independent hash per slot: the finaliser over the value and slot seed. */
            uint32_t h = (uint32_t)(strain_mix64(f[i] ^ (0x9e3779b97f4a7c15ull * (k + 1))) >> 32);
            if (h < out[k]) {
                out[k] = h;
            }
        }
    }
}

typedef struct lsh_entry {
    uint64_t key;
    uint32_t idx;
} lsh_entry;

static int cmp_entry(const void *a, const void *b)
{
    const lsh_entry *x = a, *y = b;
    if (x->key != y->key) {
        return x->key < y->key ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int strain_lsh__candidates(uint64_t **out, size_t *n_out, uint64_t *skipped, strain_ctx *ctx,
                           const uint32_t *sig, size_t n)
{
    lsh_entry *e = malloc((n + 1) * sizeof(*e));
    uint64_t *pairs = NULL;
    size_t np = 0, cap = 0;
    int err = 0;
    *skipped = 0;
    if (e == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (unsigned b = 0; b < STRAIN_LSH_K / STRAIN_LSH_ROWS; b++) {
        size_t ne = 0;
        for (size_t i = 0; i < n; i++) {
            const uint32_t *s = sig + i * STRAIN_LSH_K + b * STRAIN_LSH_ROWS;
            if (sig[i * STRAIN_LSH_K] == UINT32_MAX) {
                continue; /* empty set */
            }
            uint64_t key = strain_mix64(b + 1);
            for (unsigned r = 0; r < STRAIN_LSH_ROWS; r++) {
                key = strain_hash_add(key, s[r]);
            }
            e[ne].key = key;
            e[ne++].idx = (uint32_t)i;
        }
        qsort(e, ne, sizeof(*e), cmp_entry);
        size_t start = np;
        for (size_t i = 0; i < ne;) {
            size_t j = i;
            while (j < ne && e[j].key == e[i].key) {
                j++;
            }
            size_t m = j - i;
            if (m > STRAIN_CLUSTER_MAX_BUCKET) {
                (*skipped)++;
            } else if (m > 1) {
                size_t add = m * (m - 1) / 2;
                if (np + add > cap) {
                    size_t nc = (np + add) * 2;
                    uint64_t *nw = realloc(pairs, nc * sizeof(uint64_t));
                    if (nw == NULL) {
                        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
                    }
                    pairs = nw;
                    cap = nc;
                }
                for (size_t x = i; x < j; x++) {
                    for (size_t y = x + 1; y < j; y++) {
                        pairs[np++] = (uint64_t)e[x].idx << 32 | e[y].idx;
                    }
                }
            }
            i = j;
        }
        if (np > start) {
            np = strain_u64_sort_unique(pairs, np);
        }
    }
    *out = pairs;
    *n_out = np;
    pairs = NULL;
done:
    free(pairs);
    free(e);
    return err;
}
