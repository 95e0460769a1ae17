/*
 * strain/binary.h: a parsed executable. PE and ELF parsers (and the raw fallback) fill one
 * format-neutral model, so hashing, code recovery and reports never look at headers again.
 * Everything here was read through bounds checks; what could not be read is listed in
 * warnings and the result is marked partial.
 */
#ifndef STRAIN_BINARY_H
#define STRAIN_BINARY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum strain_format {
    STRAIN_FORMAT_RAW = 0,
    STRAIN_FORMAT_PE32,
    STRAIN_FORMAT_PE32PLUS,
    STRAIN_FORMAT_ELF32,
    STRAIN_FORMAT_ELF64,
} strain_format;

typedef enum strain_arch {
    STRAIN_ARCH_UNKNOWN = 0,
    STRAIN_ARCH_X86,
    STRAIN_ARCH_X64,
    STRAIN_ARCH_ARM,
    STRAIN_ARCH_ARM64,
    STRAIN_ARCH_OTHER,
} strain_arch;

/* "pe32", "pe32+", "elf32", "elf64", "raw" */
STRAIN_API const char *strain_format_name(strain_format f);
/* "x86", "x64", "arm", "arm64", "other", "unknown" */
STRAIN_API const char *strain_arch_name(strain_arch a);

#define STRAIN_SECTION_EXEC 0x1u
#define STRAIN_SECTION_READ 0x2u
#define STRAIN_SECTION_WRITE 0x4u

typedef struct strain_section {
    const char *name;
    uint64_t vaddr;           /* absolute virtual address (PE: image base + RVA) */
    uint64_t vsize;
    uint64_t raw_offset;      /* file offset of the bytes backing the section */
    uint64_t raw_size;        /* bytes in the file (clipped to the file: see warnings) */
    uint32_t flags;           /* STRAIN_SECTION_* */
    uint64_t characteristics; /* PE Characteristics or ELF sh_flags, as in the file */
    double entropy;           /* Shannon entropy of the raw bytes, bits per byte */
} strain_section;

typedef struct strain_import {
    const char *library;  /* as written in the file ("KERNEL32.dll", "libc.so.6") */
    const char *name;     /* NULL when imported by ordinal only */
    uint32_t ordinal;     /* valid when by_ordinal */
    bool by_ordinal;
    bool delayed;         /* PE delay-load import */
    uint64_t address;     /* VA of the IAT slot (PE) / GOT slot (ELF); 0 if unknown */
} strain_import;

typedef struct strain_export {
    const char *name;      /* NULL when exported by ordinal only */
    uint32_t ordinal;      /* PE ordinal (biased); 0 for ELF */
    uint64_t address;      /* VA; 0 for a forwarder */
    const char *forwarder; /* "NTDLL.RtlAllocateHeap" or NULL */
} strain_export;

typedef struct strain_symbol {
    const char *name;
    uint64_t address;
    uint64_t size;
    bool is_function;
} strain_symbol;

typedef struct strain_kv {
    const char *key;
    const char *value;
} strain_kv;

typedef struct strain_rich_entry {
    uint16_t product_id;
    uint16_t build;
    uint32_t count;
} strain_rich_entry;

typedef struct strain_data_dir {
    uint32_t rva;
    uint32_t size;
} strain_data_dir;

/* PE-only facts; zeroed for other formats. */
typedef struct strain_pe_info {
    uint16_t machine;
    uint32_t timestamp;
    uint16_t characteristics;
    uint16_t subsystem;
    uint16_t dll_characteristics;
    uint32_t checksum;
    uint64_t checksum_offset;  /* file offset of OptionalHeader.CheckSum (Authenticode) */
    uint64_t security_dir_entry_offset; /* file offset of data directory entry 4 */
    uint8_t linker_major, linker_minor;
    uint32_t size_of_headers;
    uint32_t n_data_dirs;
    strain_data_dir data_dirs[16];
    /* Rich header */
    bool has_rich;
    uint32_t rich_key;
    size_t n_rich;
    const strain_rich_entry *rich;
    char rich_hash[STRAIN_MD5_HEX]; /* pefile get_rich_header_hash(), "" when none */
    /* Debug directory (CodeView RSDS) */
    const char *pdb_path;           /* NULL if none */
    char pdb_guid[40];              /* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" or "" */
    uint32_t pdb_age;
    /* TLS callbacks (VAs) */
    size_t n_tls_callbacks;
    const uint64_t *tls_callbacks;
    /* Version-info resource strings (first language found) */
    size_t n_version_info;
    const strain_kv *version_info;
    /* Authenticode certificate table (data directory 4: a file offset, not an RVA) */
    uint64_t security_offset;
    uint64_t security_size;
    bool is_dotnet;                 /* CLR header present */
} strain_pe_info;

typedef struct strain_segment {
    uint32_t type;      /* p_type */
    uint32_t flags;     /* STRAIN_SECTION_* */
    uint64_t vaddr, memsz;
    uint64_t offset, filesz;
} strain_segment;

/* ELF-only facts; zeroed for other formats. */
typedef struct strain_elf_info {
    bool big_endian;
    uint16_t type;      /* e_type */
    uint16_t machine;   /* e_machine */
    const char *interpreter;
    const char *soname;
    char build_id[81];  /* hex, "" when none */
    size_t n_segments;
    const strain_segment *segments;
    size_t n_needed;
    const char *const *needed;
} strain_elf_info;

typedef struct strain_binary_info {
    strain_format format;
    strain_arch arch;
    uint64_t image_base;
    uint64_t entry;       /* VA of the entry point, 0 if none */
    bool has_entry;
    bool partial;         /* something could not be read: see warnings */
    bool is_driver;       /* PE kernel driver (native subsystem / ntoskrnl, HAL, NDIS imports) */
    uint64_t overlay_offset; /* bytes after the last section / segment (PE), 0 when none */
    uint64_t overlay_size;
    size_t n_sections;
    const strain_section *sections;
    size_t n_imports;
    const strain_import *imports;
    size_t n_exports;
    const strain_export *exports;
    size_t n_symbols;     /* ELF symbol tables (.symtab + .dynsym, deduplicated) */
    const strain_symbol *symbols;
    size_t n_warnings;
    const char *const *warnings;
    strain_pe_info pe;
    strain_elf_info elf;
} strain_binary_info;

typedef struct strain_binary strain_binary;

/*
 * Parses data (not copied: it must outlive the binary) as PE, ELF or raw, whichever it is.
 * Fails only for out-of-memory or bad arguments: anything unreadable becomes warnings and a
 * partial (or raw) result. Caller frees with strain_binary_free(). Thread-safe for distinct
 * contexts.
 */
STRAIN_API int strain_binary_parse(strain_binary **out, strain_ctx *ctx, const uint8_t *data,
                                   size_t size);
/*
 * Treats data as raw code (shellcode, a memory dump) of the given architecture loaded at
 * base: one executable section covering all of it. Caller frees.
 */
STRAIN_API int strain_binary_parse_raw(strain_binary **out, strain_ctx *ctx, const uint8_t *data,
                                       size_t size, strain_arch arch, uint64_t base);
STRAIN_API void strain_binary_free(strain_binary *bin);
/* Borrowed until the binary is freed. */
STRAIN_API const strain_binary_info *strain_binary_get_info(const strain_binary *bin);

/*
 * Maps a virtual address to file bytes: out_ptr and out_len get the bytes backed by the file
 * from va to the end of its section (or segment). Returns 0, or STRAIN_ENOTFOUND when va is
 * not backed by file bytes.
 */
STRAIN_API int strain_binary_va_bytes(const strain_binary *bin, uint64_t va,
                                      const uint8_t **out_ptr, size_t *out_len);
/* File offset for va, or STRAIN_ENOTFOUND. */
STRAIN_API int strain_binary_va_to_offset(const strain_binary *bin, uint64_t va,
                                          uint64_t *out_offset);

/* The bytes the binary was parsed from. */
STRAIN_API const uint8_t *strain_binary_data(const strain_binary *bin, size_t *out_size);

#ifdef __cplusplus
}
#endif
#endif
