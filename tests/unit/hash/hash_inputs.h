/*
 * Deterministic inputs shared by the ssdeep and TLSH tests: a fixed PRNG (splitmix64) and a
 * few shapes of data (random, zeros, short repeating patterns, text, few distinct bytes,
 * runs of one character, mutated copies). The same generator produced the TLSH 4.x golden
 * file tlsh4_small.tsv, so it must never change.
 */
#ifndef STRAIN_TEST_HASH_INPUTS_H
#define STRAIN_TEST_HASH_INPUTS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct hi_rng {
    uint64_t s;
} hi_rng;

static inline uint64_t hi_next(hi_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint32_t hi_below(hi_rng *r, uint32_t n)
{
    return (uint32_t)(hi_next(r) % n);
}

enum {
    HI_RANDOM = 0,
    HI_ZEROS = 1,
    HI_PATTERN = 2, /* a 1..13-byte random pattern repeated */
    HI_TEXT = 3,    /* lowercase letters and spaces */
    HI_FEW = 4,     /* only 2..31 distinct byte values */
    HI_RUN = 5,     /* one letter a..g repeated */
    HI_KINDS = 6,
};

/* Fills buf[0..size) with input `kind` for `seed`. */
static inline void hi_fill(uint8_t *buf, size_t size, int kind, uint64_t seed)
{
    hi_rng r = {seed * 0x100000001b3ull + (uint64_t)kind};
    switch (kind) {
    case HI_RANDOM:
        for (size_t i = 0; i < size; i++) {
            buf[i] = (uint8_t)hi_next(&r);
        }
        break;
    case HI_ZEROS: memset(buf, 0, size); break;
    case HI_PATTERN: {
        uint8_t pat[13];
        size_t n = 1 + hi_below(&r, 13);
        for (size_t i = 0; i < n; i++) {
            pat[i] = (uint8_t)hi_next(&r);
        }
        for (size_t i = 0; i < size; i++) {
            buf[i] = pat[i % n];
        }
        break;
    }
    case HI_TEXT: {
        static const char alpha[] = "abcdefghijklmnopqrstuvwxyz ";
        for (size_t i = 0; i < size; i++) {
            buf[i] = (uint8_t)alpha[hi_below(&r, 27)];
        }
        break;
    }
    case HI_FEW: {
        uint32_t m = 2 + hi_below(&r, 30);
        for (size_t i = 0; i < size; i++) {
            buf[i] = (uint8_t)hi_below(&r, m);
        }
        break;
    }
    default: memset(buf, 'a' + (int)(seed % 7), size); break;
    }
}

/*
 * A copy of src with `edits` random edits (insert, delete or overwrite a run of up to 5% of
 * the size): a "next version" for similarity scores. Returns a malloc'd buffer.
 */
static inline uint8_t *hi_mutate(size_t *out_len, const uint8_t *src, size_t len, int edits,
                                 uint64_t seed)
{
    hi_rng r = {seed ^ 0x5bd1e995u};
    size_t cap = len + 1; /* an insert adds at most n / 20 + 1 to the current n */
    for (int e = 0; e < edits; e++) {
        cap += cap / 20 + 2;
    }
    uint8_t *b = malloc(cap);
    if (b == NULL) {
        return NULL;
    }
    memcpy(b, src, len);
    size_t n = len;
    for (int e = 0; e < edits && n > 0; e++) {
        size_t pos = hi_below(&r, (uint32_t)n);
        size_t run = 1 + hi_below(&r, (uint32_t)(n / 20 + 1));
        switch (hi_below(&r, 3)) {
        case 0: /* insert */
            memmove(b + pos + run, b + pos, n - pos);
            for (size_t i = 0; i < run; i++) {
                b[pos + i] = (uint8_t)hi_next(&r);
            }
            n += run;
            break;
        case 1: /* delete */
            if (run > n - pos) {
                run = n - pos;
            }
            memmove(b + pos, b + pos + run, n - pos - run);
            n -= run;
            break;
        default: /* overwrite */
            for (size_t i = pos; i < pos + run && i < n; i++) {
                b[i] = (uint8_t)hi_next(&r);
            }
            break;
        }
    }
    *out_len = n;
    return b;
}

#endif
