/*
 * ELF parser, part 2: what the dynamic loader reads. The dynamic table (PT_DYNAMIC, else the
 * SHT_DYNAMIC section) gives the needed libraries, the soname and the VAs of the dynamic
 * symbol, string, hash, version and relocation tables, so elf_symbols.c can find imports and
 * exports even when the section headers are stripped. Also the interpreter (PT_INTERP) and
 * the GNU build-id note.
 */
#include <string.h>

#include "format/elf_impl.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/limits.h"

/* d_tag values (gABI; GNU extensions from glibc's elf.h numbering). */
#define DT_NULL 0u
#define DT_NEEDED 1u
#define DT_PLTRELSZ 2u
#define DT_HASH 4u
#define DT_STRTAB 5u
#define DT_SYMTAB 6u
#define DT_RELA 7u
#define DT_RELASZ 8u
#define DT_RELAENT 9u
#define DT_STRSZ 10u
#define DT_SYMENT 11u
#define DT_SONAME 14u
#define DT_REL 17u
#define DT_RELSZ 18u
#define DT_RELENT 19u
#define DT_PLTREL 20u
#define DT_JMPREL 23u
#define DT_GNU_HASH 0x6ffffef5u
#define DT_VERSYM 0x6ffffff0u
#define DT_VERNEED 0x6ffffffeu
#define DT_VERNEEDNUM 0x6fffffffu

#define NT_GNU_BUILD_ID 3u
#define BUILD_ID_MAX_BYTES 40u /* strain_elf_info.build_id holds 80 hex digits */

static void set_va(elf_dyn_table *t, uint64_t va)
{
    t->present = true;
    t->va = va;
}

/* The dynamic table's bytes: PT_DYNAMIC if any, else an SHT_DYNAMIC section. */
static bool find_dynamic(elf_parser *p, strain_span *out, bool *clipped)
{
    *clipped = false;
    for (size_t i = 0; i < p->n_seg; i++) {
        const strain_segment *g = &p->seg[i];
        if (g->type != ELF_PT_DYNAMIC) {
            continue;
        }
        if (!strain_span_sub(p->f, g->offset, g->filesz, out)) {
            *clipped = true;
            return strain_span_tail(p->f, g->offset, out);
        }
        return true;
    }
    for (size_t i = 1; i < p->n_shdr; i++) {
        const elf_shdr *s = &p->shdr[i];
        if (s->type != ELF_SHT_DYNAMIC) {
            continue;
        }
        if (!strain_span_sub(p->f, s->offset, s->size, out)) {
            *clipped = true;
            return strain_span_tail(p->f, s->offset, out);
        }
        return true;
    }
    return false;
}

/* The dynamic string table: DT_STRTAB mapped through the segments, else the string table the
 * SHT_DYNAMIC (or SHT_DYNSYM) section links to. */
static void find_dynstr(elf_parser *p)
{
    if (strain_elf__dyn_span(p, &p->strtab, &p->dynstr)) {
        return;
    }
    for (size_t i = 1; i < p->n_shdr; i++) {
        const elf_shdr *s = &p->shdr[i];
        if ((s->type == ELF_SHT_DYNAMIC || s->type == ELF_SHT_DYNSYM) && s->link < p->n_shdr) {
            const elf_shdr *st = &p->shdr[s->link];
            if (st->type == ELF_SHT_STRTAB &&
                (strain_span_sub(p->f, st->offset, st->size, &p->dynstr) ||
                 strain_span_tail(p->f, st->offset, &p->dynstr))) {
                return;
            }
        }
    }
}

int strain_elf__parse_dynamic(elf_parser *p)
{
    strain_binary *b = p->bin;
    int err = STRAIN_OK;
    strain_span dyn;
    bool clipped;
    if (!find_dynamic(p, &dyn, &clipped)) {
        return STRAIN_OK;
    }
    p->has_dynamic = true;
    if (clipped) {
        STRAIN_TRY(strain_binary__warn(b, "dynamic table extends past the end of the file"));
    }
    uint64_t ent = p->is64 ? 16 : 8, half = ent / 2;
    uint64_t n = dyn.len / ent;
    if (n > STRAIN_ELF_MAX_DYNAMIC) {
        STRAIN_TRY(strain_binary__warn(b, "dynamic table of %llu entries, only %u are read",
                                       (unsigned long long)n, STRAIN_ELF_MAX_DYNAMIC));
        n = STRAIN_ELF_MAX_DYNAMIC;
    }
    /* Needed offsets are collected first, resolved once DT_STRTAB is known (it may come
     * after them). Count them in a first pass so the array is allocated once. */
    size_t n_needed = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t tag = 0;
        elf_word(p, dyn, k * ent, &tag);
        if (tag == DT_NULL) {
            break;
        }
        n_needed += tag == DT_NEEDED;
    }
    if (n_needed > STRAIN_ELF_MAX_NEEDED) {
        STRAIN_TRY(strain_binary__warn(b, "%zu DT_NEEDED entries, only %u are read", n_needed,
                                       STRAIN_ELF_MAX_NEEDED));
        n_needed = STRAIN_ELF_MAX_NEEDED;
    }
    if (n_needed > 0) {
        p->needed_off = strain_arena_array(&b->arena, n_needed, sizeof(uint64_t));
        if (p->needed_off == NULL) {
            return STRAIN_ENOMEM;
        }
    }
    for (uint64_t k = 0; k < n; k++) {
        uint64_t tag = 0, val = 0;
        elf_word(p, dyn, k * ent, &tag);
        elf_word(p, dyn, k * ent + half, &val);
        switch (tag) {
        case DT_NULL: k = n; break;
        case DT_NEEDED:
            if (p->n_needed_off < n_needed) {
                p->needed_off[p->n_needed_off++] = val;
            }
            break;
        case DT_SONAME:
            p->has_soname = true;
            p->soname_off = val;
            break;
        case DT_STRTAB: set_va(&p->strtab, val); break;
        case DT_STRSZ: p->strtab.size = val; break;
        case DT_SYMTAB: set_va(&p->symtab, val); break;
        case DT_SYMENT: p->syment = val; break;
        case DT_HASH: set_va(&p->hash, val); break;
        case DT_GNU_HASH: set_va(&p->gnu_hash, val); break;
        case DT_VERSYM: set_va(&p->versym, val); break;
        case DT_VERNEED: set_va(&p->verneed, val); break;
        case DT_VERNEEDNUM: p->verneednum = val; break;
        case DT_RELA: set_va(&p->rela, val); break;
        case DT_RELASZ: p->rela.size = val; break;
        case DT_RELAENT: p->rela.ent = val; break;
        case DT_REL: set_va(&p->rel, val); break;
        case DT_RELSZ: p->rel.size = val; break;
        case DT_RELENT: p->rel.ent = val; break;
        case DT_JMPREL: set_va(&p->jmprel, val); break;
        case DT_PLTRELSZ: p->jmprel.size = val; break;
        case DT_PLTREL: p->pltrel = val; break;
        default: break;
        }
    }
    find_dynstr(p);
    if (p->dynstr.len == 0 && (p->n_needed_off > 0 || p->has_soname)) {
        STRAIN_TRY(strain_binary__warn(b, "dynamic string table not found in the file"));
    }
    const char **needed = NULL;
    if (p->n_needed_off > 0) {
        needed = strain_arena_array(&b->arena, p->n_needed_off, sizeof(*needed));
        if (needed == NULL) {
            return STRAIN_ENOMEM;
        }
    }
    size_t n_out = 0;
    for (size_t k = 0; k < p->n_needed_off; k++) {
        const char *s = NULL;
        STRAIN_TRY(strain_elf__str(p, p->dynstr, p->needed_off[k], "DT_NEEDED", &s));
        if (s == NULL) {
            if (p->dynstr.len > 0) {
                STRAIN_TRY(strain_binary__warn(b, "DT_NEEDED string offset 0x%llx out of range",
                                               (unsigned long long)p->needed_off[k]));
            }
            continue;
        }
        needed[n_out++] = s;
    }
    b->info.elf.needed = needed;
    b->info.elf.n_needed = n_out;
    if (p->has_soname) {
        STRAIN_TRY(strain_elf__str(p, p->dynstr, p->soname_off, "DT_SONAME", &b->info.elf.soname));
        if (b->info.elf.soname == NULL && p->dynstr.len > 0) {
            STRAIN_TRY(strain_binary__warn(b, "DT_SONAME string offset 0x%llx out of range",
                                           (unsigned long long)p->soname_off));
        }
    }
done:
    return err;
}

static int set_interp(elf_parser *p, uint64_t off, uint64_t size)
{
    strain_span s;
    if (!strain_span_sub(p->f, off, size, &s)) {
        if (!strain_span_tail(p->f, off, &s)) {
            return strain_binary__warn(p->bin, "interpreter path lies outside the file");
        }
        int err = strain_binary__warn(p->bin, "interpreter path is truncated");
        if (err < 0) {
            return err;
        }
    }
    const uint8_t *nul = memchr(s.p, 0, s.len);
    size_t n = nul != NULL ? (size_t)(nul - s.p) : s.len;
    if (n > STRAIN_MAX_NAME_LEN) {
        n = STRAIN_MAX_NAME_LEN;
    }
    p->bin->info.elf.interpreter = strain_arena_strndup(&p->bin->arena, (const char *)s.p, n);
    return p->bin->info.elf.interpreter != NULL ? STRAIN_OK : STRAIN_ENOMEM;
}

int strain_elf__parse_interp(elf_parser *p)
{
    for (size_t i = 0; i < p->n_seg; i++) {
        if (p->seg[i].type == ELF_PT_INTERP) {
            return set_interp(p, p->seg[i].offset, p->seg[i].filesz);
        }
    }
    return STRAIN_OK;
}

/*
 * Walks one note table: {namesz, descsz, type} then name and desc, each starting at an offset
 * aligned to the table's alignment (4, or 8 for note segments such as .note.gnu.property's).
 */
static int scan_notes(elf_parser *p, strain_span t, uint64_t align, bool *found)
{
    uint64_t pad = align == 8 ? 8 : 4;
    uint64_t off = 0;
    while (p->notes_left > 0) {
        p->notes_left--;
        uint32_t namesz, descsz, type;
        if (!elf_u32(p, t, off, &namesz) || !elf_u32(p, t, off + 4, &descsz) ||
            !elf_u32(p, t, off + 8, &type)) {
            return STRAIN_OK;
        }
        uint64_t name_off = off + 12;
        /* Offsets, not sizes, are padded: with 8-byte alignment the 12-byte header is
         * followed directly by the name, and the descriptor starts at the next multiple. */
        uint64_t desc_off = (name_off + namesz + pad - 1) & ~(pad - 1);
        uint64_t next = (desc_off + descsz + pad - 1) & ~(pad - 1);
        if (!strain_span_has(t, desc_off, descsz)) {
            return strain_binary__warn(p->bin, "note extends past its table");
        }
        if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(t.p + name_off, "GNU", 4) == 0) {
            if (descsz > BUILD_ID_MAX_BYTES || descsz == 0) {
                return strain_binary__warn(p->bin, "build-id note of %u bytes ignored", descsz);
            }
            strain_hex_encode(p->bin->info.elf.build_id, t.p + desc_off, descsz);
            *found = true;
            return STRAIN_OK;
        }
        off = next;
    }
    return strain_binary__warn(p->bin, "more than %u notes: the rest are not read",
                               STRAIN_ELF_MAX_NOTES);
}

int strain_elf__parse_notes(elf_parser *p)
{
    bool found = false;
    p->notes_left = STRAIN_ELF_MAX_NOTES;
    int err = STRAIN_OK;
    for (size_t i = 0; i < p->n_seg && !found && p->notes_left > 0; i++) {
        const strain_segment *g = &p->seg[i];
        strain_span t;
        if (g->type != ELF_PT_NOTE) {
            continue;
        }
        if (!strain_span_sub(p->f, g->offset, g->filesz, &t) &&
            !strain_span_tail(p->f, g->offset, &t)) {
            continue; /* already warned about by the segment reader */
        }
        STRAIN_TRY(scan_notes(p, t, p->seg_align[i], &found));
    }
    for (size_t i = 1; i < p->n_shdr && !found && p->notes_left > 0; i++) {
        const elf_shdr *s = &p->shdr[i];
        strain_span t;
        if (s->type != ELF_SHT_NOTE) {
            continue;
        }
        if (!strain_span_sub(p->f, s->offset, s->size, &t) &&
            !strain_span_tail(p->f, s->offset, &t)) {
            continue;
        }
        STRAIN_TRY(scan_notes(p, t, s->align, &found));
    }
done:
    return err;
}
