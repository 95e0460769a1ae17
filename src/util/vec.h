/*
 * A growable array of fixed-size items. Push returns a zeroed slot to fill, so callers
 * never compute element addresses themselves.
 */
#ifndef STRAIN_UTIL_VEC_H
#define STRAIN_UTIL_VEC_H

#include <stddef.h>

typedef struct strain_vec {
    void *items;
    size_t len;
    size_t cap;
    size_t item_size;
} strain_vec;

#define STRAIN_VEC_INIT(type) {NULL, 0, 0, sizeof(type)}
#define STRAIN_VEC_AT(v, type, i) (&((type *)(v)->items)[(i)])

/* A zeroed new last item, or NULL when out of memory (vector unchanged). */
void *strain_vec_push(strain_vec *v);
/* Makes room for at least n items in total. 0 or STRAIN_ENOMEM. */
int strain_vec_reserve(strain_vec *v, size_t n);
void strain_vec_free(strain_vec *v);

#endif
