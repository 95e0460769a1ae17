/*
 * The read index's format (feature_index.h): layout arithmetic, a checked open and the
 * lookups. Every read goes through span.h with offsets proven in range at open, so a damaged
 * or hostile file can give wrong answers to the store, which only uses an index that its
 * database vouches for (sqlite_index.c), but never a read out of bounds.
 */
#include "store/feature_index.h"

#include <string.h>

#include "util/span.h"

/* Little-endian loads at offsets fidx_open proved in range (compilers make them one load). */
static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static uint64_t align8(uint64_t v)
{
    return (v + 7u) & ~(uint64_t)7u;
}

bool fidx_layout(uint32_t n_kinds, uint64_t n_keys, uint64_t n_postings, uint64_t *hashes_off,
                 uint64_t *counts_off, uint64_t *starts_off, uint64_t *postings_off, uint64_t *size)
{
    uint64_t a;
    uint64_t b;
    /* 2^40 keys or postings is far past any store (16 TB of postings alone) and keeps every
     * product below in range */
    if (n_kinds > FIDX_MAX_KINDS || n_keys >= (1ull << 40) || n_postings >= (1ull << 40)) {
        return false;
    }
    *hashes_off = FIDX_HEADER + (uint64_t)n_kinds * FIDX_KIND_BYTES;
    *counts_off = *hashes_off + 8 * n_keys;
    *starts_off = align8(*counts_off + FIDX_COUNT_BYTES * n_keys);
    *postings_off = *starts_off + 8 * (n_keys + 1);
    a = *postings_off;
    b = FIDX_POSTING_BYTES * n_postings;
    return strain_add_u64(a, b, size);
}

bool fidx_open(fidx *out, const uint8_t *base, uint64_t len)
{
    strain_span s = strain_span_make(base, (size_t)len);
    fidx x;
    uint32_t version;
    uint64_t size;
    uint64_t next = 0;
    uint64_t v;
    memset(&x, 0, sizeof(x));
    if (base == NULL || len < FIDX_HEADER || memcmp(base, FIDX_MAGIC, 8) != 0 ||
        !strain_span_u32le(s, 8, &version) || version != FIDX_VERSION ||
        !strain_span_u32le(s, 12, &x.n_kinds) || !strain_span_u64le(s, 16, &x.store_id) ||
        !strain_span_u64le(s, 24, &x.generation) || !strain_span_u64le(s, 32, &x.n_keys) ||
        !strain_span_u64le(s, 40, &x.n_postings) || !strain_span_u64le(s, 48, &size) ||
        size != len || !strain_span_u64le(s, 56, &x.n_samples) ||
        !strain_span_u64le(s, 64, &x.n_families) || !strain_span_u64le(s, 72, &x.n_actors) ||
        !strain_span_u64le(s, 80, &x.n_clean) ||
        !fidx_layout(x.n_kinds, x.n_keys, x.n_postings, &x.hashes_off, &x.counts_off, &x.starts_off,
                     &x.postings_off, &size) ||
        size != len) {
        return false;
    }
    for (uint32_t i = 0; i < x.n_kinds; i++) {
        uint64_t off = FIDX_HEADER + (uint64_t)i * FIDX_KIND_BYTES;
        fidx_kind *k = &x.kinds[i];
        if (!strain_span_u32le(s, off, &k->kind) || !strain_span_u64le(s, off + 8, &k->first) ||
            !strain_span_u64le(s, off + 16, &k->count) || k->first != next ||
            k->count > x.n_keys - next || (i > 0 && k->kind <= x.kinds[i - 1].kind)) {
            return false;
        }
        next += k->count;
    }
    if (next != x.n_keys || !strain_span_u64le(s, x.starts_off, &v) || v != 0 ||
        !strain_span_u64le(s, x.starts_off + 8 * x.n_keys, &v) || v != x.n_postings) {
        return false;
    }
    x.base = base;
    x.len = len;
    *out = x;
    return true;
}

/* i < n_keys: inside the hashes array, which fidx_open checked lies inside the image */
static int64_t hash_at(const fidx *x, uint64_t i)
{
    return (int64_t)ld64(x->base + x->hashes_off + 8 * i);
}

bool fidx_find(const fidx *x, uint32_t kind, uint64_t hash, uint64_t *pos)
{
    const fidx_kind *k = NULL;
    for (uint32_t i = 0; i < x->n_kinds; i++) {
        if (x->kinds[i].kind == kind) {
            k = &x->kinds[i];
            break;
        }
    }
    if (k == NULL) {
        return false;
    }
    /* the hashes are sorted as SQLite sorts integers: signed */
    int64_t want = (int64_t)hash;
    uint64_t lo = k->first;
    uint64_t hi = k->first + k->count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (hash_at(x, mid) < want) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < k->first + k->count && hash_at(x, lo) == want) {
        *pos = lo;
        return true;
    }
    return false;
}

void fidx_counts(const fidx *x, uint64_t pos, uint32_t *n_samples, uint32_t *n_clean,
                 uint32_t *n_families)
{
    *n_samples = *n_clean = *n_families = 0;
    if (pos < x->n_keys) {
        const uint8_t *p = x->base + x->counts_off + FIDX_COUNT_BYTES * pos;
        *n_samples = ld32(p);
        *n_clean = ld32(p + 4);
        *n_families = ld32(p + 8);
    }
}

bool fidx_postings(const fidx *x, uint64_t pos, uint64_t *first, uint64_t *n)
{
    if (pos >= x->n_keys) {
        return false;
    }
    uint64_t a = ld64(x->base + x->starts_off + 8 * pos);
    uint64_t b = ld64(x->base + x->starts_off + 8 * (pos + 1));
    if (a > b || b > x->n_postings) {
        return false;
    }
    *first = a;
    *n = b - a;
    return true;
}

void fidx_posting(const fidx *x, uint64_t i, int64_t *sample_id, uint64_t *payload)
{
    *sample_id = 0;
    *payload = 0;
    if (i < x->n_postings) {
        const uint8_t *p = x->base + x->postings_off + FIDX_POSTING_BYTES * i;
        *sample_id = (int64_t)ld64(p);
        *payload = ld64(p + 8);
    }
}
