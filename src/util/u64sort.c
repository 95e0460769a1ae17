/* Sorting arrays of 64-bit hashes (see u64sort.h). */
#include "util/u64sort.h"

#include <stdlib.h>

int strain_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t strain_u64_sort_unique(uint64_t *v, size_t n)
{
    if (n == 0) {
        return 0; /* qsort(NULL, 0) is undefined */
    }
    qsort(v, n, sizeof(*v), strain_u64_cmp);
    size_t m = 1;
    for (size_t i = 1; i < n; i++) {
        if (v[i] != v[m - 1]) {
            v[m++] = v[i];
        }
    }
    return m;
}

bool strain_u64_has(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && v[lo] == x;
}

size_t strain_u64_common(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0, both = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            both++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    return both;
}
