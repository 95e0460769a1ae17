/*
 * archive_path naming. Member names come from hostile archives: they may hold '!' (our level
 * separator), control bytes that rewrite a terminal, or megabytes of text. They are escaped
 * so that an archive_path always splits back into its levels and prints safely; they are
 * identifiers only (nothing is ever extracted to disk under these names).
 */
#include <string.h>

#include "input/input_impl.h"
#include "util/limits.h"

int strain_input__put_member_name(strain_buf *b, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strnlen(name, STRAIN_MAX_NAME_LEN);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        int err;
        if (c == '%' || c == '!' || c < 0x20 || c == 0x7f) {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            err = strain_buf_put(b, esc, sizeof(esc));
        } else {
            err = strain_buf_putc(b, (char)c);
        }
        if (err < 0) {
            return err;
        }
    }
    return 0;
}

const char *strain_input__basename(const char *path)
{
    /* "dir/x.zip/" is not a file we could have read; trailing slashes need no care. */
    const char *slash = strrchr(path, '/');
    return (slash != NULL && slash[1] != '\0') ? slash + 1 : path;
}
