/*
 * `strain yara FILE... [--name RULE] [--family F --actor A] [--exclude PATH...] [--test
 * PATH...]`: write a YARA rule from the code most given files share and no excluded file has
 * (strain/yara_gen.h). The rule is compiled and checked with libyara before it is printed;
 * --test scans more files (held-out versions) with it and reports the hits on stderr.
 * Directories and archives given to --exclude and --test are walked.
 */
#include <stdlib.h>
#include <string.h>

#include <strain/yara_gen.h>

#include "cli.h"

typedef struct yset {
    strain_yara_file *f;
    uint8_t **owned;
    size_t n;
    size_t errors;
} yset;

static int on_sample(const strain_sample *s, int err, const char *msg, void *payload)
{
    yset *y = payload;
    if (s == NULL) {
        cli_error("yara: %s (%s)", msg, strain_strerror(err));
        y->errors++;
        return 0;
    }
    strain_yara_file *nf = realloc(y->f, (y->n + 1) * sizeof(*nf));
    uint8_t **no = realloc(y->owned, (y->n + 1) * sizeof(*no));
    if (nf != NULL) {
        y->f = nf;
    }
    if (no != NULL) {
        y->owned = no;
    }
    uint8_t *copy = malloc(s->size + 1);
    size_t nl = strlen(s->path) + (s->archive_path ? strlen(s->archive_path) + 1 : 0) + 1;
    char *name = malloc(nl);
    if (nf == NULL || no == NULL || copy == NULL || name == NULL) {
        free(copy);
        free(name);
        return STRAIN_ENOMEM;
    }
    if (s->size > 0) {
        memcpy(copy, s->data, s->size);
    }
    snprintf(name, nl, "%s%s%s", s->path, s->archive_path ? " " : "",
             s->archive_path ? s->archive_path : "");
    y->f[y->n] = (strain_yara_file){copy, s->size, name};
    y->owned[y->n++] = copy;
    return 0;
}

static int load_set(yset *y, strain_ctx *ctx, const char **paths, size_t n)
{
    if (n == 0) {
        return 0;
    }
    int err = strain_input_walk(ctx, paths, n, NULL, on_sample, y);
    return err < 0 ? err : 0;
}

static void free_set(yset *y)
{
    for (size_t i = 0; i < y->n; i++) {
        free(y->owned[i]);
        free((char *)y->f[i].name);
    }
    free(y->f);
    free(y->owned);
}

static int yara_run(int argc, char **argv)
{
    const char **given = calloc((size_t)argc, sizeof(char *));
    const char **excl = calloc((size_t)argc, sizeof(char *));
    const char **test = calloc((size_t)argc, sizeof(char *));
    size_t ng = 0, ne = 0, nt = 0;
    int mode = 0, rc = CLI_EXIT_OK;
    strain_yara_opts o;
    memset(&o, 0, sizeof(o));
    yset g, e, t;
    memset(&g, 0, sizeof(g));
    memset(&e, 0, sizeof(e));
    memset(&t, 0, sizeof(t));
    strain_ctx *ctx = NULL;
    char *rule = NULL;
    strain_yara_rules *rules = NULL;
    if (given == NULL || excl == NULL || test == NULL) {
        rc = CLI_EXIT_ERROR;
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--name") == 0     ? &o.rule_name
                            : strcmp(a, "--family") == 0 ? &o.family
                            : strcmp(a, "--actor") == 0  ? &o.actor
                                                         : NULL;
        if (slot != NULL) {
            if (i + 1 >= argc) {
                rc = cli_usage_error("yara", "%s needs a value", a);
                goto done;
            }
            *slot = argv[++i];
        } else if (strcmp(a, "--exclude") == 0) {
            mode = 1;
        } else if (strcmp(a, "--test") == 0) {
            mode = 2;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("yara", "unknown option '%s'", a);
            goto done;
        } else if (mode == 0) {
            given[ng++] = a;
        } else if (mode == 1) {
            excl[ne++] = a;
        } else {
            test[nt++] = a;
        }
    }
    if (ng == 0) {
        rc = cli_usage_error("yara", "at least one FILE is required");
        goto done;
    }
    if (strain_ctx_new(&ctx) < 0 || load_set(&g, ctx, given, ng) < 0 ||
        load_set(&e, ctx, excl, ne) < 0 || load_set(&t, ctx, test, nt) < 0) {
        cli_error("yara: %s", ctx ? strain_ctx_errmsg(ctx) : "out of memory");
        rc = CLI_EXIT_ERROR;
        goto done;
    }
    if (g.n == 0) {
        cli_error("yara: no file could be read");
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    strain_yara_report rep;
    if (strain_yara_generate(&rule, &rep, ctx, g.f, g.n, e.f, e.n, &o) < 0) {
        cli_error("yara: %s", strain_ctx_errmsg(ctx));
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    fputs(rule, stdout);
    fprintf(stderr,
            "strain: yara: %zu strings, %zu of them; matches %zu of %zu given files, %zu of %zu "
            "excluded (checked with libyara)\n",
            rep.n_strings, rep.n_of, rep.members_matched, g.n, rep.excluded_matched, e.n);
    if (t.n > 0) {
        if (strain_yara_compile(&rules, ctx, rule) < 0) {
            cli_error("yara: %s", strain_ctx_errmsg(ctx));
            rc = CLI_EXIT_ERROR;
            goto done;
        }
        size_t hits = 0;
        for (size_t i = 0; i < t.n; i++) {
            int r = strain_yara_scan(rules, ctx, t.f[i].data, t.f[i].size);
            fprintf(stderr, "test: %-8s %s\n",
                    r == 1   ? "match"
                    : r == 0 ? "no match"
                             : "error",
                    t.f[i].name);
            hits += r == 1;
        }
        fprintf(stderr, "strain: yara: --test: %zu of %zu files match\n", hits, t.n);
    }
    if (g.errors + e.errors + t.errors > 0) {
        rc = CLI_EXIT_INPUT;
    }
done:
    strain_yara_rules_free(rules);
    free(rule);
    free_set(&g);
    free_set(&e);
    free_set(&t);
    strain_ctx_free(ctx);
    free(given);
    free(excl);
    free(test);
    return rc;
}

const cli_command cli_cmd_yara = {
    .name = "yara",
    .summary = "write a YARA rule from the code files share",
    .usage = "usage: strain yara FILE... [--name RULE] [--family F] [--actor A]\n"
             "                   [--exclude PATH...] [--test PATH...]\n\n"
             "Finds the functions and the data strings most FILEs share (and no --exclude file\n"
             "has); functions become hex strings of their first instructions with ?? over\n"
             "displacements, branch targets and 32/64-bit immediates, strings become text\n"
             "strings; with an \"N of them\" condition and metadata (actor, family, members,\n"
             "date). The rule is compiled and checked with\n"
             "libyara before it is printed: it must match at least 90% of FILEs and no excluded\n"
             "file. --test PATH...: scan more files (held-out versions) and report the hits.\n",
    .run = yara_run,
};
