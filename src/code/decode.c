/*
 * The code image and the instruction normaliser. An image is what code recovery needs of a
 * parsed binary: executable bytes (file-backed only: a 1 GB BSS-like section costs
 * nothing), where the image lives (to recognise addresses among constants), and the import
 * slots (so a call through the IAT/GOT becomes the API's name, an author signal that
 * survives relinking).
 *
 * Normalisation keeps what the author wrote and drops what the linker chose: mnemonic,
 * prefixes (rep/lock), operand kinds and sizes, register classes (register allocation
 * changes with any edit nearby; the stack and frame pointers stay exact because frame
 * shape is structure), kept constants (magic numbers, crypto constants, struct offsets);
 * masked: branch targets, RIP-relative displacements and every immediate or displacement
 * pointing into the image. Names of mnemonics and registers are hashed as strings so the
 * tokens do not move when Zydis renumbers its enums.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_impl.h"
#include "code/hash64.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/span.h"

#define STUB_CACHE 4096u /* power of two; a program calls a few hundred distinct stubs */
#define STUB_UNKNOWN UINT32_MAX

/* APIs that never return: a call to one ends its basic block (code after it is padding or
 * another function). */
static const char *const noreturn_names[] = {
    "ExitProcess", "ExitThread", "FatalExit", "FatalAppExitA", "FatalAppExitW",
    "RtlExitUserProcess", "RtlExitUserThread", "RaiseFailFastException", "exit", "_exit",
    "_Exit", "abort", "quick_exit", "_cexit_noreturn", "__assert_fail", "__assert_rtn",
    "_assert", "_wassert", "__stack_chk_fail", "__chk_fail", "__fortify_fail", "longjmp",
    "_longjmp", "siglongjmp", "pthread_exit", "err", "errx", "verr", "verrx",
    "__cxa_throw", "__cxa_rethrow", "__cxa_bad_cast", "__cxa_bad_typeid",
    "__cxa_throw_bad_array_new_length", "_Unwind_Resume", "_CxxThrowException",
    "_invalid_parameter_noinfo_noreturn", "_invoke_watson", "__std_terminate", "terminate",
    "_ZSt9terminatev", "__report_rangecheckfailure", "__report_gsfailure",
};

static bool is_noreturn(const char *name)
{
    for (size_t i = 0; i < sizeof(noreturn_names) / sizeof(noreturn_names[0]); i++) {
        if (strcmp(name, noreturn_names[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int cmp_region(const void *a, const void *b)
{
    const code_region *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

static int cmp_import(const void *a, const void *b)
{
    const code_import *x = a, *y = b;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void widen(code_image *img, uint64_t lo, uint64_t size)
{
    uint64_t hi;
    if (size == 0 || !strain_add_u64(lo, size, &hi)) {
        return;
    }
    if (img->img_hi == 0 || lo < img->img_lo) {
        img->img_lo = lo;
    }
    if (hi > img->img_hi) {
        img->img_hi = hi;
    }
}

static int add_region(code_image *img, strain_vec *v, uint64_t va, uint64_t vsize)
{
    const uint8_t *p;
    size_t len;
    if (strain_binary_va_bytes(img->bin, va, &p, &len) < 0 || len == 0) {
        return 0; /* not file-backed: nothing to decode */
    }
    if (vsize != 0 && vsize < len) {
        len = (size_t)vsize;
    }
    code_region *r = strain_vec_push(v);
    if (r == NULL) {
        return STRAIN_ENOMEM;
    }
    r->va = va;
    r->p = p;
    r->len = len;
    return 0;
}

static int build_regions(code_image *img)
{
    const strain_binary_info *info = img->info;
    strain_vec v = STRAIN_VEC_INIT(code_region);
    int err = 0;
    for (size_t i = 0; i < info->n_sections; i++) {
        const strain_section *s = &info->sections[i];
        widen(img, s->vaddr, s->vsize > s->raw_size ? s->vsize : s->raw_size);
        if ((s->flags & STRAIN_SECTION_EXEC) != 0) {
            STRAIN_TRY(add_region(img, &v, s->vaddr, s->vsize));
        }
    }
    /* ELF without section headers (stripped hard, or hostile): executable segments. */
    bool had_sections = v.len > 0;
    for (size_t i = 0; i < info->elf.n_segments; i++) {
        const strain_segment *g = &info->elf.segments[i];
        if (g->type != 1 /* PT_LOAD */) {
            continue;
        }
        widen(img, g->vaddr, g->memsz);
        if (!had_sections && (g->flags & STRAIN_SECTION_EXEC) != 0) {
            STRAIN_TRY(add_region(img, &v, g->vaddr, g->filesz));
        }
    }
    if (info->format == STRAIN_FORMAT_PE32 || info->format == STRAIN_FORMAT_PE32PLUS) {
        widen(img, info->image_base, 0x1000);
    }
    code_sort(v.items, v.len, sizeof(code_region), cmp_region);
    /* Overlapping executable sections (a hostile header): clip so every byte has one owner. */
    code_region *r = v.items;
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (n > 0) {
            code_region *prev = &r[n - 1];
            uint64_t prev_end = prev->va + prev->len;
            if (r[i].va < prev_end) {
                uint64_t cut = prev_end - r[i].va;
                if (cut >= r[i].len) {
                    continue;
                }
                r[i].va += cut;
                r[i].p += cut;
                r[i].len -= (size_t)cut;
            }
        }
        r[n++] = r[i];
    }
    for (size_t i = 0; i < n; i++) {
        size_t bits = (r[i].len + 7) / 8;
        r[i].covered = calloc(bits, 1);
        r[i].queued = calloc(bits, 1);
        r[i].istart = calloc(bits, 1);
        if (r[i].covered == NULL || r[i].queued == NULL || r[i].istart == NULL) {
            img->regions = r;
            img->n_regions = i + 1;
            v.items = NULL;
            return STRAIN_ENOMEM;
        }
    }
    img->regions = r;
    img->n_regions = n;
    v.items = NULL;
done:
    strain_vec_free(&v);
    return err;
}

static int build_imports(code_image *img)
{
    const strain_binary_info *info = img->info;
    size_t n = 0;
    img->imports = calloc(info->n_imports + 1, sizeof(code_import));
    img->import_names = calloc(info->n_imports + 1, sizeof(char *));
    if (img->imports == NULL || img->import_names == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < info->n_imports; i++) {
        const strain_import *im = &info->imports[i];
        if (im->address == 0) {
            continue;
        }
        code_import *c = &img->imports[n++];
        c->slot = im->address;
        if (im->name != NULL) {
            c->name = im->name;
        } else {
            const char *lib = im->library != NULL ? im->library : "?";
            size_t len = strlen(lib) + 16;
            char *s = malloc(len);
            if (s == NULL) {
                return STRAIN_ENOMEM;
            }
            /* Ordinal imports are named by library and ordinal: "ws2_32.dll#23". */
            snprintf(s, len, "%s#%u", lib, im->ordinal);
            img->import_names[img->n_import_names++] = s;
            c->name = s;
        }
        c->name_hash = strain_hash64_str_nocase(c->name, 0x1a9);
        c->noreturn = is_noreturn(c->name);
    }
    code_sort(img->imports, n, sizeof(code_import), cmp_import);
    img->n_imports = n;
    return 0;
}

static int reg_tables(code_image *img);

/* Hashes of Zydis's mnemonic and register names: constants of the library, computed once per
 * process (about 2,200 string hashes that every genome build used to redo: the bulk of the
 * work for a small input, e.g. a fuzzing run). */
static uint64_t mnemonic_hash_tab[ZYDIS_MNEMONIC_MAX_VALUE + 1];
static uint64_t register_hash_tab[ZYDIS_REGISTER_MAX_VALUE + 1];
static pthread_once_t name_hash_once = PTHREAD_ONCE_INIT;

static void name_hash_init(void)
{
    for (int m = 0; m <= ZYDIS_MNEMONIC_MAX_VALUE; m++) {
        const char *s = ZydisMnemonicGetString((ZydisMnemonic)m);
        mnemonic_hash_tab[m] = strain_hash64_str_nocase(s != NULL ? s : "?", 0x6d6e);
    }
    for (int r = 0; r <= ZYDIS_REGISTER_MAX_VALUE; r++) {
        const char *s = ZydisRegisterGetString((ZydisRegister)r);
        register_hash_tab[r] = strain_hash64_str_nocase(s != NULL ? s : "?", 0x7267);
    }
}

int strain_code__image_init(code_image *img, strain_ctx *ctx, const strain_binary *bin)
{
    int err = 0;
    memset(img, 0, sizeof(*img));
    img->ctx = ctx;
    img->bin = bin;
    img->info = strain_binary_get_info(bin);
    img->x64 = img->info->arch == STRAIN_ARCH_X64;
    img->mode = img->x64 ? ZYDIS_MACHINE_MODE_LONG_64 : ZYDIS_MACHINE_MODE_LEGACY_32;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&img->dec, img->mode,
                                       img->x64 ? ZYDIS_STACK_WIDTH_64 : ZYDIS_STACK_WIDTH_32))) {
        return strain__fail(ctx, STRAIN_ERROR, "Zydis decoder initialisation failed");
    }
    pthread_once(&name_hash_once, name_hash_init);
    img->mnemonic_hash = mnemonic_hash_tab;
    img->register_hash = register_hash_tab;
    img->stub_key = calloc(STUB_CACHE, sizeof(uint64_t));
    img->stub_val = calloc(STUB_CACHE, sizeof(uint32_t));
    if (img->stub_key == NULL || img->stub_val == NULL) {
        return STRAIN_ENOMEM;
    }
    STRAIN_TRY(reg_tables(img));
    STRAIN_TRY(build_regions(img));
    STRAIN_TRY(build_imports(img));
    uint64_t code = 0;
    for (size_t i = 0; i < img->n_regions; i++) {
        code += img->regions[i].len;
    }
    img->decode_budget = STRAIN_CODE_DECODE_BASE + code * STRAIN_CODE_DECODE_PER_BYTE;
done:
    return err;
}

void strain_code__image_free(code_image *img)
{
    if (img == NULL) {
        return;
    }
    for (size_t i = 0; i < img->n_regions; i++) {
        free(img->regions[i].covered);
        free(img->regions[i].queued);
        free(img->regions[i].istart);
        free(img->regions[i].cached);
    }
    free(img->dc);
    free(img->regions);
    for (size_t i = 0; i < img->n_import_names; i++) {
        free(img->import_names[i]);
    }
    free(img->import_names);
    free(img->imports);
    free(img->reg_norm);
    free(img->reg_norm_hash);
    free(img->stub_key);
    free(img->stub_val);
    free(img->nr_keys);
    free(img->nr_vals);
    strain_code__func_free(img->probe);
    free(img->probe);
    memset(img, 0, sizeof(*img));
}

const code_region *strain_code__region(const code_image *img, uint64_t va)
{
    /* Most lookups are near the last decode (cover, queued, padding checks): try its region
     * before the binary search. Regions do not overlap, so the answer is the same. */
    if (img->last_region < img->n_regions) {
        const code_region *c = &img->regions[img->last_region];
        if (va >= c->va && va - c->va < c->len) {
            return c;
        }
    }
    size_t lo = 0, hi = img->n_regions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const code_region *r = &img->regions[mid];
        if (va < r->va) {
            hi = mid;
        } else if (va - r->va >= r->len) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

const code_import *strain_code__import_at(const code_image *img, uint64_t slot)
{
    size_t lo = 0, hi = img->n_imports;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t s = img->imports[mid].slot;
        if (slot == s) {
            return &img->imports[mid];
        }
        if (slot < s) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

/* Register classes that are renamed freely by register allocation. */
enum { RC_GPR8 = 1, RC_GPR16, RC_GPR32, RC_GPR64, RC_X87, RC_MMX, RC_XMM, RC_YMM, RC_ZMM,
       RC_TMM, RC_MASK };
#define REG_CLASS_BIT 0x8000u

static uint16_t norm_reg_compute(const code_image *img, ZydisRegister r)
{
    if (r == ZYDIS_REGISTER_NONE) {
        return 0;
    }
    unsigned rc = 0;
    switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8: rc = RC_GPR8; break;
    case ZYDIS_REGCLASS_GPR16: rc = RC_GPR16; break;
    case ZYDIS_REGCLASS_GPR32: rc = RC_GPR32; break;
    case ZYDIS_REGCLASS_GPR64: rc = RC_GPR64; break;
    case ZYDIS_REGCLASS_X87: rc = RC_X87; break;
    case ZYDIS_REGCLASS_MMX: rc = RC_MMX; break;
    case ZYDIS_REGCLASS_XMM: rc = RC_XMM; break;
    case ZYDIS_REGCLASS_YMM: rc = RC_YMM; break;
    case ZYDIS_REGCLASS_ZMM: rc = RC_ZMM; break;
    case ZYDIS_REGCLASS_TMM: rc = RC_TMM; break;
    case ZYDIS_REGCLASS_MASK: rc = RC_MASK; break;
    default: return (uint16_t)r;
    }
    if (rc <= RC_GPR64) {
        ZydisRegister big = ZydisRegisterGetLargestEnclosing(img->mode, r);
        if (big == ZYDIS_REGISTER_RSP || big == ZYDIS_REGISTER_ESP || big == ZYDIS_REGISTER_RBP ||
            big == ZYDIS_REGISTER_EBP) {
            return (uint16_t)r; /* frame shape is structure, keep it exact */
        }
    }
    return (uint16_t)(REG_CLASS_BIT | rc);
}

static uint64_t reg_hash_compute(const code_image *img, uint16_t r)
{
    if ((r & REG_CLASS_BIT) != 0) {
        return strain_mix64(0x5243u + (r & 0xffu));
    }
    return r <= ZYDIS_REGISTER_MAX_VALUE ? img->register_hash[r] : strain_mix64(r);
}

/* Both are per-instruction hot: two Zydis lookups and a hash per register operand. Tables
 * built once per image (reg_tables) give the same values. */
static inline uint16_t norm_reg(const code_image *img, ZydisRegister r)
{
    return (unsigned)r <= ZYDIS_REGISTER_MAX_VALUE ? img->reg_norm[r] : norm_reg_compute(img, r);
}

/* reg_hash(norm_reg(r)) for a raw Zydis register. */
static inline uint64_t norm_reg_hash(const code_image *img, ZydisRegister r)
{
    return (unsigned)r <= ZYDIS_REGISTER_MAX_VALUE ? img->reg_norm_hash[r]
                                                   : reg_hash_compute(img, norm_reg_compute(img, r));
}

static int reg_tables(code_image *img)
{
    img->reg_norm = calloc(ZYDIS_REGISTER_MAX_VALUE + 1, sizeof(uint16_t));
    img->reg_norm_hash = calloc(ZYDIS_REGISTER_MAX_VALUE + 1, sizeof(uint64_t));
    if (img->reg_norm == NULL || img->reg_norm_hash == NULL) {
        return STRAIN_ENOMEM;
    }
    for (int r = 0; r <= ZYDIS_REGISTER_MAX_VALUE; r++) {
        img->reg_norm[r] = norm_reg_compute(img, (ZydisRegister)r);
        img->reg_norm_hash[r] = reg_hash_compute(img, img->reg_norm[r]);
    }
    return 0;
}

/* True when v looks like an address in this image. Images loaded near 0 (PIE ELF, raw
 * blobs at base 0) are left out: their absolute addresses only exist after relocation, so
 * an immediate there is a constant, and masking it would make the genotype depend on the
 * image base (a PIE and the same code linked at 0x10000000 must hash alike). */
static bool in_image(const code_image *img, uint64_t v)
{
    return img->img_lo >= 0x10000 && v >= img->img_lo && v < img->img_hi;
}

static bool in_code(const code_image *img, uint64_t v)
{
    return strain_code__region(img, v) != NULL;
}

/* The import a call target reaches through a stub (`jmp [slot]`, PLT entries with an
 * endbr64 in front), or NULL. Cached: the same stubs are called thousands of times. */
static const code_import *stub_import(code_image *img, uint64_t target)
{
    uint32_t h = (uint32_t)(strain_mix64(target) & (STUB_CACHE - 1));
    if (img->stub_key[h] == target && img->stub_val[h] != STUB_UNKNOWN) {
        return img->stub_val[h] == 0 ? NULL : &img->imports[img->stub_val[h] - 1];
    }
    const code_import *found = NULL;
    uint64_t va = target;
    for (int step = 0; step < 2 && img->n_imports > 0; step++) {
        const code_region *r = strain_code__region(img, va);
        if (r == NULL) {
            break;
        }
        ZydisDecodedInstruction in;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        size_t off = (size_t)(va - r->va);
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&img->dec, r->p + off, r->len - off, &in, ops))) {
            break;
        }
        if (in.mnemonic == ZYDIS_MNEMONIC_ENDBR64 || in.mnemonic == ZYDIS_MNEMONIC_ENDBR32) {
            va += in.length;
            continue;
        }
        if (in.mnemonic == ZYDIS_MNEMONIC_JMP && in.operand_count_visible > 0 &&
            ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[0].mem.index == ZYDIS_REGISTER_NONE) {
            uint64_t slot = 0;
            if (ops[0].mem.base == ZYDIS_REGISTER_RIP) {
                slot = va + in.length + (uint64_t)ops[0].mem.disp.value;
            } else if (ops[0].mem.base == ZYDIS_REGISTER_NONE) {
                slot = (uint64_t)ops[0].mem.disp.value & (img->x64 ? UINT64_MAX : UINT32_MAX);
            }
            found = strain_code__import_at(img, slot);
        }
        break;
    }
    img->stub_key[h] = target;
    img->stub_val[h] = found == NULL ? 0 : (uint32_t)(found - img->imports) + 1;
    return found;
}

static void set_import(code_nop *o, const code_import *im)
{
    o->imp = im;
    o->value = (int64_t)im->name_hash;
}

static void norm_mem(code_image *img, const ZydisDecodedOperand *op, uint64_t next_ip,
                     code_nop *o, code_insn *out, uint64_t *data_ref)
{
    const ZydisDecodedOperandMem *m = &op->mem;
    o->kind = NOP_MEM;
    o->base = norm_reg(img, m->base);
    o->index = norm_reg(img, m->index);
    o->scale = m->scale;
    /* fs/gs select the TEB/TLS: keep; ds/ss/es defaults carry nothing. */
    if (m->segment == ZYDIS_REGISTER_FS || m->segment == ZYDIS_REGISTER_GS) {
        o->seg = (uint16_t)m->segment;
    }
    if (op->type == ZYDIS_OPERAND_TYPE_POINTER) {
        o->disp_kind = DISP_MASKED;
        return;
    }
    if (!m->disp.has_displacement && m->base != ZYDIS_REGISTER_RIP) {
        o->disp_kind = DISP_NONE;
        return;
    }
    uint64_t mask = img->x64 ? UINT64_MAX : UINT32_MAX;
    uint64_t abs;
    bool is_abs = false;
    if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP) {
        abs = next_ip + (uint64_t)m->disp.value;
        is_abs = true;
    } else {
        abs = (uint64_t)m->disp.value & mask;
        is_abs = m->base == ZYDIS_REGISTER_NONE && m->index == ZYDIS_REGISTER_NONE;
    }
    const code_import *im = is_abs ? strain_code__import_at(img, abs) : NULL;
    if (im != NULL) {
        o->disp_kind = DISP_IMPORT;
        set_import(o, im);
        return;
    }
    if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP || in_image(img, abs)) {
        o->disp_kind = DISP_MASKED;
        if (is_abs && in_code(img, abs) && out->ptr == 0) {
            out->ptr = abs;
        }
        if (is_abs) {
            *data_ref = abs;
        }
        return;
    }
    o->disp_kind = DISP_KEPT;
    o->value = m->disp.value;
}

/*
 * The neutral part of an instruction (code_insn.neutral): what an x86 and an x64 build of
 * the same source have in common where their encodings differ in everything (registers,
 * operand sizes, calling convention, addressing). Three things survive: the APIs called,
 * the strings referenced and distinctive constants.
 */

/* Strings shorter than this are too common to say anything. */
#define NEUTRAL_MIN_STRING 4u
#define NEUTRAL_MAX_STRING 256u

static bool printable(uint8_t c)
{
    return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r';
}

/* Hash of the NUL-terminated ASCII or UTF-16LE string at va, or 0 when va holds no such
 * string. The characters are checked first and hashed in one call: a hash step per
 * character cost 5% of `strain genes`. */
static uint64_t string_at(const code_image *img, uint64_t va)
{
    const uint8_t *p;
    size_t len;
    if (strain_binary_va_bytes(img->bin, va, &p, &len) < 0 || len < 2) {
        return 0;
    }
    unsigned step = p[1] == 0 ? 2u : 1u; /* "a\0b\0": UTF-16LE */
    size_t n = 0;
    for (size_t i = 0; i + step <= len && n <= NEUTRAL_MAX_STRING; i += step, n++) {
        if (p[i] == 0 && (step == 1 || p[i + 1] == 0)) {
            return n >= NEUTRAL_MIN_STRING ? strain_hash64(p, i, 0x737472ull + step) : 0;
        }
        if (!printable(p[i]) || (step == 2 && p[i + 1] != 0)) {
            return 0;
        }
    }
    return 0;
}

/* A constant distinctive enough to be the author's (a magic number, a flag word, an error
 * code, a crypto constant) as a 32-bit value, or 0. Small values (counts, sizes, offsets,
 * characters) are everywhere and differ between 32- and 64-bit builds; values just below
 * 2^32 are small negative numbers. */
static uint64_t neutral_constant(uint64_t v, uint8_t size)
{
    if (size == 8) {
        int64_t s = (int64_t)v;
        if (s < INT32_MIN || s > (int64_t)UINT32_MAX) {
            return 0;
        }
    }
    uint32_t c = (uint32_t)v;
    return c >= 0x10000u && c < 0xffff0000u ? c : 0;
}

/* api0: the import the first operand resolved to, or NULL. */
static void classify_flow(code_image *img, const ZydisDecodedInstruction *in,
                          const ZydisDecodedOperand *ops, code_insn *out,
                          const code_import *api0)
{
    switch (in->meta.category) {
    case ZYDIS_CATEGORY_COND_BR:
        out->flow = CODE_FLOW_JCC;
        break;
    case ZYDIS_CATEGORY_UNCOND_BR:
        out->flow = out->target != 0 ? CODE_FLOW_JMP : CODE_FLOW_JMP_IND;
        break;
    case ZYDIS_CATEGORY_CALL:
        out->flow = out->target != 0 ? CODE_FLOW_CALL : CODE_FLOW_CALL_IND;
        break;
    case ZYDIS_CATEGORY_RET:
        out->flow = CODE_FLOW_RET;
        break;
    default:
        break;
    }
    switch (in->mnemonic) {
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
    case ZYDIS_MNEMONIC_SYSRET:
    case ZYDIS_MNEMONIC_SYSEXIT:
        out->flow = CODE_FLOW_RET;
        break;
    case ZYDIS_MNEMONIC_INT3:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
        out->flow = CODE_FLOW_STOP;
        break;
    case ZYDIS_MNEMONIC_INT:
        /* int 0x29: __fastfail never returns. */
        if (in->operand_count_visible > 0 && ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
            ops[0].imm.value.u == 0x29) {
            out->flow = CODE_FLOW_STOP;
        }
        break;
    default:
        break;
    }
    if (out->flow == CODE_FLOW_CALL || out->flow == CODE_FLOW_CALL_IND ||
        out->flow == CODE_FLOW_JMP || out->flow == CODE_FLOW_JMP_IND) {
        const code_import *api = api0;
        if (api != NULL) {
            out->is_call_import = 1;
            if (out->flow == CODE_FLOW_JMP || out->flow == CODE_FLOW_JMP_IND) {
                out->flow = CODE_FLOW_JMP_IND;
                out->tail = 1; /* jmp to an API: a tail call out of the image */
                out->target = 0;
            } else if (api->noreturn) { /* is_noreturn(name), computed once per import */
                out->flow = CODE_FLOW_STOP;
            }
        }
    }
}

/* --- Decode cache ----------------------------------------------------------------------
 * The instructions of a callee probe or of a rejected strict guess are often decoded again:
 * the probed callee is explored as a function later, a rejected guess's code is walked again
 * by the next guess (on win32-ia32 Go binaries, up to half of all decodes). Decoding is a
 * pure function of the address (the bytes and the image's fixed tables), so once the probe
 * or the rejection is over, those instructions (as decoded: strain_code__cache_insns undoes
 * the descent's verdicts) are kept, direct-mapped by address, and a hit copies the result
 * instead of running Zydis and the normaliser. A hit still spends decode budget, so every
 * decision is the one an uncached run makes. Instructions of kept functions are not stored:
 * storing every strict decode made the whole corpus ~10% slower (table traffic) for few
 * hits. A bit per code byte says which addresses were ever stored, so the common miss costs
 * a bit test; a slot overwritten since is a miss. The table starts small and doubles with
 * what is stored, up to DC_MAX_SLOTS (48 bytes each: 24 MB at most, paid only by files whose
 * guesses do decode that much again). */
#define DC_MIN_SLOTS 4096u
#define DC_MAX_SLOTS (1u << 19)

static inline size_t dc_slot(const code_image *img, uint64_t va)
{
    return (size_t)(strain_mix64(va ^ 0x6463) & (img->dc_cap - 1));
}

static void dc_put(code_image *img, code_region *r, size_t off, const code_insn *x);

void strain_code__cache_insns(code_image *img, const code_func *f)
{
    const code_insn *ins = f->insns.items;
    for (size_t i = 0; i < f->insns.len; i++) {
        code_region *r = (code_region *)strain_code__region(img, ins[i].va);
        if (r == NULL) {
            continue;
        }
        size_t off = (size_t)(ins[i].va - r->va);
        if (r->cached != NULL && ((r->cached[off / 8] >> (off % 8)) & 1u) &&
            img->dc[dc_slot(img, ins[i].va)].va == ins[i].va) {
            continue; /* already there */
        }
        code_insn x = ins[i]; /* back to what decoding gave */
        x.flow = x.dec_flow;
        x.tail = x.dec_tail;
        x.jt_first = x.jt_count = 0;
        dc_put(img, r, off, &x);
    }
}

static void dc_put(code_image *img, code_region *r, size_t off, const code_insn *x)
{
    if (r->cached == NULL && (r->cached = calloc(r->len / 8 + 1, 1)) == NULL) {
        return; /* a cache: without memory, decode again */
    }
    if (img->dc_len * 2 >= img->dc_cap && img->dc_cap < DC_MAX_SLOTS) {
        size_t cap = img->dc_cap == 0 ? DC_MIN_SLOTS : img->dc_cap * 2;
        code_insn *t = calloc(cap, sizeof(code_insn));
        if (t == NULL) {
            return;
        }
        code_insn *old = img->dc;
        size_t ocap = img->dc_cap;
        img->dc = t;
        img->dc_cap = cap;
        img->dc_len = 0;
        for (size_t i = 0; i < ocap; i++) {
            if (old[i].len != 0) {
                code_insn *d = &img->dc[dc_slot(img, old[i].va)];
                img->dc_len += d->len == 0;
                *d = old[i];
            }
        }
        free(old);
    }
    if (img->dc_cap == 0) {
        return;
    }
    code_insn *d = &img->dc[dc_slot(img, x->va)];
    img->dc_len += d->len == 0;
    *d = *x;
    r->cached[off / 8] = (uint8_t)(r->cached[off / 8] | (1u << (off % 8)));
}

int strain_code__decode(code_image *img, uint64_t va, code_insn *out, code_ninsn *norm,
                        ZydisDecodedInstruction *raw, ZydisDecodedOperand *raw_ops)
{
    const code_region *r = NULL;
    if (img->last_region < img->n_regions) {
        const code_region *c = &img->regions[img->last_region];
        if (va >= c->va && va - c->va < c->len) {
            r = c;
        }
    }
    if (r == NULL) {
        r = strain_code__region(img, va);
        if (r == NULL) {
            return -1;
        }
        img->last_region = (size_t)(r - img->regions);
    }
    if (img->decode_budget == 0) {
        img->budget_hit = true;
        return -1;
    }
    img->decode_budget--; /* a cache hit counts too: the budget must not depend on it */
    img->outer_decodes += !img->probing;
    size_t off = (size_t)(va - r->va);
    bool plain = norm == NULL && raw == NULL && raw_ops == NULL;
    if (plain && r->cached != NULL && ((r->cached[off / 8] >> (off % 8)) & 1u)) {
        const code_insn *c = &img->dc[dc_slot(img, va)];
        if (c->va == va && c->len != 0) {
            *out = *c;
            return 0;
        }
    }
    ZydisDecodedInstruction in_local;
    ZydisDecodedOperand ops_local[ZYDIS_MAX_OPERAND_COUNT_VISIBLE];
    ZydisDecodedInstruction *in = raw != NULL ? raw : &in_local;
    ZydisDecodedOperand *ops = raw_ops != NULL ? raw_ops : ops_local;
    ZydisDecoderContext zc;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&img->dec, &zc, r->p + off, r->len - off, in)) ||
        !ZYAN_SUCCESS(ZydisDecoderDecodeOperands(&img->dec, &zc, in, ops,
                                                 in->operand_count_visible))) {
        return -1;
    }
    code_ninsn n_local;
    code_ninsn *n = norm != NULL ? norm : &n_local;
    memset(out, 0, sizeof(*out));
    n->mnemonic = (uint16_t)in->mnemonic;
    n->n_ops = in->operand_count_visible;
    out->va = va;
    out->len = in->length;
    uint64_t next_ip = va + in->length;
    uint64_t mask = img->x64 ? UINT64_MAX : UINT32_MAX;
    uint64_t h = img->mnemonic_hash[in->mnemonic];
    h = strain_hash_add(h, (in->attributes & (ZYDIS_ATTRIB_HAS_LOCK | ZYDIS_ATTRIB_HAS_REP |
                                               ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) >>
                               27);
    const code_import *api0 = NULL, *api_any = NULL;
    uint64_t data_ref = 0, constant = 0;
    for (uint8_t i = 0; i < n->n_ops; i++) {
        const ZydisDecodedOperand *op = &ops[i];
        /* Built in a local, copied out only for --disasm: the token and the copy read the
         * byte fields back as wider words, which right after the byte stores stalls on store
         * forwarding; a local the compiler keeps in registers avoids both. */
        code_nop tmp;
        code_nop *o = &tmp;
        memset(o, 0, sizeof(*o));
        o->size = (uint8_t)((op->size + 7) / 8);
        switch (op->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            o->kind = NOP_REG;
            o->reg = norm_reg(img, op->reg.value);
            break;
        case ZYDIS_OPERAND_TYPE_MEMORY:
        case ZYDIS_OPERAND_TYPE_POINTER:
            norm_mem(img, op, next_ip, o, out, &data_ref);
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            if (op->imm.is_relative) {
                uint64_t t = (next_ip + op->imm.value.u) & mask;
                out->target = t;
                if (in->meta.category == ZYDIS_CATEGORY_CALL) {
                    const code_import *im = stub_import(img, t);
                    if (im != NULL) {
                        o->kind = NOP_IMPORT;
                        set_import(o, im);
                    } else {
                        o->kind = NOP_CALLEE;
                    }
                } else {
                    o->kind = NOP_BRANCH;
                }
            } else {
                uint64_t v = op->imm.value.u;
                if (o->size > 0 && o->size < 8) {
                    v &= (1ull << (o->size * 8)) - 1;
                }
                const code_import *im = in_image(img, v) ? strain_code__import_at(img, v) : NULL;
                if (im != NULL) {
                    o->kind = NOP_IMPORT;
                    set_import(o, im);
                } else if (in_image(img, v)) {
                    o->kind = NOP_ADDR;
                    data_ref = v;
                    if (in_code(img, v) && out->ptr == 0) {
                        out->ptr = v;
                    }
                } else {
                    o->kind = NOP_IMM;
                    o->value = (int64_t)v;
                }
            }
            break;
        default:
            o->kind = 0;
            break;
        }
        if (norm != NULL) {
            n->ops[i] = tmp;
        }
        if (i == 0) { /* imp is set exactly for NOP_IMPORT and DISP_IMPORT (set_import) */
            api0 = o->imp;
        }
        if (o->imp != NULL) {
            api_any = o->imp;
        } else if (o->kind == NOP_IMM && constant == 0) {
            constant = neutral_constant((uint64_t)o->value, o->size);
        }
        /* Fold the operand into the token. */
        h = strain_hash_add(h, (uint64_t)o->kind | ((uint64_t)o->size << 8) |
                                   ((uint64_t)o->scale << 16) | ((uint64_t)o->disp_kind << 24));
        switch (o->kind) {
        case NOP_REG:
            h = strain_hash_add(h, norm_reg_hash(img, op->reg.value));
            break;
        case NOP_MEM:
            h = strain_hash_add(h, norm_reg_hash(img, op->mem.base) ^
                                       (norm_reg_hash(img, op->mem.index) << 1) ^
                                       ((uint64_t)o->seg << 48));
            if (o->disp_kind == DISP_KEPT || o->disp_kind == DISP_IMPORT) {
                h = strain_hash_add(h, (uint64_t)o->value);
            }
            break;
        case NOP_IMM:
        case NOP_IMPORT:
            h = strain_hash_add(h, (uint64_t)o->value);
            break;
        default:
            break;
        }
    }
    out->token = h;
    if (api_any != NULL) {
        out->neutral = strain_hash_add(0x617069ull, api_any->name_hash);
    } else if (data_ref != 0 && !in_code(img, data_ref)) {
        out->neutral = string_at(img, data_ref);
    }
    if (out->neutral == 0 && constant != 0) {
        out->neutral = strain_hash_add(0x636f6eull, constant);
    }
    classify_flow(img, in, ops, out, api0);
    /* A lea of a code address or a pushed code address is a function pointer (callbacks,
     * thread start routines, atexit handlers). */
    if (in->mnemonic != ZYDIS_MNEMONIC_LEA && in->mnemonic != ZYDIS_MNEMONIC_MOV &&
        in->mnemonic != ZYDIS_MNEMONIC_PUSH) {
        out->ptr = 0;
    }
    out->dec_flow = out->flow;
    out->dec_tail = out->tail;
    return 0;
}

static const char *class_name(uint16_t r)
{
    static const char *const names[] = {"?",   "r8",  "r16", "r32", "r64", "st", "mm",
                                        "xmm", "ymm", "zmm", "tmm", "k"};
    unsigned c = r & 0xffu;
    return c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

static int put_reg(strain_buf *b, uint16_t r)
{
    if ((r & REG_CLASS_BIT) != 0) {
        return strain_buf_puts(b, class_name(r));
    }
    const char *s = ZydisRegisterGetString((ZydisRegister)r);
    return strain_buf_puts(b, s != NULL ? s : "?");
}

int strain_code__format(const code_image *img, const code_ninsn *n, strain_buf *b)
{
    (void)img;
    int err = 0;
    const char *m = ZydisMnemonicGetString((ZydisMnemonic)n->mnemonic);
    STRAIN_TRY(strain_buf_puts(b, m != NULL ? m : "?"));
    for (uint8_t i = 0; i < n->n_ops; i++) {
        const code_nop *o = &n->ops[i];
        STRAIN_TRY(strain_buf_puts(b, i == 0 ? " " : ", "));
        switch (o->kind) {
        case NOP_REG:
            STRAIN_TRY(put_reg(b, o->reg));
            break;
        case NOP_MEM: {
            STRAIN_TRY(strain_buf_printf(b, "m%u ", (unsigned)o->size * 8));
            if (o->seg != 0) {
                STRAIN_TRY(put_reg(b, o->seg));
                STRAIN_TRY(strain_buf_putc(b, ':'));
            }
            STRAIN_TRY(strain_buf_putc(b, '['));
            bool any = false;
            if (o->base != 0) {
                STRAIN_TRY(put_reg(b, o->base));
                any = true;
            }
            if (o->index != 0) {
                STRAIN_TRY(strain_buf_puts(b, any ? "+" : ""));
                STRAIN_TRY(put_reg(b, o->index));
                STRAIN_TRY(strain_buf_printf(b, "*%u", (unsigned)o->scale));
                any = true;
            }
            if (o->disp_kind == DISP_KEPT) {
                int64_t d = o->value;
                STRAIN_TRY(strain_buf_printf(b, "%s0x%llx", d < 0 ? "-" : (any ? "+" : ""),
                                             (unsigned long long)(d < 0 ? -(uint64_t)d : (uint64_t)d)));
            } else if (o->disp_kind == DISP_MASKED) {
                STRAIN_TRY(strain_buf_puts(b, any ? "+ADDR" : "ADDR"));
            } else if (o->disp_kind == DISP_IMPORT) {
                STRAIN_TRY(strain_buf_printf(b, "%sapi:%s", any ? "+" : "", o->imp->name));
            }
            STRAIN_TRY(strain_buf_putc(b, ']'));
            break;
        }
        case NOP_IMM:
            STRAIN_TRY(strain_buf_printf(b, "0x%llx", (unsigned long long)o->value));
            break;
        case NOP_ADDR:
            STRAIN_TRY(strain_buf_puts(b, "ADDR"));
            break;
        case NOP_IMPORT:
            STRAIN_TRY(strain_buf_printf(b, "api:%s", o->imp->name));
            break;
        case NOP_BRANCH:
            STRAIN_TRY(strain_buf_puts(b, "LOC"));
            break;
        case NOP_CALLEE:
            STRAIN_TRY(strain_buf_puts(b, "FUNC"));
            break;
        default:
            STRAIN_TRY(strain_buf_puts(b, "?"));
            break;
        }
    }
done:
    return err;
}
