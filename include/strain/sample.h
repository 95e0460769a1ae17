/*
 * strain/sample.h: a sample is the bytes of one file or archive member plus where it came
 * from. Samples never execute; the bytes are only read.
 */
#ifndef STRAIN_SAMPLE_H
#define STRAIN_SAMPLE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strain_sample {
    const uint8_t *data;      /* the bytes; owned by the sample */
    size_t size;
    const char *path;         /* file given or found on disk; "-" for stdin */
    const char *archive_path; /* member path inside the archive(s), "a.zip!x/y.dll"; NULL if none */
    char sha256[STRAIN_SHA256_HEX];
    /* private */
    void *owner_;
} strain_sample;

/* Reads a whole file (or "-" for stdin) into a new sample. Caller frees. */
STRAIN_API int strain_sample_open(strain_sample **out, strain_ctx *ctx, const char *path);
/* Copies bytes into a new sample; archive_path may be NULL. Caller frees. */
STRAIN_API int strain_sample_from_memory(strain_sample **out, strain_ctx *ctx, const void *data,
                                         size_t size, const char *path,
                                         const char *archive_path);
STRAIN_API void strain_sample_free(strain_sample *s);

#ifdef __cplusplus
}
#endif
#endif
