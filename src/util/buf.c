/* Growable buffer: doubles capacity; every size computation is overflow-checked. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/common.h>

#include "util/buf.h"

int strain_buf_grow(strain_buf *b, size_t extra)
{
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need)) {
        return STRAIN_ENOMEM;
    }
    if (need <= b->cap) {
        return STRAIN_OK;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap)) {
            cap = need;
            break;
        }
    }
    char *p = realloc(b->ptr, cap);
    if (p == NULL) {
        return STRAIN_ENOMEM;
    }
    b->ptr = p;
    b->cap = cap;
    return STRAIN_OK;
}

int strain_buf_put(strain_buf *b, const void *data, size_t n)
{
    if (strain_buf_grow(b, n) < 0) {
        return STRAIN_ENOMEM;
    }
    if (n > 0) {
        memcpy(b->ptr + b->len, data, n);
    }
    b->len += n;
    b->ptr[b->len] = '\0';
    return STRAIN_OK;
}

int strain_buf_puts(strain_buf *b, const char *s)
{
    return strain_buf_put(b, s, strlen(s));
}

int strain_buf_putc(strain_buf *b, char c)
{
    return strain_buf_put(b, &c, 1);
}

int strain_buf_printf(strain_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return STRAIN_ERROR;
    }
    if (strain_buf_grow(b, (size_t)n) < 0) {
        return STRAIN_ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return STRAIN_OK;
}

void strain_buf_clear(strain_buf *b)
{
    b->len = 0;
    if (b->ptr != NULL) {
        b->ptr[0] = '\0';
    }
}

char *strain_buf_detach(strain_buf *b)
{
    if (b->ptr == NULL && strain_buf_grow(b, 0) < 0) {
        return NULL;
    }
    if (b->len == 0) {
        b->ptr[0] = '\0';
    }
    char *p = b->ptr;
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}

void strain_buf_free(strain_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}
