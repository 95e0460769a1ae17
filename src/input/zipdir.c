/*
 * The member count a zip declares in its end-of-central-directory record, read before
 * libarchive sees the archive. libarchive's seekable zip reader loads the whole central
 * directory (one allocation per entry) before returning the first member, so a zip that
 * lists millions of entries would cost gigabytes before our per-member count could stop
 * it. Checking the declared count first keeps the member limit a memory bound too.
 * Offsets from PKWARE APPNOTE.TXT 6.3: 4.3.16 (EOCD), 4.3.15 (zip64 locator), 4.3.14
 * (zip64 EOCD record).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input/input_impl.h"
#include "util/span.h"

#define EOCD_SIG 0x06054b50u
#define EOCD_LEN 22u
#define EOCD_TOTAL_ENTRIES_OFF 10u
#define EOCD_COMMENT_MAX 65535u
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define ZIP64_LOCATOR_LEN 20u
#define ZIP64_LOCATOR_EOCD_OFF 8u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_EOCD_LEN 56u
#define ZIP64_EOCD_TOTAL_ENTRIES_OFF 32u
/* The classic record's counts saturate at 0xFFFF when the real value is in the zip64 one. */
#define ZIP_COUNT_IN_ZIP64 0xFFFFu

bool strain_input__zip_entries(int fd, const uint8_t *data, uint64_t size, uint64_t *out)
{
    size_t tail_len = size < EOCD_LEN + EOCD_COMMENT_MAX + ZIP64_LOCATOR_LEN
                          ? (size_t)size
                          : EOCD_LEN + EOCD_COMMENT_MAX + ZIP64_LOCATOR_LEN;
    uint64_t tail_off = size - tail_len;
    uint8_t *tail = malloc(tail_len ? tail_len : 1);
    bool found = false;
    if (tail == NULL || !strain_input__pread(fd, data, size, tail_off, tail, tail_len)) {
        free(tail);
        return false;
    }
    strain_span t = strain_span_make(tail, tail_len);
    /* The last signature wins, as in readers that scan backwards for it. */
    for (size_t i = tail_len >= EOCD_LEN ? tail_len - EOCD_LEN + 1 : 0; i-- > 0;) {
        uint32_t sig;
        uint16_t entries;
        if (!strain_span_u32le(t, i, &sig) || sig != EOCD_SIG ||
            !strain_span_u16le(t, i + EOCD_TOTAL_ENTRIES_OFF, &entries)) {
            continue;
        }
        found = true;
        *out = entries;
        uint32_t lsig;
        uint64_t z64_off;
        uint8_t rec[ZIP64_EOCD_LEN];
        if (entries == ZIP_COUNT_IN_ZIP64 && i >= ZIP64_LOCATOR_LEN &&
            strain_span_u32le(t, i - ZIP64_LOCATOR_LEN, &lsig) && lsig == ZIP64_LOCATOR_SIG &&
            strain_span_u64le(t, i - ZIP64_LOCATOR_LEN + ZIP64_LOCATOR_EOCD_OFF, &z64_off) &&
            strain_input__pread(fd, data, size, z64_off, rec, sizeof(rec))) {
            strain_span r = strain_span_make(rec, sizeof(rec));
            uint32_t rsig;
            uint64_t total;
            if (strain_span_u32le(r, 0, &rsig) && rsig == ZIP64_EOCD_SIG &&
                strain_span_u64le(r, ZIP64_EOCD_TOTAL_ENTRIES_OFF, &total)) {
                *out = total;
            }
        }
        break;
    }
    free(tail);
    return found;
}
