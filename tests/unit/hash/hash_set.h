/*
 * The generated input set the fuzzy-hash tests run through both strain and the reference
 * CLIs: edge sizes (empty, tiny, 49..51, 255..257), both sides of every ssdeep blocksize
 * boundary (3 * 2^k * 64 bytes) up to 3 MB, random sizes, every data shape, and families of
 * mutated copies (what similarity scores are about). Written as <dir>/gNNNN.
 */
#ifndef STRAIN_TEST_HASH_SET_H
#define STRAIN_TEST_HASH_SET_H

#include <stdio.h>

#include "hash_inputs.h"
#include "helpers.h"

#define HS_MAX 512

typedef struct hs_file {
    char name[16]; /* gNNNN */
    uint8_t *data;
    size_t len;
} hs_file;

typedef struct hs_set {
    char dir[512];
    size_t n;
    hs_file f[HS_MAX];
} hs_set;

static inline void hs_add(hs_set *s, uint8_t *data, size_t len)
{
    if (s->n >= HS_MAX) {
        fail_msg("hash_set: too many files");
    }
    hs_file *f = &s->f[s->n];
    snprintf(f->name, sizeof(f->name), "g%04zu", s->n);
    f->data = data;
    f->len = len;
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", s->dir, f->name);
    if (th_write_file(path, data, len) != 0) {
        fail_msg("cannot write %s", path);
    }
    s->n++;
}

static inline void hs_add_gen(hs_set *s, size_t len, int kind, uint64_t seed)
{
    uint8_t *b = malloc(len ? len : 1);
    assert_non_null(b);
    hi_fill(b, len, kind, seed);
    hs_add(s, b, len);
}

/* Builds the set under th_tmpdir()/<sub>. Free with hs_free. */
static inline hs_set *hs_build(const char *sub)
{
    hs_set *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    snprintf(s->dir, sizeof(s->dir), "%s/%s", th_tmpdir(), sub);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", s->dir);
    assert_int_equal(system(cmd), 0);

    static const size_t edge[] = {0,   1,   2,   3,   4,    5,    6,    7,     8,    49,  50,
                                  51,  63,  64,  65,  100,  191,  192,  193,   255,  256, 257,
                                  383, 384, 385, 999, 4095, 4096, 4097, 12289, 65536};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        for (int k = 0; k < HI_KINDS; k++) {
            hs_add_gen(s, edge[i], k, 1000 + i);
        }
    }
    /* ssdeep's initial blocksize guess changes at 3 * 2^k * 64 bytes. */
    for (unsigned k = 0; k <= 14; k++) {
        size_t b = (size_t)192 << k;
        for (size_t d = 0; d < 3; d++) {
            hs_add_gen(s, b - 1 + d, HI_RANDOM, 2000 + k * 3 + d);
            if (k <= 8) {
                hs_add_gen(s, b - 1 + d, HI_TEXT, 2100 + k * 3 + d);
                hs_add_gen(s, b - 1 + d, HI_PATTERN, 2200 + k * 3 + d);
            }
        }
    }
    hi_rng r = {42};
    for (int i = 0; i < 24; i++) {
        size_t len = hi_below(&r, i < 12 ? 20000 : 3u << 20);
        hs_add_gen(s, len, i % 2 ? HI_TEXT : HI_RANDOM, 3000 + (uint64_t)i);
    }
    /*
     * Inputs ending in 7 zero bytes: the rolling hash ends at 0, so the last piece is left out
     * of both strings (spamsum's rule), including when a string is full.
     */
    static const size_t tail_len[] = {300, 5000, 40000, 300000};
    for (size_t i = 0; i < sizeof(tail_len) / sizeof(tail_len[0]); i++) {
        for (size_t z = 7; z <= 8; z++) {
            uint8_t *b = malloc(tail_len[i]);
            assert_non_null(b);
            hi_fill(b, tail_len[i], HI_RANDOM, 8000 + i * 2 + z);
            memset(b + tail_len[i] - z, 0, z);
            hs_add(s, b, tail_len[i]);
        }
    }
    /*
     * A 7-byte window whose rolling hash is 3 * 2^30 - 1 (found by search): repeated, every
     * repetition is a trigger for all 31 blocksizes at once, so every blocksize opens, the top
     * one's successor is tracked, and more than 16 are live together. Alone and between
     * random bytes.
     */
    static const uint8_t all_bs[7] = {0x00, 0x58, 0xf8, 0xf8, 0xf8, 0x56, 0x6d};
    static const size_t reps[] = {1, 5, 32, 33, 64, 65, 100, 2000};
    for (size_t i = 0; i < sizeof(reps) / sizeof(reps[0]); i++) {
        for (int mixed = 0; mixed < 2; mixed++) {
            size_t pre = mixed ? reps[i] * 5 : 0, post = mixed ? reps[i] * 3 : 0;
            size_t len = pre + reps[i] * 7 + post;
            uint8_t *b = malloc(len);
            assert_non_null(b);
            hi_fill(b, len, HI_RANDOM, 9000 + i);
            for (size_t k = 0; k < reps[i]; k++) {
                memcpy(b + pre + k * 7, all_bs, 7);
            }
            hs_add(s, b, len);
        }
    }
    /* Families: a base and five successive edits of it. */
    static const size_t base_len[] = {300, 700, 1500, 6000, 25000, 100000, 400000};
    for (size_t i = 0; i < sizeof(base_len) / sizeof(base_len[0]); i++) {
        for (int kind = 0; kind < 2; kind++) {
            size_t len = base_len[i];
            uint8_t *base = malloc(len);
            assert_non_null(base);
            hi_fill(base, len, kind == 0 ? HI_RANDOM : HI_TEXT, 4000 + i * 2 + (size_t)kind);
            hs_add(s, base, len);
            static const int edits[] = {1, 2, 4, 8, 16};
            for (size_t e = 0; e < 5; e++) {
                size_t ml = 0;
                uint8_t *m = hi_mutate(&ml, base, len, edits[e], 5000 + i * 10 + e);
                assert_non_null(m);
                hs_add(s, m, ml);
            }
        }
    }
    return s;
}

static inline void hs_free(hs_set *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->f[i].data);
    }
    free(s);
}

/* Index of a file by its base name in the set, or -1. */
static inline long hs_find(const hs_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->f[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

#endif
