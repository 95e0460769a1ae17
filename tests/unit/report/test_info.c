/*
 * The info writers on a hand-built PE model, so every PE-only field, the number conventions
 * and the escaping of hostile names are exercised whatever the parsers recognise: the JSON
 * is parsed back with jansson and checked field by field, validated against
 * docs/schemas/info.schema.json with python3-jsonschema, and the text report is checked for
 * escaped control bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "report/info_impl.h"

static const strain_section secs[] = {
    {.name = ".text",
     .vaddr = 0x140001000ull,
     .vsize = 0x1234,
     .raw_offset = 0x400,
     .raw_size = 0x1400,
     .flags = STRAIN_SECTION_READ | STRAIN_SECTION_EXEC,
     .characteristics = 0x60000020,
     .entropy = 6.123456},
    /* a hostile name: invalid UTF-8 and an escape sequence; a size past INT64_MAX */
    {.name = "\xff\x1b[2J",
     .vaddr = 0x140003000ull,
     .vsize = 0xffffffffffffff00ull,
     .raw_offset = 0,
     .raw_size = 0,
     .flags = STRAIN_SECTION_READ | STRAIN_SECTION_WRITE},
};
static const strain_import imps[] = {
    {.library = "KERNEL32.dll", .name = "CreateFileW"},
    {.library = "WS2_32.dll", .ordinal = 115, .by_ordinal = true},
    {.library = "KERNEL32.dll", .name = "CloseHandle"},
    {.library = "KERNEL32.dll", .name = "Sleep", .delayed = true},
};
static const strain_export exps[] = {
    {.name = "Run", .ordinal = 1, .address = 0x140001010ull},
    {.name = NULL, .ordinal = 2, .address = 0x140001020ull},
    {.name = "Fwd", .ordinal = 3, .forwarder = "NTDLL.RtlAllocateHeap"},
};
static const strain_rich_entry rich[] = {{.product_id = 259, .build = 30729, .count = 7}};
static const strain_kv vinfo[] = {{"CompanyName", "Evil Corp"}, {"FileVersion", "1.0.0.0"}};
static const uint64_t tls[] = {0x140001500ull};
static const char *const warns[] = {"import directory points outside the file"};

static strain_binary_info fake_pe(void)
{
    strain_binary_info bi = {0};
    bi.format = STRAIN_FORMAT_PE32PLUS;
    bi.arch = STRAIN_ARCH_X64;
    bi.image_base = 0x140000000ull;
    bi.entry = 0x140001000ull;
    bi.has_entry = true;
    bi.partial = true;
    bi.overlay_offset = 0x2000;
    bi.overlay_size = 0x10;
    bi.n_sections = 2;
    bi.sections = secs;
    bi.n_imports = 4;
    bi.imports = imps;
    bi.n_exports = 3;
    bi.exports = exps;
    bi.n_warnings = 1;
    bi.warnings = warns;
    bi.pe.timestamp = 1577500000u;
    bi.pe.subsystem = 2;
    bi.pe.has_rich = true;
    bi.pe.rich_key = 0xdeadbeef;
    bi.pe.n_rich = 1;
    bi.pe.rich = rich;
    strcpy(bi.pe.rich_hash, "0123456789abcdef0123456789abcdef");
    bi.pe.pdb_path = "C:\\build\\evil.pdb";
    strcpy(bi.pe.pdb_guid, "01234567-89AB-CDEF-0123-456789ABCDEF");
    bi.pe.pdb_age = 3;
    bi.pe.n_tls_callbacks = 1;
    bi.pe.tls_callbacks = tls;
    bi.pe.n_version_info = 2;
    bi.pe.version_info = vinfo;
    bi.pe.security_offset = 0x1f00;
    bi.pe.security_size = 0x100;
    return bi;
}

/* An info over the fake model: hashes, strings and indicators are computed for real. */
static strain_info *fake_info(strain_sample **smp, const strain_binary_info *bi, bool strings)
{
    static const char bytes[] = "MZ....http://c2.example.com/gate\0C:\\Temp\\x.exe\0";
    assert_int_equal(
        strain_sample_from_memory(smp, NULL, bytes, sizeof(bytes), "in.exe", "a.zip!x/in.exe"), 0);
    strain_info *info = NULL;
    strain_info_opts o = {.with_strings = strings};
    assert_int_equal(strain_info_new(&info, NULL, *smp, &o), 0);
    info->bi = bi; /* the writers only read info->bi */
    return info;
}

static void test_json_pe_fields(void **state)
{
    (void)state;
    strain_binary_info bi = fake_pe();
    strain_sample *smp = NULL;
    strain_info *info = fake_info(&smp, &bi, true);
    char *out = NULL;
    assert_int_equal(strain_info_render(&out, NULL, info, STRAIN_REPORT_JSON), 0);
    assert_null(strchr(out, '\n')); /* one line: JSON Lines */
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    if (o == NULL) {
        fail_msg("not JSON: %s: %s", e.text, out);
    }
    assert_string_equal(json_string_value(json_object_get(o, "archive_path")), "a.zip!x/in.exe");
    assert_string_equal(json_string_value(json_object_get(o, "format")), "pe32+");
    assert_string_equal(json_string_value(json_object_get(o, "entry")), "0x140001000");
    assert_string_equal(json_string_value(json_object_get(o, "image_base")), "0x140000000");
    assert_string_equal(json_string_value(json_object_get(o, "subsystem")), "windows_gui");
    assert_string_equal(json_string_value(json_object_get(o, "timestamp_utc")),
                        "2019-12-28T02:26:40Z");
    assert_null(json_object_get(o, "imphash")); /* not computed here: absent, not null */
    assert_null(json_object_get(o, "elf"));
    json_t *s0 = json_array_get(json_object_get(o, "sections"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "flags")), "r-x");
    assert_int_equal(json_integer_value(json_object_get(s0, "vsize")), 0x1234);
    assert_true(json_real_value(json_object_get(s0, "entropy")) == 6.123);
    json_t *s1 = json_array_get(json_object_get(o, "sections"), 1);
    assert_string_equal(json_string_value(json_object_get(s1, "name")), "\\xff\x1b[2J");
    assert_string_equal(json_string_value(json_object_get(s1, "vsize")), "0xffffffffffffff00");
    /* imports: KERNEL32 (2), WS2_32 (ord115), KERNEL32 delay-load (1) */
    json_t *im = json_object_get(o, "imports");
    assert_int_equal(json_array_size(im), 3);
    assert_int_equal(json_array_size(json_object_get(json_array_get(im, 0), "functions")), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(im, 1), "functions"), 0)),
        "ord115");
    assert_true(json_is_true(json_object_get(json_array_get(im, 2), "delayed")));
    json_t *ex = json_object_get(o, "exports");
    assert_null(json_object_get(json_array_get(ex, 1), "name"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(ex, 2), "forwarder")),
                        "NTDLL.RtlAllocateHeap");
    assert_null(json_object_get(json_array_get(ex, 2), "address"));
    json_t *pdb = json_object_get(o, "pdb");
    assert_int_equal(json_integer_value(json_object_get(pdb, "age")), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "version_info"), "CompanyName")),
        "Evil Corp");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "rich"), "key")),
                        "0xdeadbeef");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "security"), "size")),
                     0x100);
    json_t *iocs = json_object_get(o, "iocs");
    assert_string_equal(json_string_value(json_array_get(json_object_get(iocs, "urls"), 0)),
                        "http://c2.example.com/gate");
    assert_true(json_is_true(json_object_get(o, "partial")));
    assert_int_equal(json_array_size(json_object_get(o, "strings")), 2);

    /* the schema accepts it (python3-jsonschema, Draft 2020-12) */
    char path[512];
    snprintf(path, sizeof(path), "%s/report.json", th_tmpdir());
    assert_int_equal(th_write_file(path, out, strlen(out)), 0);
    char *res = NULL;
    int rc = th_run(&res,
                    "/usr/bin/python3 -c 'import json,sys,jsonschema; "
                    "jsonschema.validate(json.load(open(sys.argv[2])), "
                    "json.load(open(sys.argv[1])), cls=jsonschema.Draft202012Validator); "
                    "print(\"valid\")' '%s/docs/schemas/info.schema.json' '%s' 2>&1",
                    getenv("STRAIN_SOURCE_DIR"), path);
    if (rc != 0) {
        fail_msg("schema: %s", res ? res : "");
    }
    free(res);
    json_decref(o);
    free(out);
    strain_info_free(info);
    strain_sample_free(smp);
}

static void test_text_escapes(void **state)
{
    (void)state;
    strain_binary_info bi = fake_pe();
    strain_sample *smp = NULL;
    strain_info *info = fake_info(&smp, &bi, false);
    char *out = NULL;
    assert_int_equal(strain_info_render(&out, NULL, info, STRAIN_REPORT_TEXT), 0);
    for (const char *p = out; *p != '\0'; p++) {
        assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f)); /* no raw control bytes */
    }
    assert_non_null(strstr(out, "\\xff\\x1b[2J"));
    assert_non_null(strstr(out, "http://c2.example.com/gate"));
    assert_non_null(strstr(out, "KERNEL32.dll (delay-load)"));
    assert_non_null(strstr(out, "-> NTDLL.RtlAllocateHeap"));
    assert_null(strstr(out, "\nstrings (")); /* only with_strings lists them */
    free(out);
    assert_int_equal(strain_info_render(&out, NULL, info, (strain_report_format)7), STRAIN_EINVAL);
    strain_info_free(info);
    strain_sample_free(smp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_pe_fields),
        cmocka_unit_test(test_text_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
