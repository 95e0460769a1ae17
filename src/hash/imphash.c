/*
 * imphash (Mandiant, 2014) exactly as pefile's get_imphash() computes it, since that is
 * the value analysts share: for each entry of the regular import directory, in file order,
 * "library.function" lowercased, where library loses a .dll/.ocx/.sys extension and an
 * ordinal-only import is named through pefile's ordlookup tables (ws2_32, wsock32,
 * oleaut32) or "ord<N>"; entries joined with ',' and MD5ed. Delay-load imports are not
 * part of it (pefile reads only DIRECTORY_ENTRY_IMPORT).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <strain/hash.h>

#include "hash/ordlookup.h"
#include "util/buf.h"

/* Appends s lowercased (ASCII: the parser only accepts ASCII names). */
static int put_lower(strain_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strain_buf_putc(b, (char)tolower((unsigned char)s[i])) < 0) {
            return STRAIN_ENOMEM;
        }
    }
    return STRAIN_OK;
}

/* Length of the library name without a .dll/.ocx/.sys extension (only the last one). */
static size_t stem_len(const char *lib)
{
    size_t n = strlen(lib);
    const char *dot = strrchr(lib, '.');
    if (dot != NULL && (strcasecmp(dot + 1, "dll") == 0 || strcasecmp(dot + 1, "ocx") == 0 ||
                        strcasecmp(dot + 1, "sys") == 0)) {
        return (size_t)(dot - lib);
    }
    return n;
}

int strain_hash_imphash(char out[STRAIN_MD5_HEX], const strain_binary_info *info)
{
    strain_buf b = STRAIN_BUF_INIT;
    int err = STRAIN_OK;
    out[0] = '\0';
    if (info == NULL) {
        return STRAIN_EINVAL;
    }
    if (info->format != STRAIN_FORMAT_PE32 && info->format != STRAIN_FORMAT_PE32PLUS) {
        return STRAIN_OK;
    }
    size_t count = 0;
    for (size_t i = 0; i < info->n_imports; i++) {
        const strain_import *im = &info->imports[i];
        if (im->delayed || im->library == NULL) {
            continue;
        }
        char ord[16];
        const char *fn = im->name;
        if (fn == NULL) {
            fn = strain_ordlookup__name(im->library, im->ordinal);
        }
        if (fn == NULL) {
            snprintf(ord, sizeof(ord), "ord%u", im->ordinal);
            fn = ord;
        }
        if ((count > 0 && strain_buf_putc(&b, ',') < 0) ||
            put_lower(&b, im->library, stem_len(im->library)) < 0 || strain_buf_putc(&b, '.') < 0 ||
            put_lower(&b, fn, strlen(fn)) < 0) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        count++;
    }
    if (count > 0) {
        err = strain_hash_md5(out, b.ptr, b.len);
    }
done:
    strain_buf_free(&b);
    return err;
}
