/*
 * `strain add [--actor A] [--family F] [--tag T]... [--clean] PATH...`: index files,
 * directories and archives as reference samples with one set of labels. The work is
 * strain_engine_ingest (parallel analysis, one writer).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_cli.h"

enum { OPT_DB = 256, OPT_ACTOR, OPT_FAMILY, OPT_TAG, OPT_CLEAN, OPT_QUIET, OPT_CA, OPT_COMPACT };

static const struct option add_opts[] = {
    {"db", required_argument, NULL, OPT_DB},         {"actor", required_argument, NULL, OPT_ACTOR},
    {"family", required_argument, NULL, OPT_FAMILY}, {"tag", required_argument, NULL, OPT_TAG},
    {"clean", no_argument, NULL, OPT_CLEAN},         {"quiet", no_argument, NULL, OPT_QUIET},
    {"compact", no_argument, NULL, OPT_COMPACT},     {"jobs", required_argument, NULL, 'j'},
    {"ca", required_argument, NULL, OPT_CA},         {NULL, 0, NULL, 0},
};

static int add_run(int argc, char **argv)
{
    const char *db = NULL;
    const char *ca = NULL;
    const char *tags[STRAIN_STORE_MAX_TAGS];
    strain_store_label label = {NULL, NULL, tags, 0, false, 0};
    unsigned threads = 0;
    bool quiet = false;
    bool compact = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:", add_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: db = optarg; break;
        case OPT_ACTOR: label.actor = optarg; break;
        case OPT_FAMILY: label.family = optarg; break;
        case OPT_TAG:
            if (label.n_tags == STRAIN_STORE_MAX_TAGS) {
                return cli_usage_error("add", "at most %d tags", STRAIN_STORE_MAX_TAGS);
            }
            tags[label.n_tags++] = optarg;
            break;
        case OPT_CLEAN: label.clean = 1; break;
        case OPT_QUIET: quiet = true; break;
        case OPT_COMPACT: compact = true; break;
        case OPT_CA: ca = optarg; break;
        case 'j':
            if (cli_parse_threads(&threads, "add", optarg) != CLI_EXIT_OK) {
                return CLI_EXIT_USAGE;
            }
            break;
        default: return cli_usage_error("add", "unknown option");
        }
    }
    if (optind >= argc) {
        return cli_usage_error("add", "PATH is required");
    }
    if (label.clean != 1 && (label.actor == NULL || label.family == NULL)) {
        return cli_usage_error("add", "--actor and --family are required (or --clean)");
    }
    size_t n = (size_t)(argc - optind);
    strain_ingest_entry *e = calloc(n, sizeof(*e));
    if (e == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        e[i].path = argv[optind + (int)i];
        e[i].label = label;
    }
    int rc = cli_ingest("add", db, e, n, threads, quiet, ca, compact);
    free(e);
    return rc;
}

const cli_command cli_cmd_add = {
    "add",
    "index reference samples with their actor and family",
    "usage: strain add --actor A --family F [--tag T]... [--db PATH] [-j N] [--ca FILE]\n"
    "                  [--compact] PATH...\n"
    "       strain add --clean [--db PATH] [--ca FILE] [--compact] PATH...\n"
    "Files, directories and archives are walked; every sample found is analysed (on N\n"
    "threads, default all cores) and stored with the labels. --clean marks goodware or\n"
    "library reference code: its genotypes stop counting as evidence. --ca FILE: PEM\n"
    "certificates trusted for Authenticode chains (default: the system bundle). --compact:\n"
    "compact the database afterwards (`strain db compact`), worth it after adding many.\n",
    add_run,
};
