/*
 * Strings as genotypes (genome_strings.c), shared with the engine, which indexes the same
 * hashes as STRING features and shows the text as evidence.
 */
#ifndef STRAIN_CODE_GENOME_STRINGS_H
#define STRAIN_CODE_GENOME_STRINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strain/binary.h>
#include <strain/code.h>

/* A distinct string of a file: its hash and where its first occurrence is. */
typedef struct strain_code_string {
    uint64_t hash;
    uint64_t offset; /* file offset */
    uint32_t len;    /* characters */
    bool utf16;
    /* a stated import's name behind its hint bytes: the engine keeps it (the same SDK and
     * imports give the same bytes, a toolchain trait that actors share), the genome does
     * not (every addon built against one API holds the same) */
    bool import_hint;
} strain_code_string;

/* The hash of a string's text (never 0). */
uint64_t strain_code__string_hash(const char *text, size_t len);

/* The distinct strings of bin's data sections (data, size: the bytes bin was parsed from),
 * sorted by hash; *out malloc'd, caller frees. */
int strain_code__binary_strings(strain_code_string **out, size_t *out_n, strain_ctx *ctx,
                                const strain_binary *bin, const uint8_t *data, size_t size);

/* strain_genome_build with the binary's strings already extracted (strs sorted by hash and
 * unique, as strain_code__binary_strings gives them): the engine needs their offsets too and
 * extracts them once. */
int strain_code__genome_build(strain_genome **out, strain_ctx *ctx, const strain_binary *bin,
                              const strain_code_options *opts, const strain_code_string *strs,
                              size_t n_strs);

#endif
