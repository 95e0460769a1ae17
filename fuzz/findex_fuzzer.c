/*
 * libFuzzer harness for the read index reader (src/store/feature_index.c): the input is an
 * index image. The store maps such a file from disk beside the database, so a damaged or
 * crafted one must give at most wrong answers, never a read outside the image. Every key the
 * image claims to hold is looked up, with its counts and postings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/feature_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fidx x;
    /* the map is page-aligned; a copy gives the harness's sanitizer exact bounds */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    if (fidx_open(&x, copy, size)) {
        uint64_t budget = 1u << 16;
        for (uint32_t k = 0; k < x.n_kinds; k++) {
            for (uint64_t i = 0; i < x.kinds[k].count && budget > 0; i++, budget--) {
                uint64_t pos = x.kinds[k].first + i;
                uint64_t hash = 0;
                memcpy(&hash, copy + x.hashes_off + 8 * pos, 8);
                uint64_t found;
                uint32_t a, b, c;
                uint64_t first, n;
                if (fidx_find(&x, x.kinds[k].kind, hash, &found)) {
                    fidx_counts(&x, found, &a, &b, &c);
                    if (fidx_postings(&x, found, &first, &n)) {
                        for (uint64_t j = 0; j < n && budget > 0; j++, budget--) {
                            int64_t id;
                            uint64_t payload;
                            fidx_posting(&x, first + j, &id, &payload);
                        }
                    }
                }
                /* absent keys and kinds too */
                fidx_find(&x, x.kinds[k].kind, hash ^ 1, &found);
                fidx_find(&x, x.kinds[k].kind + 1000, hash, &found);
            }
        }
    }
    free(copy);
    return 0;
}
