/*
 * libFuzzer harness for what `strain add` and `strain query` extract from a file before the
 * database is involved: parsing, code recovery, the name and string features
 * (src/engine/strings_keys.c) and the text of every string as the evidence prints it. Any
 * crash, leak, hang or sanitizer report is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strain/engine.h>

#include "engine/attribution_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) {
        return 0;
    }
    strain_ctx *ctx = NULL;
    if (strain_ctx_new(&ctx) != 0) {
        return 0;
    }
    strain_engine_item *it = NULL;
    if (strain_engine_prepare(&it, ctx, data, size, "fuzz") == 0) {
        strain_engine_key *k = NULL;
        size_t n = 0;
        if (strain_engine__name_keys(&k, &n, ctx, it) == 0) {
            for (size_t i = 0; i < it->n_strs; i++) {
                char text[257];
                const strain_engine_string *s = strain_engine__item_string(it, it->strs[i].hash);
                /* strings are unique by hash and findable; their text is printable */
                if (s != &it->strs[i] || (i > 0 && it->strs[i - 1].hash >= s->hash)) {
                    abort();
                }
                size_t len = strain_engine__string_text(text, sizeof(text), it, s);
                if (len != strlen(text) || len == 0) {
                    abort();
                }
            }
            free(k);
        }
        strain_engine_item_free(it);
    }
    strain_ctx_free(ctx);
    return 0;
}
