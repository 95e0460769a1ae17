/*
 * The per-sample genome: the function table (one strain_gene per recovered function,
 * sorted by address) and the sorted unique set of fragment hashes, plus flags and notes
 * (packed, managed, partial). It is what a reference database stores, so it has a stable
 * serialisation:
 *
 *   "SGNM" u16 version=3 u16 reserved=0 u8 arch u8[3]=0 u32 flags u64 code_bytes
 *   u32 n_genes u32 n_fragments u32 n_notes
 *   n_genes x { u64 address, u64 exact, u32 size, n_insns, n_blocks, n_edges, n_calls,
 *               flags, u32 sketch[32], u64 neutral, u32 n_neutral (version 3) }
 *   n_fragments x u64 (strictly increasing)
 *   n_notes x { u16 len, bytes }
 *   u32 n_strings, n_strings x u64 (strictly increasing)      (version 2 and later)
 *   u64 strain_hash64 of everything before it
 *
 * all little-endian. Versions 1 (no strings) and 2 (no neutral hashes) are still read:
 * databases keep their genomes. Reading
 * checks every count against the bytes left, the checksum and the ordering invariants, because
 * stored bytes can be corrupt.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_impl.h"
#include "code/genome_strings.h"
#include "code/hash64.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/span.h"
#include "util/u64sort.h"

#define GENOME_MAGIC "SGNM"
#define GENOME_VERSION 3u
#define GENOME_HEADER 36u
#define GENE_BYTES_V2 (8u + 8u + 6u * 4u + 4u * STRAIN_GENE_SKETCH)
#define GENE_BYTES (GENE_BYTES_V2 + 8u + 4u)
#define NOTE_MAX 1024u

typedef struct build_state {
    strain_vec genes;     /* strain_gene */
    strain_vec fragments; /* uint64_t */
    strain_vec scratch;   /* uint64_t */
} build_state;

void strain_genome_free(strain_genome *g)
{
    if (g == NULL) {
        return;
    }
    for (size_t i = 0; i < g->info.n_notes; i++) {
        free(g->notes[i]);
    }
    free(g->notes);
    free(g->exact_ix);
    free(g->band_ix);
    free(g->neutral_ix);
    free(g->genes);
    free(g->fragments);
    free(g->strings);
    free(g);
}

const strain_genome_info *strain_genome_get_info(const strain_genome *g)
{
    return &g->info;
}

static int add_note(strain_genome *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add_note(strain_genome *g, const char *fmt, ...)
{
    if (g->info.n_notes >= STRAIN_CODE_MAX_NOTES) {
        return 0;
    }
    char buf[NOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char **n = realloc(g->notes, (g->info.n_notes + 1) * sizeof(char *));
    if (n == NULL) {
        return STRAIN_ENOMEM;
    }
    g->notes = n;
    if ((n[g->info.n_notes] = strdup(buf)) == NULL) {
        return STRAIN_ENOMEM;
    }
    g->info.n_notes++;
    g->info.notes = (const char *const *)g->notes;
    return 0;
}

static int on_function(code_image *img, code_func *f, void *payload)
{
    (void)img;
    build_state *st = payload;
    strain_gene *gene = strain_vec_push(&st->genes);
    if (gene == NULL) {
        return STRAIN_ENOMEM;
    }
    return strain_code__genotype(gene, &st->fragments, &st->scratch, f);
}

static int cmp_gene(const void *a, const void *b)
{
    const strain_gene *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

/* LSD radix sort (4 passes of 16 bits): fragments of a large binary number in the millions,
 * where qsort with a comparator costs as much as decoding the code. */
static int sort_u64(uint64_t *a, size_t n)
{
    if (n < 256) {
        code_sort(a, n, sizeof(uint64_t), strain_u64_cmp);
        return 0;
    }
    uint64_t *tmp = malloc(n * sizeof(uint64_t));
    size_t *count = malloc(65536 * sizeof(size_t));
    if (tmp == NULL || count == NULL) {
        free(tmp);
        free(count);
        return STRAIN_ENOMEM;
    }
    uint64_t *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof(size_t));
        for (size_t i = 0; i < n; i++) {
            count[(src[i] >> shift) & 0xffff]++;
        }
        size_t sum = 0;
        for (size_t k = 0; k < 65536; k++) {
            size_t c = count[k];
            count[k] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            dst[count[(src[i] >> shift) & 0xffff]++] = src[i];
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    /* Four passes: the sorted data is back in a. */
    free(tmp);
    free(count);
    return 0;
}

/* Packed or managed files are reported, not silently analysed as if they were code. */
static int classify(strain_genome *g, const code_image *img)
{
    const strain_binary_info *info = img->info;
    int err = 0;
    if (info->pe.is_dotnet) {
        g->info.flags |= STRAIN_GENOME_DOTNET;
        STRAIN_TRY(add_note(g, "managed (.NET) assembly: the native code is only the CLR "
                               "loader stub; IL is not analysed"));
    }
    uint64_t exec_raw = 0;
    const strain_section *hot = NULL;
    bool empty_exec = false;
    for (size_t i = 0; i < info->n_sections; i++) {
        const strain_section *s = &info->sections[i];
        if ((s->flags & STRAIN_SECTION_EXEC) == 0) {
            continue;
        }
        exec_raw += s->raw_size;
        if (s->raw_size == 0 && s->vsize > 0x1000) {
            empty_exec = true; /* UPX0-style: code appears only at run time */
        }
        if (s->raw_size >= 4096 && s->entropy > 7.2 && (hot == NULL || s->entropy > hot->entropy)) {
            hot = s;
        }
    }
    if (hot != NULL || (empty_exec && info->n_imports < 32)) {
        g->info.flags |= STRAIN_GENOME_PACKED;
        if (hot != NULL) {
            STRAIN_TRY(add_note(g,
                                "packed or encrypted: executable section '%s' has entropy "
                                "%.2f bits/byte, %zu imports; genes describe the unpacker",
                                hot->name != NULL ? hot->name : "?", hot->entropy,
                                info->n_imports));
        } else {
            STRAIN_TRY(add_note(g,
                                "packed: an executable section has no file bytes (filled at "
                                "run time), %zu imports; genes describe the unpacker",
                                info->n_imports));
        }
    }
    if (info->arch != STRAIN_ARCH_X86 && info->arch != STRAIN_ARCH_X64) {
        g->info.flags |= STRAIN_GENOME_NO_CODE;
        STRAIN_TRY(add_note(g, "architecture %s is not supported by code recovery",
                            strain_arch_name(info->arch)));
    } else if (img->n_regions == 0) {
        g->info.flags |= STRAIN_GENOME_NO_CODE;
        STRAIN_TRY(add_note(g, "no executable bytes"));
    }
    (void)exec_raw;
done:
    return err;
}

static int genome_new(strain_genome **out, strain_ctx *ctx)
{
    strain_genome *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    *out = g;
    return 0;
}

int strain_genome_build(strain_genome **out, strain_ctx *ctx, const strain_binary *bin,
                        const strain_code_options *opts)
{
    strain_code_string *strs = NULL;
    size_t n_strs = 0;
    size_t size = 0;
    if (out == NULL || bin == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "strain_genome_build: NULL argument");
    }
    const uint8_t *data = strain_binary_data(bin, &size);
    int err = strain_code__binary_strings(&strs, &n_strs, ctx, bin, data, size);
    if (err == 0) {
        err = strain_code__genome_build(out, ctx, bin, opts, strs, n_strs);
    }
    free(strs);
    return err;
}

/* The string hashes of strs (sorted and unique already) into g. */
static int set_strings(strain_genome *g, const strain_code_string *strs, size_t n)
{
    g->strings = malloc((n + 1) * sizeof(uint64_t));
    if (g->strings == NULL) {
        return STRAIN_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strs[i].import_hint) {
            g->strings[k++] = strs[i].hash;
        }
    }
    g->info.strings = g->strings;
    g->info.n_strings = k;
    g->info.flags |= STRAIN_GENOME_STRINGS;
    return 0;
}

int strain_code__genome_build(strain_genome **out, strain_ctx *ctx, const strain_binary *bin,
                              const strain_code_options *opts, const strain_code_string *strs,
                              size_t n_strs)
{
    strain_genome *g = NULL;
    code_image img;
    build_state st = {STRAIN_VEC_INIT(strain_gene), STRAIN_VEC_INIT(uint64_t),
                      STRAIN_VEC_INIT(uint64_t)};
    strain_code_options defaults;
    int err = 0;
    memset(&img, 0, sizeof(img));
    if (out == NULL || bin == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "strain_genome_build: NULL argument");
    }
    if (opts == NULL) {
        memset(&defaults, 0, sizeof(defaults));
        opts = &defaults;
    }
    STRAIN_TRY(genome_new(&g, ctx));
    const strain_binary_info *info = strain_binary_get_info(bin);
    g->info.arch = info->arch;
    bool supported = info->arch == STRAIN_ARCH_X86 || info->arch == STRAIN_ARCH_X64;
    if (supported) {
        STRAIN_TRY(strain_code__image_init(&img, ctx, bin));
    } else {
        img.info = info;
    }
    STRAIN_TRY(classify(g, &img));
    if (info->partial) {
        g->info.flags |= STRAIN_GENOME_PARTIAL;
    }
    if (supported && img.n_regions > 0) {
        for (size_t i = 0; i < img.n_regions; i++) {
            g->info.code_bytes += img.regions[i].len;
        }
        STRAIN_TRY(strain_code__discover(&img, opts, on_function, &st, &g->info.flags, NULL));
        if (img.budget_hit) {
            STRAIN_TRY(add_note(g,
                                "decode budget exhausted (%u instructions per byte of code): "
                                "hostile or junk code, result is partial",
                                STRAIN_CODE_DECODE_PER_BYTE));
        }
        if (st.genes.len >= STRAIN_CODE_MAX_FUNCTIONS) {
            STRAIN_TRY(add_note(g, "function cap reached (%u): result is partial",
                                STRAIN_CODE_MAX_FUNCTIONS));
        }
    }
    code_sort(st.genes.items, st.genes.len, sizeof(strain_gene), cmp_gene);
    STRAIN_TRY(sort_u64(st.fragments.items, st.fragments.len));
    uint64_t *fr = st.fragments.items;
    size_t nf = 0;
    for (size_t i = 0; i < st.fragments.len; i++) {
        if (nf == 0 || fr[nf - 1] != fr[i]) {
            fr[nf++] = fr[i];
        }
    }
    g->genes = st.genes.items;
    g->info.n_genes = st.genes.len;
    g->info.genes = g->genes;
    st.genes.items = NULL;
    g->fragments = st.fragments.items;
    g->info.n_fragments = nf;
    g->info.fragments = g->fragments;
    st.fragments.items = NULL;
    STRAIN_TRY(set_strings(g, strs, n_strs));
    STRAIN_TRY(strain_code__genome_index(g));
    *out = g;
    g = NULL;
done:
    if (err == STRAIN_ENOMEM) {
        strain__fail(ctx, err, "out of memory while computing genotypes");
    }
    strain_code__image_free(&img);
    strain_vec_free(&st.genes);
    strain_vec_free(&st.fragments);
    strain_vec_free(&st.scratch);
    strain_genome_free(g);
    return err;
}

/* Serialisation. */

static void put16(uint8_t **p, uint16_t v)
{
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}

static void put32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        (*p)[i] = (uint8_t)(v >> (8 * i));
    }
    *p += 4;
}

static void put64(uint8_t **p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        (*p)[i] = (uint8_t)(v >> (8 * i));
    }
    *p += 8;
}

int strain_genome_serialize(uint8_t **out, size_t *out_len, strain_ctx *ctx, const strain_genome *g)
{
    const strain_genome_info *in = &g->info;
    size_t total = GENOME_HEADER, part;
    if (!strain_mul_size(in->n_genes, GENE_BYTES, &part) || (total += part) < part ||
        !strain_mul_size(in->n_fragments, 8, &part) || (total += part) < part) {
        return strain__fail(ctx, STRAIN_ELIMIT, "genome too large to serialise");
    }
    for (size_t i = 0; i < in->n_notes; i++) {
        size_t l = strlen(in->notes[i]);
        total += 2 + (l > NOTE_MAX ? NOTE_MAX : l);
    }
    if (in->n_strings > UINT32_MAX || !strain_mul_size(in->n_strings, 8, &part) ||
        (total += 4 + part) < part) {
        return strain__fail(ctx, STRAIN_ELIMIT, "genome too large to serialise");
    }
    total += 8;
    uint8_t *buf = malloc(total);
    if (buf == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    uint8_t *p = buf;
    memcpy(p, GENOME_MAGIC, 4);
    p += 4;
    put16(&p, GENOME_VERSION);
    put16(&p, 0);
    *p++ = (uint8_t)in->arch;
    *p++ = 0;
    *p++ = 0;
    *p++ = 0;
    put32(&p, in->flags);
    put64(&p, in->code_bytes);
    put32(&p, (uint32_t)in->n_genes);
    put32(&p, (uint32_t)in->n_fragments);
    put32(&p, (uint32_t)in->n_notes);
    for (size_t i = 0; i < in->n_genes; i++) {
        const strain_gene *x = &in->genes[i];
        put64(&p, x->address);
        put64(&p, x->exact);
        put32(&p, x->size);
        put32(&p, x->n_insns);
        put32(&p, x->n_blocks);
        put32(&p, x->n_edges);
        put32(&p, x->n_calls);
        put32(&p, x->flags);
        for (unsigned k = 0; k < STRAIN_GENE_SKETCH; k++) {
            put32(&p, x->sketch[k]);
        }
        put64(&p, x->neutral);
        put32(&p, x->n_neutral);
    }
    for (size_t i = 0; i < in->n_fragments; i++) {
        put64(&p, in->fragments[i]);
    }
    for (size_t i = 0; i < in->n_notes; i++) {
        size_t l = strlen(in->notes[i]);
        if (l > NOTE_MAX) {
            l = NOTE_MAX;
        }
        put16(&p, (uint16_t)l);
        memcpy(p, in->notes[i], l);
        p += l;
    }
    put32(&p, (uint32_t)in->n_strings);
    for (size_t i = 0; i < in->n_strings; i++) {
        put64(&p, in->strings[i]);
    }
    put64(&p, strain_hash64(buf, (size_t)(p - buf), 0x53474e4d));
    *out = buf;
    *out_len = total;
    return 0;
}

int strain_genome_deserialize(strain_genome **out, strain_ctx *ctx, const uint8_t *data, size_t len)
{
    strain_genome *g = NULL;
    int err = 0;
    strain_span s = strain_span_make(data, len);
    uint16_t version = 0, reserved = 0;
    uint8_t arch = 0;
    uint32_t flags = 0, n_genes = 0, n_frags = 0, n_notes = 0;
    uint64_t code_bytes = 0, sum = 0;
#define BAD(msg) STRAIN_TRY(strain__fail(ctx, STRAIN_EMALFORMED, "genome: %s", msg))
    if (data == NULL || len < GENOME_HEADER + 8 || memcmp(data, GENOME_MAGIC, 4) != 0) {
        BAD("not a serialised genome");
    }
    if (!strain_span_u64le(s, len - 8, &sum) || sum != strain_hash64(data, len - 8, 0x53474e4d)) {
        BAD("checksum mismatch (corrupt bytes)");
    }
    strain_span_u16le(s, 4, &version);
    strain_span_u16le(s, 6, &reserved);
    strain_span_u8(s, 8, &arch);
    strain_span_u32le(s, 12, &flags);
    strain_span_u64le(s, 16, &code_bytes);
    strain_span_u32le(s, 24, &n_genes);
    strain_span_u32le(s, 28, &n_frags);
    strain_span_u32le(s, 32, &n_notes);
    if (version < 1 || version > GENOME_VERSION) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_EFORMAT, "genome: unsupported version %u", version));
    }
    if (n_genes > STRAIN_CODE_MAX_FUNCTIONS || n_frags > STRAIN_GENOME_MAX_FRAGMENTS ||
        n_notes > STRAIN_CODE_MAX_NOTES || arch > STRAIN_ARCH_OTHER) {
        BAD("count out of range");
    }
    uint64_t gene_bytes = version >= 3 ? GENE_BYTES : GENE_BYTES_V2;
    uint64_t need = GENOME_HEADER + (uint64_t)n_genes * gene_bytes + (uint64_t)n_frags * 8 + 8;
    if (need > len) {
        BAD("truncated");
    }
    STRAIN_TRY(genome_new(&g, ctx));
    g->info.arch = (strain_arch)arch;
    g->info.flags = flags;
    g->info.code_bytes = code_bytes;
    g->genes = calloc(n_genes + 1u, sizeof(strain_gene));
    g->fragments = calloc(n_frags + 1u, sizeof(uint64_t));
    if (g->genes == NULL || g->fragments == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    uint64_t off = GENOME_HEADER;
    for (uint32_t i = 0; i < n_genes; i++) {
        strain_gene *x = &g->genes[i];
        strain_span_u64le(s, off, &x->address);
        strain_span_u64le(s, off + 8, &x->exact);
        strain_span_u32le(s, off + 16, &x->size);
        strain_span_u32le(s, off + 20, &x->n_insns);
        strain_span_u32le(s, off + 24, &x->n_blocks);
        strain_span_u32le(s, off + 28, &x->n_edges);
        strain_span_u32le(s, off + 32, &x->n_calls);
        strain_span_u32le(s, off + 36, &x->flags);
        for (unsigned k = 0; k < STRAIN_GENE_SKETCH; k++) {
            strain_span_u32le(s, off + 40 + 4 * k, &x->sketch[k]);
        }
        if (version >= 3) {
            strain_span_u64le(s, off + GENE_BYTES_V2, &x->neutral);
            strain_span_u32le(s, off + GENE_BYTES_V2 + 8, &x->n_neutral);
            if ((x->neutral == 0) != (x->n_neutral == 0)) {
                BAD("neutral hash without its count");
            }
        }
        off += gene_bytes;
        if (i > 0 && x->address <= g->genes[i - 1].address) {
            BAD("functions out of order");
        }
    }
    for (uint32_t i = 0; i < n_frags; i++) {
        strain_span_u64le(s, off, &g->fragments[i]);
        off += 8;
        if (i > 0 && g->fragments[i] <= g->fragments[i - 1]) {
            BAD("fragments out of order");
        }
    }
    g->info.n_genes = n_genes;
    g->info.genes = g->genes;
    g->info.n_fragments = n_frags;
    g->info.fragments = g->fragments;
    for (uint32_t i = 0; i < n_notes; i++) {
        uint16_t l = 0;
        if (!strain_span_u16le(s, off, &l) || l > NOTE_MAX || !strain_span_has(s, off + 2, l) ||
            off + 2 + l > len - 8) {
            BAD("note truncated");
        }
        STRAIN_TRY(add_note(g, "%.*s", (int)l, (const char *)data + off + 2));
        off += 2 + (uint64_t)l;
    }
    g->info.flags &= ~STRAIN_GENOME_STRINGS;
    if (version >= 2) {
        uint32_t n_str = 0;
        /* off <= len - 8 here: the counts above were checked against the length */
        if (len - 8 - off < 4 || !strain_span_u32le(s, off, &n_str) ||
            n_str > STRAIN_GENOME_MAX_STRINGS || (uint64_t)n_str * 8 > len - 8 - off - 4) {
            BAD("strings truncated");
        }
        off += 4;
        g->strings = malloc(((size_t)n_str + 1) * sizeof(uint64_t));
        if (g->strings == NULL) {
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        for (uint32_t i = 0; i < n_str; i++) {
            strain_span_u64le(s, off, &g->strings[i]);
            off += 8;
            if (i > 0 && g->strings[i] <= g->strings[i - 1]) {
                BAD("strings out of order");
            }
        }
        g->info.n_strings = n_str;
        g->info.strings = g->strings;
        g->info.flags |= STRAIN_GENOME_STRINGS;
    }
    if (off != len - 8) {
        BAD("trailing bytes");
    }
    STRAIN_TRY(strain_code__genome_index(g));
    *out = g;
    g = NULL;
#undef BAD
done:
    strain_genome_free(g);
    return err;
}

static bool u64_sorted_has(const uint64_t *a, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] == x) {
            return true;
        }
        if (a[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

int strain_genome_discount(strain_genome **out, strain_ctx *ctx, const strain_genome *g,
                           const strain_genome *clean)
{
    strain_genome *r = NULL;
    uint64_t *exact = NULL;
    int err = 0;
    const strain_genome_info *gi = &g->info, *ci = &clean->info;
    STRAIN_TRY(genome_new(&r, ctx));
    r->info = *gi;
    r->exact_ix = r->band_ix = r->neutral_ix = NULL;
    r->info.n_notes = 0;
    r->info.notes = NULL;
    r->genes = calloc(gi->n_genes + 1, sizeof(strain_gene));
    r->fragments = calloc(gi->n_fragments + 1, sizeof(uint64_t));
    exact = calloc(ci->n_genes + 1, sizeof(uint64_t));
    if (r->genes == NULL || r->fragments == NULL || exact == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < ci->n_genes; i++) {
        exact[i] = ci->genes[i].exact;
    }
    code_sort(exact, ci->n_genes, sizeof(uint64_t), strain_u64_cmp);
    size_t n = 0;
    for (size_t i = 0; i < gi->n_genes; i++) {
        /* A runtime function built by another release of the same compiler is rarely
         * byte-identical to the clean set's copy, but near-identical: it is runtime all the
         * same. Built for the other instruction set it is neither, but it calls the same APIs
         * with the same strings and constants (its neutral hash). Measured: nearest neighbour
         * of the same family by code, public corpus with the clean set: 127/141 with exact
         * hashes only, 132/141 with near-identical ones, 135/141 with neutral ones too (and
         * neutral pairs in strain_compare). */
        if (!u64_sorted_has(exact, ci->n_genes, gi->genes[i].exact) &&
            !strain_code__near_gene(clean, &gi->genes[i], STRAIN_DISCOUNT_NEAR_SIM) &&
            !strain_code__neutral_gene(clean, &gi->genes[i])) {
            r->genes[n++] = gi->genes[i];
        }
    }
    r->info.n_genes = n;
    r->info.genes = r->genes;
    n = 0;
    for (size_t i = 0; i < gi->n_fragments; i++) {
        if (!u64_sorted_has(ci->fragments, ci->n_fragments, gi->fragments[i])) {
            r->fragments[n++] = gi->fragments[i];
        }
    }
    r->info.n_fragments = n;
    r->info.fragments = r->fragments;
    r->strings = malloc((gi->n_strings + 1) * sizeof(uint64_t));
    if (r->strings == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    n = 0;
    for (size_t i = 0; i < gi->n_strings; i++) {
        if (!u64_sorted_has(ci->strings, ci->n_strings, gi->strings[i])) {
            r->strings[n++] = gi->strings[i];
        }
    }
    r->info.n_strings = n;
    r->info.strings = r->strings;
    for (size_t i = 0; i < gi->n_notes; i++) {
        STRAIN_TRY(add_note(r, "%s", gi->notes[i]));
    }
    STRAIN_TRY(strain_code__genome_index(r));
    *out = r;
    r = NULL;
done:
    free(exact);
    strain_genome_free(r);
    return err;
}

/* --disasm: rerun discovery (tail calls depend on which entries are known) and print the
 * one function asked for, as the genotype sees it. */
typedef struct disasm_state {
    uint64_t va;
    strain_buf text;
    bool found;
    int err;
} disasm_state;

static int on_disasm(code_image *img, code_func *f, void *payload)
{
    disasm_state *ds = payload;
    int err = 0;
    if (f->entry != ds->va || ds->found) {
        return 0;
    }
    ds->found = true;
    const code_insn *ins = f->insns.items;
    const code_block *blocks = f->blocks.items;
    const uint32_t *succ = f->succ.items;
    img->decode_budget += f->insns.len; /* re-decoding is not new work */
    for (size_t k = 0; k < f->order.len; k++) {
        const code_block *b = &blocks[*STRAIN_VEC_AT(&f->order, uint32_t, k)];
        STRAIN_TRY(
            strain_buf_printf(&ds->text, "; block %zu @0x%llx ->", k, (unsigned long long)b->va));
        for (uint32_t s = 0; s < b->n_succ; s++) {
            STRAIN_TRY(strain_buf_printf(&ds->text, " %u", blocks[succ[b->succ_first + s]].order));
        }
        STRAIN_TRY(strain_buf_putc(&ds->text, '\n'));
        for (uint32_t i = 0; i < b->n; i++) {
            code_insn tmp;
            code_ninsn n;
            STRAIN_TRY(strain_buf_printf(&ds->text, "  0x%llx  ",
                                         (unsigned long long)ins[b->first + i].va));
            if (strain_code__decode(img, ins[b->first + i].va, &tmp, &n, NULL, NULL) == 0) {
                STRAIN_TRY(strain_code__format(img, &n, &ds->text));
            }
            STRAIN_TRY(strain_buf_putc(&ds->text, '\n'));
        }
    }
done:
    return err;
}

int strain_code_disasm(char **out, strain_ctx *ctx, const strain_binary *bin,
                       const strain_code_options *opts, uint64_t va)
{
    code_image img;
    disasm_state ds;
    strain_code_options defaults;
    uint32_t flags = 0;
    int err = 0;
    memset(&img, 0, sizeof(img));
    memset(&ds, 0, sizeof(ds));
    ds.va = va;
    if (opts == NULL) {
        memset(&defaults, 0, sizeof(defaults));
        opts = &defaults;
    }
    const strain_binary_info *info = strain_binary_get_info(bin);
    if (info->arch != STRAIN_ARCH_X86 && info->arch != STRAIN_ARCH_X64) {
        return strain__fail(ctx, STRAIN_ENOTFOUND, "no x86/x64 code");
    }
    STRAIN_TRY(strain_code__image_init(&img, ctx, bin));
    STRAIN_TRY(strain_code__discover(&img, opts, on_disasm, &ds, &flags, NULL));
    if (!ds.found) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOTFOUND, "no function starts at 0x%llx",
                                (unsigned long long)va));
    }
    if (ds.text.ptr == NULL) {
        STRAIN_TRY(strain_buf_puts(&ds.text, ""));
    }
    *out = strain_buf_detach(&ds.text);
done:
    strain_code__image_free(&img);
    strain_buf_free(&ds.text);
    return err;
}
