/*
 * `strain certs`: certificates as evidence. import loads a list of known-abused
 * certificates (docs/certs.md); list shows every certificate in the database with how many
 * samples, families and actors it signs and the findings drawn from it (include/strain/
 * certs.h); show lists the samples one certificate is linked to, with their labels. The
 * database is found as `strain db` finds it (--db, $STRAIN_DB, the default).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <strain/certs.h>
#include <strain/store.h>

#include "cli.h"

enum { OPT_DB = 256, OPT_JSON };

static const struct option long_opts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

static int store_error(strain_ctx *ctx, const char *path, int err)
{
    const char *detail = strain_ctx_errmsg(ctx);
    if (detail[0] != '\0' && strstr(detail, path) != NULL) {
        cli_error("certs: %s", detail);
    } else if (detail[0] != '\0') {
        cli_error("certs: %s: %s", path, detail);
    } else {
        cli_error("certs: %s: %s", path, strain_strerror(err));
    }
    return (err == STRAIN_ENOTFOUND || err == STRAIN_EINVAL || err == STRAIN_ELIMIT ||
            err == STRAIN_EMALFORMED || err == STRAIN_EIO)
               ? CLI_EXIT_INPUT
               : CLI_EXIT_ERROR;
}

static json_t *jstr(const char *s)
{
    return (s != NULL && s[0] != '\0') ? json_string(s) : json_null();
}

static const char *or_dash(const char *s)
{
    return (s != NULL && s[0] != '\0') ? s : "-";
}

/* A certificate copied out of a store callback (the callback's record is borrowed). */
typedef struct cert_copy {
    strain_store_cert c;
    char *subject, *issuer, *serial;
} cert_copy;

typedef struct cert_vec {
    cert_copy *v;
    size_t n, cap;
} cert_vec;

static char *dup0(const char *s)
{
    return strdup(s != NULL ? s : "");
}

static int push_cert(const strain_store_cert *c, void *payload)
{
    cert_vec *cv = payload;
    if (cv->n == cv->cap) {
        size_t cap = cv->cap ? cv->cap * 2 : 16;
        cert_copy *v = realloc(cv->v, cap * sizeof(*v));
        if (v == NULL) {
            return STRAIN_ENOMEM;
        }
        cv->v = v;
        cv->cap = cap;
    }
    cert_copy *x = &cv->v[cv->n];
    x->c = *c;
    x->subject = dup0(c->subject);
    x->issuer = dup0(c->issuer);
    x->serial = dup0(c->serial);
    cv->n++;
    if (x->subject == NULL || x->issuer == NULL || x->serial == NULL) {
        return STRAIN_ENOMEM;
    }
    x->c.subject = x->subject;
    x->c.issuer = x->issuer;
    x->c.serial = x->serial;
    return 0;
}

static void cert_vec_free(cert_vec *cv)
{
    for (size_t i = 0; i < cv->n; i++) {
        free(cv->v[i].subject);
        free(cv->v[i].issuer);
        free(cv->v[i].serial);
    }
    free(cv->v);
}

/* Distinct names, for counting families and actors of one certificate. */
typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int names_add(names *ns, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return 0;
    }
    for (size_t i = 0; i < ns->n; i++) {
        if (strcmp(ns->v[i], s) == 0) {
            return 0;
        }
    }
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 8;
        char **v = realloc(ns->v, cap * sizeof(*v));
        if (v == NULL) {
            return STRAIN_ENOMEM;
        }
        ns->v = v;
        ns->cap = cap;
    }
    if ((ns->v[ns->n] = strdup(s)) == NULL) {
        return STRAIN_ENOMEM;
    }
    ns->n++;
    return 0;
}

static void names_free(names *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->v[i]);
    }
    free(ns->v);
    memset(ns, 0, sizeof(*ns));
}

static json_t *names_json(const names *ns)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ns->n; i++) {
        json_array_append_new(a, json_string(ns->v[i]));
    }
    return a;
}

/* What one certificate's links add up to. */
typedef struct tally {
    size_t signed_samples; /* linked as the signer */
    size_t chain_samples;  /* linked as a chain/bag certificate */
    size_t clean;
    names families, actors;
    json_t *samples; /* for show: one object per link, else NULL */
    int err;
} tally;

static int tally_cb(const strain_store_cert_link *l, const strain_store_sample *s, void *payload)
{
    tally *t = payload;
    bool signer = l->signer || !l->has_info;
    if (signer) {
        t->signed_samples++;
        t->clean += s->label.clean == 1;
        if ((t->err = names_add(&t->families, s->label.family)) < 0 ||
            (t->err = names_add(&t->actors, s->label.actor)) < 0) {
            return t->err;
        }
    } else {
        t->chain_samples++;
    }
    if (t->samples != NULL) {
        json_array_append_new(t->samples,
                              json_pack("{s:I, s:s, s:o, s:s, s:o, s:b, s:o, s:o, s:b}", "id",
                                        (json_int_t)s->id, "sha256", s->sha256, "file_name",
                                        jstr(s->file_name), "role", signer ? "signer" : "chain",
                                        "verdict", jstr(l->verdict), "kernel_driver",
                                        l->kernel_driver, "actor", jstr(s->label.actor), "family",
                                        jstr(s->label.family), "clean", s->label.clean == 1));
    }
    return 0;
}

static json_t *finding_json(const strain_certs_finding *f)
{
    json_t *ids = json_array();
    json_t *j;
    for (size_t i = 0; i < f->n_samples; i++) {
        json_array_append_new(ids, json_integer((json_int_t)f->sample_ids[i]));
    }
    j = json_pack("{s:s, s:s, s:o}", "kind", strain_certs_kind_name(f->kind), "text", f->text,
                  "sample_ids", ids);
    if (j != NULL && f->kind == STRAIN_CERTS_ABUSED) {
        json_object_set_new(j, "reason", jstr(f->reason));
        json_object_set_new(j, "list_actor", jstr(f->list_actor));
        json_object_set_new(j, "source", jstr(f->source));
        json_object_set_new(j, "note", jstr(f->note));
    }
    if (j != NULL && f->kind == STRAIN_CERTS_UNRELATED) {
        json_object_set_new(j, "best_similarity", json_real(f->best_similarity));
    }
    return j;
}

static json_t *cert_json(const strain_store_cert *c, const tally *t)
{
    char nb[32];
    char na[32];
    cli_fmt_time(nb, sizeof(nb), c->not_before);
    cli_fmt_time(na, sizeof(na), c->not_after);
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "sha256",
                     c->sha256, "sha1", jstr(c->sha1), "subject", jstr(c->subject), "issuer",
                     jstr(c->issuer), "serial", jstr(c->serial), "not_before", nb, "not_after", na,
                     "samples", (json_int_t)t->signed_samples, "chain_samples",
                     (json_int_t)t->chain_samples, "clean", (json_int_t)t->clean, "families",
                     names_json(&t->families), "actors", names_json(&t->actors));
}

static void print_findings(const strain_certs_findings *fs, int64_t cert_id, json_t *arr)
{
    for (size_t i = 0; i < strain_certs_findings_count(fs); i++) {
        const strain_certs_finding *f = strain_certs_findings_get(fs, i);
        if (f->cert_id != cert_id) {
            continue;
        }
        if (arr != NULL) {
            json_array_append_new(arr, finding_json(f));
        } else {
            printf("  FINDING %-16s %s\n", strain_certs_kind_name(f->kind), f->text);
        }
    }
}

static void print_cert_text(const strain_store_cert *c, const tally *t)
{
    printf("%s  %s\n", c->sha1[0] ? c->sha1 : c->sha256, or_dash(c->subject));
    printf("  issuer %s  serial %s\n", or_dash(c->issuer), or_dash(c->serial));
    printf("  signs %zu sample%s (%zu clean), %zu famil%s, %zu actor%s; in the chain of %zu\n",
           t->signed_samples, t->signed_samples == 1 ? "" : "s", t->clean, t->families.n,
           t->families.n == 1 ? "y" : "ies", t->actors.n, t->actors.n == 1 ? "" : "s",
           t->chain_samples);
    if (t->actors.n > 0) {
        printf("  actors");
        for (size_t i = 0; i < t->actors.n; i++) {
            printf(" %s", t->actors.v[i]);
        }
        printf("\n");
    }
}

/* list (one == NULL) or show (one = the certificate). */
static int do_list(strain_store *st, strain_ctx *ctx, const char *path, const char *one, bool json)
{
    cert_vec cv = {NULL, 0, 0};
    strain_certs_findings *fs = NULL;
    json_t *arr = json ? json_array() : NULL;
    int rc = CLI_EXIT_OK;
    int err;
    if (one != NULL) {
        err = strain_store_get_cert(st, one, push_cert, &cv);
    } else {
        err = strain_store_list_certs(st, push_cert, &cv);
    }
    if (err < 0 || (err = strain_certs_findings_db(&fs, ctx, st)) < 0) {
        rc = store_error(ctx, path, err);
        goto done;
    }
    for (size_t i = 0; i < cv.n; i++) {
        const strain_store_cert *c = &cv.v[i].c;
        tally t;
        memset(&t, 0, sizeof(t));
        t.samples = one != NULL ? json_array() : NULL;
        err = strain_store_cert_links(st, c->id, tally_cb, &t);
        if (err < 0) {
            names_free(&t.families);
            names_free(&t.actors);
            json_decref(t.samples);
            rc = store_error(ctx, path, err);
            goto done;
        }
        if (json) {
            json_t *j = cert_json(c, &t);
            json_t *fa = json_array();
            print_findings(fs, c->id, fa);
            json_object_set_new(j, "findings", fa);
            if (t.samples != NULL) {
                json_object_set_new(j, "linked_samples", t.samples);
                t.samples = NULL;
            }
            json_array_append_new(arr, j);
        } else {
            print_cert_text(c, &t);
            print_findings(fs, c->id, NULL);
            for (size_t k = 0; t.samples != NULL && k < json_array_size(t.samples); k++) {
                json_t *s = json_array_get(t.samples, k);
                printf("  %s  %-6s %-14s %-6s %-16s %-16s %s\n",
                       json_string_value(json_object_get(s, "sha256")),
                       json_string_value(json_object_get(s, "role")),
                       or_dash(json_string_value(json_object_get(s, "verdict"))),
                       json_is_true(json_object_get(s, "kernel_driver")) ? "driver" : "-",
                       or_dash(json_string_value(json_object_get(s, "actor"))),
                       or_dash(json_string_value(json_object_get(s, "family"))),
                       json_is_true(json_object_get(s, "clean")) ? "clean" : "-");
            }
        }
        json_decref(t.samples);
        names_free(&t.families);
        names_free(&t.actors);
    }
    size_t skipped = strain_certs_findings_skipped(fs);
    if (skipped > 0) {
        /* the unrelated-code check is capped; never let a cut look like a clean bill */
        cli_error("certs: note: unrelated-code check not made for %zu signed file%s "
                  "(comparison cap reached)",
                  skipped, skipped == 1 ? "" : "s");
    }
    if (json) {
        rc = cli_print_json("certs", one != NULL ? json_incref(json_array_get(arr, 0)) : json_incref(arr));
    }
done:
    json_decref(arr);
    strain_certs_findings_free(fs);
    cert_vec_free(&cv);
    return rc;
}

static int certs_run(int argc, char **argv)
{
    const char *db = NULL;
    bool json = false;
    char path[STRAIN_STORE_PATH_MAX];
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    int rc;
    int err;
    int c;
    optind = 1;
    opterr = 0;
    /* GNU getopt permutes: options may come before or after the subcommand. */
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: db = optarg; break;
        case OPT_JSON: json = true; break;
        default:
            return cli_usage_error("certs", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return cli_usage_error("certs", "missing subcommand (import, list, show)");
    }
    const char *sub = argv[optind++];
    int nargs = argc - optind;
    const char *arg = nargs > 0 ? argv[optind] : NULL;
    bool wants_arg = strcmp(sub, "import") == 0 || strcmp(sub, "show") == 0;
    if (!wants_arg && strcmp(sub, "list") != 0) {
        return cli_usage_error("certs", "unknown subcommand '%s'", sub);
    }
    if (nargs != (wants_arg ? 1 : 0)) {
        return cli_usage_error(
            "certs", wants_arg ? "%s needs exactly one argument" : "%s takes no arguments", sub);
    }
    if (strcmp(sub, "show") == 0 && strlen(arg) != 40 && strlen(arg) != 64) {
        return cli_usage_error("certs", "'%s' is not a thumbprint (40 or 64 hex digits)", arg);
    }
    if (strain_store_resolve_path(path, sizeof(path), db) < 0) {
        cli_error("certs: no database location: pass --db PATH or set STRAIN_DB or HOME");
        return CLI_EXIT_USAGE;
    }
    if (strain_ctx_new(&ctx) < 0) {
        cli_error("certs: out of memory");
        return CLI_EXIT_ERROR;
    }
    bool create = strcmp(sub, "import") == 0;
    if ((err = strain_store_open(&st, ctx, NULL, path, create ? STRAIN_STORE_CREATE : 0)) < 0) {
        rc = store_error(ctx, path, err);
        goto done;
    }
    if (create) {
        size_t n = 0;
        if ((err = strain_certs_import_file(&n, ctx, st, arg)) < 0) {
            /* The message names the file and line; the database is unchanged. */
            cli_error("certs: import: %s",
                      strain_ctx_errmsg(ctx)[0] ? strain_ctx_errmsg(ctx) : strain_strerror(err));
            rc = (err == STRAIN_ENOMEM || err == STRAIN_ESTORE) ? CLI_EXIT_ERROR : CLI_EXIT_INPUT;
            goto done;
        }
        if (json) {
            rc = cli_print_json("certs", json_pack("{s:s, s:s, s:I}", "file", arg, "database", path, "imported",
                                      (json_int_t)n));
        } else {
            printf("imported %zu abused-certificate entr%s from %s into %s\n", n,
                   n == 1 ? "y" : "ies", arg, path);
            rc = CLI_EXIT_OK;
        }
    } else {
        rc = do_list(st, ctx, path, strcmp(sub, "show") == 0 ? arg : NULL, json);
    }
done:
    strain_store_close(st);
    strain_ctx_free(ctx);
    return rc;
}

const cli_command cli_cmd_certs = {
    .name = "certs",
    .summary = "certificates as evidence: abused lists, who signs what, findings",
    .usage = "usage: strain certs [--db PATH] [--json] SUBCOMMAND [ARG]\n"
             "\n"
             "Subcommands:\n"
             "  import FILE         load a list of known-abused certificates (CSV or TSV with a\n"
             "                      header: sha1, sha256, serial, issuer, reason, actor, source,\n"
             "                      note; see docs/certs.md). All or nothing: a bad line is\n"
             "                      reported with its number and nothing is imported.\n"
             "  list                every certificate: subject, issuer, serial, sha1, how many\n"
             "                      samples, families and actors it signs, and findings\n"
             "                      (stolen, multi-actor, multi-family, driver-and-actor, abused)\n"
             "  show THUMBPRINT     one certificate (sha1 or sha256) and the samples it is\n"
             "                      linked to, with role, verdict and labels\n"
             "\n"
             "Options:\n"
             "  --db PATH   the database (default: $STRAIN_DB, else\n"
             "              $XDG_DATA_HOME/strain/strain.db or ~/.local/share/strain/strain.db)\n"
             "  --json      JSON output\n"
             "\n"
             "Exit status: 0 ok, 1 not found or bad input, 2 usage, 3 database error.\n",
    .run = certs_run,
};
