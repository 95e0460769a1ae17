/*
 * The info report's analysis: everything `strain info` says about one sample is computed
 * here once (identity and similarity hashes, the parsed binary, strings, indicators), and the
 * writers only format it, so the JSON and text reports can never disagree.
 *
 * A hash that is not available (its implementation returns STRAIN_ENOTFOUND, or the format
 * has none, like imphash for ELF) is left empty and the writers omit the field: an absent
 * field means "not computed", never a made-up value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/info_impl.h"
#include "util/err.h"
#include "util/limits.h"

static int add_warning(strain_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_warning(strain_info *info, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    char *w = strdup(tmp);
    char **slot = w != NULL ? strain_vec_push(&info->warnings) : NULL;
    if (slot == NULL) {
        free(w);
        return STRAIN_ENOMEM;
    }
    *slot = w;
    return STRAIN_OK;
}

int strain_info_new(strain_info **out, strain_ctx *ctx, const strain_sample *sample,
                    const strain_info_opts *opts)
{
    strain_info *info = NULL;
    int err = STRAIN_OK;
    if (out == NULL || sample == NULL || (sample->data == NULL && sample->size > 0)) {
        return strain__fail(ctx, STRAIN_EINVAL, "info: invalid argument");
    }
    info = calloc(1, sizeof(*info));
    if (info == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    info->warnings = (strain_vec)STRAIN_VEC_INIT(char *);
    info->sample = sample;
    if (opts != NULL) {
        info->opts = *opts;
    }
    if (info->opts.min_string == 0) {
        info->opts.min_string = STRAIN_INFO_DEFAULT_MIN_STRING;
    }
    const uint8_t *data = sample->data;
    size_t size = sample->size;

    STRAIN_TRY(strain_hash_md5(info->md5, data, size));
    STRAIN_TRY(strain_hash_sha1(info->sha1, data, size));
    /* Similarity hashes: STRAIN_ENOTFOUND means not available in this build; other errors
     * (a hash refusing its input) are reported, not fatal to the report. */
    int rc = strain_hash_ssdeep(info->ssdeep, data, size);
    if (rc < 0) {
        info->ssdeep[0] = '\0';
        if (rc == STRAIN_ENOMEM) {
            err = rc;
            goto done;
        }
        if (rc != STRAIN_ENOTFOUND) {
            STRAIN_TRY(add_warning(info, "ssdeep: %s", strain_strerror(rc)));
        }
    }
    rc = strain_hash_tlsh(info->tlsh, data, size);
    if (rc < 0) {
        info->tlsh[0] = '\0';
        if (rc == STRAIN_ENOMEM) {
            err = rc;
            goto done;
        }
        if (rc != STRAIN_ENOTFOUND) {
            STRAIN_TRY(add_warning(info, "tlsh: %s", strain_strerror(rc)));
        }
    }

    STRAIN_TRY(strain_binary_parse(&info->bin, ctx, data, size));
    info->bi = strain_binary_get_info(info->bin);
    if (info->bi->format == STRAIN_FORMAT_PE32 || info->bi->format == STRAIN_FORMAT_PE32PLUS) {
        rc = strain_hash_imphash(info->imphash, info->bi);
        if (rc < 0) {
            info->imphash[0] = '\0';
            if (rc == STRAIN_ENOMEM) {
                err = rc;
                goto done;
            }
        }
    }

    if (info->bi->format == STRAIN_FORMAT_PE32 || info->bi->format == STRAIN_FORMAT_PE32PLUS) {
        /* Authenticode: the authentihash of every PE, verdicts for signed ones. A trust store
         * that cannot be read costs the verdicts, not the report. */
        strain_sig_opts sig_opts = {.store = info->opts.sig_store};
        rc = strain_sig_verify(&info->sig, ctx, info->bin, &sig_opts);
        if (rc == STRAIN_ENOMEM) {
            err = rc;
            goto done;
        }
        if (rc < 0) {
            info->sig = NULL;
            STRAIN_TRY(add_warning(info, "signature: %s",
                                   strain_ctx_errmsg(ctx)[0] ? strain_ctx_errmsg(ctx)
                                                             : strain_strerror(rc)));
        } else {
            const strain_sig_info *si = strain_sig_report_info(info->sig);
            for (size_t i = 0; i < si->n_warnings; i++) {
                STRAIN_TRY(add_warning(info, "signature: %s", si->warnings[i]));
            }
        }
    }

    strain_strings_opts so = {.min_len = info->opts.min_string};
    STRAIN_TRY(strain_strings_extract(&info->strings, ctx, data, size, &so));
    if (strain_strings_truncated(info->strings)) {
        STRAIN_TRY(
            add_warning(info, "strings: only the first %u kept (limit)", STRAIN_STRINGS_MAX_COUNT));
    }
    STRAIN_TRY(strain_iocs_extract(&info->iocs, ctx, info->strings));
    for (int k = 0; k < STRAIN_IOC_N_KINDS; k++) {
        if (strain_iocs_truncated(info->iocs, (strain_ioc_kind)k)) {
            STRAIN_TRY(add_warning(info, "iocs: %s cut at %u values (limit)",
                                   strain_ioc_kind_name((strain_ioc_kind)k),
                                   STRAIN_IOCS_MAX_PER_KIND));
        }
    }
    *out = info;
    info = NULL;
done:
    if (err == STRAIN_ENOMEM) {
        strain__fail(ctx, err, "out of memory");
    }
    strain_info_free(info);
    return err;
}

void strain_info_free(strain_info *info)
{
    if (info == NULL) {
        return;
    }
    for (size_t i = 0; i < info->warnings.len; i++) {
        free(*STRAIN_VEC_AT(&info->warnings, char *, i));
    }
    strain_vec_free(&info->warnings);
    strain_sig_report_free(info->sig);
    strain_iocs_free(info->iocs);
    strain_strings_free(info->strings);
    strain_binary_free(info->bin);
    free(info);
}

int strain_info_render(char **out, strain_ctx *ctx, const strain_info *info,
                       strain_report_format format)
{
    const strain_report__info_writer *w;
    if (out == NULL || info == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "info: invalid argument");
    }
    switch (format) {
    case STRAIN_REPORT_TEXT: w = &strain_report__info_text; break;
    case STRAIN_REPORT_JSON: w = &strain_report__info_json; break;
    default: return strain__fail(ctx, STRAIN_EINVAL, "info: unknown report format");
    }
    strain_buf b = STRAIN_BUF_INIT;
    int err = w->render(&b, ctx, info);
    if (err < 0) {
        strain_buf_free(&b);
        return err;
    }
    char *s = strain_buf_detach(&b);
    if (s == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    *out = s;
    return STRAIN_OK;
}

const strain_binary_info *strain_info_binary(const strain_info *info)
{
    return info != NULL ? info->bi : NULL;
}

const strain_strings *strain_info_strings(const strain_info *info)
{
    return info != NULL && info->opts.with_strings ? info->strings : NULL;
}

const strain_iocs *strain_info_iocs(const strain_info *info)
{
    return info != NULL ? info->iocs : NULL;
}

static const char *lib_of(const strain_import *im)
{
    return im->library != NULL ? im->library : "";
}

bool strain_report__same_library(const strain_import *a, const strain_import *b)
{
    return a->delayed == b->delayed && strcmp(lib_of(a), lib_of(b)) == 0;
}

static int cmp_import(const void *x, const void *y, void *arg)
{
    const strain_import *im = arg;
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    int c = strcmp(lib_of(&im[a]), lib_of(&im[b]));
    if (c == 0) {
        c = (int)im[a].delayed - (int)im[b].delayed;
    }
    return c != 0 ? c : (a < b ? -1 : a > b);
}

typedef struct import_run {
    size_t start, len; /* in the sorted index array; the first element is the group's first */
} import_run;

static int cmp_run(const void *x, const void *y, void *arg)
{
    const size_t *idx = arg;
    size_t a = idx[((const import_run *)x)->start], b = idx[((const import_run *)y)->start];
    return a < b ? -1 : a > b;
}

/* Sorting, not a scan per import: a hostile file may list tens of thousands of libraries. */
int strain_report__import_order(size_t **out, const strain_binary_info *bi)
{
    size_t n = bi->n_imports;
    *out = NULL;
    if (n == 0) {
        return STRAIN_OK;
    }
    size_t *idx = malloc(n * sizeof(*idx));
    size_t *res = malloc(n * sizeof(*res));
    import_run *runs = malloc(n * sizeof(*runs));
    if (idx == NULL || res == NULL || runs == NULL) {
        free(idx);
        free(res);
        free(runs);
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    qsort_r(idx, n, sizeof(*idx), cmp_import, (void *)bi->imports);
    size_t n_runs = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 ||
            !strain_report__same_library(&bi->imports[idx[i - 1]], &bi->imports[idx[i]])) {
            runs[n_runs].start = i;
            runs[n_runs].len = 0;
            n_runs++;
        }
        runs[n_runs - 1].len++;
    }
    qsort_r(runs, n_runs, sizeof(*runs), cmp_run, idx);
    size_t k = 0;
    for (size_t r = 0; r < n_runs; r++) {
        for (size_t i = 0; i < runs[r].len; i++) {
            res[k++] = idx[runs[r].start + i];
        }
    }
    free(idx);
    free(runs);
    *out = res;
    return STRAIN_OK;
}

/* PE format spec, "Windows Subsystem". */
const char *strain_report__subsystem_name(uint16_t subsystem)
{
    switch (subsystem) {
    case 1: return "native";
    case 2: return "windows_gui";
    case 3: return "windows_cui";
    case 5: return "os2_cui";
    case 7: return "posix_cui";
    case 8: return "native_windows";
    case 9: return "windows_ce_gui";
    case 10: return "efi_application";
    case 11: return "efi_boot_service_driver";
    case 12: return "efi_runtime_driver";
    case 13: return "efi_rom";
    case 14: return "xbox";
    case 16: return "windows_boot_application";
    default: return NULL;
    }
}

/* System V ABI program header types, plus the GNU extensions every toolchain emits. */
const char *strain_report__segment_type_name(uint32_t type)
{
    switch (type) {
    case 0: return "NULL";
    case 1: return "LOAD";
    case 2: return "DYNAMIC";
    case 3: return "INTERP";
    case 4: return "NOTE";
    case 5: return "SHLIB";
    case 6: return "PHDR";
    case 7: return "TLS";
    case 0x6474e550u: return "GNU_EH_FRAME";
    case 0x6474e551u: return "GNU_STACK";
    case 0x6474e552u: return "GNU_RELRO";
    case 0x6474e553u: return "GNU_PROPERTY";
    default: return NULL;
    }
}

const char *strain_report__elf_type_name(uint16_t type)
{
    switch (type) {
    case 1: return "rel";
    case 2: return "exec";
    case 3: return "dyn";
    case 4: return "core";
    default: return NULL;
    }
}

void strain_report__flags(char out[4], uint32_t flags)
{
    out[0] = (flags & STRAIN_SECTION_READ) ? 'r' : '-';
    out[1] = (flags & STRAIN_SECTION_WRITE) ? 'w' : '-';
    out[2] = (flags & STRAIN_SECTION_EXEC) ? 'x' : '-';
    out[3] = '\0';
}

void strain_report__utc(char out[21], uint32_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        out[0] = '\0';
    }
}
