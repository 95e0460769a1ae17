/*
 * libFuzzer harness for the fuzzy hashes: hashes the input with ssdeep and TLSH (a digest of
 * anything must be well formed, compare to itself as identical, and fit its buffer), then
 * feeds the digest parsers what an imported digest could be: the raw input split at a NUL,
 * and well-formed-looking digests built from the input so the scoring code runs too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strain/hash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex[] = "0123456789ABCDEF";

/* "bs:s1:s2" with lengths and characters taken from the input (a small alphabet so that
 * shared 7-character runs, and so non-zero scores, happen). */
static size_t make_ssdeep(char *out, const uint8_t *p, size_t n, unsigned bs_shift)
{
    size_t o = 0, k = 0;
    unsigned long long bs = 3ull << (bs_shift % 40);
    char num[24];
    size_t nl = 0;
    do {
        num[nl++] = (char)('0' + bs % 10);
        bs /= 10;
    } while (bs > 0);
    while (nl > 0) {
        out[o++] = num[--nl];
    }
    out[o++] = ':';
    size_t l1 = n > 0 ? p[k++ % n] % 70 : 0;
    for (size_t i = 0; i < l1; i++) {
        out[o++] = n > 0 ? b64[p[k++ % n] % 8] : 'A';
    }
    out[o++] = ':';
    size_t l2 = n > 0 ? p[k++ % n] % 40 : 0;
    for (size_t i = 0; i < l2; i++) {
        out[o++] = n > 0 ? b64[p[k++ % n] % 8] : 'A';
    }
    out[o] = '\0';
    return o;
}

static void make_tlsh(char *out, const uint8_t *p, size_t n, size_t skip)
{
    memcpy(out, "T1", 2);
    for (size_t i = 0; i < 70; i++) {
        out[2 + i] = n > 0 ? hex[p[(skip + i) % n] & 15] : '0';
    }
    out[72] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[STRAIN_SSDEEP_MAX], t[STRAIN_TLSH_MAX];
    if (strain_hash_ssdeep(s, data, size) == 0) {
        if (strlen(s) >= STRAIN_SSDEEP_MAX || strain_ssdeep_compare(s, s) != 100) {
            abort();
        }
    }
    if (strain_hash_tlsh(t, data, size) == 0 && strcmp(t, "TNULL") != 0) {
        if (strlen(t) != 72 || strain_tlsh_diff(t, t) != 0) {
            abort();
        }
    }

    /* Arbitrary strings: the input up to a NUL, and what follows it. */
    char *copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *a = copy;
    const char *b = copy + strlen(copy);
    if (b < copy + size) {
        b++;
    }
    (void)strain_ssdeep_compare(a, b);
    (void)strain_ssdeep_compare(a, s);
    (void)strain_tlsh_diff(a, b);
    (void)strain_tlsh_diff(a, t);

    /* Plausible digests, so parsing succeeds and the scores are computed. */
    char x[200], y[200];
    unsigned shift = size > 0 ? data[0] : 0;
    make_ssdeep(x, data, size, shift);
    make_ssdeep(y, size > 1 ? data + 1 : data, size > 1 ? size - 1 : size,
                shift + (size > 2 ? data[2] % 3 : 0));
    /* Strings past 64 characters are refused; otherwise a score, the same both ways. */
    int sc = strain_ssdeep_compare(x, y);
    if (sc > 100 || strain_ssdeep_compare(y, x) != sc) {
        abort();
    }
    make_tlsh(x, data, size, 0);
    make_tlsh(y, data, size, size / 2);
    int d = strain_tlsh_diff(x, y);
    if (d < 0 || strain_tlsh_diff(y, x) != d) {
        abort();
    }
    free(copy);
    return 0;
}
