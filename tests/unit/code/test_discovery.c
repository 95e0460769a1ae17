/*
 * Function discovery against independent ground truth:
 *  - ELF (gcc -O0/-O2/-Os): FUNC symbols of the unstripped build inside .text (readelf)
 *    against the analysis of its stripped copy: recall >= 95%, precision >= 95%.
 *  - x64 PE (mingw-w64 -O0/-O2/-Os, and the corpus's PE32+ files): .pdata function starts
 *    (pefile) against the analysis with .pdata hidden: recall >= 98%.
 * Figures are printed; suites skip while the PE/ELF parsers are not in the tree.
 */
#include "code_test_util.h"

typedef struct addrs {
    uint64_t *v;
    size_t n;
    uint64_t lo, hi;
} addrs;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Runs a ground-truth script; with_range: first line is "lo hi". */
static addrs truth(const char *script, const char *path, bool with_range)
{
    addrs a = {NULL, 0, 0, UINT64_MAX};
    char *out = NULL;
    int rc = th_run(&out, "/usr/bin/python3 %s/%s %s", ct_fixtures(), script, path);
    assert_int_equal(rc, 0);
    size_t cap = 1024;
    a.v = malloc(cap * sizeof(uint64_t));
    char *p = out;
    if (with_range) {
        a.lo = strtoull(p, &p, 16);
        a.hi = strtoull(p, &p, 16);
    }
    for (;;) {
        char *e;
        uint64_t v = strtoull(p, &e, 16);
        if (e == p) {
            break;
        }
        p = e;
        if (a.n == cap) {
            cap *= 2;
            a.v = realloc(a.v, cap * sizeof(uint64_t));
        }
        a.v[a.n++] = v;
    }
    free(out);
    qsort(a.v, a.n, sizeof(uint64_t), cmp_u64);
    return a;
}

static bool has(const addrs *a, uint64_t x)
{
    return bsearch(&x, a->v, a->n, sizeof(uint64_t), cmp_u64) != NULL;
}

typedef struct score {
    size_t truth, found, hit;
} score;

static score measure(const addrs *t, const strain_genome_info *gi)
{
    score s = {t->n, 0, 0};
    for (size_t i = 0; i < gi->n_genes; i++) {
        uint64_t a = gi->genes[i].address;
        if (a < t->lo || a >= t->hi) {
            continue;
        }
        s.found++;
        s.hit += has(t, a);
    }
    return s;
}

static void test_elf_stripped(void **state)
{
    (void)state;
    static const char *const opts[] = {"-O0", "-O2", "-Os"};
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    for (int i = 0; i < 3; i++) {
        char name[64], flags[64];
        snprintf(name, sizeof(name), "prog_elf%s", opts[i]);
        snprintf(flags, sizeof(flags), "%s", opts[i]);
        const char *path = ct_build(name, "gcc", flags, "prog.c");
        assert_non_null(path);
        char stripped[1100];
        snprintf(stripped, sizeof(stripped), "%s.stripped", path);
        char *log = NULL;
        assert_int_equal(th_run(&log, "strip -o %s %s", stripped, path), 0);
        free(log);
        ct_file f;
        assert_int_equal(ct_load(&f, ctx, stripped, STRAIN_ARCH_UNKNOWN, 0, NULL), 0);
        if (!ct_parsed_as(&f, STRAIN_FORMAT_ELF64, STRAIN_FORMAT_ELF64)) {
            ct_free(&f);
            strain_ctx_free(ctx);
            skip(); /* ELF parser not in this tree yet */
        }
        addrs t = truth("elf_funcs.py", path, true);
        score s = measure(&t, strain_genome_get_info(f.genome));
        double recall = (double)s.hit / (double)s.truth;
        double precision = s.found ? (double)s.hit / (double)s.found : 0;
        printf("ELF gcc %s stripped: %zu symbols, %zu found in .text, recall %.3f, "
               "precision %.3f\n", opts[i], s.truth, s.found, recall, precision);
        assert_true(s.truth >= 40);
        assert_true(recall >= 0.95);
        assert_true(precision >= 0.95);
        free(t.v);
        ct_free(&f);
    }
    strain_ctx_free(ctx);
}

static void pe_recall(strain_ctx *ctx, const char *label, const char *path, size_t *tot_truth,
                      size_t *tot_hit, double floor)
{
    strain_code_options o = {.ignore_pdata = true};
    ct_file f;
    assert_int_equal(ct_load(&f, ctx, path, STRAIN_ARCH_UNKNOWN, 0, &o), 0);
    addrs t = truth("pdata_starts.py", path, false);
    score s = measure(&t, strain_genome_get_info(f.genome));
    double recall = t.n ? (double)s.hit / (double)t.n : 1.0;
    printf("PE %s: %zu .pdata starts, %zu functions found, recall %.3f\n", label, t.n, s.found,
           recall);
    *tot_truth += t.n;
    *tot_hit += s.hit;
    if (floor > 0) {
        assert_true(recall >= floor);
    }
    free(t.v);
    ct_free(&f);
}

static bool pe_parser_present(strain_ctx *ctx, const char *path)
{
    ct_file f;
    assert_int_equal(ct_load(&f, ctx, path, STRAIN_ARCH_UNKNOWN, 0, NULL), 0);
    bool ok = ct_parsed_as(&f, STRAIN_FORMAT_PE32PLUS, STRAIN_FORMAT_PE32);
    ct_free(&f);
    return ok;
}

static void test_pe_pdata_hidden(void **state)
{
    (void)state;
    static const char *const opts[] = {"-O0", "-O2", "-Os"};
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    size_t tt = 0, th = 0;
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "prog_pe64%s.exe", opts[i]);
        const char *path = ct_build(name, "x86_64-w64-mingw32-gcc", opts[i], "prog.c");
        assert_non_null(path);
        if (!pe_parser_present(ctx, path)) {
            strain_ctx_free(ctx);
            skip(); /* PE parser not in this tree yet */
        }
        char label[64];
        snprintf(label, sizeof(label), "mingw-w64 x64 %s", opts[i]);
        pe_recall(ctx, label, path, &tt, &th, 0.98);
    }
    printf("PE fixtures: recall %.3f over %zu functions\n", (double)th / (double)tt, tt);
    strain_ctx_free(ctx);
}

static void test_pe_pdata_corpus(void **state)
{
    (void)state;
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    size_t tt = 0, th = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(files[i].format, "pe32+") != 0) {
            continue;
        }
        if (used == 0 && !pe_parser_present(ctx, files[i].path)) {
            strain_ctx_free(ctx);
            skip();
        }
        /* One file per family keeps the suite fast; every family is covered. */
        bool dup = false;
        for (size_t j = 0; j < i; j++) {
            dup |= strcmp(files[j].family, files[i].family) == 0 &&
                   strcmp(files[j].format, "pe32+") == 0;
        }
        if (dup) {
            continue;
        }
        char label[160];
        snprintf(label, sizeof(label), "corpus %s %s", files[i].family, files[i].version);
        pe_recall(ctx, label, files[i].path, &tt, &th, 0);
        used++;
    }
    double recall = tt ? (double)th / (double)tt : 0;
    printf("PE corpus (%zu files, one per family): recall %.3f over %zu .pdata functions\n", used,
           recall, tt);
    assert_true(recall >= 0.98);
    strain_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_stripped),
        cmocka_unit_test(test_pe_pdata_hidden),
        cmocka_unit_test(test_pe_pdata_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
