/*
 * Resources: the version-info strings (CompanyName, ProductName, OriginalFilename,
 * FileVersion, ...) of the first RT_VERSION resource. OriginalFilename and the company and
 * product strings survive renaming and recompilation, so they are attribution evidence.
 *
 * Only the fixed path root -> RT_VERSION -> first name -> languages is followed: a resource
 * tree that loops back on itself cannot make this walk longer than those three levels
 * (STRAIN_PE_MAX_RESOURCE_DEPTH), and each directory's entry count is capped.
 * VS_VERSIONINFO is a tree of blocks {wLength, wValueLength, wType, szKey, Value, Children}
 * with 32-bit alignment (MSDN "VS_VERSIONINFO"); alignment is computed against the RVA as
 * pefile does, so misaligned resources read the same bytes as the reference.
 */
#include <stdio.h>
#include <string.h>

#include "format/pe_internal.h"
#include "util/buf.h"
#include "util/limits.h"

/* IMAGE_RESOURCE_DIRECTORY and its entries */
#define PE_RES_DIR_SIZE 16u
#define PE_RES_DIR_NNAMED_OFF 12u
#define PE_RES_DIR_NID_OFF 14u
#define PE_RES_ENTRY_SIZE 8u
#define PE_RES_ENTRY_NAME_OFF 0u
#define PE_RES_ENTRY_DATA_OFF 4u
#define PE_RES_NAME_IS_STRING 0x80000000u
#define PE_RES_DATA_IS_DIR 0x80000000u
#define PE_RES_OFFSET_MASK 0x7fffffffu
#define PE_RT_VERSION 16u
/* IMAGE_RESOURCE_DATA_ENTRY */
#define PE_RES_DATA_RVA_OFF 0u
#define PE_RES_DATA_SIZE_OFF 4u
#define PE_RES_DATA_ENTRY_SIZE 16u
/* Version blocks */
#define PE_VER_HDR_SIZE 6u /* wLength, wValueLength, wType */
#define PE_VER_LENGTH_OFF 0u
#define PE_VER_VALUE_LENGTH_OFF 2u
#define PE_VER_TYPE_OFF 4u
#define PE_VER_TYPE_TEXT 1u

typedef struct res_ctx {
    pe_image *pe;
    uint32_t base_rva; /* resource directory RVA: entry offsets are relative to it */
} res_ctx;

/* Entry idx of the directory at dir_off; false if unreadable. */
static bool res_entry(const res_ctx *r, uint32_t dir_off, uint32_t idx, uint32_t *name,
                      uint32_t *data)
{
    strain_span s;
    uint64_t rva =
        (uint64_t)r->base_rva + dir_off + PE_RES_DIR_SIZE + (uint64_t)idx * PE_RES_ENTRY_SIZE;
    return strain_pe__rva_span(r->pe, rva, &s) &&
           strain_span_u32le(s, PE_RES_ENTRY_NAME_OFF, name) &&
           strain_span_u32le(s, PE_RES_ENTRY_DATA_OFF, data);
}

/* Number of entries of the directory at dir_off, capped; -1 if unreadable. */
static int64_t res_count(const res_ctx *r, uint32_t dir_off)
{
    strain_span s;
    uint16_t named = 0, ids = 0;
    if (!strain_pe__rva_span(r->pe, (uint64_t)r->base_rva + dir_off, &s) ||
        !strain_span_u16le(s, PE_RES_DIR_NNAMED_OFF, &named) ||
        !strain_span_u16le(s, PE_RES_DIR_NID_OFF, &ids)) {
        return -1;
    }
    uint32_t n = (uint32_t)named + ids;
    return n > STRAIN_PE_MAX_RESOURCE_ENTRIES ? STRAIN_PE_MAX_RESOURCE_ENTRIES : n;
}

/* pefile's dword_align: 4-byte alignment of off relative to the resource's RVA. */
static uint64_t dalign(uint64_t off, uint64_t rva)
{
    return ((off + rva + 3) & ~(uint64_t)3) - (rva & ~(uint64_t)3);
}

/* UTF-16LE at off, at most max units, stops at NUL: appends UTF-8 (lone surrogates as
 * "\\uXXXX" text, as pefile's backslashreplace renders them). Returns units read. */
static size_t utf16_to_buf(strain_span v, uint64_t off, size_t max, strain_buf *b, int *err)
{
    size_t n = 0;
    uint16_t u;
    while (n < max && strain_span_u16le(v, off + 2 * n, &u) && u != 0) {
        char tmp[8];
        size_t k = 0;
        if (u >= 0xd800 && u <= 0xdfff) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", u);
            k = strlen(tmp);
        } else if (u < 0x80) {
            tmp[k++] = (char)u;
        } else if (u < 0x800) {
            tmp[k++] = (char)(0xc0 | (u >> 6));
            tmp[k++] = (char)(0x80 | (u & 0x3f));
        } else {
            tmp[k++] = (char)(0xe0 | (u >> 12));
            tmp[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
            tmp[k++] = (char)(0x80 | (u & 0x3f));
        }
        if (b != NULL && strain_buf_put(b, tmp, k) < 0) {
            *err = STRAIN_ENOMEM;
            return n;
        }
        n++;
    }
    return n;
}

/* The header and key of the block at off. */
typedef struct ver_block {
    uint16_t len, vlen, type;
    size_t key_units;
    uint64_t value_off; /* aligned, after the key */
    uint64_t end;
} ver_block;

static bool ver_block_at(strain_span v, uint64_t off, uint64_t rva, ver_block *b, strain_buf *key,
                         int *err)
{
    if (!strain_span_u16le(v, off + PE_VER_LENGTH_OFF, &b->len) ||
        !strain_span_u16le(v, off + PE_VER_VALUE_LENGTH_OFF, &b->vlen) ||
        !strain_span_u16le(v, off + PE_VER_TYPE_OFF, &b->type) || b->len < PE_VER_HDR_SIZE) {
        return false;
    }
    if (key != NULL) {
        strain_buf_clear(key);
    }
    b->key_units = utf16_to_buf(v, off + PE_VER_HDR_SIZE, STRAIN_MAX_NAME_LEN, key, err);
    b->value_off = dalign(off + PE_VER_HDR_SIZE + 2 * (b->key_units + 1), rva);
    b->end = off + b->len;
    return *err == 0;
}

static bool key_is(const strain_buf *b, const char *prefix)
{
    return b->ptr != NULL && strncmp(b->ptr, prefix, strlen(prefix)) == 0;
}

/* The String children of one StringTable -> version_info. */
static int read_string_table(pe_image *pe, strain_span v, uint64_t rva, const ver_block *tbl,
                             uint64_t children)
{
    strain_buf key = STRAIN_BUF_INIT, val = STRAIN_BUF_INIT;
    strain_vec kv = STRAIN_VEC_INIT(strain_kv);
    int err = 0;
    uint64_t off = children;
    while (off < tbl->end && kv.len < STRAIN_PE_MAX_VERSION_STRINGS) {
        ver_block s;
        if (!ver_block_at(v, off, rva, &s, &key, &err)) {
            break;
        }
        strain_buf_clear(&val);
        utf16_to_buf(v, s.value_off, s.vlen, &val, &err);
        if (err < 0) {
            break;
        }
        strain_kv *e = strain_vec_push(&kv);
        if (e == NULL) {
            err = STRAIN_ENOMEM;
            break;
        }
        e->key = strain_arena_strdup(&pe->bin->arena, key.ptr ? key.ptr : "");
        e->value = strain_arena_strdup(&pe->bin->arena, val.ptr ? val.ptr : "");
        if (e->key == NULL || e->value == NULL) {
            err = STRAIN_ENOMEM;
            break;
        }
        /* a zero-length String ends the table (pefile jumps to its end) */
        off = dalign(off + s.len, rva);
    }
    if (err == 0 && kv.len >= STRAIN_PE_MAX_VERSION_STRINGS) {
        err = strain_binary__warn(pe->bin, "more than %u version strings: rest ignored",
                                  STRAIN_PE_MAX_VERSION_STRINGS);
    }
    if (err >= 0 && kv.len > 0) {
        strain_kv *arr = strain_arena_array(&pe->bin->arena, kv.len, sizeof(strain_kv));
        if (arr == NULL) {
            err = STRAIN_ENOMEM;
        } else {
            memcpy(arr, kv.items, kv.len * sizeof(strain_kv));
            pe->bin->info.pe.version_info = arr;
            pe->bin->info.pe.n_version_info = kv.len;
        }
    }
    strain_buf_free(&key);
    strain_buf_free(&val);
    strain_vec_free(&kv);
    return err;
}

/* One VS_VERSIONINFO resource; returns 1 when it held a StringTable. */
static int read_version(pe_image *pe, uint32_t data_rva, uint32_t size)
{
    uint64_t off;
    strain_span v;
    if (!strain_pe__rva_to_offset(pe, data_rva, &off) || !strain_span_tail(pe->file, off, &v)) {
        return strain_binary__warn(pe->bin, "version resource RVA 0x%x is outside the file",
                                   data_rva);
    }
    if (v.len > size) {
        v.len = size;
    }
    strain_buf key = STRAIN_BUF_INIT;
    int err = 0, found = 0;
    ver_block root;
    if (!ver_block_at(v, 0, data_rva, &root, &key, &err) || !key_is(&key, "VS_VERSION_INFO") ||
        strcmp(key.ptr, "VS_VERSION_INFO") != 0) {
        strain_buf_free(&key);
        return err < 0 ? err : strain_binary__warn(pe->bin, "invalid VS_VERSIONINFO block");
    }
    if (root.end > v.len) {
        root.end = v.len;
    }
    uint64_t child = dalign(root.value_off + root.vlen, data_rva);
    while (child < root.end && !found) {
        ver_block sfi;
        if (!ver_block_at(v, child, data_rva, &sfi, &key, &err)) {
            break;
        }
        if (key_is(&key, "StringFileInfo") && sfi.type <= PE_VER_TYPE_TEXT && sfi.vlen == 0) {
            /* the first StringTable (one per language/codepage) */
            ver_block tbl;
            if (ver_block_at(v, sfi.value_off, data_rva, &tbl, NULL, &err)) {
                if (tbl.end > v.len) {
                    tbl.end = v.len;
                }
                err = read_string_table(pe, v, data_rva, &tbl, tbl.value_off);
                found = 1;
            }
        }
        child = dalign(child + sfi.len, data_rva);
    }
    strain_buf_free(&key);
    return err < 0 ? err : found;
}

int strain_pe__parse_resources(pe_image *pe)
{
    if (pe->n_dirs <= PE_DIR_RESOURCE || pe->dirs[PE_DIR_RESOURCE].rva == 0) {
        return STRAIN_OK;
    }
    res_ctx r = {pe, pe->dirs[PE_DIR_RESOURCE].rva};
    int64_t n_types = res_count(&r, 0);
    if (n_types < 0) {
        return strain_binary__warn(pe->bin,
                                   "resource directory points outside the file "
                                   "(RVA 0x%x)",
                                   r.base_rva);
    }
    for (int64_t t = 0; t < n_types; t++) {
        uint32_t name, data, name2, data2;
        if (!res_entry(&r, 0, (uint32_t)t, &name, &data)) {
            return strain_binary__warn(pe->bin, "resource directory entry %lld unreadable",
                                       (long long)t);
        }
        if ((name & PE_RES_NAME_IS_STRING) || (name & 0xffffu) != PE_RT_VERSION ||
            !(data & PE_RES_DATA_IS_DIR)) {
            continue;
        }
        /* level 2: the first resource name/id; level 3: its languages */
        uint32_t name_dir = data & PE_RES_OFFSET_MASK;
        if (res_count(&r, name_dir) < 1 || !res_entry(&r, name_dir, 0, &name2, &data2) ||
            !(data2 & PE_RES_DATA_IS_DIR)) {
            return strain_binary__warn(pe->bin, "RT_VERSION resource directory is malformed");
        }
        uint32_t lang_dir = data2 & PE_RES_OFFSET_MASK;
        int64_t n_langs = res_count(&r, lang_dir);
        for (int64_t l = 0; l < n_langs; l++) {
            uint32_t lname, ldata;
            strain_span de;
            uint32_t vrva = 0, vsize = 0;
            if (!res_entry(&r, lang_dir, (uint32_t)l, &lname, &ldata) ||
                (ldata & PE_RES_DATA_IS_DIR) ||
                !strain_pe__rva_span(pe, (uint64_t)r.base_rva + ldata, &de) ||
                de.len < PE_RES_DATA_ENTRY_SIZE) {
                return strain_binary__warn(pe->bin, "RT_VERSION data entry is malformed");
            }
            strain_span_u32le(de, PE_RES_DATA_RVA_OFF, &vrva);
            strain_span_u32le(de, PE_RES_DATA_SIZE_OFF, &vsize);
            int got = read_version(pe, vrva, vsize);
            if (got != 0) {
                return got < 0 ? got : STRAIN_OK;
            }
        }
        return STRAIN_OK;
    }
    return STRAIN_OK;
}
