/*
 * Checked little/big-endian readers over untrusted bytes. Every read of sample bytes goes
 * through these: a read that does not fit returns false and writes nothing, so a parser can
 * never index past its buffer whatever a header says.
 */
#ifndef STRAIN_UTIL_SPAN_H
#define STRAIN_UTIL_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct strain_span {
    const uint8_t *p;
    size_t len;
} strain_span;

static inline strain_span strain_span_make(const uint8_t *p, size_t len)
{
    strain_span s = {p, len};
    return s;
}

/* True when [off, off+n) lies inside s; no overflow possible. */
static inline bool strain_span_has(strain_span s, uint64_t off, uint64_t n)
{
    return off <= s.len && n <= s.len - off;
}

/* Sub-span [off, off+n); false (and *out untouched) if it does not fit. */
static inline bool strain_span_sub(strain_span s, uint64_t off, uint64_t n, strain_span *out)
{
    if (!strain_span_has(s, off, n)) {
        return false;
    }
    out->p = s.p + off;
    out->len = (size_t)n;
    return true;
}

/* Sub-span from off to the end; false if off is past the end. */
static inline bool strain_span_tail(strain_span s, uint64_t off, strain_span *out)
{
    if (off > s.len) {
        return false;
    }
    out->p = s.p + off;
    out->len = s.len - (size_t)off;
    return true;
}

static inline bool strain_span_u8(strain_span s, uint64_t off, uint8_t *out)
{
    if (!strain_span_has(s, off, 1)) {
        return false;
    }
    *out = s.p[off];
    return true;
}

static inline bool strain_span_u16le(strain_span s, uint64_t off, uint16_t *out)
{
    if (!strain_span_has(s, off, 2)) {
        return false;
    }
    const uint8_t *b = s.p + off;
    *out = (uint16_t)(b[0] | (b[1] << 8));
    return true;
}

static inline bool strain_span_u32le(strain_span s, uint64_t off, uint32_t *out)
{
    if (!strain_span_has(s, off, 4)) {
        return false;
    }
    const uint8_t *b = s.p + off;
    *out = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
    return true;
}

static inline bool strain_span_u64le(strain_span s, uint64_t off, uint64_t *out)
{
    uint32_t lo, hi;
    if (!strain_span_u32le(s, off, &lo) || !strain_span_u32le(s, off + 4, &hi)) {
        return false;
    }
    *out = (uint64_t)lo | ((uint64_t)hi << 32);
    return true;
}

static inline bool strain_span_u16be(strain_span s, uint64_t off, uint16_t *out)
{
    if (!strain_span_has(s, off, 2)) {
        return false;
    }
    const uint8_t *b = s.p + off;
    *out = (uint16_t)((b[0] << 8) | b[1]);
    return true;
}

static inline bool strain_span_u32be(strain_span s, uint64_t off, uint32_t *out)
{
    if (!strain_span_has(s, off, 4)) {
        return false;
    }
    const uint8_t *b = s.p + off;
    *out = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) |
           (uint32_t)b[3];
    return true;
}

static inline bool strain_span_u64be(strain_span s, uint64_t off, uint64_t *out)
{
    uint32_t hi, lo;
    if (!strain_span_u32be(s, off, &hi) || !strain_span_u32be(s, off + 4, &lo)) {
        return false;
    }
    *out = ((uint64_t)hi << 32) | (uint64_t)lo;
    return true;
}

/* Endianness chosen at run time (ELF). */
static inline bool strain_span_u16(strain_span s, uint64_t off, bool be, uint16_t *out)
{
    return be ? strain_span_u16be(s, off, out) : strain_span_u16le(s, off, out);
}
static inline bool strain_span_u32(strain_span s, uint64_t off, bool be, uint32_t *out)
{
    return be ? strain_span_u32be(s, off, out) : strain_span_u32le(s, off, out);
}
static inline bool strain_span_u64(strain_span s, uint64_t off, bool be, uint64_t *out)
{
    return be ? strain_span_u64be(s, off, out) : strain_span_u64le(s, off, out);
}

/* Checked size arithmetic: false on overflow. */
static inline bool strain_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool strain_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool strain_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

#endif
