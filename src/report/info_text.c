/*
 * The info report as text for a terminal: the same facts as the JSON (info.c computes them
 * once), laid out as "label  value" lines and small tables. Bytes from the sample (section
 * names, import names, strings) are printed with non-printable characters escaped, so a
 * hostile name cannot move the cursor or inject terminal escape sequences.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/info_impl.h"
#include "util/err.h"

#define LABEL "%-14s"

/* Appends s with everything outside 0x20..0x7e escaped (\t, \xNN). */
static int put_safe(strain_buf *b, const char *s)
{
    if (s == NULL) {
        return strain_buf_puts(b, "(none)");
    }
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int rc = (*p >= 0x20 && *p < 0x7f) ? strain_buf_putc(b, (char)*p)
                 : *p == '\t'              ? strain_buf_puts(b, "\\t")
                                           : strain_buf_printf(b, "\\x%02x", *p);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static int line(strain_buf *b, const char *label, const char *value)
{
    int err;
    STRAIN_TRY(strain_buf_printf(b, LABEL, label));
    STRAIN_TRY(put_safe(b, value));
    STRAIN_TRY(strain_buf_putc(b, '\n'));
done:
    return err;
}

static int sections(strain_buf *b, const strain_binary_info *bi)
{
    int err = 0;
    if (bi->n_sections == 0) {
        return 0;
    }
    STRAIN_TRY(strain_buf_printf(b, "\nsections (%zu)\n", bi->n_sections));
    STRAIN_TRY(strain_buf_printf(b, "  %-10s %-18s %10s %10s %10s %-5s %7s\n", "name", "vaddr",
                                 "vsize", "raw_offset", "raw_size", "flags", "entropy"));
    for (size_t i = 0; i < bi->n_sections; i++) {
        const strain_section *s = &bi->sections[i];
        char fl[4];
        strain_report__flags(fl, s->flags);
        STRAIN_TRY(strain_buf_puts(b, "  "));
        size_t before = b->len;
        STRAIN_TRY(put_safe(b, s->name));
        size_t w = b->len - before;
        STRAIN_TRY(strain_buf_printf(
            b, "%*s 0x%016" PRIx64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %-5s %7.3f\n",
            w < 10 ? (int)(10 - w) : 0, "", s->vaddr, s->vsize, s->raw_offset, s->raw_size, fl,
            s->entropy));
    }
done:
    return err;
}

/* Grouped by library (and delay-load) in order of first appearance, like the JSON. */
static int imports(strain_buf *b, const strain_binary_info *bi)
{
    int err = 0;
    size_t *order = NULL;
    if (bi->n_imports == 0) {
        return 0;
    }
    STRAIN_TRY(strain_report__import_order(&order, bi));
    STRAIN_TRY(strain_buf_printf(b, "\nimports (%zu)\n", bi->n_imports));
    for (size_t k = 0; k < bi->n_imports; k++) {
        const strain_import *im = &bi->imports[order[k]];
        if (k == 0 || !strain_report__same_library(&bi->imports[order[k - 1]], im)) {
            STRAIN_TRY(strain_buf_puts(b, "  "));
            if (im->library != NULL && im->library[0] != '\0') {
                STRAIN_TRY(put_safe(b, im->library));
            } else {
                STRAIN_TRY(strain_buf_puts(b, "(library not recorded)"));
            }
            STRAIN_TRY(strain_buf_puts(b, im->delayed ? " (delay-load)\n" : "\n"));
        }
        STRAIN_TRY(strain_buf_puts(b, "    "));
        if (im->name != NULL) {
            STRAIN_TRY(put_safe(b, im->name));
        } else {
            STRAIN_TRY(strain_buf_printf(b, "ord%" PRIu32, im->ordinal));
        }
        STRAIN_TRY(strain_buf_putc(b, '\n'));
    }
done:
    free(order);
    return err;
}

static int exports(strain_buf *b, const strain_binary_info *bi)
{
    int err = 0;
    if (bi->n_exports == 0) {
        return 0;
    }
    STRAIN_TRY(strain_buf_printf(b, "\nexports (%zu)\n", bi->n_exports));
    for (size_t i = 0; i < bi->n_exports; i++) {
        const strain_export *e = &bi->exports[i];
        STRAIN_TRY(strain_buf_printf(b, "  %5" PRIu32 "  ", e->ordinal));
        if (e->forwarder != NULL) {
            STRAIN_TRY(strain_buf_puts(b, "-> "));
            STRAIN_TRY(put_safe(b, e->forwarder));
        } else {
            STRAIN_TRY(strain_buf_printf(b, "0x%016" PRIx64, e->address));
        }
        STRAIN_TRY(strain_buf_puts(b, "  "));
        STRAIN_TRY(put_safe(b, e->name != NULL ? e->name : "(by ordinal)"));
        STRAIN_TRY(strain_buf_putc(b, '\n'));
    }
done:
    return err;
}

static int pe_block(strain_buf *b, const strain_info *info)
{
    int err = 0;
    const strain_binary_info *bi = info->bi;
    const strain_pe_info *pe = &bi->pe;
    char utc[21];
    strain_report__utc(utc, pe->timestamp);
    STRAIN_TRY(strain_buf_printf(b, LABEL "%" PRIu32 " (%s)\n", "timestamp", pe->timestamp, utc));
    const char *ss = strain_report__subsystem_name(pe->subsystem);
    if (ss != NULL) {
        STRAIN_TRY(line(b, "subsystem", ss));
    } else {
        STRAIN_TRY(strain_buf_printf(b, LABEL "unknown (%u)\n", "subsystem", pe->subsystem));
    }
    STRAIN_TRY(strain_buf_printf(
        b, LABEL "%s%s%s\n", "kind", bi->is_driver ? "kernel driver" : "user mode",
        pe->is_dotnet ? ", .NET" : "", (pe->characteristics & 0x2000) ? ", DLL" : ""));
    if (info->imphash[0] != '\0') {
        STRAIN_TRY(line(b, "imphash", info->imphash));
    }
    if (pe->has_rich) {
        STRAIN_TRY(strain_buf_printf(b, LABEL "%s (key 0x%08" PRIx32 ", %zu entries)\n",
                                     "rich hash", pe->rich_hash, pe->rich_key, pe->n_rich));
    }
    if (pe->pdb_path != NULL) {
        STRAIN_TRY(strain_buf_printf(b, LABEL, "pdb"));
        STRAIN_TRY(put_safe(b, pe->pdb_path));
        STRAIN_TRY(strain_buf_printf(b, " (guid %s, age %" PRIu32 ")\n",
                                     pe->pdb_guid[0] ? pe->pdb_guid : "none", pe->pdb_age));
    }
    for (size_t i = 0; i < pe->n_tls_callbacks; i++) {
        STRAIN_TRY(strain_buf_printf(b, LABEL "0x%" PRIx64 "\n", i == 0 ? "tls callbacks" : "",
                                     pe->tls_callbacks[i]));
    }
    if (pe->security_size > 0) {
        STRAIN_TRY(strain_buf_printf(b, LABEL "offset %" PRIu64 ", %" PRIu64 " bytes\n",
                                     "signature", pe->security_offset, pe->security_size));
    }
    const strain_sig_info *si = info->sig != NULL ? strain_sig_report_info(info->sig) : NULL;
    if (si != NULL && si->authentihash[0] != '\0') {
        STRAIN_TRY(line(b, "authentihash", si->authentihash));
    }
    for (size_t i = 0; si != NULL && i < si->n_signatures; i++) {
        const strain_sig_signature *g = &si->signatures[i];
        STRAIN_TRY(strain_buf_printf(
            b, LABEL "%s%s, %s", i == 0 ? "signed" : "", g->parent != SIZE_MAX ? "nested, " : "",
            strain_sig_verdict_name(g->verdict), g->digest_alg != NULL ? g->digest_alg : "?"));
        if (g->signer != NULL) {
            STRAIN_TRY(strain_buf_puts(b, ", "));
            STRAIN_TRY(put_safe(b, g->signer->subject));
            STRAIN_TRY(strain_buf_puts(b, " (serial "));
            STRAIN_TRY(put_safe(b, g->signer->serial));
            STRAIN_TRY(strain_buf_puts(b, ")"));
        }
        if (g->detail != NULL && g->detail[0] != '\0') {
            STRAIN_TRY(strain_buf_puts(b, ": "));
            STRAIN_TRY(put_safe(b, g->detail));
        }
        STRAIN_TRY(strain_buf_putc(b, '\n'));
    }
    if (pe->n_version_info > 0) {
        STRAIN_TRY(strain_buf_puts(b, "\nversion info\n"));
        for (size_t i = 0; i < pe->n_version_info; i++) {
            STRAIN_TRY(strain_buf_puts(b, "  "));
            STRAIN_TRY(put_safe(b, pe->version_info[i].key));
            STRAIN_TRY(strain_buf_puts(b, ": "));
            STRAIN_TRY(put_safe(b, pe->version_info[i].value));
            STRAIN_TRY(strain_buf_putc(b, '\n'));
        }
    }
done:
    return err;
}

static int elf_block(strain_buf *b, const strain_binary_info *bi)
{
    int err = 0;
    const strain_elf_info *e = &bi->elf;
    const char *t = strain_report__elf_type_name(e->type);
    STRAIN_TRY(strain_buf_printf(b, LABEL "%s, machine %u, %s endian, %zu symbols\n", "elf",
                                 t != NULL ? t : "unknown", e->machine,
                                 e->big_endian ? "big" : "little", bi->n_symbols));
    if (e->interpreter != NULL) {
        STRAIN_TRY(line(b, "interpreter", e->interpreter));
    }
    if (e->soname != NULL) {
        STRAIN_TRY(line(b, "soname", e->soname));
    }
    if (e->build_id[0] != '\0') {
        STRAIN_TRY(line(b, "build id", e->build_id));
    }
    for (size_t i = 0; i < e->n_needed; i++) {
        STRAIN_TRY(line(b, i == 0 ? "needed" : "", e->needed[i]));
    }
    if (e->n_segments > 0) {
        STRAIN_TRY(strain_buf_printf(b, "\nsegments (%zu)\n", e->n_segments));
        for (size_t i = 0; i < e->n_segments; i++) {
            const strain_segment *s = &e->segments[i];
            const char *tn = strain_report__segment_type_name(s->type);
            char fl[4];
            strain_report__flags(fl, s->flags);
            char tb[16];
            if (tn == NULL) {
                snprintf(tb, sizeof(tb), "0x%" PRIx32, s->type);
                tn = tb;
            }
            STRAIN_TRY(strain_buf_printf(b,
                                         "  %-12s %s 0x%016" PRIx64 " memsz %-10" PRIu64
                                         " offset %-10" PRIu64 " filesz %" PRIu64 "\n",
                                         tn, fl, s->vaddr, s->memsz, s->offset, s->filesz));
        }
    }
done:
    return err;
}

static int iocs_block(strain_buf *b, const strain_iocs *iocs)
{
    int err = 0;
    size_t total = 0;
    for (int k = 0; k < STRAIN_IOC_N_KINDS; k++) {
        total += strain_iocs_count(iocs, (strain_ioc_kind)k);
    }
    STRAIN_TRY(strain_buf_printf(b, "\nindicators (%zu)\n", total));
    for (int k = 0; k < STRAIN_IOC_N_KINDS; k++) {
        size_t n = strain_iocs_count(iocs, (strain_ioc_kind)k);
        for (size_t i = 0; i < n; i++) {
            const strain_ioc *x = strain_iocs_get(iocs, (strain_ioc_kind)k, i);
            STRAIN_TRY(strain_buf_printf(b, "  %-10s ", strain_ioc_kind_name(x->kind)));
            STRAIN_TRY(put_safe(b, x->value));
            STRAIN_TRY(strain_buf_putc(b, '\n'));
        }
    }
done:
    return err;
}

static int text_render(strain_buf *b, strain_ctx *ctx, const strain_info *info)
{
    int err = 0;
    const strain_sample *smp = info->sample;
    const strain_binary_info *bi = info->bi;
    bool is_pe = bi->format == STRAIN_FORMAT_PE32 || bi->format == STRAIN_FORMAT_PE32PLUS;
    bool is_elf = bi->format == STRAIN_FORMAT_ELF32 || bi->format == STRAIN_FORMAT_ELF64;
    STRAIN_TRY(line(b, "path", smp->path));
    if (smp->archive_path != NULL) {
        STRAIN_TRY(line(b, "archive path", smp->archive_path));
    }
    STRAIN_TRY(strain_buf_printf(b, LABEL "%zu bytes\n", "size", smp->size));
    STRAIN_TRY(line(b, "md5", info->md5));
    STRAIN_TRY(line(b, "sha1", info->sha1));
    STRAIN_TRY(line(b, "sha256", smp->sha256));
    if (info->ssdeep[0] != '\0') {
        STRAIN_TRY(line(b, "ssdeep", info->ssdeep));
    }
    if (info->tlsh[0] != '\0') {
        STRAIN_TRY(line(b, "tlsh", info->tlsh));
    }
    STRAIN_TRY(strain_buf_printf(b, LABEL "%s (%s)\n", "format", strain_format_name(bi->format),
                                 strain_arch_name(bi->arch)));
    if (is_pe || is_elf) {
        STRAIN_TRY(strain_buf_printf(b, LABEL "0x%" PRIx64 "\n", "image base", bi->image_base));
    }
    if (bi->has_entry) {
        STRAIN_TRY(strain_buf_printf(b, LABEL "0x%" PRIx64 "\n", "entry", bi->entry));
    }
    if (bi->overlay_size > 0) {
        STRAIN_TRY(strain_buf_printf(b, LABEL "offset %" PRIu64 ", %" PRIu64 " bytes\n", "overlay",
                                     bi->overlay_offset, bi->overlay_size));
    }
    if (is_pe) {
        STRAIN_TRY(pe_block(b, info));
    }
    if (is_elf) {
        STRAIN_TRY(elf_block(b, bi));
    }
    STRAIN_TRY(sections(b, bi));
    STRAIN_TRY(imports(b, bi));
    STRAIN_TRY(exports(b, bi));
    STRAIN_TRY(iocs_block(b, info->iocs));
    size_t n_warn = bi->n_warnings + info->warnings.len;
    if (n_warn > 0) {
        STRAIN_TRY(strain_buf_printf(b, "\nwarnings (%zu, report partial)\n", n_warn));
        for (size_t i = 0; i < bi->n_warnings; i++) {
            STRAIN_TRY(strain_buf_puts(b, "  "));
            STRAIN_TRY(put_safe(b, bi->warnings[i]));
            STRAIN_TRY(strain_buf_putc(b, '\n'));
        }
        for (size_t i = 0; i < info->warnings.len; i++) {
            STRAIN_TRY(strain_buf_puts(b, "  "));
            STRAIN_TRY(put_safe(b, *STRAIN_VEC_AT(&info->warnings, char *, i)));
            STRAIN_TRY(strain_buf_putc(b, '\n'));
        }
    }
    if (info->opts.with_strings) {
        size_t n = strain_strings_count(info->strings);
        STRAIN_TRY(strain_buf_printf(b, "\nstrings (%zu, at least %zu characters)\n", n,
                                     info->opts.min_string));
        for (size_t i = 0; i < n; i++) {
            const strain_string *s = strain_strings_get(info->strings, i);
            STRAIN_TRY(strain_buf_printf(b, "  %10" PRIu64 " %c ", s->offset,
                                         s->encoding == STRAIN_STRING_UTF16LE ? 'u' : 'a'));
            STRAIN_TRY(put_safe(b, s->text));
            STRAIN_TRY(strain_buf_putc(b, '\n'));
        }
    }
done:
    if (err < 0) {
        return strain__fail(ctx, err, "out of memory");
    }
    return 0;
}

const strain_report__info_writer strain_report__info_text = {
    .name = "text",
    .render = text_render,
};
