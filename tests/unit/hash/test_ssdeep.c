/*
 * ssdeep: strain's digest and score against the ssdeep CLI (Debian ssdeep 2.14.1), run at
 * test time on every public-corpus file and on a generated set (edge sizes, blocksize
 * boundaries, runs, patterns, mutated families). Scores are compared on every pair with
 * `ssdeep -a -k`, which prints all pairs, zeros included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/hash.h>

#include "hash_set.h"
#include "helpers.h"

static void need_cli(void)
{
    if (!th_have("ssdeep")) {
        fail_msg("ssdeep CLI not installed (scripts/deps.sh installs it)");
    }
}

/* Parses `ssdeep -s` output ('ssdeep,1.1--...' header lines, then 'digest,"name"'):
 * calls back with each digest and name (the name without quotes). */
typedef void (*row_fn)(const char *digest, const char *name, void *payload);

static size_t parse_rows(char *out, row_fn fn, void *payload)
{
    size_t n = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "ssdeep,", 7) == 0) {
            continue;
        }
        char *comma = strchr(line, ',');
        assert_non_null(comma);
        *comma = '\0';
        char *name = comma + 1;
        size_t nl = strlen(name);
        if (nl >= 2 && name[0] == '"' && name[nl - 1] == '"') {
            name[nl - 1] = '\0';
            name++;
        }
        fn(line, name, payload);
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct corpus_check {
    const th_corpus_file *files;
    size_t n;
    char (*ref)[STRAIN_SSDEEP_MAX]; /* CLI digest per corpus index */
    size_t seen;
} corpus_check;

static void corpus_row(const char *digest, const char *name, void *payload)
{
    corpus_check *c = payload;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->files[i].path, name) == 0) {
            snprintf(c->ref[i], STRAIN_SSDEEP_MAX, "%s", digest);
            c->seen++;
            return;
        }
    }
    fail_msg("ssdeep printed an unknown file %s", name);
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
    /* One CLI run over every file, through a list (paths may be long). */
    char list[600];
    snprintf(list, sizeof(list), "%s/ssdeep_corpus.lst", th_tmpdir());
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s%c", files[i].path, '\0');
    }
    fclose(f);
    char *out = NULL;
    assert_int_equal(th_run(&out, "xargs -0 ssdeep -s < '%s'", list), 0);
    corpus_check c = {files, n, calloc(n, STRAIN_SSDEEP_MAX), 0};
    assert_non_null(c.ref);
    parse_rows(out, corpus_row, &c);
    free(out);
    assert_int_equal(c.seen, n);

    /* Signature file of the CLI's digests under short names, for the score check. */
    char sig[600];
    snprintf(sig, sizeof(sig), "%s/corpus.sig", th_tmpdir());
    f = fopen(sig, "w");
    assert_non_null(f);
    fprintf(f, "ssdeep,1.1--blocksize:hash:hash,filename\n");
    size_t equal = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint8_t *data = th_read_file(files[i].path, &len);
        assert_non_null(data);
        char d[STRAIN_SSDEEP_MAX];
        assert_int_equal(strain_hash_ssdeep(d, data, len), 0);
        free(data);
        if (strcmp(d, c.ref[i]) != 0) {
            print_error("%s: strain %s, ssdeep %s\n", files[i].path, d, c.ref[i]);
        } else {
            equal++;
        }
        fprintf(f, "%s,\"c%zu\"\n", c.ref[i], i);
    }
    fclose(f);
    print_message("ssdeep: %zu/%zu corpus digests equal to the CLI's\n", equal, n);
    assert_int_equal(equal, n);

    /* Every pair's score (ssdeep -a prints zeros too). */
    out = NULL;
    assert_int_equal(th_run(&out, "ssdeep -s -a -k '%s' '%s'", sig, sig), 0);
    size_t pairs = 0, nonzero = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        size_t a, b;
        int score;
        const char *pa = strstr(line, ":c");
        assert_non_null(pa);
        const char *pb = strstr(pa + 2, ":c");
        assert_non_null(pb);
        const char *ps = strrchr(line, '(');
        assert_non_null(ps);
        assert_int_equal(sscanf(pa + 2, "%zu", &a), 1);
        assert_int_equal(sscanf(pb + 2, "%zu", &b), 1);
        assert_int_equal(sscanf(ps + 1, "%d", &score), 1);
        assert_true(a < n && b < n);
        int ours = strain_ssdeep_compare(c.ref[a], c.ref[b]);
        if (ours != score) {
            fail_msg("compare %s %s: strain %d, ssdeep %d", c.ref[a], c.ref[b], ours, score);
        }
        pairs++;
        nonzero += score > 0 && a != b;
    }
    free(out);
    print_message("ssdeep: %zu corpus pairs scored like the CLI (%zu non-zero)\n", pairs, nonzero);
    assert_int_equal(pairs, n * n);
    free(c.ref);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct gen_check {
    const hs_set *set;
    char (*ref)[STRAIN_SSDEEP_MAX];
    size_t seen;
} gen_check;

static void gen_row(const char *digest, const char *name, void *payload)
{
    gen_check *g = payload;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    long i = hs_find(g->set, base);
    if (i < 0) {
        fail_msg("ssdeep printed an unknown file %s", name);
    }
    snprintf(g->ref[i], STRAIN_SSDEEP_MAX, "%s", digest);
    g->seen++;
}

static void test_generated(void **state)
{
    (void)state;
    need_cli();
    hs_set *s = hs_build("ssdeep_gen");
    char *out = NULL;
    assert_int_equal(th_run(&out, "cd '%s' && ssdeep -s g*", s->dir), 0);
    gen_check g = {s, calloc(s->n, STRAIN_SSDEEP_MAX), 0};
    assert_non_null(g.ref);
    parse_rows(out, gen_row, &g);
    free(out);
    assert_int_equal(g.seen, s->n);

    size_t equal = 0, retried = 0, full = 0;
    for (size_t i = 0; i < s->n; i++) {
        char d[STRAIN_SSDEEP_MAX];
        assert_int_equal(strain_hash_ssdeep(d, s->f[i].data, s->f[i].len), 0);
        if (strcmp(d, g.ref[i]) != 0) {
            print_error("%s (%zu bytes): strain %s, ssdeep %s\n", s->f[i].name, s->f[i].len, d,
                        g.ref[i]);
        } else {
            equal++;
        }
        /* Coverage of the interesting paths, judged on the CLI's digest: a blocksize below
         * the size's first guess (the halving loop ran) and a full 64-character string. */
        unsigned long bs = strtoul(g.ref[i], NULL, 10);
        if ((unsigned long long)bs * 64 < s->f[i].len) {
            retried++;
        }
        const char *h1 = strchr(g.ref[i], ':') + 1;
        if (strchr(h1, ':') - h1 == 64) {
            full++;
        }
    }
    print_message("ssdeep: %zu/%zu generated digests equal (%zu with a halved blocksize, %zu "
                  "with a full first string)\n",
                  equal, s->n, retried, full);
    assert_int_equal(equal, s->n);
    assert_true(retried > 10);
    assert_true(full > 10);

    /* Scores over every pair of the generated set. */
    char sig[600];
    snprintf(sig, sizeof(sig), "%s/gen.sig", th_tmpdir());
    FILE *f = fopen(sig, "w");
    assert_non_null(f);
    fprintf(f, "ssdeep,1.1--blocksize:hash:hash,filename\n");
    for (size_t i = 0; i < s->n; i++) {
        fprintf(f, "%s,\"%s\"\n", g.ref[i], s->f[i].name);
    }
    fclose(f);
    out = NULL;
    assert_int_equal(th_run(&out, "ssdeep -s -a -k '%s' '%s'", sig, sig), 0);
    size_t pairs = 0, mid = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char na[16], nb[16];
        int score;
        const char *pa = strstr(line, ":g");
        assert_non_null(pa);
        const char *pb = strstr(pa + 2, ":g");
        assert_non_null(pb);
        assert_int_equal(sscanf(pa + 1, "%15[g0-9]", na), 1);
        assert_int_equal(sscanf(pb + 1, "%15[g0-9]", nb), 1);
        assert_int_equal(sscanf(strrchr(line, '(') + 1, "%d", &score), 1);
        long a = hs_find(s, na), b = hs_find(s, nb);
        assert_true(a >= 0 && b >= 0);
        int ours = strain_ssdeep_compare(g.ref[a], g.ref[b]);
        if (ours != score) {
            fail_msg("compare %s %s: strain %d, ssdeep %d", g.ref[a], g.ref[b], ours, score);
        }
        pairs++;
        mid += score > 0 && score < 100;
    }
    free(out);
    print_message("ssdeep: %zu generated pairs scored like the CLI (%zu strictly between 0 and "
                  "100)\n",
                  pairs, mid);
    assert_int_equal(pairs, s->n * s->n);
    assert_true(mid > 100);

    /* `ssdeep -a -d` (hash the files, compare each with the ones before) over the last
     * families, against strain's own digests of the same bytes. */
    char names[2048] = "";
    size_t first = s->n - 24;
    for (size_t i = first; i < s->n; i++) {
        strcat(names, s->f[i].name);
        strcat(names, " ");
    }
    out = NULL;
    assert_int_equal(th_run(&out, "cd '%s' && ssdeep -a -d %s", s->dir, names), 0);
    size_t dpairs = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        /* "/dir/gA matches /dir/gB (score)" */
        char na[16], nb[16];
        int score;
        char *sep = strstr(line, " matches ");
        assert_non_null(sep);
        *sep = '\0';
        const char *pa = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
        const char *pb = sep + 9;
        pb = strrchr(pb, '/') ? strrchr(pb, '/') + 1 : pb;
        assert_int_equal(sscanf(pa, "%15[g0-9]", na), 1);
        assert_int_equal(sscanf(pb, "%15[g0-9]", nb), 1);
        assert_int_equal(sscanf(strrchr(pb, '(') + 1, "%d", &score), 1);
        long a = hs_find(s, na), b = hs_find(s, nb);
        assert_true(a >= 0 && b >= 0);
        char da[STRAIN_SSDEEP_MAX], db[STRAIN_SSDEEP_MAX];
        assert_int_equal(strain_hash_ssdeep(da, s->f[a].data, s->f[a].len), 0);
        assert_int_equal(strain_hash_ssdeep(db, s->f[b].data, s->f[b].len), 0);
        assert_int_equal(strain_ssdeep_compare(da, db), score);
        dpairs++;
    }
    free(out);
    assert_int_equal(dpairs, 24 * 23 / 2);
    free(g.ref);
    hs_free(s);
}

/* The CLI prints the digest without squeezing runs; comparisons squeeze them (run of 'd'). */
static void test_runs_are_printed(void **state)
{
    (void)state;
    need_cli();
    uint8_t buf[5000];
    memset(buf, 'd', sizeof(buf));
    char path[600];
    snprintf(path, sizeof(path), "%s/run_d", th_tmpdir());
    assert_int_equal(th_write_file(path, buf, sizeof(buf)), 0);
    char *out = NULL;
    assert_int_equal(th_run(&out, "ssdeep -s -b '%s' | tail -n 1 | cut -d, -f1", path), 0);
    out[strcspn(out, "\n")] = '\0';
    char d[STRAIN_SSDEEP_MAX];
    assert_int_equal(strain_hash_ssdeep(d, buf, sizeof(buf)), 0);
    assert_string_equal(d, out);
    assert_non_null(strstr(d, "BBBB")); /* the run is there, unsqueezed */
    free(out);
}

/* Digests come from outside: malformed ones are refused, never read past. */
static void test_malformed(void **state)
{
    (void)state;
    const char *good = "3:uG:uG";
    static const char *bad[] = {
        "",           ":",          "3",
        "3:",         "3:abc",      "x:abc:def",
        "-3:abc:def", " 3:abc:def", "99999999999999999999999:abc:def",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(strain_ssdeep_compare(bad[i], good) < 0);
        assert_true(strain_ssdeep_compare(good, bad[i]) < 0);
    }
    /* A string of 65 characters is longer than any digest has. */
    char longer[80];
    memset(longer, 'A', sizeof(longer));
    memcpy(longer, "3:", 2);
    memcpy(longer + 67, ":x", 3);
    assert_true(strain_ssdeep_compare(longer, good) < 0);
    memcpy(longer, "3:x:", 4);
    longer[69] = '\0';
    assert_true(strain_ssdeep_compare(longer, good) < 0);
    assert_true(strain_ssdeep_compare(NULL, good) < 0);
    /* Blocksizes that are not equal nor a factor 2 apart cannot be compared: 0, not an error
     * (as fuzzy_compare). */
    assert_int_equal(strain_ssdeep_compare("3:abcdefgh:abcdefgh", "12:abcdefgh:abcdefgh"), 0);
    /* A file name after a comma is ignored, as in signature files. */
    assert_int_equal(strain_ssdeep_compare("3:abcdefgh:ijklmnop,\"x\"", "3:abcdefgh:ijklmnop"),
                     100);
    char d[STRAIN_SSDEEP_MAX];
    assert_true(strain_hash_ssdeep(NULL, "x", 1) < 0);
    assert_true(strain_hash_ssdeep(d, NULL, 1) < 0);
    /* Past the largest blocksize * 64 (3 * 2^30 * 64): refused before a byte is read. */
    assert_int_equal(strain_hash_ssdeep(d, "x", ((size_t)3 << 36) + 1), STRAIN_ELIMIT);
    assert_int_equal(strain_hash_ssdeep(d, NULL, 0), 0);
    assert_string_equal(d, "3::");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_runs_are_printed),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
