/*
 * Import and delay-load import directories -> strain_import (library, name or ordinal, IAT
 * slot VA). The IAT slot address lets code analysis name `call [IAT]` targets.
 *
 * The walk reproduces pefile's acceptance rules (which thunks end a table, which names are
 * "invalid", when a whole descriptor is dropped) because imphash is defined by what pefile
 * lists: a more lenient parser would produce a different, useless imphash for the same file.
 * Hostile tables are bounded three ways: the limits in util/limits.h, pefile's heuristics
 * (repeated or widely spread name RVAs mean garbage), and the end of the file.
 */
#include <stdlib.h>
#include <string.h>

#include "format/pe_internal.h"
#include "util/err.h"
#include "util/limits.h"

/* IMAGE_IMPORT_DESCRIPTOR */
#define PE_IMPDESC_SIZE 20u
#define PE_IMPDESC_OFT_OFF 0u /* OriginalFirstThunk: the import lookup table */
#define PE_IMPDESC_NAME_OFF 12u
#define PE_IMPDESC_FT_OFF 16u /* FirstThunk: the IAT */
/* ImgDelayDescr (delayimp.h) */
#define PE_DELAYDESC_SIZE 32u
#define PE_DELAYDESC_ATTRS_OFF 0u
#define PE_DELAYDESC_NAME_OFF 4u
#define PE_DELAYDESC_IAT_OFF 12u
#define PE_DELAYDESC_INT_OFF 16u
/* Thunks */
#define PE_ORDINAL_FLAG32 0x80000000ull
#define PE_ORDINAL_FLAG64 0x8000000000000000ull
#define PE_HINT_SIZE 2u
/* pefile's bounds on strings and on tables it still believes (see get_import_table) */
#define PE_IMPORT_NAME_MAX 0x200u
#define PE_MAX_REPEATED_ADDRESSES 15u
#define PE_MAX_ADDRESS_SPREAD (128ull << 20)
#define PE_ADDR_4GB (1ull << 32)
#define PE_MAX_DESCRIPTOR_ERRORS 5
#define PE_MAX_INVALID_NAMES 1000u

typedef struct thunk_table {
    uint64_t *v; /* thunk values (arena) */
    size_t n;
    bool broken; /* pefile's None: unreadable */
} thunk_table;

/* Min/max tracker for pefile's "address spread" heuristic. */
typedef struct addr_range {
    bool any;
    uint64_t lo, hi;
} addr_range;

static void range_add(addr_range *r, uint64_t v)
{
    if (!r->any || v < r->lo) {
        r->lo = v;
    }
    if (!r->any || v > r->hi) {
        r->hi = v;
    }
    r->any = true;
}

static uint64_t range_diff(const addr_range *r)
{
    return r->any ? r->hi - r->lo : 0;
}

/* A set of non-zero 64-bit values (open addressing, doubling at half load). */
typedef struct u64_set {
    uint64_t *slots;
    size_t cap, len;
} u64_set;

static size_t set_slot(const uint64_t *slots, size_t cap, uint64_t v)
{
    size_t i = (size_t)((v * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
    while (slots[i] != 0 && slots[i] != v) {
        i = (i + 1) & (cap - 1);
    }
    return i;
}

/* 1 when added, 0 when already present, STRAIN_ENOMEM. */
static int set_add(u64_set *s, uint64_t v)
{
    if (2 * (s->len + 1) > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *ns = calloc(ncap, sizeof(uint64_t));
        if (ns == NULL) {
            return STRAIN_ENOMEM;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slots[i] != 0) {
                ns[set_slot(ns, ncap, s->slots[i])] = s->slots[i];
            }
        }
        free(s->slots);
        s->slots = ns;
        s->cap = ncap;
    }
    size_t i = set_slot(s->slots, s->cap, v);
    if (s->slots[i] == v) {
        return 0;
    }
    s->slots[i] = v;
    s->len++;
    return 1;
}

/* Old (pre-VC6) delay descriptors hold VAs: make them RVAs when they fall in the image. */
static uint64_t normalize_va(const pe_image *pe, uint64_t va)
{
    if (va >= pe->image_base && va < pe->image_base + pe->size_of_image) {
        return va - pe->image_base;
    }
    return va;
}

/*
 * Reads one thunk table (ILT or IAT) starting at rva, at most max_len bytes past it.
 * Mirrors pefile's get_import_table: an empty result means "bogus table", broken means
 * "unreadable".
 */
static int read_thunks(pe_image *pe, uint64_t rva, int64_t max_len, bool vas, thunk_table *out)
{
    size_t tsize = pe->is64 ? 8 : 4;
    uint64_t flag = pe->is64 ? PE_ORDINAL_FLAG64 : PE_ORDINAL_FLAG32;
    uint64_t start = rva;
    addr_range r32 = {0}, r64 = {0};
    size_t repeated = 0;
    strain_vec vals = STRAIN_VEC_INIT(uint64_t);
    int err = STRAIN_OK;
    out->v = NULL;
    out->n = 0;
    out->broken = false;
    /* Repetition is detected against every name RVA seen (pefile keeps a set). */
    u64_set seen = {0};

    while (rva != 0) {
        if (max_len >= 0 && rva >= start + (uint64_t)max_len) {
            err = strain_binary__warn(pe->bin, "import table at RVA 0x%llx runs past its bounds",
                                      (unsigned long long)start);
            break;
        }
        if (pe->n_import_symbols > STRAIN_PE_MAX_IMPORTS) {
            err = strain_binary__warn(pe->bin, "more than %u import thunks: rest ignored",
                                      STRAIN_PE_MAX_IMPORTS);
            break;
        }
        pe->n_import_symbols++;
        if (repeated >= PE_MAX_REPEATED_ADDRESSES || range_diff(&r32) > PE_MAX_ADDRESS_SPREAD ||
            range_diff(&r64) > PE_MAX_ADDRESS_SPREAD) {
            vals.len = 0;
            err = strain_binary__warn(pe->bin,
                                      "import table at RVA 0x%llx looks bogus "
                                      "(repeated or scattered name addresses)",
                                      (unsigned long long)start);
            goto finish;
        }
        strain_span s;
        uint64_t v = 0;
        bool ok = strain_pe__rva_span(pe, rva, &s) && s.len >= tsize;
        if (ok) {
            if (pe->is64) {
                strain_span_u64le(s, 0, &v);
            } else {
                uint32_t v32 = 0;
                strain_span_u32le(s, 0, &v32);
                v = v32;
            }
        }
        if (!ok) {
            out->broken = true;
            vals.len = 0;
            err = strain_binary__warn(pe->bin,
                                      "import table entry at RVA 0x%llx is not in the "
                                      "file",
                                      (unsigned long long)rva);
            goto finish;
        }
        if (vas) {
            v = normalize_va(pe, v);
        }
        if (v >= start && v <= rva) {
            err = strain_binary__warn(pe->bin,
                                      "import thunk at RVA 0x%llx points into its own "
                                      "table",
                                      (unsigned long long)rva);
            break;
        }
        if (v != 0) {
            if (v & flag) {
                if ((v & 0x7fffffffu) > 0xffffu) {
                    /* an "ordinal" above 65535 is garbage: pefile drops the whole table */
                    vals.len = 0;
                    err = strain_binary__warn(pe->bin,
                                              "import table at RVA 0x%llx has an "
                                              "ordinal above 65535",
                                              (unsigned long long)start);
                    goto finish;
                }
            } else {
                int added = set_add(&seen, v);
                if (added < 0) {
                    err = added;
                    goto finish;
                }
                if (added == 0) {
                    repeated++;
                }
                range_add(v >= PE_ADDR_4GB ? &r64 : &r32, v);
            }
        }
        if (v == 0) {
            break;
        }
        rva += tsize;
        uint64_t *slot = strain_vec_push(&vals);
        if (slot == NULL) {
            err = STRAIN_ENOMEM;
            goto finish;
        }
        *slot = v;
    }
finish:
    if (err >= 0 && vals.len > 0) {
        out->v = strain_arena_array(&pe->bin->arena, vals.len, sizeof(uint64_t));
        if (out->v == NULL) {
            err = STRAIN_ENOMEM;
        } else {
            memcpy(out->v, vals.items, vals.len * sizeof(uint64_t));
            out->n = vals.len;
        }
    }
    strain_vec_free(&vals);
    free(seen.slots);
    return err < 0 ? err : STRAIN_OK;
}

/* pefile's is_valid_function_name (strict set) for import names. */
static bool valid_import_name(strain_span s)
{
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != 0 && strchr("._?@$()<>", c) != NULL);
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* pefile's is_valid_dos_filename for library names. */
static bool valid_dll_name(strain_span s)
{
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != 0 && strchr("!#$%&'()-@^_`{}~+,.;=[]\\/", c) != NULL);
        if (!ok) {
            return false;
        }
    }
    return true;
}

typedef struct pending_import {
    const char *name; /* arena, or NULL for ordinal */
    uint32_t ordinal;
    bool by_ordinal;
    uint64_t address;
} pending_import;

/*
 * One descriptor's symbols (pefile's parse_imports). Returns the count appended to pend,
 * 0 when the descriptor yields nothing (it is then dropped, as pefile drops it).
 */
static int parse_symbols(pe_image *pe, uint64_t ilt_rva, uint64_t iat_rva, int64_t max_len,
                         bool vas, strain_vec *pend)
{
    thunk_table ilt, iat;
    int err = read_thunks(pe, ilt_rva, max_len, vas, &ilt);
    if (err < 0) {
        return err;
    }
    if ((err = read_thunks(pe, iat_rva, max_len, vas, &iat)) < 0) {
        return err;
    }
    if (ilt.n == 0 && iat.n == 0) {
        return strain_binary__warn(pe->bin,
                                   "import descriptor with unreadable lookup and "
                                   "address tables (ILT RVA 0x%llx, IAT RVA 0x%llx)",
                                   (unsigned long long)ilt_rva, (unsigned long long)iat_rva);
    }
    /* OriginalFirstThunk == 0 (Borland, some packers): names come from the IAT itself */
    const thunk_table *t = ilt.n > 0 ? &ilt : &iat;
    uint64_t flag = pe->is64 ? PE_ORDINAL_FLAG64 : PE_ORDINAL_FLAG32;
    uint64_t mask = pe->is64 ? 0x7fffffffffffffffull : 0x7fffffffull;
    size_t tsize = pe->is64 ? 8 : 4;
    size_t base = pend->len, invalid = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t v = t->v[i];
        pending_import p = {0};
        p.address = pe->image_base + iat_rva + (uint64_t)i * tsize;
        if (v & flag) {
            p.by_ordinal = true;
            p.ordinal = (uint32_t)(v & 0xffffu);
            if (p.ordinal == 0) {
                continue; /* pefile lists neither ordinal 0 nor empty names */
            }
        } else {
            strain_span hint, name;
            if (!strain_pe__rva_span(pe, v & mask, &hint)) {
                /* pefile abandons the whole descriptor on an unresolvable hint/name RVA */
                pend->len = base;
                return strain_binary__warn(pe->bin, "import name RVA 0x%llx is outside the file",
                                           (unsigned long long)(v & mask));
            }
            strain_pe__rva_string(pe, v + PE_HINT_SIZE, PE_IMPORT_NAME_MAX, &name);
            if (!valid_import_name(name)) {
                if (invalid > PE_MAX_INVALID_NAMES && invalid == i) {
                    pend->len = base;
                    return strain_binary__warn(pe->bin, "too many invalid import names");
                }
                invalid++;
                int w = strain_binary__warn(pe->bin, "invalid import name at RVA 0x%llx skipped",
                                            (unsigned long long)(v + PE_HINT_SIZE));
                if (w < 0) {
                    return w;
                }
                continue;
            }
            if (name.len == 0) {
                continue;
            }
            p.name = strain_arena_strndup(&pe->bin->arena, (const char *)name.p, name.len);
            if (p.name == NULL) {
                return STRAIN_ENOMEM;
            }
        }
        pending_import *slot = strain_vec_push(pend);
        if (slot == NULL) {
            return STRAIN_ENOMEM;
        }
        *slot = p;
    }
    return (int)(pend->len - base > 0 ? 1 : 0);
}

/* Appends a descriptor's symbols to the result. */
static int emit(pe_image *pe, const char *lib, const strain_vec *pend, bool delayed)
{
    for (size_t i = 0; i < pend->len; i++) {
        const pending_import *p = STRAIN_VEC_AT(pend, pending_import, i);
        strain_import *im = strain_vec_push(&pe->bin->imports);
        if (im == NULL) {
            return STRAIN_ENOMEM;
        }
        im->library = lib;
        im->name = p->name;
        im->ordinal = p->ordinal;
        im->by_ordinal = p->by_ordinal;
        im->delayed = delayed;
        im->address = p->address;
    }
    return STRAIN_OK;
}

/* The thunk arrays may not run past the descriptor that follows them (pefile's max_len). */
static int64_t thunk_max_len(const pe_image *pe, uint64_t next_desc_rva, uint64_t desc_off,
                             uint64_t ilt, uint64_t iat)
{
    int64_t max_len = (int64_t)pe->file.len - (int64_t)desc_off;
    if (next_desc_rva > ilt || next_desc_rva > iat) {
        int64_t a = (int64_t)(next_desc_rva - ilt), b = (int64_t)(next_desc_rva - iat);
        max_len = a > b ? a : b;
    }
    return max_len;
}

static int walk(pe_image *pe, bool delayed)
{
    uint32_t dir = delayed ? PE_DIR_DELAY_IMPORT : PE_DIR_IMPORT;
    if (pe->n_dirs <= dir || pe->dirs[dir].rva == 0) {
        return STRAIN_OK;
    }
    const char *what = delayed ? "delay-load import" : "import";
    uint64_t rva = pe->dirs[dir].rva;
    size_t dsize = delayed ? PE_DELAYDESC_SIZE : PE_IMPDESC_SIZE;
    int errors = 0, err = STRAIN_OK;
    strain_vec pend = STRAIN_VEC_INIT(pending_import);
    for (size_t n_desc = 0;; n_desc++) {
        if (n_desc >= STRAIN_PE_MAX_IMPORT_DLLS) {
            err = strain_binary__warn(pe->bin, "more than %u %s descriptors: rest ignored",
                                      STRAIN_PE_MAX_IMPORT_DLLS, what);
            break;
        }
        strain_span d;
        if (!strain_pe__rva_span(pe, rva, &d)) {
            err = strain_binary__warn(pe->bin,
                                      "%s directory points outside the file "
                                      "(RVA 0x%llx)",
                                      what, (unsigned long long)rva);
            break;
        }
        if (d.len < dsize) {
            err = strain_binary__warn(pe->bin, "%s descriptor at RVA 0x%llx is truncated", what,
                                      (unsigned long long)rva);
            break;
        }
        d.len = dsize;
        if (strain_pe__all_zero(d)) {
            break;
        }
        uint64_t desc_off = 0;
        strain_pe__rva_to_offset(pe, rva, &desc_off);
        uint32_t name_rva = 0, ilt = 0, iat = 0;
        bool vas = false;
        if (delayed) {
            uint32_t attrs = 0;
            strain_span_u32le(d, PE_DELAYDESC_ATTRS_OFF, &attrs);
            strain_span_u32le(d, PE_DELAYDESC_NAME_OFF, &name_rva);
            strain_span_u32le(d, PE_DELAYDESC_IAT_OFF, &iat);
            strain_span_u32le(d, PE_DELAYDESC_INT_OFF, &ilt);
            /* grAttrs bit 0 clear: an old descriptor holding VAs (x86 only) */
            if (attrs == 0 && pe->machine == PE_MACHINE_I386) {
                vas = true;
                name_rva = (uint32_t)normalize_va(pe, name_rva);
                iat = (uint32_t)normalize_va(pe, iat);
                ilt = (uint32_t)normalize_va(pe, ilt);
            }
        } else {
            strain_span_u32le(d, PE_IMPDESC_OFT_OFF, &ilt);
            strain_span_u32le(d, PE_IMPDESC_NAME_OFF, &name_rva);
            strain_span_u32le(d, PE_IMPDESC_FT_OFF, &iat);
        }
        rva += dsize;
        int64_t max_len = thunk_max_len(pe, rva, desc_off, ilt, iat);
        pend.len = 0;
        int got = parse_symbols(pe, ilt, iat, max_len, vas, &pend);
        if (got < 0) {
            err = got;
            break;
        }
        if (errors > PE_MAX_DESCRIPTOR_ERRORS) {
            err =
                strain_binary__warn(pe->bin, "too many broken %s descriptors: rest ignored", what);
            break;
        }
        if (pend.len == 0) {
            errors++;
            continue;
        }
        if (delayed && pe->n_import_symbols > STRAIN_PE_MAX_IMPORTS) {
            /* pefile drops the delay descriptor that crossed the cap */
            err = strain_binary__warn(pe->bin, "more than %u import thunks: rest ignored",
                                      STRAIN_PE_MAX_IMPORTS);
            break;
        }
        strain_span name;
        strain_pe__rva_string(pe, name_rva, PE_IMPORT_NAME_MAX, &name);
        const char *lib;
        if (!valid_dll_name(name)) {
            if ((err = strain_binary__warn(pe->bin, "invalid %s library name at RVA 0x%x", what,
                                           name_rva)) < 0) {
                break;
            }
            lib = "*invalid*"; /* pefile's placeholder, part of imphash input */
        } else if (name.len == 0) {
            if ((err = strain_binary__warn(pe->bin,
                                           "empty %s library name at RVA 0x%x: "
                                           "descriptor skipped",
                                           what, name_rva)) < 0) {
                break;
            }
            continue;
        } else {
            lib = strain_arena_strndup(&pe->bin->arena, (const char *)name.p, name.len);
            if (lib == NULL) {
                err = STRAIN_ENOMEM;
                break;
            }
        }
        if ((err = emit(pe, lib, &pend, delayed)) < 0) {
            break;
        }
    }
    strain_vec_free(&pend);
    return err;
}

int strain_pe__parse_imports(pe_image *pe)
{
    return walk(pe, false);
}

int strain_pe__parse_delay_imports(pe_image *pe)
{
    return walk(pe, true);
}
