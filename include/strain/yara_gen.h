/*
 * strain/yara_gen.h: YARA rules from shared code and strings. The functions most of the given
 * files share (by exact genotype hash) and no excluded file has are re-decoded, and their first
 * instructions are written as hex strings with ?? over the bytes the genotype normaliser
 * ignores (displacements, relative branch targets, 32/64-bit immediates: what moves when code
 * is relinked or rebased); the strings of their data sections that most of them hold and no
 * excluded file does are written as text. The condition is "N of them", N chosen from how many
 * strings each given file carries. Every rule is compiled and checked with libyara before it
 * is returned.
 */
#ifndef STRAIN_YARA_GEN_H
#define STRAIN_YARA_GEN_H

#include "code.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A file given to the generator (bytes borrowed for the call). */
typedef struct strain_yara_file {
    const uint8_t *data;
    size_t size;
    const char *name;
} strain_yara_file;

typedef struct strain_yara_opts {
    const char *rule_name; /* NULL: "strain_generated" (must be a YARA identifier) */
    const char *family;    /* metadata, may be NULL */
    const char *actor;     /* metadata, may be NULL */
    size_t max_strings;    /* 0 => 24 */
    /* Genomes of the excluded files, in the same order, when the caller already has them
     * (they are built otherwise); borrowed for the call. NULL: build them. */
    const strain_genome *const *exclude_genomes;
} strain_yara_opts;

typedef struct strain_yara_report {
    size_t n_strings;        /* hex strings in the rule */
    size_t n_of;             /* the N of "N of them" */
    size_t members_matched;  /* given files the final rule matches (libyara) */
    size_t excluded_matched; /* excluded files it matches (always 0 on success) */
} strain_yara_report;

/*
 * Writes a rule (*out, malloc'd NUL-terminated text, caller frees) from files[0..n) that no
 * file of exclude[0..n_ex) matches. Fails with STRAIN_ENOTFOUND when no shared code absent
 * from the excluded set is found, or when the rule would match fewer than 90% of the files or
 * any excluded file (ctx's message says which). report may be NULL. Thread-safe for distinct
 * contexts (libyara is initialised once, process-wide).
 */
STRAIN_API int strain_yara_generate(char **out, strain_yara_report *report, strain_ctx *ctx,
                                    const strain_yara_file *files, size_t n,
                                    const strain_yara_file *exclude, size_t n_ex,
                                    const strain_yara_opts *opts);

typedef struct strain_yara_rules strain_yara_rules;

/* Compiles rule text with libyara. Caller frees with strain_yara_rules_free(). */
STRAIN_API int strain_yara_compile(strain_yara_rules **out, strain_ctx *ctx, const char *text);
STRAIN_API void strain_yara_rules_free(strain_yara_rules *r);
/* 1 when any rule matches data, 0 when none, < 0 on a scan error. Thread-safe. */
STRAIN_API int strain_yara_scan(const strain_yara_rules *r, strain_ctx *ctx, const uint8_t *data,
                                size_t size);

#ifdef __cplusplus
}
#endif
#endif
