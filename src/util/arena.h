/*
 * A bump allocator for parse results: a parsed binary holds hundreds of small strings and
 * arrays that all die together, so they live in one arena freed at once. No per-object free,
 * no ownership bookkeeping, and a hostile file cannot leak memory through an error path.
 */
#ifndef STRAIN_UTIL_ARENA_H
#define STRAIN_UTIL_ARENA_H

#include <stddef.h>

typedef struct strain_arena_block strain_arena_block;

typedef struct strain_arena {
    strain_arena_block *head;
    size_t total; /* bytes handed out, for limits and tests */
} strain_arena;

/* Zeroed memory of n bytes (aligned for any type), or NULL when out of memory. */
void *strain_arena_alloc(strain_arena *a, size_t n);
/* Zeroed array of count items of size bytes, NULL on overflow or out of memory. */
void *strain_arena_array(strain_arena *a, size_t count, size_t size);
/* Copy of n bytes plus a NUL. */
char *strain_arena_strndup(strain_arena *a, const char *s, size_t n);
char *strain_arena_strdup(strain_arena *a, const char *s);
/* printf into the arena. */
char *strain_arena_printf(strain_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strain_arena_release(strain_arena *a);

#endif
