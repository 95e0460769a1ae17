/* Bump allocator: blocks of 64 KiB, larger requests get a block of their own. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

#define ARENA_BLOCK 65536u
#define ARENA_ALIGN 16u

struct strain_arena_block {
    strain_arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *strain_arena_alloc(strain_arena *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN) {
        return NULL;
    }
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) {
        need = ARENA_ALIGN;
    }
    strain_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < need) {
        size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        /* A big one-off block goes behind the head so the head keeps its free space. */
        if (a->head != NULL && cap > ARENA_BLOCK) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, n);
    return p;
}

void *strain_arena_array(strain_arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        return NULL;
    }
    return strain_arena_alloc(a, n);
}

char *strain_arena_strndup(strain_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) {
        return NULL;
    }
    char *d = strain_arena_alloc(a, n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *strain_arena_strdup(strain_arena *a, const char *s)
{
    return strain_arena_strndup(a, s, strlen(s));
}

char *strain_arena_printf(strain_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *d = strain_arena_alloc(a, (size_t)n + 1);
    if (d != NULL) {
        va_start(ap, fmt);
        vsnprintf(d, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return d;
}

void strain_arena_release(strain_arena *a)
{
    strain_arena_block *b = a->head;
    while (b != NULL) {
        strain_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}
