/*
 * Indicators: each rule is pinned by crafted strings, both what it must find and the
 * look-alikes a binary is full of that it must not ("kernel32.dll", "System.IO", "1.0.0.0",
 * "src/foo.cc"). Strings are built into a buffer and extracted the normal way, so offsets
 * and UTF-16LE conversion are exercised too.
 */
#include <stdlib.h>
#include <string.h>

#include <strain/strings.h>

#include "helpers.h"

/* Extracts indicators from NUL-separated ASCII strings. */
static strain_iocs *iocs_of(const char *const *strs, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += strlen(strs[i]) + 1;
    }
    char *buf = calloc(1, total + 1);
    assert_non_null(buf);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + off, strs[i], strlen(strs[i]));
        off += strlen(strs[i]) + 1;
    }
    strain_strings *s = NULL;
    strain_iocs *r = NULL;
    assert_int_equal(strain_strings_extract(&s, NULL, (const uint8_t *)buf, total, NULL), 0);
    assert_int_equal(strain_iocs_extract(&r, NULL, s), 0);
    strain_strings_free(s);
    free(buf);
    return r;
}

#define IOCS(...)                                                                                  \
    iocs_of((const char *const[]){__VA_ARGS__},                                                    \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* Asserts the kind holds exactly these values, in this (sorted) order. */
static void expect(const strain_iocs *r, strain_ioc_kind k, const char *const *want, size_t n)
{
    size_t got = strain_iocs_count(r, k);
    for (size_t i = 0; i < got && i < n; i++) {
        const strain_ioc *x = strain_iocs_get(r, k, i);
        if (strcmp(x->value, want[i]) != 0) {
            fail_msg("%s[%zu]: got '%s', want '%s'", strain_ioc_kind_name(k), i, x->value, want[i]);
        }
    }
    if (got != n) {
        for (size_t i = 0; i < got; i++) {
            print_message("  %s: %s\n", strain_ioc_kind_name(k), strain_iocs_get(r, k, i)->value);
        }
        fail_msg("%s: got %zu values, want %zu", strain_ioc_kind_name(k), got, n);
    }
}

#define EXPECT(r, k, ...)                                                                          \
    expect(r, k, (const char *const[]){__VA_ARGS__},                                               \
           sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define EXPECT_NONE(r, k) expect(r, k, NULL, 0)

static void test_urls(void **state)
{
    (void)state;
    strain_iocs *r =
        IOCS("see http://evil.example.com/gate.php?id=1.", "\"https://203.0.113.7:8443/x\"",
             "(ftp://files.example.org/a)", "hxxp://defanged.example.com/", "http://%s/%s",
             "gotohttps://update.example.net/u", "http://localhost:8080/",
             "http://schemas.microsoft.com/SMI/2005/WindowsSettings", "http://[2001:db8::1]/x",
             "https://bad.example.com:80x/");
    EXPECT(r, STRAIN_IOC_URL, "ftp://files.example.org/a", "http://[2001:db8::1]/x",
           "http://evil.example.com/gate.php?id=1", "http://localhost:8080/",
           "http://schemas.microsoft.com/SMI/2005/WindowsSettings", "https://203.0.113.7:8443/x",
           "https://update.example.net/u");
    /* hosts are indicators too; the query "id=1" yields no domain */
    /* a URL with a bad port is no URL, but its host still names a domain */
    EXPECT(r, STRAIN_IOC_DOMAIN, "bad.example.com", "defanged.example.com", "evil.example.com",
           "files.example.org", "schemas.microsoft.com", "update.example.net");
    EXPECT(r, STRAIN_IOC_IPV4, "203.0.113.7");
    strain_iocs_free(r);
}

static void test_domains(void **state)
{
    (void)state;
    strain_iocs *r =
        IOCS("kernel32.dll", "msvcrt.dll", "System.IO", "System.Net.Http", "libc.so.6", "libfoo.so",
             "setup.py", "src/foo.cc", "C:\\dir\\tool.com", "obj.id(x)", "c2.evil.ru", "EVIL.CN",
             "connect to mail.example.com.", "Google.com", "x.evil.zip", "evil.zip", "a.b",
             "%s.tracker.example.net", "3.14.159", "cdn-1.example.co.uk:443", "-bad-.com",
             "my_module.name", "WWW.Example.COM",
             "abcdefghijklmnopqrstuvwxyz-abcdefghijklmnopqrstuvwxyz"
             "-abcdefghijkl.com",
             /* seen in the corpus: Go, JavaScript and ELF identifiers, extension lists */
             "Function.prototype.name", "runtime.name.name", "errors.is", "unicode.to",
             ".data.rel.ro", "time.Time.date", "eq.time.zone", "reflect.flag.ro",
             "0930.avif.code.d.ts.html.jpeg.json.zip", "golang.org", "www.typescriptlang.org");
    /* "Google.com" alone is mixed case like an identifier: only a URL would report it */
    EXPECT(r, STRAIN_IOC_DOMAIN, "EVIL.CN", "c2.evil.ru", "cdn-1.example.co.uk", "golang.org",
           "mail.example.com", "tracker.example.net", "www.typescriptlang.org", "x.evil.zip");
    EXPECT_NONE(r, STRAIN_IOC_URL);
    strain_iocs_free(r);
}

static void test_ipv4(void **state)
{
    (void)state;
    strain_iocs *r = IOCS("connect 198.51.100.23:4444", "1.0.0.0", "10.0.0.0", "0.9.8.1",
                          "255.255.255.0", "255.255.255.255", "v1.2.3.4", "1.2.3.4.5", "300.1.1.1",
                          "01.2.3.4", "FileVersion 6.1.76.1", "ip=192.168.1.10", "224.0.0.251",
                          "peer 127.0.0.1", "198.51.100.23");
    EXPECT(r, STRAIN_IOC_IPV4, "127.0.0.1", "192.168.1.10", "198.51.100.23");
    const strain_ioc *x = strain_iocs_get(r, STRAIN_IOC_IPV4, 2);
    assert_int_equal(x->offset, 0); /* first occurrence kept */
    EXPECT_NONE(r, STRAIN_IOC_DOMAIN);
    strain_iocs_free(r);
}

static void test_emails(void **state)
{
    (void)state;
    strain_iocs *r = IOCS("contact: john.doe+x@mail.example.org.", "%s@%s", "user@localhost",
                          "root@kernel32.dll", "a@b.c", "<ops@evil.example.net>");
    EXPECT(r, STRAIN_IOC_EMAIL, "john.doe+x@mail.example.org", "ops@evil.example.net");
    EXPECT(r, STRAIN_IOC_DOMAIN, "evil.example.net", "mail.example.org");
    strain_iocs_free(r);
}

static void test_registry(void **state)
{
    (void)state;
    strain_iocs *r = IOCS("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                          "reg add \"HKCU\\Software\\Evil\" /v x", "HKEY_CURRENT_USER", "HKLM\\",
                          "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\",
                          "SYSTEM\\CurrentControlSet\\Services\\evilsvc",
                          "\\Registry\\Machine\\System\\x", "C:\\Windows\\System\\foo");
    EXPECT(r, STRAIN_IOC_REGISTRY, "HKCU\\Software\\Evil",
           "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
           "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
           "SYSTEM\\CurrentControlSet\\Services\\evilsvc", "\\Registry\\Machine\\System\\x");
    strain_iocs_free(r);
}

static void test_paths(void **state)
{
    (void)state;
    strain_iocs *r = IOCS(
        "C:\\Program Files\\Evil\\evil.exe -k netsvcs", "%APPDATA%\\Microsoft\\svchost.exe",
        "\\\\fileserver\\share$\\drop", "\\\\.\\pipe\\evilpipe", "cmd /c del \"c:\\temp\\x.bat\"",
        "C:\\", "%TEMP%\\", "ABC:\\x", "D:\\build\\Release\\evil.pdb", "/home/dev/out/agent.pdb",
        "agent2.pdb", "could not open symbols.pdb", "C:\\a\\*.txt",
        "T:\\:d:l:t:", "C:\\x\\y.txt: not found", "\\\\?\\C:\\long\\path");
    EXPECT(r, STRAIN_IOC_PATH, "%APPDATA%\\Microsoft\\svchost.exe",
           "C:\\Program Files\\Evil\\evil.exe", "C:\\a\\", "C:\\x\\y.txt", "\\\\.\\pipe\\evilpipe",
           "\\\\?\\C:\\long\\path", "\\\\fileserver\\share$\\drop", "c:\\temp\\x.bat");
    EXPECT(r, STRAIN_IOC_PDB_PATH, "/home/dev/out/agent.pdb", "D:\\build\\Release\\evil.pdb",
           "agent2.pdb");
    strain_iocs_free(r);
}

static void test_utf16_and_api(void **state)
{
    (void)state;
    /* a UTF-16LE URL is found and reported with the offset of its string */
    const char *u = "http://wide.example.com/";
    uint8_t buf[64] = {0};
    size_t n = strlen(u);
    for (size_t i = 0; i < n; i++) {
        buf[4 + 2 * i] = (uint8_t)u[i];
    }
    strain_strings *s = NULL;
    strain_iocs *r = NULL;
    assert_int_equal(strain_strings_extract(&s, NULL, buf, sizeof(buf), NULL), 0);
    assert_int_equal(strain_iocs_extract(&r, NULL, s), 0);
    EXPECT(r, STRAIN_IOC_URL, "http://wide.example.com/");
    assert_int_equal(strain_iocs_get(r, STRAIN_IOC_URL, 0)->offset, 4);
    assert_null(strain_iocs_get(r, STRAIN_IOC_URL, 1));
    assert_false(strain_iocs_truncated(r, STRAIN_IOC_URL));
    assert_string_equal(strain_ioc_kind_name(STRAIN_IOC_PDB_PATH), "pdb_paths");
    strain_iocs_free(r);
    strain_strings_free(s);
    /* no strings at all */
    assert_int_equal(strain_iocs_extract(&r, NULL, NULL), 0);
    assert_int_equal(strain_iocs_count(r, STRAIN_IOC_DOMAIN), 0);
    strain_iocs_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),          cmocka_unit_test(test_domains),
        cmocka_unit_test(test_ipv4),          cmocka_unit_test(test_emails),
        cmocka_unit_test(test_registry),      cmocka_unit_test(test_paths),
        cmocka_unit_test(test_utf16_and_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
