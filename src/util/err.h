/*
 * Internal error helpers: STRAIN_TRY for the single exit path, and strain__fail() which
 * records a formatted detail in the context and returns the code, so a failure is one line.
 */
#ifndef STRAIN_UTIL_ERR_H
#define STRAIN_UTIL_ERR_H

#include <strain/common.h>

#define STRAIN_TRY(e)                                                                              \
    do {                                                                                           \
        if ((err = (e)) < 0) {                                                                     \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/* Records the detail (printf-style) in ctx (may be NULL) and returns err. */
int strain__fail(strain_ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
