/*
 * The info report's private layout, shared by info.c (analysis) and the writers
 * (info_json.c, info_text.c). Writers plug in through strain_report__info_writer: each turns
 * one analysed sample into text in a buffer, nothing else.
 */
#ifndef STRAIN_REPORT_INFO_IMPL_H
#define STRAIN_REPORT_INFO_IMPL_H

#include <strain/hash.h>
#include <strain/report.h>

#include "util/buf.h"
#include "util/vec.h"

struct strain_info {
    const strain_sample *sample; /* borrowed */
    strain_info_opts opts;
    strain_binary *bin;
    const strain_binary_info *bi;
    char md5[STRAIN_MD5_HEX];
    char sha1[STRAIN_SHA1_HEX];
    char ssdeep[STRAIN_SSDEEP_MAX]; /* "" when not computed */
    char tlsh[STRAIN_TLSH_MAX];     /* "" when not computed */
    char imphash[STRAIN_MD5_HEX];   /* "" when none */
    strain_strings *strings;        /* always extracted (indicators need them) */
    strain_iocs *iocs;
    strain_sig_report *sig; /* PE only: Authenticode (authentihash, signatures) */
    strain_vec warnings;    /* char * (malloc'd): report-level warnings */
};

typedef struct strain_report__info_writer {
    const char *name;
    int (*render)(strain_buf *out, strain_ctx *ctx, const strain_info *info);
} strain_report__info_writer;

extern const strain_report__info_writer strain_report__info_json;
extern const strain_report__info_writer strain_report__info_text;

/* Shared by the writers: lowercase names for numeric fields, NULL when unknown. */
const char *strain_report__subsystem_name(uint16_t subsystem);
const char *strain_report__segment_type_name(uint32_t type);
const char *strain_report__elf_type_name(uint16_t type);
/*
 * Import indices grouped by (library, delay-load): groups in order of first appearance, file
 * order inside a group (ELF imports interleave libraries). *out is malloc'd (n_imports
 * entries, NULL when none); 0 or STRAIN_ENOMEM.
 */
int strain_report__import_order(size_t **out, const strain_binary_info *bi);
bool strain_report__same_library(const strain_import *a, const strain_import *b);
/* "r-x" style flags into out[4]. */
void strain_report__flags(char out[4], uint32_t flags);
/* "YYYY-MM-DDTHH:MM:SSZ" for a POSIX time. */
void strain_report__utc(char out[21], uint32_t t);

#endif
