/*
 * PE parser tests: every PE of the public corpus against python3-pefile (imphash, Rich hash,
 * section table, imports, delay imports, exports, PDB, TLS, version info, overlay,
 * certificate table), mingw-built fixtures for the features the corpus lacks, and hostile
 * inputs (truncations, corrupted header fields, random bytes) that must give warnings and
 * never crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe_golden.h"

static void test_corpus_golden(void **state)
{
    (void)state;
    const th_corpus_file *c;
    size_t n = th_corpus(&c);
    if (n == 0) {
        skip();
    }
    const char **paths = calloc(n, sizeof(char *));
    assert_non_null(paths);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(c[i].format, "pe32", 4) == 0) {
            paths[np++] = c[i].path;
        }
    }
    golden_stats st = golden_compare(paths, np);
    golden_print("corpus", &st);
    free(paths);
    assert_true(st.files > 100);
    assert_int_equal(st.equal, st.files);
}

static uint8_t *load_seed(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fuzz/corpus/pe/%s", getenv("STRAIN_SOURCE_DIR"), name);
    uint8_t *d = th_read_file(path, len);
    assert_non_null(d);
    return d;
}

/* Parses data and walks the whole result; returns the number of warnings. */
static size_t parse_walk(const uint8_t *data, size_t len, strain_format *fmt)
{
    strain_binary *bin = NULL;
    assert_int_equal(strain_binary_parse(&bin, NULL, data, len), 0);
    const strain_binary_info *i = strain_binary_get_info(bin);
    lines l = {0};
    if (i->format == STRAIN_FORMAT_PE32 || i->format == STRAIN_FORMAT_PE32PLUS) {
        strain_lines(&l, i);
    }
    lines_free(&l);
    for (size_t k = 0; k < i->n_warnings; k++) {
        assert_non_null(i->warnings[k]);
    }
    size_t n = i->n_warnings;
    if (fmt != NULL) {
        *fmt = i->format;
    }
    if (n > 0) {
        assert_true(i->partial);
    }
    strain_binary_free(bin);
    return n;
}

/* Every prefix of a real image: never a crash; a cut inside the image warns. */
static void test_truncation(void **state)
{
    (void)state;
    static const char *const seeds[] = {"mingw64_msgbox.exe", "mingw32_msgbox.exe"};
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t len;
        uint8_t *d = load_seed(seeds[s], &len);
        size_t silent_cuts = 0;
        for (size_t cut = 0; cut < len; cut += cut < 2048 ? 1 : 61) {
            uint8_t *copy = malloc(cut ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, d, cut);
            strain_format fmt;
            size_t w = parse_walk(copy, cut, &fmt);
            if (cut >= 2 && w == 0) {
                silent_cuts++;
            }
            free(copy);
        }
        /* MZ-prefixed cuts always say what is missing */
        assert_int_equal(silent_cuts, 0);
        free(d);
    }
}

/* Every header byte set to 0x00, 0xff and 0x7f in turn. */
static void test_header_corruption(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = load_seed("mingw64_msgbox.exe", &len);
    static const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80};
    for (size_t off = 0; off < 1024 && off < len; off++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t keep = d[off];
            d[off] = vals[v];
            parse_walk(d, len, NULL);
            d[off] = keep;
        }
    }
    free(d);
}

/* Random bytes behind a valid MZ/PE prefix, deterministic seed. */
static void test_random_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = load_seed("mingw32_msgbox.exe", &len);
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        uint8_t *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, d, len);
        size_t n = 1 + round % 64;
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % (round % 2 ? 1024 : len);
            x = x * 1103515245u + 12345u;
            copy[at] = (uint8_t)(x >> 16);
        }
        parse_walk(copy, len, NULL);
        free(copy);
    }
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_golden),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_header_corruption),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
