/* Hex encoding. */
#include "util/hex.h"

static void encode(char *out, const uint8_t *in, size_t n, const char *digits)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void strain_hex_encode(char *out, const uint8_t *in, size_t n)
{
    encode(out, in, n, "0123456789abcdef");
}

void strain_hex_encode_upper(char *out, const uint8_t *in, size_t n)
{
    encode(out, in, n, "0123456789ABCDEF");
}
