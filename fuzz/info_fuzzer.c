/*
 * The whole info report over arbitrary bytes: parse, hashes, strings, indicators, then both
 * writers. The JSON must always come out (jansson refuses invalid UTF-8, which the writer
 * escapes), so a failed render is a bug, not an input problem.
 */
#include <stdint.h>
#include <stdlib.h>

#include <strain/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One trust store for the whole run, as the CLI does: loading the bundle per input would
 * make every PE-looking input cost tens of milliseconds. Never freed (process lifetime). */
static strain_sig_store *store;
static bool store_tried;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strain_ctx *ctx = NULL;
    strain_sample *s = NULL;
    strain_info *info = NULL;
    if (strain_ctx_new(&ctx) < 0) {
        return 0;
    }
    if (!store_tried) {
        store_tried = true;
        if (strain_sig_store_new(&store, ctx, NULL) < 0) {
            store = NULL;
        }
    }
    if (strain_sample_from_memory(&s, ctx, data, size, "fuzz", size % 2 ? "a.zip!b" : NULL) == 0 &&
        strain_info_new(&info, ctx, s,
                        &(strain_info_opts){.with_strings = size % 3 == 0, .sig_store = store}) ==
            0) {
        for (int f = STRAIN_REPORT_TEXT; f <= STRAIN_REPORT_JSON; f++) {
            char *out = NULL;
            if (strain_info_render(&out, ctx, info, (strain_report_format)f) < 0) {
                __builtin_trap();
            }
            free(out);
        }
    }
    strain_info_free(info);
    strain_sample_free(s);
    strain_ctx_free(ctx);
    return 0;
}
