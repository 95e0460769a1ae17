/*
 * The strings of a binary's data sections, as genotypes: the messages, format strings, names
 * and paths a program's code uses survive recompilation with another compiler version or
 * other flags, where code genotypes change with instruction selection and register
 * allocation. They are the genome's second channel (strain_genome_info.strings) and the
 * engine's STRING features (src/engine/strings_keys.c): one hash for both.
 *
 * Only non-executable sections are read (code bytes give printable junk), names the binary
 * already states as imports, exports or symbols are left out (the engine indexes them as
 * names), runs longer than STRAIN_ENGINE_STRING_MAX_LEN are tables or packed blobs (Go's
 * string pool is one run), and runs without a word in them are printable bytes of tables.
 */
#include <stdlib.h>
#include <string.h>

#include <strain/strings.h>

#include "code/genome_strings.h"
#include "code/hash64.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/u64sort.h"
#include "util/vec.h"

#define STRING_SEED 0x73747269ull /* "stri": kinds never share a hash space */

uint64_t strain_code__string_hash(const char *text, size_t len)
{
    uint64_t h = strain_hash64(text, len, STRING_SEED);
    /* 0 is reserved (the engine's "strings indexed" marker) */
    return h != 0 ? h : 1;
}

static int cmp_str_ref(const void *a, const void *b)
{
    const strain_code_string *x = a;
    const strain_code_string *y = b;
    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Hashes of the names the binary states (imports, exports, symbols, libraries), sorted. */
static int stated_names(uint64_t **out, size_t *out_n, const strain_binary_info *bi)
{
    size_t cap = bi->n_imports * 2 + bi->n_exports + bi->n_symbols;
    uint64_t *v = malloc((cap ? cap : 1) * sizeof(*v));
    size_t n = 0;
    if (v == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < bi->n_imports; i++) {
        const char *s[2] = {bi->imports[i].name, bi->imports[i].library};
        for (int j = 0; j < 2; j++) {
            if (s[j] != NULL) {
                v[n++] = strain_code__string_hash(s[j], strlen(s[j]));
            }
        }
    }
    for (size_t i = 0; i < bi->n_exports; i++) {
        if (bi->exports[i].name != NULL) {
            v[n++] = strain_code__string_hash(bi->exports[i].name, strlen(bi->exports[i].name));
        }
    }
    for (size_t i = 0; i < bi->n_symbols; i++) {
        if (bi->symbols[i].name != NULL) {
            v[n++] = strain_code__string_hash(bi->symbols[i].name, strlen(bi->symbols[i].name));
        }
    }
    *out_n = strain_u64_sort_unique(v, n);
    *out = v;
    return STRAIN_OK;
}

/* A run with no three letters in a row ("A@qVc", "30!]^JV") is bytes of a table or of
 * packed data that happen to be printable, not text a programmer wrote. */
static bool has_word(const char *t, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        bool letter = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z');
        run = letter ? run + 1 : 0;
        if (run >= 3) {
            return true;
        }
    }
    return false;
}

/* An import-by-name entry whose 2-byte hint happens to be printable reads as the import's
 * name behind one or two characters ("7napi_create_error"). */
static bool import_hint(const char *t, size_t len, const uint64_t *stated, size_t n_stated)
{
    for (size_t skip = 1; skip <= 2 && skip < len; skip++) {
        if (strain_u64_has(stated, n_stated, strain_code__string_hash(t + skip, len - skip))) {
            return true;
        }
    }
    return false;
}

/* Appends the strings of one section's bytes to out (strain_code_string items). */
static int section_strings(strain_vec *out, strain_ctx *ctx, const strain_section *sec,
                           const uint8_t *data, size_t size, const uint64_t *stated,
                           size_t n_stated)
{
    if (sec->raw_offset >= size || sec->raw_size == 0) {
        return STRAIN_OK;
    }
    size_t len = sec->raw_size < size - sec->raw_offset ? (size_t)sec->raw_size
                                                        : (size_t)(size - sec->raw_offset);
    strain_strings_opts o = {STRAIN_ENGINE_STRING_MIN_LEN, STRAIN_ENGINE_MAX_STRINGS, false, false};
    strain_strings *ss = NULL;
    int err;
    STRAIN_TRY(strain_strings_extract(&ss, ctx, data + sec->raw_offset, len, &o));
    size_t count = strain_strings_count(ss);
    for (size_t i = 0; i < count && out->len < STRAIN_ENGINE_MAX_STRINGS; i++) {
        const strain_string *x = strain_strings_get(ss, i);
        if (x->len > STRAIN_ENGINE_STRING_MAX_LEN || !has_word(x->text, x->len)) {
            continue;
        }
        uint64_t h = strain_code__string_hash(x->text, x->len);
        if (strain_u64_has(stated, n_stated, h)) {
            continue;
        }
        strain_code_string *e = strain_vec_push(out);
        if (e == NULL) {
            err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
            goto done;
        }
        *e = (strain_code_string){h, sec->raw_offset + x->offset, (uint32_t)x->len,
                                  x->encoding == STRAIN_STRING_UTF16LE,
                                  import_hint(x->text, x->len, stated, n_stated)};
    }
done:
    strain_strings_free(ss);
    return err;
}

int strain_code__binary_strings(strain_code_string **out, size_t *out_n, strain_ctx *ctx,
                                const strain_binary *bin, const uint8_t *data, size_t size)
{
    const strain_binary_info *bi = strain_binary_get_info(bin);
    uint64_t *stated = NULL;
    size_t n_stated = 0;
    strain_vec sv = STRAIN_VEC_INIT(strain_code_string);
    uint64_t budget = (uint64_t)size * STRAIN_ENGINE_STRINGS_FILE_FACTOR;
    int err = STRAIN_OK;
    if (stated_names(&stated, &n_stated, bi) < 0) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < bi->n_sections; i++) {
        const strain_section *sec = &bi->sections[i];
        if ((sec->flags & STRAIN_SECTION_EXEC) != 0 ||
            (sec->name != NULL && strncmp(sec->name, ".debug", 6) == 0)) {
            continue;
        }
        if (sec->raw_size > budget) {
            break; /* overlapping sections: STRAIN_ENGINE_STRINGS_FILE_FACTOR */
        }
        budget -= sec->raw_size;
        STRAIN_TRY(section_strings(&sv, ctx, sec, data, size, stated, n_stated));
    }
    /* one entry per distinct string: the first occurrence, for the evidence's text */
    strain_code_string *v = sv.items;
    if (sv.len > 0) {
        qsort(v, sv.len, sizeof(*v), cmp_str_ref);
        size_t u = 1;
        for (size_t i = 1; i < sv.len; i++) {
            if (v[i].hash != v[u - 1].hash) {
                v[u++] = v[i];
            }
        }
        sv.len = u;
    }
    *out = v; /* the vector's buffer, handed over: the caller frees it */
    *out_n = sv.len;
    sv.items = NULL;
done:
    strain_vec_free(&sv);
    free(stated);
    return err;
}
