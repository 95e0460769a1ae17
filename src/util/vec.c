/* Growable array: doubling growth, overflow-checked sizes. */
#include <stdlib.h>
#include <string.h>

#include <strain/common.h>

#include "util/vec.h"

int strain_vec_reserve(strain_vec *v, size_t n)
{
    if (n <= v->cap) {
        return STRAIN_OK;
    }
    size_t cap = v->cap ? v->cap : 8;
    while (cap < n) {
        if (__builtin_mul_overflow(cap, 2, &cap)) {
            return STRAIN_ENOMEM;
        }
    }
    size_t bytes;
    if (__builtin_mul_overflow(cap, v->item_size, &bytes)) {
        return STRAIN_ENOMEM;
    }
    void *p = realloc(v->items, bytes);
    if (p == NULL) {
        return STRAIN_ENOMEM;
    }
    v->items = p;
    v->cap = cap;
    return STRAIN_OK;
}

void *strain_vec_push(strain_vec *v)
{
    if (v->len == v->cap && strain_vec_reserve(v, v->len + 1) < 0) {
        return NULL;
    }
    void *slot = (char *)v->items + v->len * v->item_size;
    memset(slot, 0, v->item_size);
    v->len++;
    return slot;
}

void strain_vec_free(strain_vec *v)
{
    free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}
