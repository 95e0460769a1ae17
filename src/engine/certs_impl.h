/*
 * Private to the certificate intelligence (src/engine/certs*.c): the abused-list parser
 * (shared with its fuzzer) and the findings set builder.
 */
#ifndef STRAIN_ENGINE_CERTS_IMPL_H
#define STRAIN_ENGINE_CERTS_IMPL_H

#include <strain/certs.h>

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

#endif
