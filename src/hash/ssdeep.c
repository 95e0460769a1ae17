/*
 * ssdeep context-triggered piecewise hashing (Kornblum, "Identifying almost identical files
 * using context triggered piecewise hashing", DFRWS 2006), producing exactly what the ssdeep
 * 2.14 command line prints, and its match score.
 *
 * The published scheme: a 7-byte rolling hash (a sum, a position-weighted sum and a
 * shift/xor word) marks a "trigger point" wherever rolling % blocksize == blocksize - 1; at each
 * trigger the FNV-style hash of the bytes since the previous trigger contributes one base64
 * character. Two strings are kept, for blocksize b and 2b. The blocksize starts at the
 * smallest 3 * 2^k with 3 * 2^k * 64 >= size and is halved while the first string is shorter
 * than 32 characters.
 *
 * Instead of re-reading the input for every halving (the original spamsum loop), one pass
 * feeds every candidate blocksize 3 * 2^i at once (ssdeep itself has since 2.13): the state of
 * blocksize i + 1 starts as a copy of blocksize i at the first trigger of i (before it,
 * both have hashed the same bytes, and every trigger of i + 1 is also a trigger of i), and
 * a blocksize is dropped as soon as the final choice can no longer fall on it. The outcome is
 * the same as the retry loop; the work is one pass.
 *
 * Only the low 6 bits of the FNV state ever reach the digest, and those depend only on the
 * low 6 bits of the previous state: (h * 0x01000193) mod 64 == (h * 0x13) mod 64, so the
 * state is a byte, and the states of 8 blocksizes are stepped together in one 64-bit word
 * (every lane always holds a value below 64, which the packed step relies on).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <strain/hash.h>

#define SS_LENGTH 64      /* characters of the first string */
#define SS_MIN_BS 3       /* smallest blocksize */
#define SS_NUM_BS 31      /* blocksizes 3 * 2^0 .. 3 * 2^30 */
#define SS_WINDOW 7       /* rolling-hash window */
#define SS_HASH_INIT 0x27 /* low 6 bits of the FNV offset 0x28021967 */
#define SS_PRIME_LOW 0x13 /* FNV prime 0x01000193 mod 64 */
/* The largest input the scheme defines: the largest blocksize times 64 characters. */
#define SS_MAX_TOTAL (((uint64_t)SS_MIN_BS << (SS_NUM_BS - 1)) * SS_LENGTH)

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

typedef struct ss_block {
    char halfdigest;
    uint32_t len; /* characters in digest (at most SS_LENGTH - 1 plus the open last one) */
    char digest[SS_LENGTH];
} ss_block;

/* Room to update 16 states as two 64-bit words from any live index. */
#define SS_LANES (SS_NUM_BS + 16)

typedef struct ss_state {
    uint32_t h1, h2, h3; /* rolling hash: sum, weighted sum, shift/xor */
    uint32_t wpos;
    uint8_t window[SS_WINDOW];
    uint32_t start, end; /* live blocksizes: [start, end) */
    /* Blocksizes below half_end may have 32 characters or more: only there does the second
     * string's state differ from the first's (both restart together until the 32nd). */
    uint32_t half_end;
    uint64_t total;
    bool need_last; /* the last blocksize has triggered: track what a next one would hash */
    uint8_t lasth;
    /* FNV states, one byte per blocksize, side by side so that 8 are updated at once.
     * halfh[i] is meaningful only once blocksize i has 32 characters (else it equals h[i]). */
    uint8_t h[SS_LANES];
    uint8_t halfh[SS_LANES];
    ss_block bh[SS_NUM_BS];
} ss_state;

static inline uint64_t bs_of(uint32_t i)
{
    return (uint64_t)SS_MIN_BS << i;
}

/* The state of the second string of blocksize i. */
static inline uint8_t half_of(const ss_state *s, uint32_t i)
{
    return s->bh[i].len >= SS_LENGTH / 2 ? s->halfh[i] : s->h[i];
}

/*
 * One FNV step on 8 states packed in a word, each < 64: h * 0x13 mod 64 is
 * h + (2h mod 64) + (16h mod 64); the masks keep each shifted lane's bits from its own lane,
 * and the sum (< 256) never carries into the next lane.
 */
static inline uint64_t fnv6_x8(uint64_t x, uint64_t cc)
{
    const uint64_t m3e = 0x3e3e3e3e3e3e3e3eull, m30 = 0x3030303030303030ull,
                   m3f = 0x3f3f3f3f3f3f3f3full;
    x = x + ((x << 1) & m3e) + ((x << 4) & m30);
    return (x ^ cc) & m3f;
}

static inline uint64_t load8(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof(x));
    return x;
}

static inline void store8(uint8_t *p, uint64_t x)
{
    memcpy(p, &x, sizeof(x));
}

static inline uint8_t fnv6(uint8_t h, uint8_t c)
{
    return (uint8_t)(((uint32_t)h * SS_PRIME_LOW ^ c) & 63);
}

/* The first trigger of the last live blocksize: open the next one from a copy of its state. */
static void fork_next(ss_state *s)
{
    uint32_t last = s->end - 1;
    if (s->end < SS_NUM_BS) {
        ss_block *next = &s->bh[last + 1];
        s->h[last + 1] = s->h[last];
        s->halfh[last + 1] = s->h[last];
        next->halfdigest = '\0';
        next->len = 0;
        next->digest[0] = '\0';
        s->end++;
    } else if (!s->need_last) {
        s->need_last = true;
        s->lasth = s->h[last];
    }
}

/*
 * The smallest live blocksize has filled its string: drop it when the final choice cannot be
 * it any more, that is when the size already asks for a larger blocksize and the next one
 * already has the 32 characters that stop the halving.
 */
static void maybe_drop_first(ss_state *s)
{
    if (s->end - s->start < 2) {
        return;
    }
    if (bs_of(s->start) * SS_LENGTH >= s->total) {
        return;
    }
    if (s->bh[s->start + 1].len < SS_LENGTH / 2) {
        return;
    }
    s->start++;
}

static void ss_init(ss_state *s)
{
    memset(s, 0, sizeof(*s));
    s->end = 1;
    s->h[0] = SS_HASH_INIT;
    s->halfh[0] = SS_HASH_INIT;
}

/* A trigger point for blocksizes start..top: each closes a piece (one character). */
static void on_trigger(ss_state *s, uint32_t top)
{
    for (uint32_t i = s->start; i < s->end && i <= top; i++) {
        ss_block *b = &s->bh[i];
        if (b->len == 0) {
            fork_next(s);
        }
        uint8_t h = s->h[i];
        b->digest[b->len] = b64[h];
        b->halfdigest = b64[half_of(s, i)];
        if (b->len < SS_LENGTH - 1) {
            b->len++;
            b->digest[b->len] = '\0';
            s->h[i] = SS_HASH_INIT;
            if (b->len < SS_LENGTH / 2) {
                b->halfdigest = '\0';
            } else if (b->len == SS_LENGTH / 2) {
                /* From here the second string's piece runs on instead of restarting. */
                s->halfh[i] = h;
                if (s->half_end < i + 1) {
                    s->half_end = i + 1;
                }
            }
        } else {
            /* String full: its last character keeps absorbing until the end. */
            maybe_drop_first(s);
        }
    }
}

/*
 * Feeds p[k..n) until a byte that triggers a live blocksize; returns its index (after
 * feeding it) with *top set, or n. Between two triggers the live set is fixed, so the states
 * of blocksizes start..start+15 stay in registers (a chain through memory would cost a
 * store-to-load forward per byte); `general` (a constant at each call, so the compiler
 * makes two loops) also updates the rare states past those 16 and the top one.
 */
static inline __attribute__((always_inline)) size_t
scan(ss_state *s, const uint8_t *p, size_t k, size_t n, uint32_t *top_out, const bool general)
{
    uint32_t h1 = s->h1, h2 = s->h2, h3 = s->h3, wpos = s->wpos;
    uint8_t window[SS_WINDOW];
    memcpy(window, s->window, sizeof(window));
    const uint32_t start = s->start, end = s->end, half_end = s->half_end;
    uint64_t hw0 = load8(&s->h[start]), hw1 = load8(&s->h[start + 8]);
    uint64_t hh0 = load8(&s->halfh[start]), hh1 = load8(&s->halfh[start + 8]);
    for (; k < n; k++) {
        uint8_t c = p[k];
        /* Rolling hash over the last 7 bytes. */
        h2 -= h1;
        h2 += SS_WINDOW * (uint32_t)c;
        h1 += c;
        h1 -= window[wpos];
        window[wpos] = c;
        wpos = wpos + 1 == SS_WINDOW ? 0 : wpos + 1;
        h3 = (h3 << 5) ^ c;
        uint32_t roll = h1 + h2 + h3;

        /* Feed c to every live piece (lanes past `end` are unused, so harmless). */
        uint64_t cc = (uint64_t)(c & 63) * 0x0101010101010101ull;
        hw0 = fnv6_x8(hw0, cc);
        hh0 = fnv6_x8(hh0, cc);
        if (general) {
            hw1 = fnv6_x8(hw1, cc);
            hh1 = fnv6_x8(hh1, cc);
            for (uint32_t i = start + 16; i < end; i += 8) {
                store8(&s->h[i], fnv6_x8(load8(&s->h[i]), cc));
            }
            for (uint32_t i = start + 16; i < half_end; i += 8) {
                store8(&s->halfh[i], fnv6_x8(load8(&s->halfh[i]), cc));
            }
            if (s->need_last) {
                s->lasth = fnv6(s->lasth, c);
            }
        }
        /*
         * roll % (3 * 2^i) == 3 * 2^i - 1  <=>  3 * 2^i divides roll + 1  <=>  3 divides it and
         * it has at least i trailing zero bits: one test for every blocksize at once. Written
         * without a branch on "divisible by 3", true a third of the time and so constantly
         * mispredicted; the remaining branch is rarely taken once start > 0.
         */
        uint64_t r1 = (uint64_t)roll + 1; /* > 0 */
        uint32_t top = (uint32_t)__builtin_ctzll(r1);
        uint32_t is3 = (uint32_t)(r1 % 3 == 0);
        if (((top + 1) & (0u - is3)) > start) {
            *top_out = top;
            break;
        }
    }
    store8(&s->h[start], hw0);
    store8(&s->h[start + 8], hw1);
    store8(&s->halfh[start], hh0);
    store8(&s->halfh[start + 8], hh1);
    memcpy(s->window, window, sizeof(window));
    s->h1 = h1;
    s->h2 = h2;
    s->h3 = h3;
    s->wpos = wpos;
    return k;
}

static void ss_update(ss_state *s, const uint8_t *p, size_t n)
{
    /* The size is known up front: dropping blocksizes early only needs a lower bound of the
     * final size, and this is the exact one. */
    s->total += n;
    size_t k = 0;
    while (k < n) {
        uint32_t top = 0;
        /* The common case: at most 8 live blocksizes (dropping keeps the range short). */
        if (s->end <= s->start + 8 && s->half_end <= s->start + 8 && !s->need_last) {
            k = scan(s, p, k, n, &top, false);
        } else {
            k = scan(s, p, k, n, &top, true);
        }
        if (k < n) {
            on_trigger(s, top);
            k++;
        }
    }
}

static void ss_digest(const ss_state *s, char out[STRAIN_SSDEEP_MAX])
{
    uint32_t roll = s->h1 + s->h2 + s->h3;
    uint32_t bi = s->start;
    /* The blocksize the size asks for, then halved while the string is too short. */
    while (bs_of(bi) * SS_LENGTH < s->total) {
        bi++;
    }
    if (bi >= s->end) {
        bi = s->end - 1;
    }
    while (bi > s->start && s->bh[bi].len < SS_LENGTH / 2) {
        bi--;
    }
    char *o = out;
    o += snprintf(o, 24, "%llu:", (unsigned long long)bs_of(bi));
    const ss_block *b = &s->bh[bi];
    memcpy(o, b->digest, b->len);
    o += b->len;
    /* The bytes after the last trigger count as one more piece, unless the rolling hash
     * ends at zero (spamsum's rule). A full string holds that piece in its last slot. */
    if (roll != 0) {
        *o++ = b64[s->h[bi]];
    } else if (b->digest[b->len] != '\0') {
        *o++ = b->digest[b->len];
    }
    *o++ = ':';
    if (bi < s->end - 1) {
        const ss_block *b2 = &s->bh[bi + 1];
        uint32_t n = b2->len < SS_LENGTH / 2 - 1 ? b2->len : SS_LENGTH / 2 - 1;
        memcpy(o, b2->digest, n);
        o += n;
        if (roll != 0) {
            *o++ = b64[half_of(s, bi + 1)];
        } else if (b2->halfdigest != '\0') {
            *o++ = b2->halfdigest;
        }
    } else if (roll != 0) {
        /* No larger blocksize was ever opened: it would have hashed every byte since the
         * start, exactly like blocksize 0 (or like lasth at the top). */
        *o++ = b64[bi == 0 ? s->h[bi] : s->lasth];
    }
    *o = '\0';
}

int strain_hash_ssdeep(char out[STRAIN_SSDEEP_MAX], const void *data, size_t size)
{
    if (out == NULL || (data == NULL && size > 0)) {
        return STRAIN_EINVAL;
    }
    out[0] = '\0';
    if ((uint64_t)size > SS_MAX_TOTAL) {
        return STRAIN_ELIMIT;
    }
    ss_state s;
    ss_init(&s);
    ss_update(&s, data, size);
    ss_digest(&s, out);
    return STRAIN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Comparison                                                                                 */
/* ------------------------------------------------------------------------------------------ */

typedef struct ss_parsed {
    uint64_t bs;
    size_t len1, len2;
    char s1[SS_LENGTH];
    char s2[SS_LENGTH];
} ss_parsed;

/* Copies at most SS_LENGTH characters, keeping at most 3 of any run of one character:
 * long runs say little about similarity and would inflate scores. */
static size_t copy_squeezed(char *dst, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= 3 && src[i] == src[i - 1] && src[i] == src[i - 2] && src[i] == src[i - 3]) {
            continue;
        }
        dst[o++] = src[i];
    }
    return o;
}

/*
 * "blocksize:string1:string2", string2 ending at the end or at a ',' (signature files put
 * the file name there). Strict: decimal blocksize without sign or blanks, strings of at most
 * 64 characters. Digest strings come from outside, so everything is checked.
 */
static int ss_parse(ss_parsed *out, const char *d)
{
    uint64_t bs = 0;
    const char *p = d;
    if (*p < '0' || *p > '9') {
        return STRAIN_EINVAL;
    }
    while (*p >= '0' && *p <= '9') {
        if (bs > (UINT64_MAX - 9) / 10) {
            return STRAIN_EINVAL;
        }
        bs = bs * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (*p != ':') {
        return STRAIN_EINVAL;
    }
    const char *a = p + 1;
    const char *colon = strchr(a, ':');
    if (colon == NULL) {
        return STRAIN_EINVAL;
    }
    size_t la = (size_t)(colon - a);
    const char *b = colon + 1;
    size_t lb = strcspn(b, ",");
    if (la > SS_LENGTH || lb > SS_LENGTH) {
        return STRAIN_EINVAL;
    }
    out->bs = bs;
    out->len1 = copy_squeezed(out->s1, a, la);
    out->len2 = copy_squeezed(out->s2, b, lb);
    return STRAIN_OK;
}

/* Whether the strings share a substring of SS_WINDOW characters (the trigger window: a
 * shared piece of input yields at least that many equal characters in a row). */
static bool common_substring(const char *a, size_t la, const char *b, size_t lb)
{
    if (la < SS_WINDOW || lb < SS_WINDOW) {
        return false;
    }
    for (size_t i = 0; i + SS_WINDOW <= la; i++) {
        for (size_t j = 0; j + SS_WINDOW <= lb; j++) {
            if (a[i] == b[j] && memcmp(a + i, b + j, SS_WINDOW) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* Edit distance with insertion and deletion costing 1 and substitution 2 (so it is
 * la + lb - 2 * longest common subsequence). */
static uint32_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    uint32_t row[SS_LENGTH + 1];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = (uint32_t)j;
    }
    for (size_t i = 1; i <= la; i++) {
        uint32_t diag = row[0];
        row[0] = (uint32_t)i;
        for (size_t j = 1; j <= lb; j++) {
            uint32_t up = row[j];
            uint32_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 2);
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

static uint32_t score_strings(const char *a, size_t la, const char *b, size_t lb, uint64_t bs)
{
    if (!common_substring(a, la, b, lb)) {
        return 0;
    }
    uint32_t d = edit_distance(a, la, b, lb);
    /* Changes per character on a 0..64 scale, then to 0..100 with 100 the best match. */
    uint32_t score = (uint32_t)((d * SS_LENGTH) / (la + lb));
    score = (100 * score) / SS_LENGTH;
    if (score >= 100) {
        return 0;
    }
    score = 100 - score;
    /* With small blocksizes few bytes make a string: cap the score by the bytes matched. */
    const uint64_t no_cap_from = (99 + SS_WINDOW) / SS_WINDOW * SS_MIN_BS;
    if (bs >= no_cap_from) {
        return score;
    }
    uint64_t cap = bs / SS_MIN_BS * (la < lb ? la : lb);
    return score > cap ? (uint32_t)cap : score;
}

int strain_ssdeep_compare(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return STRAIN_EINVAL;
    }
    ss_parsed x, y;
    if (ss_parse(&x, a) < 0 || ss_parse(&y, b) < 0) {
        return STRAIN_EINVAL;
    }
    /* Only equal blocksizes or a factor of two can be compared. */
    bool same = x.bs == y.bs;
    bool x_half = x.bs <= UINT64_MAX / 2 && x.bs * 2 == y.bs;
    bool y_half = y.bs <= UINT64_MAX / 2 && y.bs * 2 == x.bs;
    if (!same && !x_half && !y_half) {
        return 0;
    }
    if (same && x.len1 == y.len1 && x.len2 == y.len2 && memcmp(x.s1, y.s1, x.len1) == 0 &&
        memcmp(x.s2, y.s2, x.len2) == 0) {
        return 100;
    }
    uint32_t score;
    if (same) {
        uint32_t s1 = score_strings(x.s1, x.len1, y.s1, y.len1, x.bs);
        uint32_t s2 =
            x.bs <= UINT64_MAX / 2 ? score_strings(x.s2, x.len2, y.s2, y.len2, x.bs * 2) : 0;
        score = s1 > s2 ? s1 : s2;
    } else if (x_half) {
        score = score_strings(x.s2, x.len2, y.s1, y.len1, y.bs);
    } else {
        score = score_strings(x.s1, x.len1, y.s2, y.len2, x.bs);
    }
    return (int)score;
}
