/*
 * Sorting arrays of 64-bit hashes: the comparator qsort and bsearch need, and sort-then-
 * deduplicate, which genome sets, LSH candidates, name features and certificate peers all do,
 * and the size of the intersection of two such sets, which comparisons and clustering take.
 */
#ifndef STRAIN_UTIL_U64SORT_H
#define STRAIN_UTIL_U64SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* qsort/bsearch comparator over uint64_t, ascending. */
int strain_u64_cmp(const void *a, const void *b);
/* Sorts v ascending and removes duplicates in place; returns the new count. */
size_t strain_u64_sort_unique(uint64_t *v, size_t n);
/* Whether sorted v[0..n) holds x (binary search). */
bool strain_u64_has(const uint64_t *v, size_t n, uint64_t x);
/* How many values two sorted, unique arrays share (one merge pass). */
size_t strain_u64_common(const uint64_t *a, size_t na, const uint64_t *b, size_t nb);

#endif
