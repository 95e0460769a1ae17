/* Checked readers: every read past the end is refused, whatever the offset. */
#include <stdint.h>

#include "helpers.h"
#include "util/span.h"

static void test_reads_in_bounds(void **state)
{
    (void)state;
    const uint8_t b[] = {0x4d, 0x5a, 0x90, 0x00, 0x01, 0x02, 0x03, 0x04};
    strain_span s = strain_span_make(b, sizeof(b));
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    assert_true(strain_span_u16le(s, 0, &v16));
    assert_int_equal(v16, 0x5a4d);
    assert_true(strain_span_u32le(s, 4, &v32));
    assert_int_equal(v32, 0x04030201);
    assert_true(strain_span_u32be(s, 4, &v32));
    assert_int_equal(v32, 0x01020304);
    assert_true(strain_span_u64le(s, 0, &v64));
    assert_true(v64 == 0x0403020100905a4dull);
}

static void test_reads_out_of_bounds(void **state)
{
    (void)state;
    const uint8_t b[4] = {1, 2, 3, 4};
    strain_span s = strain_span_make(b, sizeof(b));
    uint32_t v = 0xdeadbeef;
    uint16_t w;
    assert_false(strain_span_u32le(s, 1, &v));
    assert_int_equal(v, 0xdeadbeef);
    assert_false(strain_span_u16le(s, 3, &w));
    assert_false(strain_span_u16le(s, UINT64_MAX, &w));
    assert_false(strain_span_u32le(s, UINT64_MAX - 1, &v));
    assert_true(strain_span_has(s, 4, 0));
    assert_false(strain_span_has(s, 5, 0));
    strain_span sub;
    assert_false(strain_span_sub(s, 2, UINT64_MAX, &sub));
    assert_true(strain_span_sub(s, 1, 3, &sub));
    assert_int_equal(sub.len, 3);
}

static void test_checked_arith(void **state)
{
    (void)state;
    uint64_t r;
    assert_false(strain_add_u64(UINT64_MAX, 1, &r));
    assert_true(strain_add_u64(1, 2, &r));
    assert_int_equal(r, 3);
    assert_false(strain_mul_u64(UINT64_MAX / 2, 3, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_in_bounds),
        cmocka_unit_test(test_reads_out_of_bounds),
        cmocka_unit_test(test_checked_arith),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
