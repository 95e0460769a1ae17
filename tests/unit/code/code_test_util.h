/*
 * Helpers shared by the code-genotype test suites (header-only: each suite is its own
 * executable). Fixtures are built at test time from fixtures/prog.c by gcc and mingw-w64.
 */
#ifndef STRAIN_TEST_CODE_UTIL_H
#define STRAIN_TEST_CODE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/code.h>
#include <strain/strain.h>

#include "helpers.h"

static inline const char *ct_fixtures(void)
{
    static char dir[1024];
    const char *src = getenv("STRAIN_SOURCE_DIR");
    snprintf(dir, sizeof(dir), "%s/tests/unit/code/fixtures", src != NULL ? src : ".");
    return dir;
}

/* Compiles fixtures/<src> with cc and flags into <tmp>/<name>; returns the path or NULL. */
static inline const char *ct_build(const char *name, const char *cc, const char *flags,
                                   const char *src)
{
    static char paths[64][1024];
    static int next;
    char *out = paths[next++ % 64];
    snprintf(out, 1024, "%s/%s", th_tmpdir(), name);
    char *log = NULL;
    int rc = th_run(&log, "%s %s -I%s -o %s %s/%s 2>&1", cc, flags, ct_fixtures(), out,
                    ct_fixtures(), src);
    if (rc != 0) {
        fprintf(stderr, "build failed: %s %s: %s\n", cc, flags, log != NULL ? log : "");
        free(log);
        return NULL;
    }
    free(log);
    return out;
}

typedef struct ct_file {
    uint8_t *data;
    size_t len;
    strain_binary *bin;
    strain_genome *genome;
} ct_file;

static inline void ct_free(ct_file *f)
{
    strain_genome_free(f->genome);
    strain_binary_free(f->bin);
    free(f->data);
    memset(f, 0, sizeof(*f));
}

/* Parses path (raw code when arch != UNKNOWN) and builds its genome. 0 on success. */
static inline int ct_load(ct_file *f, strain_ctx *ctx, const char *path, strain_arch arch,
                          uint64_t base, const strain_code_options *o)
{
    memset(f, 0, sizeof(*f));
    f->data = th_read_file(path, &f->len);
    if (f->data == NULL) {
        return -1;
    }
    int err = arch != STRAIN_ARCH_UNKNOWN
                  ? strain_binary_parse_raw(&f->bin, ctx, f->data, f->len, arch, base)
                  : strain_binary_parse(&f->bin, ctx, f->data, f->len);
    if (err == 0) {
        err = strain_genome_build(&f->genome, ctx, f->bin, o);
    }
    return err;
}

/* True when the binary was parsed as its real format (the PE/ELF parsers are present). */
static inline bool ct_parsed_as(const ct_file *f, strain_format a, strain_format b)
{
    strain_format got = strain_binary_get_info(f->bin)->format;
    return got == a || got == b;
}

static inline double ct_score(strain_ctx *ctx, const strain_genome *a, const strain_genome *b)
{
    strain_comparison *c = NULL;
    if (strain_compare(&c, ctx, a, b) < 0) {
        return -1;
    }
    double s = c->score;
    strain_comparison_free(c);
    return s;
}

#endif
