/*
 * bench_genes: end-to-end `strain genes` throughput (parse + code recovery + genotypes) next
 * to a plain Zydis decode loop over the same executable bytes, in the same process.
 *
 * The baseline is the cheapest loop that yields what the genotypes need: a linear sweep with
 * ZydisDecoderDecodeInstruction + ZydisDecoderDecodeOperands (visible operands), one decode
 * per instruction, skipping one byte on invalid encodings. Throughput is MB of executable
 * bytes per second of CPU time on one core; each file is timed best-of-N to damp noise.
 *
 * usage: bench_genes [-n REPS] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <Zydis/Zydis.h>

#include <strain/binary.h>
#include <strain/code.h>

/* CPU time of this thread: the machine is shared, and wall-clock time also counts the
 * time other processes hold the core (the ratio moved by 10% between runs of the same
 * build). Both sides still share caches and memory bandwidth with the neighbours. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* The decode-only baseline; returns instructions decoded (so the loop is not optimised out). */
static uint64_t decode_loop(const strain_binary *bin, uint64_t *code_bytes)
{
    const strain_binary_info *info = strain_binary_get_info(bin);
    ZydisDecoder dec;
    bool x64 = info->arch == STRAIN_ARCH_X64;
    ZydisDecoderInit(&dec, x64 ? ZYDIS_MACHINE_MODE_LONG_64 : ZYDIS_MACHINE_MODE_LEGACY_32,
                     x64 ? ZYDIS_STACK_WIDTH_64 : ZYDIS_STACK_WIDTH_32);
    uint64_t n = 0;
    *code_bytes = 0;
    for (size_t i = 0; i < info->n_sections; i++) {
        const strain_section *s = &info->sections[i];
        const uint8_t *p;
        size_t len;
        if ((s->flags & STRAIN_SECTION_EXEC) == 0 ||
            strain_binary_va_bytes(bin, s->vaddr, &p, &len) < 0) {
            continue;
        }
        if (s->vsize != 0 && s->vsize < len) {
            len = (size_t)s->vsize;
        }
        *code_bytes += len;
        size_t off = 0;
        ZydisDecodedInstruction in;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT_VISIBLE];
        ZydisDecoderContext zc;
        while (off < len) {
            if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, &zc, p + off, len - off, &in)) &&
                ZYAN_SUCCESS(ZydisDecoderDecodeOperands(&dec, &zc, &in, ops,
                                                        in.operand_count_visible))) {
                off += in.length;
                n += ops[0].type;
            } else {
                off++;
            }
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    int reps = 3, first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        reps = atoi(argv[2]);
        first = 3;
    }
    strain_ctx *ctx = NULL;
    strain_ctx_new(&ctx);
    double tot_code = 0, tot_dec = 0, tot_genes = 0;
    uint64_t sink = 0;
    printf("%-60s %10s %10s %10s %7s %7s\n", "file", "code MB", "decode", "genes", "ratio",
           "funcs");
    for (int a = first; a < argc; a++) {
        size_t len;
        uint8_t *data = read_all(argv[a], &len);
        strain_binary *bin = NULL;
        if (data == NULL || strain_binary_parse(&bin, ctx, data, len) < 0) {
            fprintf(stderr, "skip %s\n", argv[a]);
            free(data);
            continue;
        }
        const strain_binary_info *info = strain_binary_get_info(bin);
        if (info->arch != STRAIN_ARCH_X86 && info->arch != STRAIN_ARCH_X64) {
            strain_binary_free(bin);
            free(data);
            continue;
        }
        double best_dec = 1e9, best_genes = 1e9;
        uint64_t code = 0;
        size_t funcs = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            sink += decode_loop(bin, &code);
            double t1 = now();
            /* End to end, as `strain genes` does it: parse + genome. */
            strain_binary *b2 = NULL;
            strain_genome *g = NULL;
            strain_binary_parse(&b2, ctx, data, len);
            strain_genome_build(&g, ctx, b2, NULL);
            double t2 = now();
            funcs = strain_genome_get_info(g)->n_genes;
            strain_genome_free(g);
            strain_binary_free(b2);
            best_dec = t1 - t0 < best_dec ? t1 - t0 : best_dec;
            best_genes = t2 - t1 < best_genes ? t2 - t1 : best_genes;
        }
        double mb = (double)code / 1e6;
        const char *name = strrchr(argv[a], '/') != NULL ? strrchr(argv[a], '/') + 1 : argv[a];
        char label[61];
        snprintf(label, sizeof(label), "%s", a > 0 ? argv[a] + (strlen(argv[a]) > 60 ? strlen(argv[a]) - 60 : 0) : name);
        printf("%-60s %10.2f %8.1f/s %8.1f/s %7.2f %7zu\n", label, mb, mb / best_dec,
               mb / best_genes, best_dec / best_genes, funcs);
        tot_code += mb;
        tot_dec += best_dec;
        tot_genes += best_genes;
        strain_binary_free(bin);
        free(data);
    }
    if (tot_code > 0) {
        printf("\nTOTAL %.2f MB of code: decode-only %.1f MB/s, strain genes %.1f MB/s, "
               "ratio %.3f (target >= 0.40)\n",
               tot_code, tot_code / tot_dec, tot_code / tot_genes, tot_dec / tot_genes);
    }
    strain_ctx_free(ctx);
    return sink == 42 ? 1 : 0;
}
