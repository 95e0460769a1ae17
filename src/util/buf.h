/* A growable byte buffer that is always NUL-terminated, for building text and blobs. */
#ifndef STRAIN_UTIL_BUF_H
#define STRAIN_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct strain_buf {
    char *ptr;   /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} strain_buf;

#define STRAIN_BUF_INIT {NULL, 0, 0}

/* Each returns 0 or STRAIN_ENOMEM; on failure the buffer is unchanged. */
int strain_buf_grow(strain_buf *b, size_t extra);
int strain_buf_put(strain_buf *b, const void *data, size_t n);
int strain_buf_puts(strain_buf *b, const char *s);
int strain_buf_putc(strain_buf *b, char c);
int strain_buf_printf(strain_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strain_buf_clear(strain_buf *b);
/* Hands the memory to the caller (free()); the buffer is reset. Never NULL unless OOM. */
char *strain_buf_detach(strain_buf *b);
void strain_buf_free(strain_buf *b);

#endif
