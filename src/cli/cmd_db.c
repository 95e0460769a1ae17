/*
 * `strain db`: look after the reference database: stats, list, show, label, remove, check,
 * compact.
 * Everything goes through include/strain/store.h; this file only parses options and prints
 * text or JSON (jansson). The database is --db PATH, else $STRAIN_DB, else the default in the
 * user's data folder (strain_store_resolve_path), and every error names it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <strain/store.h>

#include "cli.h"

typedef struct db_opts {
    const char *db;
    const char *actor;
    const char *family;
    const char *tags[STRAIN_STORE_MAX_TAGS];
    size_t n_tags;
    int clean; /* STRAIN_STORE_KEEP, 0, 1 */
    bool replace_tags;
    bool json;
    size_t limit;
    bool label_opts; /* any of actor/family/tag/clean given */
} db_opts;

enum {
    OPT_DB = 256,
    OPT_JSON,
    OPT_ACTOR,
    OPT_FAMILY,
    OPT_TAG,
    OPT_CLEAN,
    OPT_NOCLEAN,
    OPT_REPLACE,
    OPT_LIMIT
};

static const struct option long_opts[] = {
    {"db", required_argument, NULL, OPT_DB},       {"json", no_argument, NULL, OPT_JSON},
    {"actor", required_argument, NULL, OPT_ACTOR}, {"family", required_argument, NULL, OPT_FAMILY},
    {"tag", required_argument, NULL, OPT_TAG},     {"clean", no_argument, NULL, OPT_CLEAN},
    {"no-clean", no_argument, NULL, OPT_NOCLEAN},  {"replace-tags", no_argument, NULL, OPT_REPLACE},
    {"limit", required_argument, NULL, OPT_LIMIT}, {NULL, 0, NULL, 0},
};

/* Maps a store error to the CLI's exit statuses and prints one line naming the database. */
static int store_error(strain_ctx *ctx, const char *path, int err)
{
    const char *detail = strain_ctx_errmsg(ctx);
    if (detail[0] != '\0' && strstr(detail, path) != NULL) {
        cli_error("db: %s", detail);
    } else if (detail[0] != '\0') {
        cli_error("db: %s: %s", path, detail);
    } else {
        cli_error("db: %s: %s", path, strain_strerror(err));
    }
    return (err == STRAIN_ENOTFOUND || err == STRAIN_EINVAL || err == STRAIN_ELIMIT)
               ? CLI_EXIT_INPUT
               : CLI_EXIT_ERROR;
}

static json_t *jstr_or_null(const char *s)
{
    return (s != NULL && s[0] != '\0') ? json_string(s) : json_null();
}

static json_t *sample_json(const strain_store_sample *s)
{
    char t1[32];
    char t2[32];
    char t3[32];
    json_t *tags = json_array();
    for (size_t i = 0; i < s->label.n_tags; i++) {
        json_array_append_new(tags, json_string(s->label.tags[i]));
    }
    cli_fmt_time(t1, sizeof(t1), s->first_seen);
    cli_fmt_time(t2, sizeof(t2), s->added);
    cli_fmt_time(t3, sizeof(t3), s->updated);
    return json_pack(
        "{s:I, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:o, "
        "s:o, s:o, s:o, s:b, s:o, s:I}",
        "id", (json_int_t)s->id, "sha256", s->sha256, "md5", jstr_or_null(s->md5), "sha1",
        jstr_or_null(s->sha1), "size", (json_int_t)s->size, "format", jstr_or_null(s->format),
        "arch", jstr_or_null(s->arch), "file_name", jstr_or_null(s->file_name), "first_seen",
        s->first_seen > 0 ? json_string(t1) : json_null(), "added", t2, "updated", t3, "imphash",
        jstr_or_null(s->imphash), "ssdeep", jstr_or_null(s->ssdeep), "tlsh", jstr_or_null(s->tlsh),
        "pe_timestamp", s->has_pe_timestamp ? json_integer(s->pe_timestamp) : json_null(), "actor",
        jstr_or_null(s->label.actor), "family", jstr_or_null(s->label.family), "clean",
        s->label.clean == 1, "tags", tags, "postings", (json_int_t)s->n_postings);
}

static void print_tags(const strain_store_sample *s)
{
    for (size_t i = 0; i < s->label.n_tags; i++) {
        printf("%s%s", i ? "," : "", s->label.tags[i]);
    }
    if (s->label.n_tags == 0) {
        printf("-");
    }
}

typedef struct list_state {
    json_t *arr;
    size_t n;
} list_state;

static int list_cb(const strain_store_sample *s, void *payload)
{
    list_state *ls = payload;
    ls->n++;
    if (ls->arr != NULL) {
        return json_array_append_new(ls->arr, sample_json(s)) == 0 ? 0 : STRAIN_ENOMEM;
    }
    printf("%s  %-20s  %-20s  %-5s  ", s->sha256, s->label.family != NULL ? s->label.family : "-",
           s->label.actor != NULL ? s->label.actor : "-", s->label.clean ? "clean" : "-");
    print_tags(s);
    printf("  %s\n", s->file_name != NULL ? s->file_name : "-");
    return 0;
}

static int cert_json_cb(const strain_store_cert *c, void *payload)
{
    json_t *arr = payload;
    char nb[32];
    char na[32];
    cli_fmt_time(nb, sizeof(nb), c->not_before);
    cli_fmt_time(na, sizeof(na), c->not_after);
    json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s}", "sha256", c->sha256,
                                         "sha1", jstr_or_null(c->sha1), "subject",
                                         jstr_or_null(c->subject), "issuer",
                                         jstr_or_null(c->issuer), "serial", jstr_or_null(c->serial),
                                         "not_before", nb, "not_after", na));
    return 0;
}

static int show_sample(strain_store *st, strain_ctx *ctx, const char *path, const char *sha,
                       bool json)
{
    strain_store_sample *s = NULL;
    json_t *certs = json_array();
    void *genome = NULL;
    size_t glen = 0;
    uint32_t gver = 0;
    int err = strain_store_get_sample(st, &s, sha);
    int rc;
    if (err < 0) {
        json_decref(certs);
        return store_error(ctx, path, err);
    }
    bool has_genome = strain_store_get_genome(st, &genome, &glen, &gver, s->id) == 0;
    free(genome);
    if ((err = strain_store_sample_certs(st, s->id, cert_json_cb, certs)) < 0) {
        json_decref(certs);
        strain_store_sample_free(s);
        return store_error(ctx, path, err);
    }
    if (json) {
        json_t *j = sample_json(s);
        json_object_set_new(
            j, "genome",
            has_genome ? json_pack("{s:i, s:I}", "version", (int)gver, "bytes", (json_int_t)glen)
                       : json_null());
        json_object_set_new(j, "certificates", certs);
        rc = cli_print_json("db", j);
    } else {
        char t[32];
        printf("sha256      %s\n", s->sha256);
        printf("md5         %s\n", s->md5[0] ? s->md5 : "-");
        printf("sha1        %s\n", s->sha1[0] ? s->sha1 : "-");
        printf("size        %" PRIu64 "\n", s->size);
        printf("format      %s %s\n", s->format[0] ? s->format : "-", s->arch[0] ? s->arch : "");
        printf("file name   %s\n", s->file_name != NULL ? s->file_name : "-");
        cli_fmt_time(t, sizeof(t), s->first_seen);
        printf("first seen  %s\n", t);
        cli_fmt_time(t, sizeof(t), s->added);
        printf("added       %s\n", t);
        printf("imphash     %s\n", s->imphash[0] ? s->imphash : "-");
        printf("ssdeep      %s\n", s->ssdeep[0] ? s->ssdeep : "-");
        printf("tlsh        %s\n", s->tlsh[0] ? s->tlsh : "-");
        if (s->has_pe_timestamp) {
            printf("pe time     %" PRIu32 "\n", s->pe_timestamp);
        }
        printf("actor       %s\n", s->label.actor != NULL ? s->label.actor : "-");
        printf("family      %s\n", s->label.family != NULL ? s->label.family : "-");
        printf("clean       %s\n", s->label.clean ? "yes" : "no");
        printf("tags        ");
        print_tags(s);
        printf("\npostings    %zu\n", s->n_postings);
        if (has_genome) {
            printf("genome      v%u, %zu bytes\n", gver, glen);
        }
        for (size_t i = 0; i < json_array_size(certs); i++) {
            json_t *c = json_array_get(certs, i);
            printf("certificate %s  %s\n", json_string_value(json_object_get(c, "sha256")),
                   json_is_string(json_object_get(c, "subject"))
                       ? json_string_value(json_object_get(c, "subject"))
                       : "-");
        }
        json_decref(certs);
        rc = CLI_EXIT_OK;
    }
    strain_store_sample_free(s);
    return rc;
}

static int do_stats(strain_store *st, strain_ctx *ctx, const char *path, bool json)
{
    strain_store_stats s;
    int err = strain_store_stats_get(st, &s);
    if (err < 0) {
        return store_error(ctx, path, err);
    }
    if (json) {
        return cli_print_json(
            "db",
            json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "db",
                      path, "backend", s.backend, "schema_version", s.schema_version, "samples",
                      (json_int_t)s.samples, "families", (json_int_t)s.families, "actors",
                      (json_int_t)s.actors, "clean", (json_int_t)s.clean, "postings",
                      (json_int_t)s.postings, "distinct_features", (json_int_t)s.distinct_features,
                      "certificates", (json_int_t)s.certificates, "bytes_on_disk",
                      (json_int_t)s.bytes_on_disk, "index_bytes", (json_int_t)s.index_bytes,
                      "index_current", s.index_current));
    }
    printf("database          %s (%s, schema %d)\n", path, s.backend, s.schema_version);
    printf("samples           %" PRIu64 "\n", s.samples);
    printf("families          %" PRIu64 "\n", s.families);
    printf("actors            %" PRIu64 "\n", s.actors);
    printf("clean samples     %" PRIu64 "\n", s.clean);
    printf("features          %" PRIu64 " postings, %" PRIu64 " distinct\n", s.postings,
           s.distinct_features);
    printf("certificates      %" PRIu64 "\n", s.certificates);
    printf("size on disk      %" PRIu64 " bytes (%.1f MiB)\n", s.bytes_on_disk,
           (double)s.bytes_on_disk / (1024.0 * 1024.0));
    if (s.index_bytes == 0) {
        printf("read index        none (strain db compact writes it)\n");
    } else {
        printf("read index        %" PRIu64 " bytes, %s\n", s.index_bytes,
               s.index_current ? "current"
                               : "not current: changed since, or unreadable (strain db compact "
                                 "rewrites it)");
    }
    return CLI_EXIT_OK;
}

static bool is_sha256(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return n == 64;
}

static int parse(db_opts *o, int argc, char **argv, int *out_optind)
{
    int c;
    o->clean = STRAIN_STORE_KEEP;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: o->db = optarg; break;
        case OPT_JSON: o->json = true; break;
        case OPT_ACTOR:
            o->actor = optarg;
            o->label_opts = true;
            break;
        case OPT_FAMILY:
            o->family = optarg;
            o->label_opts = true;
            break;
        case OPT_TAG:
            if (o->n_tags == STRAIN_STORE_MAX_TAGS) {
                return cli_usage_error("db", "more than %d --tag options", STRAIN_STORE_MAX_TAGS);
            }
            o->tags[o->n_tags++] = optarg;
            o->label_opts = true;
            break;
        case OPT_CLEAN:
            o->clean = 1;
            o->label_opts = true;
            break;
        case OPT_NOCLEAN:
            o->clean = 0;
            o->label_opts = true;
            break;
        case OPT_REPLACE: o->replace_tags = true; break;
        case OPT_LIMIT: {
            char *end = NULL;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (end == optarg || *end != '\0' || optarg[0] == '-') {
                return cli_usage_error("db", "--limit needs a number, got '%s'", optarg);
            }
            o->limit = (size_t)v;
            break;
        }
        default:
            return cli_usage_error("db", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    *out_optind = optind;
    return 0;
}

static int db_run(int argc, char **argv)
{
    db_opts o;
    char path[STRAIN_STORE_PATH_MAX];
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    int first = 0;
    int rc;
    int err;
    memset(&o, 0, sizeof(o));
    if ((rc = parse(&o, argc, argv, &first)) != 0) {
        return rc;
    }
    if (first >= argc) {
        return cli_usage_error("db", "missing subcommand (stats, list, show, label, remove, "
                                     "check, compact)");
    }
    const char *sub = argv[first];
    int nargs = argc - first - 1;
    const char *sha = nargs > 0 ? argv[first + 1] : NULL;
    bool wants_sha =
        strcmp(sub, "show") == 0 || strcmp(sub, "label") == 0 || strcmp(sub, "remove") == 0;
    if (!wants_sha && strcmp(sub, "stats") != 0 && strcmp(sub, "list") != 0 &&
        strcmp(sub, "check") != 0 && strcmp(sub, "compact") != 0) {
        return cli_usage_error("db", "unknown subcommand '%s'", sub);
    }
    if (nargs != (wants_sha ? 1 : 0)) {
        return cli_usage_error(
            "db", wants_sha ? "%s needs exactly one SHA256" : "%s takes no arguments", sub);
    }
    if (wants_sha && !is_sha256(sha)) {
        return cli_usage_error("db", "'%s' is not a SHA-256 (64 hex digits)", sha);
    }
    if (o.label_opts && strcmp(sub, "list") != 0 && strcmp(sub, "label") != 0) {
        return cli_usage_error("db", "--actor/--family/--tag/--clean apply to list and label");
    }
    if (strcmp(sub, "list") == 0 && o.n_tags > 1) {
        return cli_usage_error("db", "list filters on one --tag");
    }
    if (strcmp(sub, "label") == 0 && !o.label_opts && !o.replace_tags) {
        return cli_usage_error("db", "label needs --actor, --family, --tag or --clean");
    }
    if ((o.limit > 0 && strcmp(sub, "list") != 0) ||
        (o.replace_tags && strcmp(sub, "label") != 0)) {
        return cli_usage_error("db", "--limit applies to list, --replace-tags to label");
    }
    if (strain_store_resolve_path(path, sizeof(path), o.db) < 0) {
        cli_error("db: no database location: pass --db PATH or set STRAIN_DB or HOME");
        return CLI_EXIT_USAGE;
    }
    if (strain_ctx_new(&ctx) < 0) {
        cli_error("db: out of memory");
        return CLI_EXIT_ERROR;
    }
    if ((err = strain_store_open(&st, ctx, NULL, path, 0)) < 0) {
        rc = store_error(ctx, path, err);
        goto done;
    }
    if (strcmp(sub, "stats") == 0) {
        rc = do_stats(st, ctx, path, o.json);
    } else if (strcmp(sub, "list") == 0) {
        strain_store_filter f = {.actor = o.actor,
                                 .family = o.family,
                                 .tag = o.n_tags ? o.tags[0] : NULL,
                                 .clean = o.clean,
                                 .limit = o.limit};
        list_state ls = {.arr = o.json ? json_array() : NULL};
        err = strain_store_list(st, &f, list_cb, &ls);
        if (err < 0) {
            json_decref(ls.arr);
            rc = store_error(ctx, path, err);
        } else {
            rc = o.json ? cli_print_json("db", ls.arr) : CLI_EXIT_OK;
        }
    } else if (strcmp(sub, "show") == 0) {
        rc = show_sample(st, ctx, path, sha, o.json);
    } else if (strcmp(sub, "label") == 0) {
        strain_store_label l = {.actor = o.actor,
                                .family = o.family,
                                .tags = o.tags,
                                .n_tags = o.n_tags,
                                .replace_tags = o.replace_tags,
                                .clean = o.clean};
        if ((err = strain_store_label_set(st, sha, &l)) < 0) {
            rc = store_error(ctx, path, err);
        } else {
            rc = show_sample(st, ctx, path, sha, o.json);
        }
    } else if (strcmp(sub, "remove") == 0) {
        if ((err = strain_store_remove(st, sha)) < 0) {
            rc = store_error(ctx, path, err);
        } else if (o.json) {
            rc = cli_print_json("db", json_pack("{s:s}", "removed", sha));
        } else {
            printf("removed %s\n", sha);
            rc = CLI_EXIT_OK;
        }
    } else if (strcmp(sub, "compact") == 0) {
        if ((err = strain_store_compact(st)) < 0) {
            rc = store_error(ctx, path, err);
            rc = rc == CLI_EXIT_INPUT ? rc : CLI_EXIT_ERROR;
        } else {
            rc = o.json ? cli_print_json("db", json_pack("{s:s, s:b}", "db", path, "compacted", 1))
                        : (printf("%s: compacted\n", path), CLI_EXIT_OK);
        }
    } else {
        if ((err = strain_store_check(st)) < 0) {
            rc = store_error(ctx, path, err);
            rc = rc == CLI_EXIT_INPUT ? rc : CLI_EXIT_ERROR;
        } else {
            rc = o.json ? cli_print_json("db", json_pack("{s:s, s:b}", "db", path, "ok", 1))
                        : (printf("%s: ok\n", path), CLI_EXIT_OK);
        }
    }
done:
    strain_store_close(st);
    strain_ctx_free(ctx);
    return rc;
}

const cli_command cli_cmd_db = {
    .name = "db",
    .summary = "inspect and curate the reference database",
    .usage = "usage: strain db [--db PATH] [--json] SUBCOMMAND [options]\n"
             "\n"
             "Subcommands:\n"
             "  stats                  counts of samples, families, actors, clean samples,\n"
             "                         features, certificates; size on disk; schema version;\n"
             "                         whether the read index is current\n"
             "  list [--actor A] [--family F] [--tag T] [--clean|--no-clean] [--limit N]\n"
             "  show SHA256            one sample: hashes, labels, features, certificates\n"
             "  label SHA256 [--actor A] [--family F] [--tag T]... [--replace-tags]\n"
             "               [--clean|--no-clean]   (an empty value clears actor/family)\n"
             "  remove SHA256          drop a sample and its features\n"
             "  check                  verify the database's integrity and counters\n"
             "  compact                rewrite the file table by table and write the read\n"
             "                         index beside it (PATH-index: faster queries until the\n"
             "                         next change; `strain import` does it itself)\n"
             "\n"
             "Options:\n"
             "  --db PATH   the database (default: $STRAIN_DB, else\n"
             "              $XDG_DATA_HOME/strain/strain.db or ~/.local/share/strain/strain.db)\n"
             "  --json      JSON output\n"
             "\n"
             "Exit status: 0 ok, 1 not found or bad input, 2 usage, 3 database error.\n",
    .run = db_run,
};
