/*
 * Archive sniffing by real magic bytes at their real offsets. Only offset 0 (and the ustar
 * field at 257) counts: a PE with a zip appended (self-extractors, droppers) starts with
 * "MZ" and is a sample, never an archive, so its own hashes are what gets attributed.
 */
#include <string.h>

#include "input/input_impl.h"
#include "util/span.h"

/* Offsets and magics from the format specifications. */
#define ZIP_LOCAL_MAGIC "PK\x03\x04" /* APPNOTE 4.3.7 local file header */
#define ZIP_EOCD_MAGIC "PK\x05\x06"  /* APPNOTE 4.3.16: an empty archive is only this */
#define SEVENZIP_MAGIC "7z\xBC\xAF\x27\x1C"
#define GZIP_MAGIC "\x1F\x8B\x08" /* RFC 1952: ID1 ID2 CM=deflate */
#define BZIP2_MAGIC "BZh"         /* followed by the block size '1'..'9' */
#define XZ_MAGIC "\xFD\x37\x7A\x58\x5A\x00" /* FD "7zXZ" 00 */
#define USTAR_MAGIC_OFF 257u /* POSIX ustar header: magic field */
#define USTAR_MAGIC "ustar"  /* "ustar\0" (POSIX) or "ustar " (GNU) */

static bool has_at(strain_span s, uint64_t off, const char *magic, size_t n)
{
    strain_span m;
    return strain_span_sub(s, off, n, &m) && memcmp(m.p, magic, n) == 0;
}

strain_input_kind strain_input__sniff(const uint8_t *p, size_t len)
{
    strain_span s = strain_span_make(p, len);
    uint8_t level = 0;
    if (has_at(s, 0, ZIP_LOCAL_MAGIC, 4) || has_at(s, 0, ZIP_EOCD_MAGIC, 4)) {
        return STRAIN_INPUT_ZIP;
    }
    if (has_at(s, 0, SEVENZIP_MAGIC, 6)) {
        return STRAIN_INPUT_7Z;
    }
    if (has_at(s, 0, GZIP_MAGIC, 3)) {
        return STRAIN_INPUT_GZIP;
    }
    if (has_at(s, 0, BZIP2_MAGIC, 3) && strain_span_u8(s, 3, &level) && level >= '1' &&
        level <= '9') {
        return STRAIN_INPUT_BZIP2;
    }
    if (has_at(s, 0, XZ_MAGIC, 6)) {
        return STRAIN_INPUT_XZ;
    }
    if (has_at(s, USTAR_MAGIC_OFF, USTAR_MAGIC, 5)) {
        return STRAIN_INPUT_TAR;
    }
    return STRAIN_INPUT_PLAIN;
}

const char *strain_input__kind_name(strain_input_kind kind)
{
    switch (kind) {
    case STRAIN_INPUT_ZIP: return "zip";
    case STRAIN_INPUT_7Z: return "7z";
    case STRAIN_INPUT_TAR: return "tar";
    case STRAIN_INPUT_GZIP: return "gzip";
    case STRAIN_INPUT_BZIP2: return "bzip2";
    case STRAIN_INPUT_XZ: return "xz";
    default: return "plain";
    }
}
