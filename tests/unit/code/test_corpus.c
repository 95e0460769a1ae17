/*
 * The public corpus (../shared/corpus/public.tsv): for every file, is the most similar other
 * file by strain_compare a version of the same family? Two figures are printed:
 *  - raw: strain_compare on the genomes as built. Many corpus families are tiny Node addons
 *    whose own code is a few functions beside the same MSVC runtime, and sibling projects
 *    built the same day by the same maintainers (bufferutil / utf-8-validate) or forks
 *    (leveldown / classic-level) share nearly everything; the raw figure shows that.
 *  - runtime discounted: code present in >= 3 families (CRT, node-addon-api, zlib...) is
 *    removed first with strain_genome_discount, the way the attribution database weighs
 *    genotypes by rarity across families.
 * Both are given at family level and at actor level (see the assertions for why).
 * Also printed: time taken, the misses, and raw scores between unrelated families.
 */
#include <ftw.h>
#include <stdlib.h>
#include <time.h>

#include "code/hash64.h"
#include "code_test_util.h"

#define COMMON_FAMILIES 3 /* code in this many families is library code, not kinship */

typedef struct pair {
    uint64_t h;
    uint32_t fam;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->h != y->h) {
        return x->h < y->h ? -1 : 1;
    }
    return x->fam < y->fam ? -1 : x->fam > y->fam;
}

static size_t common(pair *p, size_t n, uint64_t *out)
{
    qsort(p, n, sizeof(pair), cmp_pair);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, fams = 0;
        for (; j < n && p[j].h == p[i].h; j++) {
            fams += j == i || p[j].fam != p[j - 1].fam;
        }
        if (fams >= COMMON_FAMILIES) {
            out[m++] = p[i].h;
        }
        i = j;
    }
    return m;
}

static void put(uint8_t **w, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        *(*w)++ = (uint8_t)(v >> (8 * i));
    }
}

/* A genome made of the hashes common to >= COMMON_FAMILIES families, built through the
 * documented serialisation (genes carry only their exact hash). */
static strain_genome *common_genome(strain_ctx *ctx, strain_genome **g, const uint32_t *fam,
                                    size_t n)
{
    size_t ng = 0, nf = 0, nst = 0;
    for (size_t i = 0; i < n; i++) {
        ng += strain_genome_get_info(g[i])->n_genes;
        nf += strain_genome_get_info(g[i])->n_fragments;
        nst += strain_genome_get_info(g[i])->n_strings;
    }
    pair *pg = malloc((ng + 1) * sizeof(pair)), *pf = malloc((nf + 1) * sizeof(pair));
    pair *ps = malloc((nst + 1) * sizeof(pair));
    uint64_t *eg = malloc((ng + 1) * 8), *ef = malloc((nf + 1) * 8), *es = malloc((nst + 1) * 8);
    ng = nf = nst = 0;
    for (size_t i = 0; i < n; i++) {
        const strain_genome_info *gi = strain_genome_get_info(g[i]);
        for (size_t k = 0; k < gi->n_genes; k++) {
            pg[ng].h = gi->genes[k].exact;
            pg[ng++].fam = fam[i];
        }
        for (size_t k = 0; k < gi->n_fragments; k++) {
            pf[nf].h = gi->fragments[k];
            pf[nf++].fam = fam[i];
        }
        for (size_t k = 0; k < gi->n_strings; k++) {
            ps[nst].h = gi->strings[k];
            ps[nst++].fam = fam[i];
        }
    }
    size_t cg = common(pg, ng, eg), cf = common(pf, nf, ef), cs = common(ps, nst, es);
    size_t gene_bytes = 8 + 8 + 24 + 4 * STRAIN_GENE_SKETCH;
    size_t len = 36 + cg * gene_bytes + cf * 8 + 4 + cs * 8 + 8;
    uint8_t *buf = calloc(1, len), *w = buf;
    memcpy(w, "SGNM", 4);
    w += 4;
    put(&w, 2, 2);
    put(&w, 0, 2);
    put(&w, STRAIN_ARCH_X64, 4);
    put(&w, 0, 4);
    put(&w, 0, 8);
    put(&w, cg, 4);
    put(&w, cf, 4);
    put(&w, 0, 4);
    for (size_t k = 0; k < cg; k++) {
        put(&w, k + 1, 8);
        put(&w, eg[k], 8);
        memset(w, 0, gene_bytes - 16);
        w += gene_bytes - 16;
    }
    for (size_t k = 0; k < cf; k++) {
        put(&w, ef[k], 8);
    }
    put(&w, cs, 4);
    for (size_t k = 0; k < cs; k++) {
        put(&w, es[k], 8);
    }
    put(&w, strain_hash64(buf, len - 8, 0x53474e4d), 8);
    strain_genome *clean = NULL;
    assert_int_equal(strain_genome_deserialize(&clean, ctx, buf, len), 0);
    printf("runtime/library set: %zu functions, %zu fragments and %zu strings present in >= %d "
           "families\n",
           cg, cf, cs, COMMON_FAMILIES);
    free(buf);
    free(ps);
    free(es);
    free(pg);
    free(pf);
    free(eg);
    free(ef);
    return clean;
}

static double nn_accuracy(const th_corpus_file *files, size_t n, const double *score,
                          const char *label, double *actor_acc)
{
    size_t hits = 0, actor_hits = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = i;
        for (size_t j = 0; j < n; j++) {
            if (j != i && (best == i || score[i * n + j] > score[i * n + best])) {
                best = j;
            }
        }
        bool hit = strcmp(files[i].family, files[best].family) == 0;
        hits += hit;
        actor_hits += strcmp(files[i].actor, files[best].actor) == 0;
        if (!hit) {
            printf("%s miss: %s %s (%s) -> %s %s (%s), score %.1f\n", label, files[i].family,
                   files[i].version, files[i].arch, files[best].family, files[best].version,
                   files[best].arch, score[i * n + best]);
        }
    }
    double acc = (double)hits / (double)n;
    *actor_acc = (double)actor_hits / (double)n;
    printf("%s: nearest neighbour is the same family for %zu/%zu files: %.1f%% "
           "(same actor: %zu/%zu, %.1f%%)\n",
           label, hits, n, 100 * acc, actor_hits, n, 100 * *actor_acc);
    return acc;
}

/* Pairwise scores: strain_compare's code score, or code and strings combined. */
static void score_all(strain_ctx *ctx, strain_genome **g, size_t n, double *score, bool combined)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            strain_comparison *c = NULL;
            assert_int_equal(strain_compare(&c, ctx, g[i], g[j]), 0);
            double s = combined ? c->combined_score : c->score;
            strain_comparison_free(c);
            assert_true(s >= 0 && s <= 100.0001);
            score[i * n + j] = score[j * n + i] = s;
        }
    }
}

/* The clean set's files (scripts/clean-set.sh; $STRAIN_CLEAN_DIR), loaded as genomes. */
static strain_ctx *clean_ctx;
static strain_genome **clean_g;
static size_t clean_n;

static int add_clean(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    ct_file f;
    if (type != FTW_F || ct_load(&f, clean_ctx, path, STRAIN_ARCH_UNKNOWN, 0, NULL) != 0) {
        return 0;
    }
    strain_genome **r = realloc(clean_g, (clean_n + 1) * sizeof(*r));
    assert_non_null(r);
    clean_g = r;
    clean_g[clean_n++] = f.genome;
    f.genome = NULL;
    ct_free(&f);
    return 0;
}

/* g with the code of every clean-set genome removed (g itself is freed). */
static strain_genome *discount_clean(strain_ctx *ctx, strain_genome *g)
{
    for (size_t k = 0; k < clean_n; k++) {
        strain_genome *d = NULL;
        assert_int_equal(strain_genome_discount(&d, ctx, g, clean_g[k]), 0);
        strain_genome_free(g);
        g = d;
    }
    return g;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_nearest_neighbour_family(void **state)
{
    (void)state;
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_genome **g = calloc(n, sizeof(*g));
    double t0 = now();
    uint64_t code = 0;
    for (size_t i = 0; i < n; i++) {
        ct_file f;
        assert_int_equal(ct_load(&f, ctx, files[i].path, STRAIN_ARCH_UNKNOWN, 0, NULL), 0);
        if (i == 0 && !ct_parsed_as(&f, STRAIN_FORMAT_PE32PLUS, STRAIN_FORMAT_PE32) &&
            !ct_parsed_as(&f, STRAIN_FORMAT_ELF64, STRAIN_FORMAT_ELF32)) {
            ct_free(&f);
            free(g);
            strain_ctx_free(ctx);
            skip(); /* the format parsers are not in this tree yet */
        }
        g[i] = f.genome;
        f.genome = NULL;
        code += strain_genome_get_info(g[i])->code_bytes;
        ct_free(&f);
    }
    double t1 = now();
    printf("genes: %zu files, %.1f MB of code in %.1f s\n", n, (double)code / 1e6, t1 - t0);
    double *score = calloc(n * n, sizeof(double));
    score_all(ctx, g, n, score, false);
    double t2 = now();
    printf("compare: %zu pairs in %.1f s\n", n * (n - 1) / 2, t2 - t1);
    double unrelated_sum = 0, unrelated_max = 0;
    size_t unrelated_n = 0, ui = 0, uj = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(files[i].family, files[j].family) != 0) {
                unrelated_sum += score[i * n + j];
                unrelated_n++;
                if (score[i * n + j] > unrelated_max) {
                    unrelated_max = score[i * n + j];
                    ui = i;
                    uj = j;
                }
            }
        }
    }
    printf("unrelated families, raw score: mean %.1f, max %.1f (%s %s vs %s %s)\n",
           unrelated_sum / (double)unrelated_n, unrelated_max, files[ui].family, files[ui].version,
           files[uj].family, files[uj].version);
    double actor_acc;
    nn_accuracy(files, n, score, "raw", &actor_acc);
    /* Runtime discounted. */
    uint32_t *fam = calloc(n, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        fam[i] = (uint32_t)i;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(files[i].family, files[j].family) == 0) {
                fam[i] = fam[j];
                break;
            }
        }
    }
    strain_genome *clean = common_genome(ctx, g, fam, n);
    strain_genome **d = calloc(n, sizeof(*d));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strain_genome_discount(&d[i], ctx, g[i], clean), 0);
    }
    score_all(ctx, d, n, score, false);
    unrelated_sum = 0;
    unrelated_max = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(files[i].family, files[j].family) != 0) {
                unrelated_sum += score[i * n + j];
                if (score[i * n + j] > unrelated_max) {
                    unrelated_max = score[i * n + j];
                    ui = i;
                    uj = j;
                }
            }
        }
    }
    printf("unrelated families, runtime discounted: mean %.1f, max %.1f (%s %s vs %s %s)\n",
           unrelated_sum / (double)unrelated_n, unrelated_max, files[ui].family, files[ui].version,
           files[uj].family, files[uj].version);
    double acc = nn_accuracy(files, n, score, "runtime discounted", &actor_acc);
    /* The clean set (other projects' builds with the same runtimes) removed as well: what the
     * attribution database does with `strain add --clean`. Printed, not asserted: the figure
     * depends on which runtimes the clean set holds. */
    const char *cdir = getenv("STRAIN_CLEAN_DIR");
    const char *req = getenv("STRAIN_REQUIRE_CORPUS");
    if (req != NULL && strcmp(req, "1") == 0) { /* CI: the 95% must be measured, not skipped */
        assert_true(cdir != NULL && cdir[0] != '\0');
    }
    if (cdir != NULL && cdir[0] != '\0') {
        clean_ctx = ctx;
        nftw(cdir, add_clean, 16, FTW_PHYS);
        if (req != NULL && strcmp(req, "1") == 0) {
            assert_true(clean_n > 0);
        }
        if (clean_n > 0) {
            for (size_t i = 0; i < n; i++) {
                d[i] = discount_clean(ctx, d[i]);
            }
            score_all(ctx, d, n, score, false);
            double cactor;
            printf("clean set: %zu files from %s\n", clean_n, cdir);
            double cacc = nn_accuracy(files, n, score, "runtime and clean set discounted", &cactor);
            /* The measure: with scripts/clean.tsv's 67 files it is 135/141 (95.7%).
             * Discounting exact hashes only gave 127, near-identical functions too 132, and
             * neutral hashes (strain_gene.neutral, in the discount and as pairs in
             * strain_compare) 135: an x86 build's nearest neighbour became its x64 sibling.
             * The misses left are printed: a fork, sibling projects of one toolchain build. */
            assert_true(cacc >= 0.95);
            /* The genome's second channel: the strings of the data sections, combined with the
             * code as hunting and clustering do (strain_comparison.combined_score). */
            score_all(ctx, d, n, score, true);
            nn_accuracy(files, n, score, "code and strings, runtime and clean set discounted",
                        &cactor);
        }
        for (size_t k = 0; k < clean_n; k++) {
            strain_genome_free(clean_g[k]);
        }
        free(clean_g);
    }
    printf("total %.1f s\n", now() - t0);
    /* Without the clean set (only code common to >= 3 families removed) sibling families of
     * one actor (bufferutil / utf-8-validate by the websockets maintainers, built the same
     * days with the same toolchain; classic-level, a fork of leveldown) share their runtime
     * code, so the family-level figure stays below 95%: the same-actor figure is asserted,
     * and the family-level one must not regress below its measured 87%. */
    assert_true(actor_acc >= 0.95);
    assert_true(acc >= 0.87);
    for (size_t i = 0; i < n; i++) {
        strain_genome_free(d[i]);
    }
    free(d);
    free(fam);
    strain_genome_free(clean);
    for (size_t i = 0; i < n; i++) {
        strain_genome_free(g[i]);
    }
    free(g);
    free(score);
    strain_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearest_neighbour_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
