/*
 * The VA map must answer exactly what the naive rule answers (first PT_LOAD segment, then
 * first section, then PE headers, each clipped to the file), on random overlapping layouts.
 */
#include <stdlib.h>
#include <string.h>

#include "format/binary_impl.h"
#include "helpers.h"

#define FILE_LEN 4096u

static bool naive(const strain_binary_info *i, size_t file_len, uint64_t va, uint64_t *off,
                  size_t *len)
{
    for (size_t k = 0; k < i->elf.n_segments + i->n_sections; k++) {
        uint64_t vaddr, flen, foff;
        if (k < i->elf.n_segments) {
            const strain_segment *g = &i->elf.segments[k];
            if (g->type != 1) {
                continue;
            }
            vaddr = g->vaddr, flen = g->filesz, foff = g->offset;
        } else {
            const strain_section *s = &i->sections[k - i->elf.n_segments];
            vaddr = s->vaddr, foff = s->raw_offset;
            flen = s->raw_size < s->vsize || s->vsize == 0 ? s->raw_size : s->vsize;
        }
        if (foff >= file_len) {
            continue;
        }
        if (flen > file_len - foff) {
            flen = file_len - foff;
        }
        if (va >= vaddr && va - vaddr < flen) {
            *off = foff + (va - vaddr);
            *len = (size_t)(flen - (va - vaddr));
            return true;
        }
    }
    return false;
}

static void test_random_layouts(void **state)
{
    (void)state;
    static uint8_t file[FILE_LEN];
    srand(1234);
    for (int round = 0; round < 300; round++) {
        strain_binary bin;
        memset(&bin, 0, sizeof(bin));
        bin.file = strain_span_make(file, FILE_LEN);
        strain_section secs[40];
        strain_segment segs[6];
        size_t ns = (size_t)(rand() % 40), ng = (size_t)(rand() % 6);
        for (size_t k = 0; k < ns; k++) {
            memset(&secs[k], 0, sizeof(secs[k]));
            secs[k].vaddr = 0x1000 + (uint64_t)(rand() % 0x3000);
            secs[k].vsize = (uint64_t)(rand() % 0x900);
            secs[k].raw_offset = (uint64_t)(rand() % (FILE_LEN + 512));
            secs[k].raw_size = (uint64_t)(rand() % 0x900);
        }
        for (size_t k = 0; k < ng; k++) {
            segs[k] = (strain_segment){.type = (uint32_t)(rand() % 2),
                                       .vaddr = 0x1000 + (uint64_t)(rand() % 0x3000),
                                       .filesz = (uint64_t)(rand() % 0x800),
                                       .offset = (uint64_t)(rand() % FILE_LEN)};
        }
        bin.info.sections = secs;
        bin.info.n_sections = ns;
        bin.info.elf.segments = segs;
        bin.info.elf.n_segments = ng;
        assert_int_equal(strain_vamap__build(&bin), 0);
        for (uint64_t va = 0xf00; va < 0x4a00; va += 7) {
            uint64_t o1 = 0, o2 = 0;
            size_t l1 = 0, l2 = 0;
            bool want = naive(&bin.info, FILE_LEN, va, &o1, &l1);
            int got = strain_vamap__lookup(&bin, va, &o2, &l2);
            assert_int_equal(got == 0, want);
            if (want) {
                assert_true(o1 == o2);
                assert_int_equal(l1, l2);
            }
        }
        strain_vamap__free(&bin);
    }
}

static void test_many_overlapping_sections(void **state)
{
    (void)state;
    /* 60,000 sections over one range: build stays O(n log n), lookups pick the first. */
    static uint8_t file[FILE_LEN];
    size_t n = 60000;
    strain_section *secs = calloc(n, sizeof(*secs));
    assert_non_null(secs);
    for (size_t k = 0; k < n; k++) {
        secs[k].vaddr = 0x1000 + k % 16;
        secs[k].vsize = 0x800;
        secs[k].raw_offset = k % 64;
        secs[k].raw_size = 0x800;
    }
    strain_binary bin;
    memset(&bin, 0, sizeof(bin));
    bin.file = strain_span_make(file, FILE_LEN);
    bin.info.sections = secs;
    bin.info.n_sections = n;
    assert_int_equal(strain_vamap__build(&bin), 0);
    uint64_t off;
    size_t len;
    assert_int_equal(strain_vamap__lookup(&bin, 0x1400, &off, &len), 0);
    assert_true(off == 0x400);
    /* only sections starting at 0x1006 or later reach 0x1805; the first is section 6 */
    assert_int_equal(strain_vamap__lookup(&bin, 0x1805, &off, &len), 0);
    assert_true(off == 6 + (0x1805 - 0x1006));
    assert_int_equal(strain_vamap__lookup(&bin, 0x3000, &off, &len), STRAIN_ENOTFOUND);
    strain_vamap__free(&bin);
    free(secs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_layouts),
        cmocka_unit_test(test_many_overlapping_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
