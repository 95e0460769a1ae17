/*
 * Printable strings, as GNU `strings -a` finds them, so an analyst can check our list against
 * the tool they already trust: ASCII runs of bytes 0x20..0x7e or tab (strings' default 7-bit
 * "s" encoding), and UTF-16LE runs of the same characters each followed by a zero byte
 * (`strings -el`: a 16-bit unit is kept only when it is <= 0xff and printable). Runs shorter
 * than min_len are skipped. After a UTF-16LE run ends at a failing unit, the search resumes
 * one byte further, as strings does, so a string starting at an odd offset is still found.
 *
 * The two lists are merged by offset. Texts are copied into one arena: a sample's strings die
 * together, and the caller's buffer need not outlive the result.
 */
#include <stdlib.h>
#include <string.h>

#include <strain/strings.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/vec.h"

struct strain_strings {
    strain_arena arena;
    strain_vec items; /* strain_string, by offset */
    bool truncated;
};

const char *strain_string_encoding_name(strain_string_encoding e)
{
    return e == STRAIN_STRING_UTF16LE ? "utf16le" : "ascii";
}

/* strings' STRING_ISGRAPHIC for its default encoding: ISPRINT (ASCII only) or tab. One
 * unsigned compare: this runs once per byte of every sample (twice with UTF-16LE). */
static inline bool is_graphic(uint8_t c)
{
    return (uint8_t)(c - 0x20) < 0x5f || c == '\t';
}

typedef struct scan {
    strain_arena *arena;
    strain_vec *out;
    size_t max_count;
    bool truncated;
} scan;

/* Records one run; false when the cap is reached (the run is dropped and noted). */
static int add_run(scan *sc, uint64_t off, const uint8_t *p, size_t n_chars, size_t stride)
{
    if (sc->out->len >= sc->max_count) {
        sc->truncated = true;
        return 1;
    }
    char *text = strain_arena_alloc(sc->arena, n_chars + 1);
    strain_string *s = strain_vec_push(sc->out);
    if (text == NULL || s == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < n_chars; i++) {
        text[i] = (char)p[i * stride];
    }
    text[n_chars] = '\0';
    s->offset = off;
    s->text = text;
    s->len = n_chars;
    s->encoding = stride == 1 ? STRAIN_STRING_ASCII : STRAIN_STRING_UTF16LE;
    return 0;
}

static int scan_ascii(scan *sc, const uint8_t *data, size_t size, size_t min_len)
{
    size_t i = 0;
    while (i < size) {
        if (!is_graphic(data[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < size && is_graphic(data[i])) {
            i++;
        }
        if (i - start >= min_len) {
            int rc = add_run(sc, start, data + start, i - start, 1);
            if (rc != 0) {
                return rc < 0 ? rc : 0;
            }
        }
    }
    return 0;
}

static inline bool utf16_unit_ok(const uint8_t *data, size_t size, size_t i)
{
    return size - i >= 2 && is_graphic(data[i]) && data[i + 1] == 0;
}

static int scan_utf16le(scan *sc, const uint8_t *data, size_t size, size_t min_len)
{
    size_t i = 0;
    while (i < size) {
        if (!utf16_unit_ok(data, size, i)) {
            i++;
            continue;
        }
        size_t start = i;
        size_t n = 0;
        while (i < size && utf16_unit_ok(data, size, i)) {
            i += 2;
            n++;
        }
        if (n >= min_len) {
            int rc = add_run(sc, start, data + start, n, 2);
            if (rc != 0) {
                return rc < 0 ? rc : 0;
            }
        }
        /* i is the failing unit: strings resumes one byte into it. The byte at i cannot start
         * a run that the next iteration would miss, since the loop re-tests i first. */
    }
    return 0;
}

int strain_strings_extract(strain_strings **out, strain_ctx *ctx, const uint8_t *data, size_t size,
                           const strain_strings_opts *opts)
{
    strain_strings *s = NULL;
    strain_vec a = STRAIN_VEC_INIT(strain_string);
    strain_vec u = STRAIN_VEC_INIT(strain_string);
    int err = STRAIN_OK;
    if (out == NULL || (data == NULL && size > 0)) {
        return strain__fail(ctx, STRAIN_EINVAL, "strings: invalid argument");
    }
    strain_strings_opts o = {0};
    if (opts != NULL) {
        o = *opts;
    }
    size_t min_len = o.min_len > 0 ? o.min_len : STRAIN_STRINGS_DEFAULT_MIN;
    size_t max_count = o.max_count > 0 && o.max_count < STRAIN_STRINGS_MAX_COUNT
                           ? o.max_count
                           : STRAIN_STRINGS_MAX_COUNT;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    s->items = (strain_vec)STRAIN_VEC_INIT(strain_string);
    scan sa = {&s->arena, &a, max_count, false};
    scan su = {&s->arena, &u, max_count, false};
    if (!o.no_ascii) {
        STRAIN_TRY(scan_ascii(&sa, data, size, min_len));
    }
    if (!o.no_utf16le) {
        STRAIN_TRY(scan_utf16le(&su, data, size, min_len));
    }
    /* Merge by offset; the cap applies to the merged list, so the first max_count strings of
     * the file are kept whatever their encoding. */
    size_t total = a.len + u.len;
    if (total > max_count) {
        total = max_count;
    }
    if (total > 0 && strain_vec_reserve(&s->items, total) < 0) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    size_t ia = 0, iu = 0;
    while (s->items.len < total) {
        const strain_string *pa = ia < a.len ? STRAIN_VEC_AT(&a, strain_string, ia) : NULL;
        const strain_string *pu = iu < u.len ? STRAIN_VEC_AT(&u, strain_string, iu) : NULL;
        const strain_string *next;
        if (pu == NULL || (pa != NULL && pa->offset <= pu->offset)) {
            next = pa;
            ia++;
        } else {
            next = pu;
            iu++;
        }
        *(strain_string *)strain_vec_push(&s->items) = *next; /* reserved: cannot fail */
    }
    s->truncated = sa.truncated || su.truncated || a.len + u.len > total;
    *out = s;
    s = NULL;
done:
    if (err == STRAIN_ENOMEM) {
        strain__fail(ctx, err, "out of memory");
    }
    strain_vec_free(&a);
    strain_vec_free(&u);
    strain_strings_free(s);
    return err;
}

void strain_strings_free(strain_strings *s)
{
    if (s == NULL) {
        return;
    }
    strain_vec_free(&s->items);
    strain_arena_release(&s->arena);
    free(s);
}

size_t strain_strings_count(const strain_strings *s)
{
    return s != NULL ? s->items.len : 0;
}

const strain_string *strain_strings_get(const strain_strings *s, size_t i)
{
    if (s == NULL || i >= s->items.len) {
        return NULL;
    }
    return STRAIN_VEC_AT(&s->items, strain_string, i);
}

bool strain_strings_truncated(const strain_strings *s)
{
    return s != NULL && s->truncated;
}
