/*
 * ELF parser against hostile input: truncation at every header and section boundary, header
 * tables past the end of the file, huge counts, bad string table indices and offsets, symbol
 * names past their table, an oversized dynamic table, random bytes and random mutations of
 * real files. Every parse must succeed (or fall back to raw), never read outside the buffer
 * (each input is an exact-size heap copy, so ASan sees any over-read), and report damage as
 * warnings. Run under the asan preset.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/binary.h>

#include "helpers.h"

/* x86-64 fixture layout, read here independently of the parser (little-endian ELF64). */
#define E_PHOFF 32
#define E_SHOFF 40
#define E_PHENTSIZE 54
#define E_PHNUM 56
#define E_SHENTSIZE 58
#define E_SHNUM 60
#define E_SHSTRNDX 62
#define SH_SIZE 64
#define PH_SIZE 56

static uint64_t rd(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void wr(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

typedef struct blob {
    uint8_t *p;
    size_t len;
} blob;

static blob load(const char *name)
{
    static char dir[512];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "%s/elfh", th_tmpdir());
        char *out = NULL;
        int rc = th_run(&out,
                        "mkdir -p '%s' && cd '%s' && "
                        "printf 'int lib_v = 1;\\nint lib_f(int a) { return a + lib_v; }\\n' "
                        "> l.c && printf '#include <stdio.h>\\nextern int lib_f(int);\\n"
                        "int main(int c, char **v) { puts(v[0]); return lib_f(c); }\\n' > m.c && "
                        "gcc -O1 -shared -fPIC -Wl,-soname,libl.so.1 l.c -o libl.so && "
                        "gcc -O1 m.c -o exe -L. -ll && gcc -O1 -c l.c -o l.o 2>&1",
                        dir, dir);
        if (rc != 0) {
            fail_msg("fixture build failed: %s", out ? out : "");
        }
        free(out);
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    blob b;
    b.p = th_read_file(path, &b.len);
    assert_non_null(b.p);
    return b;
}

/* The last few parses, alive until replaced (tests look at up to two at once). */
static uint8_t *keep[4];
static strain_binary *keep_bin[4];
static size_t slot;

static void release_all(void)
{
    for (size_t k = 0; k < 4; k++) {
        strain_binary_free(keep_bin[k]);
        free(keep[k]);
        keep_bin[k] = NULL;
        keep[k] = NULL;
    }
}

/* Parses an exact-size copy of data; checks the invariants every parse must keep. */
static strain_binary *parse_copy(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, data, len);
    }
    strain_binary *bin = NULL;
    assert_int_equal(strain_binary_parse(&bin, NULL, copy, len), 0);
    const strain_binary_info *i = strain_binary_get_info(bin);
    /* Walk everything: strings must be readable, addresses mappable without faults. */
    size_t sink = 0;
    for (size_t k = 0; k < i->n_sections; k++) {
        sink += strlen(i->sections[k].name);
        assert_true(i->sections[k].raw_size == 0 ||
                    (i->sections[k].raw_offset < len &&
                     i->sections[k].raw_size <= len - i->sections[k].raw_offset));
    }
    for (size_t k = 0; k < i->n_symbols; k++) {
        sink += strlen(i->symbols[k].name);
        const uint8_t *p;
        size_t n;
        if (strain_binary_va_bytes(bin, i->symbols[k].address, &p, &n) == 0) {
            assert_true(p >= copy && p + n <= copy + len);
        }
    }
    for (size_t k = 0; k < i->n_imports; k++) {
        sink += strlen(i->imports[k].name) + strlen(i->imports[k].library);
    }
    for (size_t k = 0; k < i->n_exports; k++) {
        sink += strlen(i->exports[k].name);
    }
    for (size_t k = 0; k < i->elf.n_needed; k++) {
        sink += strlen(i->elf.needed[k]);
    }
    sink += i->elf.interpreter ? strlen(i->elf.interpreter) : 0;
    sink += i->elf.soname ? strlen(i->elf.soname) : 0;
    sink += strlen(i->elf.build_id);
    for (size_t k = 0; k < i->n_warnings; k++) {
        sink += strlen(i->warnings[k]);
    }
    assert_true(i->partial == (i->n_warnings > 0));
    (void)sink;
    /* The parse keeps pointers into the bytes: keep them alive with the binary. */
    strain_binary_free(keep_bin[slot]);
    free(keep[slot]);
    keep[slot] = copy;
    keep_bin[slot] = bin;
    slot = (slot + 1) % 4;
    return bin;
}

static bool has_warning(const strain_binary *bin, const char *needle)
{
    const strain_binary_info *i = strain_binary_get_info(bin);
    for (size_t k = 0; k < i->n_warnings; k++) {
        if (strstr(i->warnings[k], needle) != NULL) {
            return true;
        }
    }
    print_message("no warning containing '%s' among %zu:\n", needle, i->n_warnings);
    for (size_t k = 0; k < i->n_warnings; k++) {
        print_message("  %s\n", i->warnings[k]);
    }
    return false;
}

static const strain_binary_info *info(const strain_binary *b)
{
    return strain_binary_get_info(b);
}

/* Every offset where a structure starts or ends, and the bytes either side. */
static void test_truncation(void **state)
{
    (void)state;
    const char *names[] = {"exe", "libl.so", "l.o"};
    size_t cuts = 0;
    for (size_t f = 0; f < 3; f++) {
        blob b = load(names[f]);
        size_t *at = calloc(4096, sizeof(size_t));
        size_t n = 0;
        uint64_t phoff = rd(b.p + E_PHOFF, 8), shoff = rd(b.p + E_SHOFF, 8);
        unsigned phnum = (unsigned)rd(b.p + E_PHNUM, 2), shnum = (unsigned)rd(b.p + E_SHNUM, 2);
        for (size_t k = 0; k <= 64; k += 4) {
            at[n++] = k;
        }
        for (unsigned k = 0; k <= phnum; k++) {
            at[n++] = phoff + (uint64_t)k * PH_SIZE;
            if (k < phnum) {
                const uint8_t *ph = b.p + phoff + (uint64_t)k * PH_SIZE;
                at[n++] = rd(ph + 8, 8);
                at[n++] = rd(ph + 8, 8) + rd(ph + 32, 8);
            }
        }
        for (unsigned k = 0; k <= shnum && n < 4000; k++) {
            at[n++] = shoff + (uint64_t)k * SH_SIZE;
            if (k < shnum) {
                const uint8_t *sh = b.p + shoff + (uint64_t)k * SH_SIZE;
                at[n++] = rd(sh + 24, 8);
                at[n++] = rd(sh + 24, 8) + rd(sh + 32, 8);
            }
        }
        for (size_t k = 0; k < n; k++) {
            for (int d = -1; d <= 1; d++) {
                size_t cut = at[k] + (size_t)d;
                if (at[k] == 0 && d < 0) {
                    continue;
                }
                if (cut >= b.len) {
                    continue;
                }
                strain_binary *bin = parse_copy(b.p, cut);
                if (cut >= 16) {
                    assert_true(info(bin)->format == STRAIN_FORMAT_ELF64);
                    /* The section header table ends these files: any cut loses some of it. */
                    assert_true(info(bin)->partial);
                }
                cuts++;
            }
        }
        free(at);
        free(b.p);
    }
    print_message("parsed %zu truncated copies\n", cuts);
}

static void test_header_tables_outside(void **state)
{
    (void)state;
    blob b = load("libl.so");
    strain_binary *good = parse_copy(b.p, b.len);
    size_t n_seg = info(good)->elf.n_segments, n_sec = info(good)->n_sections;
    assert_false(info(good)->partial);
    assert_true(n_seg > 0 && n_sec > 0 && info(good)->n_exports > 0);

    uint8_t *m = malloc(b.len);
    memcpy(m, b.p, b.len);
    wr(m + E_SHOFF, 8, b.len + 4096);
    strain_binary *bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "section header table points outside the file"));
    assert_int_equal(info(bin)->n_sections, 0);
    assert_int_equal(info(bin)->elf.n_segments, n_seg);
    assert_string_equal(info(bin)->elf.soname, "libl.so.1");
    assert_true(info(bin)->n_exports > 0); /* found through the dynamic segment */

    wr(m + E_SHOFF, 8, UINT64_MAX - 10);
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "section header table points outside the file"));

    memcpy(m, b.p, b.len);
    wr(m + E_PHOFF, 8, b.len - 10);
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "program header table points outside the file"));
    assert_int_equal(info(bin)->elf.n_segments, 0);
    assert_int_equal(info(bin)->n_sections, n_sec);
    assert_string_equal(info(bin)->elf.soname, "libl.so.1"); /* SHT_DYNAMIC + sections */

    memcpy(m, b.p, b.len);
    wr(m + E_PHNUM, 2, 0xfffe);
    wr(m + E_SHNUM, 2, 0xfeff);
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "program header table points outside the file"));
    assert_true(has_warning(bin, "section header table points outside the file"));

    memcpy(m, b.p, b.len);
    wr(m + E_PHENTSIZE, 2, 8);
    wr(m + E_SHENTSIZE, 2, 12);
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "program header entry size"));
    assert_true(has_warning(bin, "section header entry size"));
    free(m);
    free(b.p);
}

static void test_string_tables(void **state)
{
    (void)state;
    blob b = load("libl.so");
    uint64_t shoff = rd(b.p + E_SHOFF, 8);
    unsigned shnum = (unsigned)rd(b.p + E_SHNUM, 2);
    uint8_t *m = malloc(b.len);

    memcpy(m, b.p, b.len);
    wr(m + E_SHSTRNDX, 2, shnum + 5);
    strain_binary *bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "out of range"));
    assert_int_equal(info(bin)->n_sections, shnum - 1);
    assert_string_equal(info(bin)->sections[0].name, "");

    memcpy(m, b.p, b.len);
    wr(m + shoff + SH_SIZE + 0, 4, 0xfffffff0u); /* section 1's sh_name */
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "name offset 0xfffffff0 out of range"));
    assert_string_equal(info(bin)->sections[0].name, "");

    /* Every dynamic symbol's name offset past its table; then .dynstr cut mid-name. */
    memcpy(m, b.p, b.len);
    size_t dynsym = 0, dynstr = 0;
    for (unsigned k = 1; k < shnum; k++) {
        uint32_t type = (uint32_t)rd(m + shoff + (uint64_t)k * SH_SIZE + 4, 4);
        if (type == 11) {
            dynsym = k;
            dynstr = (size_t)rd(m + shoff + (uint64_t)k * SH_SIZE + 40, 4);
        }
    }
    assert_true(dynsym != 0 && dynstr != 0);
    uint8_t *ds = m + shoff + dynsym * SH_SIZE, *dt = m + shoff + dynstr * SH_SIZE;
    uint64_t symoff = rd(ds + 24, 8), symsize = rd(ds + 32, 8);
    for (uint64_t o = 24; o < symsize; o += 24) {
        wr(m + symoff + o, 4, 0x7fffffffu);
    }
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "name offset"));
    assert_int_equal(info(bin)->n_exports + info(bin)->n_imports, 0);

    /* The last dynamic symbol (a global) named by the table's last 3 bytes, whose final
     * NUL is overwritten. */
    memcpy(m, b.p, b.len);
    uint64_t stroff = rd(dt + 24, 8), strsize = rd(dt + 32, 8);
    m[stroff + strsize - 1] = 'x';
    wr(m + symoff + symsize - 24, 4, strsize - 3);
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "runs past the end of its string table"));
    free(m);
    free(b.p);
}

/* Extended numbering (gABI): e_shnum 0 and e_shstrndx SHN_XINDEX defer to section 0. Real
 * files only do this past 65279 sections; readelf must agree with the same names. */
static void test_extended_numbering(void **state)
{
    (void)state;
    blob b = load("l.o");
    strain_binary *ref = parse_copy(b.p, b.len);
    size_t n_sec = info(ref)->n_sections;
    uint64_t shoff = rd(b.p + E_SHOFF, 8);
    uint8_t *m = malloc(b.len);
    memcpy(m, b.p, b.len);
    wr(m + shoff + 32, 8, rd(b.p + E_SHNUM, 2));    /* section 0: sh_size = count */
    wr(m + shoff + 40, 4, rd(b.p + E_SHSTRNDX, 2)); /* sh_link = name table index */
    wr(m + E_SHNUM, 2, 0);
    wr(m + E_SHSTRNDX, 2, 0xffff);
    strain_binary *bin = parse_copy(m, b.len);
    assert_false(info(bin)->partial);
    assert_int_equal(info(bin)->n_sections, n_sec);
    for (size_t k = 0; k < n_sec; k++) {
        assert_string_equal(info(bin)->sections[k].name, info(ref)->sections[k].name);
    }
    /* A count that does not fit the file is clipped, with a warning. */
    wr(m + shoff + 32, 8, 0xffffffffull);
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "section header"));
    free(m);
    free(b.p);
}

/* A dynamic table of 5000 DT_NEEDED entries without DT_NULL, appended and pointed at by
 * PT_DYNAMIC (and a copy whose PT_DYNAMIC runs past the end of the file). */
static void test_huge_dynamic(void **state)
{
    (void)state;
    blob b = load("exe");
    size_t extra = 5000 * 16, len = b.len + extra;
    uint8_t *m = calloc(1, len);
    memcpy(m, b.p, b.len);
    uint64_t phoff = rd(m + E_PHOFF, 8);
    unsigned phnum = (unsigned)rd(m + E_PHNUM, 2);
    uint8_t *dyn = NULL;
    for (unsigned k = 0; k < phnum; k++) {
        uint8_t *ph = m + phoff + (uint64_t)k * PH_SIZE;
        if (rd(ph, 4) == 2) {
            dyn = ph;
        }
    }
    assert_non_null(dyn);
    /* Keep DT_STRTAB usable: copy it into the new table's first entry. */
    uint64_t old_off = rd(dyn + 8, 8), strtab = 0;
    for (uint64_t o = old_off; o + 16 <= b.len; o += 16) {
        if (rd(m + o, 8) == 5) {
            strtab = rd(m + o + 8, 8);
            break;
        }
    }
    wr(m + b.len, 8, 5);
    wr(m + b.len + 8, 8, strtab);
    for (size_t k = 1; k < 5000; k++) {
        wr(m + b.len + k * 16, 8, 1);
        wr(m + b.len + k * 16 + 8, 8, k % 7);
    }
    wr(dyn + 8, 8, b.len);
    wr(dyn + 32, 8, extra);
    strain_binary *bin = parse_copy(m, len);
    assert_true(has_warning(bin, "DT_NEEDED entries, only 1024 are read"));
    assert_int_equal(info(bin)->elf.n_needed, 1024);
    wr(dyn + 32, 8, UINT64_MAX / 2);
    bin = parse_copy(m, len);
    assert_true(has_warning(bin, "dynamic table extends past the end of the file"));
    free(m);
    free(b.p);
}

/* The dynamic entry with tag in the copy m (PT_DYNAMIC located by the caller), or NULL. */
static uint8_t *dyn_entry(uint8_t *m, size_t len, uint64_t dyn_off, uint64_t tag)
{
    for (uint64_t o = dyn_off; o + 16 <= len && rd(m + o, 8) != 0; o += 16) {
        if (rd(m + o, 8) == tag) {
            return m + o;
        }
    }
    return NULL;
}

/*
 * Without section headers the dynamic tables are all there is: a GNU hash table whose chains
 * never end, DT_STRTAB pointing at the dynamic table itself, a huge DT_VERNEEDNUM and version
 * entries chained onto themselves must each be survived, and reported where data is lost.
 */
static void test_dynamic_tables(void **state)
{
    (void)state;
    blob b = load("exe");
    uint8_t *m = malloc(b.len);
    memcpy(m, b.p, b.len);
    memset(m + E_SHOFF, 0, 8);
    memset(m + E_SHENTSIZE, 0, 6);
    strain_binary *bin = parse_copy(m, b.len);
    assert_false(info(bin)->partial);
    size_t n_imports = info(bin)->n_imports;
    assert_true(n_imports > 0);

    uint64_t phoff = rd(m + E_PHOFF, 8), dyn_off = 0;
    for (unsigned k = 0; k < rd(m + E_PHNUM, 2); k++) {
        if (rd(m + phoff + (uint64_t)k * PH_SIZE, 4) == 2) {
            dyn_off = rd(m + phoff + (uint64_t)k * PH_SIZE + 8, 8);
        }
    }
    assert_true(dyn_off != 0);
    /* gcc's PIE maps its first page at VA 0, offset 0: early tables have VA == offset. */
    uint8_t *gh = dyn_entry(m, b.len, dyn_off, 0x6ffffef5u);
    assert_non_null(gh);
    uint64_t gh_off = rd(gh + 8, 8);
    uint32_t nb = (uint32_t)rd(m + gh_off, 4), bloom = (uint32_t)rd(m + gh_off + 8, 4);
    uint64_t chains = gh_off + 16 + (uint64_t)bloom * 8 + (uint64_t)nb * 4;
    uint8_t *saved = malloc(b.len);
    memcpy(saved, m, b.len);
    for (uint64_t o = chains; o + 4 <= b.len && o < chains + 4096; o += 4) {
        wr(m + o, 4, rd(m + o, 4) & ~1u); /* no chain ever ends */
    }
    bin = parse_copy(m, b.len);
    assert_true(has_warning(bin, "dynamic symbol count estimated"));

    memcpy(m, saved, b.len);
    uint8_t *st = dyn_entry(m, b.len, dyn_off, 5);
    assert_non_null(st);
    wr(st + 8, 8, dyn_off); /* the dynamic table names itself as its string table */
    bin = parse_copy(m, b.len);
    assert_true(info(bin)->elf.n_needed <= 2);

    memcpy(m, saved, b.len);
    uint8_t *vnum = dyn_entry(m, b.len, dyn_off, 0x6fffffffu);
    uint8_t *vn = dyn_entry(m, b.len, dyn_off, 0x6ffffffeu);
    assert_true(vnum != NULL && vn != NULL);
    wr(vnum + 8, 8, 0xffffffffu);
    uint64_t vn_off = rd(vn + 8, 8);
    wr(m + vn_off + 12, 4, 16);    /* vn_next: a chain through whatever follows */
    wr(m + vn_off + 2, 2, 0xffff); /* vn_cnt */
    bin = parse_copy(m, b.len);
    assert_true(info(bin)->partial);
    assert_true(info(bin)->n_imports == n_imports);

    memcpy(m, saved, b.len);
    wr(m + vn_off + 12, 4, 0); /* one entry */
    wr(m + vn_off + 2, 2, 0xffff);
    wr(m + vn_off + rd(m + vn_off + 8, 4) + 12, 4, 0); /* aux chain stops at once */
    bin = parse_copy(m, b.len);
    assert_true(info(bin)->n_imports == n_imports);
    free(saved);
    free(m);
    free(b.p);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/*
 * A synthetic ELF64 whose n sections (plus the null one) all cover the same data_len bytes of
 * fill, of the given sh_type; section 1 is the name table. The shape of files that would make
 * per-section work quadratic: every limit on it must hold.
 */
static blob many_sections(unsigned n, uint32_t type, size_t data_len, int fill)
{
    blob b;
    b.len = 64 + data_len + (size_t)(n + 1) * SH_SIZE;
    b.p = calloc(1, b.len);
    assert_non_null(b.p);
    memcpy(b.p,
           "\x7f"
           "ELF\x02\x01\x01",
           7);
    wr(b.p + 16, 2, 1);  /* ET_REL */
    wr(b.p + 18, 2, 62); /* x86-64 */
    wr(b.p + 20, 4, 1);
    wr(b.p + E_SHOFF, 8, 64 + data_len);
    wr(b.p + 52, 2, 64);
    wr(b.p + E_SHENTSIZE, 2, SH_SIZE);
    wr(b.p + E_SHNUM, 2, n + 1);
    wr(b.p + E_SHSTRNDX, 2, 1);
    for (size_t k = 0; k < data_len; k++) {
        b.p[64 + k] = fill >= 0 ? (uint8_t)fill : (uint8_t)rng();
    }
    for (unsigned k = 1; k <= n; k++) {
        uint8_t *sh = b.p + 64 + data_len + (size_t)k * SH_SIZE;
        wr(sh + 4, 4, type);
        wr(sh + 24, 8, 64);
        wr(sh + 32, 8, data_len);
    }
    return b;
}

static void test_overlapping_sections(void **state)
{
    (void)state;
    /* 3000 sections over the same 256 KiB: entropy stops at twice the file size. */
    blob b = many_sections(3000, 1, 256 * 1024, -1);
    strain_binary *bin = parse_copy(b.p, b.len);
    assert_int_equal(info(bin)->n_sections, 3000);
    assert_true(has_warning(bin, "entropy of section"));
    assert_true(info(bin)->sections[0].entropy > 7.0);
    assert_true(info(bin)->sections[2999].entropy == 0.0);
    free(b.p);

    /* Names: a 1 MiB name table without a NUL, named by all 3000 sections. */
    b = many_sections(3000, 3, 1024 * 1024, 'A');
    bin = parse_copy(b.p, b.len);
    assert_int_equal(info(bin)->n_sections, 3000);
    assert_true(has_warning(bin, "longer than 4096 bytes, truncated"));
    assert_int_equal(strlen(info(bin)->sections[0].name), 4096);
    free(b.p);

    /* Notes: 3000 note sections of 5000 empty notes each; reading stops at the note cap. */
    b = many_sections(3000, 7, 12 * 5000, 0);
    bin = parse_copy(b.p, b.len);
    assert_true(has_warning(bin, "notes: the rest are not read"));
    assert_string_equal(info(bin)->elf.build_id, "");
    free(b.p);
}

static void test_random_bytes(void **state)
{
    (void)state;
    uint8_t buf[4096];
    for (int round = 0; round < 400; round++) {
        size_t len = (size_t)(rng() % sizeof(buf));
        for (size_t k = 0; k < len; k++) {
            buf[k] = (uint8_t)rng();
        }
        if (len >= 64) {
            memcpy(buf,
                   "\x7f"
                   "ELF",
                   4);
            buf[4] = (uint8_t)(1 + rng() % 2);
            buf[5] = (uint8_t)(1 + rng() % 2);
            /* Small table offsets so the tables land inside the buffer half the time. */
            if (rng() & 1) {
                wr(buf + (buf[4] == 2 ? E_PHOFF : 28), buf[4] == 2 ? 8 : 4, rng() % len);
                wr(buf + (buf[4] == 2 ? E_SHOFF : 32), buf[4] == 2 ? 8 : 4, rng() % len);
            }
        }
        parse_copy(buf, len);
    }
}

/* Random byte changes to real files, concentrated in the headers and tables. */
static void test_mutations(void **state)
{
    (void)state;
    const char *names[] = {"exe", "libl.so", "l.o"};
    size_t parsed = 0;
    for (size_t f = 0; f < 3; f++) {
        blob b = load(names[f]);
        uint8_t *m = malloc(b.len);
        uint64_t shoff = rd(b.p + E_SHOFF, 8);
        for (int round = 0; round < 300; round++) {
            memcpy(m, b.p, b.len);
            int flips = 1 + (int)(rng() % 8);
            for (int k = 0; k < flips; k++) {
                uint64_t r = rng();
                size_t at;
                switch (r % 3) {
                case 0: at = (size_t)(rng() % 0x400); break;                   /* headers */
                case 1: at = (size_t)(shoff + rng() % (b.len - shoff)); break; /* shdrs */
                default: at = (size_t)(rng() % b.len); break;
                }
                if (at < b.len) {
                    m[at] = (r >> 8) & 1 ? (uint8_t)rng() : (uint8_t)(m[at] ^ 0x80);
                }
            }
            parse_copy(m, b.len);
            parsed++;
        }
        free(m);
        free(b.p);
    }
    print_message("parsed %zu mutated files\n", parsed);
}

static void test_overlay(void **state)
{
    (void)state;
    blob b = load("exe");
    uint8_t *m = calloc(1, b.len + 1000);
    memcpy(m, b.p, b.len);
    strain_binary *bin = parse_copy(m, b.len + 1000);
    assert_true(info(bin)->overlay_offset == b.len && info(bin)->overlay_size == 1000);
    bin = parse_copy(m, b.len);
    assert_true(info(bin)->overlay_size == 0);
    free(m);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncation),    cmocka_unit_test(test_header_tables_outside),
        cmocka_unit_test(test_string_tables), cmocka_unit_test(test_extended_numbering),
        cmocka_unit_test(test_huge_dynamic),  cmocka_unit_test(test_dynamic_tables),
        cmocka_unit_test(test_random_bytes),  cmocka_unit_test(test_overlapping_sections),
        cmocka_unit_test(test_mutations),     cmocka_unit_test(test_overlay),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    release_all();
    return rc;
}
