/* Shannon entropy over byte frequencies (as pefile's get_entropy computes it). */
#include <math.h>

#include "util/entropy.h"

double strain_entropy(const uint8_t *p, size_t n)
{
    if (n == 0) {
        return 0.0;
    }
    uint64_t freq[256] = {0};
    for (size_t i = 0; i < n; i++) {
        freq[p[i]]++;
    }
    double h = 0.0;
    for (int i = 0; i < 256; i++) {
        if (freq[i] != 0) {
            double q = (double)freq[i] / (double)n;
            h -= q * log2(q);
        }
    }
    return h;
}
