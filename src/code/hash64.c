/*
 * The genotype hash over bytes: 8-byte little-endian words folded through strain_mix64.
 * Not cryptographic (nothing here is a security boundary: a collision only makes two
 * functions look alike); chosen for speed and for being the same on every machine.
 */
#include "code/hash64.h"

#include "util/span.h"

uint64_t strain_hash64(const void *data, size_t len, uint64_t seed)
{
    strain_span s = strain_span_make(data, len);
    uint64_t h = strain_mix64(seed ^ (0x2545f4914f6cdd1dull * (uint64_t)(len + 1)));
    size_t off = 0;
    uint64_t w;
    while (strain_span_u64le(s, off, &w)) {
        h = strain_hash_add(h, w);
        off += 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; off + i < len; i++) {
        tail |= (uint64_t)s.p[off + i] << (8 * i);
    }
    return strain_hash_add(h, tail);
}

uint64_t strain_hash64_str_nocase(const char *s, uint64_t seed)
{
    uint64_t h = strain_mix64(seed ^ 0x6a09e667f3bcc909ull);
    uint64_t w = 0;
    unsigned n = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c - 'A' + 'a');
        }
        w |= (uint64_t)c << (8 * n);
        if (++n == 8) {
            h = strain_hash_add(h, w);
            w = 0;
            n = 0;
        }
    }
    return strain_hash_add(h, w ^ ((uint64_t)n << 59));
}
