/*
 * strain/report.h: the `strain info` report of one sample: identity hashes, similarity hashes,
 * the parsed structure, indicators and (optionally) strings, rendered as one JSON object
 * (schema: docs/info-schema.md, docs/schemas/info.schema.json) or as readable text.
 */
#ifndef STRAIN_REPORT_H
#define STRAIN_REPORT_H

#include "binary.h"
#include "sample.h"
#include "sig.h"
#include "strings.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Reports use strings of 6 or more characters, not strings' 4: in code and data sections
 * 4- and 5-byte printable runs are mostly opcode and table noise, while every indicator kind
 * is longer (the shortest, an IPv4 address, has 7 characters).
 */
#define STRAIN_INFO_DEFAULT_MIN_STRING 6u

typedef struct strain_info_opts {
    size_t min_string; /* shortest string kept; 0 means STRAIN_INFO_DEFAULT_MIN_STRING */
    bool with_strings; /* put the string list in the report (indicators are always there) */
    /* Trust store for Authenticode verdicts (borrowed; share one across samples). NULL:
     * the system bundle is loaded for each PE. */
    const strain_sig_store *sig_store;
} strain_info_opts;

typedef enum strain_report_format {
    STRAIN_REPORT_TEXT = 0,
    STRAIN_REPORT_JSON, /* one object on one line, no trailing newline */
} strain_report_format;

typedef struct strain_info strain_info;

/*
 * Analyses one sample: hashes, parse, strings, indicators. The sample is borrowed and must
 * outlive the info. Fails only for out-of-memory or bad arguments; a malformed sample gives
 * a partial report with warnings. Caller frees with strain_info_free(). Thread-safe for
 * distinct contexts.
 */
STRAIN_API int strain_info_new(strain_info **out, strain_ctx *ctx, const strain_sample *sample,
                               const strain_info_opts *opts);
STRAIN_API void strain_info_free(strain_info *info);

/*
 * Renders the report; *out is a NUL-terminated malloc'd string the caller frees with free().
 * Thread-safe for distinct contexts.
 */
STRAIN_API int strain_info_render(char **out, strain_ctx *ctx, const strain_info *info,
                                  strain_report_format format);

/* The parsed binary, strings and indicators behind a report; borrowed until info is freed.
 * strain_info_strings() is NULL unless with_strings was asked. Read-only: thread-safe. */
STRAIN_API const strain_binary_info *strain_info_binary(const strain_info *info);
STRAIN_API const strain_strings *strain_info_strings(const strain_info *info);
STRAIN_API const strain_iocs *strain_info_iocs(const strain_info *info);

#ifdef __cplusplus
}
#endif
#endif
