/*
 * TLSH, the Trend Micro locality sensitive hash (Oliver, Cheng, Chen, "TLSH -- A Locality
 * Sensitive Hash", CTC 2013), 128 buckets with a 1-byte checksum, in the "T1" form that
 * current TLSH prints.
 *
 * Over a 5-byte sliding window, six byte triplets (the newest byte with two of the four
 * before it) are mapped through a Pearson hash (salted 2, 3, 5, 7, 11, 13) to one of 256
 * buckets; a Pearson hash of each newest byte pair chains into the checksum. The digest keeps
 * the quartile (2 bits) of each of the first 128 buckets, a log-scaled length and the ratios
 * of quartiles 1 and 2 to quartile 3.
 *
 * Two references disagree in small ways and strain follows each where it is the only one
 * the analyst's tools have: from 256 bytes on, what Debian's tlsh 3.4.4 prints (quartile
 * ratios computed in single-precision float as that version does; the length code from
 * logf, which 4.x tabulates); below 256 bytes, where 3.4.4 refuses, TLSH 4.x's rules
 * (minimum 50 bytes). Both require more than half of the 128 buckets to be non-empty and
 * give no digest ("TNULL") otherwise. The float ratios equal 4.x's integer ones while
 * q * 100 < 2^24 (bucket counts below 167773: float then divides exactly); 3.4.4 and 4.12.1
 * printed the same digest for all 141 public-corpus files (up to 11.7 MB) when this was
 * written.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strain/hash.h>

#define TL_BUCKETS 256     /* Pearson outputs */
#define TL_EFF_BUCKETS 128 /* buckets the digest keeps */
#define TL_CODE_SIZE 32    /* 128 buckets * 2 bits */
#define TL_HEX_LEN 70      /* checksum + length + ratios + code, hex */
#define TL_MIN_LEN 50      /* TLSH 4.x MIN_DATA_LENGTH */
#define TL_MIN_LEN_344 256 /* tlsh 3.4.4 MIN_DATA_LENGTH */

/* The TLSH Pearson permutation (a fixed permutation of 0..255 that every TLSH
 * implementation shares; these bytes were read out of Debian's libtlsh.so.0 and checked to
 * be a permutation). */
/* clang-format off */
static const uint8_t pearson[256] = {
    1, 87, 49, 12, 176, 178, 102, 166, 121, 193, 6, 84, 249, 230, 44, 163,
    14, 197, 213, 181, 161, 85, 218, 80, 64, 239, 24, 226, 236, 142, 38, 200,
    110, 177, 104, 103, 141, 253, 255, 50, 77, 101, 81, 18, 45, 96, 31, 222,
    25, 107, 190, 70, 86, 237, 240, 34, 72, 242, 20, 214, 244, 227, 149, 235,
    97, 234, 57, 22, 60, 250, 82, 175, 208, 5, 127, 199, 111, 62, 135, 248,
    174, 169, 211, 58, 66, 154, 106, 195, 245, 171, 17, 187, 182, 179, 0, 243,
    132, 56, 148, 75, 128, 133, 158, 100, 130, 126, 91, 13, 153, 246, 216, 219,
    119, 68, 223, 78, 83, 88, 201, 99, 122, 11, 92, 32, 136, 114, 52, 10,
    138, 30, 48, 183, 156, 35, 61, 26, 143, 74, 251, 94, 129, 162, 63, 152,
    170, 7, 115, 167, 241, 206, 3, 150, 55, 59, 151, 220, 90, 53, 23, 131,
    125, 173, 15, 238, 79, 95, 89, 16, 105, 137, 225, 224, 217, 160, 37, 123,
    118, 73, 2, 157, 46, 116, 9, 145, 134, 228, 207, 212, 202, 215, 69, 229,
    27, 188, 67, 124, 168, 252, 42, 4, 29, 108, 21, 247, 19, 205, 39, 203,
    233, 40, 186, 147, 198, 192, 155, 33, 164, 191, 98, 204, 165, 180, 117, 76,
    140, 36, 210, 172, 41, 54, 159, 8, 185, 232, 113, 196, 231, 47, 146, 120,
    51, 65, 28, 144, 254, 221, 93, 189, 194, 139, 112, 43, 71, 109, 184, 209
};
/* clang-format on */

static inline uint8_t pearson3(uint8_t salted, uint8_t a, uint8_t b, uint8_t c)
{
    return pearson[pearson[pearson[salted ^ a] ^ b] ^ c];
}

/* Bucket counts and checksum of the whole input. */
static uint8_t tl_buckets(uint32_t bucket[TL_BUCKETS], const uint8_t *p, size_t n)
{
    const uint8_t s0 = pearson[0], s2 = pearson[2], s3 = pearson[3], s5 = pearson[5],
                  s7 = pearson[7], s11 = pearson[11], s13 = pearson[13];
    uint8_t checksum = 0;
    memset(bucket, 0, TL_BUCKETS * sizeof(bucket[0]));
    if (n < 5) {
        return 0;
    }
    /* a0 is the newest byte, a4 the oldest of the window. */
    uint8_t a1 = p[3], a2 = p[2], a3 = p[1], a4 = p[0];
    for (size_t i = 4; i < n; i++) {
        uint8_t a0 = p[i];
        checksum = pearson3(s0, a0, a1, checksum);
        bucket[pearson3(s2, a0, a1, a2)]++;
        bucket[pearson3(s3, a0, a1, a3)]++;
        bucket[pearson3(s5, a0, a2, a3)]++;
        bucket[pearson3(s7, a0, a2, a4)]++;
        bucket[pearson3(s11, a0, a1, a4)]++;
        bucket[pearson3(s13, a0, a3, a4)]++;
        a4 = a3;
        a3 = a2;
        a2 = a1;
        a1 = a0;
    }
    return checksum;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/*
 * Length code: a logarithmic scale (base 1.5 up to 656 bytes, 1.3 up to 3199, 1.1 beyond).
 * 3.4.4 evaluates log() on a float (so logf) and divides by these double constants; 4.x
 * replaced the expression by a table of its steps. When this was written the two agreed on
 * every length up to 2^24 and within 3 bytes of every step up to the table's last
 * (4224281216); both being non-decreasing step functions, they agree everywhere up to there.
 * test_tlsh checks both sides of every step from 256 bytes to 1 MB against the 3.4.4 CLI.
 */
static uint8_t tl_length_code(uint32_t len)
{
    double l = (double)logf((float)len);
    int i;
    if (len <= 656) {
        i = (int)floor(l / 0.4054651);
    } else if (len <= 3199) {
        i = (int)floor(l / 0.26236426 - 8.72777);
    } else {
        i = (int)floor(l / 0.095310180 - 62.5472);
    }
    return (uint8_t)(i & 0xff);
}

static inline uint8_t swap_nibbles(uint8_t b)
{
    return (uint8_t)((b << 4) | (b >> 4));
}

static const char hexu[] = "0123456789ABCDEF";

int strain_hash_tlsh(char out[STRAIN_TLSH_MAX], const void *data, size_t size)
{
    if (out == NULL || (data == NULL && size > 0)) {
        return STRAIN_EINVAL;
    }
    strcpy(out, "TNULL");
    if (size < TL_MIN_LEN) {
        return STRAIN_OK;
    }
    if ((uint64_t)size > UINT32_MAX) {
        /* Both references count the length in 32 bits. */
        return STRAIN_ELIMIT;
    }
    uint32_t bucket[TL_BUCKETS];
    uint8_t checksum = tl_buckets(bucket, data, size);

    uint32_t nonzero = 0;
    for (size_t i = 0; i < TL_EFF_BUCKETS; i++) {
        nonzero += bucket[i] > 0;
    }
    if (nonzero <= TL_EFF_BUCKETS / 2) {
        return STRAIN_OK; /* too little variety for a meaningful digest */
    }
    uint32_t sorted[TL_EFF_BUCKETS];
    memcpy(sorted, bucket, sizeof(sorted));
    qsort(sorted, TL_EFF_BUCKETS, sizeof(sorted[0]), cmp_u32);
    uint32_t q1 = sorted[TL_EFF_BUCKETS / 4 - 1];
    uint32_t q2 = sorted[TL_EFF_BUCKETS / 2 - 1];
    uint32_t q3 = sorted[TL_EFF_BUCKETS - TL_EFF_BUCKETS / 4 - 1];
    /* More than 64 non-empty buckets leave fewer than 64 empty ones: q3 > 0. */

    uint8_t code[TL_CODE_SIZE];
    for (size_t i = 0; i < TL_CODE_SIZE; i++) {
        uint8_t h = 0;
        for (unsigned j = 0; j < 4; j++) {
            uint32_t k = bucket[4 * i + j];
            if (k > q3) {
                h = (uint8_t)(h | 3u << (j * 2));
            } else if (k > q2) {
                h = (uint8_t)(h | 2u << (j * 2));
            } else if (k > q1) {
                h = (uint8_t)(h | 1u << (j * 2));
            }
        }
        code[i] = h;
    }
    uint32_t q1r, q2r;
    if (size >= TL_MIN_LEN_344) {
        /* 3.4.4: 32-bit product, float division, truncation. */
        q1r = (uint32_t)((float)(q1 * 100u) / (float)q3) % 16;
        q2r = (uint32_t)((float)(q2 * 100u) / (float)q3) % 16;
    } else {
        q1r = (uint32_t)((uint64_t)q1 * 100 / q3) % 16;
        q2r = (uint32_t)((uint64_t)q2 * 100 / q3) % 16;
    }
    uint8_t bin[3 + TL_CODE_SIZE];
    bin[0] = swap_nibbles(checksum);
    bin[1] = swap_nibbles(tl_length_code((uint32_t)size));
    bin[2] = (uint8_t)(q1r << 4 | q2r);
    for (size_t i = 0; i < TL_CODE_SIZE; i++) {
        bin[3 + i] = code[TL_CODE_SIZE - 1 - i];
    }
    out[0] = 'T';
    out[1] = '1';
    for (size_t i = 0; i < sizeof(bin); i++) {
        out[2 + 2 * i] = hexu[bin[i] >> 4];
        out[3 + 2 * i] = hexu[bin[i] & 15];
    }
    out[2 + TL_HEX_LEN] = '\0';
    return STRAIN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Distance                                                                                   */
/* ------------------------------------------------------------------------------------------ */

typedef struct tl_parsed {
    uint8_t checksum, lvalue, q1r, q2r;
    uint8_t code[TL_CODE_SIZE]; /* bucket order: code[0] holds buckets 0..3 */
} tl_parsed;

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* "T1" + 70 hex digits, or the 70 digits alone (TLSH 3.x); nothing before or after. */
static int tl_parse(tl_parsed *out, const char *d)
{
    if (d[0] == 'T' && d[1] == '1') {
        d += 2;
    }
    uint8_t bin[3 + TL_CODE_SIZE];
    for (size_t i = 0; i < sizeof(bin); i++) {
        int hi = hexval(d[2 * i]);
        if (hi < 0) {
            return STRAIN_EINVAL;
        }
        int lo = hexval(d[2 * i + 1]);
        if (lo < 0) {
            return STRAIN_EINVAL;
        }
        bin[i] = (uint8_t)(hi << 4 | lo);
    }
    if (d[TL_HEX_LEN] != '\0') {
        return STRAIN_EINVAL;
    }
    out->checksum = swap_nibbles(bin[0]);
    out->lvalue = swap_nibbles(bin[1]);
    out->q1r = bin[2] >> 4;
    out->q2r = bin[2] & 15;
    for (size_t i = 0; i < TL_CODE_SIZE; i++) {
        out->code[i] = bin[3 + TL_CODE_SIZE - 1 - i];
    }
    return STRAIN_OK;
}

/* Distance on a circle of r values. */
static int mod_diff(int x, int y, int r)
{
    int d = x > y ? x - y : y - x;
    return d < r - d ? d : r - d;
}

/* Small differences count for what they are, larger ones are weighted 12 per step. */
static int weigh_ratio(int d)
{
    return d <= 1 ? d : (d - 1) * 12;
}

int strain_tlsh_diff(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return STRAIN_EINVAL;
    }
    tl_parsed x, y;
    if (tl_parse(&x, a) < 0 || tl_parse(&y, b) < 0) {
        return STRAIN_EINVAL;
    }
    int diff = 0;
    int ld = mod_diff(x.lvalue, y.lvalue, 256);
    diff += ld <= 1 ? ld : ld * 12;
    diff += weigh_ratio(mod_diff(x.q1r, y.q1r, 16));
    diff += weigh_ratio(mod_diff(x.q2r, y.q2r, 16));
    diff += x.checksum != y.checksum;
    /* Quartile codes 0..3 per bucket: distance |a - b|, but opposite ends (3) count 6. */
    for (size_t i = 0; i < TL_CODE_SIZE; i++) {
        for (unsigned j = 0; j < 4; j++) {
            int u = (x.code[i] >> (2 * j)) & 3, v = (y.code[i] >> (2 * j)) & 3;
            int d = u > v ? u - v : v - u;
            diff += d == 3 ? 6 : d;
        }
    }
    return diff;
}
