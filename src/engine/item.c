/*
 * Analysis of one sample for the engine: identity hashes, format, and the genome. This is
 * the expensive, store-free half of adding or querying, so it is kept apart from the engine
 * handle and may run on many threads (strain_engine_ingest does).
 */
#include <stdlib.h>
#include <string.h>

#include "attribution_impl.h"
#include "util/err.h"

void strain_engine_item_free(strain_engine_item *it)
{
    if (it == NULL) {
        return;
    }
    strain_genome_free(it->genome);
    free(it->names);
    free(it->strs);
    strain_binary_free(it->bin);
    strain_sample_free(it->sample);
    free(it->file_name);
    free(it);
}

const char *strain_engine_item_sha256(const strain_engine_item *it)
{
    return it->meta.sha256;
}

const strain_genome *strain_engine_item_genome(const strain_engine_item *it)
{
    return it->genome;
}

const strain_binary *strain_engine_item_binary(const strain_engine_item *it)
{
    return it->bin;
}

static const char *format_key(strain_format f)
{
    switch (f) {
    case STRAIN_FORMAT_PE32: return "pe32";
    case STRAIN_FORMAT_PE32PLUS: return "pe32+";
    case STRAIN_FORMAT_ELF32: return "elf32";
    case STRAIN_FORMAT_ELF64: return "elf64";
    default: return "raw";
    }
}

int strain_engine_prepare(strain_engine_item **out, strain_ctx *ctx, const uint8_t *data,
                          size_t size, const char *file_name)
{
    strain_engine_item *it = NULL;
    int err;
    if (out == NULL || (data == NULL && size > 0)) {
        return strain__fail(ctx, STRAIN_EINVAL, "strain_engine_prepare: bad arguments");
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    STRAIN_TRY(
        strain_sample_from_memory(&it->sample, ctx, data, size, file_name ? file_name : "-", NULL));
    if (file_name != NULL && (it->file_name = strdup(file_name)) == NULL) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    STRAIN_TRY(strain_binary_parse(&it->bin, ctx, it->sample->data, it->sample->size));
    STRAIN_TRY(strain_engine__item_strings(it, ctx));
    /* the genome's strings are these: extracted once */
    STRAIN_TRY(strain_code__genome_build(&it->genome, ctx, it->bin, NULL, it->strs, it->n_strs));
    STRAIN_TRY(strain_engine__item_names(it, ctx));

    const strain_binary_info *bi = strain_binary_get_info(it->bin);
    strain_store_sample *m = &it->meta;
    m->label.clean = STRAIN_STORE_KEEP;
    memcpy(m->sha256, it->sample->sha256, sizeof(m->sha256));
    m->size = it->sample->size;
    snprintf(m->format, sizeof(m->format), "%s", format_key(bi->format));
    snprintf(m->arch, sizeof(m->arch), "%s", strain_arch_name(bi->arch));
    if (bi->format == STRAIN_FORMAT_PE32 || bi->format == STRAIN_FORMAT_PE32PLUS) {
        m->has_pe_timestamp = true;
        m->pe_timestamp = bi->pe.timestamp;
        if (strain_hash_imphash(m->imphash, bi) < 0) {
            m->imphash[0] = '\0';
        }
    }
    m->file_name = it->file_name;
    *out = it;
    it = NULL;
done:
    strain_engine_item_free(it);
    return err;
}
