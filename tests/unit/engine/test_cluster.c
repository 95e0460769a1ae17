/*
 * Clustering (strain/cluster.h). On synthetic feature sets (families of mutated variants)
 * the families must come back exactly; on the public corpus the adjusted Rand index against
 * the manifest's family labels is printed and its measured floor asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/cluster.h>
#include <strain/strain.h>

#include "helpers.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_synthetic(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_cluster *c = NULL;
    assert_int_equal(strain_cluster_new(&c, ctx, NULL), 0);
    uint64_t seed = 0x1234567, base[200], v[200];
    char label[32];
    for (int f = 0; f < 20; f++) {
        for (int k = 0; k < 200; k++) {
            base[k] = rng(&seed);
        }
        snprintf(label, sizeof(label), "fam%d", f);
        for (int m = 0; m < 10; m++) {
            /* A variant: 20% of the features replaced. */
            for (int k = 0; k < 200; k++) {
                v[k] = rng(&seed) % 5 == 0 ? rng(&seed) : base[k];
            }
            assert_true(strain_cluster_add_features(c, ctx, v, 200, NULL, label, NULL, 0) >= 0);
        }
    }
    const strain_cluster_result *r = NULL;
    assert_int_equal(strain_cluster_run(&r, c, ctx), 0);
    printf("synthetic: %zu groups, ARI %.3f, %llu candidate pairs of %d\n", r->n_groups, r->ari,
           (unsigned long long)r->candidate_pairs, 200 * 199 / 2);
    assert_int_equal(r->n_groups, 20);
    assert_true(r->ari > 0.999);
    assert_true(r->candidate_pairs < 200 * 199 / 2 / 2);
    strain_cluster_free(c);
    strain_ctx_free(ctx);
}

static double ari_against(const strain_cluster_result *r, const th_corpus_file *files, size_t n,
                          bool with_format)
{
    /* Pair counting: the same computation as the library's, against another labelling. */
    double sum_ij = 0, sum_a = 0, sum_b = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            bool sg = r->assignment[i] == r->assignment[j];
            bool sl = strcmp(files[i].family, files[j].family) == 0 &&
                      (!with_format || strcmp(files[i].format, files[j].format) == 0);
            sum_ij += sg && sl;
            sum_a += sg;
            sum_b += sl;
        }
    }
    double total = (double)n * (double)(n - 1) / 2.0, e = sum_a * sum_b / total;
    return (sum_ij - e) / ((sum_a + sum_b) / 2.0 - e);
}

static void test_corpus_ari(void **state)
{
    (void)state;
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_genome **gs = calloc(n, sizeof(*gs));
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint8_t *data = th_read_file(files[i].path, &len);
        assert_non_null(data);
        strain_binary *bin = NULL;
        assert_int_equal(strain_binary_parse(&bin, ctx, data, len), 0);
        assert_int_equal(strain_genome_build(&gs[i], ctx, bin, NULL), 0);
        strain_binary_free(bin);
        free(data);
    }
    static const double thresholds[] = {10, 15, 20, 30, 40, 50};
    double ari_default = 0;
    for (size_t t = 0; t < sizeof(thresholds) / sizeof(thresholds[0]); t++) {
        strain_cluster_opts o = {.threshold = thresholds[t], .max_df = 0};
        strain_cluster *c = NULL;
        assert_int_equal(strain_cluster_new(&c, ctx, &o), 0);
        for (size_t i = 0; i < n; i++) {
            char name[256];
            snprintf(name, sizeof(name), "%s %s %s", files[i].family, files[i].version,
                     files[i].format);
            assert_true(strain_cluster_add_genome(c, ctx, gs[i], name, files[i].family,
                                                  files[i].actor, 0) >= 0);
        }
        const strain_cluster_result *r = NULL;
        assert_int_equal(strain_cluster_run(&r, c, ctx), 0);
        double af = ari_against(r, files, n, true);
        assert_true(r->ari > ari_against(r, files, n, false) - 1e-9 &&
                    r->ari < ari_against(r, files, n, false) + 1e-9);
        printf("threshold %.0f: %zu groups, %zu edges, %llu candidate pairs of %zu, mean intra "
               "%.1f, separation %.3f, ARI vs family %.3f, vs (family, format) %.3f, %.1f s\n",
               thresholds[t], r->n_groups, r->n_edges, (unsigned long long)r->candidate_pairs,
               n * (n - 1) / 2, r->mean_intra, r->separation, r->ari, af, r->seconds);
        if (thresholds[t] == STRAIN_CLUSTER_DEFAULT_THRESHOLD) {
            ari_default = r->ari;
            for (size_t g = 0; g < r->n_groups; g++) {
                printf("  %-22s %2zu:", r->groups[g].name, r->groups[g].n_members);
                for (size_t m = 0; m < r->groups[g].n_members; m++) {
                    printf(" [%s]", strain_cluster_sample_name(c, r->groups[g].members[m]));
                }
                printf("\n");
            }
        }
        strain_cluster_free(c);
    }
    /* The target, ARI >= 0.9 against the family labels, is met at the default
     * threshold since the genome carries strings: 0.928 when written (code alone: 0.402).
     * What is left: leveldown and its fork classic-level share code and strings. */
    assert_true(ari_default >= 0.90);
    for (size_t i = 0; i < n; i++) {
        strain_genome_free(gs[i]);
    }
    free(gs);
    strain_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_corpus_ari),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
