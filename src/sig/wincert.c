/*
 * The attribute certificate table (PE/COFF spec 5.7): data directory 4 gives a FILE offset
 * and size; the table is a run of WIN_CERTIFICATE { dwLength, wRevision, wCertificateType,
 * bCertificate[] } entries, each starting on an 8-byte boundary (dwLength itself excludes the
 * padding). Every readable PKCS#7 entry is handed to pkcs7.c; everything else is a warning and
 * a malformed signature record, so a hostile table shows up in the report instead of vanishing.
 */
#include <string.h>

#include "sig/sig_impl.h"
#include "util/limits.h"

#define WIN_CERT_HDR 8
#define WIN_CERT_LENGTH_OFF 0
#define WIN_CERT_REVISION_OFF 4
#define WIN_CERT_TYPE_OFF 6
#define WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002

/* A signature record for an entry that could not be read at all. */
static int malformed_entry(strain_sig_report *r, size_t entry, const char *why)
{
    if (r->signatures.len >= STRAIN_SIG_MAX_SIGNATURES) {
        return 0;
    }
    strain_sig_signature *sig = strain_vec_push(&r->signatures);
    if (sig == NULL) {
        return STRAIN_ENOMEM;
    }
    sig->entry = entry;
    sig->parent = SIZE_MAX;
    sig->digest_alg = "";
    sig->chain_error = "";
    sig->verdict = STRAIN_SIG_MALFORMED;
    sig->detail = strain_arena_strdup(&r->arena, why);
    if (sig->detail == NULL) {
        return STRAIN_ENOMEM;
    }
    return strain_sig__warn(r, "certificate entry %zu: %s", entry, why);
}

int strain_sig__wincert_walk(strain_sig_report *r)
{
    const strain_sig__layout *l = &r->layout;
    strain_span table;
    if (l->table_offset == 0 && l->table_size == 0) {
        return 0;
    }
    if (l->table_size < WIN_CERT_HDR) {
        STRAIN_SIG_TRY_WARN(r, "certificate table size %llu is smaller than an entry header",
                            (unsigned long long)l->table_size);
        return malformed_entry(r, 0, "certificate table too small");
    }
    if (!strain_span_sub(r->file, l->table_offset, l->table_size, &table)) {
        /* Truncated downloads cut the table; read what is there. */
        STRAIN_SIG_TRY_WARN(r, "certificate table [0x%llx, +0x%llx) runs past the end of the file",
                            (unsigned long long)l->table_offset, (unsigned long long)l->table_size);
        if (!strain_span_tail(r->file, l->table_offset, &table)) {
            return malformed_entry(r, 0, "certificate table starts past the end of the file");
        }
    }
    if (l->table_offset % 8 != 0) {
        STRAIN_SIG_TRY_WARN(r, "certificate table offset 0x%llx is not 8-byte aligned",
                            (unsigned long long)l->table_offset);
    }
    uint64_t end_of_sections = l->size_of_headers;
    for (size_t i = 0; i < l->n_sections; i++) {
        uint64_t e = l->sections[i].offset + l->sections[i].size;
        end_of_sections = e > end_of_sections ? e : end_of_sections;
    }
    if (l->table_offset < end_of_sections) {
        STRAIN_SIG_TRY_WARN(r, "certificate table overlaps the headers or section data");
    }
    if (l->table_offset + table.len < r->file.len) {
        /* CVE-2013-3900-style smuggling: bytes after the table are outside the signed
         * region on some verifiers; we hash them, but say so. */
        STRAIN_SIG_TRY_WARN(r, "%llu bytes after the certificate table",
                            (unsigned long long)(r->file.len - l->table_offset - table.len));
    }

    uint64_t pos = 0;
    size_t n = 0;
    while (pos < table.len) {
        if (n >= STRAIN_SIG_MAX_ENTRIES) {
            STRAIN_SIG_TRY_WARN(r, "more than %u certificate entries: rest ignored",
                                STRAIN_SIG_MAX_ENTRIES);
            break;
        }
        strain_sig_entry *e = strain_vec_push(&r->entries);
        if (e == NULL) {
            return STRAIN_ENOMEM;
        }
        size_t idx = n++;
        e->offset = l->table_offset + pos;
        if (!strain_span_u32le(table, pos + WIN_CERT_LENGTH_OFF, &e->length) ||
            !strain_span_u16le(table, pos + WIN_CERT_REVISION_OFF, &e->revision) ||
            !strain_span_u16le(table, pos + WIN_CERT_TYPE_OFF, &e->type)) {
            /* Trailing zero padding shorter than a header is normal; anything else is not. */
            int err = malformed_entry(r, idx, "entry header truncated");
            return err;
        }
        if (e->length < WIN_CERT_HDR) {
            return malformed_entry(r, idx, "dwLength smaller than the entry header");
        }
        strain_span payload;
        if (!strain_span_sub(table, pos + WIN_CERT_HDR, e->length - WIN_CERT_HDR, &payload)) {
            return malformed_entry(r, idx, "dwLength runs past the certificate table");
        }
        e->readable = true;
        if (e->type != WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
            int err = malformed_entry(r, idx, "wCertificateType is not PKCS_SIGNED_DATA");
            if (err < 0) {
                return err;
            }
        } else {
            int err = strain_sig__pkcs7_process(r, idx, SIZE_MAX, payload, 0);
            if (err < 0) {
                return err;
            }
        }
        /* Next entry: 8-byte aligned (quadword) after this one. */
        uint64_t next = pos + e->length;
        next = (next + 7) & ~(uint64_t)7;
        pos = next;
        /* Zero padding at the end of the table is allowed. */
        bool all_zero = true;
        for (uint64_t k = pos; k < table.len && all_zero; k++) {
            all_zero = table.p[k] == 0;
        }
        if (all_zero) {
            break;
        }
    }
    return 0;
}
