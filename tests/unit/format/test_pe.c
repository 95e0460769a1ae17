/*
 * PE parser tests: every PE of the public corpus against python3-pefile (imphash, Rich hash,
 * section table, imports, delay imports, exports, PDB, TLS, version info, overlay,
 * certificate table), mingw-built fixtures for the features the corpus lacks, and hostile
 * inputs (truncations, corrupted header fields, random bytes) that must give warnings and
 * never crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash/ordlookup.h"
#include "pe_golden.h"

static void test_corpus_golden(void **state)
{
    (void)state;
    const th_corpus_file *c;
    size_t n = th_corpus(&c);
    if (n == 0) {
        skip();
    }
    const char **paths = calloc(n, sizeof(char *));
    assert_non_null(paths);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(c[i].format, "pe32", 4) == 0) {
            paths[np++] = c[i].path;
        }
    }
    golden_stats st = golden_compare(paths, np);
    golden_print("corpus", &st);
    free(paths);
    assert_true(st.files > 100);
    assert_int_equal(st.equal, st.files);
}

/* ---- mingw-built fixtures (tests/fixtures/pe/build.sh) ---- */

static const char *fixtures(void)
{
    static char dir[1100];
    static int built = -1;
    if (built < 0) {
        static const char *const tools[] = {"x86_64-w64-mingw32-gcc",
                                            "i686-w64-mingw32-gcc",
                                            "x86_64-w64-mingw32-windres",
                                            "clang",
                                            "llvm-dlltool",
                                            "ld.lld"};
        built = 1;
        for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
            if (!th_have(tools[i])) {
                print_message("missing %s: PE fixtures not built\n", tools[i]);
                built = 0;
            }
        }
        snprintf(dir, sizeof(dir), "%s/pe_fixtures", th_tmpdir());
        if (built) {
            char *log = NULL;
            int rc = th_run(&log, "bash '%s/tests/fixtures/pe/build.sh' '%s' 2>&1",
                            getenv("STRAIN_SOURCE_DIR"), dir);
            if (rc != 0) {
                print_message("fixture build failed:\n%s\n", log ? log : "");
            }
            free(log);
            assert_int_equal(rc, 0);
        }
    }
    if (!built) {
        skip();
    }
    return dir;
}

typedef struct parsed {
    uint8_t *data;
    size_t len;
    strain_binary *bin;
    const strain_binary_info *i;
} parsed;

static parsed parse_fixture(const char *name)
{
    parsed p;
    char path[1300];
    snprintf(path, sizeof(path), "%s/%s", fixtures(), name);
    p.data = th_read_file(path, &p.len);
    assert_non_null(p.data);
    assert_int_equal(strain_binary_parse(&p.bin, NULL, p.data, p.len), 0);
    p.i = strain_binary_get_info(p.bin);
    return p;
}

static void parsed_free(parsed *p)
{
    strain_binary_free(p->bin);
    free(p->data);
}

static const char *const fixture_names[] = {"app64.exe",   "app32.exe",       "app64_overlay.exe",
                                            "dll64.dll",   "dll32.dll",       "driver.sys",
                                            "delay64.exe", "many_imports.exe"};
#define N_FIXTURES (sizeof(fixture_names) / sizeof(fixture_names[0]))

static void test_fixtures_golden(void **state)
{
    (void)state;
    const char *dir = fixtures();
    char paths[N_FIXTURES][1300];
    const char *pp[N_FIXTURES];
    for (size_t i = 0; i < N_FIXTURES; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, fixture_names[i]);
        pp[i] = paths[i];
    }
    golden_stats st = golden_compare(pp, N_FIXTURES);
    golden_print("fixtures", &st);
    assert_int_equal(st.files, N_FIXTURES);
    assert_int_equal(st.equal, st.files);
    /* the fixtures exist to exercise these: the reference must have seen them too */
    assert_true(st.kind[5] > 0);  /* dimp */
    assert_true(st.kind[6] > 0);  /* exp */
    assert_true(st.kind[8] > 0);  /* tls */
    assert_true(st.kind[9] > 0);  /* ver */
    assert_true(st.kind[10] > 0); /* overlay */
    assert_true(st.kind[7] > 0);  /* pdb */
}

static const strain_export *find_export(const strain_binary_info *i, uint32_t ordinal)
{
    for (size_t k = 0; k < i->n_exports; k++) {
        if (i->exports[k].ordinal == ordinal) {
            return &i->exports[k];
        }
    }
    return NULL;
}

static void test_fixture_exports(void **state)
{
    (void)state;
    static const char *const dlls[] = {"dll64.dll", "dll32.dll"};
    for (size_t d = 0; d < 2; d++) {
        parsed p = parse_fixture(dlls[d]);
        assert_int_equal(p.i->format, d == 0 ? STRAIN_FORMAT_PE32PLUS : STRAIN_FORMAT_PE32);
        assert_int_equal(p.i->arch, d == 0 ? STRAIN_ARCH_X64 : STRAIN_ARCH_X86);
        assert_int_equal(p.i->n_exports, 4);
        const strain_export *add = find_export(p.i, 1);
        assert_non_null(add);
        assert_string_equal(add->name, "add");
        assert_null(add->forwarder);
        uint64_t off;
        assert_int_equal(strain_binary_va_to_offset(p.bin, add->address, &off), 0);
        const strain_export *hidden = find_export(p.i, 7); /* NONAME in dll.def */
        assert_non_null(hidden);
        assert_null(hidden->name);
        assert_true(hidden->address != 0);
        const strain_export *fwd = find_export(p.i, 9);
        assert_non_null(fwd);
        assert_string_equal(fwd->name, "HeapAllocFwd");
        assert_string_equal(fwd->forwarder, "kernel32.HeapAlloc");
        assert_true(fwd->address == 0);
        assert_int_equal(p.i->n_warnings, 0);
        parsed_free(&p);
    }
}

/* 6000 imports: cut where pefile's thunk cap cuts (the golden test checks the exact list). */
static void test_fixture_many_imports(void **state)
{
    (void)state;
    parsed p = parse_fixture("many_imports.exe");
    size_t a = 0, b = 0;
    for (size_t k = 0; k < p.i->n_imports; k++) {
        a += strcmp(p.i->imports[k].library, "fixture_many_a.dll") == 0;
        b += strcmp(p.i->imports[k].library, "fixture_many_b.dll") == 0;
    }
    assert_int_equal(a, 3000);
    assert_true(b > 0 && b < 3000);
    int warned = 0;
    for (size_t k = 0; k < p.i->n_warnings; k++) {
        warned |= strstr(p.i->warnings[k], "import thunks") != NULL;
    }
    assert_true(warned);
    parsed_free(&p);
}

static const char *version_value(const strain_binary_info *i, const char *key)
{
    for (size_t k = 0; k < i->pe.n_version_info; k++) {
        if (strcmp(i->pe.version_info[k].key, key) == 0) {
            return i->pe.version_info[k].value;
        }
    }
    return NULL;
}

static void test_fixture_app(void **state)
{
    (void)state;
    static const char *const apps[] = {"app64.exe", "app32.exe"};
    for (size_t a = 0; a < 2; a++) {
        parsed p = parse_fixture(apps[a]);
        const strain_binary_info *i = p.i;
        /* strings written in app.rc */
        assert_string_equal(version_value(i, "CompanyName"), "Strain Fixture Works");
        assert_string_equal(version_value(i, "OriginalFilename"), "app_fixture.exe");
        assert_string_equal(version_value(i, "FileVersion"), "1.2.3.4");
        assert_int_equal(i->pe.n_version_info, 7);
        /* mingw's CRT callback plus ours in .CRT$XLB; each inside the image */
        assert_true(i->pe.n_tls_callbacks >= 2);
        for (size_t k = 0; k < i->pe.n_tls_callbacks; k++) {
            uint64_t off;
            assert_int_equal(strain_binary_va_to_offset(p.bin, i->pe.tls_callbacks[k], &off), 0);
        }
        /* ws2_ordinals.def: ordinals 1, 115, 999, no names */
        uint32_t want[] = {1, 115, 999};
        size_t found = 0;
        for (size_t k = 0; k < i->n_imports; k++) {
            const strain_import *im = &i->imports[k];
            if (strcmp(im->library, "ws2_32.dll") == 0) {
                assert_true(im->by_ordinal);
                assert_null(im->name);
                assert_int_equal(im->ordinal, want[found]);
                found++;
            }
            /* IAT slots lie in the image, one pointer apart within a library */
            uint64_t off;
            assert_int_equal(strain_binary_va_to_offset(p.bin, im->address, &off), 0);
        }
        assert_int_equal(found, 3);
        size_t ocx = 0;
        for (size_t k = 0; k < i->n_imports; k++) {
            if (strcmp(i->imports[k].library, "fixture_ord.ocx") == 0) {
                assert_true(i->imports[k].by_ordinal);
                assert_int_equal(i->imports[k].ordinal, 3);
                ocx++;
            }
        }
        assert_int_equal(ocx, 1);
        assert_true(i->has_entry);
        assert_false(i->is_driver);
        parsed_free(&p);
    }
}

static void test_fixture_overlay(void **state)
{
    (void)state;
    parsed a = parse_fixture("app64.exe");
    parsed b = parse_fixture("app64_overlay.exe");
    /* unstripped mingw images keep a COFF symbol table after the sections: an overlay */
    assert_int_equal(b.len, a.len + 4096);
    assert_int_equal(b.i->overlay_offset, a.i->overlay_offset);
    assert_int_equal(b.i->overlay_size, a.i->overlay_size + 4096);
    assert_int_equal(b.i->overlay_offset + b.i->overlay_size, b.len);
    parsed_free(&a);
    parsed_free(&b);
}

static void test_fixture_driver(void **state)
{
    (void)state;
    parsed p = parse_fixture("driver.sys");
    assert_true(p.i->is_driver);
    assert_int_equal(p.i->pe.subsystem, 1); /* IMAGE_SUBSYSTEM_NATIVE, from -Wl,--subsystem */
    size_t nt = 0, hal = 0;
    for (size_t k = 0; k < p.i->n_imports; k++) {
        nt += strcmp(p.i->imports[k].library, "ntoskrnl.exe") == 0;
        hal += strcmp(p.i->imports[k].library, "HAL.dll") == 0;
    }
    assert_int_equal(nt, 2);
    assert_int_equal(hal, 1);
    parsed_free(&p);
}

static void test_fixture_delay(void **state)
{
    (void)state;
    parsed p = parse_fixture("delay64.exe");
    size_t n = 0;
    for (size_t k = 0; k < p.i->n_imports; k++) {
        const strain_import *im = &p.i->imports[k];
        if (!im->delayed) {
            assert_true(strcmp(im->library, "fixture_delay.dll") != 0);
            continue;
        }
        assert_string_equal(im->library, "fixture_delay.dll");
        uint64_t off;
        assert_int_equal(strain_binary_va_to_offset(p.bin, im->address, &off), 0);
        if (im->by_ordinal) {
            assert_int_equal(im->ordinal, 5);
        } else {
            assert_true(strcmp(im->name, "delayed_fn") == 0 ||
                        strcmp(im->name, "delayed_other") == 0);
        }
        n++;
    }
    assert_int_equal(n, 3);
    /* lld's CodeView record: -Wl,--pdb=delay64.pdb in build.sh */
    assert_non_null(p.i->pe.pdb_path);
    size_t pl = strlen(p.i->pe.pdb_path);
    assert_true(pl > 11 && strcmp(p.i->pe.pdb_path + pl - 11, "delay64.pdb") == 0);
    assert_int_equal(strlen(p.i->pe.pdb_guid), 36);
    assert_int_equal(p.i->pe.pdb_age, 1);
    parsed_free(&p);
}

/* ---- targeted corruptions of a fixture (offsets from the PE/COFF specification) ---- */

#define T_LFANEW 0x3c
#define T_FH_NSECTIONS 6      /* from e_lfanew: "PE\0\0" + 2 */
#define T_FH_OPT_SIZE 20      /* from e_lfanew: "PE\0\0" + 16 */
#define T_OPT64_DIRS 24 + 112 /* from e_lfanew to DataDirectory[0] of a PE32+ image */
#define T_EXPDIR_NFUNCS 20
#define T_EXPDIR_NNAMES 24
#define T_IMPDESC_OFT 0
#define T_IMPDESC_FT 16

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Parses a copy of the bytes; asserts that some warning contains needle (if given). */
static strain_format parse_expect(const uint8_t *d, size_t len, const char *needle)
{
    strain_binary *bin = NULL;
    assert_int_equal(strain_binary_parse(&bin, NULL, d, len), 0);
    const strain_binary_info *i = strain_binary_get_info(bin);
    lines l = {0};
    if (i->format != STRAIN_FORMAT_RAW) {
        strain_lines(&l, i); /* walks every field */
    }
    lines_free(&l);
    int hit = needle == NULL;
    for (size_t k = 0; k < i->n_warnings; k++) {
        if (needle != NULL && strstr(i->warnings[k], needle) != NULL) {
            hit = 1;
        }
    }
    if (!hit) {
        print_message("no warning containing \"%s\"; got %zu:\n", needle, i->n_warnings);
        for (size_t k = 0; k < i->n_warnings; k++) {
            print_message("  %s\n", i->warnings[k]);
        }
    }
    assert_true(hit);
    assert_true(i->n_warnings == 0 || i->partial);
    strain_format f = i->format;
    strain_binary_free(bin);
    return f;
}

/* File offset of an RVA of the fixture, through strain's own (already golden-tested) map. */
static uint64_t rva_off(const parsed *p, uint32_t rva)
{
    uint64_t off = 0;
    assert_int_equal(strain_binary_va_to_offset(p->bin, p->i->image_base + rva, &off), 0);
    return off;
}

static void test_hostile_headers(void **state)
{
    (void)state;
    parsed p = parse_fixture("dll64.dll");
    uint8_t *d = malloc(p.len);
    assert_non_null(d);
    uint32_t lfanew = rd32(p.data + T_LFANEW);

    memcpy(d, p.data, p.len);
    wr32(d + T_LFANEW, 0x7ffffff0u);
    assert_int_equal(parse_expect(d, p.len, "e_lfanew"), STRAIN_FORMAT_RAW);

    memcpy(d, p.data, p.len);
    wr16(d + lfanew + T_FH_NSECTIONS, 0xffff);
    assert_int_equal(parse_expect(d, p.len, "section"), STRAIN_FORMAT_PE32PLUS);

    memcpy(d, p.data, p.len);
    wr16(d + lfanew + T_FH_OPT_SIZE, 0xffff);
    assert_int_equal(parse_expect(d, p.len, "section header 0"), STRAIN_FORMAT_PE32PLUS);

    memcpy(d, p.data, p.len);
    wr16(d + lfanew + T_FH_OPT_SIZE, 0); /* section table over the optional header */
    parse_expect(d, p.len, "SizeOfOptionalHeader");

    /* import directory RVA far outside the image */
    memcpy(d, p.data, p.len);
    wr32(d + lfanew + T_OPT64_DIRS + 8 * 1, 0x7ffffff0u);
    parse_expect(d, p.len, "import directory points outside the file");

    /* every directory RVA and size set to garbage */
    memcpy(d, p.data, p.len);
    for (int k = 0; k < 16; k++) {
        wr32(d + lfanew + T_OPT64_DIRS + 8 * k, 0xfffffff0u - (uint32_t)k);
        wr32(d + lfanew + T_OPT64_DIRS + 8 * k + 4, 0xffffffffu);
    }
    parse_expect(d, p.len, "outside the file");

    /* export counts of 0xFFFFFFFF: bounded by the bytes present */
    memcpy(d, p.data, p.len);
    uint64_t exp = rva_off(&p, p.i->pe.data_dirs[0].rva);
    wr32(d + exp + T_EXPDIR_NFUNCS, 0xffffffffu);
    wr32(d + exp + T_EXPDIR_NNAMES, 0xffffffffu);
    parse_expect(d, p.len, "export");

    /* the first import descriptor's thunk tables pointing outside the file */
    memcpy(d, p.data, p.len);
    uint64_t imp = rva_off(&p, p.i->pe.data_dirs[1].rva);
    wr32(d + imp + T_IMPDESC_OFT, 0x7fffff00u);
    wr32(d + imp + T_IMPDESC_FT, 0x7fffff00u);
    parse_expect(d, p.len, "import");

    /* import lookup table whose first thunk points back into the table itself */
    memcpy(d, p.data, p.len);
    uint32_t ilt = rd32(p.data + imp + T_IMPDESC_OFT);
    wr32(d + rva_off(&p, ilt), ilt);
    parse_expect(d, p.len, "points into its own table");

    free(d);
    parsed_free(&p);
}

/* A resource tree whose RT_VERSION subdirectory points back at the root. */
static void test_hostile_resource_loop(void **state)
{
    (void)state;
    parsed p = parse_fixture("app64.exe");
    assert_true(p.i->pe.n_version_info > 0);
    uint8_t *d = malloc(p.len);
    assert_non_null(d);
    memcpy(d, p.data, p.len);
    uint64_t root = rva_off(&p, p.i->pe.data_dirs[2].rva);
    uint32_t n = (uint32_t)(d[root + 12] | d[root + 13] << 8) + (d[root + 14] | d[root + 15] << 8);
    int patched = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t *e = d + root + 16 + 8 * k;
        if (rd32(e) == 16) {          /* RT_VERSION */
            wr32(e + 4, 0x80000000u); /* subdirectory at offset 0: the root itself */
            patched = 1;
        }
    }
    assert_true(patched);
    parse_expect(d, p.len, "RT_VERSION");
    free(d);
    parsed_free(&p);
}

/* imphash's normalisation rules, read from pefile's get_imphash(): lowercase, only a final
 * .dll/.ocx/.sys dropped, ordinals named through ordlookup or "ord<N>", delay imports out. */
static void test_imphash_rules(void **state)
{
    (void)state;
    strain_import imps[] = {
        {"KERNEL32.DLL", "GetProcAddress", 0, false, false, 0},
        {"Foo.OCX", "Init", 0, false, false, 0},
        {"drv.SYS", "IoCreateDevice", 0, false, false, 0},
        {"tool.exe", "Run", 0, false, false, 0},
        {"two.dots.dll", "X", 0, false, false, 0},
        {"WS2_32.dll", NULL, 115, true, false, 0},
        {"wsock32.DLL", NULL, 4000, true, false, 0},
        {"OLEAUT32.dll", NULL, 2, true, false, 0},
        {"custom.dll", NULL, 7, true, false, 0},
        {"delayed.dll", "Later", 0, false, true, 0},
        {"noext", "F", 0, false, false, 0},
    };
    strain_binary_info info;
    memset(&info, 0, sizeof(info));
    info.format = STRAIN_FORMAT_PE32;
    info.imports = imps;
    info.n_imports = sizeof(imps) / sizeof(imps[0]);
    const char *expect = "kernel32.getprocaddress,foo.init,drv.iocreatedevice,tool.exe.run,"
                         "two.dots.x,ws2_32.wsastartup,wsock32.ord4000,oleaut32.sysallocstring,"
                         "custom.ord7,noext.f";
    char want[STRAIN_MD5_HEX], got[STRAIN_MD5_HEX];
    assert_int_equal(strain_hash_md5(want, expect, strlen(expect)), 0);
    assert_int_equal(strain_hash_imphash(got, &info), 0);
    assert_string_equal(got, want);
    /* only delay imports, or no PE: no imphash */
    info.imports = &imps[9];
    info.n_imports = 1;
    assert_int_equal(strain_hash_imphash(got, &info), 0);
    assert_string_equal(got, "");
    info.imports = imps;
    info.n_imports = 3;
    info.format = STRAIN_FORMAT_ELF64;
    assert_int_equal(strain_hash_imphash(got, &info), 0);
    assert_string_equal(got, "");
}

/* The C ordinal tables equal pefile's ordlookup module entry for entry. */
static void test_ordlookup_table(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = th_run(&out, "/usr/bin/python3 -c 'import ordlookup\n"
                          "for lib in (b\"ws2_32.dll\", b\"wsock32.dll\", b\"oleaut32.dll\"):\n"
                          "  for k, v in ordlookup.ords[lib].items():\n"
                          "    print(lib.decode(), k, v.decode())'");
    assert_int_equal(rc, 0);
    assert_non_null(out);
    size_t n = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char lib[64], name[256];
        unsigned ord;
        assert_int_equal(sscanf(line, "%63s %u %255s", lib, &ord, name), 3);
        const char *got = strain_ordlookup__name(lib, ord);
        assert_non_null(got);
        assert_string_equal(got, name);
        n++;
    }
    free(out);
    print_message("ordlookup: %zu entries equal to pefile's\n", n);
    assert_true(n > 300);
    assert_null(strain_ordlookup__name("kernel32.dll", 1));
    assert_null(strain_ordlookup__name("ws2_32.dll", 99999));
}

static uint8_t *load_seed(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fuzz/corpus/pe/%s", getenv("STRAIN_SOURCE_DIR"), name);
    uint8_t *d = th_read_file(path, len);
    assert_non_null(d);
    return d;
}

/* Parses data and walks the whole result; returns the number of warnings. */
static size_t parse_walk(const uint8_t *data, size_t len, strain_format *fmt)
{
    strain_binary *bin = NULL;
    assert_int_equal(strain_binary_parse(&bin, NULL, data, len), 0);
    const strain_binary_info *i = strain_binary_get_info(bin);
    lines l = {0};
    if (i->format == STRAIN_FORMAT_PE32 || i->format == STRAIN_FORMAT_PE32PLUS) {
        strain_lines(&l, i);
    }
    lines_free(&l);
    for (size_t k = 0; k < i->n_warnings; k++) {
        assert_non_null(i->warnings[k]);
    }
    size_t n = i->n_warnings;
    if (fmt != NULL) {
        *fmt = i->format;
    }
    if (n > 0) {
        assert_true(i->partial);
    }
    strain_binary_free(bin);
    return n;
}

/* Every prefix of a real image: never a crash; a cut inside the image warns. */
static void test_truncation(void **state)
{
    (void)state;
    static const char *const seeds[] = {"mingw64_msgbox.exe", "mingw32_msgbox.exe"};
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t len;
        uint8_t *d = load_seed(seeds[s], &len);
        size_t silent_cuts = 0;
        for (size_t cut = 0; cut < len; cut += cut < 2048 ? 1 : 61) {
            uint8_t *copy = malloc(cut ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, d, cut);
            strain_format fmt;
            size_t w = parse_walk(copy, cut, &fmt);
            if (cut >= 2 && w == 0) {
                silent_cuts++;
            }
            free(copy);
        }
        /* MZ-prefixed cuts always say what is missing */
        assert_int_equal(silent_cuts, 0);
        /* and exactly at, just before and just after every section's raw data bounds */
        strain_binary *bin = NULL;
        assert_int_equal(strain_binary_parse(&bin, NULL, d, len), 0);
        const strain_binary_info *i = strain_binary_get_info(bin);
        assert_true(i->n_sections > 3);
        for (size_t k = 0; k < i->n_sections; k++) {
            uint64_t b[2] = {i->sections[k].raw_offset,
                             i->sections[k].raw_offset + i->sections[k].raw_size};
            for (int e = 0; e < 2; e++) {
                for (int delta = -1; delta <= 1; delta++) {
                    uint64_t cut = b[e] + (uint64_t)(int64_t)delta;
                    if (cut < 2 || cut >= len) { /* < 2: not even "MZ" */
                        continue;
                    }
                    size_t w = parse_walk(d, (size_t)cut, NULL);
                    assert_true(w > 0); /* a section cut short is always reported */
                }
            }
        }
        strain_binary_free(bin);
        free(d);
    }
}

/* Every header byte set to 0x00, 0xff and 0x7f in turn. */
static void test_header_corruption(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = load_seed("mingw64_msgbox.exe", &len);
    static const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80};
    for (size_t off = 0; off < 1024 && off < len; off++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t keep = d[off];
            d[off] = vals[v];
            parse_walk(d, len, NULL);
            d[off] = keep;
        }
    }
    free(d);
}

/* Random bytes behind a valid MZ/PE prefix, deterministic seed. */
static void test_random_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = load_seed("mingw32_msgbox.exe", &len);
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        uint8_t *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, d, len);
        size_t n = 1 + round % 64;
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % (round % 2 ? 1024 : len);
            x = x * 1103515245u + 12345u;
            copy[at] = (uint8_t)(x >> 16);
        }
        parse_walk(copy, len, NULL);
        free(copy);
    }
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_golden),         cmocka_unit_test(test_fixtures_golden),
        cmocka_unit_test(test_fixture_exports),       cmocka_unit_test(test_fixture_app),
        cmocka_unit_test(test_fixture_overlay),       cmocka_unit_test(test_fixture_driver),
        cmocka_unit_test(test_fixture_delay),         cmocka_unit_test(test_fixture_many_imports),
        cmocka_unit_test(test_imphash_rules),
        cmocka_unit_test(test_ordlookup_table),       cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_hostile_resource_loop), cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_header_corruption),     cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
