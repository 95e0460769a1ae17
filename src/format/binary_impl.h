/*
 * The parsed binary's private layout, shared by the format parsers (pe*.c, elf.c) and
 * binary.c. Parsers append to the vectors and allocate strings in the arena; binary.c
 * publishes the vectors into strain_binary_info when parsing ends.
 */
#ifndef STRAIN_FORMAT_BINARY_IMPL_H
#define STRAIN_FORMAT_BINARY_IMPL_H

#include <strain/binary.h>

#include "util/arena.h"
#include "util/span.h"
#include "util/vec.h"

#define STRAIN_BINARY_MAX_WARNINGS 256u /* past this a hostile file only repeats itself */

/* VA map (vamap.c): ranges backed by file bytes, and disjoint pieces owned by them. */
typedef struct strain_va_owner {
    uint64_t vaddr, len, offset;
} strain_va_owner;
typedef struct strain_va_piece {
    uint64_t start, end; /* [start, end) */
    uint32_t owner;      /* index into va_owners */
} strain_va_piece;

struct strain_binary {
    strain_ctx *ctx;
    strain_arena arena; /* every string and fixed array of the result */
    strain_span file;   /* the bytes parsed (not owned) */
    strain_binary_info info;
    strain_vec sections; /* strain_section */
    strain_vec imports;  /* strain_import */
    strain_vec exports;  /* strain_export */
    strain_vec symbols;  /* strain_symbol */
    strain_vec warnings; /* const char * (arena) */
    size_t dropped_warnings;
    strain_va_owner *va_owners;
    size_t n_va_owners;
    strain_va_piece *va_pieces; /* sorted by start */
    size_t n_va_pieces;
};

/*
 * Records a warning (printf-style) and marks the result partial. Returns 0, or STRAIN_ENOMEM
 * (the only failure a parser propagates).
 */
int strain_binary__warn(strain_binary *bin, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Builds the VA map from the published info; lookups are a binary search. */
int strain_vamap__build(strain_binary *bin);
int strain_vamap__lookup(const strain_binary *bin, uint64_t va, uint64_t *out_off,
                         size_t *out_len);
void strain_vamap__free(strain_binary *bin);

/* Format parsers. Each returns STRAIN_EFORMAT when the bytes are not its format (nothing
 * recorded), 0 when parsed (possibly partial), STRAIN_ENOMEM on out-of-memory. */
int strain_pe__parse(strain_binary *bin);
int strain_elf__parse(strain_binary *bin);

#endif
