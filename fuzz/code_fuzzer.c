/*
 * libFuzzer harness for code recovery: the input is disassembled as raw x64 and x86 code
 * (recursive descent, jump tables, CFG, genotypes), parsed as a binary and analysed, and
 * fed to the genome deserialiser; every genome built is serialised, read back and compared
 * with itself. Any crash, leak, hang or sanitizer report is a bug.
 */
#include <stdint.h>
#include <stdlib.h>

#include <strain/binary.h>
#include <strain/code.h>

static void check_genome(strain_ctx *ctx, const strain_genome *g)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (strain_genome_serialize(&bytes, &len, ctx, g) == 0) {
        strain_genome *back = NULL;
        if (strain_genome_deserialize(&back, ctx, bytes, len) != 0) {
            abort(); /* our own bytes must read back */
        }
        strain_comparison *c = NULL;
        if (strain_compare(&c, ctx, g, back) == 0 &&
            (c->score < 0 || c->score > 100.0001 || c->string_score < 0 ||
             c->string_score > 100.0001 || c->combined_score < 0 || c->combined_score > 100.0001 ||
             c->n_shared_strings != strain_genome_get_info(back)->n_strings)) {
            abort();
        }
        strain_comparison_free(c);
        strain_genome_free(back);
        free(bytes);
    }
}

static void analyse(strain_ctx *ctx, strain_binary *bin)
{
    strain_genome *g = NULL;
    if (strain_genome_build(&g, ctx, bin, NULL) == 0) {
        check_genome(ctx, g);
        strain_genome_free(g);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) {
        return 0;
    }
    strain_ctx *ctx = NULL;
    if (strain_ctx_new(&ctx) != 0) {
        return 0;
    }
    static const strain_arch arches[] = {STRAIN_ARCH_X64, STRAIN_ARCH_X86};
    for (int i = 0; i < 2; i++) {
        strain_binary *bin = NULL;
        if (strain_binary_parse_raw(&bin, ctx, data, size, arches[i], 0x401000) == 0) {
            analyse(ctx, bin);
        }
        strain_binary_free(bin);
    }
    strain_binary *bin = NULL;
    if (strain_binary_parse(&bin, ctx, data, size) == 0) {
        analyse(ctx, bin);
    }
    strain_binary_free(bin);
    strain_genome *g = NULL;
    if (strain_genome_deserialize(&g, ctx, data, size) == 0) {
        check_genome(ctx, g);
    }
    strain_genome_free(g);
    strain_ctx_free(ctx);
    return 0;
}
