/*
 * RVA -> file bytes for the PE directory parsers. One resolver for everything so that
 * imports, exports, resources and debug data agree on where an RVA lives. The rules follow
 * pefile (see pe_internal.h): analysts' imphash and section tables come from it, and a
 * different resolver would read different names from the same malformed file.
 */
#include "format/pe_internal.h"

/* The section answering for rva, or NULL (pefile walks the VA-sorted list, first wins). */
const pe_sec *strain_pe__section_for_rva(const pe_image *pe, uint64_t rva)
{
    for (size_t i = 0; i < pe->n_secs; i++) {
        const pe_sec *s = &pe->secs[i];
        if (rva >= s->lo && rva < s->hi) {
            return s;
        }
    }
    return NULL;
}

/* A section's data stops at PointerToRawData + SizeOfRawData as written (not adjusted):
 * rounding the start down must not pull in bytes past the declared end. */
static uint64_t sec_raw_end(const pe_image *pe, const pe_sec *s)
{
    uint64_t end = (uint64_t)s->raw_ptr + s->raw_size;
    return end < pe->file.len ? end : pe->file.len;
}

uint64_t strain_pe__section_data_len(const pe_image *pe, const pe_sec *s)
{
    uint64_t end = sec_raw_end(pe, s);
    return end > s->raw_adj ? end - s->raw_adj : 0;
}

bool strain_pe__rva_span(const pe_image *pe, uint64_t rva, strain_span *out)
{
    const pe_sec *s = strain_pe__section_for_rva(pe, rva);
    uint64_t off, end;
    if (s != NULL) {
        off = rva - s->va_adj + s->raw_adj;
        end = sec_raw_end(pe, s);
    } else if (rva < pe->header_len) {
        off = rva;
        end = pe->header_len;
    } else if (rva < pe->file.len) {
        /* Sectionless images rely on the loader mapping the file as is. */
        off = rva;
        end = pe->file.len;
    } else {
        return false;
    }
    if (off >= end) {
        out->p = pe->file.p;
        out->len = 0;
        return true;
    }
    return strain_span_sub(pe->file, off, end - off, out);
}

bool strain_pe__rva_to_offset(const pe_image *pe, uint64_t rva, uint64_t *out)
{
    const pe_sec *s = strain_pe__section_for_rva(pe, rva);
    if (s != NULL) {
        *out = rva - s->va_adj + s->raw_adj;
        return true;
    }
    if (rva < pe->file.len) {
        *out = rva;
        return true;
    }
    return false;
}

void strain_pe__rva_string(const pe_image *pe, uint64_t rva, size_t max, strain_span *out)
{
    strain_span s;
    out->p = pe->file.p;
    out->len = 0;
    const pe_sec *sec = strain_pe__section_for_rva(pe, rva);
    if (sec != NULL) {
        if (!strain_pe__rva_span(pe, rva, &s)) {
            return;
        }
    } else if (!strain_span_tail(pe->file, rva, &s)) {
        /* pefile reads strings outside sections straight from the file, headers or not. */
        return;
    }
    size_t n = s.len < max ? s.len : max;
    if (n == 0) {
        return;
    }
    const uint8_t *nul = memchr(s.p, 0, n);
    out->p = s.p;
    out->len = nul != NULL ? (size_t)(nul - s.p) : n;
}

bool strain_pe__all_zero(strain_span s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] != 0) {
            return false;
        }
    }
    return true;
}
