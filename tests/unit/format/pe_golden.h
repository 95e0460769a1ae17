/*
 * Golden comparison of strain's PE parse with python3-pefile (tests/helpers/pefile_dump.py):
 * both sides print one normalised line per fact; the lines of each file must be equal.
 * Included by test_pe.c only (one cmocka executable per module).
 */
#ifndef STRAIN_TEST_PE_GOLDEN_H
#define STRAIN_TEST_PE_GOLDEN_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/binary.h>
#include <strain/hash.h>

#include "helpers.h"

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void lines_add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lines_add(lines *l, const char *fmt, ...)
{
    char tmp[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(char *));
        assert_non_null(l->v);
    }
    l->v[l->n] = strdup(tmp);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Same escaping as pefile_dump.py's esc(). */
static const char *esc(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    if (s == NULL) {
        return "-";
    }
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
    return buf;
}
#define ESC(buf, s) esc(buf, sizeof(buf), (s), (s) ? strlen(s) : 0)

/* strain's view of one file, in pefile_dump.py's format (without the index column). */
static void strain_lines(lines *out, const strain_binary_info *bi)
{
    char a[4096], b[4096];
    const strain_pe_info *pe = &bi->pe;
    uint64_t base = bi->image_base;
    lines_add(out, "hdr\t%x\t%u\t%llx\t%llx\t%u", pe->machine, pe->subsystem,
              (unsigned long long)base, (unsigned long long)(bi->has_entry ? bi->entry - base : 0),
              pe->n_data_dirs);
    lines_add(out, "opt\t%x\t%x\t%x\t%x\t%x\t%u.%u\t%s", pe->timestamp, pe->characteristics,
              pe->dll_characteristics, pe->checksum, pe->size_of_headers, pe->linker_major,
              pe->linker_minor, strain_format_name(bi->format));
    for (uint32_t k = 0; k < pe->n_data_dirs; k++) {
        lines_add(out, "dir\t%u\t%x\t%x", k, pe->data_dirs[k].rva, pe->data_dirs[k].size);
    }
    if (pe->has_rich) {
        lines_add(out, "richkey\t%x", pe->rich_key);
        for (size_t k = 0; k < pe->n_rich; k++) {
            lines_add(out, "richent\t%zu\t%x\t%x\t%u", k, pe->rich[k].product_id, pe->rich[k].build,
                      pe->rich[k].count);
        }
    }
    char imphash[STRAIN_MD5_HEX];
    assert_int_equal(strain_hash_imphash(imphash, bi), 0);
    lines_add(out, "imphash\t%s", imphash[0] ? imphash : "-");
    lines_add(out, "rich\t%s", pe->rich_hash[0] ? pe->rich_hash : "-");
    for (size_t i = 0; i < bi->n_sections; i++) {
        const strain_section *s = &bi->sections[i];
        char hex[17] = "-";
        for (size_t k = 0; s->name[k] != '\0' && k < 8; k++) {
            snprintf(hex + 2 * k, 3, "%02x", (unsigned char)s->name[k]);
        }
        lines_add(out, "sec\t%s\t%llx\t%llx\t%llx\t%llx\t%llx\t%.9f", hex,
                  (unsigned long long)(s->vaddr - base), (unsigned long long)s->vsize,
                  (unsigned long long)s->raw_offset, (unsigned long long)s->raw_size,
                  (unsigned long long)s->characteristics, s->entropy);
    }
    size_t n_imp = 0, n_dimp = 0;
    for (size_t i = 0; i < bi->n_imports; i++) {
        const strain_import *im = &bi->imports[i];
        char what[4096];
        if (im->by_ordinal) {
            snprintf(what, sizeof(what), "#%u", im->ordinal);
        } else {
            snprintf(what, sizeof(what), "%s", ESC(b, im->name));
        }
        lines_add(out, "%s\t%zu\t%s\t%s\t%llx", im->delayed ? "dimp" : "imp",
                  im->delayed ? n_dimp++ : n_imp++, ESC(a, im->library), what,
                  (unsigned long long)im->address);
    }
    for (size_t i = 0; i < bi->n_exports; i++) {
        const strain_export *e = &bi->exports[i];
        if (e->forwarder != NULL) {
            lines_add(out, "exp\t%u\t%s\tfwd:%s", e->ordinal, ESC(a, e->name),
                      ESC(b, e->forwarder));
        } else {
            lines_add(out, "exp\t%u\t%s\t%llx", e->ordinal, ESC(a, e->name),
                      (unsigned long long)e->address);
        }
    }
    if (pe->pdb_path != NULL) {
        lines_add(out, "pdb\t%s\t%s\t%u", ESC(a, pe->pdb_path), pe->pdb_guid, pe->pdb_age);
    }
    for (size_t i = 0; i < pe->n_tls_callbacks; i++) {
        lines_add(out, "tls\t%zu\t%llx", i, (unsigned long long)pe->tls_callbacks[i]);
    }
    for (size_t i = 0; i < pe->n_version_info; i++) {
        lines_add(out, "ver\t%s\t%s", ESC(a, pe->version_info[i].key),
                  ESC(b, pe->version_info[i].value));
    }
    if (bi->overlay_size > 0) {
        lines_add(out, "overlay\t%llx\t%llx", (unsigned long long)bi->overlay_offset,
                  (unsigned long long)bi->overlay_size);
    }
    if (pe->security_size > 0) {
        lines_add(out, "secdir\t%llx\t%llx\t%llx\t%llx", (unsigned long long)pe->security_offset,
                  (unsigned long long)pe->security_size, (unsigned long long)pe->checksum_offset,
                  (unsigned long long)pe->security_dir_entry_offset);
    }
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Section lines carry an entropy: equal when the rest is equal and it differs < 1e-6. */
static int line_equal(const char *x, const char *y)
{
    if (strcmp(x, y) == 0) {
        return 1;
    }
    if (strncmp(x, "sec\t", 4) != 0 || strncmp(y, "sec\t", 4) != 0) {
        return 0;
    }
    const char *tx = strrchr(x, '\t'), *ty = strrchr(y, '\t');
    if (tx - x != ty - y || strncmp(x, y, (size_t)(tx - x)) != 0) {
        return 0;
    }
    return fabs(strtod(tx + 1, NULL) - strtod(ty + 1, NULL)) < 1e-6;
}

typedef struct golden_stats {
    size_t files;    /* files pefile accepted */
    size_t equal;    /* files whose every compared line matched */
    size_t lines;    /* reference lines compared */
    size_t kind[20]; /* reference lines per kind (index in golden_kinds) */
} golden_stats;

static const char *const golden_kinds[] = {
    "hdr", "imphash", "rich",   "sec", "imp", "dimp",    "exp",     "pdb", "tls",
    "ver", "overlay", "secdir", "opt", "dir", "richkey", "richent", NULL};

static int kind_index(const char *line)
{
    for (int k = 0; golden_kinds[k] != NULL; k++) {
        size_t n = strlen(golden_kinds[k]);
        if (strncmp(line, golden_kinds[k], n) == 0 && line[n] == '\t') {
            return k;
        }
    }
    return -1;
}

/* Kinds not compared yet (features still being written), "" when none. */
static const char *const golden_skip_kinds[] = {NULL};

static int golden_skipped(const char *line)
{
    for (int k = 0; golden_skip_kinds[k] != NULL; k++) {
        size_t n = strlen(golden_skip_kinds[k]);
        if (strncmp(line, golden_skip_kinds[k], n) == 0 && line[n] == '\t') {
            return 1;
        }
    }
    return 0;
}

/* Compares one file; prints the differences; returns 1 when equal. */
static int golden_compare_one(const char *path, lines *ref, lines *got, golden_stats *st)
{
    qsort(ref->v, ref->n, sizeof(char *), cmp_str);
    qsort(got->v, got->n, sizeof(char *), cmp_str);
    size_t i = 0, j = 0, shown = 0;
    int equal = 1;
    for (size_t k = 0; k < ref->n; k++) {
        int ki = kind_index(ref->v[k]);
        if (ki >= 0) {
            st->kind[ki]++;
        }
    }
    st->lines += ref->n;
    while (i < ref->n || j < got->n) {
        if (i < ref->n && j < got->n && line_equal(ref->v[i], got->v[j])) {
            i++;
            j++;
            continue;
        }
        equal = 0;
        int take_ref = j >= got->n || (i < ref->n && strcmp(ref->v[i], got->v[j]) < 0);
        if (shown++ < 12) {
            print_message("  %s %s: %s\n", take_ref ? "pefile" : "strain", path,
                          take_ref ? ref->v[i] : got->v[j]);
        }
        if (take_ref) {
            i++;
        } else {
            j++;
        }
    }
    return equal;
}

/*
 * Runs pefile over paths and compares every file it accepts with strain's parse. Returns
 * the statistics; every mismatch is printed.
 */
static golden_stats golden_compare(const char *const *paths, size_t n)
{
    golden_stats st;
    memset(&st, 0, sizeof(st));
    char list[1024];
    snprintf(list, sizeof(list), "%s/pe_golden_list.txt", th_tmpdir());
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\n", paths[i]);
    }
    fclose(f);
    char *out = NULL;
    int rc = th_run(&out, "/usr/bin/python3 '%s/tests/helpers/pefile_dump.py' '%s'",
                    getenv("STRAIN_SOURCE_DIR"), list);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    lines *ref = calloc(n, sizeof(lines));
    int *rejected = calloc(n, sizeof(int));
    assert_non_null(ref);
    assert_non_null(rejected);
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        size_t idx = strtoul(line, NULL, 10);
        assert_true(idx < n);
        if (strcmp(tab + 1, "error") == 0) {
            rejected[idx] = 1;
        } else if (kind_index(tab + 1) >= 0 && !golden_skipped(tab + 1)) {
            lines_add(&ref[idx], "%s", tab + 1);
        }
    }
    free(out);
    for (size_t i = 0; i < n; i++) {
        if (rejected[i]) {
            continue;
        }
        size_t len = 0;
        uint8_t *data = th_read_file(paths[i], &len);
        assert_non_null(data);
        strain_binary *bin = NULL;
        assert_int_equal(strain_binary_parse(&bin, NULL, data, len), 0);
        lines got = {0};
        strain_lines(&got, strain_binary_get_info(bin));
        for (size_t k = 0; k < got.n;) {
            if (golden_skipped(got.v[k])) {
                free(got.v[k]);
                got.v[k] = got.v[--got.n];
            } else {
                k++;
            }
        }
        st.files++;
        st.equal += (size_t)golden_compare_one(paths[i], &ref[i], &got, &st);
        lines_free(&got);
        lines_free(&ref[i]);
        strain_binary_free(bin);
        free(data);
    }
    free(ref);
    free(rejected);
    return st;
}

static void golden_print(const char *what, const golden_stats *st)
{
    print_message("%s: %zu/%zu files equal to pefile, %zu reference lines:", what, st->equal,
                  st->files, st->lines);
    for (int k = 0; golden_kinds[k] != NULL; k++) {
        print_message(" %s=%zu", golden_kinds[k], st->kind[k]);
    }
    print_message("\n");
}

#endif
