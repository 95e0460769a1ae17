/* Error codes to text, and the context's last-error detail. */
#include <stdarg.h>
#include <stdio.h>

#include "util/ctx.h"
#include "util/err.h"

const char *strain_strerror(int err)
{
    switch (err) {
    case STRAIN_OK: return "success";
    case STRAIN_ERROR: return "error";
    case STRAIN_ENOMEM: return "out of memory";
    case STRAIN_EINVAL: return "invalid argument";
    case STRAIN_EIO: return "input/output error";
    case STRAIN_EFORMAT: return "unrecognised format";
    case STRAIN_EMALFORMED: return "malformed input";
    case STRAIN_ELIMIT: return "limit exceeded";
    case STRAIN_ENOTFOUND: return "not found";
    case STRAIN_ESTORE: return "store error";
    case STRAIN_EPASSWORD: return "wrong or missing password";
    default: return "unknown error";
    }
}

int strain__fail(strain_ctx *ctx, int err, const char *fmt, ...)
{
    if (ctx != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
        va_end(ap);
    }
    return err;
}
