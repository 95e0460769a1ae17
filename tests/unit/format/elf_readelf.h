/*
 * Ground truth for the ELF tests: what binutils readelf reports for a file, parsed from its
 * text output, so every expectation comes from an independent implementation. The functions
 * are static in this header because the build gives each test executable one source file
 * (tests/CMakeLists.txt); only test_elf.c includes it.
 */
#ifndef STRAIN_TEST_ELF_READELF_H
#define STRAIN_TEST_ELF_READELF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define RE_EXEC 0x1u /* STRAIN_SECTION_* values, restated so this file stands alone */
#define RE_READ 0x2u
#define RE_WRITE 0x4u

/* A sortable list of strings. */
typedef struct re_list {
    char **s;
    size_t n, cap;
} re_list;

static void re_list_add(re_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void re_list_add(re_list *l, const char *fmt, ...)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->s = realloc(l->s, l->cap * sizeof(char *));
        assert_non_null(l->s);
    }
    va_list ap;
    va_start(ap, fmt);
    char tmp[2048];
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    l->s[l->n] = strdup(tmp);
    assert_non_null(l->s[l->n]);
    l->n++;
}

static int re_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void re_list_sort_unique(re_list *l, bool unique)
{
    if (l->n == 0) {
        return;
    }
    qsort(l->s, l->n, sizeof(char *), re_cmp);
    if (!unique) {
        return;
    }
    size_t w = 1;
    for (size_t r = 1; r < l->n; r++) {
        if (strcmp(l->s[r], l->s[w - 1]) == 0) {
            free(l->s[r]);
        } else {
            l->s[w++] = l->s[r];
        }
    }
    l->n = w;
}

static void re_list_free(re_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->s[i]);
    }
    free(l->s);
    memset(l, 0, sizeof(*l));
}

/* Both lists sorted; fails with the first difference. */
static void re_list_assert_equal(const re_list *ours, const re_list *truth, const char *what,
                                 const char *path)
{
    size_t i = 0, j = 0;
    while (i < ours->n || j < truth->n) {
        int c = i == ours->n ? 1 : j == truth->n ? -1 : strcmp(ours->s[i], truth->s[j]);
        if (c < 0) {
            fail_msg("%s: %s: ours has '%s' that readelf has not (%zu vs %zu entries)", path, what,
                     ours->s[i], ours->n, truth->n);
        }
        if (c > 0) {
            fail_msg("%s: %s: readelf has '%s' that ours has not (%zu vs %zu entries)", path, what,
                     truth->s[j], ours->n, truth->n);
        }
        i++;
        j++;
    }
}

typedef struct re_section {
    char name[256];
    char type[32];
    uint64_t addr, off, size;
} re_section;

typedef struct re_segment {
    char type[48];
    unsigned long long off, va, filesz, memsz;
    unsigned flags;
} re_segment;

#define RE_MAX_SECTIONS 8192
#define RE_MAX_SEGMENTS 256

typedef struct re_elf {
    re_section sec[RE_MAX_SECTIONS];
    size_t n_sec; /* excluding [0] */
    re_segment seg[RE_MAX_SEGMENTS];
    size_t n_seg;
    char interp[512];
    re_list needed;
    char soname[512];
    bool has_soname;
    char build_id[256];
    re_list exports; /* "name@value" */
    re_list imports; /* "name|library" */
    re_list got;     /* "name=va": imports with a JUMP_SLOT (else GLOB_DAT) relocation */
    re_list symbols; /* "name@value[F]" of .symtab and .dynsym, unique */
} re_elf;

/* Each line of a command's output; the buffer is modified. */
static char *re_next_line(char **cur)
{
    char *s = *cur;
    if (s == NULL || *s == '\0') {
        return NULL;
    }
    char *nl = strchr(s, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *cur = nl + 1;
    } else {
        *cur = s + strlen(s);
    }
    return s;
}

/* readelf prints versioned names as "name@VER (n)" / "name@@VER": the name alone. */
static void re_base_name(char *out, size_t cap, const char *s)
{
    size_t n = strcspn(s, "@ ");
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static void re_sections(re_elf *e, const char *path)
{
    char *out = NULL;
    th_run(&out, "LC_ALL=C readelf -W -S '%s' 2>/dev/null", path);
    char *cur = out, *line;
    while ((line = re_next_line(&cur)) != NULL) {
        char *lb = strchr(line, '['), *rb = lb ? strchr(lb, ']') : NULL;
        if (lb == NULL || rb == NULL || strncmp(line, "  [", 3) != 0 || lb[1] == 'N') {
            continue;
        }
        if (atoi(lb + 1) == 0) {
            continue;
        }
        assert_true(e->n_sec < RE_MAX_SECTIONS);
        re_section *s = &e->sec[e->n_sec];
        unsigned long long a, o, z;
        if (sscanf(rb + 1, "%255s %31s %llx %llx %llx", s->name, s->type, &a, &o, &z) == 5) {
            s->addr = a;
            s->off = o;
            s->size = z;
            e->n_sec++;
        }
    }
    free(out);
}

static uint32_t re_segment_type(const char *t)
{
    static const struct {
        const char *name;
        uint32_t type;
    } map[] = {{"NULL", 0},
               {"LOAD", 1},
               {"DYNAMIC", 2},
               {"INTERP", 3},
               {"NOTE", 4},
               {"SHLIB", 5},
               {"PHDR", 6},
               {"TLS", 7},
               {"GNU_EH_FRAME", 0x6474e550},
               {"GNU_STACK", 0x6474e551},
               {"GNU_RELRO", 0x6474e552},
               {"GNU_PROPERTY", 0x6474e553}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].name, t) == 0) {
            return map[i].type;
        }
    }
    return UINT32_MAX; /* readelf names it some other way: type not compared */
}

static void re_segments(re_elf *e, const char *path, bool dyn)
{
    char *out = NULL;
    th_run(&out, "LC_ALL=C readelf -W -l %s '%s' 2>/dev/null", dyn ? "-D" : "", path);
    char *cur = out, *line;
    bool in = false;
    while ((line = re_next_line(&cur)) != NULL) {
        if (strstr(line, "Program Headers:") != NULL) {
            in = true;
            continue;
        }
        if (!in) {
            continue;
        }
        if (line[0] == '\0') {
            break;
        }
        char *req = strstr(line, "[Requesting program interpreter: ");
        if (req != NULL) {
            req += strlen("[Requesting program interpreter: ");
            size_t n = strcspn(req, "]");
            snprintf(e->interp, sizeof(e->interp), "%.*s", (int)n, req);
            continue;
        }
        re_segment g;
        memset(&g, 0, sizeof(g));
        unsigned long long pa;
        int pos = 0;
        if (sscanf(line, " %47s 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx%n", g.type, &g.off, &g.va, &pa,
                   &g.filesz, &g.memsz, &pos) != 6) {
            continue;
        }
        const char *fl = line + pos;
        const char *al = strstr(fl, "0x");
        size_t fn = al ? (size_t)(al - fl) : strlen(fl);
        for (size_t k = 0; k < fn; k++) {
            g.flags |= fl[k] == 'R'   ? RE_READ
                       : fl[k] == 'W' ? RE_WRITE
                       : fl[k] == 'E' ? RE_EXEC
                                      : 0;
        }
        assert_true(e->n_seg < RE_MAX_SEGMENTS);
        e->seg[e->n_seg++] = g;
    }
    free(out);
}

static void re_dynamic_notes(re_elf *e, const char *path, bool dyn)
{
    char *out = NULL;
    th_run(&out, "LC_ALL=C readelf -W -d -n %s '%s' 2>/dev/null", dyn ? "-D" : "", path);
    char *cur = out, *line;
    while ((line = re_next_line(&cur)) != NULL) {
        char *lb = strchr(line, '['), *bid;
        size_t n = lb ? strcspn(lb + 1, "]") : 0;
        if (strstr(line, "(NEEDED)") != NULL && lb != NULL) {
            re_list_add(&e->needed, "%.*s", (int)n, lb + 1);
        } else if (strstr(line, "(SONAME)") != NULL && lb != NULL) {
            snprintf(e->soname, sizeof(e->soname), "%.*s", (int)n, lb + 1);
            e->has_soname = true;
        } else if ((bid = strstr(line, "Build ID: ")) != NULL && e->build_id[0] == '\0') {
            sscanf(bid + strlen("Build ID: "), "%255s", e->build_id);
        }
    }
    free(out);
}

/* Version index -> needed file, from readelf -V's "Version needs" block. */
static void re_versions(char files[][256], size_t n_files, const char *path, bool dyn)
{
    char *out = NULL;
    th_run(&out, "LC_ALL=C readelf -W -V %s '%s' 2>/dev/null", dyn ? "-D" : "", path);
    char *cur = out, *line, file[256] = "";
    bool in = false;
    while ((line = re_next_line(&cur)) != NULL) {
        if (strstr(line, "Version needs section") != NULL) {
            in = true;
            continue;
        }
        if (strstr(line, "Version symbols section") != NULL ||
            strstr(line, "Version definition section") != NULL) {
            in = false;
        }
        char *f = strstr(line, "File: "), *v = strstr(line, "Version: ");
        if (!in) {
            continue;
        }
        if (f != NULL) {
            sscanf(f + 6, "%255s", file);
        } else if (strstr(line, "Name: ") != NULL && v != NULL) {
            unsigned idx = (unsigned)atoi(v + 9) & 0x7fffu;
            if (idx < n_files) {
                snprintf(files[idx], 256, "%s", file);
            }
        }
    }
    free(out);
}

/* One symbol line of readelf -s: fields, name (versions stripped) and version index "(n)". */
typedef struct re_sym {
    unsigned long long value;
    char size[32], type[32], bind[32], vis[32], ndx[32];
    char name[1024];
    int version; /* -1 when none printed */
} re_sym;

static bool re_parse_sym(const char *line, re_sym *s)
{
    unsigned num;
    int pos = 0;
    if (sscanf(line, " %u: %llx %31s %31s %31s %31s %31s %n", &num, &s->value, s->size, s->type,
               s->bind, s->vis, s->ndx, &pos) != 7 ||
        pos == 0) {
        return false;
    }
    const char *rest = line + pos;
    if (rest[0] == '[') { /* st_other extras readelf prints before the index */
        return false;
    }
    re_base_name(s->name, sizeof(s->name), rest);
    const char *v = strstr(rest, " (");
    s->version = v != NULL ? atoi(v + 2) : -1;
    return true;
}

static void re_symbols(re_elf *e, const char *path, bool dyn, const char *vpath)
{
    static char files[32768][256];
    memset(files, 0, sizeof(files));
    re_versions(files, 32768, vpath, false);
    char *out = NULL;
    th_run(&out, "LC_ALL=C readelf -W %s '%s' 2>/dev/null", dyn ? "-s -D" : "-s", path);
    char *cur = out, *line;
    bool in_dynsym = dyn;
    while ((line = re_next_line(&cur)) != NULL) {
        if (strncmp(line, "Symbol table '", 14) == 0) {
            in_dynsym = strncmp(line + 14, ".dynsym'", 8) == 0 || dyn;
            continue;
        }
        re_sym s;
        if (!re_parse_sym(line, &s) || s.name[0] == '\0') {
            continue;
        }
        bool und = strcmp(s.ndx, "UND") == 0;
        bool func = strcmp(s.type, "FUNC") == 0 || strcmp(s.type, "IFUNC") == 0;
        if (!und && strcmp(s.type, "SECTION") != 0 && strcmp(s.type, "FILE") != 0) {
            re_list_add(&e->symbols, "%s@%llx%s", s.name, s.value, func ? "F" : "");
        }
        if (!in_dynsym || strcmp(s.bind, "LOCAL") == 0) {
            continue;
        }
        if (und) {
            const char *lib = s.version > 1 && s.version < 32768 ? files[s.version] : "";
            re_list_add(&e->imports, "%s|%s", s.name, lib);
        } else if ((func || strcmp(s.type, "OBJECT") == 0) &&
                   (strcmp(s.bind, "GLOBAL") == 0 || strcmp(s.bind, "WEAK") == 0 ||
                    strcmp(s.bind, "UNIQUE") == 0)) {
            re_list_add(&e->exports, "%s@%llx", s.name, s.value);
        }
    }
    free(out);
    re_list_sort_unique(&e->symbols, true);
    re_list_sort_unique(&e->exports, false);
    re_list_sort_unique(&e->imports, false);
}

/* GOT slots: r_offset of the JUMP_SLOT (else GLOB_DAT) relocation naming each symbol. */
static void re_relocs(re_elf *e, const char *path, bool dyn)
{
    char *out = NULL;
    th_run(&out, "LC_ALL=C readelf -W -r %s '%s' 2>/dev/null", dyn ? "-D" : "", path);
    re_list jump = {0}, glob = {0};
    char *cur = out, *line;
    while ((line = re_next_line(&cur)) != NULL) {
        unsigned long long off, info, val;
        char type[64], name[1024], base[1024];
        if (sscanf(line, "%llx %llx %63s %llx %1023s", &off, &info, type, &val, name) != 5) {
            continue;
        }
        re_base_name(base, sizeof(base), name);
        bool js = strstr(type, "JUMP_SLOT") != NULL || strstr(type, "JMP_SLOT") != NULL;
        bool gd = strstr(type, "GLOB_DAT") != NULL;
        if (js || gd) {
            re_list_add(js ? &jump : &glob, "%s=%llx", base, off);
        }
    }
    free(out);
    /* The first relocation of each kind per name; JUMP_SLOT wins. */
    for (size_t i = 0; i < jump.n; i++) {
        re_list_add(&e->got, "%s", jump.s[i]);
    }
    for (size_t i = 0; i < glob.n; i++) {
        size_t nl = strcspn(glob.s[i], "=");
        bool have = false;
        for (size_t k = 0; k < e->got.n && !have; k++) {
            have = strncmp(e->got.s[k], glob.s[i], nl + 1) == 0;
        }
        if (!have) {
            re_list_add(&e->got, "%s", glob.s[i]);
        }
    }
    re_list_free(&jump);
    re_list_free(&glob);
    /* Keep the first entry per name. */
    re_list dedup = {0};
    for (size_t i = 0; i < e->got.n; i++) {
        size_t nl = strcspn(e->got.s[i], "=");
        bool have = false;
        for (size_t k = 0; k < dedup.n && !have; k++) {
            have = strncmp(dedup.s[k], e->got.s[i], nl + 1) == 0;
        }
        if (!have) {
            re_list_add(&dedup, "%s", e->got.s[i]);
        }
    }
    re_list_free(&e->got);
    e->got = dedup;
    re_list_sort_unique(&e->got, false);
}

/*
 * Runs readelf on path. dyn: read through the dynamic segment (-D), for files whose section
 * headers are gone. readelf -V needs section headers, so version needs are read from vpath
 * (the same file with its headers; path itself when dyn is false). Free with re_elf_free.
 */
static re_elf *re_elf_read(const char *path, bool dyn, const char *vpath)
{
    re_elf *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    if (!dyn) {
        re_sections(e, path);
    }
    re_segments(e, path, dyn);
    re_dynamic_notes(e, path, dyn);
    re_symbols(e, path, dyn, vpath);
    re_relocs(e, path, dyn);
    re_list_sort_unique(&e->needed, false);
    return e;
}

static void re_elf_free(re_elf *e)
{
    if (e == NULL) {
        return;
    }
    re_list_free(&e->needed);
    re_list_free(&e->exports);
    re_list_free(&e->imports);
    re_list_free(&e->got);
    re_list_free(&e->symbols);
    free(e);
}

#endif
