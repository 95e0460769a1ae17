/*
 * Abused-certificate lists (docs/certs.md): a header row naming the columns, then one
 * certificate per line, comma- or tab-separated. The header decides the separator (a tab in
 * it means TSV), so spreadsheets' CSV exports and hand-written TSV both load. These are user
 * files that may come from anywhere: every row is checked, a bad row stops the import with
 * its line number (an analyst must fix the list rather than get half of it silently), and
 * nothing reaches the database unless the whole file parsed (one transaction).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/certs_impl.h"
#include "util/err.h"
#include "util/file.h"
#include "util/limits.h"

enum { COL_SHA1, COL_SHA256, COL_SERIAL, COL_ISSUER, COL_REASON, COL_ACTOR, COL_SOURCE, COL_NOTE };
static const char *const col_names[] = {"sha1",   "sha256", "serial", "issuer",
                                        "reason", "actor",  "source", "note"};
#define N_COLS (sizeof(col_names) / sizeof(col_names[0]))
#define COL_NONE (-1)

typedef struct parser {
    strain_ctx *ctx;
    const char *name;
    size_t line;
    char sep;
    size_t n_header;
    int map[STRAIN_CERTS_MAX_COLUMNS]; /* header column -> COL_* or COL_NONE */
    char *cells[STRAIN_CERTS_MAX_COLUMNS];
    size_t n_cells;
} parser;

static int bad(parser *p, const char *why)
{
    return strain__fail(p->ctx, STRAIN_EMALFORMED, "%s:%zu: %s", p->name, p->line, why);
}

static void trim(char **s)
{
    char *b = *s;
    while (*b == ' ') {
        b++;
    }
    size_t n = strlen(b);
    while (n > 0 && b[n - 1] == ' ') {
        b[--n] = '\0';
    }
    *s = b;
}

/* Splits one line (no newline, buf is a writable copy) into p->cells, unquoting CSV cells in
 * place: an unquoted cell ends at the separator, a quoted one at its closing quote ("" is a
 * quote). The output never outgrows the input, so buf suffices. */
static int split(parser *p, char *buf, size_t len)
{
    size_t r = 0;
    size_t w = 0;
    p->n_cells = 0;
    for (;;) {
        char *cell = buf + w;
        bool quoted = false;
        if (p->n_cells == STRAIN_CERTS_MAX_COLUMNS) {
            return bad(p, "too many columns (limit 64)");
        }
        while (r < len && buf[r] == ' ' && p->sep == ',') {
            r++;
        }
        if (p->sep == ',' && r < len && buf[r] == '"') {
            quoted = true;
            r++;
            for (;;) {
                if (r >= len) {
                    return bad(p, "unterminated quoted field (a field cannot span lines)");
                }
                if (buf[r] == '"') {
                    if (r + 1 < len && buf[r + 1] == '"') {
                        buf[w++] = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                buf[w++] = buf[r++];
            }
            while (r < len && buf[r] == ' ') {
                r++;
            }
            if (r < len && buf[r] != p->sep) {
                return bad(p, "text after a closing quote");
            }
        } else {
            while (r < len && buf[r] != p->sep) {
                if (buf[r] == '"' && p->sep == ',') {
                    return bad(p, "quote inside an unquoted field (quote the whole field)");
                }
                buf[w++] = buf[r++];
            }
        }
        bool more = r < len; /* stopped at a separator */
        r++;
        buf[w++] = '\0';
        if (!quoted) {
            trim(&cell);
        }
        if (strlen(cell) > STRAIN_CERTS_MAX_CELL) {
            return bad(p, "field longer than 1023 bytes");
        }
        for (const char *c = cell; *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                return bad(p, "control character in a field");
            }
        }
        p->cells[p->n_cells++] = cell;
        if (!more) {
            return STRAIN_OK;
        }
    }
}

static int header(parser *p)
{
    bool seen[N_COLS] = {false};
    p->n_header = p->n_cells;
    for (size_t i = 0; i < p->n_cells; i++) {
        p->map[i] = COL_NONE;
        for (size_t k = 0; k < N_COLS; k++) {
            if (strcasecmp(p->cells[i], col_names[k]) == 0) {
                if (seen[k]) {
                    return bad(p, "a column is named twice in the header");
                }
                seen[k] = true;
                p->map[i] = (int)k;
            }
        }
    }
    if (!seen[COL_SHA1] && !seen[COL_SHA256] && !seen[COL_SERIAL]) {
        return bad(p, "header names no sha1, sha256 or serial column (the first line must "
                      "be the header, e.g. sha1,sha256,serial,issuer,reason,actor,source,note)");
    }
    if (seen[COL_SERIAL] && !seen[COL_ISSUER]) {
        return bad(p, "header has a serial column but no issuer column (a serial is only "
                      "unique within its issuer)");
    }
    return STRAIN_OK;
}

/* Thumbprints and serials are copied in many forms ("AB:CD", "ab cd", "0x..."): keep the
 * hex digits, refuse anything else. */
static int hexify(parser *p, const char **v, size_t want, const char *what)
{
    char *s = (char *)*v;
    size_t w = 0;
    if (s == NULL) {
        return STRAIN_OK;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    char *out = s;
    for (size_t r = 0; s[r] != '\0'; r++) {
        if (s[r] == ':' || s[r] == ' ' || s[r] == '-') {
            continue;
        }
        if (!isxdigit((unsigned char)s[r])) {
            char msg[96];
            snprintf(msg, sizeof(msg), "%s is not hexadecimal", what);
            return bad(p, msg);
        }
        out[w++] = s[r];
    }
    out[w] = '\0';
    if ((want != 0 && w != want) || w == 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be %zu hex digits, not %zu", what, want, w);
        return want != 0 ? bad(p, msg) : bad(p, "serial is empty");
    }
    *v = out;
    return STRAIN_OK;
}

static int row(parser *p, strain_certs__row_cb cb, void *payload)
{
    strain_certs__row r;
    const char **slot[N_COLS] = {&r.sha1,   &r.sha256, &r.serial, &r.issuer,
                                 &r.reason, &r.actor,  &r.source, &r.note};
    int err;
    memset(&r, 0, sizeof(r));
    r.line = p->line;
    if (p->n_cells > p->n_header) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%zu fields but the header has %zu columns", p->n_cells,
                 p->n_header);
        return bad(p, msg);
    }
    for (size_t i = 0; i < p->n_cells; i++) {
        if (p->map[i] != COL_NONE && p->cells[i][0] != '\0') {
            *slot[p->map[i]] = p->cells[i];
        }
    }
    STRAIN_TRY(hexify(p, &r.sha1, 40, "sha1"));
    STRAIN_TRY(hexify(p, &r.sha256, 64, "sha256"));
    STRAIN_TRY(hexify(p, &r.serial, 0, "serial"));
    if (r.serial != NULL && r.issuer == NULL) {
        return bad(p, "serial without issuer");
    }
    if (r.sha1 == NULL && r.sha256 == NULL && r.serial == NULL) {
        return bad(p, "no sha1, sha256 or serial+issuer: nothing identifies the certificate");
    }
    err = cb != NULL ? cb(&r, payload) : STRAIN_OK;
done:
    return err;
}

int strain_certs__parse_list(strain_ctx *ctx, const uint8_t *data, size_t len, const char *name,
                             strain_certs__row_cb cb, void *payload)
{
    parser p;
    char *buf = NULL;
    size_t pos = 0;
    int n = 0;
    int err = STRAIN_OK;
    bool have_header = false;
    memset(&p, 0, sizeof(p));
    p.ctx = ctx;
    p.name = name != NULL ? name : "list";
    if (len >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf) {
        pos = 3; /* UTF-8 byte-order mark, as spreadsheet exports write */
    }
    if (memchr(data, '\0', len) != NULL) {
        p.line = 1;
        return bad(&p, "NUL byte: not a text file");
    }
    while (pos < len) {
        const uint8_t *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - data) : len;
        size_t l = end - pos;
        p.line++;
        if (l > 0 && data[pos + l - 1] == '\r') {
            l--;
        }
        free(buf);
        if ((buf = malloc(l + 1)) == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        memcpy(buf, data + pos, l);
        buf[l] = '\0';
        pos = end + 1;
        size_t k = 0;
        while (k < l && (buf[k] == ' ' || buf[k] == '\t')) {
            k++;
        }
        if (k == l || buf[k] == '#') {
            continue; /* blank line or comment */
        }
        if (!have_header) {
            p.sep = memchr(buf, '\t', l) != NULL ? '\t' : ',';
        }
        STRAIN_TRY(split(&p, buf, l));
        if (!have_header) {
            STRAIN_TRY(header(&p));
            have_header = true;
            continue;
        }
        STRAIN_TRY(row(&p, cb, payload));
        n++;
    }
    if (!have_header) {
        p.line = p.line == 0 ? 1 : p.line;
        err = bad(&p, "empty list: no header row");
        goto done;
    }
    err = n;
done:
    free(buf);
    return err;
}

typedef struct import_state {
    strain_store *st;
    size_t n;
    strain_ctx *ctx;
    const char *name;
} import_state;

static int put_row(const strain_certs__row *r, void *payload)
{
    import_state *is = payload;
    strain_store_abused a = {0,         r->sha1,  r->sha256, r->serial, r->issuer,
                             r->reason, r->actor, r->source, r->note};
    int err = strain_store_put_abused(is->st, NULL, &a);
    if (err < 0) {
        /* The store's message is in ctx; say where in the file. */
        char why[512];
        snprintf(why, sizeof(why), "%s", strain_ctx_errmsg(is->ctx));
        return strain__fail(is->ctx, err, "%s:%zu: %s", is->name, r->line, why);
    }
    is->n++;
    return STRAIN_OK;
}

int strain_certs_import_buffer(size_t *out_n, strain_ctx *ctx, strain_store *st, const void *data,
                               size_t len, const char *name)
{
    import_state is = {st, 0, ctx, name != NULL ? name : "list"};
    int err;
    if (out_n == NULL || ctx == NULL || st == NULL || (data == NULL && len > 0)) {
        return STRAIN_EINVAL;
    }
    /* Parse once without writing, so a bad row is reported before any lock is taken. */
    STRAIN_TRY(strain_certs__parse_list(ctx, data, len, is.name, NULL, NULL));
    STRAIN_TRY(strain_store_begin(st));
    err = strain_certs__parse_list(ctx, data, len, is.name, put_row, &is);
    if (err < 0) {
        strain_store_rollback(st);
        goto done;
    }
    STRAIN_TRY(strain_store_commit(st));
    *out_n = is.n;
done:
    return err < 0 ? err : STRAIN_OK;
}

int strain_certs_import_file(size_t *out_n, strain_ctx *ctx, strain_store *st, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int err;
    if (out_n == NULL || ctx == NULL || st == NULL || path == NULL) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(strain__read_file(ctx, path, STRAIN_CERTS_MAX_LIST_BYTES, &data, &len));
    err = strain_certs_import_buffer(out_n, ctx, st, data, len, path);
done:
    free(data);
    return err;
}
