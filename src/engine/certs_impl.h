/*
 * Private to the certificate intelligence (src/engine/certs*.c): the abused-list parser
 * (shared with its fuzzer) and the findings set builder.
 */
#ifndef STRAIN_ENGINE_CERTS_IMPL_H
#define STRAIN_ENGINE_CERTS_IMPL_H

#include <strain/certs.h>
#include <strain/code.h>

#include "util/arena.h"
#include "util/vec.h"

/* One parsed list row; fields point into parser-owned memory valid for the callback only,
 * NULL when the column is absent or the cell empty. */
typedef struct strain_certs__row {
    size_t line; /* 1-based line number in the file */
    const char *sha1, *sha256, *serial, *issuer, *reason, *actor, *source, *note;
} strain_certs__row;

typedef int (*strain_certs__row_cb)(const strain_certs__row *row, void *payload);

/*
 * Parses an abused-certificate list (docs/certs.md) from a buffer: header row naming the
 * columns, then one entry per line; comma or tab separated (the header decides), RFC 4180
 * quoting for CSV. Calls cb per data row; a malformed row fails with "NAME:LINE: why" in ctx
 * (STRAIN_EMALFORMED); a callback's negative value stops and is returned. Returns the number
 * of rows. Checks only the structure and that thumbprints/serials are hex of the right
 * length; the store validates the rest.
 */
int strain_certs__parse_list(strain_ctx *ctx, const uint8_t *data, size_t len, const char *name,
                             strain_certs__row_cb cb, void *payload);

/* A findings set under construction: findings and all their strings/arrays in one arena. */
struct strain_certs_findings {
    strain_arena arena;
    strain_vec items; /* strain_certs_finding */
    size_t skipped;   /* files whose unrelated-code check the comparison cap cut short */
};

/* Helpers shared by certs_findings.c and certs_unrelated.c. */
int strain_certs__findings_new(strain_certs_findings **out);
/* Copy of s ("" for NULL) in the set's arena, NULL when out of memory. */
char *strain_certs__dup(strain_certs_findings *f, const char *s);
/* Appends a finding about certificate c (identity copied); *out to fill in. */
int strain_certs__add(strain_certs_findings *f, strain_certs_finding **out, strain_certs_kind kind,
                      const strain_store_cert *c);
/* Fills an ABUSED finding's list fields and text from entry a. */
int strain_certs__abused_fill(strain_certs_findings *f, strain_certs_finding *x,
                              const strain_store_abused *a);

/*
 * Code similarity for the unrelated-code finding (certs_similarity.c). A side is one file's
 * genome with its indexed features, each marked clean when a clean sample outside an "own"
 * set holds it (own: the clean software whose code is the vendor's, sorted ids). Similarity
 * drops both sides' clean code, then runs strain_compare (score / 100).
 */
typedef struct strain_certs__side strain_certs__side;
/* A stored sample's side (genome read from the store); STRAIN_ENOTFOUND when none stored. */
int strain_certs__side_load(strain_certs__side **out, strain_ctx *ctx, strain_store *st, int64_t id,
                            const int64_t *own, size_t n_own);
/* A side over g (borrowed: must outlive the side). */
int strain_certs__side_genome(strain_certs__side **out, strain_ctx *ctx, strain_store *st,
                              const strain_genome *g, const int64_t *own, size_t n_own);
void strain_certs__side_free(strain_certs__side *s);
/* False for a genome with no native code to judge (none, or managed code only). */
bool strain_certs__side_has_code(const strain_certs__side *s);
/* Both genomes are of one architecture (machine code is only comparable within one). */
bool strain_certs__side_same_arch(const strain_certs__side *a, const strain_certs__side *b);
int strain_certs__similarity(double *out, strain_ctx *ctx, const strain_certs__side *a,
                             const strain_certs__side *b);

/*
 * Appends the unrelated-code findings of certificate c (engine similarity, default
 * threshold) for every file it validly signs that is not labelled clean, or only for
 * only_sample when > 0. *budget is the work left for the whole call (genomes loaded plus
 * comparisons made); a file reached when it is spent counts in f->skipped.
 */
int strain_certs__unrelated_db(strain_certs_findings *f, strain_ctx *ctx, strain_store *st,
                               const strain_store_cert *c, int64_t only_sample, size_t *budget);
/* strain_certs_unrelated_report() appending to an existing set (the query's findings). */
int strain_certs__unrelated_report(strain_certs_findings *f, strain_ctx *ctx, strain_store *st,
                                   const strain_sig_report *rep, const strain_genome *g,
                                   const char *sha256, double threshold);

#endif
