/*
 * Jump tables, read in the forms compilers emit:
 *   jmp [table + idx*ptrsize]                                    (x86, x64 non-PIC)
 *   lea B,[rip+X]; movsxd J,[T+idx*4(+d)]; add J,B; jmp J          (gcc/clang PIC, mingw-w64)
 *   lea T,[rip+X]; mov J32,[I4+T*1]; cdqe; lea B..; add J,B; jmp J (gcc -O0)
 *   lea B,[rip+__ImageBase]; mov J,[B+idx*4+rva]; add J,B; jmp J    (MSVC x64)
 * bounded by a `cmp x, N; ja/jae` on the path when there is one; otherwise (LLVM drops the
 * check when the index type bounds it) read while targets stay between the function's entry
 * and the next known entry, near the jump, using only table bases set on the path. The
 * instructions of the path are re-decoded here (jump tables are rare; the hot path keeps only
 * tokens).
 */
#include <string.h>

#include "code/code_impl.h"
#include "util/limits.h"
#include "util/span.h"

#define UNBOUNDED_SPAN 0x10000u /* 64 KiB either side of an unbounded table's jump */

static int push_u64(strain_vec *v, uint64_t x)
{
    uint64_t *p = strain_vec_push(v);
    if (p == NULL) {
        return STRAIN_ENOMEM;
    }
    *p = x;
    return 0;
}

/* Full decode for pattern matching; does not touch the decode budget (only re-decodes
 * instructions already paid for). */
static bool decode_raw(const code_image *img, uint64_t va, ZydisDecodedInstruction *in,
                       ZydisDecodedOperand *ops)
{
    const code_region *r = strain_code__region(img, va);
    if (r == NULL) {
        return false;
    }
    size_t off = (size_t)(va - r->va);
    return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&img->dec, r->p + off, r->len - off, in, ops));
}

static ZydisRegister big(const code_image *img, ZydisRegister r)
{
    if (r == ZYDIS_REGISTER_NONE) {
        return r;
    }
    ZydisRegister b = ZydisRegisterGetLargestEnclosing(img->mode, r);
    return b == ZYDIS_REGISTER_NONE ? r : b;
}

typedef struct ring_insn {
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    uint64_t va;
} ring_insn;

/* Value of `lea reg, [rip+X]` (the latest one before position `before`), or 0. */
static uint64_t lea_value(const code_image *img, const ring_insn *ri, int before, ZydisRegister reg)
{
    for (int i = before - 1; i >= 0; i--) {
        const ring_insn *x = &ri[i];
        if (x->in.operand_count_visible < 2 || x->ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
            big(img, x->ops[0].reg.value) != reg) {
            continue;
        }
        if (x->in.mnemonic == ZYDIS_MNEMONIC_LEA && x->ops[1].mem.base == ZYDIS_REGISTER_RIP &&
            x->ops[1].mem.index == ZYDIS_REGISTER_NONE) {
            return x->va + x->in.length + (uint64_t)x->ops[1].mem.disp.value;
        }
        return 0; /* reg was redefined by something else */
    }
    return 0;
}

/* Number of cases from the nearest `cmp x, imm` + ja/jae/jbe/jb on the path (the compare
 * may sit a few instructions before the branch), or 0. */
static uint64_t table_bound(const ring_insn *ri, int n)
{
    for (int i = n - 1; i > 0; i--) {
        const ring_insn *j = &ri[i];
        bool incl;
        switch (j->in.mnemonic) {
        case ZYDIS_MNEMONIC_JNBE: /* ja */
        case ZYDIS_MNEMONIC_JBE:
            incl = true;
            break;
        case ZYDIS_MNEMONIC_JNB: /* jae */
        case ZYDIS_MNEMONIC_JB:
            incl = false;
            break;
        default:
            continue;
        }
        for (int k = i - 1; k >= 0 && k >= i - 3; k--) {
            const ring_insn *c = &ri[k];
            if (c->in.mnemonic == ZYDIS_MNEMONIC_CMP && c->in.operand_count_visible >= 2 &&
                c->ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
                uint64_t imm = c->ops[1].imm.value.u;
                if (imm >= STRAIN_CODE_MAX_JUMPTABLE) {
                    return 0;
                }
                return incl ? imm + 1 : imm;
            }
        }
        return 0;
    }
    return 0;
}

/* `lea reg, [rip+X]` hoisted out of a loop: searched among the function's instructions
 * decoded so far (most recent first, bounded). */
#define LEA_SEARCH 512
static uint64_t lea_in_func(const code_image *img, const code_func *f, ZydisRegister reg)
{
    const code_insn *ins = f->insns.items;
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    size_t n = f->insns.len;
    for (size_t k = 0; k < n && k < LEA_SEARCH; k++) {
        const code_insn *x = &ins[n - 1 - k];
        if (x->flow != CODE_FLOW_NONE || !decode_raw(img, x->va, &in, ops)) {
            continue;
        }
        if (in.mnemonic == ZYDIS_MNEMONIC_LEA && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            big(img, ops[0].reg.value) == reg && ops[1].mem.base == ZYDIS_REGISTER_RIP &&
            ops[1].mem.index == ZYDIS_REGISTER_NONE) {
            return x->va + in.length + (uint64_t)ops[1].mem.disp.value;
        }
    }
    return 0;
}

/* The first known function entry after va, or limit. */
static uint64_t next_entry(const code_image *img, uint64_t va, uint64_t limit)
{
    const code_region *r = strain_code__region(img, va);
    if (r == NULL) {
        return limit;
    }
    uint64_t end = r->va + r->len < limit ? r->va + r->len : limit;
    for (uint64_t x = va + 1; x < end; x++) {
        uint64_t o = x - r->va;
        if (r->queued[o / 8] == 0 && o % 8 == 0) {
            x += 7;
            continue;
        }
        if ((r->queued[o / 8] >> (o % 8)) & 1u) {
            return x;
        }
    }
    return limit;
}

/* Reads the jump table used by the indirect jump at ring[n-1]; targets go to f->jt and the
 * work list. Returns 0 or STRAIN_ENOMEM (an unrecognised form is not an error). */
int strain_code__jump_table(code_image *img, code_func *f, const uint64_t *path, int npath,
                            code_insn *jmp)
{
    ring_insn ri[STRAIN_CODE_RING];
    int n = 0;
    for (int i = 0; i < npath; i++) {
        if (decode_raw(img, path[i], &ri[n].in, ri[n].ops)) {
            ri[n].va = path[i];
            n++;
        }
    }
    if (n == 0 || ri[n - 1].va != jmp->va) {
        return 0;
    }
    const ring_insn *j = &ri[n - 1];
    const ZydisDecodedOperand *op = &j->ops[0];
    uint64_t table = 0, base_val = 0;
    unsigned esize = 0;
    bool rel = false, sgn = false;
    unsigned ptr = img->x64 ? 8 : 4;
    if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->mem.index != ZYDIS_REGISTER_NONE &&
        op->mem.base == ZYDIS_REGISTER_NONE && op->mem.scale == ptr) {
        table = (uint64_t)op->mem.disp.value & (img->x64 ? UINT64_MAX : UINT32_MAX);
        esize = ptr;
    } else if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && img->x64) {
        ZydisRegister J = big(img, op->reg.value);
        int add_at = -1;
        ZydisRegister B = ZYDIS_REGISTER_NONE;
        for (int i = n - 2; i >= 0; i--) {
            const ring_insn *x = &ri[i];
            if (x->in.mnemonic == ZYDIS_MNEMONIC_ADD && x->in.operand_count_visible >= 2 &&
                x->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                x->ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && big(img, x->ops[0].reg.value) == J) {
                add_at = i;
                B = big(img, x->ops[1].reg.value);
                break;
            }
        }
        if (add_at < 0) {
            return 0;
        }
        for (int i = add_at - 1; i >= 0; i--) {
            const ring_insn *x = &ri[i];
            if ((x->in.mnemonic != ZYDIS_MNEMONIC_MOVSXD && x->in.mnemonic != ZYDIS_MNEMONIC_MOV) ||
                x->in.operand_count_visible < 2 || x->ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
                big(img, x->ops[0].reg.value) != J) {
                continue;
            }
            const ZydisDecodedOperand *m = &x->ops[1];
            if (m->type != ZYDIS_OPERAND_TYPE_MEMORY || (m->mem.scale != 4 && m->mem.scale != 1) ||
                m->mem.base == ZYDIS_REGISTER_NONE) {
                return 0;
            }
            /* gcc -O0 scales the index beforehand: mov eax, [idx4 + table*1]; either register
             * may hold the table. */
            ZydisRegister T = big(img, m->mem.base);
            uint64_t tbase = lea_value(img, ri, i, T);
            if (tbase == 0 && m->mem.scale == 1 && m->mem.index != ZYDIS_REGISTER_NONE) {
                T = big(img, m->mem.index);
                tbase = lea_value(img, ri, i, T);
            }
            base_val = lea_value(img, ri, add_at, B);
            /* A base hoisted out of the path is only trusted when a range check bounds the
             * table: a stale lea would turn an unbounded read into garbage targets. */
            bool bounded = table_bound(ri, n - 1) != 0;
            if (tbase == 0 && bounded) {
                T = big(img, m->mem.base);
                tbase = lea_in_func(img, f, T);
            }
            if (base_val == 0 && bounded) {
                base_val = B == T ? tbase : lea_in_func(img, f, B);
            }
            if (tbase == 0 || base_val == 0) {
                return 0;
            }
            /* A 32-bit load then cdqe (gcc -O0) is a signed entry like movsxd. */
            bool widened = false;
            for (int k = i + 1; k < add_at; k++) {
                widened |= ri[k].in.mnemonic == ZYDIS_MNEMONIC_CDQE;
            }
            table = tbase + (uint64_t)m->mem.disp.value;
            esize = 4;
            rel = true;
            sgn = x->in.mnemonic == ZYDIS_MNEMONIC_MOVSXD || widened;
            break;
        }
    }
    if (esize == 0) {
        return 0;
    }
    uint64_t bound = table_bound(ri, n - 1);
    uint64_t count = bound != 0 ? bound : STRAIN_CODE_MAX_JUMPTABLE;
    const uint8_t *tp;
    size_t tlen;
    if (strain_binary_va_bytes(img->bin, table, &tp, &tlen) < 0) {
        return 0;
    }
    strain_span ts = strain_span_make(tp, tlen);
    /* An unbounded table's cases also end before the next known function entry. */
    uint64_t limit = bound == 0 ? next_entry(img, f->entry, jmp->va + UNBOUNDED_SPAN) : UINT64_MAX;
    jmp->jt_first = (uint32_t)f->jt.len;
    uint64_t i = 0;
    for (; i < count; i++) {
        uint64_t target;
        if (esize == 4) {
            uint32_t e;
            if (!strain_span_u32le(ts, i * 4, &e)) {
                break;
            }
            uint64_t v = sgn ? (uint64_t)(int64_t)(int32_t)e : (uint64_t)e;
            target = rel ? base_val + v : v;
        } else if (!strain_span_u64le(ts, i * 8, &target)) {
            break;
        }
        if (!img->x64) {
            target &= UINT32_MAX;
        }
        /* Without a bound, the table ends where entries stop pointing into code or where the
         * table runs into code we already decoded (a table placed after its function). */
        if (strain_code__region(img, target) == NULL ||
            (bound == 0 && i > 0 && strain_code__seen(img, f, table + i * esize))) {
            break;
        }
        /* Without a bound (LLVM drops the range check when the type bounds the index), the
         * table is read while its targets stay near the jump: case blocks follow the
         * function's entry and lie within UNBOUNDED_SPAN of the dispatch. Reading on would
         * run into the next table, whose entries are relative to another base. */
        if (bound == 0 && (target < f->entry || target >= limit ||
                           target - jmp->va + UNBOUNDED_SPAN > 2 * UNBOUNDED_SPAN)) {
            break;
        }
        int err = push_u64(&f->jt, target);
        if (err < 0 || (err = push_u64(&f->work, target)) < 0) {
            return err;
        }
    }
    jmp->jt_count = (uint32_t)(f->jt.len - jmp->jt_first);
    if (i > 0) {
        int err = push_u64(&f->tables, table);
        if (err < 0 || (err = push_u64(&f->tables, i * esize)) < 0) {
            return err;
        }
    }
    return 0;
}

