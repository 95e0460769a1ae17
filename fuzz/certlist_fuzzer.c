/*
 * libFuzzer harness for the abused-certificate list parser (engine/certlist.c): the bytes are
 * a list file. Beyond not crashing, every row handed out must hold what the importer relies
 * on: thumbprints of exactly 40/64 hex digits, a hex serial only with an issuer, at least one
 * key, cells within the cell limit and free of control characters.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine/certs_impl.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hex_exact(const char *s, size_t want)
{
    if (s == NULL) {
        return;
    }
    size_t n = strlen(s);
    if ((want != 0 && n != want) || n == 0) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            abort();
        }
    }
}

static void text_ok(const char *s)
{
    if (s == NULL) {
        return;
    }
    size_t n = strlen(s);
    if (n == 0 || n > STRAIN_CERTS_MAX_CELL) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            abort();
        }
    }
}

static int check_row(const strain_certs__row *r, void *payload)
{
    size_t *rows = payload;
    hex_exact(r->sha1, 40);
    hex_exact(r->sha256, 64);
    hex_exact(r->serial, 0);
    if (r->serial != NULL && r->issuer == NULL) {
        abort();
    }
    if (r->sha1 == NULL && r->sha256 == NULL && r->serial == NULL) {
        abort();
    }
    text_ok(r->issuer);
    text_ok(r->reason);
    text_ok(r->actor);
    text_ok(r->source);
    text_ok(r->note);
    if (r->line == 0) {
        abort();
    }
    (*rows)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strain_ctx *ctx = NULL;
    size_t rows = 0;
    if (strain_ctx_new(&ctx) < 0) {
        return 0;
    }
    int n = strain_certs__parse_list(ctx, data, size, "fuzz", check_row, &rows);
    if (n >= 0 && (size_t)n != rows) {
        abort();
    }
    strain_ctx_free(ctx);
    return 0;
}
