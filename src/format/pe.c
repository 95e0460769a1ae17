/*
 * PE32 / PE32+ parser, top level: DOS and NT headers, optional header and data directories,
 * the section table, then dispatch to one file per directory (pe_imports.c, pe_exports.c,
 * ...), and the facts derived from all of them (overlay, driver, arch).
 *
 * Malformed input never stops the parse: a header we cannot read is a warning and the
 * result is partial. Where pefile and the Windows loader disagree with the specification
 * (section table located by SizeOfOptionalHeader, rounded raw pointers, RVAs in the
 * headers) we follow pefile, because the hashes analysts exchange were computed with it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/pe_internal.h"
#include "util/entropy.h"
#include "util/err.h"
#include "util/limits.h"

/* Round-downs pefile applies to section addresses (adjust_FileAlignment / _SectionAlignment). */
static uint64_t adjust_raw_ptr(uint32_t ptr, uint32_t file_align)
{
    if (file_align < PE_HARDCODED_FILE_ALIGN) {
        return ptr;
    }
    return (uint64_t)(ptr / PE_HARDCODED_FILE_ALIGN) * PE_HARDCODED_FILE_ALIGN;
}

static uint64_t adjust_va(uint32_t va, uint32_t sect_align, uint32_t file_align)
{
    uint32_t align = sect_align < PE_PAGE_SIZE ? file_align : sect_align;
    if (align != 0 && va % align != 0) {
        return (uint64_t)(va / align) * align;
    }
    return va;
}

static strain_arch arch_of(uint16_t machine)
{
    switch (machine) {
    case PE_MACHINE_I386: return STRAIN_ARCH_X86;
    case PE_MACHINE_AMD64: return STRAIN_ARCH_X64;
    case PE_MACHINE_ARM:
    case PE_MACHINE_ARMNT:
    case PE_MACHINE_THUMB: return STRAIN_ARCH_ARM;
    case PE_MACHINE_ARM64: return STRAIN_ARCH_ARM64;
    default: return STRAIN_ARCH_OTHER;
    }
}

/*
 * The optional header, copied into a zeroed buffer: the loader accepts optional headers cut
 * short (Tiny PE) and reads the missing fields as zero, so do we, with a warning.
 */
static int read_optional_header(pe_image *pe, uint64_t opt_off, uint16_t opt_size,
                                uint8_t buf[PE_OPT_MAX_SIZE], strain_span *out)
{
    memset(buf, 0, PE_OPT_MAX_SIZE);
    strain_span avail;
    if (!strain_span_tail(pe->file, opt_off, &avail)) {
        avail.len = 0;
    }
    size_t n = avail.len < PE_OPT_MAX_SIZE ? avail.len : PE_OPT_MAX_SIZE;
    if (n > 0) {
        memcpy(buf, avail.p, n);
    }
    *out = strain_span_make(buf, PE_OPT_MAX_SIZE);
    uint16_t magic = 0;
    strain_span_u16le(*out, PE_OPT_MAGIC_OFF, &magic);
    size_t fixed = magic == PE_OPT_MAGIC_PE32PLUS ? PE_OPT64_DIRS_OFF : PE_OPT32_DIRS_OFF;
    if (n < fixed) {
        return strain_binary__warn(pe->bin,
                                   "optional header truncated: %zu of %zu bytes in the file "
                                   "(missing fields read as zero)",
                                   n, fixed);
    }
    if (opt_size < fixed) {
        return strain_binary__warn(pe->bin,
                                   "SizeOfOptionalHeader %u is smaller than the %zu-byte "
                                   "optional header: the section table overlaps it",
                                   opt_size, fixed);
    }
    return STRAIN_OK;
}

/* Data directories: NumberOfRvaAndSizes entries (at most 16) after the fixed fields. */
static int read_data_dirs(pe_image *pe, uint64_t opt_off, strain_span opt, uint32_t n_rva)
{
    strain_pe_info *pi = &pe->bin->info.pe;
    uint32_t dirs_off = pe->is64 ? PE_OPT64_DIRS_OFF : PE_OPT32_DIRS_OFF;
    int err = STRAIN_OK;
    if (n_rva > PE_MAX_DATA_DIRS) {
        err = strain_binary__warn(pe->bin,
                                  "NumberOfRvaAndSizes is %u (more than 16): "
                                  "reading 16",
                                  n_rva);
        n_rva = PE_MAX_DATA_DIRS;
    }
    pi->security_dir_entry_offset = opt_off + dirs_off + PE_DIR_SECURITY * PE_DATA_DIR_SIZE;
    for (uint32_t i = 0; i < n_rva; i++) {
        uint64_t at = opt_off + dirs_off + (uint64_t)i * PE_DATA_DIR_SIZE;
        if (at >= pe->file.len) {
            /* pefile stops at the end of the file; a partial entry reads as zero-padded */
            err =
                strain_binary__warn(pe->bin, "data directory %u lies past the end of the file", i);
            break;
        }
        uint64_t rel = dirs_off + (uint64_t)i * PE_DATA_DIR_SIZE;
        strain_span_u32le(opt, rel + PE_DATA_DIR_RVA_OFF, &pe->dirs[i].rva);
        strain_span_u32le(opt, rel + PE_DATA_DIR_SIZE_OFF, &pe->dirs[i].size);
        pe->n_dirs = i + 1;
    }
    pi->n_data_dirs = pe->n_dirs;
    memcpy(pi->data_dirs, pe->dirs, sizeof(pi->data_dirs));
    return err;
}

static int cmp_sec_va(const void *a, const void *b)
{
    const pe_sec *x = a, *y = b;
    if (x->va != y->va) {
        return x->va < y->va ? -1 : 1;
    }
    /* stable: pefile's list.sort keeps file order among equal addresses */
    return x->lo < y->lo ? -1 : (x->lo > y->lo ? 1 : 0);
}

/* Fills lo/hi of each VA-sorted section as pefile's contains_rva computes its extent. */
static void compute_extents(pe_image *pe)
{
    for (size_t i = 0; i < pe->n_secs; i++) {
        pe_sec *s = &pe->secs[i];
        uint64_t size;
        /* A raw size running past the end of the file is not believed: use VirtualSize. */
        if (s->raw_adj > pe->file.len || pe->file.len - s->raw_adj < s->raw_size) {
            size = s->vsize;
        } else {
            size = s->raw_size > s->vsize ? s->raw_size : s->vsize;
        }
        if (i + 1 < pe->n_secs) {
            uint64_t next = pe->secs[i + 1].va;
            if (next > s->va && s->va_adj + size > next) {
                size = next - s->va_adj;
            }
        }
        s->lo = s->va_adj;
        s->hi = s->va_adj + size;
    }
}

/* The section table. Follows pefile's stop rules so both list the same sections. */
static int read_sections(pe_image *pe, uint64_t table_off, uint16_t n_declared)
{
    strain_binary *bin = pe->bin;
    int err = STRAIN_OK;
    size_t n = n_declared;
    if (n > STRAIN_PE_MAX_SECTIONS) {
        STRAIN_TRY(strain_binary__warn(bin,
                                       "NumberOfSections %u exceeds the limit %u: reading "
                                       "the first %u",
                                       n_declared, STRAIN_PE_MAX_SECTIONS, STRAIN_PE_MAX_SECTIONS));
        n = STRAIN_PE_MAX_SECTIONS;
    }
    pe->secs = strain_arena_array(&bin->arena, n ? n : 1, sizeof(pe_sec));
    if (pe->secs == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t off = table_off + (uint64_t)i * PE_SECTION_HEADER_SIZE;
        strain_span h;
        if (!strain_span_sub(pe->file, off, PE_SECTION_HEADER_SIZE, &h)) {
            STRAIN_TRY(strain_binary__warn(bin,
                                           "section header %zu at offset 0x%llx lies past "
                                           "the end of the file",
                                           i, (unsigned long long)off));
            break;
        }
        if (strain_pe__all_zero(h)) {
            STRAIN_TRY(strain_binary__warn(bin, "section header %zu is all zero: table ends", i));
            break;
        }
        pe_sec s = {0};
        uint32_t chr = 0;
        strain_span_u32le(h, PE_SH_VSIZE_OFF, &s.vsize);
        strain_span_u32le(h, PE_SH_VADDR_OFF, &s.va);
        strain_span_u32le(h, PE_SH_RAW_SIZE_OFF, &s.raw_size);
        strain_span_u32le(h, PE_SH_RAW_PTR_OFF, &s.raw_ptr);
        strain_span_u32le(h, PE_SH_CHARACTERISTICS_OFF, &chr);
        s.raw_adj = adjust_raw_ptr(s.raw_ptr, pe->file_align);
        s.va_adj = adjust_va(s.va, pe->sect_align, pe->file_align);

        /* pefile gives up on a header with three of these at once: it is not a section. */
        int bad = 0;
        if ((uint64_t)s.raw_ptr + s.raw_size > pe->file.len) {
            bad++;
            STRAIN_TRY(strain_binary__warn(bin,
                                           "section %zu: raw data (0x%x bytes at 0x%x) runs "
                                           "past the end of the file",
                                           i, s.raw_size, s.raw_ptr));
        }
        if (s.raw_adj > pe->file.len) {
            bad++;
        }
        if (s.vsize > 0x10000000u) { /* pefile's "extremely large" threshold, 256 MiB */
            bad++;
        }
        if (s.va_adj > 0x10000000u) {
            bad++;
        }
        if (pe->file_align != 0 && s.raw_ptr % pe->file_align != 0) {
            bad++;
        }
        if (bad >= 3) {
            STRAIN_TRY(strain_binary__warn(bin,
                                           "section %zu: too many inconsistent fields, "
                                           "section table abandoned",
                                           i));
            break;
        }

        strain_section *out = strain_vec_push(&bin->sections);
        if (out == NULL) {
            return STRAIN_ENOMEM;
        }
        const uint8_t *name = h.p + PE_SH_NAME_OFF;
        const uint8_t *nul = memchr(name, 0, PE_SH_NAME_LEN);
        size_t name_len = nul != NULL ? (size_t)(nul - name) : PE_SH_NAME_LEN;
        out->name = strain_arena_strndup(&bin->arena, (const char *)name, name_len);
        if (out->name == NULL) {
            return STRAIN_ENOMEM;
        }
        out->vaddr = pe->image_base + s.va;
        out->vsize = s.vsize;
        out->characteristics = chr;
        out->flags = ((chr & PE_SCN_MEM_EXECUTE) ? STRAIN_SECTION_EXEC : 0) |
                     ((chr & PE_SCN_MEM_READ) ? STRAIN_SECTION_READ : 0) |
                     ((chr & PE_SCN_MEM_WRITE) ? STRAIN_SECTION_WRITE : 0);
        /* The bytes pefile's section.get_data() returns: from the rounded pointer to the
         * declared end, clipped to the file. */
        uint64_t end = (uint64_t)s.raw_ptr + s.raw_size;
        if (end > pe->file.len) {
            end = pe->file.len;
        }
        out->raw_offset = s.raw_adj;
        out->raw_size = end > s.raw_adj ? end - s.raw_adj : 0;
        strain_span data;
        if (out->raw_size > 0 && strain_span_sub(pe->file, out->raw_offset, out->raw_size, &data)) {
            out->entropy = strain_entropy(data.p, data.len);
        }
        s.lo = pe->n_secs; /* file order, the tie-break of the sort below */
        pe->secs[pe->n_secs++] = s;
    }
    qsort(pe->secs, pe->n_secs, sizeof(pe_sec), cmp_sec_va);
    compute_extents(pe);
done:
    return err;
}

/* What pefile calls the header: up to the end of the section table or the first section. */
static void compute_header_len(pe_image *pe, uint64_t table_off, uint16_t n_declared)
{
    uint64_t after = table_off;
    if (n_declared > 0 && pe->n_secs > 0) {
        after = table_off + (uint64_t)PE_SECTION_HEADER_SIZE * n_declared;
    }
    uint64_t lowest = 0;
    for (size_t i = 0; i < pe->n_secs; i++) {
        if (pe->secs[i].raw_ptr > 0 && (lowest == 0 || pe->secs[i].raw_adj < lowest)) {
            lowest = pe->secs[i].raw_adj;
        }
    }
    uint64_t len = (lowest == 0 || lowest < after) ? after : lowest;
    pe->header_len = len < pe->file.len ? len : pe->file.len;
}

/* Overlay: bytes past everything the headers describe, as pefile's
 * get_overlay_data_start_offset() finds it (the certificate table is not counted). */
static void compute_overlay(pe_image *pe, uint64_t opt_off, uint16_t opt_size)
{
    uint64_t best = 0;
    uint64_t flen = pe->file.len;
#define PE_OVERLAY_CONSIDER(off, size)                                                             \
    do {                                                                                           \
        uint64_t e_ = (uint64_t)(off) + (uint64_t)(size);                                          \
        if (e_ <= flen && e_ > best) {                                                             \
            best = e_;                                                                             \
        }                                                                                          \
    } while (0)
    PE_OVERLAY_CONSIDER(opt_off, opt_size);
    for (size_t i = 0; i < pe->n_secs; i++) {
        PE_OVERLAY_CONSIDER(pe->secs[i].raw_ptr, pe->secs[i].raw_size);
    }
    for (uint32_t i = 0; i < pe->n_dirs; i++) {
        uint64_t off;
        if (i == PE_DIR_SECURITY || !strain_pe__rva_to_offset(pe, pe->dirs[i].rva, &off)) {
            continue;
        }
        PE_OVERLAY_CONSIDER(off, pe->dirs[i].size);
    }
#undef PE_OVERLAY_CONSIDER
    if (flen > best) {
        pe->bin->info.overlay_offset = best;
        pe->bin->info.overlay_size = flen - best;
    }
}

/* Kernel-mode image: native subsystem, or it links against the kernel's own modules. */
static bool looks_like_driver(const strain_binary *bin)
{
    static const char *const kernel_modules[] = {"ntoskrnl.exe", "hal.dll", "ndis.sys",
                                                 "bootvid.dll", "kdcom.dll"};
    if (bin->info.pe.subsystem == PE_SUBSYSTEM_NATIVE) {
        return true;
    }
    for (size_t i = 0; i < bin->imports.len; i++) {
        const strain_import *im = STRAIN_VEC_AT(&bin->imports, strain_import, i);
        for (size_t k = 0; k < sizeof(kernel_modules) / sizeof(kernel_modules[0]); k++) {
            if (im->library != NULL && strcasecmp(im->library, kernel_modules[k]) == 0) {
                return true;
            }
        }
    }
    return false;
}

static int check_security_dir(pe_image *pe)
{
    strain_pe_info *pi = &pe->bin->info.pe;
    if (pe->n_dirs <= PE_DIR_SECURITY || pe->dirs[PE_DIR_SECURITY].size == 0) {
        return STRAIN_OK;
    }
    /* Data directory 4 holds a file offset, not an RVA (PE/COFF spec, "The Attribute
     * Certificate Table"). */
    pi->security_offset = pe->dirs[PE_DIR_SECURITY].rva;
    pi->security_size = pe->dirs[PE_DIR_SECURITY].size;
    if (!strain_span_has(pe->file, pi->security_offset, pi->security_size)) {
        return strain_binary__warn(pe->bin,
                                   "certificate table (0x%llx bytes at 0x%llx) runs past the "
                                   "end of the file",
                                   (unsigned long long)pi->security_size,
                                   (unsigned long long)pi->security_offset);
    }
    return STRAIN_OK;
}

/* MZ without a readable PE behind it: a DOS program or a broken PE; bytes stay raw. */
static int not_pe(strain_binary *bin, const char *why, uint64_t at)
{
    bin->info.format = STRAIN_FORMAT_RAW;
    return strain_binary__warn(bin, "MZ header but no PE image: %s (offset 0x%llx)", why,
                               (unsigned long long)at);
}

int strain_pe__parse(strain_binary *bin)
{
    strain_span f = bin->file;
    uint16_t mz;
    int err = STRAIN_OK;
    if (!strain_span_u16le(f, 0, &mz) || mz != PE_DOS_MAGIC) {
        return STRAIN_EFORMAT;
    }
    uint32_t lfanew, sig;
    if (!strain_span_has(f, 0, PE_DOS_HEADER_SIZE) ||
        !strain_span_u32le(f, PE_DOS_LFANEW_OFF, &lfanew)) {
        return not_pe(bin, "DOS header truncated", 0);
    }
    if (!strain_span_u32le(f, lfanew, &sig)) {
        return not_pe(bin, "e_lfanew points past the end of the file", lfanew);
    }
    if (sig != PE_NT_SIGNATURE) {
        return not_pe(bin, "no PE signature at e_lfanew", lfanew);
    }
    uint64_t fh = (uint64_t)lfanew + PE_NT_SIGNATURE_SIZE;
    strain_span fhs;
    if (!strain_span_sub(f, fh, PE_FILE_HEADER_SIZE, &fhs)) {
        return not_pe(bin, "file header truncated", fh);
    }

    pe_image pe_storage = {0};
    pe_image *pe = &pe_storage;
    pe->bin = bin;
    pe->file = f;
    strain_pe_info *pi = &bin->info.pe;
    uint16_t n_sections = 0, opt_size = 0;
    strain_span_u16le(fhs, PE_FH_MACHINE_OFF, &pi->machine);
    strain_span_u16le(fhs, PE_FH_NSECTIONS_OFF, &n_sections);
    strain_span_u32le(fhs, PE_FH_TIMESTAMP_OFF, &pi->timestamp);
    strain_span_u16le(fhs, PE_FH_OPT_SIZE_OFF, &opt_size);
    strain_span_u16le(fhs, PE_FH_CHARACTERISTICS_OFF, &pi->characteristics);
    pe->machine = pi->machine;
    bin->info.arch = arch_of(pi->machine);

    uint64_t opt_off = fh + PE_FILE_HEADER_SIZE;
    uint8_t optbuf[PE_OPT_MAX_SIZE];
    strain_span opt;
    STRAIN_TRY(read_optional_header(pe, opt_off, opt_size, optbuf, &opt));
    uint16_t magic = 0;
    strain_span_u16le(opt, PE_OPT_MAGIC_OFF, &magic);
    if (magic == PE_OPT_MAGIC_PE32PLUS) {
        pe->is64 = true;
        bin->info.format = STRAIN_FORMAT_PE32PLUS;
    } else {
        bin->info.format = STRAIN_FORMAT_PE32;
        if (magic != PE_OPT_MAGIC_PE32) {
            /* pefile carries on as PE32; the loader would refuse, analysts still want data */
            STRAIN_TRY(strain_binary__warn(bin,
                                           "optional header magic 0x%04x is neither PE32 "
                                           "nor PE32+: read as PE32",
                                           magic));
        }
    }
    uint32_t entry = 0, n_rva = 0;
    strain_span_u8(opt, PE_OPT_LINKER_MAJOR_OFF, &pi->linker_major);
    strain_span_u8(opt, PE_OPT_LINKER_MINOR_OFF, &pi->linker_minor);
    strain_span_u32le(opt, PE_OPT_ENTRY_OFF, &entry);
    if (pe->is64) {
        strain_span_u64le(opt, PE_OPT64_IMAGE_BASE_OFF, &pe->image_base);
        strain_span_u32le(opt, PE_OPT64_NUM_DIRS_OFF, &n_rva);
    } else {
        uint32_t base32 = 0;
        strain_span_u32le(opt, PE_OPT32_IMAGE_BASE_OFF, &base32);
        pe->image_base = base32;
        strain_span_u32le(opt, PE_OPT32_NUM_DIRS_OFF, &n_rva);
    }
    strain_span_u32le(opt, PE_OPT_SECTION_ALIGN_OFF, &pe->sect_align);
    strain_span_u32le(opt, PE_OPT_FILE_ALIGN_OFF, &pe->file_align);
    strain_span_u32le(opt, PE_OPT_SIZE_OF_IMAGE_OFF, &pe->size_of_image);
    strain_span_u32le(opt, PE_OPT_SIZE_OF_HEADERS_OFF, &pi->size_of_headers);
    strain_span_u32le(opt, PE_OPT_CHECKSUM_OFF, &pi->checksum);
    strain_span_u16le(opt, PE_OPT_SUBSYSTEM_OFF, &pi->subsystem);
    strain_span_u16le(opt, PE_OPT_DLL_CHARACTERISTICS_OFF, &pi->dll_characteristics);
    pi->checksum_offset = opt_off + PE_OPT_CHECKSUM_OFF;
    bin->info.image_base = pe->image_base;
    /* pefile masks the count to 31 bits before looping; we cap it at 16 anyway */
    STRAIN_TRY(read_data_dirs(pe, opt_off, opt, n_rva & 0x7fffffffu));

    /* The loader finds the section table through SizeOfOptionalHeader, not the magic. */
    uint64_t table_off = opt_off + opt_size;
    STRAIN_TRY(read_sections(pe, table_off, n_sections));
    compute_header_len(pe, table_off, n_sections);

    if (entry != 0) {
        bin->info.entry = pe->image_base + entry;
        bin->info.has_entry = true;
        uint64_t eoff;
        if (!strain_pe__rva_to_offset(pe, entry, &eoff) || eoff >= f.len) {
            STRAIN_TRY(
                strain_binary__warn(bin, "entry point RVA 0x%x is not backed by the file", entry));
        }
    }
    pi->is_dotnet = pe->n_dirs > PE_DIR_CLR && pe->dirs[PE_DIR_CLR].rva != 0;
    STRAIN_TRY(check_security_dir(pe));

    /* pefile's order; imports before delay imports matters for the shared symbol cap */
    STRAIN_TRY(strain_pe__parse_imports(pe));
    STRAIN_TRY(strain_pe__parse_exports(pe));
    STRAIN_TRY(strain_pe__parse_resources(pe));
    STRAIN_TRY(strain_pe__parse_debug(pe));
    STRAIN_TRY(strain_pe__parse_tls(pe));
    STRAIN_TRY(strain_pe__parse_delay_imports(pe));
    STRAIN_TRY(strain_pe__parse_rich(pe, lfanew));

    compute_overlay(pe, opt_off, opt_size);
    bin->info.is_driver = looks_like_driver(bin);
done:
    return err;
}
