/*
 * Indicators of compromise pulled out of a sample's strings: URLs, domains, IPv4 addresses,
 * e-mail addresses, registry keys, Windows paths and PDB paths.
 *
 * A binary is full of dotted names that are not hosts ("kernel32.dll", "System.IO",
 * "libc.so.6", "foo.cc") and dotted numbers that are not addresses ("1.0.0.0", "6.1.7601.0"),
 * so every rule leans towards precision: an indicator list an analyst must clean by hand is
 * worse than one missing a contrived case. The rules and what they reject are documented in
 * docs/info-schema.md ("iocs"); the unit tests pin each of them.
 *
 * Per string: URLs first (their spans, and e-mail addresses', are blanked before the bare
 * domain and IPv4 scans so a URL's path or query cannot yield fake domains), then e-mail,
 * bare domains and IPv4 tokens, registry keys, Windows paths and PDB paths. Each kind is then
 * sorted and deduplicated, keeping the offset of the first occurrence.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strain/strings.h>

#include "format/iocs_tld.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/vec.h"

struct strain_iocs {
    strain_arena arena;
    strain_vec kinds[STRAIN_IOC_N_KINDS]; /* strain_ioc, sorted by value */
    bool truncated[STRAIN_IOC_N_KINDS];
};

typedef struct ioc_scan {
    strain_iocs *r;
    char *masked; /* working copy of the current string, spans blanked */
    size_t masked_cap;
    uint64_t offset; /* of the current string */
} ioc_scan;

const char *strain_ioc_kind_name(strain_ioc_kind k)
{
    static const char *const names[STRAIN_IOC_N_KINDS] = {
        "urls", "domains", "ipv4", "emails", "registry", "paths", "pdb_paths",
    };
    return (unsigned)k < STRAIN_IOC_N_KINDS ? names[k] : "unknown";
}

static int add(ioc_scan *sc, strain_ioc_kind kind, const char *p, size_t n)
{
    char *v = strain_arena_strndup(&sc->r->arena, p, n);
    strain_ioc *slot = strain_vec_push(&sc->r->kinds[kind]);
    if (v == NULL || slot == NULL) {
        return STRAIN_ENOMEM;
    }
    slot->kind = kind;
    slot->value = v;
    slot->offset = sc->offset;
    return 0;
}

static bool ci_prefix(const char *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && strncasecmp(p, prefix, k) == 0;
}

static bool ci_suffix(const char *p, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(p + n - k, suffix, k) == 0;
}

static inline bool is_host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.';
}

/* ---- domains ------------------------------------------------------------------------- */

static int cmp_tld(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

static bool known_tld(const char *p, size_t n)
{
    char low[16];
    if (n < 2 || n >= sizeof(low)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalpha((unsigned char)p[i])) {
            return false;
        }
        low[i] = (char)tolower((unsigned char)p[i]);
    }
    low[n] = '\0';
    return bsearch(low, strain_iocs__tlds, sizeof(strain_iocs__tlds) / sizeof(char *),
                   sizeof(char *), cmp_tld) != NULL;
}

static bool in_list(const char *p, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(list[i]) == n && strncasecmp(p, list[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* Real TLDs that are also file extensions ("setup.py", "lib.so", "Makefile.am") or words and
 * members in code ("errors.is", "unicode.to", "time.zone", "obj.id", "x.name"): a bare name
 * ending in one needs a third label ("www.evil.zip", "cdn.example.io"). */
static bool ambiguous_tld(const char *p, size_t n)
{
    static const char *const amb[] = {
        "ac",   "am",  "app", "as", "at", "ax",   "be", "by", "date", "dev", "do",  "group", "ht",
        "id",   "in",  "int", "io", "is", "it",   "la", "li", "link", "md",  "me",  "mk",    "ml",
        "mm",   "mov", "ms",  "mu", "my", "name", "ne", "no", "pl",   "pm",  "ps",  "py",    "re",
        "rest", "ro",  "rs",  "se", "sh", "so",   "ss", "st", "to",   "us",  "zip", "zone",
    };
    return in_list(p, n, amb, sizeof(amb) / sizeof(amb[0]));
}

/* First labels that make a bare dotted name a code identifier: Go packages and the
 * type-equality symbols its linker emits ("runtime.link", "reflect.flag.ro", "eq.time.zone"),
 * JavaScript objects ("Function.prototype.name"), ELF section names ("data.rel.ro"). */
static bool code_prefix(const char *p, size_t n)
{
    static const char *const code[] = {
        "bytes",   "console", "context", "crypto",   "data",    "document", "encoding", "eq",
        "errors",  "exports", "fmt",     "function", "go",      "hash",     "index",    "internal",
        "io",      "map",     "math",    "module",   "net",     "os",       "process",  "prototype",
        "reflect", "runtime", "self",    "sort",     "strconv", "strings",  "sync",     "syscall",
        "this",    "time",    "type",    "unicode",  "unique",  "window",
    };
    return in_list(p, n, code, sizeof(code) / sizeof(code[0]));
}

/*
 * A host name (RFC 1035 labels, RFC 1123 leading digits) under a known TLD. Case: either the
 * TLD is lowercase or nothing is ("EXAMPLE.COM"); this rejects .NET namespaces ("System.IO",
 * "System.Net") whose TLD-like last part is capitalised.
 *
 * bare: found alone in a string rather than in a URL or e-mail address, where a binary's
 * identifiers look the same as hosts. Then also: no mixed case ("time.Time.date"); at most 6
 * labels (longer chains are extension lists: "x.avif.json.wasm.zip"); no label repeated
 * ("runtime.name.name"); not a code prefix (code_prefix); an ambiguous TLD needs 3 labels.
 */
static bool valid_domain(const char *p, size_t n, bool bare)
{
    if (n < 4 || n > 253) {
        return false;
    }
    size_t labels = 0, start = 0, last_start = 0;
    size_t first_len = 0, prev_len = 0;
    bool any_lower = false, any_upper = false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '.') {
            size_t len = i - start;
            if (len == 0 || len > 63 || p[start] == '-' || p[i - 1] == '-') {
                return false;
            }
            if (labels == 0) {
                first_len = len;
            }
            if (bare && labels > 0 && len == prev_len &&
                strncasecmp(p + start, p + last_start, len) == 0) {
                return false; /* "name.name" */
            }
            labels++;
            prev_len = len;
            last_start = start;
            start = i + 1;
            continue;
        }
        char c = p[i];
        if (!isalnum((unsigned char)c) && c != '-') {
            return false;
        }
        any_lower |= islower((unsigned char)c) != 0;
        any_upper |= isupper((unsigned char)c) != 0;
    }
    if (labels < 2) {
        return false;
    }
    const char *tld = p + last_start;
    size_t tld_len = n - last_start;
    if (!known_tld(tld, tld_len)) {
        return false;
    }
    bool tld_lower = true;
    for (size_t i = 0; i < tld_len; i++) {
        tld_lower &= islower((unsigned char)tld[i]) != 0;
    }
    if (!tld_lower && any_lower) {
        return false;
    }
    if (!bare) {
        return true;
    }
    if ((any_lower && any_upper) || labels > 6 || code_prefix(p, first_len)) {
        return false;
    }
    if (labels < 3 && ambiguous_tld(tld, tld_len)) {
        return false;
    }
    return true;
}

/* ---- IPv4 ---------------------------------------------------------------------------- */

/* Dotted quad of decimal octets without leading zeros; octets into o[4]. */
static bool parse_ipv4(const char *p, size_t n, int o[4])
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        size_t start = i;
        int v = 0;
        while (i < n && isdigit((unsigned char)p[i]) && i - start < 3) {
            v = v * 10 + (p[i] - '0');
            i++;
        }
        size_t len = i - start;
        if (len == 0 || v > 255 || (len > 1 && p[start] == '0')) {
            return false;
        }
        o[k] = v;
        if (k < 3) {
            if (i >= n || p[i] != '.') {
                return false;
            }
            i++;
        }
    }
    return i == n;
}

/*
 * A bare dotted quad as a host address: not 0.x.x.x (this network; also "0.9.8.1"-style
 * versions), not x.x.x.0 (a network, and most 4-part versions: "1.0.0.0", "10.0.0.0"), not
 * 224.0.0.0 and above (multicast, reserved, broadcast, netmasks like 255.255.255.0).
 */
static bool host_ipv4(const int o[4])
{
    return o[0] != 0 && o[3] != 0 && o[0] < 224;
}

/* ---- URLs ---------------------------------------------------------------------------- */

static bool is_url_char(char c)
{
    /* RFC 3986 unreserved, gen-delims, sub-delims and percent, minus the apostrophe (strings
     * quote URLs with it far more often than URLs contain it). */
    return isalnum((unsigned char)c) || strchr("-._~:/?#[]@!$&()*+,;=%", c) != NULL;
}

static const char *const url_schemes[] = {"http", "https", "ftp", "ftps", "ws", "wss"};

/* Validates the authority of a URL at p (just past the scheme separator); the host goes
 * to *host and *host_len. */
static bool url_host(const char *p, size_t n, const char **host, size_t *host_len)
{
    size_t end = 0;
    while (end < n && p[end] != '/' && p[end] != '?' && p[end] != '#') {
        end++;
    }
    /* userinfo@ */
    const char *at = memchr(p, '@', end);
    size_t hs = at != NULL ? (size_t)(at - p) + 1 : 0;
    size_t he = hs;
    if (hs < end && p[hs] == '[') { /* IPv6 literal: keep the URL, no host indicator */
        const char *close = memchr(p + hs, ']', end - hs);
        if (close == NULL) {
            return false;
        }
        *host = NULL;
        *host_len = 0;
        return true;
    }
    while (he < end && p[he] != ':') {
        he++;
    }
    if (he < end) { /* :port, digits only */
        for (size_t i = he + 1; i < end; i++) {
            if (!isdigit((unsigned char)p[i])) {
                return false;
            }
        }
    }
    *host = p + hs;
    *host_len = he - hs;
    int o[4];
    if (parse_ipv4(*host, *host_len, o)) {
        return true;
    }
    if (*host_len == 9 && strncasecmp(*host, "localhost", 9) == 0) {
        return true;
    }
    return valid_domain(*host, *host_len, false);
}

static int scan_urls(ioc_scan *sc, const char *t, size_t n)
{
    int err;
    const char *cur = t;
    while ((cur = memmem(cur, n - (size_t)(cur - t), "://", 3)) != NULL) {
        size_t sep = (size_t)(cur - t);
        cur += 3;
        size_t s = sep;
        while (s > 0 && isalpha((unsigned char)t[s - 1])) {
            s--;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof(url_schemes) / sizeof(url_schemes[0]); k++) {
            size_t kl = strlen(url_schemes[k]);
            /* the scheme may be glued to text before it ("gotohttp://"): take its tail */
            if (sep - s >= kl && strncasecmp(t + sep - kl, url_schemes[k], kl) == 0) {
                if (!known || sep - kl < s) {
                    s = sep - kl;
                }
                known = true;
            }
        }
        if (!known) {
            continue;
        }
        size_t e = sep + 3;
        while (e < n && is_url_char(t[e])) {
            e++;
        }
        /* Trailing punctuation belongs to the sentence; a ')' only if unbalanced. */
        while (e > sep + 3) {
            char c = t[e - 1];
            if (strchr(".,;:!?", c) != NULL) {
                e--;
            } else if (c == ')' && memchr(t + s, '(', e - s) == NULL) {
                e--;
            } else {
                break;
            }
        }
        const char *host;
        size_t host_len;
        if (e == sep + 3 || !url_host(t + sep + 3, e - sep - 3, &host, &host_len)) {
            continue;
        }
        STRAIN_TRY(add(sc, STRAIN_IOC_URL, t + s, e - s));
        int o[4];
        if (host != NULL && parse_ipv4(host, host_len, o)) {
            STRAIN_TRY(add(sc, STRAIN_IOC_IPV4, host, host_len));
        } else if (host != NULL && valid_domain(host, host_len, false)) {
            STRAIN_TRY(add(sc, STRAIN_IOC_DOMAIN, host, host_len));
        }
        memset(sc->masked + s, ' ', e - s);
        cur = t + e;
    }
    return 0;
done:
    return err;
}

/* ---- e-mail -------------------------------------------------------------------------- */

static bool is_local_char(char c)
{
    return isalnum((unsigned char)c) || strchr("._%+-", c) != NULL;
}

static int scan_emails(ioc_scan *sc, const char *t, size_t n)
{
    int err;
    char *m = sc->masked;
    for (size_t at = 0; at < n; at++) {
        if (m[at] != '@') {
            continue;
        }
        size_t s = at;
        while (s > 0 && is_local_char(m[s - 1]) && at - s < 64) {
            s--;
        }
        while (s < at && (m[s] == '.' || m[s] == '%')) { /* "%s@" pieces, leading dots */
            s++;
        }
        size_t e = at + 1;
        while (e < n && is_host_char(m[e])) {
            e++;
        }
        while (e > at + 1 && (m[e - 1] == '.' || m[e - 1] == '-')) {
            e--;
        }
        if (s == at || m[at - 1] == '.' || !valid_domain(m + at + 1, e - at - 1, false)) {
            continue;
        }
        STRAIN_TRY(add(sc, STRAIN_IOC_EMAIL, t + s, e - s));
        STRAIN_TRY(add(sc, STRAIN_IOC_DOMAIN, t + at + 1, e - at - 1));
        memset(m + s, ' ', e - s);
        at = e - 1;
    }
    return 0;
done:
    return err;
}

/* ---- bare domains and IPv4 ----------------------------------------------------------- */

static bool contains_ci(const char *t, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        if (strncasecmp(t + i, needle, k) == 0) {
            return true;
        }
    }
    return false;
}

static int scan_tokens(ioc_scan *sc, const char *t, size_t n)
{
    int err;
    const char *m = sc->masked;
    /* "Version 1.2.3.4", "FileVersion": a dotted quad in such a string is a version. */
    bool versiony = contains_ci(t, n, "version");
    size_t i = 0;
    while (i < n) {
        if (!is_host_char(m[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && is_host_char(m[i])) {
            i++;
        }
        size_t e = i;
        char before = s > 0 ? m[s - 1] : ' ';
        char after = e < n ? m[e] : ' ';
        /* ".data.rel.ro", ".avif.json": a leading dot marks a section name or an extension */
        bool leading_dot = m[s] == '.';
        /* trim sentence dots and dashes */
        while (s < e && (m[s] == '.' || m[s] == '-')) {
            s++;
        }
        while (e > s && (m[e - 1] == '.' || m[e - 1] == '-')) {
            e--;
        }
        if (e - s < 4 || memchr(m + s, '.', e - s) == NULL) {
            continue;
        }
        int o[4];
        if (parse_ipv4(m + s, e - s, o)) {
            /* "v1.2.3.4", "x1.2.3.4": glued to a word, a version or an identifier */
            if (!isalpha((unsigned char)before) && !isalpha((unsigned char)after) &&
                before != '_' && !versiony && host_ipv4(o)) {
                STRAIN_TRY(add(sc, STRAIN_IOC_IPV4, t + s, e - s));
            }
            continue;
        }
        /* A path component ("src/foo.cc", "C:\x\y.com"), a call ("obj.id("), a format
         * piece ("%s.example.com") or a member of a dotted identifier chain is no host. */
        bool after_slashes = s >= 2 && m[s - 1] == '/' && m[s - 2] == '/'; /* "//host" */
        if (leading_dot || (before == '/' && !after_slashes) || before == '\\' || after == '(' ||
            after == '\\' || before == '_' || after == '_') {
            continue;
        }
        if (before == '%') { /* "%s.example.com": drop the conversion letter's label */
            const char *dot = memchr(m + s, '.', e - s);
            s = (size_t)(dot - m) + 1;
        }
        if (valid_domain(m + s, e - s, true)) {
            STRAIN_TRY(add(sc, STRAIN_IOC_DOMAIN, t + s, e - s));
        }
    }
    return 0;
done:
    return err;
}

/* ---- registry keys ------------------------------------------------------------------- */

static const char *const reg_roots[] = {
    "HKEY_LOCAL_MACHINE\\",
    "HKEY_CURRENT_USER\\",
    "HKEY_CLASSES_ROOT\\",
    "HKEY_USERS\\",
    "HKEY_CURRENT_CONFIG\\",
    "HKLM\\",
    "HKCU\\",
    "HKCR\\",
    "HKU\\",
    "HKCC\\",
    "HKLM:\\",
    "HKCU:\\",
    "\\Registry\\Machine\\",
    "\\Registry\\User\\",
    /* keys given relative to a root, as RegOpenKeyEx takes them */
    "SOFTWARE\\",
    "SYSTEM\\CurrentControlSet\\",
    "SYSTEM\\ControlSet",
};

/* Where a key or path ends: quotes, shell metacharacters, an argument (" /x", " -x"). */
static size_t value_end(const char *t, size_t n, size_t s)
{
    size_t e = s;
    while (e < n) {
        char c = t[e];
        if (c == '"' || c == '\'' || c == '\t' || c == '<' || c == '>' || c == '|' || c == '*') {
            break;
        }
        if (c == ' ' && e + 1 < n && (t[e + 1] == '/' || t[e + 1] == '-' || t[e + 1] == ' ')) {
            break;
        }
        e++;
    }
    while (e > s && (t[e - 1] == ' ' || t[e - 1] == '.' || t[e - 1] == ',')) {
        e--;
    }
    return e;
}

static int scan_registry(ioc_scan *sc, const char *t, size_t n)
{
    int err;
    for (size_t i = 0; i < n; i++) {
        char prev = i > 0 ? t[i - 1] : ' ';
        if (isalnum((unsigned char)prev) || prev == '_' || prev == '\\' || prev == '%') {
            continue;
        }
        for (size_t k = 0; k < sizeof(reg_roots) / sizeof(reg_roots[0]); k++) {
            size_t kl = strlen(reg_roots[k]);
            if (!ci_prefix(t + i, n - i, reg_roots[k])) {
                continue;
            }
            size_t e = value_end(t, n, i);
            while (e > i && t[e - 1] == '\\') {
                e--;
            }
            if (e <= i + kl) { /* the root alone names no key */
                break;
            }
            STRAIN_TRY(add(sc, STRAIN_IOC_REGISTRY, t + i, e - i));
            i = e;
            break;
        }
    }
    return 0;
done:
    return err;
}

/* ---- Windows paths and PDB paths ----------------------------------------------------- */

/* Length of a path prefix at t[i] ("C:\", "%APPDATA%\", "\\server\"), 0 if none. */
static size_t path_prefix(const char *t, size_t n, size_t i)
{
    char prev = i > 0 ? t[i - 1] : ' ';
    if (isalnum((unsigned char)prev) || prev == '\\' || prev == '_') {
        return 0;
    }
    if (n - i >= 4 && isalpha((unsigned char)t[i]) && t[i + 1] == ':' && t[i + 2] == '\\') {
        return 3;
    }
    if (t[i] == '%' && prev != '%') {
        size_t j = i + 1;
        if (j < n && (isalpha((unsigned char)t[j]) || t[j] == '_')) {
            while (j < n && (isalnum((unsigned char)t[j]) || strchr("_()", t[j]) != NULL)) {
                j++;
            }
            if (j + 2 < n && t[j] == '%' && t[j + 1] == '\\') {
                return j + 2 - i;
            }
        }
        return 0;
    }
    if (n - i >= 5 && t[i] == '\\' && t[i + 1] == '\\') {
        size_t j = i + 2;
        if (t[j] == '?' || t[j] == '.') { /* \\?\ and \\.\ device namespaces */
            return (t[j + 1] == '\\' && isalnum((unsigned char)t[j + 2])) ? 4 : 0;
        }
        while (j < n && (isalnum((unsigned char)t[j]) || strchr(".-_$", t[j]) != NULL)) {
            j++;
        }
        if (j > i + 2 && j + 1 < n && t[j] == '\\') {
            return j + 1 - i;
        }
    }
    return 0;
}

static int scan_paths(ioc_scan *sc, const char *t, size_t n)
{
    int err;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        size_t pl = path_prefix(t, n, i);
        if (pl == 0) {
            continue;
        }
        size_t e = value_end(t, n, i + pl);
        /* '?' is a wildcard, never part of a name (past the \\?\ prefix) */
        const char *q = memchr(t + i + pl, '?', e - i - pl);
        if (q != NULL) {
            e = (size_t)(q - t);
        }
        /* ':' is not allowed in a name (T:\:d:l:t: is a getopt string, "x.txt: not found" a
         * message), except for the drive in a device path (\\?\C:\x). */
        size_t from = i + pl;
        if (pl == 4 && from + 1 < e && t[from + 1] == ':') {
            from += 2;
        }
        const char *colon = from < e ? memchr(t + from, ':', e - from) : NULL;
        if (colon != NULL) {
            e = (size_t)(colon - t);
        }
        if (e <= i + pl) {
            continue;
        }
        bool pdb = ci_suffix(t + i, e - i, ".pdb") && e - i > pl + 4;
        STRAIN_TRY(add(sc, pdb ? STRAIN_IOC_PDB_PATH : STRAIN_IOC_PATH, t + i, e - i));
        found = true;
        i = e;
    }
    /* A PDB path without a Windows prefix ("/build/x.pdb", "x.pdb", "D:/out/x.pdb"): the
     * whole string, when it is one name ending in .pdb. */
    if (!found && n > 4 && ci_suffix(t, n, ".pdb")) {
        size_t s = 0;
        while (s < n && (t[s] == ' ' || t[s] == '\t')) {
            s++;
        }
        bool ok = n - s > 4;
        bool rooted = t[s] == '/' || (n - s > 3 && isalpha((unsigned char)t[s]) &&
                                      t[s + 1] == ':' && t[s + 2] == '/');
        for (size_t i = s; ok && i < n; i++) {
            if (strchr("\"<>|*?\t", t[i]) != NULL || (t[i] == ' ' && !rooted)) {
                ok = false;
            }
        }
        if (ok) {
            STRAIN_TRY(add(sc, STRAIN_IOC_PDB_PATH, t + s, n - s));
        }
    }
    return 0;
done:
    return err;
}

/* ---- driver -------------------------------------------------------------------------- */

static int scan_string(ioc_scan *sc, const strain_string *str)
{
    int err;
    const char *t = str->text;
    size_t n = str->len;
    if (n < 4) {
        return 0;
    }
    bool has_dot = memchr(t, '.', n) != NULL;
    bool has_bs = memchr(t, '\\', n) != NULL;
    bool has_at = memchr(t, '@', n) != NULL;
    bool has_url = memmem(t, n, "://", 3) != NULL;
    if (!has_dot && !has_bs && !has_url) {
        return 0; /* every kind needs one of these */
    }
    if (n + 1 > sc->masked_cap) {
        char *nm = realloc(sc->masked, n + 1);
        if (nm == NULL) {
            return STRAIN_ENOMEM;
        }
        sc->masked = nm;
        sc->masked_cap = n + 1;
    }
    memcpy(sc->masked, t, n + 1);
    sc->offset = str->offset;
    if (has_url) {
        STRAIN_TRY(scan_urls(sc, t, n));
    }
    if (has_dot) {
        if (has_at) {
            STRAIN_TRY(scan_emails(sc, t, n));
        }
        STRAIN_TRY(scan_tokens(sc, t, n));
    }
    if (has_bs) {
        STRAIN_TRY(scan_registry(sc, t, n));
    }
    if (has_bs || ci_suffix(t, n, ".pdb")) {
        STRAIN_TRY(scan_paths(sc, t, n));
    }
    return 0;
done:
    return err;
}

static int cmp_ioc(const void *a, const void *b)
{
    const strain_ioc *x = a, *y = b;
    int c = strcmp(x->value, y->value);
    if (c != 0) {
        return c;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Sorts, keeps the first occurrence of each value, applies the per-kind cap. */
static void finish_kind(strain_iocs *r, strain_ioc_kind k)
{
    strain_vec *v = &r->kinds[k];
    if (v->len == 0) {
        return;
    }
    qsort(v->items, v->len, sizeof(strain_ioc), cmp_ioc);
    strain_ioc *it = v->items;
    size_t w = 1;
    for (size_t i = 1; i < v->len; i++) {
        if (strcmp(it[i].value, it[w - 1].value) != 0) {
            it[w++] = it[i];
        }
    }
    v->len = w;
    if (v->len > STRAIN_IOCS_MAX_PER_KIND) {
        v->len = STRAIN_IOCS_MAX_PER_KIND;
        r->truncated[k] = true;
    }
}

int strain_iocs_extract(strain_iocs **out, strain_ctx *ctx, const strain_strings *strings)
{
    int err = STRAIN_OK;
    if (out == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "iocs: invalid argument");
    }
    ioc_scan sc = {0};
    sc.r = calloc(1, sizeof(*sc.r));
    if (sc.r == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (int k = 0; k < STRAIN_IOC_N_KINDS; k++) {
        sc.r->kinds[k] = (strain_vec)STRAIN_VEC_INIT(strain_ioc);
    }
    size_t n = strain_strings_count(strings);
    for (size_t i = 0; i < n; i++) {
        STRAIN_TRY(scan_string(&sc, strain_strings_get(strings, i)));
    }
    for (int k = 0; k < STRAIN_IOC_N_KINDS; k++) {
        finish_kind(sc.r, (strain_ioc_kind)k);
    }
    *out = sc.r;
    sc.r = NULL;
done:
    if (err < 0) {
        strain__fail(ctx, err, "out of memory");
    }
    free(sc.masked);
    strain_iocs_free(sc.r);
    return err;
}

void strain_iocs_free(strain_iocs *iocs)
{
    if (iocs == NULL) {
        return;
    }
    for (int k = 0; k < STRAIN_IOC_N_KINDS; k++) {
        strain_vec_free(&iocs->kinds[k]);
    }
    strain_arena_release(&iocs->arena);
    free(iocs);
}

size_t strain_iocs_count(const strain_iocs *iocs, strain_ioc_kind kind)
{
    if (iocs == NULL || (unsigned)kind >= STRAIN_IOC_N_KINDS) {
        return 0;
    }
    return iocs->kinds[kind].len;
}

const strain_ioc *strain_iocs_get(const strain_iocs *iocs, strain_ioc_kind kind, size_t i)
{
    if (i >= strain_iocs_count(iocs, kind)) {
        return NULL;
    }
    return STRAIN_VEC_AT(&iocs->kinds[kind], strain_ioc, i);
}

bool strain_iocs_truncated(const strain_iocs *iocs, strain_ioc_kind kind)
{
    return iocs != NULL && (unsigned)kind < STRAIN_IOC_N_KINDS && iocs->truncated[kind];
}
