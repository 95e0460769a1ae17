/*
 * A small, seedless 64-bit hash for genotypes. Genotypes are stored and compared across
 * machines and versions, so the hash must never depend on the process (no random seed, no
 * pointer values) and must be identical on every platform: fixed constants, explicit
 * little-endian reads, 64-bit arithmetic only.
 */
#ifndef STRAIN_CODE_HASH64_H
#define STRAIN_CODE_HASH64_H

#include <stddef.h>
#include <stdint.h>

/* A bijective 64-bit finaliser (the splitmix64 / Stafford "mix13" constants). */
static inline uint64_t strain_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* Order-dependent combination of a running hash with one more value. */
static inline uint64_t strain_hash_add(uint64_t h, uint64_t v)
{
    return strain_mix64(h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)));
}

/* Hash of a byte string. */
uint64_t strain_hash64(const void *data, size_t len, uint64_t seed);
/* Hash of a NUL-terminated string, ASCII case folded (API names: "ExitProcess"). */
uint64_t strain_hash64_str_nocase(const char *s, uint64_t seed);

#endif
