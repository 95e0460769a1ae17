/*
 * Private to the PE parser (pe*.c): named offsets of every header field read, the parse
 * state shared by the directory parsers, and the RVA resolution they all go through.
 *
 * Offsets come from the Microsoft PE/COFF specification (revision 11+); each is relative to
 * the start of the structure it belongs to. The RVA resolver deliberately reproduces the
 * loader model of pefile (the reference analysts compare imphash and section tables with):
 * PointerToRawData rounded down to 512 when FileAlignment >= 512, VirtualAddress rounded
 * down to SectionAlignment (or FileAlignment below a page), a section's extent capped at
 * the next section's start, and RVAs outside every section read from the headers or, failing
 * that, straight from the file at offset == RVA.
 */
#ifndef STRAIN_FORMAT_PE_INTERNAL_H
#define STRAIN_FORMAT_PE_INTERNAL_H

#include "format/binary_impl.h"

/* IMAGE_DOS_HEADER */
#define PE_DOS_MAGIC 0x5a4du /* "MZ" */
#define PE_DOS_HEADER_SIZE 64u
#define PE_DOS_LFANEW_OFF 0x3cu
/* The Rich header sits between the DOS stub and the NT headers; pefile scans from here. */
#define PE_RICH_SCAN_START 0x80u

/* IMAGE_NT_HEADERS: signature then IMAGE_FILE_HEADER */
#define PE_NT_SIGNATURE 0x00004550u /* "PE\0\0" */
#define PE_NT_SIGNATURE_SIZE 4u
#define PE_FH_MACHINE_OFF 0u
#define PE_FH_NSECTIONS_OFF 2u
#define PE_FH_TIMESTAMP_OFF 4u
#define PE_FH_OPT_SIZE_OFF 16u
#define PE_FH_CHARACTERISTICS_OFF 18u
#define PE_FILE_HEADER_SIZE 20u

/* IMAGE_OPTIONAL_HEADER(32/64): offsets from the start of the optional header */
#define PE_OPT_MAGIC_PE32 0x10bu
#define PE_OPT_MAGIC_PE32PLUS 0x20bu
#define PE_OPT_MAGIC_OFF 0u
#define PE_OPT_LINKER_MAJOR_OFF 2u
#define PE_OPT_LINKER_MINOR_OFF 3u
#define PE_OPT_ENTRY_OFF 16u
#define PE_OPT32_IMAGE_BASE_OFF 28u /* u32 in PE32 */
#define PE_OPT64_IMAGE_BASE_OFF 24u /* u64 in PE32+ (BaseOfData is gone) */
#define PE_OPT_SECTION_ALIGN_OFF 32u
#define PE_OPT_FILE_ALIGN_OFF 36u
#define PE_OPT_SIZE_OF_IMAGE_OFF 56u
#define PE_OPT_SIZE_OF_HEADERS_OFF 60u
#define PE_OPT_CHECKSUM_OFF 64u
#define PE_OPT_SUBSYSTEM_OFF 68u
#define PE_OPT_DLL_CHARACTERISTICS_OFF 70u
#define PE_OPT32_NUM_DIRS_OFF 92u
#define PE_OPT64_NUM_DIRS_OFF 108u
#define PE_OPT32_DIRS_OFF 96u  /* also sizeof the PE32 optional header without directories */
#define PE_OPT64_DIRS_OFF 112u /* same for PE32+ */
#define PE_DATA_DIR_SIZE 8u
#define PE_DATA_DIR_RVA_OFF 0u
#define PE_DATA_DIR_SIZE_OFF 4u
#define PE_MAX_DATA_DIRS 16u
/* Largest optional header we read: PE32+ fixed part plus 16 directories. */
#define PE_OPT_MAX_SIZE (PE_OPT64_DIRS_OFF + PE_MAX_DATA_DIRS * PE_DATA_DIR_SIZE)

/* Data directory indexes */
#define PE_DIR_EXPORT 0u
#define PE_DIR_IMPORT 1u
#define PE_DIR_RESOURCE 2u
#define PE_DIR_SECURITY 4u
#define PE_DIR_DEBUG 6u
#define PE_DIR_TLS 9u
#define PE_DIR_DELAY_IMPORT 13u
#define PE_DIR_CLR 14u

/* Machine and subsystem values used to classify the image */
#define PE_MACHINE_I386 0x14cu
#define PE_MACHINE_AMD64 0x8664u
#define PE_MACHINE_ARM 0x1c0u
#define PE_MACHINE_ARMNT 0x1c4u
#define PE_MACHINE_THUMB 0x1c2u
#define PE_MACHINE_ARM64 0xaa64u
#define PE_SUBSYSTEM_NATIVE 1u
#define PE_SUBSYSTEM_NATIVE_WINDOWS 8u

/* IMAGE_SECTION_HEADER */
#define PE_SECTION_HEADER_SIZE 40u
#define PE_SH_NAME_OFF 0u
#define PE_SH_NAME_LEN 8u
#define PE_SH_VSIZE_OFF 8u
#define PE_SH_VADDR_OFF 12u
#define PE_SH_RAW_SIZE_OFF 16u
#define PE_SH_RAW_PTR_OFF 20u
#define PE_SH_CHARACTERISTICS_OFF 36u
#define PE_SCN_MEM_EXECUTE 0x20000000u
#define PE_SCN_MEM_READ 0x40000000u
#define PE_SCN_MEM_WRITE 0x80000000u

/* The loader rounds PointerToRawData down to this when FileAlignment is at least this. */
#define PE_HARDCODED_FILE_ALIGN 0x200u
#define PE_PAGE_SIZE 0x1000u

/* One section as the RVA resolver sees it (sorted by VirtualAddress, as pefile does). */
typedef struct pe_sec {
    uint32_t va;       /* VirtualAddress as written */
    uint32_t vsize;    /* Misc.VirtualSize */
    uint32_t raw_size; /* SizeOfRawData */
    uint32_t raw_ptr;  /* PointerToRawData as written */
    uint64_t va_adj;   /* VirtualAddress rounded as the loader does */
    uint64_t raw_adj;  /* PointerToRawData rounded as the loader does */
    uint64_t lo, hi;   /* RVA range [lo, hi) this section answers for */
} pe_sec;

typedef struct pe_image {
    strain_binary *bin;
    strain_span file;
    bool is64;
    uint16_t machine;
    uint64_t image_base;
    uint32_t size_of_image;
    uint32_t file_align;
    uint32_t sect_align;
    uint64_t header_len; /* bytes pefile treats as the header for RVAs outside sections */
    pe_sec *secs;        /* arena, sorted by va */
    size_t n_secs;
    size_t n_import_symbols; /* thunks read so far, imports and delay imports together */
    strain_data_dir dirs[PE_MAX_DATA_DIRS]; /* zero past n_dirs */
    uint32_t n_dirs;
} pe_image;

/*
 * Bytes readable at rva: from its file offset to the end of the raw data of the section
 * holding it (or of the headers, or of the file when no section holds it). False when the
 * RVA resolves nowhere. The span may be shorter than the caller needs: reads stay checked.
 */
bool strain_pe__rva_span(const pe_image *pe, uint64_t rva, strain_span *out);
/* File offset for rva by the same rules; false when it lies past the end of the file. */
bool strain_pe__rva_to_offset(const pe_image *pe, uint64_t rva, uint64_t *out);
/*
 * The NUL-terminated byte string at rva, at most max bytes (not NUL-terminated in place:
 * out points into the file). Missing bytes give an empty string; never fails.
 */
void strain_pe__rva_string(const pe_image *pe, uint64_t rva, size_t max, strain_span *out);
/* The section answering for rva (pefile's get_section_by_rva), or NULL. */
const pe_sec *strain_pe__section_for_rva(const pe_image *pe, uint64_t rva);
/* Length of the bytes pefile's section.get_data() returns for s. */
uint64_t strain_pe__section_data_len(const pe_image *pe, const pe_sec *s);
/* True when every byte of s is zero. */
bool strain_pe__all_zero(strain_span s);

/* Directory parsers: each records what it could read plus warnings; only ENOMEM is fatal. */
int strain_pe__parse_imports(pe_image *pe);
int strain_pe__parse_delay_imports(pe_image *pe);
int strain_pe__parse_exports(pe_image *pe);
int strain_pe__parse_rich(pe_image *pe, uint64_t nt_offset);
int strain_pe__parse_debug(pe_image *pe);
int strain_pe__parse_tls(pe_image *pe);
int strain_pe__parse_resources(pe_image *pe);

#endif
