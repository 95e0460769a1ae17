#ifndef STRAIN_UTIL_HEX_H
#define STRAIN_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of n bytes into out (2n+1 chars, NUL-terminated). */
void strain_hex_encode(char *out, const uint8_t *in, size_t n);
/* Uppercase variant (TLSH, certificate thumbprints as tools print them). */
void strain_hex_encode_upper(char *out, const uint8_t *in, size_t n);

#endif
