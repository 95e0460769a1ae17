/*
 * Clustering at scale on synthetic feature sets: F families x V variants (default 100 x 100 =
 * 10,000 samples). Each family is a random set of 400 fragment hashes; a variant keeps each
 * with probability 0.75 and adds its own random ones in their place (a rebuilt, modified
 * version), and every sample also carries 100 "runtime" hashes shared by all (the library
 * code the df discount must remove). Prints the time to cluster, the candidate pairs LSH
 * proposed (against the all-pairs count) and the adjusted Rand index against the families.
 * usage: bench_cluster [FAMILIES [VARIANTS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <strain/cluster.h>
#include <strain/strain.h>

#define FRAGS 400
#define RUNTIME 100

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int nf = argc > 1 ? atoi(argv[1]) : 100, nv = argc > 2 ? atoi(argv[2]) : 100;
    if (nf <= 0 || nv <= 0) {
        fprintf(stderr, "usage: bench_cluster [FAMILIES [VARIANTS]]\n");
        return 2;
    }
    strain_ctx *ctx = NULL;
    strain_cluster *c = NULL;
    if (strain_ctx_new(&ctx) < 0 || strain_cluster_new(&c, ctx, NULL) < 0) {
        return 1;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull, base[FRAGS], runtime[RUNTIME], v[FRAGS + RUNTIME];
    for (int k = 0; k < RUNTIME; k++) {
        runtime[k] = rng(&seed);
    }
    char label[32];
    double t0 = now();
    for (int f = 0; f < nf; f++) {
        for (int k = 0; k < FRAGS; k++) {
            base[k] = rng(&seed);
        }
        snprintf(label, sizeof(label), "family%d", f);
        for (int m = 0; m < nv; m++) {
            for (int k = 0; k < FRAGS; k++) {
                v[k] = rng(&seed) % 4 == 0 ? rng(&seed) : base[k];
            }
            for (int k = 0; k < RUNTIME; k++) {
                v[FRAGS + k] = runtime[k];
            }
            if (strain_cluster_add_features(c, ctx, v, FRAGS + RUNTIME, NULL, label, NULL, 0) < 0) {
                fprintf(stderr, "add: %s\n", strain_ctx_errmsg(ctx));
                return 1;
            }
        }
    }
    double t1 = now();
    const strain_cluster_result *r = NULL;
    if (strain_cluster_run(&r, c, ctx) < 0) {
        fprintf(stderr, "run: %s\n", strain_ctx_errmsg(ctx));
        return 1;
    }
    double t2 = now();
    double n = (double)nf * nv;
    printf("samples: %.0f (%d families x %d variants), generate+add %.2f s, cluster %.2f s\n", n,
           nf, nv, t1 - t0, t2 - t1);
    printf("candidate pairs: %llu of %.0f all pairs (%.3f%%), groups: %zu, edges: %zu\n",
           (unsigned long long)r->candidate_pairs, n * (n - 1) / 2,
           100.0 * (double)r->candidate_pairs / (n * (n - 1) / 2), r->n_groups, r->n_edges);
    printf("quality: ARI %.4f, mean intra %.1f, separation %.3f\n", r->ari, r->mean_intra,
           r->separation);
    strain_cluster_free(c);
    strain_ctx_free(ctx);
    return 0;
}
