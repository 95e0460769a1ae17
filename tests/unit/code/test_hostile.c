/*
 * Hostile code: overlapping instructions, jumps into the middle of instructions,
 * self-referencing jump tables, megabytes of junk, a function longer than the cap and a
 * 1 GB section with a few bytes behind it. Each must finish (bounded work), not crash, and
 * say what it did (truncation flags, partial notes).
 */
#include <time.h>

#include "code_test_util.h"
#include "util/limits.h"

static strain_genome *genome_raw(strain_ctx *ctx, const uint8_t *p, size_t n, strain_arch arch,
                                 strain_binary **bin_out)
{
    strain_binary *bin = NULL;
    strain_genome *g = NULL;
    assert_int_equal(strain_binary_parse_raw(&bin, ctx, p, n, arch, 0x10000), 0);
    assert_int_equal(strain_genome_build(&g, ctx, bin, NULL), 0);
    if (bin_out != NULL) {
        *bin_out = bin;
    } else {
        strain_binary_free(bin);
    }
    return g;
}

static const strain_gene *gene_at(const strain_genome_info *gi, uint64_t va)
{
    for (size_t i = 0; i < gi->n_genes; i++) {
        if (gi->genes[i].address == va) {
            return &gi->genes[i];
        }
    }
    return NULL;
}

static void test_overlapping(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    /* jmp -1 lands on its own second byte: ff c0 = inc eax; then ret. */
    static const uint8_t overlap[] = {0xeb, 0xff, 0xc0, 0xc3};
    for (int a = 0; a < 2; a++) {
        strain_arch arch = a ? STRAIN_ARCH_X64 : STRAIN_ARCH_X86;
        strain_genome *g = genome_raw(ctx, overlap, sizeof(overlap), arch, NULL);
        const strain_genome_info *gi = strain_genome_get_info(g);
        const strain_gene *x = gene_at(gi, 0x10000);
        assert_non_null(x);
        assert_int_equal(x->n_insns, 3); /* jmp, inc eax (overlapping), ret */
        assert_int_equal(x->n_blocks, 2);
        strain_genome_free(g);
    }
    /* A jz into the middle of a mov's immediate: b8 31 c0 c3 90 = mov eax, 0x90c3c031;
     * the hidden code at +3 is xor eax,eax; ret. */
    static const uint8_t middle[] = {0x74, 0x03, 0xb8, 0x31, 0xc0, 0xc3, 0x90, 0xc3};
    strain_genome *g = genome_raw(ctx, middle, sizeof(middle), STRAIN_ARCH_X86, NULL);
    const strain_gene *x = gene_at(strain_genome_get_info(g), 0x10000);
    assert_non_null(x);
    assert_true(x->n_blocks >= 3);
    strain_genome_free(g);
    /* jmp $ (an infinite loop) is one instruction, one block, one edge to itself. */
    static const uint8_t self[] = {0xeb, 0xfe};
    g = genome_raw(ctx, self, sizeof(self), STRAIN_ARCH_X64, NULL);
    x = gene_at(strain_genome_get_info(g), 0x10000);
    assert_non_null(x);
    assert_int_equal(x->n_insns, 1);
    assert_int_equal(x->n_edges, 1);
    strain_genome_free(g);
    strain_ctx_free(ctx);
}

static void test_self_referencing_jump_table(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    /* cmp ecx, 3; ja out; lea rdx,[rip+T]; movsxd rax,[rdx+rcx*4]; add rax,rdx; jmp rax; out: ret
     * T: entries pointing at the table itself, at the lea, at the jmp and into an entry. */
    uint8_t code[64] = {0x83, 0xf9, 0x03,                   /* 0: cmp ecx, 3 */
                        0x77, 0x12,                         /* 3: ja +0x12 -> 0x17 */
                        0x48, 0x8d, 0x15, 0x0c, 0, 0, 0,    /* 5: lea rdx,[rip+0xc] -> 0x18 */
                        0x48, 0x63, 0x04, 0x8a,             /* c: movsxd rax,[rdx+rcx*4] */
                        0x48, 0x01, 0xd0,                   /* 10: add rax, rdx */
                        0xff, 0xe0,                         /* 13: jmp rax */
                        0x90, 0x90,                         /* 15 */
                        0xc3};                              /* 17: ret */
    int32_t entries[4] = {0, 5 - 0x18, 0x13 - 0x18, 2};     /* relative to T = 0x18 */
    memcpy(code + 0x18, entries, sizeof(entries));
    strain_genome *g = genome_raw(ctx, code, sizeof(code), STRAIN_ARCH_X64, NULL);
    const strain_gene *x = gene_at(strain_genome_get_info(g), 0x10000);
    assert_non_null(x);
    /* The four table targets were followed: more blocks than the straight-line code has. */
    assert_true(x->n_blocks >= 5);
    assert_true(x->n_edges >= 6);
    strain_genome_free(g);
    strain_ctx_free(ctx);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t next_byte(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)rng;
}

static void test_junk(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    size_t n = 4u << 20;
    uint8_t *junk = malloc(n);
    for (size_t i = 0; i < n; i++) {
        junk[i] = next_byte();
    }
    for (int a = 0; a < 2; a++) {
        clock_t t0 = clock();
        strain_genome *g = genome_raw(ctx, junk, n, a ? STRAIN_ARCH_X64 : STRAIN_ARCH_X86, NULL);
        const strain_genome_info *gi = strain_genome_get_info(g);
        printf("junk %s: %zu functions, %zu fragments, flags %#x, %.2f s\n", a ? "x64" : "x86",
               gi->n_genes, gi->n_fragments, gi->flags, (double)(clock() - t0) / CLOCKS_PER_SEC);
        assert_true(gi->n_genes <= STRAIN_CODE_MAX_FUNCTIONS);
        for (size_t i = 0; i < gi->n_genes; i++) {
            assert_true(gi->genes[i].n_insns <= STRAIN_CODE_MAX_FUNC_INSNS);
            assert_true(gi->genes[i].n_blocks <= STRAIN_CODE_MAX_FUNC_BLOCKS);
        }
        strain_genome_free(g);
    }
    free(junk);
    strain_ctx_free(ctx);
}

static void test_function_cap(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    size_t count = STRAIN_CODE_MAX_FUNC_INSNS + 1000;
    uint8_t *p = malloc(count * 2 + 1);
    for (size_t i = 0; i < count; i++) {
        p[2 * i] = 0xff; /* inc eax */
        p[2 * i + 1] = 0xc0;
    }
    p[count * 2] = 0xc3;
    strain_genome *g = genome_raw(ctx, p, count * 2 + 1, STRAIN_ARCH_X86, NULL);
    const strain_gene *x = gene_at(strain_genome_get_info(g), 0x10000);
    assert_non_null(x);
    assert_int_equal(x->n_insns, STRAIN_CODE_MAX_FUNC_INSNS);
    assert_true((x->flags & STRAIN_GENE_TRUNCATED) != 0);
    strain_genome_free(g);
    free(p);
    strain_ctx_free(ctx);
}

/* An ELF64 whose only executable segment claims 1 GB of memory behind 64 file bytes. */
static void test_sparse_section(void **state)
{
    (void)state;
    uint8_t f[0x200];
    memset(f, 0, sizeof(f));
    static const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    memcpy(f, ident, sizeof(ident));
    uint64_t vaddr = 0x400000, off = 0x100;
#define P16(o, v) do { f[o] = (uint8_t)(v); f[(o) + 1] = (uint8_t)((v) >> 8); } while (0)
#define P32(o, v) do { for (int i_ = 0; i_ < 4; i_++) f[(o) + i_] = (uint8_t)((uint64_t)(v) >> (8 * i_)); } while (0)
#define P64(o, v) do { for (int i_ = 0; i_ < 8; i_++) f[(o) + i_] = (uint8_t)((uint64_t)(v) >> (8 * i_)); } while (0)
    P16(16, 2);          /* ET_EXEC */
    P16(18, 62);         /* EM_X86_64 */
    P32(20, 1);
    P64(24, vaddr + off); /* e_entry */
    P64(32, 64);         /* e_phoff */
    P16(52, 64);         /* e_ehsize */
    P16(54, 56);         /* e_phentsize */
    P16(56, 1);          /* e_phnum */
    P32(64, 1);          /* PT_LOAD */
    P32(68, 5);          /* R+X */
    P64(72, 0);          /* p_offset */
    P64(80, vaddr);
    P64(88, vaddr);
    P64(96, sizeof(f));  /* p_filesz */
    P64(104, 1ull << 30); /* p_memsz: 1 GB */
    P64(112, 0x1000);
    static const uint8_t body[] = {0x55, 0x48, 0x89, 0xe5, 0x31, 0xc0, 0x5d, 0xc3};
    memcpy(f + off, body, sizeof(body));
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_binary *bin = NULL;
    strain_genome *g = NULL;
    assert_int_equal(strain_binary_parse(&bin, ctx, f, sizeof(f)), 0);
    if (strain_binary_get_info(bin)->format != STRAIN_FORMAT_ELF64) {
        strain_binary_free(bin);
        strain_ctx_free(ctx);
        skip(); /* the ELF parser is not in this tree yet */
    }
    assert_int_equal(strain_genome_build(&g, ctx, bin, NULL), 0);
    const strain_genome_info *gi = strain_genome_get_info(g);
    assert_true(gi->code_bytes <= sizeof(f)); /* only file-backed bytes are code */
    assert_non_null(gene_at(gi, vaddr + off));
    strain_genome_free(g);
    strain_binary_free(bin);
    strain_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlapping),
        cmocka_unit_test(test_self_referencing_jump_table),
        cmocka_unit_test(test_junk),
        cmocka_unit_test(test_function_cap),
        cmocka_unit_test(test_sparse_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
