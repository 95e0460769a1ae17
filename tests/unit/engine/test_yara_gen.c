/*
 * YARA generation (strain/yara_gen.h) on the public corpus. For every family with at least 4
 * x64 PE versions: versions sorted, every other one given to the generator (the rest held
 * out), every x64 PE of the other families excluded (their genomes computed once here). The rule
 * must compile and satisfy the generator's own checks; then it is scanned with libyara over the
 * held-out versions (figure printed) and over every file of every other family (false hits printed
 * and asserted zero). A rule that fails to generate is reported with its reason and counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/strain.h>
#include <strain/yara_gen.h>

#include "helpers.h"

static int cmp_version(const char *a, const char *b)
{
    while (*a != '\0' || *b != '\0') {
        char *ea, *eb;
        long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
        if (x != y) {
            return x < y ? -1 : 1;
        }
        if (ea == a && eb == b) {
            break;
        }
        a = *ea != '\0' ? ea + 1 : ea;
        b = *eb != '\0' ? eb + 1 : eb;
    }
    return 0;
}

static const th_corpus_file *g_files;

static int cmp_idx(const void *a, const void *b)
{
    return cmp_version(g_files[*(const size_t *)a].version, g_files[*(const size_t *)b].version);
}

static bool x64pe(const th_corpus_file *f)
{
    return strcmp(f->format, "pe32+") == 0;
}

static void test_corpus_rules(void **state)
{
    (void)state;
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    g_files = files;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    uint8_t **data = calloc(n, sizeof(*data));
    size_t *len = calloc(n, sizeof(size_t));
    strain_genome **gen = calloc(n, sizeof(*gen));
    for (size_t i = 0; i < n; i++) {
        data[i] = th_read_file(files[i].path, &len[i]);
        assert_non_null(data[i]);
        strain_binary *bin = NULL;
        assert_int_equal(strain_binary_parse(&bin, ctx, data[i], len[i]), 0);
        assert_int_equal(strain_genome_build(&gen[i], ctx, bin, NULL), 0);
        strain_binary_free(bin);
    }
    const strain_genome **exg = calloc(n, sizeof(*exg));
    size_t *idx = calloc(n, sizeof(size_t));
    size_t families = 0, generated = 0, held = 0, held_hit = 0, others = 0, false_hits = 0;
    for (size_t i = 0; i < n; i++) {
        if (!x64pe(&files[i])) {
            continue;
        }
        bool first = true;
        for (size_t j = 0; j < i && first; j++) {
            first = !(x64pe(&files[j]) && strcmp(files[j].family, files[i].family) == 0);
        }
        if (!first) {
            continue;
        }
        size_t m = 0;
        for (size_t j = 0; j < n; j++) {
            if (x64pe(&files[j]) && strcmp(files[j].family, files[i].family) == 0) {
                idx[m++] = j;
            }
        }
        if (m < 4) {
            continue;
        }
        families++;
        qsort(idx, m, sizeof(size_t), cmp_idx);
        strain_yara_file *train = calloc(m, sizeof(*train)), *ex = calloc(n, sizeof(*ex));
        size_t nt = 0, ne = 0;
        for (size_t k = 0; k < m; k += 2) {
            train[nt++] = (strain_yara_file){data[idx[k]], len[idx[k]], files[idx[k]].path};
        }
        /* Excluded: every x64 PE of the other families. */
        for (size_t j = 0; j < n; j++) {
            if (x64pe(&files[j]) && strcmp(files[j].family, files[i].family) != 0) {
                exg[ne] = gen[j];
                ex[ne++] = (strain_yara_file){data[j], len[j], files[j].path};
            }
        }
        strain_yara_opts o = {.rule_name = files[i].family,
                              .family = files[i].family,
                              .actor = files[i].actor,
                              .exclude_genomes = exg};
        strain_yara_report rep;
        char *rule = NULL;
        int err = strain_yara_generate(&rule, &rep, ctx, train, nt, ex, ne, &o);
        if (err < 0) {
            printf("%-20s no rule from %zu versions: %s\n", files[i].family, nt,
                   strain_ctx_errmsg(ctx));
            free(train);
            free(ex);
            continue;
        }
        generated++;
        strain_yara_rules *rules = NULL;
        assert_int_equal(strain_yara_compile(&rules, ctx, rule), 0);
        size_t h = 0, hh = 0, o_n = 0, fh = 0;
        for (size_t k = 1; k < m; k += 2) {
            h++;
            hh += strain_yara_scan(rules, ctx, data[idx[k]], len[idx[k]]) == 1;
        }
        for (size_t j = 0; j < n; j++) {
            if (strcmp(files[j].family, files[i].family) != 0) {
                o_n++;
                int r = strain_yara_scan(rules, ctx, data[j], len[j]);
                assert_true(r >= 0);
                if (r == 1) {
                    fh++;
                    printf("  false hit: %s rule on %s %s (%s)\n", files[i].family, files[j].family,
                           files[j].version, files[j].format);
                }
            }
        }
        printf("%-20s %zu strings, %zu of them; given %zu/%zu; held out %zu/%zu; other "
               "families %zu/%zu\n",
               files[i].family, rep.n_strings, rep.n_of, rep.members_matched, nt, hh, h, fh, o_n);
        held += h;
        held_hit += hh;
        others += o_n;
        false_hits += fh;
        strain_yara_rules_free(rules);
        free(rule);
        free(train);
        free(ex);
    }
    printf("rules: %zu of %zu families; held-out versions matched %zu/%zu (%.1f%%); false hits "
           "on other families' files %zu/%zu\n",
           generated, families, held_hit, held, held ? 100.0 * (double)held_hit / (double)held : 0,
           false_hits, others);
    assert_int_equal(false_hits, 0);
    /* every family gets a rule (17 of 17 when written; 15 with code patterns only) */
    assert_int_equal(generated, families);
    for (size_t i = 0; i < n; i++) {
        free(data[i]);
        strain_genome_free(gen[i]);
    }
    free(gen);
    free(exg);
    free(data);
    free(len);
    free(idx);
    strain_ctx_free(ctx);
}

static void test_rejects_bad_rule(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_yara_rules *r = NULL;
    assert_true(strain_yara_compile(&r, ctx, "rule x { strings: $a = { 4? } condition: ") < 0);
    assert_null(r);
    assert_int_equal(strain_yara_compile(&r, ctx, "rule x { strings: $a = \"abc\" condition: $a }"),
                     0);
    assert_int_equal(strain_yara_scan(r, ctx, (const uint8_t *)"xxabcxx", 7), 1);
    assert_int_equal(strain_yara_scan(r, ctx, (const uint8_t *)"xxabxx", 6), 0);
    strain_yara_rules_free(r);
    strain_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_bad_rule),
        cmocka_unit_test(test_corpus_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
