/*
 * From one recovered function to its genotype:
 *  - exact: a hash of the normalised instruction tokens block by block in canonical (DFS)
 *    order, with each block's successors as canonical indices. Layout-independent: moving
 *    blocks or the whole function changes nothing; one changed instruction changes it.
 *  - sketch: MinHash (STRAIN_GENE_SKETCH independent universal hashes of 64-bit features)
 *    over token 3-grams inside blocks, whole short blocks, edges (last token of the source,
 *    first token of the target) and block shapes (size, in/out degree). Two functions that
 *    differ by a few instructions keep most features, so most minima agree.
 *  - fragments: winnowing (Schleimer et al., SIGMOD 2003) over the function's token stream
 *    in canonical order: hashes of STRAIN_FRAG_K-instruction k-grams, the minimum of every
 *    window of STRAIN_FRAG_W. Any shared run of K+W-1 instructions yields a shared fragment,
 *    even when it sits inside functions that differ elsewhere (inlining, edits).
 */
#include <pthread.h>
#include <string.h>

#include "code/code_impl.h"
#include "code/hash64.h"
#include "util/err.h"

/* Per-slot multipliers of the MinHash hashes, fixed forever (sketches are stored): slot i
 * maps a feature (a mixed 64-bit hash, halves lo/hi) to lo * A_i + hi * B_i mod 2^32 with odd
 * A_i, B_i. 32-bit lanes let the compiler vectorise the 32 slots with baseline SSE2; the
 * inputs are already avalanche-mixed, so the linear map is enough to permute them. */
static uint32_t sketch_a[STRAIN_GENE_SKETCH], sketch_b[STRAIN_GENE_SKETCH];
static pthread_once_t sketch_once = PTHREAD_ONCE_INIT;

static void sketch_fill(void)
{
    for (unsigned i = 0; i < STRAIN_GENE_SKETCH; i++) {
        sketch_a[i] = (uint32_t)strain_mix64(0x5eed0000u + 2 * i) | 1u;
        sketch_b[i] = (uint32_t)strain_mix64(0x5eed0000u + 2 * i + 1) | 1u;
    }
}

static void sketch_init(void)
{
    pthread_once(&sketch_once, sketch_fill);
}

static inline void sketch_add(uint32_t *restrict s, uint64_t x)
{
    x = strain_mix64(x);
    uint32_t lo = (uint32_t)x, hi = (uint32_t)(x >> 32);
    for (unsigned i = 0; i < STRAIN_GENE_SKETCH; i++) {
        uint32_t v = lo * sketch_a[i] + hi * sketch_b[i];
        s[i] = v < s[i] ? v : s[i];
    }
}

double strain_code__sketch_sim(const uint32_t *a, const uint32_t *b)
{
    unsigned eq = 0;
    for (unsigned i = 0; i < STRAIN_GENE_SKETCH; i++) {
        eq += a[i] == b[i];
    }
    return (double)eq / STRAIN_GENE_SKETCH;
}

static int push_u64(strain_vec *v, uint64_t x)
{
    return code_push_u64(v, x);
}

/* The k-gram hashes are independent chains of STRAIN_FRAG_K mixes, ~10 64-bit multiplies
 * each: one k-gram per lane vectorises them. GCC vectorises this loop at -O3 only, hence
 * the optimize attribute; the clones are chosen once at load time (ifunc), like the sketch
 * clones below: AVX-512 (vpmullq, 8 k-grams per instruction: 1.3 ns per k-gram against
 * 8.6 ns scalar, measured alone) and AVX2 (multiplies emulated: 5.5 ns). Integer arithmetic
 * in the same order: every clone gives the same hashes. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute) && !defined(__clang__) && \
    defined(__GNUC__) && __GNUC__ >= 11
#if __has_attribute(target_clones) && !defined(__SANITIZE_ADDRESS__)
#define CODE_KGRAM_CLONES                                                                          \
    __attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("tree-vectorize")))
#endif
#endif
#ifndef CODE_KGRAM_CLONES
#define CODE_KGRAM_CLONES
#endif

CODE_KGRAM_CLONES
static void kgram_hashes(uint64_t *restrict kg, const uint64_t *restrict tok, size_t ng)
{
    for (size_t i = 0; i < ng; i++) {
        uint64_t h = 0x4b6772616dull;
        for (size_t k = 0; k < STRAIN_FRAG_K; k++) {
            h = strain_hash_add(h, tok[i + k]);
        }
        kg[i] = h;
    }
}

/* scratch holds the n tokens; the k-gram hashes go after them. */
static int winnow(strain_vec *fragments, strain_vec *scratch)
{
    size_t n = scratch->len;
    if (n < STRAIN_FRAG_K) {
        return 0;
    }
    size_t ng = n - STRAIN_FRAG_K + 1;
    if (strain_vec_reserve(scratch, n + ng) < 0) {
        return STRAIN_ENOMEM;
    }
    const uint64_t *tok = scratch->items;
    uint64_t *kg = (uint64_t *)scratch->items + n;
    /* All k-gram hashes first: each is a chain of K dependent mixes, but the chains are
     * independent, and in a loop of their own they run side by side (kgram_hashes). */
    kgram_hashes(kg, tok, ng);
    size_t w = ng < STRAIN_FRAG_W ? ng : STRAIN_FRAG_W;
    size_t last = SIZE_MAX;
    /* Window [i+1-w, i] over the k-gram hashes. best is the
     * rightmost minimum of the current window, kept incrementally: a new hash <= the minimum
     * takes over, and the window is rescanned only when the minimum slides out of it. */
    size_t best = 0;
    uint64_t bv = UINT64_MAX;
    for (size_t i = 0; i < ng; i++) {
        uint64_t h = kg[i];
        size_t start = i + 1 < w ? 0 : i + 1 - w;
        if (i == 0 || h <= bv) {
            bv = h;
            best = i;
        } else if (best < start) {
            best = start;
            bv = kg[start];
            for (size_t j = start + 1; j <= i; j++) {
                if (kg[j] <= bv) { /* rightmost minimum */
                    bv = kg[j];
                    best = j;
                }
            }
        }
        if (i + 1 < w) {
            continue;
        }
        if (best != last) {
            int err = push_u64(fragments, bv);
            if (err < 0) {
                return err;
            }
            last = best;
        }
    }
    return 0;
}

/* The sketch loop is most of this function's time: the baseline x86-64 build (SSE2) has no
 * 32-bit lane multiply or unsigned min and emulates both. An AVX2 clone (chosen once at load
 * time by the dynamic loader's ifunc) does the 32 slots in 4 registers with pmulld/pminud.
 * Integer arithmetic: both clones give bit-identical sketches. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute)
/* GCC only: clang 14 emits the clones of a hidden-visibility function without the symbol
 * its callers link against (undefined reference in the fuzz build). */
#if __has_attribute(target_clones) && !defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#define CODE_SKETCH_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef CODE_SKETCH_CLONES
#define CODE_SKETCH_CLONES
#endif

/* The neutral set of a function keeps its NEUTRAL_KEEP smallest members (bottom-k), so that
 * a function with hundreds of calls still gets a canonical set. */
#define NEUTRAL_KEEP 64u

/* Inserts x into the sorted set s of *n members (at most NEUTRAL_KEEP). */
static void neutral_add(uint64_t *s, uint32_t *n, uint64_t x)
{
    uint32_t lo = 0, hi = *n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if ((lo < *n && s[lo] == x) || lo >= NEUTRAL_KEEP) {
        return;
    }
    uint32_t end = *n < NEUTRAL_KEEP ? *n : NEUTRAL_KEEP - 1;
    memmove(&s[lo + 1], &s[lo], (end - lo) * sizeof(uint64_t));
    s[lo] = x;
    *n = end + 1;
}

CODE_SKETCH_CLONES
int strain_code__genotype(strain_gene *out, strain_vec *fragments, strain_vec *scratch,
                          const code_func *f)
{
    sketch_init();
    memset(out, 0, sizeof(*out));
    memset(out->sketch, 0xff, sizeof(out->sketch));
    out->address = f->entry;
    const code_insn *ins = f->insns.items;
    const code_block *blocks = f->blocks.items;
    const uint32_t *order = f->order.items;
    const uint32_t *succ = f->succ.items;
    scratch->item_size = sizeof(uint64_t);
    scratch->len = 0;
    if (strain_vec_reserve(scratch, f->insns.len) < 0) { /* the token pushes never grow it */
        return STRAIN_ENOMEM;
    }
    uint64_t h = 0x65786163ull;
    uint64_t size = 0;
    uint64_t neutral[NEUTRAL_KEEP];
    uint32_t n_neutral = 0;
    for (size_t k = 0; k < f->order.len; k++) {
        const code_block *b = &blocks[order[k]];
        h = strain_hash_add(h, b->n);
        uint64_t prev2 = 0, prev1 = 0, whole = 0x626c6bull;
        for (uint32_t i = 0; i < b->n; i++) {
            const code_insn *x = &ins[b->first + i];
            uint64_t t = x->token;
            h = strain_hash_add(h, t);
            whole = strain_hash_add(whole, t);
            if (i >= 2) {
                sketch_add(out->sketch, strain_hash_add(strain_hash_add(prev2, prev1), t));
            }
            prev2 = prev1;
            prev1 = t;
            size += x->len;
            if (x->neutral != 0) {
                neutral_add(neutral, &n_neutral, x->neutral);
            }
            if (x->flow == CODE_FLOW_CALL || x->flow == CODE_FLOW_CALL_IND || x->is_call_import) {
                out->n_calls++;
            }
            int err = push_u64(scratch, t);
            if (err < 0) {
                return err;
            }
        }
        if (b->n < 3) {
            sketch_add(out->sketch, whole);
        }
        uint32_t nsucc = b->n_succ;
        sketch_add(out->sketch, 0x73686170ull ^ ((uint64_t)(b->n > 15 ? 15 : b->n) << 8) ^
                                    ((uint64_t)(nsucc > 3 ? 3 : nsucc) << 4) ^
                                    (uint64_t)(b->n_pred > 3 ? 3 : b->n_pred));
        const code_insn *last = &ins[b->first + b->n - 1];
        for (uint32_t s = 0; s < nsucc; s++) {
            const code_block *t = &blocks[succ[b->succ_first + s]];
            h = strain_hash_add(h, t->order);
            sketch_add(out->sketch, strain_hash_add(strain_hash_add(0x65646765ull ^ s, last->token),
                                                    ins[t->first].token));
        }
        h = strain_hash_add(h, 0xb10cull);
    }
    out->exact = h;
    if (n_neutral > 0) {
        uint64_t nh = 0x6e6575ull;
        for (uint32_t i = 0; i < n_neutral; i++) {
            nh = strain_hash_add(nh, neutral[i]);
        }
        out->neutral = nh;
        out->n_neutral = n_neutral;
    }
    out->size = (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size);
    out->n_insns = (uint32_t)f->insns.len;
    out->n_blocks = (uint32_t)f->blocks.len;
    out->n_edges = (uint32_t)f->succ.len;
    if (out->n_insns < STRAIN_GENE_MIN_INSNS) {
        out->flags |= STRAIN_GENE_SMALL;
    }
    if (f->truncated) {
        out->flags |= STRAIN_GENE_TRUNCATED;
    }
    if (out->n_insns == 1 && (ins[0].flow == CODE_FLOW_JMP || ins[0].flow == CODE_FLOW_JMP_IND)) {
        out->flags |= STRAIN_GENE_THUNK;
    }
    return winnow(fragments, scratch);
}
