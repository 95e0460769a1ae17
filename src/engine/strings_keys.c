/*
 * String features (kind STRING) of an item: the strings of its data sections
 * (src/code/genome_strings.c extracts and hashes them). The messages, format strings, names
 * and paths a program's code uses are the evidence analysts reach for first (a mutex name, a
 * PDB path, a C2 URL format). Measured on the public corpus with the clean set discounting
 * runtime strings: strings alone attributed 29 of 31 newest versions to their family, code
 * alone 18 (bench/RESULTS.md, "String features").
 */
#include "attribution_impl.h"

int strain_engine__item_strings(strain_engine_item *it, strain_ctx *ctx)
{
    return strain_code__binary_strings(&it->strs, &it->n_strs, ctx, it->bin, it->sample->data,
                                       it->sample->size);
}

const strain_engine_string *strain_engine__item_string(const strain_engine_item *it, uint64_t h)
{
    size_t lo = 0;
    size_t hi = it->n_strs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (it->strs[mid].hash < h) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < it->n_strs && it->strs[lo].hash == h ? &it->strs[lo] : NULL;
}

size_t strain_engine__string_text(char *out, size_t cap, const strain_engine_item *it,
                                  const strain_engine_string *s)
{
    const uint8_t *p = it->sample->data + s->offset;
    size_t step = s->utf16 ? 2 : 1;
    size_t n = 0;
    if (cap == 0) {
        return 0;
    }
    /* offsets and lengths come from the extraction over these very bytes: in bounds */
    for (size_t i = 0; i < s->len && n + 1 < cap; i++) {
        out[n++] = (char)p[i * step];
    }
    out[n] = '\0';
    return n;
}
