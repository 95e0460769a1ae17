/*
 * libFuzzer harness for the archive walk: arbitrary bytes are walked as if read from a file
 * (sniffed, then opened with libarchive when they carry archive magic, nested archives
 * included), under tight limits so that each input stays fast and small: a bomb must be
 * stopped by the limits, never by the fuzzer's timeout or RSS cap.
 */
#include <stddef.h>
#include <stdint.h>

#include <strain/input.h>

#include "input/input_impl.h"

static int on_item(const strain_sample *s, int err, const char *msg, void *payload)
{
    size_t *acc = payload;
    if (s != NULL) {
        /* Touch the bytes and identity so ASan checks them. */
        *acc += s->size + (s->size ? s->data[s->size - 1] : 0) + (size_t)s->sha256[0];
        *acc += s->archive_path != NULL ? (size_t)s->archive_path[0] : 0;
    } else {
        *acc += (size_t)(-err) + (size_t)msg[0];
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* libarchive sizes some buffers from header fields (7z: terabytes for a forged header) and
 * handles a NULL from malloc as "cannot allocate"; ASan's default is to abort instead. */
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static strain_ctx *ctx;
    if (ctx == NULL && strain_ctx_new(&ctx) < 0) {
        return 0;
    }
    strain_limits *lim = strain_ctx_limits(ctx);
    lim->max_file_size = 1u << 20;
    lim->max_total_unpacked = 4u << 20;
    lim->max_members = 64;
    lim->max_depth = 3;
    lim->max_ratio = 20; /* ratio.zip in the seeds trips it */
    size_t acc = 0;
    strain_input_opts opts = {"fuzz", false};
    strain_input__walk_memory(ctx, data, size, "fuzz.bin", &opts, on_item, &acc);
    return 0;
}
