/*
 * `strain query FILE...`: attribute files against the reference database. Every sample
 * found in the inputs (archives are opened) is analysed and ranked by strain_engine_query;
 * this file only parses options and picks a report writer.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "engine_cli.h"

enum { OPT_DB = 256, OPT_JSON, OPT_EXPLAIN, OPT_ALL, OPT_THRESHOLD, OPT_CA };

static const struct option query_opts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"json", no_argument, NULL, OPT_JSON},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"all", no_argument, NULL, OPT_ALL},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"neighbors", required_argument, NULL, 'k'},
    {"ca", required_argument, NULL, OPT_CA},
    {NULL, 0, NULL, 0},
};

typedef struct qrun {
    cli_engine *ce;
    strain_query_options o;
    bool json;
    bool explain;
    size_t n_done;
    int rc;
} qrun;

static int on_sample(const strain_sample *s, int err, const char *errmsg, void *payload)
{
    qrun *q = payload;
    strain_engine_item *it = NULL;
    strain_query_result *r = NULL;
    char name[4200];
    if (s == NULL) {
        cli_error("query: %s", errmsg ? errmsg : strain_strerror(err));
        q->rc = CLI_EXIT_INPUT;
        return 0;
    }
    snprintf(name, sizeof(name), "%s%s%s", s->path, s->archive_path ? "!" : "",
             s->archive_path ? s->archive_path : "");
    int e = strain_engine_prepare(&it, q->ce->ctx, s->data, s->size, name);
    if (e == 0) {
        e = strain_engine_query(&r, q->ce->eng, it, &q->o);
    }
    if (e < 0) {
        cli_error("query: %s: %s (%s)", name, strain_strerror(e), strain_ctx_errmsg(q->ce->ctx));
        q->rc = e == STRAIN_ENOMEM || e == STRAIN_ESTORE ? CLI_EXIT_ERROR : CLI_EXIT_INPUT;
        strain_engine_item_free(it);
        return e == STRAIN_ENOMEM || e == STRAIN_ESTORE ? e : 0;
    }
    if (q->json) {
        char *js = NULL;
        if (strain_report_query_json(&js, r, name) == 0) {
            printf("%s\n  %s", q->n_done ? "," : "[", js);
        }
        free(js);
    } else {
        if (q->n_done) {
            printf("\n");
        }
        strain_report_query_text(stdout, q->ce->ctx, r, name, it, q->explain);
    }
    q->n_done++;
    strain_query_result_free(r);
    strain_engine_item_free(it);
    return 0;
}

static int query_run(int argc, char **argv)
{
    const char *db = NULL;
    const char *ca = NULL;
    qrun q;
    cli_engine ce;
    int c;
    memset(&q, 0, sizeof(q));
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:", query_opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case OPT_DB: db = optarg; break;
        case OPT_CA: ca = optarg; break;
        case OPT_JSON: q.json = true; break;
        case OPT_EXPLAIN: q.explain = true; break;
        case OPT_ALL: q.o.all = true; break;
        case OPT_THRESHOLD:
            q.o.threshold = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(q.o.threshold > 0 && q.o.threshold <= 1)) {
                return cli_usage_error("query", "--threshold needs a score in (0, 1]");
            }
            break;
        case 'k':
            q.o.max_neighbors = (unsigned)strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || q.o.max_neighbors == 0 ||
                q.o.max_neighbors > 1000) {
                return cli_usage_error("query", "--neighbors needs 1..1000");
            }
            break;
        default: return cli_usage_error("query", "unknown option");
        }
    }
    if (optind >= argc) {
        return cli_usage_error("query", "FILE is required");
    }
    int rc = cli_engine_open(&ce, "query", db, false);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if ((rc = cli_engine_trust(&ce, "query", ca)) != CLI_EXIT_OK) {
        cli_engine_close(&ce);
        return rc;
    }
    q.ce = &ce;
    int err = strain_input_walk(ce.ctx, (const char *const *)&argv[optind], (size_t)(argc - optind),
                                NULL, on_sample, &q);
    if (q.json) {
        printf("%s]\n", q.n_done ? "\n" : "[");
    }
    if (err < 0 && q.rc == CLI_EXIT_OK) {
        q.rc = CLI_EXIT_ERROR;
    }
    cli_engine_close(&ce);
    return q.rc;
}

const cli_command cli_cmd_query = {
    "query",
    "attribute files to the actors and families of the reference database",
    "usage: strain query [--db PATH] [--json] [--explain] [--all] [--threshold S] [-k N] "
    "[--ca FILE] FILE...\n"
    "Per file: the verdict (actor, family, score, calibrated confidence; \"unknown\" below the\n"
    "threshold), ranked actors and families, the N nearest reference samples and the\n"
    "evidence (matched functions, rare shared fragments). --all also lists matches below the\n"
    "threshold; --explain shows the top matched functions as normalised disassembly side by\n"
    "side; --json prints an array of objects (docs/query-schema.md). Signed files: their\n"
    "signatures and certificate findings (docs/certs.md); --ca FILE trusts the PEM\n"
    "certificates in FILE for Authenticode chains instead of the system bundle.\n",
    query_run,
};
