/*
 * Private state shared by the ELF parser's files: elf.c (header, sections, segments),
 * elf_dynamic.c (dynamic table, interpreter, notes) and elf_symbols.c (symbol tables, imports,
 * exports, versions, relocations). One parse fills one elf_parser; every table it points at
 * was bounds-checked against the file when it was recorded, and is re-checked on each read.
 */
#ifndef STRAIN_FORMAT_ELF_IMPL_H
#define STRAIN_FORMAT_ELF_IMPL_H

#include "format/binary_impl.h"

/* e_type, sh_type, p_type and d_tag values used across the files (System V gABI). */
#define ELF_SHT_NULL 0u
#define ELF_SHT_PROGBITS 1u
#define ELF_SHT_SYMTAB 2u
#define ELF_SHT_STRTAB 3u
#define ELF_SHT_RELA 4u
#define ELF_SHT_HASH 5u
#define ELF_SHT_DYNAMIC 6u
#define ELF_SHT_NOTE 7u
#define ELF_SHT_NOBITS 8u
#define ELF_SHT_REL 9u
#define ELF_SHT_DYNSYM 11u
#define ELF_SHT_GNU_VERNEED 0x6ffffffeu
#define ELF_SHT_GNU_VERSYM 0x6fffffffu

#define ELF_PT_LOAD 1u
#define ELF_PT_DYNAMIC 2u
#define ELF_PT_INTERP 3u
#define ELF_PT_NOTE 4u

#define ELF_EM_386 3u
#define ELF_EM_PPC 20u
#define ELF_EM_PPC64 21u
#define ELF_EM_ARM 40u
#define ELF_EM_X86_64 62u
#define ELF_EM_AARCH64 183u

/* One section header, as read (names resolved later). */
typedef struct elf_shdr {
    uint32_t name;
    uint32_t type;
    uint64_t flags;
    uint64_t addr;
    uint64_t offset;
    uint64_t size;
    uint32_t link;
    uint32_t info;
    uint64_t align;
    uint64_t entsize;
} elf_shdr;

/* A table of the file located by the dynamic segment (a VA mapped to a file span). */
typedef struct elf_dyn_table {
    bool present;
    uint64_t va;
    uint64_t size; /* bytes; 0 when the dynamic table did not say */
    uint64_t ent;  /* entry size; 0 when not given */
} elf_dyn_table;

typedef struct elf_parser {
    strain_binary *bin;
    strain_span f; /* the whole file */
    bool be;
    bool is64;
    uint16_t machine;

    /* Section headers (arena array; index 0 included). */
    size_t n_shdr;
    elf_shdr *shdr;
    strain_span shstrtab; /* empty when unreadable */

    /* Program headers (arena array of the published model). */
    size_t n_seg;
    strain_segment *seg;
    uint64_t *seg_align; /* p_align of each (note tables pad to it) */

    /* The dynamic table, from PT_DYNAMIC (or the SHT_DYNAMIC section). */
    bool has_dynamic;
    elf_dyn_table strtab, symtab, hash, gnu_hash, versym, verneed, rela, rel, jmprel;
    uint64_t syment;
    uint64_t verneednum;
    uint64_t pltrel; /* DT_PLTREL: ELF_DT_REL or ELF_DT_RELA */
    size_t n_needed_off;
    uint64_t *needed_off; /* DT_NEEDED string offsets (arena) */
    bool has_soname;
    uint64_t soname_off;
    strain_span dynstr;  /* the dynamic string table, empty when not found */
    size_t name_copies;  /* unterminated/overlong names copied so far */
    unsigned notes_left; /* notes still to read across all note tables */
} elf_parser;

#define ELF_DT_RELA 7u
#define ELF_DT_REL 17u

/* Endian- and class-aware readers; false when the read does not fit. */
static inline bool elf_u16(const elf_parser *p, strain_span s, uint64_t off, uint16_t *out)
{
    return strain_span_u16(s, off, p->be, out);
}
static inline bool elf_u32(const elf_parser *p, strain_span s, uint64_t off, uint32_t *out)
{
    return strain_span_u32(s, off, p->be, out);
}
static inline bool elf_u64(const elf_parser *p, strain_span s, uint64_t off, uint64_t *out)
{
    return strain_span_u64(s, off, p->be, out);
}
/* An address-sized word: 4 bytes in ELF32, 8 in ELF64, widened. */
static inline bool elf_word(const elf_parser *p, strain_span s, uint64_t off, uint64_t *out)
{
    if (p->is64) {
        return elf_u64(p, s, off, out);
    }
    uint32_t v;
    if (!elf_u32(p, s, off, &v)) {
        return false;
    }
    *out = v;
    return true;
}

/*
 * Maps a VA to a file offset through the PT_LOAD segments (what the loader maps), else the
 * allocated sections. *avail gets the file-backed bytes from there to the end of the range
 * (clipped to the file). False when the VA is not backed by file bytes.
 */
bool strain_elf__va_to_off(const elf_parser *p, uint64_t va, uint64_t *off, uint64_t *avail);

/* The file bytes of table t (a VA from the dynamic table), clipped to its mapping. */
bool strain_elf__dyn_span(const elf_parser *p, const elf_dyn_table *t, strain_span *out);

/*
 * A NUL-terminated string at off in the string table tab: points into the file when the NUL
 * is inside the table, else an arena copy (truncated, with a warning naming what). *out is
 * NULL when off is outside the table. Returns 0 or STRAIN_ENOMEM.
 */
int strain_elf__str(elf_parser *p, strain_span tab, uint64_t off, const char *what,
                    const char **out);

/* elf_dynamic.c: dynamic table, DT_NEEDED/DT_SONAME, PT_INTERP, build-id notes. */
int strain_elf__parse_dynamic(elf_parser *p);
int strain_elf__parse_interp(elf_parser *p);
int strain_elf__parse_notes(elf_parser *p);

/* Symbol st_info/st_shndx values (gABI). */
#define ELF_STT_OBJECT 1u
#define ELF_STT_FUNC 2u
#define ELF_STT_SECTION 3u
#define ELF_STT_FILE 4u
#define ELF_STT_GNU_IFUNC 10u
#define ELF_STB_LOCAL 0u
#define ELF_STB_GLOBAL 1u
#define ELF_STB_WEAK 2u
#define ELF_STB_GNU_UNIQUE 10u
#define ELF_SHN_UNDEF 0u

/* A located symbol table: entries in data, names in strtab. */
typedef struct elf_symtab {
    strain_span data;
    uint64_t ent;
    uint64_t count;
    strain_span strtab;
    const char *what; /* for warnings */
} elf_symtab;

/* One symbol, widened. */
typedef struct elf_sym {
    uint32_t name;
    uint8_t type, bind;
    uint16_t shndx;
    uint64_t value, size;
} elf_sym;

/* elf_symbols.c: .symtab/.dynsym symbols into the model. */
int strain_elf__parse_symbols(elf_parser *p);
/* Symbol i of t; false when it does not fit. */
bool strain_elf__read_sym(const elf_parser *p, const elf_symtab *t, uint64_t i, elf_sym *s);
/* Warns that symbol i's name offset lies outside its string table. */
int strain_elf__sym_name_warn(elf_parser *p, const elf_symtab *t, uint64_t i, uint32_t off);

/* elf_imports.c: exports and imports of the dynamic symbol table (dynsym_sec: its section
 * index, 0 when it was found through the dynamic table). */
int strain_elf__imports_exports(elf_parser *p, const elf_symtab *t, size_t dynsym_sec);

#endif
