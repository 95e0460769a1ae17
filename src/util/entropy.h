#ifndef STRAIN_UTIL_ENTROPY_H
#define STRAIN_UTIL_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

/* Shannon entropy in bits per byte (0..8); 0 for empty input. */
double strain_entropy(const uint8_t *p, size_t n);

#endif
