/*
 * Virtual address -> file offset map of a parsed binary, built once when parsing ends.
 *
 * What backs an address is decided by priority: ELF PT_LOAD segments (what the loader
 * maps), then sections in table order, then the PE headers (mapped at the image base).
 * Hostile files overlap these freely (thousands of sections over one range), so instead of
 * scanning every range per lookup, the ranges are cut at every endpoint into disjoint pieces,
 * each owned by the highest-priority range covering it (a sweep with a heap of active
 * ranges: O(n log n)); a lookup is then a binary search.
 */
#include <stdlib.h>

#include "format/binary_impl.h"

typedef struct va_event {
    uint64_t pos;
    uint32_t owner;
    bool open;
} va_event;

static int event_cmp(const void *a, const void *b)
{
    const va_event *x = a, *y = b;
    if (x->pos != y->pos) {
        return x->pos < y->pos ? -1 : 1;
    }
    return (int)x->open - (int)y->open; /* closes first: [start, end) */
}

/* Adds a candidate range clipped to the file; ranges with no file bytes are skipped. */
static int add_owner(strain_binary *bin, strain_vec *owners, uint64_t vaddr, uint64_t len,
                     uint64_t offset)
{
    if (len == 0 || offset >= bin->file.len) {
        return STRAIN_OK;
    }
    if (len > bin->file.len - offset) {
        len = bin->file.len - offset;
    }
    if (len > UINT64_MAX - vaddr) {
        len = UINT64_MAX - vaddr;
    }
    if (len == 0) {
        return STRAIN_OK;
    }
    strain_va_owner *o = strain_vec_push(owners);
    if (o == NULL) {
        return STRAIN_ENOMEM;
    }
    o->vaddr = vaddr;
    o->len = len;
    o->offset = offset;
    return STRAIN_OK;
}

static void heap_push(uint32_t *heap, size_t *n, uint32_t v)
{
    size_t i = (*n)++;
    heap[i] = v;
    while (i > 0 && heap[(i - 1) / 2] > heap[i]) {
        uint32_t t = heap[i];
        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static void heap_pop(uint32_t *heap, size_t *n)
{
    heap[0] = heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && heap[l] < heap[m]) {
            m = l;
        }
        if (r < *n && heap[r] < heap[m]) {
            m = r;
        }
        if (m == i) {
            break;
        }
        uint32_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static int collect_owners(strain_binary *bin, strain_vec *owners)
{
    const strain_binary_info *i = &bin->info;
    int err = STRAIN_OK;
    for (size_t k = 0; k < i->elf.n_segments && err == STRAIN_OK; k++) {
        const strain_segment *g = &i->elf.segments[k];
        if (g->type == 1 /* PT_LOAD */) {
            err = add_owner(bin, owners, g->vaddr, g->filesz, g->offset);
        }
    }
    for (size_t k = 0; k < i->n_sections && err == STRAIN_OK; k++) {
        const strain_section *s = &i->sections[k];
        uint64_t backed = s->raw_size < s->vsize || s->vsize == 0 ? s->raw_size : s->vsize;
        err = add_owner(bin, owners, s->vaddr, backed, s->raw_offset);
    }
    if (err == STRAIN_OK &&
        (i->format == STRAIN_FORMAT_PE32 || i->format == STRAIN_FORMAT_PE32PLUS)) {
        err = add_owner(bin, owners, i->image_base, i->pe.size_of_headers, 0);
    }
    return err;
}

int strain_vamap__build(strain_binary *bin)
{
    strain_vec owners = STRAIN_VEC_INIT(strain_va_owner);
    strain_vec pieces = STRAIN_VEC_INIT(strain_va_piece);
    va_event *ev = NULL;
    uint32_t *heap = NULL;
    bool *active = NULL;
    int err = collect_owners(bin, &owners);
    size_t n = owners.len;
    if (err < 0 || n == 0 || n > UINT32_MAX) {
        goto done;
    }
    ev = calloc(2 * n, sizeof(*ev));
    heap = calloc(n, sizeof(*heap));
    active = calloc(n, sizeof(*active));
    if (ev == NULL || heap == NULL || active == NULL) {
        err = STRAIN_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        const strain_va_owner *o = STRAIN_VEC_AT(&owners, strain_va_owner, k);
        ev[2 * k] = (va_event){o->vaddr, (uint32_t)k, true};
        ev[2 * k + 1] = (va_event){o->vaddr + o->len, (uint32_t)k, false};
    }
    qsort(ev, 2 * n, sizeof(*ev), event_cmp);
    size_t hn = 0;
    for (size_t e = 0; e < 2 * n;) {
        uint64_t pos = ev[e].pos;
        for (; e < 2 * n && ev[e].pos == pos; e++) {
            if (ev[e].open) {
                active[ev[e].owner] = true;
                heap_push(heap, &hn, ev[e].owner);
            } else {
                active[ev[e].owner] = false;
            }
        }
        while (hn > 0 && !active[heap[0]]) {
            heap_pop(heap, &hn);
        }
        if (hn == 0 || e == 2 * n) {
            continue;
        }
        uint64_t next = ev[e].pos;
        strain_va_piece *last =
            pieces.len ? STRAIN_VEC_AT(&pieces, strain_va_piece, pieces.len - 1) : NULL;
        if (last != NULL && last->owner == heap[0] && last->end == pos) {
            last->end = next;
            continue;
        }
        strain_va_piece *p = strain_vec_push(&pieces);
        if (p == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        *p = (strain_va_piece){pos, next, heap[0]};
    }
    bin->va_owners = owners.items;
    bin->n_va_owners = owners.len;
    bin->va_pieces = pieces.items;
    bin->n_va_pieces = pieces.len;
    owners.items = NULL;
    pieces.items = NULL;
done:
    free(ev);
    free(heap);
    free(active);
    strain_vec_free(&owners);
    strain_vec_free(&pieces);
    return err;
}

int strain_vamap__lookup(const strain_binary *bin, uint64_t va, uint64_t *out_off,
                         size_t *out_len)
{
    size_t lo = 0, hi = bin->n_va_pieces;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const strain_va_piece *p = &bin->va_pieces[mid];
        if (va < p->start) {
            hi = mid;
        } else if (va >= p->end) {
            lo = mid + 1;
        } else {
            const strain_va_owner *o = &bin->va_owners[p->owner];
            uint64_t delta = va - o->vaddr;
            *out_off = o->offset + delta;
            *out_len = (size_t)(o->len - delta);
            return STRAIN_OK;
        }
    }
    return STRAIN_ENOTFOUND;
}

void strain_vamap__free(strain_binary *bin)
{
    free(bin->va_owners);
    free(bin->va_pieces);
    bin->va_owners = NULL;
    bin->va_pieces = NULL;
    bin->n_va_owners = bin->n_va_pieces = 0;
}
