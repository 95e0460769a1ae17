/*
 * md5/sha1/sha256 against coreutils' md5sum/sha1sum/sha256sum (one run each over every
 * public-corpus file and a few generated sizes) and against the manifest's sha256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/hash.h>

#include "hash_inputs.h"
#include "helpers.h"

typedef int (*digest_fn)(char *out, const void *data, size_t size);

typedef struct algo {
    const char *tool;
    digest_fn fn;
    size_t hex;
} algo;

static const algo algos[] = {
    {"md5sum", strain_hash_md5, STRAIN_MD5_HEX - 1},
    {"sha1sum", strain_hash_sha1, STRAIN_SHA1_HEX - 1},
    {"sha256sum", strain_hash_sha256, STRAIN_SHA256_HEX - 1},
};

/* Runs `tool` over the NUL-separated list and checks each line "hex  path" against fn on
 * the file's bytes. Returns the number of files checked. */
static size_t check_tool(const algo *a, const char *list, size_t expect)
{
    char *out = NULL;
    assert_int_equal(th_run(&out, "xargs -0 %s < '%s'", a->tool, list), 0);
    size_t n = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        assert_true(strlen(line) > a->hex + 2);
        const char *path = line + a->hex + 2;
        size_t len = 0;
        uint8_t *data = th_read_file(path, &len);
        assert_non_null(data);
        char d[STRAIN_SHA256_HEX];
        assert_int_equal(a->fn(d, data, len), 0);
        free(data);
        if (strncmp(d, line, a->hex) != 0 || strlen(d) != a->hex) {
            fail_msg("%s %s: strain %s, tool %.*s", a->tool, path, d, (int)a->hex, line);
        }
        n++;
    }
    free(out);
    assert_int_equal(n, expect);
    return n;
}

static void test_corpus(void **state)
{
    (void)state;
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    char list[600];
    snprintf(list, sizeof(list), "%s/digest_corpus.lst", th_tmpdir());
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s%c", files[i].path, '\0');
    }
    fclose(f);
    for (size_t k = 0; k < sizeof(algos) / sizeof(algos[0]); k++) {
        check_tool(&algos[k], list, n);
    }
    /* And the sha256 the manifest was built with. */
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint8_t *data = th_read_file(files[i].path, &len);
        assert_non_null(data);
        char d[STRAIN_SHA256_HEX];
        assert_int_equal(strain_hash_sha256(d, data, len), 0);
        free(data);
        assert_string_equal(d, files[i].sha256);
    }
    print_message("digest: md5/sha1/sha256 of %zu corpus files equal to coreutils'\n", n);
}

static void test_generated(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 65537};
    char list[600];
    snprintf(list, sizeof(list), "%s/digest_gen.lst", th_tmpdir());
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    uint8_t *buf = malloc(65537);
    assert_non_null(buf);
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    for (size_t i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/digest_%zu", th_tmpdir(), sizes[i]);
        hi_fill(buf, sizes[i], HI_RANDOM, 77 + i);
        assert_int_equal(th_write_file(path, buf, sizes[i]), 0);
        fprintf(f, "%s%c", path, '\0');
    }
    fclose(f);
    free(buf);
    for (size_t k = 0; k < sizeof(algos) / sizeof(algos[0]); k++) {
        check_tool(&algos[k], list, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
