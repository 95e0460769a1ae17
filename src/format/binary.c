/*
 * strain_binary: format detection and dispatch, the raw fallback, and address mapping.
 * Parsers fill the private builder (binary_impl.h); this file publishes it read-only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "format/binary_impl.h"
#include "util/entropy.h"
#include "util/err.h"

const char *strain_format_name(strain_format f)
{
    switch (f) {
    case STRAIN_FORMAT_PE32: return "pe32";
    case STRAIN_FORMAT_PE32PLUS: return "pe32+";
    case STRAIN_FORMAT_ELF32: return "elf32";
    case STRAIN_FORMAT_ELF64: return "elf64";
    default: return "raw";
    }
}

const char *strain_arch_name(strain_arch a)
{
    switch (a) {
    case STRAIN_ARCH_X86: return "x86";
    case STRAIN_ARCH_X64: return "x64";
    case STRAIN_ARCH_ARM: return "arm";
    case STRAIN_ARCH_ARM64: return "arm64";
    case STRAIN_ARCH_OTHER: return "other";
    default: return "unknown";
    }
}

int strain_binary__warn(strain_binary *bin, const char *fmt, ...)
{
    bin->info.partial = true;
    if (bin->warnings.len >= STRAIN_BINARY_MAX_WARNINGS) {
        bin->dropped_warnings++;
        return STRAIN_OK;
    }
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    char *w = strain_arena_strdup(&bin->arena, tmp);
    const char **slot = strain_vec_push(&bin->warnings);
    if (w == NULL || slot == NULL) {
        return STRAIN_ENOMEM;
    }
    *slot = w;
    return STRAIN_OK;
}

static int binary_new(strain_binary **out, strain_ctx *ctx, const uint8_t *data, size_t size)
{
    strain_binary *bin = calloc(1, sizeof(*bin));
    if (bin == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    bin->ctx = ctx;
    bin->file = strain_span_make(data, size);
    bin->sections = (strain_vec)STRAIN_VEC_INIT(strain_section);
    bin->imports = (strain_vec)STRAIN_VEC_INIT(strain_import);
    bin->exports = (strain_vec)STRAIN_VEC_INIT(strain_export);
    bin->symbols = (strain_vec)STRAIN_VEC_INIT(strain_symbol);
    bin->warnings = (strain_vec)STRAIN_VEC_INIT(const char *);
    *out = bin;
    return STRAIN_OK;
}

/* Points the public info at the builder's vectors. */
static int binary_publish(strain_binary *bin)
{
    if (bin->dropped_warnings > 0) {
        size_t dropped = bin->dropped_warnings;
        bin->dropped_warnings = 0;
        /* Replace the last warning so the total stays at the cap. */
        bin->warnings.len--;
        if (strain_binary__warn(bin, "%zu further warnings not shown (limit %u)", dropped + 1,
                                STRAIN_BINARY_MAX_WARNINGS) < 0) {
            return STRAIN_ENOMEM;
        }
    }
    strain_binary_info *i = &bin->info;
    i->sections = bin->sections.items;
    i->n_sections = bin->sections.len;
    i->imports = bin->imports.items;
    i->n_imports = bin->imports.len;
    i->exports = bin->exports.items;
    i->n_exports = bin->exports.len;
    i->symbols = bin->symbols.items;
    i->n_symbols = bin->symbols.len;
    i->warnings = bin->warnings.items;
    i->n_warnings = bin->warnings.len;
    return strain_vamap__build(bin);
}

int strain_binary_parse(strain_binary **out, strain_ctx *ctx, const uint8_t *data, size_t size)
{
    strain_binary *bin = NULL;
    int err;
    if (out == NULL || (data == NULL && size > 0)) {
        return strain__fail(ctx, STRAIN_EINVAL, "invalid argument");
    }
    STRAIN_TRY(binary_new(&bin, ctx, data, size));
    err = strain_pe__parse(bin);
    if (err == STRAIN_EFORMAT) {
        err = strain_elf__parse(bin);
    }
    if (err == STRAIN_EFORMAT) {
        err = STRAIN_OK; /* raw: no structure, the bytes are all there is */
        bin->info.format = STRAIN_FORMAT_RAW;
    }
    if (err < 0) {
        goto done;
    }
    STRAIN_TRY(binary_publish(bin));
    *out = bin;
    bin = NULL;
done:
    if (err == STRAIN_ENOMEM) {
        strain__fail(ctx, err, "out of memory while parsing");
    }
    strain_binary_free(bin);
    return err;
}

int strain_binary_parse_raw(strain_binary **out, strain_ctx *ctx, const uint8_t *data,
                            size_t size, strain_arch arch, uint64_t base)
{
    strain_binary *bin = NULL;
    int err;
    if (out == NULL || (data == NULL && size > 0)) {
        return strain__fail(ctx, STRAIN_EINVAL, "invalid argument");
    }
    STRAIN_TRY(binary_new(&bin, ctx, data, size));
    bin->info.format = STRAIN_FORMAT_RAW;
    bin->info.arch = arch;
    bin->info.image_base = base;
    bin->info.entry = base;
    bin->info.has_entry = size > 0;
    strain_section *s = strain_vec_push(&bin->sections);
    if (s == NULL) {
        err = STRAIN_ENOMEM;
        goto done;
    }
    s->name = ".raw";
    s->vaddr = base;
    s->vsize = size;
    s->raw_offset = 0;
    s->raw_size = size;
    s->flags = STRAIN_SECTION_EXEC | STRAIN_SECTION_READ;
    s->entropy = strain_entropy(data, size);
    STRAIN_TRY(binary_publish(bin));
    *out = bin;
    bin = NULL;
done:
    strain_binary_free(bin);
    return err;
}

void strain_binary_free(strain_binary *bin)
{
    if (bin == NULL) {
        return;
    }
    strain_vec_free(&bin->sections);
    strain_vec_free(&bin->imports);
    strain_vec_free(&bin->exports);
    strain_vec_free(&bin->symbols);
    strain_vec_free(&bin->warnings);
    strain_vamap__free(bin);
    strain_arena_release(&bin->arena);
    free(bin);
}

const strain_binary_info *strain_binary_get_info(const strain_binary *bin)
{
    return &bin->info;
}

const uint8_t *strain_binary_data(const strain_binary *bin, size_t *out_size)
{
    if (out_size != NULL) {
        *out_size = bin->file.len;
    }
    return bin->file.p;
}

static int va_lookup(const strain_binary *bin, uint64_t va, uint64_t *out_off, size_t *out_len)
{
    return strain_vamap__lookup(bin, va, out_off, out_len);
}

int strain_binary_va_bytes(const strain_binary *bin, uint64_t va, const uint8_t **out_ptr,
                           size_t *out_len)
{
    uint64_t off;
    size_t len;
    int err = va_lookup(bin, va, &off, &len);
    if (err < 0) {
        return err;
    }
    *out_ptr = bin->file.p + off;
    *out_len = len;
    return STRAIN_OK;
}

int strain_binary_va_to_offset(const strain_binary *bin, uint64_t va, uint64_t *out_offset)
{
    size_t len;
    return va_lookup(bin, va, out_offset, &len);
}
