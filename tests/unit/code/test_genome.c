/*
 * The genome as a value: deterministic (same bytes => same serialisation, run after run),
 * stable through serialise/deserialise, and deserialisation refuses corrupt bytes (every
 * truncation, every flipped byte, forged counts behind a valid checksum) without reading
 * out of bounds. The strings of the data sections travel with the genome (version 2), and
 * version 1 genomes, which databases hold, still read, without strings.
 */
#include "code/hash64.h"
#include "code_test_util.h"

static const char *text_blob(void)
{
    static char path[1024];
    if (path[0] != '\0') {
        return path;
    }
    const char *obj = ct_build("prog_O2.o", "gcc", "-O2 -c", "prog.c");
    assert_non_null(obj);
    snprintf(path, sizeof(path), "%s/prog_O2.text", th_tmpdir());
    char *log = NULL;
    assert_int_equal(th_run(&log, "objcopy -O binary --only-section=.text %s %s", obj, path), 0);
    free(log);
    return path;
}

static void test_deterministic(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    ct_file a, b;
    assert_int_equal(ct_load(&a, ctx, text_blob(), STRAIN_ARCH_X64, 0x401000, NULL), 0);
    assert_int_equal(ct_load(&b, ctx, text_blob(), STRAIN_ARCH_X64, 0x401000, NULL), 0);
    const strain_genome_info *gi = strain_genome_get_info(a.genome);
    assert_true(gi->n_genes >= 20);
    assert_true(gi->n_fragments >= 100);
    uint8_t *sa, *sb;
    size_t la, lb;
    assert_int_equal(strain_genome_serialize(&sa, &la, ctx, a.genome), 0);
    assert_int_equal(strain_genome_serialize(&sb, &lb, ctx, b.genome), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
    /* Round trip: deserialised genome serialises to the same bytes. */
    strain_genome *back = NULL;
    assert_int_equal(strain_genome_deserialize(&back, ctx, sa, la), 0);
    uint8_t *sc;
    size_t lc;
    assert_int_equal(strain_genome_serialize(&sc, &lc, ctx, back), 0);
    assert_int_equal(lc, la);
    assert_memory_equal(sc, sa, la);
    /* A genome compares as identical to its copy. */
    assert_true(ct_score(ctx, a.genome, back) > 99.99);
    /* Rebasing raw code changes no hash. */
    ct_file c;
    assert_int_equal(ct_load(&c, ctx, text_blob(), STRAIN_ARCH_X64, 0x7ff612340000ull, NULL), 0);
    const strain_genome_info *ci = strain_genome_get_info(c.genome);
    assert_int_equal(ci->n_genes, gi->n_genes);
    for (size_t i = 0; i < gi->n_genes; i++) {
        assert_true(ci->genes[i].exact == gi->genes[i].exact);
        assert_true(ci->genes[i].address - 0x7ff612340000ull == gi->genes[i].address - 0x401000);
    }
    assert_int_equal(ci->n_fragments, gi->n_fragments);
    free(sa);
    free(sb);
    free(sc);
    strain_genome_free(back);
    ct_free(&a);
    ct_free(&b);
    ct_free(&c);
    strain_ctx_free(ctx);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void reseal(uint8_t *p, size_t len)
{
    uint64_t h = strain_hash64(p, len - 8, 0x53474e4d);
    for (int i = 0; i < 8; i++) {
        p[len - 8 + i] = (uint8_t)(h >> (8 * i));
    }
}

static void test_corrupt(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    ct_file a;
    assert_int_equal(ct_load(&a, ctx, text_blob(), STRAIN_ARCH_X64, 0x401000, NULL), 0);
    uint8_t *s;
    size_t len;
    assert_int_equal(strain_genome_serialize(&s, &len, ctx, a.genome), 0);
    strain_genome *g = NULL;
    for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
        assert_true(strain_genome_deserialize(&g, ctx, s, cut) < 0);
    }
    uint8_t *m = malloc(len + 16);
    for (size_t i = 0; i < len; i += 1 + i / 64) {
        memcpy(m, s, len);
        m[i] ^= 0x41;
        assert_true(strain_genome_deserialize(&g, ctx, m, len) < 0);
    }
    /* Forged counts behind a valid checksum: caught by the structural checks. */
    static const size_t count_offs[] = {24, 28, 32};
    for (size_t k = 0; k < 3; k++) {
        uint32_t forged[] = {0xffffffffu, 0x7fffffffu, 1000, 1};
        for (size_t v = 0; v < 4; v++) {
            memcpy(m, s, len);
            put32(m + count_offs[k], forged[v]);
            reseal(m, len);
            assert_true(strain_genome_deserialize(&g, ctx, m, len) < 0);
        }
    }
    /* Out-of-order fragments behind a valid checksum. */
    const strain_genome_info *gi = strain_genome_get_info(a.genome);
    size_t frag_off = 36 + gi->n_genes * (8 + 8 + 24 + 4 * STRAIN_GENE_SKETCH);
    memcpy(m, s, len);
    memcpy(m + frag_off, s + frag_off + 8, 8);
    memcpy(m + frag_off + 8, s + frag_off, 8);
    reseal(m, len);
    assert_int_equal(strain_genome_deserialize(&g, ctx, m, len), STRAIN_EMALFORMED);
    /* Trailing garbage. */
    memcpy(m, s, len);
    memset(m + len, 0, 16);
    memcpy(m + len + 8, s + len - 8, 8);
    memset(m + len - 8, 0, 8);
    reseal(m, len + 16);
    assert_true(strain_genome_deserialize(&g, ctx, m, len + 16) < 0);
    assert_null(g);
    free(m);
    free(s);
    ct_free(&a);
    strain_ctx_free(ctx);
}

static void test_disasm(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    ct_file a;
    assert_int_equal(ct_load(&a, ctx, text_blob(), STRAIN_ARCH_X64, 0x401000, NULL), 0);
    const strain_genome_info *gi = strain_genome_get_info(a.genome);
    const strain_gene *big = &gi->genes[0];
    for (size_t i = 0; i < gi->n_genes; i++) {
        if (gi->genes[i].n_insns > big->n_insns) {
            big = &gi->genes[i];
        }
    }
    char *text = NULL;
    assert_int_equal(strain_code_disasm(&text, ctx, a.bin, NULL, big->address), 0);
    assert_non_null(strstr(text, "; block 0 @"));
    /* One line per instruction plus one per block. */
    size_t lines = 0;
    for (const char *p = text; *p; p++) {
        lines += *p == '\n';
    }
    assert_int_equal(lines, big->n_insns + big->n_blocks);
    /* Addresses are masked in the normalised form: apart from the address column and the
     * block headers, no number on a line points into the image. */
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        const char *p = line;
        if (strncmp(p, "  0x", 4) == 0) {
            p = strchr(p + 4, ' ');
            while (p != NULL && p < end && (p = strstr(p, "0x")) != NULL && p < end) {
                unsigned long long v = strtoull(p, (char **)&p, 16);
                assert_false(v >= 0x401000 && v < 0x401000 + a.len);
            }
        }
        line = end + 1;
    }
    free(text);
    assert_int_equal(strain_code_disasm(&text, ctx, a.bin, NULL, big->address + 1),
                     STRAIN_ENOTFOUND);
    ct_free(&a);
    strain_ctx_free(ctx);
}

/* /bin/ls: an ELF with the strings of a real program in .rodata. */
static strain_genome *ls_genome(strain_ctx *ctx)
{
    size_t len = 0;
    uint8_t *data = th_read_file("/bin/ls", &len);
    assert_non_null(data);
    strain_binary *bin = NULL;
    strain_genome *g = NULL;
    assert_int_equal(strain_binary_parse(&bin, ctx, data, len), 0);
    assert_int_equal(strain_genome_build(&g, ctx, bin, NULL), 0);
    strain_binary_free(bin);
    free(data);
    return g;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Bytes of a function record: version 2, and version 3 (neutral hash and count after it). */
#define GENE_V2 (8 + 8 + 6 * 4 + 4 * STRAIN_GENE_SKETCH)
#define GENE_V3 (GENE_V2 + 12)

/* The version-2 serialisation of the version-3 bytes s (function records without their
 * neutral hash), resealed. *out_len gets its length; caller frees. */
static uint8_t *to_version2(const uint8_t *s, size_t len, size_t *out_len)
{
    uint32_t n_genes = (uint32_t)s[24] | (uint32_t)s[25] << 8 | (uint32_t)s[26] << 16 |
                       (uint32_t)s[27] << 24;
    size_t l2 = len - (size_t)n_genes * 12;
    uint8_t *v2 = malloc(len), *w = v2;
    memcpy(w, s, 36);
    w += 36;
    for (uint32_t i = 0; i < n_genes; i++) {
        memcpy(w, s + 36 + (size_t)i * GENE_V3, GENE_V2);
        w += GENE_V2;
    }
    size_t rest = 36 + (size_t)n_genes * GENE_V3;
    memcpy(w, s + rest, len - rest);
    v2[4] = 2;
    v2[5] = 0;
    reseal(v2, l2);
    *out_len = l2;
    return v2;
}

/* The neutral hash: what a function calls and references, whatever the instruction set. */
static void test_neutral(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_genome *g = ls_genome(ctx);
    const strain_genome_info *gi = strain_genome_get_info(g);
    size_t with = 0, evidence = 0;
    for (size_t i = 0; i < gi->n_genes; i++) {
        const strain_gene *x = &gi->genes[i];
        assert_true((x->neutral == 0) == (x->n_neutral == 0));
        with += x->n_neutral > 0;
        evidence += x->n_neutral >= 3 && !(x->flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK));
    }
    printf("/bin/ls: %zu of %zu functions have a neutral hash, %zu with 3 members or more\n",
           with, gi->n_genes, evidence);
    assert_true(evidence >= 20); /* ls calls libc and prints messages all over */

    uint8_t *s;
    size_t len;
    assert_int_equal(strain_genome_serialize(&s, &len, ctx, g), 0);
    strain_genome *back = NULL;
    assert_int_equal(strain_genome_deserialize(&back, ctx, s, len), 0);
    const strain_genome_info *bi = strain_genome_get_info(back);
    assert_int_equal(bi->n_genes, gi->n_genes);
    for (size_t i = 0; i < gi->n_genes; i++) {
        assert_true(bi->genes[i].neutral == gi->genes[i].neutral);
        assert_int_equal(bi->genes[i].n_neutral, gi->genes[i].n_neutral);
    }

    /* Version 2 is still read: the same functions, no neutral hashes. */
    size_t l2;
    uint8_t *v2 = to_version2(s, len, &l2);
    strain_genome *old = NULL;
    assert_int_equal(strain_genome_deserialize(&old, ctx, v2, l2), 0);
    const strain_genome_info *oi = strain_genome_get_info(old);
    assert_int_equal(oi->n_genes, gi->n_genes);
    assert_int_equal(oi->n_strings, gi->n_strings);
    for (size_t i = 0; i < oi->n_genes; i++) {
        assert_true(oi->genes[i].exact == gi->genes[i].exact);
        assert_true(oi->genes[i].neutral == 0 && oi->genes[i].n_neutral == 0);
    }
    /* A hash without its count (or the reverse) behind a valid checksum is corrupt. */
    for (size_t i = 0; i < gi->n_genes; i++) {
        if (gi->genes[i].n_neutral > 0) {
            uint8_t *bad_bytes = malloc(len);
            memcpy(bad_bytes, s, len);
            put32(bad_bytes + 36 + i * GENE_V3 + GENE_V2 + 8, 0);
            reseal(bad_bytes, len);
            strain_genome *bad = NULL;
            assert_int_equal(strain_genome_deserialize(&bad, ctx, bad_bytes, len),
                             STRAIN_EMALFORMED);
            free(bad_bytes);
            break;
        }
    }

    /* A genome discounted by itself keeps nothing; by its version-2 copy (exact hashes) the
     * same. Compared with itself through neutral hashes only: every evidence function pairs. */
    strain_genome *d = NULL;
    assert_int_equal(strain_genome_discount(&d, ctx, g, back), 0);
    assert_int_equal(strain_genome_get_info(d)->n_genes, 0);
    strain_genome_free(d);

    free(v2);
    free(s);
    strain_genome_free(old);
    strain_genome_free(back);
    strain_genome_free(g);
    strain_ctx_free(ctx);
}

static void test_strings(void **state)
{
    (void)state;
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_genome *g = ls_genome(ctx);
    const strain_genome_info *gi = strain_genome_get_info(g);
    assert_true(gi->flags & STRAIN_GENOME_STRINGS);
    assert_true(gi->n_strings >= 100); /* usage text, messages, formats */
    for (size_t i = 1; i < gi->n_strings; i++) {
        assert_true(gi->strings[i - 1] < gi->strings[i]);
    }
    uint8_t *s;
    size_t len;
    assert_int_equal(strain_genome_serialize(&s, &len, ctx, g), 0);
    strain_genome *back = NULL;
    assert_int_equal(strain_genome_deserialize(&back, ctx, s, len), 0);
    const strain_genome_info *bi = strain_genome_get_info(back);
    assert_int_equal(bi->n_strings, gi->n_strings);
    assert_memory_equal(bi->strings, gi->strings, gi->n_strings * sizeof(uint64_t));
    assert_int_equal(bi->flags, gi->flags);

    /* A genome compared with itself: every string shared. */
    strain_comparison *c = NULL;
    assert_int_equal(strain_compare(&c, ctx, g, back), 0);
    assert_int_equal(c->n_shared_strings, gi->n_strings);
    assert_true(c->string_score > 99.99 && c->combined_score > 99.99);
    strain_comparison_free(c);

    /* Version 1: the version-2 bytes without the string section. */
    size_t tail = 4 + gi->n_strings * 8 + 8;
    size_t l2;
    uint8_t *v2 = to_version2(s, len, &l2);
    size_t l1 = l2 - tail + 8;
    uint8_t *v1 = malloc(len);
    memcpy(v1, v2, l1 - 8);
    v1[4] = 1;
    v1[5] = 0;
    reseal(v1, l1);
    strain_genome *old = NULL;
    assert_int_equal(strain_genome_deserialize(&old, ctx, v1, l1), 0);
    const strain_genome_info *oi = strain_genome_get_info(old);
    assert_int_equal(oi->n_strings, 0);
    assert_false(oi->flags & STRAIN_GENOME_STRINGS);
    assert_int_equal(oi->n_genes, gi->n_genes);
    assert_int_equal(oi->n_fragments, gi->n_fragments);
    /* Against a genome without strings, the combined score is the code score. */
    assert_int_equal(strain_compare(&c, ctx, g, old), 0);
    assert_true(c->string_score == 0 && c->combined_score == c->score);
    strain_comparison_free(c);
    /* A version 1 genome with a string section: trailing bytes. */
    memcpy(v1, v2, l2);
    v1[4] = 1;
    reseal(v1, l2);
    strain_genome *bad = NULL;
    assert_int_equal(strain_genome_deserialize(&bad, ctx, v1, l2), STRAIN_EMALFORMED);
    free(v2);

    /* Forged string counts and out-of-order strings behind a valid checksum. */
    size_t str_off = len - tail;
    uint32_t forged[] = {0xffffffffu, (uint32_t)gi->n_strings + 1, (uint32_t)gi->n_strings - 1};
    for (size_t v = 0; v < 3; v++) {
        memcpy(v1, s, len);
        put32(v1 + str_off, forged[v]);
        reseal(v1, len);
        assert_int_equal(strain_genome_deserialize(&bad, ctx, v1, len), STRAIN_EMALFORMED);
    }
    memcpy(v1, s, len);
    put64(v1 + str_off + 4, gi->strings[1]);
    put64(v1 + str_off + 12, gi->strings[0]);
    reseal(v1, len);
    assert_int_equal(strain_genome_deserialize(&bad, ctx, v1, len), STRAIN_EMALFORMED);
    assert_null(bad);

    /* Discounting drops the clean genome's strings. */
    strain_genome *d = NULL;
    assert_int_equal(strain_genome_discount(&d, ctx, g, back), 0);
    assert_int_equal(strain_genome_get_info(d)->n_strings, 0);
    assert_true(strain_genome_get_info(d)->flags & STRAIN_GENOME_STRINGS);
    strain_genome_free(d);
    assert_int_equal(strain_genome_discount(&d, ctx, g, old), 0);
    assert_int_equal(strain_genome_get_info(d)->n_strings, gi->n_strings);
    strain_genome_free(d);

    free(v1);
    free(s);
    strain_genome_free(old);
    strain_genome_free(back);
    strain_genome_free(g);
    strain_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_neutral),
        cmocka_unit_test(test_disasm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
