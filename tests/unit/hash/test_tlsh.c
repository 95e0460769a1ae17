/*
 * TLSH: strain's digest and distance against the tlsh CLI (Debian tlsh 3.4.4, 128 buckets,
 * 1-byte checksum; it prints the 70 hex digits that strain prints after "T1"), run at test
 * time on every public-corpus file and on a generated set, distances on every pair
 * (`tlsh -xref -r DIR`, length difference counted as by default) and through `tlsh -c A -f B`.
 *
 * 3.4.4 refuses inputs under 256 bytes; there strain follows TLSH 4.x (minimum 50 bytes),
 * checked against tlsh4_small.tsv: digests printed by the TLSH 4.12.1 reference built from
 * its source, over inputs this test regenerates (hash_inputs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/hash.h>

#include "hash_set.h"
#include "helpers.h"

#define CLI_HEX 70

static void need_cli(void)
{
    if (!th_have("tlsh")) {
        fail_msg("tlsh CLI not installed (scripts/deps.sh installs it)");
    }
}

/* One row of `tlsh -r` output: "DIGEST\tpath" or "file PATH: reason". */
typedef struct tl_row {
    char path[1100];
    char digest[CLI_HEX + 1]; /* "" when the tool gave none */
    char reason[64];
} tl_row;

static size_t parse_r(tl_row **out, char *text)
{
    size_t n = 0, cap = 64;
    tl_row *rows = malloc(cap * sizeof(*rows));
    assert_non_null(rows);
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof(*rows));
            assert_non_null(rows);
        }
        tl_row *r = &rows[n];
        memset(r, 0, sizeof(*r));
        char *tab = strchr(line, '\t');
        if (tab != NULL && tab - line == CLI_HEX) {
            memcpy(r->digest, line, CLI_HEX);
            snprintf(r->path, sizeof(r->path), "%s", tab + 1);
        } else if (strncmp(line, "file ", 5) == 0 && strrchr(line, ':') != NULL) {
            char *colon = strrchr(line, ':');
            *colon = '\0';
            snprintf(r->path, sizeof(r->path), "%s", line + 5);
            snprintf(r->reason, sizeof(r->reason), "%s", colon + 2);
        } else {
            fail_msg("unexpected tlsh output: %s", line);
        }
        n++;
    }
    *out = rows;
    return n;
}

static const tl_row *find_row(const tl_row *rows, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].path, path) == 0) {
            return &rows[i];
        }
    }
    return NULL;
}

/*
 * `tlsh -xref -r DIR`: "pathA\tpathB\tdistance" for every pair that has digests. Checks each
 * against strain_tlsh_diff over the CLI's digests, in both the T1 and the bare form.
 */
static size_t check_xref(const char *dir, const tl_row *rows, size_t n)
{
    char *out = NULL;
    assert_int_equal(th_run(&out, "tlsh -xref -r '%s' 2>/dev/null", dir), 0);
    size_t pairs = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *t1 = strchr(line, '\t');
        assert_non_null(t1);
        char *t2 = strchr(t1 + 1, '\t');
        assert_non_null(t2);
        *t1 = '\0';
        *t2 = '\0';
        const tl_row *a = find_row(rows, n, line), *b = find_row(rows, n, t1 + 1);
        assert_true(a != NULL && b != NULL);
        int dist = atoi(t2 + 1);
        char ta[80], tb[80];
        snprintf(ta, sizeof(ta), "T1%s", a->digest);
        snprintf(tb, sizeof(tb), "T1%s", b->digest);
        int ours = strain_tlsh_diff(ta, tb);
        if (ours != dist) {
            fail_msg("diff %s %s: strain %d, tlsh %d", ta, tb, ours, dist);
        }
        assert_int_equal(strain_tlsh_diff(a->digest, b->digest), dist);
        assert_int_equal(strain_tlsh_diff(tb, ta), dist);
        pairs++;
    }
    free(out);
    return pairs;
}

static void test_corpus(void **state)
{
    (void)state;
    need_cli();
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    const char *dir = getenv("STRAIN_CORPUS_DIR");
    char *out = NULL;
    assert_int_equal(th_run(&out, "tlsh -r '%s' 2>&1", dir), 0);
    tl_row *rows = NULL;
    size_t nrows = parse_r(&rows, out);
    free(out);
    size_t equal = 0;
    for (size_t i = 0; i < n; i++) {
        const tl_row *r = find_row(rows, nrows, files[i].path);
        assert_non_null(r);
        assert_true(r->digest[0] != '\0');
        size_t len = 0;
        uint8_t *data = th_read_file(files[i].path, &len);
        assert_non_null(data);
        char d[STRAIN_TLSH_MAX];
        assert_int_equal(strain_hash_tlsh(d, data, len), 0);
        free(data);
        if (strncmp(d, "T1", 2) != 0 || strcmp(d + 2, r->digest) != 0) {
            print_error("%s: strain %s, tlsh %s\n", files[i].path, d, r->digest);
        } else {
            equal++;
        }
    }
    print_message("tlsh: %zu/%zu corpus digests equal to the CLI's\n", equal, n);
    assert_int_equal(equal, n);
    size_t hashed = 0;
    for (size_t i = 0; i < nrows; i++) {
        hashed += rows[i].digest[0] != '\0';
    }
    size_t pairs = check_xref(dir, rows, nrows);
    print_message("tlsh: %zu corpus pairs at the CLI's distance\n", pairs);
    assert_int_equal(pairs, hashed * (hashed - 1) / 2);
    free(rows);
}

static void test_generated(void **state)
{
    (void)state;
    need_cli();
    hs_set *s = hs_build("tlsh_gen");
    char *out = NULL;
    assert_int_equal(th_run(&out, "tlsh -r '%s' 2>&1", s->dir), 0);
    tl_row *rows = NULL;
    size_t nrows = parse_r(&rows, out);
    free(out);
    size_t equal = 0, refused = 0, small = 0;
    for (size_t i = 0; i < s->n; i++) {
        char path[700];
        snprintf(path, sizeof(path), "%s/%s", s->dir, s->f[i].name);
        const tl_row *r = find_row(rows, nrows, path);
        assert_non_null(r);
        char d[STRAIN_TLSH_MAX];
        assert_int_equal(strain_hash_tlsh(d, s->f[i].data, s->f[i].len), 0);
        if (s->f[i].len < 256) {
            /* 3.4.4's own limit; what strain does there is checked in test_small_4x. */
            assert_string_equal(r->reason, "file too small");
            if (s->f[i].len < 50) {
                assert_string_equal(d, "TNULL");
            }
            small++;
            continue;
        }
        if (r->digest[0] == '\0') {
            /* The tool refuses inputs with too little variety: strain says TNULL. */
            assert_string_equal(r->reason, "cannot hash");
            assert_string_equal(d, "TNULL");
            refused++;
            continue;
        }
        if (strncmp(d, "T1", 2) != 0 || strcmp(d + 2, r->digest) != 0) {
            print_error("%s (%zu bytes): strain %s, tlsh %s\n", s->f[i].name, s->f[i].len, d,
                        r->digest);
        } else {
            equal++;
        }
    }
    print_message("tlsh: %zu generated digests equal, %zu refused by both, %zu under 256 "
                  "bytes\n",
                  equal, refused, small);
    assert_int_equal(equal + refused + small, s->n);
    assert_true(refused > 10);

    size_t hashed = 0;
    for (size_t i = 0; i < nrows; i++) {
        hashed += rows[i].digest[0] != '\0';
    }
    size_t pairs = check_xref(s->dir, rows, nrows);
    print_message("tlsh: %zu generated pairs at the CLI's distance\n", pairs);
    assert_int_equal(pairs, hashed * (hashed - 1) / 2);

    /* The exact command form analysts use: tlsh -c FILE -f FILE2, on family members. */
    size_t checked = 0;
    for (size_t i = s->n - 12; i + 1 < s->n; i++) {
        char pa[700], pb[700];
        snprintf(pa, sizeof(pa), "%s/%s", s->dir, s->f[i].name);
        snprintf(pb, sizeof(pb), "%s/%s", s->dir, s->f[i + 1].name);
        out = NULL;
        assert_int_equal(th_run(&out, "tlsh -c '%s' -f '%s'", pa, pb), 0);
        char da[STRAIN_TLSH_MAX], db[STRAIN_TLSH_MAX];
        assert_int_equal(strain_hash_tlsh(da, s->f[i].data, s->f[i].len), 0);
        assert_int_equal(strain_hash_tlsh(db, s->f[i + 1].data, s->f[i + 1].len), 0);
        assert_int_equal(strain_tlsh_diff(da, db), atoi(out));
        free(out);
        checked++;
    }
    assert_int_equal(checked, 11);
    free(rows);
    hs_free(s);
}

/* 50..255 bytes (and a few around): TLSH 4.12.1's digests, recorded in tlsh4_small.tsv. */
static void test_small_4x(void **state)
{
    (void)state;
    const char *src = getenv("STRAIN_SOURCE_DIR");
    assert_non_null(src);
    char path[600];
    snprintf(path, sizeof(path), "%s/tests/unit/hash/tlsh4_small.tsv", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    size_t rows = 0, equal = 0, nulls = 0;
    uint8_t buf[300];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#') {
            continue;
        }
        size_t size;
        int kind;
        unsigned long long seed;
        char want[80];
        assert_int_equal(sscanf(line, "%zu\t%d\t%llu\t%79s", &size, &kind, &seed, want), 4);
        assert_true(size <= sizeof(buf));
        hi_fill(buf, size, kind, seed);
        char d[STRAIN_TLSH_MAX];
        assert_int_equal(strain_hash_tlsh(d, buf, size), 0);
        if (strcmp(d, want) != 0) {
            print_error("size %zu kind %d seed %llu: strain %s, TLSH 4.12.1 %s\n", size, kind, seed,
                        d, want);
        } else {
            equal++;
        }
        nulls += strcmp(want, "TNULL") == 0;
        rows++;
    }
    fclose(f);
    print_message("tlsh: %zu/%zu small inputs equal to TLSH 4.12.1 (%zu TNULL)\n", equal, rows,
                  nulls);
    assert_int_equal(equal, rows);
    assert_true(rows > 800);
}

/*
 * The length code steps at these sizes (the limits TLSH 4.x tabulates; 3.4.4 computes them
 * with logf): one byte either side of every step from 256 bytes to 1 MB, against the CLI.
 */
static void test_length_steps(void **state)
{
    (void)state;
    need_cli();
    static const size_t steps[] = {
        291,    437,    656,    854,    1110,   1443,   1876,   2439,   3171,   3475,
        3823,   4205,   4626,   5088,   5597,   6157,   6772,   7450,   8195,   9014,
        9916,   10907,  11998,  13198,  14518,  15970,  17567,  19323,  21256,  23382,
        25720,  28292,  31121,  34233,  37656,  41422,  45564,  50121,  55133,  60646,
        66711,  73382,  80721,  88793,  97672,  107439, 118183, 130002, 143002, 157302,
        173032, 190335, 209369, 230306, 253337, 278670, 306538, 337191, 370911, 408002,
        448802, 493682, 543050, 597356, 657091, 722800, 795081, 874589, 962048, 1058252,
    };
    hs_set *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    snprintf(s->dir, sizeof(s->dir), "%s/tlsh_len", th_tmpdir());
    char *out = NULL;
    assert_int_equal(th_run(&out, "mkdir -p '%s'", s->dir), 0);
    free(out);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        hs_add_gen(s, steps[i], HI_RANDOM, 6000 + i);
        hs_add_gen(s, steps[i] + 1, HI_RANDOM, 7000 + i);
    }
    out = NULL;
    assert_int_equal(th_run(&out, "tlsh -r '%s' 2>&1", s->dir), 0);
    tl_row *rows = NULL;
    size_t nrows = parse_r(&rows, out);
    free(out);
    assert_int_equal(nrows, s->n);
    for (size_t i = 0; i < s->n; i++) {
        char path[700];
        snprintf(path, sizeof(path), "%s/%s", s->dir, s->f[i].name);
        const tl_row *r = find_row(rows, nrows, path);
        assert_non_null(r);
        assert_true(r->digest[0] != '\0');
        char d[STRAIN_TLSH_MAX];
        assert_int_equal(strain_hash_tlsh(d, s->f[i].data, s->f[i].len), 0);
        if (strncmp(d, "T1", 2) != 0 || strcmp(d + 2, r->digest) != 0) {
            fail_msg("%zu bytes: strain %s, tlsh %s", s->f[i].len, d, r->digest);
        }
    }
    print_message("tlsh: %zu inputs either side of every length step equal\n", s->n);
    free(rows);
    hs_free(s);
}

static void test_malformed(void **state)
{
    (void)state;
    char good[STRAIN_TLSH_MAX];
    uint8_t buf[1000];
    hi_fill(buf, sizeof(buf), HI_RANDOM, 1);
    assert_int_equal(strain_hash_tlsh(good, buf, sizeof(buf)), 0);
    assert_int_equal(strain_tlsh_diff(good, good), 0);
    char bad[100];
    static const char *fixed[] = {"", "T", "T1", "TNULL", "T2", "T1G"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        assert_true(strain_tlsh_diff(fixed[i], good) < 0);
        assert_true(strain_tlsh_diff(good, fixed[i]) < 0);
    }
    /* Truncated, extended, one bad digit anywhere. */
    snprintf(bad, sizeof(bad), "%s", good);
    bad[71] = '\0';
    assert_true(strain_tlsh_diff(bad, good) < 0);
    snprintf(bad, sizeof(bad), "%s0", good);
    assert_true(strain_tlsh_diff(bad, good) < 0);
    for (size_t i = 2; i < 72; i++) {
        snprintf(bad, sizeof(bad), "%s", good);
        bad[i] = 'g';
        assert_true(strain_tlsh_diff(bad, good) < 0);
    }
    assert_true(strain_tlsh_diff(NULL, good) < 0);
    /* Lowercase hex is read like uppercase (3.4.4 accepts it too). */
    snprintf(bad, sizeof(bad), "%s", good);
    for (size_t i = 2; i < 72; i++) {
        if (bad[i] >= 'A' && bad[i] <= 'F') {
            bad[i] = (char)(bad[i] - 'A' + 'a');
        }
    }
    assert_int_equal(strain_tlsh_diff(bad, good), 0);
    assert_true(strain_hash_tlsh(NULL, buf, 1) < 0);
    /* Past TLSH's 32-bit length: refused before a byte is read. */
    assert_int_equal(strain_hash_tlsh(good, buf, (size_t)UINT32_MAX + 1), STRAIN_ELIMIT);
    assert_string_equal(good, "TNULL");
    assert_int_equal(strain_hash_tlsh(good, NULL, 0), 0);
    assert_string_equal(good, "TNULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),    cmocka_unit_test(test_generated),
        cmocka_unit_test(test_small_4x),  cmocka_unit_test(test_length_steps),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
