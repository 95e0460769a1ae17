/*
 * strain/hash.h: the hashes analysts already exchange. Digests are written into caller
 * buffers of the named sizes, lowercase hex unless said otherwise. All thread-safe.
 */
#ifndef STRAIN_HASH_H
#define STRAIN_HASH_H

#include "binary.h"

#ifdef __cplusplus
extern "C" {
#endif

STRAIN_API int strain_hash_md5(char out[STRAIN_MD5_HEX], const void *data, size_t size);
STRAIN_API int strain_hash_sha1(char out[STRAIN_SHA1_HEX], const void *data, size_t size);
STRAIN_API int strain_hash_sha256(char out[STRAIN_SHA256_HEX], const void *data, size_t size);

/* ssdeep 2.14 context-triggered piecewise hash, "blocksize:hash1:hash2". */
#define STRAIN_SSDEEP_MAX 148
STRAIN_API int strain_hash_ssdeep(char out[STRAIN_SSDEEP_MAX], const void *data, size_t size);
/* 0..100 like ssdeep's fuzzy_compare, or a negative error for a malformed digest. */
STRAIN_API int strain_ssdeep_compare(const char *a, const char *b);

/* TLSH (128 buckets, 1-byte checksum) in the modern "T1" form (72 chars), or "TNULL" when
 * the input is too short (< 50 bytes) or has too little variety, as the reference does. */
#define STRAIN_TLSH_MAX 74
STRAIN_API int strain_hash_tlsh(char out[STRAIN_TLSH_MAX], const void *data, size_t size);
/* TLSH distance (0 = identical, larger = farther; length difference counted), or < 0. */
STRAIN_API int strain_tlsh_diff(const char *a, const char *b);

/* pefile's get_imphash(): md5 over "lib.func" lowercased, "" (returns 0) when no imports. */
STRAIN_API int strain_hash_imphash(char out[STRAIN_MD5_HEX], const strain_binary_info *info);

#ifdef __cplusplus
}
#endif
#endif
