/*
 * Robustness of genotypes: the same source rebuilt with a function added, functions
 * reordered, a different image base, a constant changed (and all four at once) must compare
 * >= 80 with the original, for gcc (ELF x64) and mingw-w64 (PE x64 and x86) at -O0/-O2/-Os.
 * Unrelated programs from the same toolchain: the raw score is printed (the runtime library
 * is shared), and once the runtime is discounted (genome of an empty program of the same
 * toolchain, the attribution issue's clean set in miniature) it must be <= 10.
 */
#include "code_test_util.h"

typedef struct toolchain {
    const char *cc;
    const char *tag;
    const char *rebase;
    strain_format fmt;
    const char *ext; /* mingw appends .exe to an output name without one */
} toolchain;

static const toolchain chains[] = {
    {"gcc", "elf64", "-Wl,-Ttext-segment=0x10000000", STRAIN_FORMAT_ELF64, ""},
    {"x86_64-w64-mingw32-gcc", "pe64", "-Wl,--image-base=0x180000000", STRAIN_FORMAT_PE32PLUS,
     ".exe"},
    {"i686-w64-mingw32-gcc", "pe32", "-Wl,--image-base=0x10000000", STRAIN_FORMAT_PE32, ".exe"},
};

static const char *const opts[] = {"-O0", "-O2", "-Os"};

static const struct variant {
    const char *name;
    const char *defs;
    bool rebase;
} variants[] = {
    {"add", "-DADD_FUNC", false},
    {"reorder", "-DREORDER", false},
    {"const", "-DCONST2", false},
    {"rebase", "", true},
    {"all", "-DADD_FUNC -DREORDER -DCONST2", true},
};

/* Functions left after discounting each program by its const variant, over every build:
 * by exact hash alone, and with near-identical functions (test_near_discount). */
static size_t near_total[2];

static strain_genome *genome_of(strain_ctx *ctx, const char *path, strain_format want, bool *parsed)
{
    ct_file f;
    assert_int_equal(ct_load(&f, ctx, path, STRAIN_ARCH_UNKNOWN, 0, NULL), 0);
    *parsed = ct_parsed_as(&f, want, want);
    strain_genome *g = f.genome;
    f.genome = NULL;
    ct_free(&f);
    return g;
}

static void run_chain(const toolchain *tc)
{
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    for (int o = 0; o < 3; o++) {
        char name[128], flags[256];
        bool parsed;
        snprintf(name, sizeof(name), "%s%s_base%s", tc->tag, opts[o], tc->ext);
        const char *base_path = ct_build(name, tc->cc, opts[o], "prog.c");
        assert_non_null(base_path);
        strain_genome *base = genome_of(ctx, base_path, tc->fmt, &parsed);
        if (!parsed) {
            strain_genome_free(base);
            strain_ctx_free(ctx);
            skip(); /* the parser for this format is not in this tree yet */
        }
        for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
            snprintf(name, sizeof(name), "%s%s_%s%s", tc->tag, opts[o], variants[v].name, tc->ext);
            snprintf(flags, sizeof(flags), "%s %s %s", opts[o], variants[v].defs,
                     variants[v].rebase ? tc->rebase : "");
            const char *path = ct_build(name, tc->cc, flags, "prog.c");
            assert_non_null(path);
            strain_genome *g = genome_of(ctx, path, tc->fmt, &parsed);
            double s = ct_score(ctx, base, g);
            printf("%s %s %-8s compare %.1f\n", tc->tag, opts[o], variants[v].name, s);
            assert_true(s >= 80.0);
            /* Symmetric. */
            double r = ct_score(ctx, g, base);
            assert_true(r > s - 1e-9 && r < s + 1e-9);
            strain_genome_free(g);
        }
        /* Unrelated program, same toolchain and options. */
        snprintf(name, sizeof(name), "%s%s_other%s", tc->tag, opts[o], tc->ext);
        const char *other_path = ct_build(name, tc->cc, opts[o], "other.c");
        snprintf(name, sizeof(name), "%s%s_empty%s", tc->tag, opts[o], tc->ext);
        const char *empty_path = ct_build(name, tc->cc, opts[o], "empty.c");
        assert_non_null(other_path);
        assert_non_null(empty_path);
        strain_genome *other = genome_of(ctx, other_path, tc->fmt, &parsed);
        strain_genome *clean = genome_of(ctx, empty_path, tc->fmt, &parsed);
        strain_genome *base_d = NULL, *other_d = NULL;
        assert_int_equal(strain_genome_discount(&base_d, ctx, base, clean), 0);
        assert_int_equal(strain_genome_discount(&other_d, ctx, other, clean), 0);
        double raw = ct_score(ctx, base, other), disc = ct_score(ctx, base_d, other_d);
        printf("%s %s unrelated: raw %.1f, runtime discounted %.1f\n", tc->tag, opts[o], raw, disc);
        assert_true(disc <= 10.0);
        /* The CLI does the same: `strain compare --clean` gives the discounted score. */
        char *out = NULL;
        assert_int_equal(th_run(&out, "'%s' compare '%s' '%s' --clean '%s' 2>/dev/null",
                                getenv("STRAIN_BIN"), base_path, other_path, empty_path),
                         0);
        const char *line = strstr(out, "\nscore:");
        double cli = -1;
        assert_non_null(line);
        assert_int_equal(sscanf(line, "\nscore: %lf", &cli), 1);
        assert_true(cli > disc - 0.051 && cli < disc + 0.051); /* printed to 0.1 */
        free(out);
        /* Near-identical functions count as the clean copy: the same program with a constant
         * changed, as a clean genome, leaves nothing of the original, where exact hashes
         * alone leave the changed functions. */
        snprintf(name, sizeof(name), "%s%s_nearclean%s", tc->tag, opts[o], tc->ext);
        snprintf(flags, sizeof(flags), "%s -DCONST2", opts[o]);
        strain_genome *near =
            genome_of(ctx, ct_build(name, tc->cc, flags, "prog.c"), tc->fmt, &parsed);
        strain_genome *near_d = NULL;
        assert_int_equal(strain_genome_discount(&near_d, ctx, base, near), 0);
        size_t exact_left = 0;
        const strain_genome_info *bi = strain_genome_get_info(base);
        const strain_genome_info *ni = strain_genome_get_info(near);
        for (size_t i = 0; i < bi->n_genes; i++) {
            bool held = false;
            for (size_t k = 0; k < ni->n_genes && !held; k++) {
                held = ni->genes[k].exact == bi->genes[i].exact;
            }
            exact_left += !held && !(bi->genes[i].flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK));
        }
        size_t near_left = 0;
        const strain_genome_info *di = strain_genome_get_info(near_d);
        for (size_t i = 0; i < di->n_genes; i++) {
            near_left += !(di->genes[i].flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK));
        }
        printf("%s %s discounted by its const variant: %zu functions left by exact hash, %zu "
               "with near-identical ones\n",
               tc->tag, opts[o], exact_left, near_left);
        assert_true(near_left <= exact_left);
        near_total[0] += exact_left;
        near_total[1] += near_left;
        strain_genome_free(near_d);
        strain_genome_free(near);
        strain_genome_free(base_d);
        strain_genome_free(other_d);
        strain_genome_free(other);
        strain_genome_free(clean);
        strain_genome_free(base);
    }
    strain_ctx_free(ctx);
}

static void test_gcc_elf(void **state)
{
    (void)state;
    run_chain(&chains[0]);
}

static void test_mingw_x64(void **state)
{
    (void)state;
    run_chain(&chains[1]);
}

static void test_mingw_x86(void **state)
{
    (void)state;
    run_chain(&chains[2]);
}

/* One source built for x64 and for x86: no code hash survives the change of instruction set,
 * the neutral hashes (APIs, strings, constants) do. Both runtimes discounted, the same source
 * must score above an unrelated program of the other architecture, which stays <= 10. */
static void test_cross_arch(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    const toolchain *t64 = &chains[1], *t32 = &chains[2];
    for (int o = 0; o < 3; o++) {
        char name[128];
        bool parsed;
        strain_genome *g[6];
        const char *srcs[3] = {"prog.c", "other.c", "empty.c"};
        for (int k = 0; k < 6; k++) {
            const toolchain *tc = k < 3 ? t64 : t32;
            snprintf(name, sizeof(name), "%s%s_xa%d%s", tc->tag, opts[o], k, tc->ext);
            const char *path = ct_build(name, tc->cc, opts[o], srcs[k % 3]);
            assert_non_null(path);
            g[k] = genome_of(ctx, path, tc->fmt, &parsed);
            if (!parsed) {
                skip(); /* the PE parser is not in this tree yet */
            }
        }
        /* prog and other of each architecture, discounted by both empty programs. */
        strain_genome *d[4];
        const int from[4] = {0, 1, 3, 4};
        for (int k = 0; k < 4; k++) {
            strain_genome *tmp = NULL;
            assert_int_equal(strain_genome_discount(&tmp, ctx, g[from[k]], g[2]), 0);
            assert_int_equal(strain_genome_discount(&d[k], ctx, tmp, g[5]), 0);
            strain_genome_free(tmp);
        }
        double same = ct_score(ctx, d[0], d[2]), other = ct_score(ctx, d[0], d[3]);
        double other2 = ct_score(ctx, d[1], d[2]);
        printf("%s prog x64 vs x86: %.1f; unrelated x64 vs x86: %.1f and %.1f\n", opts[o], same,
               other, other2);
        assert_true(same > other && same > other2);
        assert_true(other <= 10.0 && other2 <= 10.0);
        /* What pairs them is said: some pairs are by neutral hash, at similarity 0.6. */
        strain_comparison *c = NULL;
        assert_int_equal(strain_compare(&c, ctx, d[0], d[2]), 0);
        size_t neutral = 0;
        for (size_t i = 0; i < c->n_matches; i++) {
            const strain_gene_match *m = &c->matches[i];
            assert_true(m->how == STRAIN_MATCH_EXACT || m->how == STRAIN_MATCH_SIMILAR ||
                        m->how == STRAIN_MATCH_NEUTRAL);
            if (m->how == STRAIN_MATCH_NEUTRAL) {
                neutral++;
                assert_true(m->similarity > 0.59 && m->similarity < 0.61);
                assert_string_equal(strain_match_name(m->how), "neutral");
            }
        }
        printf("%s prog x64 vs x86: %zu pairs, %zu by neutral hash\n", opts[o], c->n_matches,
               neutral);
        assert_true(neutral >= 1);
        strain_comparison_free(c);
        for (int k = 0; k < 4; k++) {
            strain_genome_free(d[k]);
        }
        for (int k = 0; k < 6; k++) {
            strain_genome_free(g[k]);
        }
    }
    strain_ctx_free(ctx);
}

/* After the three toolchains: near-identical matching removed more than exact hashes. */
static void test_near_discount(void **state)
{
    (void)state;
    printf("discounted by the const variants: %zu functions left by exact hash, %zu with "
           "near-identical ones\n",
           near_total[0], near_total[1]);
    if (near_total[0] == 0) {
        skip(); /* no toolchain ran */
    }
    assert_true(near_total[1] < near_total[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcc_elf),
        cmocka_unit_test(test_mingw_x64),
        cmocka_unit_test(test_mingw_x86),
        cmocka_unit_test(test_near_discount),
        cmocka_unit_test(test_cross_arch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
