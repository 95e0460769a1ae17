/*
 * ELF parser against binutils readelf, computed at test time: every ELF of the public corpus
 * and fixtures built here (gcc executables, a versioned shared library and a program using
 * it, -fno-plt, static, -m32, big-endian PowerPC ELF32/ELF64 from cross binutils, an object
 * file, strip'ed copies and a copy with its section headers removed). Sections, segments,
 * interpreter, needed libraries, soname, build-id, symbols, exports, imports with their
 * libraries and GOT slots must all equal what readelf prints.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/binary.h>

#include "elf_readelf.h"
#include "helpers.h"

typedef struct parsed {
    uint8_t *data;
    size_t len;
    strain_binary *bin;
    const strain_binary_info *info;
} parsed;

static void parse_file(parsed *p, const char *path)
{
    p->data = th_read_file(path, &p->len);
    assert_non_null(p->data);
    assert_int_equal(strain_binary_parse(&p->bin, NULL, p->data, p->len), 0);
    p->info = strain_binary_get_info(p->bin);
}

static void parsed_free(parsed *p)
{
    strain_binary_free(p->bin);
    free(p->data);
}

static void dump_warnings(const strain_binary_info *i, const char *path)
{
    for (size_t k = 0; k < i->n_warnings; k++) {
        print_message("%s: warning: %s\n", path, i->warnings[k]);
    }
}

/* Counts of what was compared, printed at the end of each test. */
typedef struct tally {
    size_t files, sections, segments, needed, symbols, exports, imports, got, build_ids;
} tally;

static void print_tally(const char *what, const tally *t)
{
    print_message("%s: %zu files; compared %zu sections, %zu segments, %zu needed, %zu symbols, "
                  "%zu exports, %zu imports (%zu GOT slots), %zu build-ids\n",
                  what, t->files, t->sections, t->segments, t->needed, t->symbols, t->exports,
                  t->imports, t->got, t->build_ids);
}

#define CMP_NO_SECTIONS 0x1u /* readelf -D: the file's section headers are gone */

/* vpath: the same file with its section headers (for readelf -V), NULL = path. */
static void compare(const char *path, const char *vpath, unsigned how, tally *t)
{
    bool dyn = (how & CMP_NO_SECTIONS) != 0;
    re_elf *e = re_elf_read(path, dyn, vpath != NULL ? vpath : path);
    parsed p;
    parse_file(&p, path);
    const strain_binary_info *i = p.info;
    assert_true(i->format == STRAIN_FORMAT_ELF32 || i->format == STRAIN_FORMAT_ELF64);
    if (i->partial) {
        dump_warnings(i, path);
    }
    assert_false(i->partial);

    /* Sections */
    if (!dyn) {
        if (i->n_sections != e->n_sec) {
            fail_msg("%s: %zu sections, readelf %zu", path, i->n_sections, e->n_sec);
        }
        for (size_t k = 0; k < e->n_sec; k++) {
            const strain_section *s = &i->sections[k];
            const re_section *r = &e->sec[k];
            if (strcmp(s->name, r->name) != 0 || s->vaddr != r->addr || s->raw_offset != r->off ||
                s->vsize != r->size) {
                fail_msg("%s: section %zu: ours %s %llx %llx %llx, readelf %s %llx %llx %llx", path,
                         k + 1, s->name, (unsigned long long)s->vaddr,
                         (unsigned long long)s->raw_offset, (unsigned long long)s->vsize, r->name,
                         (unsigned long long)r->addr, (unsigned long long)r->off,
                         (unsigned long long)r->size);
            }
            bool nobits = strcmp(r->type, "NOBITS") == 0 || strcmp(r->type, "NULL") == 0;
            assert_true(s->raw_size == (nobits ? 0 : r->size));
        }
        t->sections += e->n_sec;
    } else {
        assert_int_equal(i->n_sections, 0);
    }

    /* Segments and interpreter */
    if (i->elf.n_segments != e->n_seg) {
        fail_msg("%s: %zu segments, readelf %zu", path, i->elf.n_segments, e->n_seg);
    }
    for (size_t k = 0; k < e->n_seg; k++) {
        const strain_segment *g = &i->elf.segments[k];
        const re_segment *r = &e->seg[k];
        uint32_t rt = re_segment_type(r->type);
        if ((rt != UINT32_MAX && rt != g->type) || g->offset != r->off || g->vaddr != r->va ||
            g->filesz != r->filesz || g->memsz != r->memsz || g->flags != r->flags) {
            fail_msg("%s: segment %zu: ours %x %llx %llx %llx %llx %u, readelf %s %llx %llx "
                     "%llx %llx %u",
                     path, k, g->type, (unsigned long long)g->offset, (unsigned long long)g->vaddr,
                     (unsigned long long)g->filesz, (unsigned long long)g->memsz, g->flags, r->type,
                     r->off, r->va, r->filesz, r->memsz, r->flags);
        }
    }
    t->segments += e->n_seg;
    assert_string_equal(i->elf.interpreter ? i->elf.interpreter : "", e->interp);

    /* Dynamic table */
    re_list l = {0};
    for (size_t k = 0; k < i->elf.n_needed; k++) {
        re_list_add(&l, "%s", i->elf.needed[k]);
    }
    re_list_sort_unique(&l, false);
    re_list_assert_equal(&l, &e->needed, "needed", path);
    t->needed += l.n;
    re_list_free(&l);
    assert_int_equal(i->elf.soname != NULL, e->has_soname);
    if (e->has_soname) {
        assert_string_equal(i->elf.soname, e->soname);
    }
    assert_string_equal(i->elf.build_id, e->build_id);
    t->build_ids += e->build_id[0] != '\0';

    /* Symbols: unique (name, address) of .symtab and .dynsym, versions stripped. */
    for (size_t k = 0; k < i->n_symbols; k++) {
        char base[1024];
        re_base_name(base, sizeof(base), i->symbols[k].name);
        re_list_add(&l, "%s@%llx%s", base, (unsigned long long)i->symbols[k].address,
                    i->symbols[k].is_function ? "F" : "");
    }
    size_t before = l.n;
    re_list_sort_unique(&l, true);
    if (dyn) {
        /* readelf -D lists the dynamic symbols only, as does our parse without sections. */
        assert_int_equal(before, l.n);
    }
    re_list_assert_equal(&l, &e->symbols, "symbols", path);
    t->symbols += l.n;
    re_list_free(&l);

    /* Exports and imports */
    for (size_t k = 0; k < i->n_exports; k++) {
        re_list_add(&l, "%s@%llx", i->exports[k].name, (unsigned long long)i->exports[k].address);
    }
    re_list_sort_unique(&l, false);
    re_list_assert_equal(&l, &e->exports, "exports", path);
    t->exports += l.n;
    re_list_free(&l);
    re_list got = {0};
    for (size_t k = 0; k < i->n_imports; k++) {
        const strain_import *im = &i->imports[k];
        re_list_add(&l, "%s|%s", im->name, im->library);
        if (im->address != 0) {
            re_list_add(&got, "%s=%llx", im->name, (unsigned long long)im->address);
        }
    }
    re_list_sort_unique(&l, false);
    re_list_assert_equal(&l, &e->imports, "imports", path);
    t->imports += l.n;
    re_list_free(&l);
    /* readelf's GOT list also names exported symbols (a library's own GLOB_DAT): keep the
     * entries for imported names. */
    re_list want = {0};
    for (size_t k = 0; k < e->got.n; k++) {
        size_t nl = strcspn(e->got.s[k], "=");
        for (size_t m = 0; m < i->n_imports; m++) {
            if (strlen(i->imports[m].name) == nl &&
                strncmp(i->imports[m].name, e->got.s[k], nl) == 0) {
                re_list_add(&want, "%s", e->got.s[k]);
                break;
            }
        }
    }
    re_list_sort_unique(&got, false);
    re_list_sort_unique(&want, false);
    re_list_assert_equal(&got, &want, "import GOT slots", path);
    t->got += got.n;
    re_list_free(&got);
    re_list_free(&want);

    /* Every segment and symbol address maps where the file says. */
    for (size_t k = 0; k < i->elf.n_segments; k++) {
        const strain_segment *g = &i->elf.segments[k];
        uint64_t off;
        if (g->type == 1 && g->filesz > 0) {
            assert_int_equal(strain_binary_va_to_offset(p.bin, g->vaddr, &off), 0);
        }
    }
    t->files++;
    parsed_free(&p);
    re_elf_free(e);
}

static void test_corpus(void **state)
{
    (void)state;
    const th_corpus_file *c;
    size_t n = th_corpus(&c);
    if (n == 0) {
        skip();
    }
    tally t = {0};
    for (size_t k = 0; k < n; k++) {
        if (strcmp(c[k].format, "elf64") == 0 || strcmp(c[k].format, "elf32") == 0) {
            compare(c[k].path, NULL, 0, &t);
        }
    }
    print_tally("corpus", &t);
    assert_true(t.files > 0);
}

/* Fixture sources. */
static const char lib_c[] = "#include <math.h>\n"
                            "int fix_counter = 3;\n"
                            "const char fix_name[] = \"fixture\";\n"
                            "double fix_scale(double x) { return sqrt(x) * fix_counter; }\n"
                            "int fix_add(int a, int b) { return a + b + fix_counter; }\n"
                            "__attribute__((weak)) int fix_weak(void) { return 1; }\n"
                            "static int hidden_helper(int a) { return a * 7; }\n"
                            "int fix_call(int a) { return hidden_helper(a); }\n";
static const char lib_map[] = "FIX_1.0 { global: fix_*; local: *; };\n";
static const char exe_c[] = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                            "extern int fix_add(int, int);\nextern int fix_counter;\n"
                            "int main(int argc, char **argv) {\n"
                            "  char *b = malloc(64); if (!b) return 1;\n"
                            "  strcpy(b, argv[0]); puts(b); free(b);\n"
                            "  printf(\"%d\\n\", fix_add(argc, fix_counter));\n"
                            "  return 0;\n}\n";
static const char static_c[] =
    "#include <stdio.h>\nint main(void) { puts(\"static\"); return 0; }\n";
static const char be_lib_s[] = "\t.text\n\t.globl be_func\n\t.type be_func,@function\n"
                               "be_func:\n\tblr\n\t.size be_func, .-be_func\n"
                               "\t.data\n\t.globl be_data\n\t.type be_data,@object\n"
                               "be_data:\n\t.long 7\n\t.size be_data, 4\n";
static const char be_exe_s[] = "\t.text\n\t.globl _start\n_start:\n\tbl be_func\n\tnop\n"
                               "\tb _start\n";
static const char be_map[] = "VERS_1 { global: be_*; local: *; };\n";

static void put(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(th_write_file(path, text, strlen(text)), 0);
}

static int sh(const char *cmd)
{
    char *out = NULL;
    int rc = th_run(&out, "%s 2>&1", cmd);
    if (rc != 0) {
        print_message("command failed (%d): %s\n%s\n", rc, cmd, out ? out : "");
    }
    free(out);
    return rc;
}

/* Builds the fixtures once; returns the directory. */
static const char *fixtures(void)
{
    static char dir[512];
    if (dir[0] != '\0') {
        return dir;
    }
    snprintf(dir, sizeof(dir), "%s/elf", th_tmpdir());
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    assert_int_equal(sh(cmd), 0);
    put(dir, "lib.c", lib_c);
    put(dir, "lib.map", lib_map);
    put(dir, "exe.c", exe_c);
    put(dir, "static.c", static_c);
    put(dir, "belib.s", be_lib_s);
    put(dir, "beexe.s", be_exe_s);
    put(dir, "be.map", be_map);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && gcc -O1 -g -shared -fPIC -Wl,-soname,libfix.so.1 "
             "-Wl,--version-script,lib.map -Wl,--build-id lib.c -o libfix.so -lm && "
             "gcc -O1 exe.c -o exe -L. -lfix -Wl,--build-id && "
             "gcc -O1 -fno-plt -Wl,-z,now exe.c -o exe_noplt -L. -lfix && "
             "gcc -O1 -no-pie exe.c -o exe_nopie -L. -lfix && "
             "gcc -O1 -static static.c -o static && gcc -O1 -c lib.c -o lib.o && "
             "strip -o exe_stripped exe && strip -o libfix_stripped.so libfix.so",
             dir);
    assert_int_equal(sh(cmd), 0);
    return dir;
}

static const char *const x64_fixtures[] = {
    "libfix.so", "exe",   "exe_noplt",    "exe_nopie",
    "static",    "lib.o", "exe_stripped", "libfix_stripped.so"};

static void compare_fixture(const char *name, unsigned how, tally *t)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", fixtures(), name);
    compare(path, NULL, how, t);
}

static void test_fixtures_x64(void **state)
{
    (void)state;
    tally t = {0};
    for (size_t k = 0; k < sizeof(x64_fixtures) / sizeof(x64_fixtures[0]); k++) {
        compare_fixture(x64_fixtures[k], 0, &t);
    }
    print_tally("x64 fixtures", &t);
    /* The fixtures exercise what they were built for. */
    parsed p;
    char path[1024];
    snprintf(path, sizeof(path), "%s/exe", fixtures());
    parse_file(&p, path);
    bool fix_add = false, puts_ok = false;
    for (size_t k = 0; k < p.info->n_imports; k++) {
        const strain_import *im = &p.info->imports[k];
        fix_add |= strcmp(im->name, "fix_add") == 0 && strcmp(im->library, "libfix.so.1") == 0 &&
                   im->address != 0;
        puts_ok |= strcmp(im->name, "puts") == 0 && strcmp(im->library, "libc.so.6") == 0 &&
                   im->address != 0;
    }
    assert_true(fix_add && puts_ok);
    assert_int_equal(strlen(p.info->elf.build_id), 40);
    assert_true(p.info->arch == STRAIN_ARCH_X64 && p.info->has_entry);
    parsed_free(&p);
}

/* A copy with e_shoff/e_shnum/e_shstrndx zeroed: only the program headers remain. */
static void strip_section_headers(const char *src, const char *dst)
{
    size_t len;
    uint8_t *d = th_read_file(src, &len);
    assert_non_null(d);
    bool is64 = d[4] == 2;
    if (is64) {
        memset(d + 40, 0, 8); /* e_shoff */
        memset(d + 58, 0, 6); /* e_shentsize, e_shnum, e_shstrndx */
    } else {
        memset(d + 32, 0, 4);
        memset(d + 46, 0, 6);
    }
    assert_int_equal(th_write_file(dst, d, len), 0);
    free(d);
}

static void test_no_section_headers(void **state)
{
    (void)state;
    tally t = {0};
    const char *names[] = {"libfix.so", "exe", "exe_noplt", "exe_nopie"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        char src[1024], dst[1024];
        snprintf(src, sizeof(src), "%s/%s", fixtures(), names[k]);
        snprintf(dst, sizeof(dst), "%s/%s.noshdr", fixtures(), names[k]);
        strip_section_headers(src, dst);
        compare(dst, src, CMP_NO_SECTIONS, &t);
    }
    print_tally("section headers removed", &t);
    assert_true(t.imports > 0 && t.exports > 0 && t.needed > 0 && t.got > 0);
}

static void test_fixtures_m32(void **state)
{
    (void)state;
    char cmd[4096];
    const char *dir = fixtures();
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && gcc -m32 -O1 -shared -fPIC -Wl,-soname,libfix32.so.1 "
             "-Wl,--version-script,lib.map lib.c -o libfix32.so -lm && "
             "gcc -m32 -O1 exe.c -o exe32 -L. -lfix32 && gcc -m32 -O1 -c lib.c -o lib32.o && "
             "strip -o exe32_stripped exe32",
             dir);
    if (sh(cmd) != 0) {
        print_message("gcc -m32 unavailable (gcc-multilib): ELF32 x86 not tested here\n");
        skip();
    }
    tally t = {0};
    const char *names[] = {"libfix32.so", "exe32", "lib32.o", "exe32_stripped"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        compare_fixture(names[k], 0, &t);
    }
    char src[1024], dst[1024];
    snprintf(src, sizeof(src), "%s/exe32", dir);
    snprintf(dst, sizeof(dst), "%s/exe32.noshdr", dir);
    strip_section_headers(src, dst);
    compare(dst, src, CMP_NO_SECTIONS, &t);
    print_tally("x86 ELF32 fixtures", &t);
    assert_true(t.got > 0);
}

static void test_big_endian(void **state)
{
    (void)state;
    if (!th_have("powerpc-linux-gnu-as") || !th_have("powerpc-linux-gnu-ld")) {
        print_message("binutils-powerpc-linux-gnu missing: big-endian ELF not tested\n");
        skip();
    }
    const char *dir = fixtures();
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && for m in 32 64; do "
             "if [ $m = 32 ]; then A=; L='-m elf32ppclinux'; I=/lib/ld.so.1; "
             "else A=-a64; L='-m elf64ppc'; I=/lib64/ld64.so.1; fi; "
             "powerpc-linux-gnu-as $A belib.s -o belib$m.o && "
             "powerpc-linux-gnu-ld $L -shared -soname libbe$m.so.1 --version-script be.map "
             "--build-id -o libbe$m.so belib$m.o && "
             "powerpc-linux-gnu-as $A beexe.s -o beexe$m.o && "
             "powerpc-linux-gnu-ld $L --build-id -dynamic-linker $I -o beexe$m beexe$m.o "
             "libbe$m.so || exit 1; done",
             dir);
    assert_int_equal(sh(cmd), 0);
    tally t = {0};
    const char *names[] = {"libbe32.so", "beexe32", "belib32.o", "libbe64.so", "beexe64"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        compare_fixture(names[k], 0, &t);
    }
    char src[1024], dst[1024];
    snprintf(src, sizeof(src), "%s/beexe32", dir);
    snprintf(dst, sizeof(dst), "%s/beexe32.noshdr", dir);
    strip_section_headers(src, dst);
    compare(dst, src, CMP_NO_SECTIONS, &t);
    print_tally("big-endian PowerPC fixtures", &t);
    parsed p;
    snprintf(src, sizeof(src), "%s/beexe32", dir);
    parse_file(&p, src);
    assert_true(p.info->elf.big_endian && p.info->format == STRAIN_FORMAT_ELF32);
    assert_int_equal(p.info->n_imports, 1);
    assert_string_equal(p.info->imports[0].library, "libbe32.so.1");
    assert_true(p.info->imports[0].address != 0);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_fixtures_x64),
        cmocka_unit_test(test_no_section_headers),
        cmocka_unit_test(test_fixtures_m32),
        cmocka_unit_test(test_big_endian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
