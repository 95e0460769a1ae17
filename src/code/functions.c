/*
 * Which addresses are functions. Seeds are taken strongest first, because a known entry is
 * what turns a direct jump into a tail call (cfg.c) and what keeps weak guesses out of the
 * middle of real code:
 *   1. the entry point, exports, TLS callbacks, x64 .pdata (RUNTIME_FUNCTION starts, chained
 *      entries skipped: they are parts of a function), ELF symbols and .eh_frame FDEs;
 *   2. direct call targets found while exploring (and tail-call targets);
 *   3. code pointers in instructions (lea/mov/push of a code address) and aligned pointers
 *      in non-executable sections (vtables, callback tables, .init_array): explored
 *      strictly, only where no recovered instruction already covers the address;
 *   4. a scan of the gaps that remain: after each run of padding (int3, nop, zero), the
 *      next byte is tried as a function, strictly (any invalid instruction rejects it).
 * Work is bounded by the image's decode budget and STRAIN_CODE_MAX_FUNCTIONS.
 */
#include <stdlib.h>
#include <string.h>

#include "code/code_impl.h"
#include "code/hash64.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/span.h"

#define PDATA_DIR 3
#define PDATA_ENTRY 12
#define UNW_FLAG_CHAININFO 0x4

/* A rejected strict guess: entry, img->epoch after its exploration, and the decode budget
 * that exploration spent outside callee probes. */
typedef struct memo_slot {
    uint64_t key; /* entry + 1; 0 = empty slot */
    uint64_t epoch;
    uint64_t decodes;
} memo_slot;

typedef struct disc {
    code_image *img;
    memo_slot *memo; /* open addressing, power-of-two capacity */
    size_t memo_cap, memo_len;
    code_func f;
    strain_vec queue; /* uint64_t strong entries, FIFO */
    size_t head;
    strain_vec weak;  /* uint64_t weak candidates */
    size_t n_funcs;
    bool cap_hit;
    code_func_cb cb;
    void *payload;
} disc;

static bool bit_get(const uint8_t *bits, uint64_t off)
{
    return (bits[off / 8] >> (off % 8)) & 1u;
}

static void bit_set(uint8_t *bits, uint64_t off)
{
    bits[off / 8] = (uint8_t)(bits[off / 8] | (1u << (off % 8)));
}

/* Sets bits [off, off+n): partial bytes at the ends, whole bytes between (cover() marks
 * every instruction's bytes; one bit at a time was ~2% of `strain genes`). */
static void bit_set_range(uint8_t *bits, uint64_t off, uint64_t n)
{
    if (n == 0) {
        return;
    }
    uint64_t last = off + n - 1;
    size_t b0 = (size_t)(off / 8), b1 = (size_t)(last / 8);
    unsigned lo = (unsigned)(off % 8), hi = (unsigned)(last % 8);
    if (b0 == b1) {
        bits[b0] = (uint8_t)(bits[b0] | ((0xffu >> (7 - hi)) & (0xffu << lo)));
        return;
    }
    bits[b0] = (uint8_t)(bits[b0] | (0xffu << lo));
    if (b1 > b0 + 1) {
        memset(bits + b0 + 1, 0xff, b1 - b0 - 1);
    }
    bits[b1] = (uint8_t)(bits[b1] | (0xffu >> (7 - hi)));
}

static bool covered(const code_image *img, uint64_t va)
{
    const code_region *r = strain_code__region(img, va);
    return r != NULL && bit_get(r->covered, va - r->va);
}

static bool is_istart(const code_image *img, uint64_t va)
{
    const code_region *r = strain_code__region(img, va);
    return r != NULL && bit_get(r->istart, va - r->va);
}

static void cover(code_image *img, uint64_t va, uint64_t len)
{
    while (len > 0) {
        const code_region *r = strain_code__region(img, va);
        if (r == NULL) {
            return;
        }
        uint64_t off = va - r->va;
        uint64_t n = r->len - off < len ? r->len - off : len;
        bit_set_range(r->covered, off, n);
        va += n;
        len -= n;
    }
}

/* Queues a strong entry; false if not code or already queued. */
static int enqueue(disc *d, uint64_t va)
{
    const code_region *r = strain_code__region(d->img, va);
    if (r == NULL || bit_get(r->queued, va - r->va)) {
        return 0;
    }
    bit_set(r->queued, va - r->va);
    uint64_t *p = strain_vec_push(&d->queue);
    if (p == NULL) {
        return STRAIN_ENOMEM;
    }
    *p = va;
    return 0;
}

static int push_u64(strain_vec *v, uint64_t x)
{
    return code_push_u64(v, x);
}

/* --- Rejected guesses ------------------------------------------------------------------
 * The same strict guess comes back again and again (a code pointer stored in many data
 * tables, the same lea in many functions): on win32-ia32 Go binaries re-exploring rejected
 * guesses was 18% of all decodes. A strict exploration reads only its entry, the bytes,
 * and state that changes only through img->epoch (covered/istart/queued maps, the
 * no-return table), so a guess rejected at epoch E is rejected again at epoch E along the
 * same path. It is not re-explored; the budget the re-run would spend is charged instead
 * (its decodes minus the callee probes of the first run, whose answers the re-run would
 * find in the table), so every later decision and the genome stay exactly the same. */

static size_t memo_find(const disc *d, uint64_t key)
{
    size_t mask = d->memo_cap - 1, i = (size_t)strain_mix64(key ^ 0x6d656d6f) & mask;
    while (d->memo[i].key != 0 && d->memo[i].key != key) {
        i = (i + 1) & mask;
    }
    return i;
}

/* True (after charging the decode budget) when va was rejected at the current epoch. */
static bool memo_skip(disc *d, uint64_t va)
{
    if (d->memo_len == 0) {
        return false;
    }
    const memo_slot *m = &d->memo[memo_find(d, va + 1)];
    if (m->key == 0 || m->epoch != d->img->epoch) {
        return false;
    }
    code_image *img = d->img;
    if (img->decode_budget >= m->decodes) {
        img->decode_budget -= m->decodes;
    } else { /* the re-run would have run out of budget part way, and been rejected */
        img->decode_budget = 0;
        img->budget_hit = true;
    }
    return true;
}

static int memo_put(disc *d, uint64_t va, uint64_t decodes)
{
    if (d->memo_len >= STRAIN_CODE_MAX_REJECT_MEMO) {
        return 0;
    }
    if ((d->memo_len + 1) * 2 > d->memo_cap) {
        size_t cap = d->memo_cap == 0 ? 1024 : d->memo_cap * 2;
        memo_slot *old = d->memo;
        size_t ocap = d->memo_cap;
        if ((d->memo = calloc(cap, sizeof(memo_slot))) == NULL) {
            d->memo = old;
            return STRAIN_ENOMEM;
        }
        d->memo_cap = cap;
        for (size_t i = 0; i < ocap; i++) {
            if (old[i].key != 0) {
                d->memo[memo_find(d, old[i].key)] = old[i];
            }
        }
        free(old);
    }
    memo_slot *m = &d->memo[memo_find(d, va + 1)];
    if (m->key == 0) {
        d->memo_len++;
    }
    m->key = va + 1;
    m->epoch = d->img->epoch;
    m->decodes = decodes;
    return 0;
}

/* True when the strict guess f is not a function: explored to a rejection, or landing
 * inside recovered instructions. */
static bool strict_rejects(const code_image *img, const code_func *f)
{
    if (f->rejected) {
        return true;
    }
    /* A guess whose instructions land inside recovered instructions is a misaligned
     * decoding; flowing into recovered code at an instruction start is normal (shared
     * tails, e.g. mingw's WinMainCRTStartup joining mainCRTStartup). */
    if (covered(img, f->entry)) {
        return true;
    }
    const code_insn *ins = f->insns.items;
    for (size_t i = 0; i < f->insns.len; i++) {
        if (covered(img, ins[i].va) && !is_istart(img, ins[i].va)) {
            return true;
        }
    }
    return false;
}

/* Explores one entry and hands the function to the callback. */
static int run_one(disc *d, uint64_t va, bool strict)
{
    int err = 0;
    if (d->n_funcs >= STRAIN_CODE_MAX_FUNCTIONS) {
        d->cap_hit = true;
        return 0;
    }
    if (strict && memo_skip(d, va)) {
        return 0;
    }
    code_func *f = &d->f;
    uint64_t decodes = d->img->outer_decodes;
    strain_code__func_reset(f, va, strict);
    STRAIN_TRY(strain_code__func_explore(d->img, f));
    if (!strict && f->rejected) {
        return 0;
    }
    if (strict) {
        if (strict_rejects(d->img, f)) {
            strain_code__cache_insns(d->img, f); /* the next guess often walks them again */
            return d->img->budget_hit ? 0 : memo_put(d, va, d->img->outer_decodes - decodes);
        }
        const code_region *r = strain_code__region(d->img, va);
        bit_set(r->queued, va - r->va);
    }
    d->img->epoch++; /* accepted: the maps change below */
    const code_insn *ins = f->insns.items;
    for (size_t i = 0; i < f->insns.len; i++) {
        const code_region *r = strain_code__region(d->img, ins[i].va);
        if (r == NULL) {
            continue; /* cover() would stop at once too */
        }
        uint64_t off = ins[i].va - r->va;
        if (ins[i].len <= r->len - off) { /* the usual case: one lookup for both maps */
            bit_set_range(r->covered, off, ins[i].len);
        } else {
            cover(d->img, ins[i].va, ins[i].len);
        }
        bit_set(r->istart, off);
    }
    for (size_t i = 0; i + 1 < f->tables.len; i += 2) {
        cover(d->img, *STRAIN_VEC_AT(&f->tables, uint64_t, i),
              *STRAIN_VEC_AT(&f->tables, uint64_t, i + 1));
    }
    for (size_t i = 0; i < f->calls.len; i++) {
        STRAIN_TRY(enqueue(d, *STRAIN_VEC_AT(&f->calls, uint64_t, i)));
    }
    for (size_t i = 0; i < f->ptrs.len; i++) {
        STRAIN_TRY(push_u64(&d->weak, *STRAIN_VEC_AT(&f->ptrs, uint64_t, i)));
    }
    d->n_funcs++;
    STRAIN_TRY(strain_code__note_returns(d->img, f));
    STRAIN_TRY(d->cb(d->img, f, d->payload));
done:
    return err;
}

static int drain(disc *d)
{
    int err = 0;
    while (d->head < d->queue.len && !d->img->budget_hit && !d->cap_hit) {
        uint64_t va = *STRAIN_VEC_AT(&d->queue, uint64_t, d->head);
        d->head++;
        STRAIN_TRY(run_one(d, va, false));
    }
done:
    return err;
}

static int run_weak(disc *d)
{
    int err = 0;
    for (size_t i = 0; i < d->weak.len && !d->img->budget_hit && !d->cap_hit; i++) {
        uint64_t va = *STRAIN_VEC_AT(&d->weak, uint64_t, i);
        const code_region *r = strain_code__region(d->img, va);
        if (r == NULL || bit_get(r->queued, va - r->va) || covered(d->img, va)) {
            continue;
        }
        STRAIN_TRY(run_one(d, va, true));
        STRAIN_TRY(drain(d));
    }
    d->weak.len = 0;
done:
    return err;
}

static int seed_pdata(disc *d)
{
    const strain_binary_info *info = d->img->info;
    if (info->format != STRAIN_FORMAT_PE32PLUS || info->pe.n_data_dirs <= PDATA_DIR) {
        return 0;
    }
    strain_data_dir dir = info->pe.data_dirs[PDATA_DIR];
    const uint8_t *p;
    size_t len;
    if (dir.rva == 0 ||
        strain_binary_va_bytes(d->img->bin, info->image_base + dir.rva, &p, &len) < 0) {
        return 0;
    }
    if (dir.size < len) {
        len = dir.size;
    }
    strain_span s = strain_span_make(p, len);
    for (uint64_t off = 0; off + PDATA_ENTRY <= len; off += PDATA_ENTRY) {
        uint32_t begin, unwind;
        if (!strain_span_u32le(s, off, &begin) || !strain_span_u32le(s, off + 8, &unwind)) {
            break;
        }
        const uint8_t *u;
        size_t ulen;
        uint8_t flags = 0;
        if (strain_binary_va_bytes(d->img->bin, info->image_base + (unwind & ~1u), &u, &ulen) ==
                0 &&
            ulen > 0) {
            flags = (uint8_t)(u[0] >> 3);
        }
        if ((flags & UNW_FLAG_CHAININFO) != 0) {
            continue; /* a chained entry describes a part of a function, not its start */
        }
        int err = enqueue(d, info->image_base + begin);
        if (err < 0) {
            return err;
        }
    }
    return 0;
}

static int seed_strong(disc *d, const strain_code_options *opts)
{
    int err = 0;
    const strain_binary_info *info = d->img->info;
    strain_vec eh = STRAIN_VEC_INIT(uint64_t);
    if (info->has_entry) {
        STRAIN_TRY(enqueue(d, info->entry));
    }
    for (size_t i = 0; i < info->n_exports; i++) {
        if (info->exports[i].forwarder == NULL && info->exports[i].address != 0) {
            STRAIN_TRY(enqueue(d, info->exports[i].address));
        }
    }
    for (size_t i = 0; i < info->pe.n_tls_callbacks; i++) {
        STRAIN_TRY(enqueue(d, info->pe.tls_callbacks[i]));
    }
    if (!opts->ignore_pdata) {
        STRAIN_TRY(seed_pdata(d));
    }
    if (!opts->ignore_symbols) {
        for (size_t i = 0; i < info->n_symbols; i++) {
            if (info->symbols[i].is_function && info->symbols[i].address != 0) {
                STRAIN_TRY(enqueue(d, info->symbols[i].address));
            }
        }
    }
    STRAIN_TRY(strain_code__ehframe_starts(d->img, &eh));
    for (size_t i = 0; i < eh.len; i++) {
        STRAIN_TRY(enqueue(d, *STRAIN_VEC_AT(&eh, uint64_t, i)));
    }
done:
    strain_vec_free(&eh);
    return err;
}

/* Aligned pointers to code in non-executable sections: vtables, callback tables,
 * .init_array. */
static int seed_data_pointers(disc *d)
{
    const strain_binary_info *info = d->img->info;
    unsigned ptr = d->img->x64 ? 8 : 4;
    for (size_t i = 0; i < info->n_sections; i++) {
        const strain_section *s = &info->sections[i];
        if ((s->flags & STRAIN_SECTION_EXEC) != 0 || s->raw_size == 0) {
            continue;
        }
        const uint8_t *p;
        size_t len;
        if (strain_binary_va_bytes(d->img->bin, s->vaddr, &p, &len) < 0) {
            continue;
        }
        if (s->raw_size < len) {
            len = (size_t)s->raw_size;
        }
        strain_span sp = strain_span_make(p, len);
        for (uint64_t off = 0; off + ptr <= len; off += ptr) {
            uint64_t v;
            if (ptr == 8) {
                if (!strain_span_u64le(sp, off, &v)) {
                    break;
                }
            } else {
                uint32_t w;
                if (!strain_span_u32le(sp, off, &w)) {
                    break;
                }
                v = w;
            }
            if (v != 0 && strain_code__region(d->img, v) != NULL) {
                int err = push_u64(&d->weak, v);
                if (err < 0) {
                    return err;
                }
            }
        }
    }
    return 0;
}

/* Padding between functions: int3, nop, zero bytes and multi-byte nops. Returns its
 * length at va (0 if not padding). */
static size_t pad_len(code_image *img, const code_region *r, uint64_t off)
{
    uint8_t b = r->p[off];
    if (b == 0xcc || b == 0x90 || b == 0x00) {
        return 1;
    }
    if (b == 0x66 || b == 0x0f || b == 0x8d || b == 0x2e) {
        ZydisDecodedInstruction in;
        ZydisDecoderContext zc;
        if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&img->dec, &zc, r->p + off,
                                                       r->len - off, &in)) &&
            (in.mnemonic == ZYDIS_MNEMONIC_NOP ||
             (in.mnemonic == ZYDIS_MNEMONIC_LEA && in.raw.modrm.reg == in.raw.modrm.rm &&
              in.raw.modrm.mod != 3 && in.length >= 3 && !img->x64) ||
             (in.mnemonic == ZYDIS_MNEMONIC_XCHG && in.length == 2 && b == 0x66))) {
            return in.length;
        }
    }
    return 0;
}

/* Linear sweep over bytes no function claimed: a candidate is tried after padding, after
 * recovered code and after an instruction that ends a flow (ret, jmp, int3); a rejected
 * candidate is swept instruction by instruction (not byte by byte: that would try every
 * misaligned decoding) to the next such boundary. At most one sweep decode per byte. */
static int scan_gaps(disc *d)
{
    int err = 0;
    code_image *img = d->img;
    for (size_t ri = 0; ri < img->n_regions; ri++) {
        const code_region *r = &img->regions[ri];
        uint64_t off = 0;
        bool boundary = true; /* region start counts as a boundary */
        while (off < r->len && !img->budget_hit && !d->cap_hit) {
            if (bit_get(r->covered, off)) {
                off++;
                boundary = true;
                continue;
            }
            size_t pl = pad_len(img, r, off);
            if (pl > 0) {
                off += pl;
                boundary = true;
                continue;
            }
            if (boundary && !bit_get(r->queued, off)) {
                STRAIN_TRY(run_one(d, r->va + off, true));
                STRAIN_TRY(drain(d));
                STRAIN_TRY(run_weak(d));
                if (bit_get(r->covered, off)) {
                    continue;
                }
            }
            boundary = false;
            ZydisDecodedInstruction in;
            ZydisDecoderContext zc;
            if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&img->dec, &zc, r->p + off,
                                                            r->len - off, &in))) {
                off++;
                continue;
            }
            off += in.length;
            switch (in.meta.category) {
            case ZYDIS_CATEGORY_RET:
            case ZYDIS_CATEGORY_UNCOND_BR:
                boundary = true;
                break;
            default:
                boundary = in.mnemonic == ZYDIS_MNEMONIC_INT3 || in.mnemonic == ZYDIS_MNEMONIC_UD2;
                break;
            }
        }
    }
done:
    return err;
}

int strain_code__discover(code_image *img, const strain_code_options *opts, code_func_cb cb,
                          void *payload, uint32_t *out_flags, strain_vec *notes)
{
    (void)notes;
    int err = 0;
    disc d;
    memset(&d, 0, sizeof(d));
    d.img = img;
    d.cb = cb;
    d.payload = payload;
    d.queue.item_size = sizeof(uint64_t);
    d.weak.item_size = sizeof(uint64_t);
    STRAIN_TRY(seed_strong(&d, opts));
    STRAIN_TRY(drain(&d));
    STRAIN_TRY(run_weak(&d));
    STRAIN_TRY(seed_data_pointers(&d));
    STRAIN_TRY(run_weak(&d));
    STRAIN_TRY(scan_gaps(&d));
    if (img->budget_hit || d.cap_hit) {
        *out_flags |= STRAIN_GENOME_PARTIAL;
    }
done:
    strain_code__func_free(&d.f);
    free(d.memo);
    strain_vec_free(&d.queue);
    strain_vec_free(&d.weak);
    return err;
}
