/*
 * String extraction: crafted buffers pin the rules (printable set, tab, minimum length,
 * UTF-16LE alignment, merge order, count cap), and corpus files are compared run for run with
 * GNU strings (`strings -a -t d -n N` for ASCII, `strings -el -t d -n N` for UTF-16LE), the
 * tool analysts check against.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/strings.h>

#include "helpers.h"

static strain_strings *extract(const void *data, size_t size, size_t min_len, bool ascii,
                               bool utf16)
{
    strain_strings *s = NULL;
    strain_strings_opts o = {.min_len = min_len, .no_ascii = !ascii, .no_utf16le = !utf16};
    assert_int_equal(strain_strings_extract(&s, NULL, data, size, &o), 0);
    assert_non_null(s);
    return s;
}

static void test_ascii_rules(void **state)
{
    (void)state;
    const char buf[] = "abc\tdef\x01ghij\x7fklmn\x80opq\0rstuvw";
    strain_strings *s = extract(buf, sizeof(buf) - 1, 4, true, false);
    assert_int_equal(strain_strings_count(s), 4);
    const strain_string *x = strain_strings_get(s, 0);
    assert_string_equal(x->text, "abc\tdef"); /* tab is printable for strings */
    assert_int_equal(x->offset, 0);
    assert_int_equal(x->len, 7);
    assert_int_equal(x->encoding, STRAIN_STRING_ASCII);
    assert_string_equal(strain_strings_get(s, 1)->text, "ghij");
    assert_int_equal(strain_strings_get(s, 1)->offset, 8);
    assert_string_equal(strain_strings_get(s, 2)->text, "klmn"); /* DEL ends a run */
    assert_string_equal(strain_strings_get(s, 3)->text, "rstuvw");
    assert_int_equal(strain_strings_get(s, 3)->offset, 22);
    assert_null(strain_strings_get(s, 4));
    assert_false(strain_strings_truncated(s));
    strain_strings_free(s);

    /* min length: runs of 3 dropped at 4, kept at 3; default is 4 */
    s = extract("ab\0abc\0abcd", 11, 0, true, false);
    assert_int_equal(strain_strings_count(s), 1);
    strain_strings_free(s);
    s = extract("ab\0abc\0abcd", 11, 3, true, false);
    assert_int_equal(strain_strings_count(s), 2);
    strain_strings_free(s);
    /* a run that reaches the end of the buffer */
    s = extract("\x01tail", 5, 4, true, false);
    assert_int_equal(strain_strings_count(s), 1);
    assert_string_equal(strain_strings_get(s, 0)->text, "tail");
    strain_strings_free(s);
    /* empty input */
    s = extract(NULL, 0, 4, true, true);
    assert_int_equal(strain_strings_count(s), 0);
    strain_strings_free(s);
}

static void test_utf16_rules(void **state)
{
    (void)state;
    /* odd offset, a failing unit (0x01 0x00), resume one byte into a failing unit (0x41 0x45) */
    const uint8_t buf[] = {'x', 'A', 0,   'B', 0,    'C', 0,   'D',  0,   0x01, 0x00, 'E',
                           0,   'F', 0,   'G', 0,    'H', 0,   0x41, 'I', 0,    'J',  0,
                           'K', 0,   'L', 0,   0xe9, 0,   'M', 0,    'N', 0,    'O',  0};
    strain_strings *s = extract(buf, sizeof(buf), 4, false, true);
    assert_int_equal(strain_strings_count(s), 3);
    assert_string_equal(strain_strings_get(s, 0)->text, "ABCD");
    assert_int_equal(strain_strings_get(s, 0)->offset, 1);
    assert_int_equal(strain_strings_get(s, 0)->encoding, STRAIN_STRING_UTF16LE);
    assert_string_equal(strain_strings_get(s, 1)->text, "EFGH");
    assert_int_equal(strain_strings_get(s, 1)->offset, 11);
    assert_string_equal(strain_strings_get(s, 2)->text, "IJKL"); /* 0xe9 (e-acute) is not kept */
    assert_int_equal(strain_strings_get(s, 2)->offset, 20);
    strain_strings_free(s);
    /* a lone trailing byte ends the run */
    const uint8_t t[] = {'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e'};
    s = extract(t, sizeof(t), 4, false, true);
    assert_int_equal(strain_strings_count(s), 1);
    assert_string_equal(strain_strings_get(s, 0)->text, "abcd");
    strain_strings_free(s);
}

static void test_merge_and_cap(void **state)
{
    (void)state;
    const uint8_t buf[] = {'h', 'e', 'l', 'l', 'o', 0, 0,   'w', 0,   'i', 0,
                           'd', 0,   'e', 0,   0,   0, 'a', 's', 'c', 'i', 'i'};
    strain_strings *s = extract(buf, sizeof(buf), 4, true, true);
    assert_int_equal(strain_strings_count(s), 3);
    assert_string_equal(strain_strings_get(s, 0)->text, "hello");
    assert_string_equal(strain_strings_get(s, 1)->text, "wide");
    assert_int_equal(strain_strings_get(s, 1)->encoding, STRAIN_STRING_UTF16LE);
    assert_string_equal(strain_strings_get(s, 2)->text, "ascii");
    strain_strings_free(s);

    strain_strings_opts o = {.min_len = 4, .max_count = 2};
    assert_int_equal(strain_strings_extract(&s, NULL, buf, sizeof(buf), &o), 0);
    assert_int_equal(strain_strings_count(s), 2);
    assert_true(strain_strings_truncated(s));
    assert_string_equal(strain_strings_get(s, 1)->text, "wide"); /* first two by offset */
    strain_strings_free(s);
    assert_int_equal(strain_strings_extract(NULL, NULL, buf, 1, NULL), STRAIN_EINVAL);
}

/* Compares our runs of one encoding with GNU strings' output for one file. */
static void compare_with_gnu(const char *path, size_t min_len, bool utf16)
{
    size_t len = 0;
    uint8_t *data = th_read_file(path, &len);
    assert_non_null(data);
    strain_strings *s = extract(data, len, min_len, !utf16, utf16);
    char *out = NULL;
    int rc =
        th_run(&out, "LC_ALL=C strings -a %s -t d -n %zu '%s'", utf16 ? "-el" : "", min_len, path);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    size_t i = 0;
    char *line = out;
    while (*line != '\0') {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        char *p = line;
        while (*p == ' ') {
            p++;
        }
        char *end = NULL;
        unsigned long long off = strtoull(p, &end, 10);
        assert_true(end != p && *end == ' ');
        const strain_string *x = strain_strings_get(s, i);
        if (x == NULL || x->offset != off || strcmp(x->text, end + 1) != 0) {
            fail_msg("%s (-n %zu%s): string %zu differs: strings has %llu '%s', we have %llu '%s'",
                     path, min_len, utf16 ? " -el" : "", i, off, end + 1,
                     x ? (unsigned long long)x->offset : 0ull, x ? x->text : "(none)");
        }
        i++;
        line = nl + 1;
    }
    assert_int_equal(i, strain_strings_count(s));
    free(out);
    strain_strings_free(s);
    free(data);
}

static void test_matches_gnu_strings(void **state)
{
    (void)state;
    const th_corpus_file *c = NULL;
    size_t n = th_corpus(&c);
    if (n == 0 || !th_have("strings")) {
        skip();
    }
    /* A spread of the corpus (PE32, PE32+, ELF; small to large) keeps the test quick. */
    size_t checked = 0;
    for (size_t i = 0; i < n; i += 4) {
        compare_with_gnu(c[i].path, 4, false);
        compare_with_gnu(c[i].path, 6, false);
        compare_with_gnu(c[i].path, 4, true);
        checked++;
    }
    assert_true(checked >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_rules),
        cmocka_unit_test(test_utf16_rules),
        cmocka_unit_test(test_merge_and_cap),
        cmocka_unit_test(test_matches_gnu_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
