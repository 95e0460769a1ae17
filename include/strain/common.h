/*
 * strain/common.h: what every part of the API shares: export macro, error codes, the
 * context that carries limits and the last error's detail, and the version.
 */
#ifndef STRAIN_COMMON_H
#define STRAIN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(STRAIN_BUILDING)
#define STRAIN_API __attribute__((visibility("default")))
#else
#define STRAIN_API
#endif

/* Append only: never renumber or remove (users store these). */
typedef enum strain_err {
    STRAIN_OK = 0,
    STRAIN_ERROR = -1,
    STRAIN_ENOMEM = -2,
    STRAIN_EINVAL = -3,
    STRAIN_EIO = -4,
    STRAIN_EFORMAT = -5,
    STRAIN_EMALFORMED = -6,
    STRAIN_ELIMIT = -7,
    STRAIN_ENOTFOUND = -8,
    STRAIN_ESTORE = -9,
    STRAIN_EPASSWORD = -10,
} strain_err;

/* Static text for an error code; never NULL. Thread-safe. */
STRAIN_API const char *strain_strerror(int err);

/*
 * Limits that hostile input cannot get past. Every field has a default (see
 * src/util/limits.h for where each number comes from); 0 never means "unlimited".
 */
typedef struct strain_limits {
    uint64_t max_file_size;      /* one sample, bytes */
    uint64_t max_total_unpacked; /* all members of one archive argument, bytes */
    uint64_t max_members;        /* members of one archive argument (nested included) */
    uint32_t max_depth;          /* archive-in-archive nesting */
    uint32_t max_ratio;          /* unpacked/packed bytes of one member (zip bombs) */
    uint32_t max_dir_depth;      /* directory recursion */
} strain_limits;

/* Fills *out with the defaults. */
STRAIN_API void strain_limits_default(strain_limits *out);

/*
 * A context: one per thread. Holds the limits and the detail of the last failure.
 * Create with strain_ctx_new(), free with strain_ctx_free(). Not thread-safe: use one per
 * thread.
 */
typedef struct strain_ctx strain_ctx;

STRAIN_API int strain_ctx_new(strain_ctx **out);
STRAIN_API void strain_ctx_free(strain_ctx *ctx);
/* Borrowed pointer to the context's limits; callers may change fields. */
STRAIN_API strain_limits *strain_ctx_limits(strain_ctx *ctx);
/* Detail of the last failure ("import directory points outside the file"); never NULL,
 * "" when none. Valid until the next call that fails with this context. */
STRAIN_API const char *strain_ctx_errmsg(const strain_ctx *ctx);

/* "0.1.0" */
STRAIN_API const char *strain_version(void);

/* Lowercase hex digest buffers, NUL included. */
#define STRAIN_MD5_HEX 33
#define STRAIN_SHA1_HEX 41
#define STRAIN_SHA256_HEX 65

#ifdef __cplusplus
}
#endif
#endif
