/* Context lifecycle and default limits. */
#include <stdlib.h>

#include "util/ctx.h"
#include "util/limits.h"
#include "strain_version.h"

void strain_limits_default(strain_limits *out)
{
    out->max_file_size = STRAIN_DEFAULT_MAX_FILE_SIZE;
    out->max_total_unpacked = STRAIN_DEFAULT_MAX_TOTAL_UNPACKED;
    out->max_members = STRAIN_DEFAULT_MAX_MEMBERS;
    out->max_depth = STRAIN_DEFAULT_MAX_DEPTH;
    out->max_ratio = STRAIN_DEFAULT_MAX_RATIO;
    out->max_dir_depth = STRAIN_DEFAULT_MAX_DIR_DEPTH;
}

int strain_ctx_new(strain_ctx **out)
{
    if (out == NULL) {
        return STRAIN_EINVAL;
    }
    strain_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        return STRAIN_ENOMEM;
    }
    strain_limits_default(&ctx->limits);
    *out = ctx;
    return STRAIN_OK;
}

void strain_ctx_free(strain_ctx *ctx)
{
    free(ctx);
}

strain_limits *strain_ctx_limits(strain_ctx *ctx)
{
    return &ctx->limits;
}

const char *strain_ctx_errmsg(const strain_ctx *ctx)
{
    return ctx != NULL ? ctx->errmsg : "";
}

const char *strain_version(void)
{
    return STRAIN_VERSION_STRING;
}
