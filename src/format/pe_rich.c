/*
 * The Rich header: the undocumented record of Microsoft toolchain components (product id,
 * build, object count) that link.exe leaves between the DOS stub and the NT headers, XORed
 * with a checksum key. Attribution uses both its entries and its hash.
 *
 * Location and hash follow pefile's parse_rich_header()/get_rich_header_hash() exactly,
 * since that hash is what threat intelligence shares: "DanS" must sit at 0x80, the first
 * "Rich" before the optional header ends the block, and the hash is the MD5 of the
 * de-XORed bytes from 0x80 up to "Rich".
 */
#include <openssl/evp.h>
#include <string.h>

#include "format/pe_internal.h"
#include "util/hex.h"

#define PE_RICH_DANS 0x536e6144u /* "DanS" */
#define PE_RICH_RICH 0x68636952u /* "Rich" */
#define PE_RICH_MAGIC_LEN 4u
#define PE_RICH_KEY_SIZE 4u
/* After "DanS": three copies of the key (zero padding XORed with it) */
#define PE_RICH_HEADER_DWORDS 4u

/* First "Rich" in [from, to - 4]: memmem over the checked sub-span. */
static bool find_rich(strain_span f, uint64_t from, uint64_t to, uint64_t *out)
{
    strain_span s;
    if (to > f.len) {
        to = f.len;
    }
    if (to <= from || !strain_span_sub(f, from, to - from, &s)) {
        return false;
    }
    for (size_t i = 0; i + PE_RICH_MAGIC_LEN <= s.len; i++) {
        if (memcmp(s.p + i, "Rich", PE_RICH_MAGIC_LEN) == 0) {
            *out = from + i;
            return true;
        }
    }
    return false;
}

int strain_pe__parse_rich(pe_image *pe, uint64_t nt_offset)
{
    strain_pe_info *pi = &pe->bin->info.pe;
    uint64_t opt_off = nt_offset + PE_NT_SIGNATURE_SIZE + PE_FILE_HEADER_SIZE;
    uint64_t rich_at;
    if (!find_rich(pe->file, PE_RICH_SCAN_START, opt_off, &rich_at)) {
        return STRAIN_OK;
    }
    /* The block pefile reads: 0x80 .. "Rich" + key, cut to whole dwords. */
    uint64_t end = rich_at + PE_RICH_MAGIC_LEN + PE_RICH_KEY_SIZE;
    if (end > pe->file.len) {
        end = pe->file.len;
    }
    strain_span blk;
    if (!strain_span_sub(pe->file, PE_RICH_SCAN_START, end - PE_RICH_SCAN_START, &blk)) {
        return STRAIN_OK;
    }
    blk.len -= blk.len % 4;
    size_t n_dw = blk.len / 4;
    /* The aligned "Rich" dword (the byte search may have hit an unaligned one first). */
    size_t rich_dw = n_dw;
    for (size_t i = 0; i < n_dw; i++) {
        uint32_t v = 0;
        strain_span_u32le(blk, i * 4, &v);
        if (v == PE_RICH_RICH) {
            rich_dw = i;
            break;
        }
    }
    uint32_t key = 0, dans = 0, k1 = 0, k2 = 0, k3 = 0;
    if (rich_dw + 1 >= n_dw || n_dw < PE_RICH_HEADER_DWORDS) {
        return STRAIN_OK;
    }
    strain_span_u32le(blk, (rich_dw + 1) * 4, &key);
    strain_span_u32le(blk, 0, &dans);
    strain_span_u32le(blk, 4, &k1);
    strain_span_u32le(blk, 8, &k2);
    strain_span_u32le(blk, 12, &k3);
    if ((dans ^ k1) != PE_RICH_DANS || k2 != k1 || k3 != k1) {
        return STRAIN_OK;
    }
    pi->has_rich = true;
    pi->rich_key = k1;
    /* Entries: (comp.id, count) pairs XORed with the checksum until "Rich". */
    size_t n_pairs = (n_dw - PE_RICH_HEADER_DWORDS) / 2;
    strain_rich_entry *ents =
        strain_arena_array(&pe->bin->arena, n_pairs ? n_pairs : 1, sizeof(*ents));
    if (ents == NULL) {
        return STRAIN_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_pairs; i++) {
        uint32_t id = 0, count = 0;
        size_t at = (PE_RICH_HEADER_DWORDS + 2 * i) * 4;
        strain_span_u32le(blk, at, &id);
        strain_span_u32le(blk, at + 4, &count);
        if (id == PE_RICH_RICH) {
            if (count != k1) {
                int err = strain_binary__warn(pe->bin, "Rich header key does not match its "
                                                       "checksum");
                if (err < 0) {
                    return err;
                }
            }
            break;
        }
        id ^= k1;
        ents[n].product_id = (uint16_t)(id >> 16);
        ents[n].build = (uint16_t)(id & 0xffffu);
        ents[n].count = count ^ k1;
        n++;
    }
    pi->rich = ents;
    pi->n_rich = n;

    /* Hash: MD5 of the clear bytes from 0x80 to the first "Rich", XORed with the key
     * stored after the aligned "Rich", byte by byte from 0x80. */
    size_t clear_len = (size_t)(rich_at - PE_RICH_SCAN_START);
    uint8_t *clear = strain_arena_alloc(&pe->bin->arena, clear_len ? clear_len : 1);
    if (clear == NULL) {
        return STRAIN_ENOMEM;
    }
    uint8_t kb[PE_RICH_KEY_SIZE] = {(uint8_t)key, (uint8_t)(key >> 8), (uint8_t)(key >> 16),
                                    (uint8_t)(key >> 24)};
    for (size_t i = 0; i < clear_len && i < blk.len; i++) {
        clear[i] = blk.p[i] ^ kb[i % PE_RICH_KEY_SIZE];
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(clear, clear_len, md, &md_len, EVP_md5(), NULL) != 1 ||
        md_len * 2 + 1 > sizeof(pi->rich_hash)) {
        return strain_binary__warn(pe->bin, "Rich header hash could not be computed");
    }
    strain_hex_encode(pi->rich_hash, md, md_len);
    return STRAIN_OK;
}
