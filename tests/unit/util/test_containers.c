/* Arena, buffer and vector: growth, zeroing, overflow refusal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/vec.h"

static void test_arena(void **state)
{
    (void)state;
    strain_arena a = {0};
    char *s = strain_arena_strdup(&a, "kernel32.dll");
    assert_string_equal(s, "kernel32.dll");
    for (int i = 0; i < 10000; i++) {
        uint32_t *p = strain_arena_array(&a, 7, sizeof(uint32_t));
        assert_non_null(p);
        assert_int_equal(p[6], 0);
        p[6] = 1;
    }
    void *big = strain_arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    assert_null(strain_arena_array(&a, SIZE_MAX / 2, 4));
    char *f = strain_arena_printf(&a, "%s.%d", "ord", 42);
    assert_string_equal(f, "ord.42");
    assert_string_equal(s, "kernel32.dll");
    strain_arena_release(&a);
}

static void test_buf(void **state)
{
    (void)state;
    strain_buf b = STRAIN_BUF_INIT;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(strain_buf_printf(&b, "%d,", i % 10), 0);
    }
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.ptr[b.len], '\0');
    assert_int_equal(strncmp(b.ptr, "0,1,2,", 6), 0);
    char *d = strain_buf_detach(&b);
    assert_null(b.ptr);
    free(d);
    strain_buf_free(&b);
}

static void test_vec(void **state)
{
    (void)state;
    strain_vec v = STRAIN_VEC_INIT(uint64_t);
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t *slot = strain_vec_push(&v);
        assert_non_null(slot);
        assert_true(*slot == 0);
        *slot = i * 3;
    }
    assert_int_equal(v.len, 5000);
    assert_true(*STRAIN_VEC_AT(&v, uint64_t, 4999) == 4999 * 3);
    strain_vec_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_vec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
