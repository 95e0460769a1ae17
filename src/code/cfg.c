/*
 * One function's control flow: recursive descent from its entry (every conditional branch
 * explores both ways, direct jumps are followed unless they land on another function's
 * entry, which makes them tail calls), then basic blocks split at every branch target and
 * the edges between them. Jump tables are read in the forms compilers emit:
 *   jmp [table + idx*ptrsize]                               (x86, x64 non-PIC)
 *   lea B,[rip+X]; movsxd J,[T+idx*4(+d)]; add J,B; jmp J     (gcc/clang PIC, mingw-w64)
 *   lea B,[rip+__ImageBase]; mov J,[B+idx*4+rva]; add J,B; jmp J (MSVC x64)
 * bounded by a preceding `cmp idx, N; ja/jae` when one is on the path, otherwise read while
 * the entries point into code (capped). Everything is bounded: instructions and blocks per
 * function (limits.h) and the image's global decode budget.
 */
#include <stdlib.h>
#include <string.h>

#include "code/code_impl.h"
#include "code/hash64.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/span.h"



#define SEEN_OFF_MASK ((UINT64_C(1) << 40) - 1)

void strain_code__func_reset(code_func *f, uint64_t entry, bool strict)
{
    f->entry = entry;
    f->strict = strict;
    f->rejected = false;
    f->truncated = false;
    f->insns.item_size = sizeof(code_insn);
    f->blocks.item_size = sizeof(code_block);
    f->succ.item_size = sizeof(uint32_t);
    f->order.item_size = sizeof(uint32_t);
    f->jt.item_size = sizeof(uint64_t);
    f->work.item_size = sizeof(uint64_t);
    f->calls.item_size = sizeof(uint64_t);
    f->ptrs.item_size = sizeof(uint64_t);
    f->tables.item_size = sizeof(uint64_t);
    f->lead.item_size = sizeof(uint64_t);
    f->insns.len = f->blocks.len = f->succ.len = f->order.len = f->jt.len = 0;
    f->work.len = f->calls.len = f->ptrs.len = f->tables.len = f->lead.len = 0;
    /* Forget the previous function's instructions: clear exactly the bits it set. */
    const uint64_t *sl = f->seen_list.items;
    for (size_t i = 0; i < f->seen_list.len; i++) {
        uint64_t x = sl[i];
        f->seen_bits[x >> 40][(x & SEEN_OFF_MASK) / 8] = 0;
    }
    f->seen_list.item_size = sizeof(uint64_t);
    f->seen_list.len = 0;
}

void strain_code__func_free(code_func *f)
{
    if (f == NULL) {
        return;
    }
    strain_vec_free(&f->insns);
    strain_vec_free(&f->blocks);
    strain_vec_free(&f->succ);
    strain_vec_free(&f->order);
    strain_vec_free(&f->jt);
    strain_vec_free(&f->work);
    strain_vec_free(&f->calls);
    strain_vec_free(&f->ptrs);
    strain_vec_free(&f->tables);
    strain_vec_free(&f->lead);
    for (size_t i = 0; i < f->seen_nreg; i++) {
        free(f->seen_bits[i]);
    }
    free(f->seen_bits);
    strain_vec_free(&f->seen_list);
    free(f->sort_tmp);
    memset(f, 0, sizeof(*f));
}

static int push_u64(strain_vec *v, uint64_t x)
{
    return code_push_u64(v, x);
}

/* The set of decoded instruction addresses: a bit per byte of each code region, allocated
 * on first use (bytes of code / 8 per region). A hash set here cost a hash and a likely
 * cache miss per instruction. seen_list records (region << 40 | offset) of every byte whose
 * bitmap byte was touched, so that reset clears just those. Regions never exceed 2^40 bytes
 * (a region is backed by file bytes). */
static bool seen_locate(const code_image *img, uint64_t va, size_t *ri, uint64_t *off)
{
    const code_region *r = NULL;
    if (img->last_region < img->n_regions) {
        const code_region *c = &img->regions[img->last_region];
        if (va >= c->va && va - c->va < c->len) {
            r = c;
        }
    }
    if (r == NULL && (r = strain_code__region(img, va)) == NULL) {
        return false;
    }
    *ri = (size_t)(r - img->regions);
    *off = va - r->va;
    return true;
}

bool strain_code__seen(const code_image *img, const code_func *f, uint64_t va)
{
    size_t ri;
    uint64_t off;
    if (!seen_locate(img, va, &ri, &off) || ri >= f->seen_nreg || f->seen_bits[ri] == NULL) {
        return false;
    }
    return (f->seen_bits[ri][off / 8] >> (off % 8)) & 1u;
}

/* Marks (ri, off), found by seen_locate, as decoded. */
static int seen_set(const code_image *img, code_func *f, size_t ri, uint64_t off)
{
    if (off > SEEN_OFF_MASK) {
        return 0; /* past any real region */
    }
    if (f->seen_bits == NULL) {
        f->seen_bits = calloc(img->n_regions, sizeof(uint8_t *));
        if (f->seen_bits == NULL) {
            return STRAIN_ENOMEM;
        }
        f->seen_nreg = img->n_regions;
    }
    if (f->seen_bits[ri] == NULL &&
        (f->seen_bits[ri] = calloc(img->regions[ri].len / 8 + 1, 1)) == NULL) {
        return STRAIN_ENOMEM;
    }
    uint8_t *byte = &f->seen_bits[ri][off / 8];
    if (*byte == 0) {
        int err = push_u64(&f->seen_list, ((uint64_t)ri << 40) | off);
        if (err < 0) {
            return err;
        }
    }
    *byte |= (uint8_t)(1u << (off % 8));
    return 0;
}

/* --- Which functions return ------------------------------------------------------------
 * A call to a function that never returns (a local fatal-error helper such as mingw's
 * __report_error) is followed by padding or by the next function; falling through would glue
 * that function onto the caller. So when a direct call is followed by padding, the callee is
 * probed (explored on its own, bounded, without probing further) and a callee with no
 * return path ends the block. Every explored function's answer is remembered. */

static size_t nr_slot(const code_image *img, uint64_t va)
{
    size_t mask = img->nr_cap - 1, i = (size_t)strain_mix64(va ^ 0x6e72) & mask;
    while (img->nr_vals[i] != NR_UNKNOWN && img->nr_keys[i] != va) {
        i = (i + 1) & mask;
    }
    return i;
}

static int nr_get(const code_image *img, uint64_t va)
{
    return img->nr_cap == 0 ? NR_UNKNOWN : img->nr_vals[nr_slot(img, va)];
}

static int nr_set(code_image *img, uint64_t va, int v)
{
    img->epoch++;
    if ((img->nr_len + 1) * 2 > img->nr_cap) {
        size_t cap = img->nr_cap == 0 ? 1024 : img->nr_cap * 2;
        uint64_t *k = calloc(cap, sizeof(uint64_t));
        uint8_t *vals = calloc(cap, 1);
        if (k == NULL || vals == NULL) {
            free(k);
            free(vals);
            return STRAIN_ENOMEM;
        }
        uint64_t *ok = img->nr_keys;
        uint8_t *ov = img->nr_vals;
        size_t oc = img->nr_cap;
        img->nr_keys = k;
        img->nr_vals = vals;
        img->nr_cap = cap;
        for (size_t i = 0; i < oc; i++) {
            if (ov[i] != NR_UNKNOWN) {
                size_t j = nr_slot(img, ok[i]);
                img->nr_keys[j] = ok[i];
                img->nr_vals[j] = ov[i];
            }
        }
        free(ok);
        free(ov);
    }
    size_t i = nr_slot(img, va);
    if (img->nr_vals[i] == NR_UNKNOWN) {
        img->nr_len++;
    }
    img->nr_keys[i] = va;
    img->nr_vals[i] = (uint8_t)v;
    return 0;
}

static bool func_returns(const code_func *f)
{
    const code_insn *ins = f->insns.items;
    if (f->truncated || f->rejected || f->insns.len == 0) {
        return true; /* unknown: assume it returns */
    }
    for (size_t i = 0; i < f->insns.len; i++) {
        if (ins[i].flow == CODE_FLOW_RET || (ins[i].flow == CODE_FLOW_JMP && ins[i].tail) ||
            (ins[i].flow == CODE_FLOW_JMP_IND && ins[i].jt_count == 0)) {
            return true;
        }
    }
    return false;
}

int strain_code__note_returns(code_image *img, const code_func *f)
{
    return nr_set(img, f->entry, func_returns(f) ? NR_RETURNS : NR_NORETURN);
}

static bool is_padding_at(const code_image *img, uint64_t va)
{
    const code_region *r = strain_code__region(img, va);
    if (r == NULL) {
        return true;
    }
    uint8_t b = r->p[va - r->va];
    return b == 0xcc || b == 0x90 || (b == 0x66 && va - r->va + 1 < r->len &&
                                      (r->p[va - r->va + 1] == 0x90 || r->p[va - r->va + 1] == 0x0f ||
                                       r->p[va - r->va + 1] == 0x2e));
}

#define PROBE_MAX_INSNS 4096u /* fatal-error helpers are short; a long callee is assumed to return */

static int descend(code_image *img, code_func *f);

static int callee_returns(code_image *img, uint64_t target, bool *out)
{
    int v = nr_get(img, target);
    if (v != NR_UNKNOWN || img->probing) {
        *out = v != NR_NORETURN;
        return 0;
    }
    if (img->probe == NULL && (img->probe = calloc(1, sizeof(code_func))) == NULL) {
        return STRAIN_ENOMEM;
    }
    img->probing = true;
    strain_code__func_reset(img->probe, target, false);
    int err = descend(img, img->probe);
    img->probing = false;
    if (err < 0) {
        return err;
    }
    strain_code__cache_insns(img, img->probe); /* the callee is explored for real later */
    bool ret = img->probe->insns.len >= PROBE_MAX_INSNS || func_returns(img->probe);
    *out = ret;
    return nr_set(img, target, ret ? NR_RETURNS : NR_NORETURN);
}

static bool is_queued(const code_image *img, uint64_t va)
{
    const code_region *r = strain_code__region(img, va);
    if (r == NULL) {
        return false;
    }
    uint64_t off = va - r->va;
    return (r->queued[off / 8] >> (off % 8)) & 1u;
}

/* MSVC and LLVM pad between functions with int3 and inside functions with nops, so a jump
 * target right after an int3 is the start of another function. */
static bool after_int3(const code_image *img, uint64_t va)
{
    const code_region *r = strain_code__region(img, va);
    return r != NULL && va > r->va && r->p[va - r->va - 1] == 0xcc;
}

/* True when va is inside a recovered instruction (covered, not an instruction start). */
static bool lands_inside(const code_image *img, uint64_t va)
{
    const code_region *r = strain_code__region(img, va);
    if (r == NULL) {
        return false;
    }
    uint64_t o = va - r->va;
    return ((r->covered[o / 8] & ~r->istart[o / 8]) >> (o % 8)) & 1u;
}

/* A strict guess is rejected when its exploration reaches an address inside a recovered
 * instruction. Checking branch targets when they are queued, not when the depth-first walk
 * gets to them, rejects at once instead of after everything explored in between (on
 * win32-ia32 Go binaries, ~500 decodes per rejected guess and up to half of all decodes). */
static int push_work(code_image *img, code_func *f, uint64_t va)
{
    if (f->strict && lands_inside(img, va)) {
        f->rejected = true;
        return 0;
    }
    return push_u64(&f->work, va);
}

/* Decodes everything reachable from f->entry into f->insns. */
static int descend(code_image *img, code_func *f)
{
    int err = 0;
    /* The last STRAIN_CODE_RING addresses of the straight-line path, oldest first, at
     * path + base: a window sliding over twice the room, moved back to the start once every
     * STRAIN_CODE_RING instructions instead of shifted at every one. */
    uint64_t path[2 * STRAIN_CODE_RING];
    int base = 0;
    STRAIN_TRY(push_u64(&f->work, f->entry));
    while (f->work.len > 0) {
        uint64_t a = *STRAIN_VEC_AT(&f->work, uint64_t, f->work.len - 1);
        f->work.len--;
        int npath = 0;
        base = 0;
        for (;;) {
            /* One region lookup for the seen test and the mark after decoding. */
            size_t sri = 0;
            uint64_t soff = 0;
            bool in_code = seen_locate(img, a, &sri, &soff);
            if (in_code && sri < f->seen_nreg && f->seen_bits[sri] != NULL &&
                ((f->seen_bits[sri][soff / 8] >> (soff % 8)) & 1u)) {
                break;
            }
            if (f->strict) {
                /* A guessed entry stops where recovered code begins (joining it at an
                 * instruction start is a shared tail; landing inside an instruction means the
                 * guess is misaligned): a wrong guess costs little, a right one loses nothing
                 * that is not already recovered. */
                const code_region *cr = strain_code__region(img, a);
                if (cr != NULL) {
                    uint64_t o = a - cr->va;
                    if ((cr->covered[o / 8] >> (o % 8)) & 1u) {
                        if ((cr->istart[o / 8] >> (o % 8)) & 1u) {
                            break;
                        }
                        f->rejected = true;
                        return 0;
                    }
                }
            }
            if (f->insns.len >= (img->probing ? PROBE_MAX_INSNS : STRAIN_CODE_MAX_FUNC_INSNS)) {
                f->truncated = true;
                return 0;
            }
            code_insn ins;
            if (strain_code__decode(img, a, &ins, NULL, NULL, NULL) < 0) {
                if (f->strict) {
                    f->rejected = true;
                    return 0;
                }
                break;
            }
            if (in_code) { /* always: the decode succeeded */
                STRAIN_TRY(seen_set(img, f, sri, soff));
            }
            if (npath == STRAIN_CODE_RING) {
                base++;
                npath--;
            }
            if (base + npath == 2 * STRAIN_CODE_RING) {
                memmove(path, path + base, (size_t)npath * sizeof(path[0]));
                base = 0;
            }
            path[base + npath++] = a;
            if (ins.ptr != 0) {
                STRAIN_TRY(push_u64(&f->ptrs, ins.ptr));
            }
            bool stop = false;
            switch (ins.flow) {
            case CODE_FLOW_JCC:
                if (strain_code__region(img, ins.target) != NULL && ins.target != f->entry &&
                    (is_queued(img, ins.target) || after_int3(img, ins.target))) {
                    /* Conditional tail call (LLVM sibcalls): the target is another function. */
                    ins.tail = 1;
                    STRAIN_TRY(push_u64(&f->calls, ins.target));
                } else if (strain_code__region(img, ins.target) != NULL) {
                    STRAIN_TRY(push_work(img, f, ins.target));
                    if (f->rejected) {
                        return 0;
                    }
                } else if (f->strict) {
                    f->rejected = true;
                    return 0;
                }
                break;
            case CODE_FLOW_JMP:
                if (strain_code__region(img, ins.target) == NULL) {
                    ins.tail = 1;
                    if (f->strict) {
                        f->rejected = true;
                        return 0;
                    }
                } else if (ins.target != f->entry &&
                           (is_queued(img, ins.target) || ins.target < f->entry ||
                            (ins.va == f->entry && ins.target - ins.va >= ins.len) ||
                            after_int3(img, ins.target))) {
                    /* Jumps to another function's entry, backwards past our own entry (code
                     * before a function's entry is another function), or a function that is
                     * only a jump (a thunk: MSVC incremental-linking tables, /guard stubs):
                     * tail call, the target is a function of its own. */
                    ins.tail = 1;
                    STRAIN_TRY(push_u64(&f->calls, ins.target));
                } else {
                    STRAIN_TRY(push_work(img, f, ins.target));
                    if (f->rejected) {
                        return 0;
                    }
                }
                stop = true;
                break;
            case CODE_FLOW_JMP_IND:
                if (!ins.tail) {
                    size_t w0 = f->work.len;
                    STRAIN_TRY(strain_code__jump_table(img, f, path + base, npath, &ins));
                    for (size_t k = w0; f->strict && k < f->work.len; k++) {
                        if (lands_inside(img, *STRAIN_VEC_AT(&f->work, uint64_t, k))) {
                            f->rejected = true;
                            return 0;
                        }
                    }
                }
                stop = true;
                break;
            case CODE_FLOW_CALL:
                if (strain_code__region(img, ins.target) != NULL && !ins.is_call_import) {
                    STRAIN_TRY(push_u64(&f->calls, ins.target));
                    bool returns = true;
                    if (is_padding_at(img, a + ins.len)) {
                        STRAIN_TRY(callee_returns(img, ins.target, &returns));
                    }
                    if (!returns) {
                        ins.flow = CODE_FLOW_STOP;
                        stop = true;
                    }
                }
                break;
            case CODE_FLOW_RET:
            case CODE_FLOW_STOP:
                stop = true;
                break;
            default:
                break;
            }
            if (f->insns.len < f->insns.cap) { /* no call, no zeroing of the slot */
                ((code_insn *)f->insns.items)[f->insns.len++] = ins;
            } else {
                code_insn *slot = strain_vec_push(&f->insns);
                if (slot == NULL) {
                    return STRAIN_ENOMEM;
                }
                *slot = ins;
            }
            if (stop) {
                break;
            }
            a += ins.len;
        }
    }
done:
    return err;
}

/* Sorts f->insns by address. The descent emits ascending straight-line runs (one per work
 * item), so a natural merge sort takes a few passes over few runs, with the comparison
 * inline; qsort's comparator calls and glibc's indirect merge were ~8% of `strain genes`.
 * Addresses are unique (the seen set), so the order is fully determined. */
static int sort_insns(code_func *f)
{
    size_t n = f->insns.len;
    code_insn *src = f->insns.items;
    size_t i = 1;
    while (i < n && src[i - 1].va < src[i].va) {
        i++;
    }
    if (i >= n) {
        return 0;
    }
    if (f->sort_cap < n) {
        code_insn *t = realloc(f->sort_tmp, n * sizeof(code_insn));
        if (t == NULL) {
            return STRAIN_ENOMEM;
        }
        f->sort_tmp = t;
        f->sort_cap = n;
    }
    code_insn *dst = f->sort_tmp;
    for (;;) {
        size_t runs = 0, a = 0;
        while (a < n) {
            size_t m = a + 1;
            while (m < n && src[m - 1].va < src[m].va) {
                m++;
            }
            size_t e = m;
            while (e < n && (e == m || src[e - 1].va < src[e].va)) {
                e++;
            }
            size_t x = a, y = m, o = a;
            while (x < m && y < e) {
                dst[o++] = src[x].va < src[y].va ? src[x++] : src[y++];
            }
            memcpy(dst + o, src + x, (m - x) * sizeof(code_insn));
            o += m - x;
            memcpy(dst + o, src + y, (e - y) * sizeof(code_insn));
            runs++;
            a = e;
        }
        code_insn *t = src;
        src = dst;
        dst = t;
        if (runs == 1) {
            break;
        }
    }
    if (src != f->insns.items) { /* the sorted copy is the scratch buffer: swap them */
        f->sort_tmp = f->insns.items;
        f->insns.items = src;
        size_t cap = f->insns.cap;
        f->insns.cap = f->sort_cap;
        f->sort_cap = cap;
    }
    return 0;
}

/* Most functions have a handful of block leaders: insertion sort, no comparator calls.
 * Large functions have thousands: quicksort (median of three, the smaller side first so
 * the stack stays logarithmic) down to runs of 32, with the comparison inline; qsort's
 * comparator calls and glibc's merge were ~3% of `strain genes` on esbuild. Equal values
 * are indistinguishable, so the result is the same as any other sort's. */
static void sort_u64(uint64_t *a, size_t n)
{
    while (n > 32) {
        /* Order a[0] <= a[mid] <= a[n-1] and partition around a[mid], mid the lower middle:
         * Hoare's scheme then ends with 0 <= j < n - 1, so both sides shrink. */
        size_t mid = (n - 1) / 2;
        uint64_t t;
        if (a[mid] < a[0]) {
            t = a[mid], a[mid] = a[0], a[0] = t;
        }
        if (a[n - 1] < a[mid]) {
            t = a[n - 1], a[n - 1] = a[mid], a[mid] = t;
            if (a[mid] < a[0]) {
                t = a[mid], a[mid] = a[0], a[0] = t;
            }
        }
        uint64_t pivot = a[mid];
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare partition: [0, j] <= pivot <= [j + 1, n) */
            while (a[i] < pivot) {
                i++;
            }
            while (a[j] > pivot) {
                j--;
            }
            if (i >= j) {
                break;
            }
            t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        size_t left = j + 1;
        if (left < n - left) {
            sort_u64(a, left);
            a += left;
            n -= left;
        } else {
            sort_u64(a + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > x) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

static int64_t block_at(const code_func *f, uint64_t va)
{
    const code_block *b = f->blocks.items;
    size_t lo = 0, hi = f->blocks.len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].va == va) {
            return (int64_t)mid;
        }
        if (b[mid].va < va) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* Adds the edge b -> block at va. hint: the block likely there (the next one, for a
 * fall-through), checked before the binary search. */
static int add_succ(code_func *f, code_block *b, uint64_t va, size_t hint)
{
    int64_t t = hint < f->blocks.len && STRAIN_VEC_AT(&f->blocks, code_block, hint)->va == va
                    ? (int64_t)hint
                    : block_at(f, va);
    if (t < 0) {
        return 0;
    }
    uint32_t *s = strain_vec_push(&f->succ);
    if (s == NULL) {
        return STRAIN_ENOMEM;
    }
    *s = (uint32_t)t;
    b->n_succ++;
    STRAIN_VEC_AT(&f->blocks, code_block, (size_t)t)->n_pred++;
    return 0;
}

static bool ends_block(const code_insn *i)
{
    return i->flow != CODE_FLOW_NONE && i->flow != CODE_FLOW_CALL && i->flow != CODE_FLOW_CALL_IND;
}

static int build_blocks(code_func *f)
{
    int err = 0;
    code_insn *ins = f->insns.items;
    size_t n = f->insns.len;
    STRAIN_TRY(sort_insns(f));
    ins = f->insns.items;
    STRAIN_TRY(push_u64(&f->lead, f->entry));
    for (size_t i = 0; i < n; i++) {
        if (ins[i].flow == CODE_FLOW_JCC) {
            if (!ins[i].tail) {
                STRAIN_TRY(push_u64(&f->lead, ins[i].target));
            }
            STRAIN_TRY(push_u64(&f->lead, ins[i].va + ins[i].len));
        } else if (ins[i].flow == CODE_FLOW_JMP && !ins[i].tail) {
            STRAIN_TRY(push_u64(&f->lead, ins[i].target));
        }
    }
    for (size_t i = 0; i < f->jt.len; i++) {
        STRAIN_TRY(push_u64(&f->lead, *STRAIN_VEC_AT(&f->jt, uint64_t, i)));
    }
    sort_u64(f->lead.items, f->lead.len);
    /* Instructions and leaders are both sorted: one merge walk instead of a binary search
     * per instruction. */
    const uint64_t *lead = f->lead.items;
    size_t nl = f->lead.len, li = 0;
    code_block *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        while (li < nl && lead[li] < ins[i].va) {
            li++;
        }
        bool is_lead = li < nl && lead[li] == ins[i].va;
        bool start = cur == NULL || is_lead || ins[i - 1].va + ins[i - 1].len != ins[i].va ||
                     ends_block(&ins[i - 1]);
        if (start) {
            if (f->blocks.len >= STRAIN_CODE_MAX_FUNC_BLOCKS) {
                f->truncated = true;
                f->insns.len = i; /* instructions past the cap belong to no block */
                break;
            }
            cur = strain_vec_push(&f->blocks);
            if (cur == NULL) {
                return STRAIN_ENOMEM;
            }
            cur->va = ins[i].va;
            cur->first = (uint32_t)i;
        }
        cur->n++;
    }
    for (size_t bi = 0; bi < f->blocks.len; bi++) {
        code_block *b = STRAIN_VEC_AT(&f->blocks, code_block, bi);
        const code_insn *last = &ins[b->first + b->n - 1];
        b->succ_first = (uint32_t)f->succ.len;
        switch (last->flow) {
        case CODE_FLOW_NONE:
        case CODE_FLOW_CALL:
        case CODE_FLOW_CALL_IND:
            STRAIN_TRY(add_succ(f, b, last->va + last->len, bi + 1));
            break;
        case CODE_FLOW_JCC:
            STRAIN_TRY(add_succ(f, b, last->va + last->len, bi + 1));
            if (!last->tail) {
                STRAIN_TRY(add_succ(f, b, last->target, SIZE_MAX));
            }
            break;
        case CODE_FLOW_JMP:
            if (!last->tail) {
                STRAIN_TRY(add_succ(f, b, last->target, SIZE_MAX));
            }
            break;
        case CODE_FLOW_JMP_IND:
            for (uint32_t k = 0; k < last->jt_count; k++) {
                STRAIN_TRY(add_succ(f, b, *STRAIN_VEC_AT(&f->jt, uint64_t, last->jt_first + k),
                                    SIZE_MAX));
            }
            break;
        default:
            break;
        }
    }
    /* Canonical order: depth-first preorder from the entry, successors in semantic order
     * (fallthrough, taken, table index), so that block layout does not change the hash. */
    size_t nb = f->blocks.len;
    for (size_t bi = 0; bi < nb; bi++) {
        STRAIN_VEC_AT(&f->blocks, code_block, bi)->order = UINT32_MAX;
    }
    strain_vec *stack = &f->work; /* exploration is over: reuse its storage */
    stack->len = 0;
    int64_t e = block_at(f, f->entry);
    if (e >= 0) {
        STRAIN_TRY(push_u64(stack, (uint64_t)e));
    }
    while (stack->len > 0) {
        uint64_t bi = *STRAIN_VEC_AT(stack, uint64_t, stack->len - 1);
        stack->len--;
        code_block *b = STRAIN_VEC_AT(&f->blocks, code_block, (size_t)bi);
        if (b->order != UINT32_MAX) {
            continue;
        }
        b->order = (uint32_t)f->order.len;
        uint32_t *o = strain_vec_push(&f->order);
        if (o == NULL) {
            return STRAIN_ENOMEM;
        }
        *o = (uint32_t)bi;
        for (uint32_t k = b->n_succ; k > 0; k--) {
            uint32_t s = *STRAIN_VEC_AT(&f->succ, uint32_t, b->succ_first + k - 1);
            if (STRAIN_VEC_AT(&f->blocks, code_block, s)->order == UINT32_MAX) {
                STRAIN_TRY(push_u64(stack, s));
            }
        }
    }
    for (size_t bi = 0; bi < nb; bi++) {
        code_block *b = STRAIN_VEC_AT(&f->blocks, code_block, bi);
        if (b->order == UINT32_MAX) {
            b->order = (uint32_t)f->order.len;
            uint32_t *o = strain_vec_push(&f->order);
            if (o == NULL) {
                return STRAIN_ENOMEM;
            }
            *o = (uint32_t)bi;
        }
    }
done:
    return err;
}

int strain_code__func_explore(code_image *img, code_func *f)
{
    int err = descend(img, f);
    if (err < 0 || f->rejected) {
        return err;
    }
    if (f->insns.len == 0) {
        f->rejected = true;
        return 0;
    }
    return build_blocks(f);
}
