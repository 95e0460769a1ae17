/*
 * The info report as one JSON object (docs/info-schema.md, docs/schemas/info.schema.json),
 * built with jansson and dumped compact on one line so several samples make JSON Lines.
 *
 * Number conventions, chosen so that no value is ever rounded by a consumer: virtual
 * addresses are hex strings ("0x140001000"): they are 64-bit and analysts read them in hex;
 * file offsets and sizes are integers (bounded by the file); a header-declared 64-bit size that
 * does not fit a signed 64-bit integer (only a hostile ELF has one) is written as a hex string
 * instead. Fields that do not apply to the format, or were not computed, are absent rather
 * than null, so "absent" has one meaning. Object keys keep insertion order (jansson >= 2.8).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report/info_impl.h"
#include "util/err.h"

/* jansson setters return -1 only when out of memory (or on bad arguments we never pass);
 * one sticky flag per report keeps every call site a single line. */
typedef struct jctx {
    bool oom;
} jctx;

static json_t *chk(jctx *j, json_t *v)
{
    if (v == NULL) {
        j->oom = true;
    }
    return v;
}

static void set(jctx *j, json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) < 0) {
        j->oom = true;
    }
}

static void push(jctx *j, json_t *arr, json_t *v)
{
    if (v == NULL || json_array_append_new(arr, v) < 0) {
        j->oom = true;
    }
}

/* Sample text is ASCII by construction (strings) or bytes from headers that may be anything;
 * jansson refuses invalid UTF-8, so such names are written with \xNN escapes. */
static json_t *str(jctx *j, const char *s)
{
    if (s == NULL) {
        s = "";
    }
    json_t *v = json_string(s);
    if (v != NULL) {
        return v;
    }
    size_t n = strlen(s);
    char *tmp = malloc(n * 4 + 1);
    if (tmp == NULL) {
        j->oom = true;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            tmp[k++] = (char)c;
        } else {
            k += (size_t)snprintf(tmp + k, 5, "\\x%02x", c);
        }
    }
    tmp[k] = '\0';
    v = chk(j, json_string(tmp));
    free(tmp);
    return v;
}

static json_t *hex(jctx *j, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "0x%" PRIx64, v);
    return chk(j, json_string(b));
}

static json_t *jnum(jctx *j, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX) {
        return hex(j, v);
    }
    return chk(j, json_integer((json_int_t)v));
}

static json_t *off_size(jctx *j, uint64_t off, uint64_t size)
{
    json_t *o = chk(j, json_object());
    if (o != NULL) {
        set(j, o, "offset", jnum(j, off));
        set(j, o, "size", jnum(j, size));
    }
    return o;
}

static json_t *sections(jctx *j, const strain_binary_info *bi)
{
    json_t *a = chk(j, json_array());
    for (size_t i = 0; a != NULL && i < bi->n_sections; i++) {
        const strain_section *s = &bi->sections[i];
        json_t *o = chk(j, json_object());
        if (o == NULL) {
            break;
        }
        char fl[4];
        strain_report__flags(fl, s->flags);
        set(j, o, "name", str(j, s->name));
        set(j, o, "vaddr", hex(j, s->vaddr));
        set(j, o, "vsize", jnum(j, s->vsize));
        set(j, o, "raw_offset", jnum(j, s->raw_offset));
        set(j, o, "raw_size", jnum(j, s->raw_size));
        set(j, o, "flags", chk(j, json_string(fl)));
        set(j, o, "characteristics", hex(j, s->characteristics));
        set(j, o, "entropy", chk(j, json_real((double)(long)(s->entropy * 1000.0 + 0.5) / 1000.0)));
        push(j, a, o);
    }
    return a;
}

/* Imports grouped by library (and delay-load), groups in order of first appearance. */
static json_t *imports(jctx *j, const strain_binary_info *bi)
{
    json_t *a = chk(j, json_array());
    size_t *order = NULL;
    if (a == NULL || strain_report__import_order(&order, bi) < 0) {
        j->oom = true;
        return a;
    }
    json_t *fns = NULL;
    for (size_t k = 0; k < bi->n_imports && !j->oom; k++) {
        const strain_import *im = &bi->imports[order[k]];
        if (k == 0 || !strain_report__same_library(&bi->imports[order[k - 1]], im)) {
            json_t *grp = chk(j, json_object());
            fns = chk(j, json_array());
            if (grp == NULL || fns == NULL) {
                json_decref(grp);
                json_decref(fns);
                break;
            }
            set(j, grp, "library", str(j, im->library));
            set(j, grp, "delayed", json_boolean(im->delayed));
            set(j, grp, "functions", fns);
            push(j, a, grp);
        }
        if (im->name != NULL) {
            push(j, fns, str(j, im->name));
        } else {
            char b[24];
            snprintf(b, sizeof(b), "ord%" PRIu32, im->ordinal);
            push(j, fns, chk(j, json_string(b)));
        }
    }
    free(order);
    return a;
}

static json_t *exports(jctx *j, const strain_binary_info *bi)
{
    json_t *a = chk(j, json_array());
    for (size_t i = 0; a != NULL && i < bi->n_exports; i++) {
        const strain_export *e = &bi->exports[i];
        json_t *o = chk(j, json_object());
        if (o == NULL) {
            break;
        }
        if (e->name != NULL) {
            set(j, o, "name", str(j, e->name));
        }
        if (bi->format == STRAIN_FORMAT_PE32 || bi->format == STRAIN_FORMAT_PE32PLUS) {
            set(j, o, "ordinal", jnum(j, e->ordinal));
        }
        if (e->forwarder != NULL) {
            set(j, o, "forwarder", str(j, e->forwarder));
        } else {
            set(j, o, "address", hex(j, e->address));
        }
        push(j, a, o);
    }
    return a;
}

static void sig_fields(jctx *j, json_t *root, const strain_info *info);

static void pe_fields(jctx *j, json_t *root, const strain_info *info)
{
    const strain_binary_info *bi = info->bi;
    const strain_pe_info *pe = &bi->pe;
    char utc[21];
    strain_report__utc(utc, pe->timestamp);
    set(j, root, "timestamp", jnum(j, pe->timestamp));
    if (utc[0] != '\0') {
        set(j, root, "timestamp_utc", chk(j, json_string(utc)));
    }
    const char *ss = strain_report__subsystem_name(pe->subsystem);
    char sb[24];
    if (ss == NULL) {
        snprintf(sb, sizeof(sb), "unknown_%u", (unsigned)pe->subsystem);
        ss = sb;
    }
    set(j, root, "subsystem", chk(j, json_string(ss)));
    set(j, root, "is_driver", json_boolean(bi->is_driver));
    set(j, root, "is_dotnet", json_boolean(pe->is_dotnet));
    if (info->imphash[0] != '\0') {
        set(j, root, "imphash", chk(j, json_string(info->imphash)));
    }
    if (pe->has_rich) {
        if (pe->rich_hash[0] != '\0') {
            set(j, root, "rich_hash", chk(j, json_string(pe->rich_hash)));
        }
        json_t *rich = chk(j, json_object());
        json_t *ents = chk(j, json_array());
        for (size_t i = 0; ents != NULL && i < pe->n_rich; i++) {
            json_t *e = chk(j, json_object());
            if (e == NULL) {
                break;
            }
            set(j, e, "product_id", jnum(j, pe->rich[i].product_id));
            set(j, e, "build", jnum(j, pe->rich[i].build));
            set(j, e, "count", jnum(j, pe->rich[i].count));
            push(j, ents, e);
        }
        if (rich != NULL) {
            set(j, rich, "key", hex(j, pe->rich_key));
            set(j, rich, "entries", ents);
            set(j, root, "rich", rich);
        } else {
            json_decref(ents);
        }
    }
    if (pe->pdb_path != NULL) {
        json_t *pdb = chk(j, json_object());
        if (pdb != NULL) {
            set(j, pdb, "path", str(j, pe->pdb_path));
            if (pe->pdb_guid[0] != '\0') {
                set(j, pdb, "guid", str(j, pe->pdb_guid));
            }
            set(j, pdb, "age", jnum(j, pe->pdb_age));
            set(j, root, "pdb", pdb);
        }
    }
    if (pe->n_version_info > 0) {
        json_t *vi = chk(j, json_object());
        for (size_t i = 0; vi != NULL && i < pe->n_version_info; i++) {
            const char *k = pe->version_info[i].key;
            json_t *kv = str(j, k);
            if (kv != NULL && json_string_length(kv) > 0) {
                set(j, vi, json_string_value(kv), str(j, pe->version_info[i].value));
            }
            json_decref(kv);
        }
        set(j, root, "version_info", vi);
    }
    json_t *tls = chk(j, json_array());
    for (size_t i = 0; tls != NULL && i < pe->n_tls_callbacks; i++) {
        push(j, tls, hex(j, pe->tls_callbacks[i]));
    }
    set(j, root, "tls_callbacks", tls);
    if (pe->security_size > 0) {
        set(j, root, "security", off_size(j, pe->security_offset, pe->security_size));
    }
    sig_fields(j, root, info);
}

static json_t *cert_object(jctx *j, const strain_sig_cert *c)
{
    json_t *o = chk(j, json_object());
    if (o != NULL) {
        set(j, o, "subject", str(j, c->subject));
        set(j, o, "issuer", str(j, c->issuer));
        set(j, o, "serial", str(j, c->serial));
        set(j, o, "sha1", str(j, c->sha1));
        set(j, o, "sha256", str(j, c->sha256));
        set(j, o, "not_before", chk(j, json_integer(c->not_before)));
        set(j, o, "not_after", chk(j, json_integer(c->not_after)));
    }
    return o;
}

/* Authenticode summary: enough to match signers and certificates across samples; the full
 * detail (chains, page hashes) is the sig module's report. */
static void sig_fields(jctx *j, json_t *root, const strain_info *info)
{
    if (info->sig == NULL) {
        return;
    }
    const strain_sig_info *si = strain_sig_report_info(info->sig);
    if (si->authentihash[0] != '\0') {
        set(j, root, "authentihash", str(j, si->authentihash));
    }
    if (si->table_size == 0) {
        return;
    }
    json_t *a = chk(j, json_array());
    for (size_t i = 0; a != NULL && i < si->n_signatures; i++) {
        const strain_sig_signature *g = &si->signatures[i];
        json_t *o = chk(j, json_object());
        if (o == NULL) {
            break;
        }
        set(j, o, "entry", jnum(j, g->entry));
        set(j, o, "nested", json_boolean(g->parent != SIZE_MAX));
        set(j, o, "verdict", str(j, strain_sig_verdict_name(g->verdict)));
        if (g->detail != NULL && g->detail[0] != '\0') {
            set(j, o, "detail", str(j, g->detail));
        }
        if (g->digest_alg != NULL) {
            set(j, o, "digest_alg", str(j, g->digest_alg));
        }
        set(j, o, "digest_ok", json_boolean(g->digest_ok));
        if (g->program_name != NULL) {
            set(j, o, "program_name", str(j, g->program_name));
        }
        if (g->signer != NULL) {
            set(j, o, "signer", cert_object(j, g->signer));
        }
        for (size_t t = 0; t < g->n_timestamps; t++) {
            const strain_sig_timestamp *ts = &g->timestamps[t];
            if (t + 1 < g->n_timestamps && ts->status != STRAIN_SIG_TS_VALID) {
                continue; /* the first valid one, else the last */
            }
            json_t *to = chk(j, json_object());
            if (to != NULL) {
                set(j, to, "kind", str(j, strain_sig_ts_kind_name(ts->kind)));
                set(j, to, "status", str(j, strain_sig_ts_status_name(ts->status)));
                set(j, to, "time", chk(j, json_integer(ts->time)));
                set(j, o, "timestamp", to);
            }
            break;
        }
        push(j, a, o);
    }
    set(j, root, "signatures", a);
}

static json_t *elf_object(jctx *j, const strain_binary_info *bi)
{
    const strain_elf_info *e = &bi->elf;
    json_t *o = chk(j, json_object());
    if (o == NULL) {
        return NULL;
    }
    const char *t = strain_report__elf_type_name(e->type);
    set(j, o, "type", t != NULL ? chk(j, json_string(t)) : jnum(j, e->type));
    set(j, o, "machine", jnum(j, e->machine));
    set(j, o, "big_endian", json_boolean(e->big_endian));
    if (e->interpreter != NULL) {
        set(j, o, "interpreter", str(j, e->interpreter));
    }
    if (e->soname != NULL) {
        set(j, o, "soname", str(j, e->soname));
    }
    if (e->build_id[0] != '\0') {
        set(j, o, "build_id", str(j, e->build_id));
    }
    json_t *needed = chk(j, json_array());
    for (size_t i = 0; needed != NULL && i < e->n_needed; i++) {
        push(j, needed, str(j, e->needed[i]));
    }
    set(j, o, "needed", needed);
    json_t *segs = chk(j, json_array());
    for (size_t i = 0; segs != NULL && i < e->n_segments; i++) {
        const strain_segment *s = &e->segments[i];
        json_t *so = chk(j, json_object());
        if (so == NULL) {
            break;
        }
        const char *tn = strain_report__segment_type_name(s->type);
        char fl[4];
        strain_report__flags(fl, s->flags);
        set(j, so, "type", tn != NULL ? chk(j, json_string(tn)) : hex(j, s->type));
        set(j, so, "flags", chk(j, json_string(fl)));
        set(j, so, "vaddr", hex(j, s->vaddr));
        set(j, so, "memsz", jnum(j, s->memsz));
        set(j, so, "offset", jnum(j, s->offset));
        set(j, so, "filesz", jnum(j, s->filesz));
        push(j, segs, so);
    }
    set(j, o, "segments", segs);
    set(j, o, "symbols", jnum(j, bi->n_symbols));
    return o;
}

static json_t *iocs_object(jctx *j, const strain_iocs *iocs)
{
    json_t *o = chk(j, json_object());
    for (int k = 0; o != NULL && k < STRAIN_IOC_N_KINDS; k++) {
        json_t *a = chk(j, json_array());
        size_t n = strain_iocs_count(iocs, (strain_ioc_kind)k);
        for (size_t i = 0; a != NULL && i < n; i++) {
            push(j, a, str(j, strain_iocs_get(iocs, (strain_ioc_kind)k, i)->value));
        }
        set(j, o, strain_ioc_kind_name((strain_ioc_kind)k), a);
    }
    return o;
}

static json_t *strings_array(jctx *j, const strain_strings *s)
{
    json_t *a = chk(j, json_array());
    size_t n = strain_strings_count(s);
    for (size_t i = 0; a != NULL && i < n; i++) {
        const strain_string *x = strain_strings_get(s, i);
        json_t *o = chk(j, json_object());
        if (o == NULL) {
            break;
        }
        set(j, o, "offset", jnum(j, x->offset));
        set(j, o, "encoding", chk(j, json_string(strain_string_encoding_name(x->encoding))));
        set(j, o, "text", str(j, x->text));
        push(j, a, o);
    }
    return a;
}

static int json_render(strain_buf *out, strain_ctx *ctx, const strain_info *info)
{
    jctx jc = {false};
    jctx *j = &jc;
    const strain_sample *smp = info->sample;
    const strain_binary_info *bi = info->bi;
    bool is_pe = bi->format == STRAIN_FORMAT_PE32 || bi->format == STRAIN_FORMAT_PE32PLUS;
    bool is_elf = bi->format == STRAIN_FORMAT_ELF32 || bi->format == STRAIN_FORMAT_ELF64;
    json_t *root = json_object();
    if (root == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    set(j, root, "path", str(j, smp->path));
    if (smp->archive_path != NULL) {
        set(j, root, "archive_path", str(j, smp->archive_path));
    }
    set(j, root, "size", jnum(j, smp->size));
    set(j, root, "md5", chk(j, json_string(info->md5)));
    set(j, root, "sha1", chk(j, json_string(info->sha1)));
    set(j, root, "sha256", chk(j, json_string(smp->sha256)));
    if (info->ssdeep[0] != '\0') {
        set(j, root, "ssdeep", str(j, info->ssdeep));
    }
    if (info->tlsh[0] != '\0') {
        set(j, root, "tlsh", str(j, info->tlsh));
    }
    set(j, root, "format", chk(j, json_string(strain_format_name(bi->format))));
    set(j, root, "arch", chk(j, json_string(strain_arch_name(bi->arch))));
    if (bi->has_entry) {
        set(j, root, "entry", hex(j, bi->entry));
    }
    if (is_pe || is_elf) {
        set(j, root, "image_base", hex(j, bi->image_base));
    }
    if (is_pe) {
        pe_fields(j, root, info);
    }
    if (bi->overlay_size > 0) {
        set(j, root, "overlay", off_size(j, bi->overlay_offset, bi->overlay_size));
    }
    set(j, root, "sections", sections(j, bi));
    set(j, root, "imports", imports(j, bi));
    set(j, root, "exports", exports(j, bi));
    if (is_elf) {
        set(j, root, "elf", elf_object(j, bi));
    }
    set(j, root, "iocs", iocs_object(j, info->iocs));
    if (info->opts.with_strings) {
        set(j, root, "strings", strings_array(j, info->strings));
    }
    json_t *warn = chk(j, json_array());
    for (size_t i = 0; warn != NULL && i < bi->n_warnings; i++) {
        push(j, warn, str(j, bi->warnings[i]));
    }
    for (size_t i = 0; warn != NULL && i < info->warnings.len; i++) {
        push(j, warn, str(j, *STRAIN_VEC_AT(&info->warnings, char *, i)));
    }
    set(j, root, "warnings", warn);
    set(j, root, "partial", json_boolean(bi->partial || info->warnings.len > 0));
    char *text = NULL;
    if (!jc.oom) {
        text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
    }
    json_decref(root);
    if (text == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    int err = strain_buf_puts(out, text);
    free(text);
    if (err < 0) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    return STRAIN_OK;
}

const strain_report__info_writer strain_report__info_json = {
    .name = "json",
    .render = json_render,
};
