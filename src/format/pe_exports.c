/*
 * Export directory -> strain_export (name, biased ordinal, VA or forwarder string).
 *
 * Two passes as pefile makes them: first the named exports through AddressOfNames /
 * AddressOfNameOrdinals, then the ordinal-only remainder of AddressOfFunctions. A
 * function RVA inside the export directory is a forwarder ("NTDLL.RtlAllocateHeap"), not
 * code (PE/COFF spec, "Export Address Table"). Counts are attacker-controlled (0xFFFFFFFF
 * is common in broken files): every loop is bounded by the bytes really present, by
 * STRAIN_PE_MAX_EXPORTS and by pefile's repetition heuristics.
 */
#include <stdlib.h>
#include <string.h>

#include "format/pe_internal.h"
#include "util/err.h"
#include "util/limits.h"

/* IMAGE_EXPORT_DIRECTORY */
#define PE_EXPDIR_SIZE 40u
#define PE_EXPDIR_BASE_OFF 16u
#define PE_EXPDIR_NFUNCS_OFF 20u
#define PE_EXPDIR_NNAMES_OFF 24u
#define PE_EXPDIR_FUNCS_OFF 28u
#define PE_EXPDIR_NAMES_OFF 32u
#define PE_EXPDIR_ORDS_OFF 36u
#define PE_EXPORT_NAME_MAX 0x200u        /* pefile's MAX_SYMBOL_NAME_LENGTH */
#define PE_FORWARDER_MAX 0x100000u       /* pefile's MAX_STRING_LENGTH */
#define PE_EXPORT_MAX_FAILURES 10        /* unreadable entries tolerated before giving up */
#define PE_EXPORT_MAX_REPEAT_NAMED 10    /* same (name, address) more often: corrupt */
#define PE_EXPORT_MAX_REPEAT_ORDINAL 120 /* same address among ordinal-only exports */
#define PE_EXPORT_ORDINAL_SLOTS 65536u   /* AddressOfNameOrdinals entries are 16-bit */

/* pefile's is_valid_function_name(relax_allowed_characters=True). */
static bool valid_export_name(strain_span s)
{
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != 0 && strchr("!\"#$%&'()*+,-./:<>?[\\]^_`{|}~@", c) != NULL);
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* An array of the export directory: at most want bytes at rva, fewer if the file ends. */
static bool export_array(const pe_image *pe, uint32_t rva, uint64_t want, strain_span *out)
{
    uint64_t off;
    if (!strain_pe__rva_to_offset(pe, rva, &off) || !strain_pe__rva_span(pe, rva, out)) {
        return false;
    }
    uint64_t until_eof = off < pe->file.len ? pe->file.len - off : 0;
    uint64_t n = want < until_eof ? want : until_eof;
    if (n > 0 && out->len > n) {
        out->len = (size_t)n;
    }
    return true;
}

/* How many 4-byte entries pefile lets a loop read from an array at rva. */
static uint64_t safety_entries(const pe_image *pe, uint32_t rva)
{
    const pe_sec *s = strain_pe__section_for_rva(pe, rva);
    if (s == NULL) {
        return pe->file.len / 4;
    }
    uint64_t end = (uint64_t)s->va + strain_pe__section_data_len(pe, s);
    return end > rva ? (end - rva) / 4 : 0;
}

typedef struct exp_ctx {
    pe_image *pe;
    uint32_t dir_rva, dir_size;
    strain_vec out; /* strain_export, published only when the directory is accepted */
} exp_ctx;

static int push_export(exp_ctx *x, const char *name, uint32_t ordinal, uint32_t addr)
{
    strain_export *e = strain_vec_push(&x->out);
    if (e == NULL) {
        return STRAIN_ENOMEM;
    }
    e->name = name;
    e->ordinal = ordinal;
    if (addr >= x->dir_rva && addr - x->dir_rva < x->dir_size) {
        strain_span fw;
        strain_pe__rva_string(x->pe, addr, PE_FORWARDER_MAX, &fw);
        e->forwarder = strain_arena_strndup(&x->pe->bin->arena, (const char *)fw.p, fw.len);
        if (e->forwarder == NULL) {
            return STRAIN_ENOMEM;
        }
    } else {
        e->address = x->pe->image_base + addr;
    }
    return STRAIN_OK;
}

/*
 * Occurrence counter keyed by a 64-bit value (open addressing, doubling at half load):
 * pefile's repetition heuristics must stay linear on a directory with 65536 entries.
 */
typedef struct counter {
    uint64_t *keys; /* key + 1, 0 = empty */
    uint32_t *counts;
    size_t cap, len;
} counter;

static size_t counter_slot(const counter *c, uint64_t k)
{
    size_t i = (size_t)((k * 0x9e3779b97f4a7c15ull) >> 17) & (c->cap - 1);
    while (c->keys[i] != 0 && c->keys[i] != k + 1) {
        i = (i + 1) & (c->cap - 1);
    }
    return i;
}

/* Counts key once more; returns its new count, or STRAIN_ENOMEM. */
static int64_t counter_add(counter *c, uint64_t k)
{
    if (2 * (c->len + 1) > c->cap) {
        counter n = {NULL, NULL, c->cap ? c->cap * 2 : 64, 0};
        n.keys = calloc(n.cap, sizeof(uint64_t));
        n.counts = calloc(n.cap, sizeof(uint32_t));
        if (n.keys == NULL || n.counts == NULL) {
            free(n.keys);
            free(n.counts);
            return STRAIN_ENOMEM;
        }
        for (size_t i = 0; i < c->cap; i++) {
            if (c->keys[i] != 0) {
                size_t j = counter_slot(&n, c->keys[i] - 1);
                n.keys[j] = c->keys[i];
                n.counts[j] = c->counts[i];
            }
        }
        n.len = c->len;
        free(c->keys);
        free(c->counts);
        *c = n;
    }
    size_t i = counter_slot(c, k);
    if (c->keys[i] == 0) {
        c->keys[i] = k + 1;
        c->len++;
    }
    return ++c->counts[i];
}

static void counter_free(counter *c)
{
    free(c->keys);
    free(c->counts);
    memset(c, 0, sizeof(*c));
}

/* (name, address) as one key: FNV-1a of the name mixed with the address. */
static uint64_t name_addr_key(const char *name, uint64_t addr)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = name; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    }
    return h ^ (addr * 0x9e3779b97f4a7c15ull);
}

int strain_pe__parse_exports(pe_image *pe)
{
    if (pe->n_dirs <= PE_DIR_EXPORT || pe->dirs[PE_DIR_EXPORT].rva == 0) {
        return STRAIN_OK;
    }
    strain_binary *bin = pe->bin;
    exp_ctx x = {pe, pe->dirs[PE_DIR_EXPORT].rva, pe->dirs[PE_DIR_EXPORT].size,
                 STRAIN_VEC_INIT(strain_export)};
    int err = STRAIN_OK;
    uint8_t *named = NULL; /* bitmap: function slots reached through a name */
    counter named_counts = {0}, addr_counts = {0};
    strain_span d;
    if (!strain_pe__rva_span(pe, x.dir_rva, &d) || d.len < PE_EXPDIR_SIZE) {
        return strain_binary__warn(bin, "export directory points outside the file (RVA 0x%x)",
                                   x.dir_rva);
    }
    d.len = PE_EXPDIR_SIZE;
    uint32_t base = 0, n_funcs = 0, n_names = 0, funcs_rva = 0, names_rva = 0, ords_rva = 0;
    strain_span_u32le(d, PE_EXPDIR_BASE_OFF, &base);
    strain_span_u32le(d, PE_EXPDIR_NFUNCS_OFF, &n_funcs);
    strain_span_u32le(d, PE_EXPDIR_NNAMES_OFF, &n_names);
    strain_span_u32le(d, PE_EXPDIR_FUNCS_OFF, &funcs_rva);
    strain_span_u32le(d, PE_EXPDIR_NAMES_OFF, &names_rva);
    strain_span_u32le(d, PE_EXPDIR_ORDS_OFF, &ords_rva);
    strain_span names, ords, funcs;
    if (!export_array(pe, names_rva, (uint64_t)n_names * 4, &names) ||
        !export_array(pe, ords_rva, (uint64_t)n_names * 4, &ords) ||
        !export_array(pe, funcs_rva, (uint64_t)n_funcs * 4, &funcs)) {
        return strain_binary__warn(bin, "export directory arrays point outside the file");
    }

    /* Pass 1: named exports. */
    named = calloc(PE_EXPORT_ORDINAL_SLOTS / 8, 1);
    if (named == NULL) {
        return STRAIN_ENOMEM;
    }
    bool normal = true;
    int failures = PE_EXPORT_MAX_FAILURES;
    uint64_t n = n_names;
    uint64_t safe = safety_entries(pe, names_rva);
    n = n < safe ? n : safe;
    for (uint64_t i = 0; i < n; i++) {
        if (x.out.len >= STRAIN_PE_MAX_EXPORTS) {
            STRAIN_TRY(strain_binary__warn(bin, "more than %u exports: rest ignored",
                                           STRAIN_PE_MAX_EXPORTS));
            break;
        }
        uint16_t ord;
        uint32_t addr = 0, name_rva;
        if (!strain_span_u16le(ords, i * 2, &ord) ||
            !strain_span_u32le(funcs, (uint64_t)ord * 4, &addr)) {
            /* pefile takes a name ordinal outside the function table as "all garbage" */
            STRAIN_TRY(strain_binary__warn(bin,
                                           "export name ordinal %llu points outside the "
                                           "function table: exports dropped",
                                           (unsigned long long)i));
            goto done;
        }
        if (addr == 0) {
            continue;
        }
        uint64_t off;
        if (addr >= x.dir_rva && addr - x.dir_rva < x.dir_size &&
            !strain_pe__rva_to_offset(pe, addr, &off)) {
            continue;
        }
        if (!strain_span_u32le(names, i * 4, &name_rva)) {
            normal = false;
            break;
        }
        strain_span nm;
        strain_pe__rva_string(pe, name_rva, PE_EXPORT_NAME_MAX, &nm);
        if (!valid_export_name(nm)) {
            normal = false;
            break;
        }
        if (!strain_pe__rva_to_offset(pe, name_rva, &off)) {
            failures -= 2; /* pefile retries the lookup once, counting both */
            if (failures <= 0) {
                normal = false;
                break;
            }
            continue;
        }
        char *name = strain_arena_strndup(&bin->arena, (const char *)nm.p, nm.len);
        if (name == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        uint64_t va =
            (addr >= x.dir_rva && addr - x.dir_rva < x.dir_size) ? 0 : pe->image_base + addr;
        int64_t seen = counter_add(&named_counts, name_addr_key(name, va));
        if (seen < 0) {
            err = (int)seen;
            goto done;
        }
        if (seen > PE_EXPORT_MAX_REPEAT_NAMED) {
            STRAIN_TRY(strain_binary__warn(bin,
                                           "export %s repeated more than %d times: "
                                           "directory assumed corrupt",
                                           name, PE_EXPORT_MAX_REPEAT_NAMED));
            break;
        }
        named[ord / 8] |= (uint8_t)(1u << (ord % 8));
        STRAIN_TRY(push_export(&x, name, base + ord, addr));
    }
    if (!normal) {
        STRAIN_TRY(strain_binary__warn(bin,
                                       "export AddressOfNames (RVA 0x%x) points to an "
                                       "invalid address",
                                       names_rva));
    }

    /* Pass 2: exports by ordinal only (function slots no name points at). */
    normal = true;
    failures = PE_EXPORT_MAX_FAILURES;
    n = n_funcs;
    safe = safety_entries(pe, funcs_rva);
    n = n < safe ? n : safe;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t ordinal = base + (uint32_t)i;
        /* name ordinals are 16-bit indexes, so only the first 65536 slots can be named */
        if (i < PE_EXPORT_ORDINAL_SLOTS && (named[i / 8] & (1u << (i % 8))) != 0) {
            continue;
        }
        if (x.out.len >= STRAIN_PE_MAX_EXPORTS) {
            STRAIN_TRY(strain_binary__warn(bin, "more than %u exports: rest ignored",
                                           STRAIN_PE_MAX_EXPORTS));
            break;
        }
        uint32_t addr;
        if (!strain_span_u32le(funcs, i * 4, &addr)) {
            if (--failures <= 0) {
                normal = false;
                break;
            }
            continue;
        }
        if (addr == 0) {
            continue;
        }
        uint64_t va =
            (addr >= x.dir_rva && addr - x.dir_rva < x.dir_size) ? 0 : pe->image_base + addr;
        int64_t seen = counter_add(&addr_counts, va);
        if (seen < 0) {
            err = (int)seen;
            goto done;
        }
        if (seen > PE_EXPORT_MAX_REPEAT_ORDINAL) {
            STRAIN_TRY(strain_binary__warn(bin,
                                           "export address 0x%llx repeated more than %d "
                                           "times: directory assumed corrupt",
                                           (unsigned long long)va, PE_EXPORT_MAX_REPEAT_ORDINAL));
            break;
        }
        STRAIN_TRY(push_export(&x, NULL, ordinal, addr));
    }
    if (!normal) {
        STRAIN_TRY(strain_binary__warn(bin,
                                       "export AddressOfFunctions (RVA 0x%x) points to an "
                                       "invalid address: exports dropped",
                                       funcs_rva));
        goto done;
    }
    for (size_t i = 0; i < x.out.len; i++) {
        strain_export *e = strain_vec_push(&bin->exports);
        if (e == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        *e = *STRAIN_VEC_AT(&x.out, strain_export, i);
    }
done:
    free(named);
    counter_free(&named_counts);
    counter_free(&addr_counts);
    strain_vec_free(&x.out);
    return err;
}
