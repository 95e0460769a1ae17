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

/*
 * ssdeep context-triggered piecewise hash, "blocksize:hash1:hash2", exactly as the ssdeep
 * 2.14 CLI prints it (runs of repeated characters are kept, not squeezed). Writes a
 * NUL-terminated digest into out (at most STRAIN_SSDEEP_MAX bytes with the NUL). Returns 0,
 * STRAIN_EINVAL for a NULL out (or NULL data with size > 0), STRAIN_ELIMIT past the largest
 * input ssdeep defines (3 * 2^30 * 64 bytes). Thread-safe, no allocation.
 */
#define STRAIN_SSDEEP_MAX 148
STRAIN_API int strain_hash_ssdeep(char out[STRAIN_SSDEEP_MAX], const void *data, size_t size);
/*
 * Match score 0..100 of two ssdeep digests, equal to ssdeep's (-m/-k/-d, fuzzy_compare): 0 for
 * blocksizes neither equal nor a factor 2 apart. A digest may be followed by ",name" (the
 * signature file form). STRAIN_EINVAL for NULL or a malformed digest (blocksize not plain
 * decimal, a missing ':', a string over 64 characters). Digests are untrusted: any
 * NUL-terminated string is safe. Thread-safe.
 */
STRAIN_API int strain_ssdeep_compare(const char *a, const char *b);

/*
 * TLSH (128 buckets, 1-byte checksum) in the modern "T1" form: "T1" + 70 uppercase hex digits
 * (72 chars + NUL), the same 70 digits the Debian tlsh 3.4.4 CLI prints for every input it
 * hashes (>= 256 bytes); from 50 to 255 bytes, what TLSH 4.x prints. Writes "TNULL" and
 * returns 0 when there is no digest: fewer than 50 bytes, or too little variety (half or more
 * of the 128 buckets empty), as both references refuse. STRAIN_EINVAL for a NULL out (or
 * NULL data with size > 0); STRAIN_ELIMIT ("TNULL") past 4 GiB - 1, which TLSH's 32-bit length
 * cannot describe. Thread-safe, no allocation.
 */
#define STRAIN_TLSH_MAX 74
STRAIN_API int strain_hash_tlsh(char out[STRAIN_TLSH_MAX], const void *data, size_t size);
/*
 * TLSH distance (0 = identical, larger = farther, length difference counted), equal to
 * `tlsh -c A -d B` / totalDiff(len_diff = true). Accepts "T1" + 70 hex digits or the bare
 * 70-digit 3.x form, either case, nothing else; STRAIN_EINVAL for NULL, "TNULL" or anything
 * malformed. Digests are untrusted: any NUL-terminated string is safe. Thread-safe.
 */
STRAIN_API int strain_tlsh_diff(const char *a, const char *b);

/* pefile's get_imphash(): md5 over "lib.func" lowercased, "" (returns 0) when no imports. */
STRAIN_API int strain_hash_imphash(char out[STRAIN_MD5_HEX], const strain_binary_info *info);

#ifdef __cplusplus
}
#endif
#endif
