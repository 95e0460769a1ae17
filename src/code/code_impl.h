/*
 * Private layout of code recovery, shared by decode.c (Zydis + normaliser), cfg.c (one
 * function: recursive descent, blocks, edges), functions.c (which addresses are functions),
 * genotype.c (hashes of one recovered function) and genome.c (the per-sample container).
 *
 * The pipeline: an image (executable bytes, import slots, decoder) -> a worklist of function
 * entries -> each explored into a scratch CFG -> reduced at once to a strain_gene and its
 * fragment hashes. The CFG is never kept: a genome of a 100 MB binary stays small.
 */
#ifndef STRAIN_CODE_IMPL_H
#define STRAIN_CODE_IMPL_H

#include <stdlib.h>

#include <Zydis/Zydis.h>

#include <strain/code.h>

#include "util/buf.h"
#include "util/vec.h"

/* qsort that accepts an empty (possibly NULL) array: qsort(NULL, 0, ...) is undefined. */
static inline void code_sort(void *base, size_t n, size_t size,
                             int (*cmp)(const void *, const void *))
{
    if (n > 1) {
        qsort(base, n, size, cmp);
    }
}

/* Appends x to a vector of uint64_t. These pushes run once or more per decoded instruction:
 * the fast path (room left) skips strain_vec_push's call and its zeroing of the slot.
 * 0 or STRAIN_ENOMEM. */
static inline int code_push_u64(strain_vec *v, uint64_t x)
{
    if (v->len < v->cap) {
        ((uint64_t *)v->items)[v->len++] = x;
        return 0;
    }
    uint64_t *p = strain_vec_push(v);
    if (p == NULL) {
        return STRAIN_ENOMEM;
    }
    *p = x;
    return 0;
}

/* Instruction flow kinds. */
enum {
    CODE_FLOW_NONE = 0, /* falls through */
    CODE_FLOW_JCC,      /* conditional branch: target + fallthrough */
    CODE_FLOW_JMP,      /* direct jump */
    CODE_FLOW_JMP_IND,  /* indirect jump (jump table or tail call through a pointer) */
    CODE_FLOW_CALL,     /* direct call: target is a function, then falls through */
    CODE_FLOW_CALL_IND, /* indirect call, falls through */
    CODE_FLOW_RET,      /* ret, iret, sysret */
    CODE_FLOW_STOP,     /* int3, hlt, ud2, call to a no-return API */
};

/* Normalised operand kinds (what a genotype sees of an operand). */
enum {
    NOP_REG = 1,
    NOP_MEM,    /* memory: normalised base/index/scale, displacement kept or masked */
    NOP_IMM,    /* a kept constant */
    NOP_ADDR,   /* an immediate pointing into the image: masked */
    NOP_IMPORT, /* a reference to an import slot: the API name replaces the address */
    NOP_BRANCH, /* a branch target: masked */
    NOP_CALLEE, /* a local call target: masked */
};

enum { DISP_NONE = 0, DISP_KEPT, DISP_MASKED, DISP_IMPORT };

typedef struct code_nop {
    uint8_t kind;
    uint8_t size; /* bytes */
    uint8_t scale;
    uint8_t disp_kind; /* DISP_* (NOP_MEM) */
    uint16_t reg;      /* normalised register (NOP_REG) */
    uint16_t base, index, seg;
    int64_t value;                 /* kept immediate or displacement */
    const struct code_import *imp; /* NOP_IMPORT or DISP_IMPORT: the import it names */
} code_nop;

/* A normalised instruction, for --disasm; the hot path only keeps its token. */
typedef struct code_ninsn {
    uint16_t mnemonic; /* ZydisMnemonic */
    uint8_t n_ops;
    code_nop ops[ZYDIS_MAX_OPERAND_COUNT_VISIBLE];
} code_ninsn;

/* One decoded instruction of a function being explored. */
typedef struct code_insn {
    uint64_t va;
    uint64_t token;  /* hash of the normalised instruction */
    uint64_t target; /* direct branch/call target, 0 if none */
    uint64_t ptr;    /* an operand pointing into executable bytes (a code pointer), 0 if none */
    /* What the instruction means beyond its encoding, the same for x86 and x64 builds: the
     * API it calls or reads, the string it points at, a distinctive constant; 0 if none. */
    uint64_t neutral;
    uint32_t jt_first, jt_count; /* jump-table targets in code_func.jt */
    uint8_t len;
    uint8_t flow;               /* CODE_FLOW_* */
    uint8_t is_call_import;     /* a call that resolved to an import */
    uint8_t tail;               /* jump leaves the function (tail call) */
    uint8_t dec_flow, dec_tail; /* flow and tail as decoded, before the descent's verdicts */
} code_insn;

typedef struct code_block {
    uint64_t va;
    uint32_t first, n; /* instructions [first, first+n) of the sorted insn array */
    uint32_t succ_first, n_succ;
    uint32_t order; /* canonical (DFS) index */
    uint32_t n_pred;
} code_block;

/* An executable range backed by file bytes. */
typedef struct code_region {
    uint64_t va;
    const uint8_t *p;
    size_t len;
    uint8_t *covered; /* bit per byte: inside a recovered instruction or jump table */
    uint8_t *queued;  /* bit per byte: already a function entry (queued or explored) */
    uint8_t *istart;  /* bit per byte: a recovered instruction starts here */
    uint8_t *cached;  /* bit per byte, allocated on first use: in the decode cache (decode.c) */
} code_region;

typedef struct code_import {
    uint64_t slot;
    const char *name; /* API name or "lib#ordinal" (arena of the image) */
    uint64_t name_hash;
    bool noreturn;
} code_import;

typedef struct code_image {
    strain_ctx *ctx;
    const strain_binary *bin;
    const strain_binary_info *info;
    ZydisDecoder dec;
    ZydisMachineMode mode;
    bool x64;
    code_region *regions; /* sorted by va, non-overlapping */
    size_t n_regions;
    uint64_t img_lo, img_hi; /* [lo, hi): addresses that mean "somewhere in this image" */
    code_import *imports;    /* sorted by slot */
    size_t n_imports;
    char **import_names; /* owned strings for ordinal imports */
    size_t n_import_names;
    const uint64_t *mnemonic_hash; /* per ZydisMnemonic: hash of its name (stable across Zydis) */
    const uint64_t *register_hash; /* per ZydisRegister (process-wide tables, decode.c) */
    uint16_t *reg_norm;            /* per ZydisRegister: its normalised form (class or itself) */
    uint64_t *reg_norm_hash;       /* per ZydisRegister: hash of its normalised form */
    /* Direct-mapped cache: call target -> import index + 1 (0 = none, UINT32_MAX = unknown). */
    uint64_t *stub_key;
    uint32_t *stub_val;
    /* Which local functions return: va -> NR_* (open addressing, grows). Filled for every
     * explored function and, on demand, for callees followed by padding (see cfg.c). */
    uint64_t *nr_keys;
    uint8_t *nr_vals;
    size_t nr_cap, nr_len;
    struct code_func *probe; /* scratch for probing a callee */
    bool probing;
    size_t last_region;     /* lookup cache: consecutive decodes hit the same region */
    uint64_t decode_budget; /* instructions left to decode for the whole sample */
    bool budget_hit;
    /* Bumped whenever something a strict exploration reads changes: the covered, istart and
     * queued maps (a function accepted) or the no-return table (functions.c memoises
     * rejected guesses against it). */
    uint64_t epoch;
    uint64_t outer_decodes; /* budget spent outside callee probes */
    /* Decode cache (decode.c): direct-mapped by address, holds the instructions of callee
     * probes and rejected guesses, which are decoded again later. */
    code_insn *dc;
    size_t dc_cap, dc_len;
} code_image;

/* Scratch for exploring one function; reused across functions (cleared, not freed). */
typedef struct code_func code_func;
struct code_func {
    uint64_t entry;
    bool strict; /* weak seed: any invalid instruction rejects the function */
    bool rejected;
    bool truncated;
    strain_vec insns;  /* code_insn, sorted by va once exploration ends */
    strain_vec blocks; /* code_block */
    strain_vec succ;   /* uint32_t block indices */
    strain_vec jt;     /* uint64_t jump-table targets */
    strain_vec work;   /* uint64_t pending addresses */
    strain_vec calls;  /* uint64_t direct call targets (function seeds) */
    strain_vec ptrs;   /* uint64_t code pointers in operands (weak seeds) */
    strain_vec order;  /* uint32_t block indices in canonical order */
    strain_vec tables; /* uint64_t pairs (va, bytes): jump tables read */
    strain_vec lead;   /* uint64_t block leaders */
    /* Decoded instruction addresses: a bit per byte of each region (cfg.c). */
    uint8_t **seen_bits; /* per region, NULL until used */
    size_t seen_nreg;
    strain_vec seen_list; /* uint64_t (region << 40 | offset): bitmap bytes to clear */
    code_insn *sort_tmp;  /* scratch of the instruction sort (swapped with insns.items) */
    size_t sort_cap;
};

enum { NR_UNKNOWN = 0, NR_RETURNS = 1, NR_NORETURN = 2 };

/* decode.c */
int strain_code__image_init(code_image *img, strain_ctx *ctx, const strain_binary *bin);
void strain_code__image_free(code_image *img);
const code_region *strain_code__region(const code_image *img, uint64_t va);
const code_import *strain_code__import_at(const code_image *img, uint64_t slot);
/*
 * Decodes and normalises the instruction at va. Fills *out (and *norm when not NULL).
 * Returns 0, or -1 when va is not in code or the bytes are not a valid instruction.
 */
int strain_code__decode(code_image *img, uint64_t va, code_insn *out, code_ninsn *norm,
                        ZydisDecodedInstruction *raw, ZydisDecodedOperand *raw_ops);
/* Keeps the instructions f decoded in the decode cache (f is a probe or a rejected guess:
 * those instructions are likely decoded again). */
void strain_code__cache_insns(code_image *img, const code_func *f);
/* Appends the normalised instruction as text ("mov r64, [rsp+0x20]"). */
int strain_code__format(const code_image *img, const code_ninsn *n, strain_buf *b);

/* cfg.c */
void strain_code__func_reset(code_func *f, uint64_t entry, bool strict);
void strain_code__func_free(code_func *f);
/* Straight-line path kept by the descent for jump-table patterns (instructions). */
#define STRAIN_CODE_RING 12
/* True when f's exploration already decoded an instruction at va. */
bool strain_code__seen(const code_image *img, const code_func *f, uint64_t va);

/* jumptable.c: reads the table of the indirect jump that ends path[npath-1] (== jmp->va);
 * targets go to f->jt and f->work, the table's extent to f->tables. An unrecognised form is
 * not an error. 0 or STRAIN_ENOMEM. */
int strain_code__jump_table(code_image *img, code_func *f, const uint64_t *path, int npath,
                            code_insn *jmp);

/* Records whether the explored function f returns (for calls to it found later). */
int strain_code__note_returns(code_image *img, const code_func *f);
/* Explores the function at f->entry and builds its blocks. 0, or STRAIN_ENOMEM. */
int strain_code__func_explore(code_image *img, code_func *f);

/* genotype.c */
/* Instructions below which a function is not evidence: prologue/epilogue-only helpers,
 * thunks and getters are identical in unrelated programs. */
#define STRAIN_GENE_MIN_INSNS 12u
/* Fragment k-gram (instructions) and winnowing window. */
#define STRAIN_FRAG_K 5u
#define STRAIN_FRAG_W 8u
/* Reduces an explored function to its gene and appends its winnowed fragments (uint64_t)
 * to *fragments; scratch is a uint64_t vector reused between calls. */
int strain_code__genotype(strain_gene *out, strain_vec *fragments, strain_vec *scratch,
                          const code_func *f);
/* Estimated Jaccard similarity of two sketches, 0..1. */
double strain_code__sketch_sim(const uint32_t *a, const uint32_t *b);
/* Whether g holds a function near-identical to x: an LSH band in common, MinHash similarity
 * at least min_sim, sizes within a factor of 2 (what strain_compare pairs, at a stricter
 * similarity). g must be indexed (strain_code__genome_index). */
bool strain_code__near_gene(const strain_genome *g, const strain_gene *x, double min_sim);
/* Whether g holds a function with x's neutral hash (both evidence: strain_code__neutral_counted).
 * g must be indexed. */
bool strain_code__neutral_gene(const strain_genome *g, const strain_gene *x);
/* strain_genome_discount drops functions this similar to one of clean's: near-identical, as
 * two builds of one runtime function are (strain_compare pairs functions from 0.5). */
#define STRAIN_DISCOUNT_NEAR_SIM 0.8

/* genome.c / compare.c: the genome and its comparison index (built once per genome, never
 * serialised: exact hashes and LSH band keys of counted genes, sorted, so that comparing
 * two genomes never sorts). */
typedef struct code_key {
    uint64_t key;
    uint32_t idx;
} code_key;

struct strain_genome {
    strain_genome_info info;
    strain_gene *genes;
    uint64_t *fragments;
    char **notes;
    uint64_t *strings;
    code_key *exact_ix;
    size_t n_exact_ix;
    code_key *band_ix;
    size_t n_band_ix;
    code_key *neutral_ix; /* counted genes with at least STRAIN_NEUTRAL_MIN neutral members */
    size_t n_neutral_ix;
};

/* A neutral hash (strain_gene.neutral) is evidence when its set holds at least this many
 * members: one or two API calls or strings are shared by unrelated functions (a wrapper of
 * HeapFree); three that occur together are the function. */
#define STRAIN_NEUTRAL_MIN 3u
/* Whether the neutral hash of x is evidence (x counted, set large enough). */
bool strain_code__neutral_counted(const strain_gene *x);

int strain_code__genome_index(strain_genome *g);

/* functions.c */
typedef int (*code_func_cb)(code_image *img, code_func *f, void *payload);
/* Discovers every function of the image and calls cb for each, in discovery order. */
int strain_code__discover(code_image *img, const strain_code_options *opts, code_func_cb cb,
                          void *payload, uint32_t *out_flags, strain_vec *notes);

/* ehframe.c: function starts from .eh_frame FDEs (appends uint64_t VAs). */
int strain_code__ehframe_starts(const code_image *img, strain_vec *out);

#endif
