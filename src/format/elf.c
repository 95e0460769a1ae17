/*
 * ELF parser, part 1: the file header, section headers and program headers (ELF32/ELF64,
 * either byte order, per the System V gABI), and the helpers the other parts share (VA
 * mapping, string tables). The dynamic table and notes are in elf_dynamic.c, symbol tables in
 * elf_symbols.c, imports and exports in elf_imports.c.
 *
 * Program headers are read first and trusted over sections: they are what the loader uses, and
 * stripped or damaged samples often have no usable section table at all. Every table is
 * clipped to the file with a warning rather than refused, so a truncated sample still yields
 * what it has.
 */
#include <string.h>

#include "format/elf_impl.h"
#include "util/entropy.h"
#include "util/err.h"
#include "util/limits.h"

/* e_ident */
#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELFDATA2MSB 2

/* File header field offsets (ELF32 / ELF64). */
#define EH_TYPE_OFF 16
#define EH_MACHINE_OFF 18
#define EH_ENTRY_OFF 24
#define EH32_PHOFF_OFF 28
#define EH32_SHOFF_OFF 32
#define EH32_PHENTSIZE_OFF 42
#define EH32_SIZE 52
#define EH64_PHOFF_OFF 32
#define EH64_SHOFF_OFF 40
#define EH64_PHENTSIZE_OFF 54
#define EH64_SIZE 64
/* e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx follow e_phentsize, 2 bytes each. */

#define SHDR32_SIZE 40u
#define SHDR64_SIZE 64u
#define PHDR32_SIZE 32u
#define PHDR64_SIZE 56u

#define SHN_UNDEF 0u
#define SHN_LORESERVE 0xff00u
#define SHN_XINDEX 0xffffu
#define PN_XNUM 0xffffu

#define SHF_WRITE 0x1u
#define SHF_ALLOC 0x2u
#define SHF_EXECINSTR 0x4u
#define PF_X 0x1u
#define PF_W 0x2u
#define PF_R 0x4u

static bool range_off(uint64_t va, uint64_t vaddr, uint64_t filesz, uint64_t offset, strain_span f,
                      uint64_t *off, uint64_t *avail)
{
    if (va < vaddr || va - vaddr >= filesz) {
        return false;
    }
    uint64_t o;
    if (!strain_add_u64(offset, va - vaddr, &o) || o >= f.len) {
        return false;
    }
    uint64_t left = filesz - (va - vaddr);
    uint64_t in_file = f.len - o;
    *off = o;
    *avail = left < in_file ? left : in_file;
    return true;
}

bool strain_elf__va_to_off(const elf_parser *p, uint64_t va, uint64_t *off, uint64_t *avail)
{
    for (size_t i = 0; i < p->n_seg; i++) {
        const strain_segment *g = &p->seg[i];
        if (g->type == ELF_PT_LOAD &&
            range_off(va, g->vaddr, g->filesz, g->offset, p->f, off, avail)) {
            return true;
        }
    }
    for (size_t i = 1; i < p->n_shdr; i++) {
        const elf_shdr *s = &p->shdr[i];
        if ((s->flags & SHF_ALLOC) && s->type != ELF_SHT_NOBITS &&
            range_off(va, s->addr, s->size, s->offset, p->f, off, avail)) {
            return true;
        }
    }
    return false;
}

bool strain_elf__dyn_span(const elf_parser *p, const elf_dyn_table *t, strain_span *out)
{
    uint64_t off, avail;
    if (!t->present || !strain_elf__va_to_off(p, t->va, &off, &avail)) {
        return false;
    }
    uint64_t n = t->size != 0 && t->size < avail ? t->size : avail;
    return strain_span_sub(p->f, off, n, out);
}

int strain_elf__str(elf_parser *p, strain_span tab, uint64_t off, const char *what,
                    const char **out)
{
    *out = NULL;
    if (off >= tab.len) {
        return STRAIN_OK;
    }
    /* The NUL is looked for within the name cap only: a table without NULs must not cost a
     * scan to its end for each of millions of symbols. */
    const char *s = (const char *)tab.p + off;
    size_t left = tab.len - (size_t)off;
    size_t window = left < STRAIN_MAX_NAME_LEN + 1 ? left : STRAIN_MAX_NAME_LEN + 1;
    const char *nul = memchr(s, 0, window);
    if (nul != NULL) {
        *out = s; /* terminated inside the table: borrow the file bytes */
        return STRAIN_OK;
    }
    /* Unterminated or overlong: an arena copy, within a budget so that a hostile table of
     * millions of such names cannot take gigabytes. */
    if (p->name_copies >= STRAIN_ELF_MAX_NAME_COPIES) {
        *out = "";
        return STRAIN_OK; /* the warning below was given when the budget ran out */
    }
    size_t n = window < STRAIN_MAX_NAME_LEN ? window : STRAIN_MAX_NAME_LEN;
    int err =
        window > STRAIN_MAX_NAME_LEN
            ? strain_binary__warn(p->bin, "%s name longer than %u bytes, truncated", what,
                                  STRAIN_MAX_NAME_LEN)
            : strain_binary__warn(p->bin, "%s name runs past the end of its string table", what);
    if (err < 0) {
        return err;
    }
    if (++p->name_copies == STRAIN_ELF_MAX_NAME_COPIES) {
        err = strain_binary__warn(p->bin,
                                  "%u unterminated or overlong names: later ones are left "
                                  "empty",
                                  STRAIN_ELF_MAX_NAME_COPIES);
        if (err < 0) {
            return err;
        }
    }
    *out = strain_arena_strndup(&p->bin->arena, s, n);
    return *out != NULL ? STRAIN_OK : STRAIN_ENOMEM;
}

static strain_arch arch_of(uint16_t machine)
{
    switch (machine) {
    case 0: return STRAIN_ARCH_UNKNOWN;
    case ELF_EM_386: return STRAIN_ARCH_X86;
    case ELF_EM_X86_64: return STRAIN_ARCH_X64;
    case ELF_EM_ARM: return STRAIN_ARCH_ARM;
    case ELF_EM_AARCH64: return STRAIN_ARCH_ARM64;
    default: return STRAIN_ARCH_OTHER;
    }
}

static uint32_t seg_flags(uint32_t pf)
{
    return ((pf & PF_X) ? STRAIN_SECTION_EXEC : 0) | ((pf & PF_W) ? STRAIN_SECTION_WRITE : 0) |
           ((pf & PF_R) ? STRAIN_SECTION_READ : 0);
}

/* The header fields the parts below need, widened. */
typedef struct elf_header {
    uint16_t type;
    uint64_t entry, phoff, shoff;
    uint16_t phentsize, phnum, shentsize, shnum, shstrndx;
} elf_header;

static bool read_header(elf_parser *p, elf_header *h)
{
    strain_span f = p->f;
    uint64_t phent_off = p->is64 ? EH64_PHENTSIZE_OFF : EH32_PHENTSIZE_OFF;
    return elf_u16(p, f, EH_TYPE_OFF, &h->type) && elf_u16(p, f, EH_MACHINE_OFF, &p->machine) &&
           elf_word(p, f, EH_ENTRY_OFF, &h->entry) &&
           elf_word(p, f, p->is64 ? EH64_PHOFF_OFF : EH32_PHOFF_OFF, &h->phoff) &&
           elf_word(p, f, p->is64 ? EH64_SHOFF_OFF : EH32_SHOFF_OFF, &h->shoff) &&
           elf_u16(p, f, phent_off, &h->phentsize) && elf_u16(p, f, phent_off + 2, &h->phnum) &&
           elf_u16(p, f, phent_off + 4, &h->shentsize) && elf_u16(p, f, phent_off + 6, &h->shnum) &&
           elf_u16(p, f, phent_off + 8, &h->shstrndx);
}

/* One section header at off (stride checked by the caller). */
static bool read_shdr(const elf_parser *p, uint64_t off, elf_shdr *s)
{
    strain_span f = p->f;
    if (p->is64) {
        return elf_u32(p, f, off, &s->name) && elf_u32(p, f, off + 4, &s->type) &&
               elf_u64(p, f, off + 8, &s->flags) && elf_u64(p, f, off + 16, &s->addr) &&
               elf_u64(p, f, off + 24, &s->offset) && elf_u64(p, f, off + 32, &s->size) &&
               elf_u32(p, f, off + 40, &s->link) && elf_u32(p, f, off + 44, &s->info) &&
               elf_u64(p, f, off + 48, &s->align) && elf_u64(p, f, off + 56, &s->entsize);
    }
    uint32_t flags, addr, offset, size, align, entsize;
    if (!(elf_u32(p, f, off, &s->name) && elf_u32(p, f, off + 4, &s->type) &&
          elf_u32(p, f, off + 8, &flags) && elf_u32(p, f, off + 12, &addr) &&
          elf_u32(p, f, off + 16, &offset) && elf_u32(p, f, off + 20, &size) &&
          elf_u32(p, f, off + 24, &s->link) && elf_u32(p, f, off + 28, &s->info) &&
          elf_u32(p, f, off + 32, &align) && elf_u32(p, f, off + 36, &entsize))) {
        return false;
    }
    s->flags = flags;
    s->addr = addr;
    s->offset = offset;
    s->size = size;
    s->align = align;
    s->entsize = entsize;
    return true;
}

/*
 * Reads the section header table. Extended numbering (gABI): with more than SHN_LORESERVE
 * sections, e_shnum is 0 and the count lives in section 0's sh_size; e_shstrndx is SHN_XINDEX
 * and the index lives in its sh_link; e_phnum PN_XNUM defers to its sh_info.
 */
static int read_sections(elf_parser *p, const elf_header *h, uint32_t *phnum)
{
    strain_binary *b = p->bin;
    uint64_t want = p->is64 ? SHDR64_SIZE : SHDR32_SIZE;
    *phnum = h->phnum;
    if (h->shoff == 0) {
        if (h->shnum != 0) {
            return strain_binary__warn(b, "e_shnum is %u but there is no section header table",
                                       h->shnum);
        }
        return STRAIN_OK;
    }
    if (h->shentsize < want) {
        return strain_binary__warn(b, "section header entry size %u is smaller than %u",
                                   h->shentsize, (unsigned)want);
    }
    uint64_t stride = h->shentsize;
    elf_shdr s0;
    memset(&s0, 0, sizeof(s0));
    if (!read_shdr(p, h->shoff, &s0)) {
        return strain_binary__warn(b,
                                   "section header table points outside the file "
                                   "(offset 0x%llx)",
                                   (unsigned long long)h->shoff);
    }
    uint64_t count = h->shnum;
    if (count == 0) {
        count = s0.size;
    }
    uint64_t strndx = h->shstrndx == SHN_XINDEX ? s0.link : h->shstrndx;
    if (h->phnum == PN_XNUM) {
        *phnum = s0.info;
    }
    if (count > STRAIN_ELF_MAX_SECTIONS) {
        int err = strain_binary__warn(b, "%llu section headers, only the first %u are read",
                                      (unsigned long long)count, STRAIN_ELF_MAX_SECTIONS);
        if (err < 0) {
            return err;
        }
        count = STRAIN_ELF_MAX_SECTIONS;
    }
    /* Entries that fit in the file; a truncated table keeps its readable prefix. */
    uint64_t fit = 0;
    if (h->shoff < p->f.len) {
        fit = (p->f.len - h->shoff) / stride;
    }
    if (fit < count) {
        int err = strain_binary__warn(b,
                                      "section header table points outside the file: %llu of "
                                      "%llu entries readable",
                                      (unsigned long long)fit, (unsigned long long)count);
        if (err < 0) {
            return err;
        }
        count = fit;
    }
    if (count == 0) {
        return STRAIN_OK;
    }
    p->shdr = strain_arena_array(&b->arena, (size_t)count, sizeof(elf_shdr));
    if (p->shdr == NULL) {
        return STRAIN_ENOMEM;
    }
    for (uint64_t i = 0; i < count; i++) {
        read_shdr(p, h->shoff + i * stride, &p->shdr[i]); /* fits: checked above */
    }
    p->n_shdr = (size_t)count;
    if (strndx == SHN_UNDEF) {
        return STRAIN_OK;
    }
    if (strndx >= p->n_shdr) {
        return strain_binary__warn(b, "section name table index %llu out of range (%zu sections)",
                                   (unsigned long long)strndx, p->n_shdr);
    }
    const elf_shdr *st = &p->shdr[strndx];
    if (st->type == ELF_SHT_NOBITS) {
        return strain_binary__warn(b, "section name table has no file bytes");
    }
    if (!strain_span_sub(p->f, st->offset, st->size, &p->shstrtab)) {
        if (strain_span_tail(p->f, st->offset, &p->shstrtab)) {
            return strain_binary__warn(b, "section name table is truncated");
        }
        p->shstrtab = strain_span_make(NULL, 0);
        return strain_binary__warn(b, "section name table lies outside the file");
    }
    return STRAIN_OK;
}

/* Publishes the section headers (index 0, the reserved null entry, is left out). */
static int publish_sections(elf_parser *p)
{
    strain_binary *b = p->bin;
    int err = STRAIN_OK;
    /* Entropy reads each section's bytes: sections that all cover the whole file would make
     * that quadratic, so the bytes read are bounded by a multiple of the file size. */
    uint64_t budget = (uint64_t)p->f.len * STRAIN_ELF_ENTROPY_FILE_FACTOR;
    bool budget_warned = false;
    for (size_t i = 1; i < p->n_shdr; i++) {
        const elf_shdr *sh = &p->shdr[i];
        strain_section *s = strain_vec_push(&b->sections);
        if (s == NULL) {
            return STRAIN_ENOMEM;
        }
        STRAIN_TRY(strain_elf__str(p, p->shstrtab, sh->name, "section", &s->name));
        if (s->name == NULL) {
            if (p->shstrtab.len > 0) {
                STRAIN_TRY(strain_binary__warn(b, "section %zu name offset 0x%x out of range", i,
                                               sh->name));
            }
            s->name = "";
        }
        s->vaddr = sh->addr;
        s->vsize = sh->size;
        s->raw_offset = sh->offset;
        s->characteristics = sh->flags;
        s->flags = ((sh->flags & SHF_ALLOC) ? STRAIN_SECTION_READ : 0) |
                   ((sh->flags & SHF_WRITE) ? STRAIN_SECTION_WRITE : 0) |
                   ((sh->flags & SHF_EXECINSTR) ? STRAIN_SECTION_EXEC : 0);
        if (sh->type == ELF_SHT_NOBITS || sh->type == ELF_SHT_NULL) {
            continue; /* occupies no file bytes */
        }
        uint64_t size = sh->size;
        if (!strain_span_has(p->f, sh->offset, size)) {
            size = sh->offset < p->f.len ? p->f.len - sh->offset : 0;
            STRAIN_TRY(strain_binary__warn(b,
                                           "section %s (offset 0x%llx, size 0x%llx) extends past "
                                           "the end of the file",
                                           s->name, (unsigned long long)sh->offset,
                                           (unsigned long long)sh->size));
        }
        s->raw_size = size;
        if (size > budget) {
            if (!budget_warned) {
                STRAIN_TRY(strain_binary__warn(b,
                                               "sections overlap beyond %ux the file size: "
                                               "entropy of section %s and later not computed",
                                               STRAIN_ELF_ENTROPY_FILE_FACTOR, s->name));
                budget_warned = true;
            }
            budget = 0;
        } else if (size > 0) {
            budget -= size;
            s->entropy = strain_entropy(p->f.p + sh->offset, (size_t)size);
        }
    }
done:
    return err;
}

static int read_segments(elf_parser *p, const elf_header *h, uint32_t phnum)
{
    strain_binary *b = p->bin;
    uint64_t want = p->is64 ? PHDR64_SIZE : PHDR32_SIZE;
    int err = STRAIN_OK;
    if (h->phoff == 0 || phnum == 0) {
        return STRAIN_OK;
    }
    if (h->phentsize < want) {
        return strain_binary__warn(b, "program header entry size %u is smaller than %u",
                                   h->phentsize, (unsigned)want);
    }
    uint64_t count = phnum;
    if (count > STRAIN_ELF_MAX_SEGMENTS) {
        STRAIN_TRY(strain_binary__warn(b, "%llu program headers, only the first %u are read",
                                       (unsigned long long)count, STRAIN_ELF_MAX_SEGMENTS));
        count = STRAIN_ELF_MAX_SEGMENTS;
    }
    uint64_t fit = h->phoff < p->f.len ? (p->f.len - h->phoff) / h->phentsize : 0;
    if (fit < count) {
        STRAIN_TRY(strain_binary__warn(b,
                                       "program header table points outside the file: %llu of "
                                       "%llu entries readable",
                                       (unsigned long long)fit, (unsigned long long)count));
        count = fit;
    }
    if (count == 0) {
        return STRAIN_OK;
    }
    p->seg = strain_arena_array(&b->arena, (size_t)count, sizeof(strain_segment));
    p->seg_align = strain_arena_array(&b->arena, (size_t)count, sizeof(uint64_t));
    if (p->seg == NULL || p->seg_align == NULL) {
        return STRAIN_ENOMEM;
    }
    strain_span f = p->f;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t o = h->phoff + i * h->phentsize;
        strain_segment *g = &p->seg[i];
        uint32_t pf = 0;
        if (p->is64) {
            elf_u32(p, f, o, &g->type);
            elf_u32(p, f, o + 4, &pf);
            elf_u64(p, f, o + 8, &g->offset);
            elf_u64(p, f, o + 16, &g->vaddr);
            elf_u64(p, f, o + 32, &g->filesz);
            elf_u64(p, f, o + 40, &g->memsz);
            elf_u64(p, f, o + 48, &p->seg_align[i]);
        } else {
            uint32_t off32 = 0, va32 = 0, fsz32 = 0, msz32 = 0, al32 = 0;
            elf_u32(p, f, o, &g->type);
            elf_u32(p, f, o + 4, &off32);
            elf_u32(p, f, o + 8, &va32);
            elf_u32(p, f, o + 16, &fsz32);
            elf_u32(p, f, o + 20, &msz32);
            elf_u32(p, f, o + 24, &pf);
            elf_u32(p, f, o + 28, &al32);
            p->seg_align[i] = al32;
            g->offset = off32;
            g->vaddr = va32;
            g->filesz = fsz32;
            g->memsz = msz32;
        }
        g->flags = seg_flags(pf);
        if (g->filesz > 0 && !strain_span_has(f, g->offset, g->filesz)) {
            STRAIN_TRY(strain_binary__warn(b,
                                           "segment %llu (offset 0x%llx, size 0x%llx) extends "
                                           "past the end of the file",
                                           (unsigned long long)i, (unsigned long long)g->offset,
                                           (unsigned long long)g->filesz));
        }
    }
    p->n_seg = (size_t)count;
    b->info.elf.segments = p->seg;
    b->info.elf.n_segments = p->n_seg;
done:
    return err;
}

/* Image base = lowest PT_LOAD address; overlay = file bytes no header, section or segment
 * claims (payloads appended to an executable). */
static void layout(elf_parser *p, const elf_header *h)
{
    strain_binary_info *i = &p->bin->info;
    bool have_load = false;
    uint64_t end = p->is64 ? EH64_SIZE : EH32_SIZE;
    for (size_t k = 0; k < p->n_seg; k++) {
        const strain_segment *g = &p->seg[k];
        if (g->type == ELF_PT_LOAD && (!have_load || g->vaddr < i->image_base)) {
            i->image_base = g->vaddr;
            have_load = true;
        }
        uint64_t e;
        if (strain_add_u64(g->offset, g->filesz, &e) && e > end) {
            end = e;
        }
    }
    for (size_t k = 1; k < p->n_shdr; k++) {
        const elf_shdr *s = &p->shdr[k];
        uint64_t e;
        if (s->type != ELF_SHT_NOBITS && strain_add_u64(s->offset, s->size, &e) && e > end) {
            end = e;
        }
    }
    uint64_t e;
    if (p->n_seg > 0 && strain_add_u64(h->phoff, (uint64_t)p->n_seg * h->phentsize, &e) &&
        e > end) {
        end = e;
    }
    if (p->n_shdr > 0 && strain_add_u64(h->shoff, (uint64_t)p->n_shdr * h->shentsize, &e) &&
        e > end) {
        end = e;
    }
    if (end < p->f.len) {
        i->overlay_offset = end;
        i->overlay_size = p->f.len - end;
    }
}

int strain_elf__parse(strain_binary *bin)
{
    strain_span f = bin->file;
    uint8_t cls = 0, data = 0;
    if (!strain_span_has(f, 0, 4) || memcmp(f.p,
                                            "\x7f"
                                            "ELF",
                                            4) != 0) {
        return STRAIN_EFORMAT;
    }
    strain_span_u8(f, EI_CLASS, &cls);
    strain_span_u8(f, EI_DATA, &data);
    if ((cls != ELFCLASS32 && cls != ELFCLASS64) || (data != ELFDATA2LSB && data != ELFDATA2MSB)) {
        return STRAIN_EFORMAT; /* not an ELF we can read: raw */
    }
    elf_parser p;
    memset(&p, 0, sizeof(p));
    p.bin = bin;
    p.f = f;
    p.is64 = cls == ELFCLASS64;
    p.be = data == ELFDATA2MSB;
    strain_binary_info *i = &bin->info;
    i->format = p.is64 ? STRAIN_FORMAT_ELF64 : STRAIN_FORMAT_ELF32;
    i->elf.big_endian = p.be;
    int err = STRAIN_OK;
    elf_header h;
    memset(&h, 0, sizeof(h));
    if (!read_header(&p, &h)) {
        return strain_binary__warn(bin, "file header truncated (%zu bytes)", f.len);
    }
    i->elf.type = h.type;
    i->elf.machine = p.machine;
    i->arch = arch_of(p.machine);
    i->entry = h.entry;
    i->has_entry = h.entry != 0;
    uint32_t phnum = h.phnum;
    STRAIN_TRY(read_sections(&p, &h, &phnum));
    STRAIN_TRY(read_segments(&p, &h, phnum));
    STRAIN_TRY(publish_sections(&p));
    layout(&p, &h);
    STRAIN_TRY(strain_elf__parse_interp(&p));
    STRAIN_TRY(strain_elf__parse_dynamic(&p));
    STRAIN_TRY(strain_elf__parse_notes(&p));
    STRAIN_TRY(strain_elf__parse_symbols(&p));
done:
    return err;
}
