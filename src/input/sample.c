/* Samples: owned bytes plus their origin and sha256, computed once when created. */
#include <stdlib.h>
#include <string.h>

#include <strain/hash.h>
#include <strain/sample.h>

#include "input/input_impl.h"
#include "util/ctx.h"
#include "util/err.h"
#include "util/file.h"

typedef struct sample_owner {
    uint8_t *bytes;
    char *path;
    char *archive_path;
} sample_owner;

static int sample_wrap(strain_sample **out, strain_ctx *ctx, uint8_t *bytes, size_t size,
                       const char *path, const char *archive_path)
{
    strain_sample *s = calloc(1, sizeof(*s));
    sample_owner *o = calloc(1, sizeof(*o));
    char *p = strdup(path != NULL ? path : "-");
    char *ap = archive_path != NULL ? strdup(archive_path) : NULL;
    if (s == NULL || o == NULL || p == NULL || (archive_path != NULL && ap == NULL)) {
        free(s);
        free(o);
        free(p);
        free(ap);
        free(bytes);
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    o->bytes = bytes;
    o->path = p;
    o->archive_path = ap;
    s->data = bytes;
    s->size = size;
    s->path = p;
    s->archive_path = ap;
    s->owner_ = o;
    strain_hash_sha256(s->sha256, bytes, size);
    *out = s;
    return STRAIN_OK;
}

int strain_sample__adopt(strain_sample **out, strain_ctx *ctx, uint8_t *bytes, size_t size,
                         const char *path, const char *archive_path)
{
    return sample_wrap(out, ctx, bytes, size, path, archive_path);
}

int strain_sample_open(strain_sample **out, strain_ctx *ctx, const char *path)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int err = strain__read_file(ctx, path, ctx->limits.max_file_size, &bytes, &len);
    if (err < 0) {
        return err;
    }
    return sample_wrap(out, ctx, bytes, len, path, NULL);
}

int strain_sample_from_memory(strain_sample **out, strain_ctx *ctx, const void *data, size_t size,
                              const char *path, const char *archive_path)
{
    uint8_t *bytes = malloc(size + 1);
    if (bytes == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    if (size > 0) {
        memcpy(bytes, data, size);
    }
    bytes[size] = 0;
    return sample_wrap(out, ctx, bytes, size, path, archive_path);
}

void strain_sample_free(strain_sample *s)
{
    if (s == NULL) {
        return;
    }
    sample_owner *o = s->owner_;
    if (o != NULL) {
        free(o->bytes);
        free(o->path);
        free(o->archive_path);
        free(o);
    }
    free(s);
}
