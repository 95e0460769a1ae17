/*
 * Debug directory: the CodeView RSDS record (PDB 7.0) gives the PDB path, GUID and age the
 * linker stamped. The path often leaks the developer's build tree ("D:\a\proj\Release\x.pdb")
 * and the GUID ties a binary to its exact build: both are attribution evidence.
 * The first RSDS entry wins, as in pefile-based tooling.
 */
#include <stdio.h>
#include <string.h>

#include "format/pe_internal.h"
#include "util/limits.h"

/* IMAGE_DEBUG_DIRECTORY */
#define PE_DBG_ENTRY_SIZE 28u
#define PE_DBG_TYPE_OFF 12u
#define PE_DBG_SIZE_OF_DATA_OFF 16u
#define PE_DBG_RAW_PTR_OFF 24u /* a file offset: the data need not be mapped */
#define PE_DBG_TYPE_CODEVIEW 2u
/* CV_INFO_PDB70 */
#define PE_CV_SIGNATURE_RSDS 0x53445352u /* "RSDS" */
#define PE_CV_GUID_OFF 4u
#define PE_CV_GUID_D2_OFF 8u
#define PE_CV_GUID_D3_OFF 10u
#define PE_CV_GUID_D4_OFF 12u
#define PE_CV_GUID_D4_LEN 8u
#define PE_CV_AGE_OFF 20u
#define PE_CV_PDB_NAME_OFF 24u

static int parse_rsds(pe_image *pe, strain_span cv)
{
    strain_pe_info *pi = &pe->bin->info.pe;
    uint32_t d1 = 0;
    uint16_t d2 = 0, d3 = 0;
    strain_span d4;
    if (!strain_span_u32le(cv, PE_CV_GUID_OFF, &d1) ||
        !strain_span_u16le(cv, PE_CV_GUID_D2_OFF, &d2) ||
        !strain_span_u16le(cv, PE_CV_GUID_D3_OFF, &d3) ||
        !strain_span_sub(cv, PE_CV_GUID_D4_OFF, PE_CV_GUID_D4_LEN, &d4) ||
        !strain_span_u32le(cv, PE_CV_AGE_OFF, &pi->pdb_age)) {
        return strain_binary__warn(pe->bin, "CodeView RSDS record truncated");
    }
    snprintf(pi->pdb_guid, sizeof(pi->pdb_guid), "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
             d1, d2, d3, d4.p[0], d4.p[1], d4.p[2], d4.p[3], d4.p[4], d4.p[5], d4.p[6], d4.p[7]);
    strain_span name = {cv.p, 0};
    strain_span_tail(cv, PE_CV_PDB_NAME_OFF, &name);
    const uint8_t *nul = name.len ? memchr(name.p, 0, name.len) : NULL;
    size_t n = nul != NULL ? (size_t)(nul - name.p) : name.len;
    if (n > STRAIN_MAX_NAME_LEN) {
        int err =
            strain_binary__warn(pe->bin, "PDB path of %zu bytes cut to %u", n, STRAIN_MAX_NAME_LEN);
        if (err < 0) {
            return err;
        }
        n = STRAIN_MAX_NAME_LEN;
    }
    pi->pdb_path = strain_arena_strndup(&pe->bin->arena, (const char *)name.p, n);
    return pi->pdb_path == NULL ? STRAIN_ENOMEM : STRAIN_OK;
}

int strain_pe__parse_debug(pe_image *pe)
{
    if (pe->n_dirs <= PE_DIR_DEBUG || pe->dirs[PE_DIR_DEBUG].rva == 0) {
        return STRAIN_OK;
    }
    uint64_t rva = pe->dirs[PE_DIR_DEBUG].rva;
    uint64_t n = pe->dirs[PE_DIR_DEBUG].size / PE_DBG_ENTRY_SIZE;
    if (n > STRAIN_PE_MAX_DEBUG_ENTRIES) {
        int err = strain_binary__warn(pe->bin, "%llu debug directory entries: reading %u",
                                      (unsigned long long)n, STRAIN_PE_MAX_DEBUG_ENTRIES);
        if (err < 0) {
            return err;
        }
        n = STRAIN_PE_MAX_DEBUG_ENTRIES;
    }
    for (uint64_t i = 0; i < n; i++) {
        strain_span e;
        if (!strain_pe__rva_span(pe, rva + i * PE_DBG_ENTRY_SIZE, &e) ||
            e.len < PE_DBG_ENTRY_SIZE) {
            return strain_binary__warn(pe->bin,
                                       "debug directory points outside the file "
                                       "(RVA 0x%llx)",
                                       (unsigned long long)(rva + i * PE_DBG_ENTRY_SIZE));
        }
        uint32_t type = 0, size = 0, ptr = 0, sig = 0;
        strain_span_u32le(e, PE_DBG_TYPE_OFF, &type);
        strain_span_u32le(e, PE_DBG_SIZE_OF_DATA_OFF, &size);
        strain_span_u32le(e, PE_DBG_RAW_PTR_OFF, &ptr);
        if (type != PE_DBG_TYPE_CODEVIEW) {
            continue;
        }
        strain_span cv;
        if (!strain_span_tail(pe->file, ptr, &cv)) {
            int err = strain_binary__warn(pe->bin,
                                          "CodeView record at 0x%x lies past the end of "
                                          "the file",
                                          ptr);
            if (err < 0) {
                return err;
            }
            continue;
        }
        if (cv.len > size) {
            cv.len = size;
        }
        if (strain_span_u32le(cv, 0, &sig) && sig == PE_CV_SIGNATURE_RSDS &&
            cv.len >= PE_CV_PDB_NAME_OFF) {
            return parse_rsds(pe, cv);
        }
    }
    return STRAIN_OK;
}
