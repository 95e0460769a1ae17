/* Shannon entropy over byte frequencies (as pefile's get_entropy computes it). */
#include <math.h>

#include "util/entropy.h"

double strain_entropy(const uint8_t *p, size_t n)
{
    if (n == 0) {
        return 0.0;
    }
    /* Four histograms summed at the end: with one, runs of the same byte (padding, zero
     * fill) make every increment wait for the previous one to be stored; the counts are the
     * same. Every section is measured on each parse, so this is ~2% of `strain genes`. */
    uint32_t f4[4][256] = {{0}};
    uint64_t freq[256] = {0};
    size_t i = 0;
    while (i < n) {
        size_t end = n - i > ((size_t)1 << 30) ? i + ((size_t)1 << 30) : n; /* no u32 overflow */
        for (; i + 4 <= end; i += 4) {
            f4[0][p[i]]++;
            f4[1][p[i + 1]]++;
            f4[2][p[i + 2]]++;
            f4[3][p[i + 3]]++;
        }
        for (; i < end; i++) {
            f4[0][p[i]]++;
        }
        for (int b = 0; b < 256; b++) {
            freq[b] += (uint64_t)f4[0][b] + f4[1][b] + f4[2][b] + f4[3][b];
            f4[0][b] = f4[1][b] = f4[2][b] = f4[3][b] = 0;
        }
    }
    double h = 0.0;
    for (int b = 0; b < 256; b++) {
        if (freq[b] != 0) {
            double q = (double)freq[b] / (double)n;
            h -= q * log2(q);
        }
    }
    return h;
}
