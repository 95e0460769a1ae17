/*
 * The PE facts the Authenticode hash needs: where CheckSum and data directory entry 4 sit,
 * SizeOfHeaders, the certificate table (a FILE offset, unlike every other directory), the
 * sections' raw ranges and the page size for page hashes. Read here from the few raw header
 * fields involved (Authenticode is defined on them, and a file the parser gave up on can
 * still have its signature examined); the parsed binary is a cross-check.
 */
#include <stdlib.h>
#include <string.h>

#include "sig/sig_impl.h"
#include "util/limits.h"

/* PE/COFF offsets (Microsoft PE format, "Optional Header Image Only"). */
#define DOS_E_LFANEW_OFF 0x3c
#define COFF_NSECTIONS_OFF 6 /* from the PE signature */
#define COFF_OPTSIZE_OFF 20  /* from the PE signature */
#define OPT_OFF 24           /* optional header, from the PE signature */
#define OPT_SECTION_ALIGN_OFF 32
#define OPT_SIZE_OF_HEADERS_OFF 60
#define OPT_CHECKSUM_OFF 64
#define OPT32_NDIRS_OFF 92
#define OPT64_NDIRS_OFF 108
#define OPT32_DIRS_OFF 96
#define OPT64_DIRS_OFF 112
#define DIR_SECURITY 4
#define SECTION_HDR_SIZE 40
#define SECTION_RAW_SIZE_OFF 16
#define SECTION_RAW_PTR_OFF 20
#define PE_MAGIC32 0x10b
#define PE_MAGIC64 0x20b

void strain_sig__layout_free(strain_sig__layout *l)
{
    free(l->sections);
    memset(l, 0, sizeof(*l));
}

static void clip(strain_sig__range *rg, uint64_t file_len)
{
    if (rg->offset > file_len) {
        rg->offset = file_len;
    }
    if (rg->size > file_len - rg->offset) {
        rg->size = file_len - rg->offset;
    }
}

/* Reads the headers directly. Returns 0 (is_pe false when not a PE) or STRAIN_ENOMEM. */
static int read_headers(strain_sig__layout *out, strain_sig_report *r)
{
    strain_span f = r->file;
    uint16_t mz, nsec, optsize, magic;
    uint32_t lfanew, sig, soh, ndirs, tab_off, tab_size;
    if (!strain_span_u16le(f, 0, &mz) || mz != 0x5a4d ||
        !strain_span_u32le(f, DOS_E_LFANEW_OFF, &lfanew) || !strain_span_u32le(f, lfanew, &sig) ||
        sig != 0x00004550) {
        return 0;
    }
    uint64_t pe = lfanew, opt = pe + OPT_OFF;
    if (!strain_span_u16le(f, pe + COFF_NSECTIONS_OFF, &nsec) ||
        !strain_span_u16le(f, pe + COFF_OPTSIZE_OFF, &optsize) ||
        !strain_span_u16le(f, opt, &magic) || (magic != PE_MAGIC32 && magic != PE_MAGIC64) ||
        !strain_span_u32le(f, opt + OPT_SIZE_OF_HEADERS_OFF, &soh) ||
        !strain_span_has(f, opt + OPT_CHECKSUM_OFF, 4)) {
        return strain_sig__warn(r, "PE headers truncated: no Authenticode layout");
    }
    uint64_t ndirs_off = opt + (magic == PE_MAGIC32 ? OPT32_NDIRS_OFF : OPT64_NDIRS_OFF);
    uint64_t dirs_off = opt + (magic == PE_MAGIC32 ? OPT32_DIRS_OFF : OPT64_DIRS_OFF);
    out->is_pe = true;
    out->checksum_offset = opt + OPT_CHECKSUM_OFF;
    out->size_of_headers = soh;
    if (strain_span_u32le(f, ndirs_off, &ndirs) && ndirs > DIR_SECURITY &&
        strain_span_u32le(f, dirs_off + DIR_SECURITY * 8, &tab_off) &&
        strain_span_u32le(f, dirs_off + DIR_SECURITY * 8 + 4, &tab_size)) {
        out->secdir_entry_offset = dirs_off + DIR_SECURITY * 8;
        out->table_offset = tab_off;
        out->table_size = tab_size;
    }
    if (nsec > STRAIN_PE_MAX_SECTIONS) {
        STRAIN_SIG_TRY_WARN(r, "%u sections: only the first %u hashed", nsec,
                            STRAIN_PE_MAX_SECTIONS);
        nsec = STRAIN_PE_MAX_SECTIONS;
    }
    out->sections = calloc(nsec ? nsec : 1, sizeof(*out->sections));
    if (out->sections == NULL) {
        return STRAIN_ENOMEM;
    }
    uint64_t sec = opt + optsize;
    for (uint16_t i = 0; i < nsec; i++, sec += SECTION_HDR_SIZE) {
        uint32_t rs, ro;
        if (!strain_span_u32le(f, sec + SECTION_RAW_SIZE_OFF, &rs) ||
            !strain_span_u32le(f, sec + SECTION_RAW_PTR_OFF, &ro)) {
            return strain_sig__warn(r, "section table truncated at section %u", i);
        }
        strain_sig__range *rg = &out->sections[out->n_sections++];
        rg->offset = ro;
        rg->size = rs;
        clip(rg, f.len);
    }
    return 0;
}

/* The parser's view of the same header fields; a disagreement is a parser bug or a file built
 * to make tools disagree, and is worth a warning either way. Sections are not compared: the
 * parser reports them as the loader maps them (PointerToRawData rounded down to the file
 * alignment, bad headers dropped), which is right for code and wrong for Authenticode. */
static int cross_check(strain_sig_report *r, const strain_sig__layout *l,
                       const strain_binary_info *bi)
{
    const strain_pe_info *pe = &bi->pe;
    if (bi->format != STRAIN_FORMAT_PE32 && bi->format != STRAIN_FORMAT_PE32PLUS) {
        return 0;
    }
    bool same =
        pe->checksum_offset == l->checksum_offset && pe->size_of_headers == l->size_of_headers &&
        pe->security_offset == l->table_offset && pe->security_size == l->table_size &&
        (l->secdir_entry_offset == 0 || pe->security_dir_entry_offset == l->secdir_entry_offset);
    if (!same) {
        STRAIN_SIG_TRY_WARN(r, "PE parser and Authenticode header read disagree: raw header "
                               "values used");
    }
    return 0;
}

/*
 * Authenticode is defined on the raw header fields (PointerToRawData as written, not as a
 * loader would round it), so they are read here directly and the parsed binary only serves
 * as a cross-check.
 */
int strain_sig__layout_read(strain_sig__layout *out, strain_sig_report *r, const strain_binary *bin)
{
    const strain_binary_info *bi = strain_binary_get_info(bin);
    memset(out, 0, sizeof(*out));
    int err = read_headers(out, r);
    if (err < 0 || !out->is_pe) {
        return err;
    }
    if ((err = cross_check(r, out, bi)) < 0) {
        return err;
    }
    /* Page hashes hash SectionAlignment-sized pages (the loader's view); the field is not in
     * strain_pe_info, so it is read here, right behind the CheckSum's optional header. */
    uint32_t align = 0;
    uint64_t opt = out->checksum_offset - OPT_CHECKSUM_OFF;
    if (out->checksum_offset < OPT_CHECKSUM_OFF ||
        !strain_span_u32le(r->file, opt + OPT_SECTION_ALIGN_OFF, &align)) {
        align = 0;
    }
    out->page_size = align;
    if (out->size_of_headers > r->file.len) {
        STRAIN_SIG_TRY_WARN(r, "SizeOfHeaders 0x%llx past the end of the file",
                            (unsigned long long)out->size_of_headers);
        out->size_of_headers = r->file.len;
    }
    return 0;
}
