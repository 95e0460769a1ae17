/*
 * Function starts from an ELF .eh_frame: every FDE's initial location is the start of a
 * function (or of a split-off .cold part, which compilers also emit as a symbol). gcc and
 * clang emit unwind tables for every function by default on x86-64, so a stripped binary
 * keeps a near-complete function list here (the LSB "Exception Frames" chapter and the
 * DWARF pointer encodings DW_EH_PE_*).
 */
#include <string.h>

#include "code/code_impl.h"
#include "util/limits.h"
#include "util/span.h"

/* DW_EH_PE_* */
#define PE_OMIT 0xff
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10

static bool read_uleb(strain_span s, uint64_t *off, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (!strain_span_u8(s, (*off)++, &b)) {
            return false;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

static bool read_sleb(strain_span s, uint64_t *off, int64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    do {
        if (shift >= 64 || !strain_span_u8(s, (*off)++, &b)) {
            return false;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) != 0);
    if (shift < 64 && (b & 0x40) != 0) {
        v |= ~0ull << shift;
    }
    *out = (int64_t)v;
    return true;
}

/* Reads a pointer in encoding enc at *off of section s loaded at va. */
static bool read_enc(strain_span s, uint64_t va, uint64_t *off, uint8_t enc, bool x64,
                     uint64_t *out)
{
    uint64_t field = va + *off;
    uint64_t v = 0;
    switch (enc & 0x0f) {
    case PE_ABSPTR:
        if (x64) {
            if (!strain_span_u64le(s, *off, &v)) {
                return false;
            }
            *off += 8;
        } else {
            uint32_t w;
            if (!strain_span_u32le(s, *off, &w)) {
                return false;
            }
            v = w;
            *off += 4;
        }
        break;
    case PE_ULEB128:
        if (!read_uleb(s, off, &v)) {
            return false;
        }
        break;
    case PE_SLEB128: {
        int64_t sv;
        if (!read_sleb(s, off, &sv)) {
            return false;
        }
        v = (uint64_t)sv;
        break;
    }
    case PE_UDATA2:
    case PE_SDATA2: {
        uint16_t w;
        if (!strain_span_u16le(s, *off, &w)) {
            return false;
        }
        v = (enc & 0x0f) == PE_SDATA2 ? (uint64_t)(int64_t)(int16_t)w : w;
        *off += 2;
        break;
    }
    case PE_UDATA4:
    case PE_SDATA4: {
        uint32_t w;
        if (!strain_span_u32le(s, *off, &w)) {
            return false;
        }
        v = (enc & 0x0f) == PE_SDATA4 ? (uint64_t)(int64_t)(int32_t)w : w;
        *off += 4;
        break;
    }
    case PE_UDATA8:
    case PE_SDATA8:
        if (!strain_span_u64le(s, *off, &v)) {
            return false;
        }
        *off += 8;
        break;
    default:
        return false;
    }
    if ((enc & 0x70) == PE_PCREL) {
        v += field;
    } else if ((enc & 0x70) != 0) {
        return false; /* datarel/textrel/funcrel: not used for FDE pc_begin on x86 */
    }
    *out = x64 ? v : (v & UINT32_MAX);
    return true;
}

/* The FDE pointer encoding ('R' augmentation) of the CIE at off, or -1. */
static int cie_encoding(strain_span s, uint64_t va, uint64_t off, bool x64)
{
    uint32_t len32, id;
    if (!strain_span_u32le(s, off, &len32) || len32 == 0xffffffffu ||
        !strain_span_u32le(s, off + 4, &id) || id != 0) {
        return -1;
    }
    uint64_t p = off + 8;
    uint8_t version;
    if (!strain_span_u8(s, p++, &version)) {
        return -1;
    }
    char aug[16];
    size_t n = 0;
    for (;;) {
        uint8_t c;
        if (!strain_span_u8(s, p++, &c)) {
            return -1;
        }
        if (c == 0) {
            break;
        }
        if (n + 1 >= sizeof(aug)) {
            return -1;
        }
        aug[n++] = (char)c;
    }
    aug[n] = '\0';
    uint64_t u;
    int64_t sv;
    if (strstr(aug, "eh") != NULL) {
        p += x64 ? 8 : 4;
    }
    if (!read_uleb(s, &p, &u) || !read_sleb(s, &p, &sv)) {
        return -1;
    }
    if (version == 1) {
        p++;
    } else if (!read_uleb(s, &p, &u)) {
        return -1;
    }
    if (aug[0] != 'z') {
        return PE_ABSPTR;
    }
    if (!read_uleb(s, &p, &u)) {
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        uint8_t enc;
        switch (aug[i]) {
        case 'R':
            return strain_span_u8(s, p, &enc) ? enc : -1;
        case 'L':
            p++;
            break;
        case 'P': {
            if (!strain_span_u8(s, p++, &enc)) {
                return -1;
            }
            uint64_t ignored;
            if (!read_enc(s, va, &p, enc & 0x7f, x64, &ignored)) {
                return -1;
            }
            break;
        }
        case 'S':
        case 'B':
            break;
        default:
            return -1;
        }
    }
    return PE_ABSPTR;
}

int strain_code__ehframe_starts(const code_image *img, strain_vec *out)
{
    const strain_binary_info *info = img->info;
    const strain_section *eh = NULL;
    for (size_t i = 0; i < info->n_sections; i++) {
        if (info->sections[i].name != NULL && strcmp(info->sections[i].name, ".eh_frame") == 0) {
            eh = &info->sections[i];
            break;
        }
    }
    if (eh == NULL || info->elf.big_endian) {
        return 0;
    }
    const uint8_t *p;
    size_t len;
    if (strain_binary_va_bytes(img->bin, eh->vaddr, &p, &len) < 0) {
        return 0;
    }
    if (eh->raw_size < len) {
        len = (size_t)eh->raw_size;
    }
    strain_span s = strain_span_make(p, len);
    uint64_t off = 0;
    uint64_t cached_cie = UINT64_MAX;
    int cached_enc = -1;
    for (size_t n = 0; n < STRAIN_CODE_MAX_FDES; n++) {
        uint32_t len32, id;
        if (!strain_span_u32le(s, off, &len32) || len32 == 0) {
            break;
        }
        if (len32 == 0xffffffffu) {
            break; /* 64-bit DWARF: not emitted for .eh_frame by x86 toolchains */
        }
        uint64_t next = off + 4 + (uint64_t)len32;
        if (!strain_span_u32le(s, off + 4, &id)) {
            break;
        }
        if (id != 0 && id <= off + 4) {
            uint64_t cie = off + 4 - id;
            if (cie != cached_cie) {
                cached_cie = cie;
                cached_enc = cie_encoding(s, eh->vaddr, cie, img->x64);
            }
            uint64_t q = off + 8, start;
            if (cached_enc >= 0 && cached_enc != PE_OMIT &&
                read_enc(s, eh->vaddr, &q, (uint8_t)cached_enc, img->x64, &start) &&
                strain_code__region(img, start) != NULL) {
                uint64_t *slot = strain_vec_push(out);
                if (slot == NULL) {
                    return STRAIN_ENOMEM;
                }
                *slot = start;
            }
        }
        if (next <= off) {
            break;
        }
        off = next;
    }
    return 0;
}
