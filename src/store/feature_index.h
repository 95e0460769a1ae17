/*
 * The read index: an immutable file beside a SQLite store (PATH-index) holding, per feature,
 * its counts and its postings in flat sorted arrays, so that a query's thousands of random
 * keys are binary searches in a memory map instead of b-tree seeks through SQLite (measured:
 * the counts of 5,584 keys in 0.4-0.9 ms instead of 4-6 ms, bench/RESULTS.md "Query speed").
 * The store writes it when it compacts and reads it only while it describes the database
 * exactly (sqlite_index.c); this file is the format, and a reader that trusts nothing in it.
 *
 * Layout (little-endian):
 *   0  magic "STRNFIDX"       8  u32 version (2)     12 u32 n_kinds (<= FIDX_MAX_KINDS)
 *   16 u64 store_id           24 u64 generation      32 u64 n_keys
 *   40 u64 n_postings         48 u64 file size       56 u64 samples
 *   64 u64 families           72 u64 actors          80 u64 clean samples    88 u64 0
 *   96 n_kinds x {u32 kind, u32 0, u64 first key, u64 key count}, kinds ascending, the key
 *      ranges consecutive from 0 and covering n_keys
 *   hashes: n_keys x u64, ascending as signed integers within a kind (the SQLite order)
 *   counts: n_keys x {u32 n_samples, u32 n_clean, u32 n_families}
 *   starts (8-aligned): n_keys + 1 x u64; key i's postings are [starts[i], starts[i + 1])
 *   postings: n_postings x {i64 sample_id, u64 payload}, by sample id within a key
 */
#ifndef STRAIN_STORE_FEATURE_INDEX_H
#define STRAIN_STORE_FEATURE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIDX_MAGIC "STRNFIDX"
#define FIDX_VERSION 2u
#define FIDX_HEADER 96u
#define FIDX_KIND_BYTES 24u
#define FIDX_COUNT_BYTES 12u
#define FIDX_POSTING_BYTES 16u
#define FIDX_MAX_KINDS 64u

typedef struct fidx_kind {
    uint32_t kind;
    uint64_t first;
    uint64_t count;
} fidx_kind;

/* A checked view of an index image (borrowed bytes). */
typedef struct fidx {
    const uint8_t *base;
    uint64_t len;
    uint64_t store_id;
    uint64_t generation;
    uint64_t n_keys;
    uint64_t n_postings;
    /* the store's statistics at that snapshot (what a query reads first) */
    uint64_t n_samples;
    uint64_t n_families;
    uint64_t n_actors;
    uint64_t n_clean;
    uint32_t n_kinds;
    fidx_kind kinds[FIDX_MAX_KINDS];
    uint64_t hashes_off;
    uint64_t counts_off;
    uint64_t starts_off;
    uint64_t postings_off;
} fidx;

/* Where each array starts for these counts, and the file's size; false on overflow. */
bool fidx_layout(uint32_t n_kinds, uint64_t n_keys, uint64_t n_postings, uint64_t *hashes_off,
                 uint64_t *counts_off, uint64_t *starts_off, uint64_t *postings_off,
                 uint64_t *size);

/* Checks the header, the kind table and the array bounds of len bytes at base; false (and
 * *out untouched) when anything is inconsistent. Per-key postings ranges are checked when
 * read (fidx_postings). */
bool fidx_open(fidx *out, const uint8_t *base, uint64_t len);

/* The position of (kind, hash), or false when the index does not hold it. */
bool fidx_find(const fidx *x, uint32_t kind, uint64_t hash, uint64_t *pos);

/* The counts at pos (< n_keys). */
void fidx_counts(const fidx *x, uint64_t pos, uint32_t *n_samples, uint32_t *n_clean,
                 uint32_t *n_families);

/* The postings range of pos: [*first, *first + *n); false when the stored range is not
 * within the postings array or runs backwards (a corrupt file). */
bool fidx_postings(const fidx *x, uint64_t pos, uint64_t *first, uint64_t *n);

/* Posting i (< n_postings). */
void fidx_posting(const fidx *x, uint64_t i, int64_t *sample_id, uint64_t *payload);

#endif
