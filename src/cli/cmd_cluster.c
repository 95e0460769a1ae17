/*
 * `strain cluster PATH...`: group the samples found under PATH (files, directories,
 * archives) into families by code similarity (strain/cluster.h: LSH candidates, verified,
 * average linkage). Output: a table of groups with a lineage view (members ordered by PE
 * compile timestamp, each with its strongest link to an earlier member), --json, and
 * --dot FILE (Graphviz) with --svg/--png FILE rendered by running `dot`.
 * `strain cluster --db [PATH]` clusters the reference database's samples (their stored
 * genomes, named by their labels) instead of files.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <strain/cluster.h>

#include "cli.h"
#include "engine_cli.h"

#define CL_MAX_LABELS 1000000 /* manifest rows read: far above any labelled collection */

typedef struct label_row {
    char *path, *actor, *family;
} label_row;

typedef struct cl_state {
    strain_cluster *c;
    strain_code_options code;
    label_row *labels;
    size_t n_labels;
    size_t errors;
    char **names; /* display names, owned, indexed like samples */
    size_t n_names;
} cl_state;

static char *split_field(char **p)
{
    char *s = *p, *t = strchr(s, '\t');
    if (t != NULL) {
        *t = '\0';
        *p = t + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* MANIFEST.tsv: path, actor, family (tab-separated; a first line starting "path" is a header). */
static int read_labels(cl_state *st, const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        cli_error("cluster: cannot open %s", file);
        return -1;
    }
    char line[8192];
    while (fgets(line, sizeof(line), f) != NULL && st->n_labels < CL_MAX_LABELS) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        char *path = split_field(&p), *actor = split_field(&p), *family = split_field(&p);
        if (*path == '\0' || strcmp(path, "path") == 0) {
            continue;
        }
        label_row *nl = realloc(st->labels, (st->n_labels + 1) * sizeof(*nl));
        if (nl == NULL) {
            fclose(f);
            return -1;
        }
        st->labels = nl;
        char *rp = realpath(path, NULL);
        nl[st->n_labels].path = rp != NULL ? rp : strdup(path);
        nl[st->n_labels].actor = strdup(actor);
        nl[st->n_labels].family = strdup(family);
        st->n_labels++;
    }
    fclose(f);
    return 0;
}

static const label_row *find_label(const cl_state *st, const char *path)
{
    char *rp = realpath(path, NULL);
    const label_row *r = NULL;
    for (size_t i = 0; i < st->n_labels && r == NULL; i++) {
        if (strcmp(st->labels[i].path, path) == 0 ||
            (rp != NULL && strcmp(st->labels[i].path, rp) == 0)) {
            r = &st->labels[i];
        }
    }
    free(rp);
    return r;
}

static int on_sample(const strain_sample *s, int err, const char *msg, void *payload)
{
    cl_state *st = payload;
    if (s == NULL) {
        cli_error("cluster: %s (%s)", msg, strain_strerror(err));
        st->errors++;
        return 0;
    }
    strain_ctx *ctx = NULL;
    strain_binary *bin = NULL;
    strain_genome *g = NULL;
    int rc = strain_ctx_new(&ctx);
    if (rc == 0) {
        rc = strain_binary_parse(&bin, ctx, s->data, s->size);
    }
    if (rc == 0) {
        rc = strain_genome_build(&g, ctx, bin, &st->code);
    }
    if (rc == 0 && !(strain_genome_get_info(g)->flags & STRAIN_GENOME_NO_CODE)) {
        char name[8192];
        snprintf(name, sizeof(name), "%s%s%s", s->path, s->archive_path ? " " : "",
                 s->archive_path ? s->archive_path : "");
        const label_row *l = s->archive_path == NULL ? find_label(st, s->path) : NULL;
        const strain_binary_info *bi = strain_binary_get_info(bin);
        uint32_t ts = bi->format == STRAIN_FORMAT_PE32 || bi->format == STRAIN_FORMAT_PE32PLUS
                          ? bi->pe.timestamp
                          : 0;
        rc = strain_cluster_add_genome(st->c, ctx, g, name, l ? l->family : NULL,
                                       l ? l->actor : NULL, ts);
    }
    if (rc < 0) {
        cli_error("cluster: %s: %s", s->path, strain_ctx_errmsg(ctx));
        st->errors++;
    }
    strain_genome_free(g);
    strain_binary_free(bin);
    strain_ctx_free(ctx);
    return rc == STRAIN_ENOMEM ? rc : 0;
}

/* The strongest edge from member m to a member placed before it in the lineage order. */
static const strain_cluster_edge *parent_edge(const strain_cluster_result *r,
                                              const strain_cluster_group *g, size_t pos)
{
    const strain_cluster_edge *best = NULL;
    size_t m = g->members[pos];
    for (size_t e = 0; e < r->n_edges; e++) {
        const strain_cluster_edge *x = &r->edges[e];
        size_t other = x->a == m ? x->b : x->b == m ? x->a : SIZE_MAX;
        if (other == SIZE_MAX) {
            continue;
        }
        for (size_t q = 0; q < pos; q++) {
            if (g->members[q] == other && (best == NULL || x->score > best->score)) {
                best = x;
            }
        }
    }
    return best;
}

static void fmt_time(char *buf, size_t n, uint32_t ts)
{
    if (ts == 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t t = (time_t)ts;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d", &tm);
}

static void print_text(const strain_cluster *c, const strain_cluster_result *r)
{
    printf("%zu samples, %zu groups, %zu edges (%" PRIu64 " candidate pairs verified), %.1f s\n",
           r->n_samples, r->n_groups, r->n_edges, r->verified_pairs, r->seconds);
    printf("quality: mean intra-group score %.1f, separation %.3f", r->mean_intra, r->separation);
    if (r->ari > -1.5) {
        printf(", adjusted Rand index %.3f", r->ari);
    }
    printf("\n");
    for (size_t g = 0; g < r->n_groups; g++) {
        const strain_cluster_group *gr = &r->groups[g];
        printf("\n%s (%zu members, mean score %.1f)\n", gr->name, gr->n_members, gr->mean_score);
        for (size_t k = 0; k < gr->n_members; k++) {
            size_t m = gr->members[k];
            char tbuf[32];
            fmt_time(tbuf, sizeof(tbuf), strain_cluster_sample_timestamp(c, m));
            const strain_cluster_edge *pe = parent_edge(r, gr, k);
            const char *label = strain_cluster_sample_label(c, m);
            printf("  %-10s %s", tbuf, strain_cluster_sample_name(c, m));
            if (label != NULL) {
                printf(" [%s]", label);
            }
            if (pe != NULL) {
                size_t o = pe->a == m ? pe->b : pe->a;
                printf("  <- %.1f %s", pe->score, strain_cluster_sample_name(c, o));
            }
            printf("\n");
        }
    }
}

static int print_json(const strain_cluster *c, const strain_cluster_result *r)
{
    json_t *root = json_object(), *groups = json_array(), *edges = json_array();
    json_object_set_new(root, "samples", json_integer((json_int_t)r->n_samples));
    json_object_set_new(root, "candidate_pairs", json_integer((json_int_t)r->candidate_pairs));
    json_object_set_new(root, "mean_intra", json_real(r->mean_intra));
    json_object_set_new(root, "separation", json_real(r->separation));
    json_object_set_new(root, "ari", r->ari > -1.5 ? json_real(r->ari) : json_null());
    for (size_t g = 0; g < r->n_groups; g++) {
        const strain_cluster_group *gr = &r->groups[g];
        json_t *o = json_object(), *ms = json_array();
        json_object_set_new(o, "name", json_string(gr->name));
        json_object_set_new(o, "mean_score", json_real(gr->mean_score));
        for (size_t k = 0; k < gr->n_members; k++) {
            size_t m = gr->members[k];
            json_t *mo = json_object();
            const char *l = strain_cluster_sample_label(c, m);
            json_object_set_new(mo, "path", json_string(strain_cluster_sample_name(c, m)));
            json_object_set_new(mo, "label", l ? json_string(l) : json_null());
            json_object_set_new(mo, "timestamp",
                                json_integer(strain_cluster_sample_timestamp(c, m)));
            json_array_append_new(ms, mo);
        }
        json_object_set_new(o, "members", ms);
        json_array_append_new(groups, o);
    }
    for (size_t e = 0; e < r->n_edges; e++) {
        json_t *o = json_object();
        json_object_set_new(o, "a", json_string(strain_cluster_sample_name(c, r->edges[e].a)));
        json_object_set_new(o, "b", json_string(strain_cluster_sample_name(c, r->edges[e].b)));
        json_object_set_new(o, "score", json_real(r->edges[e].score));
        json_array_append_new(edges, o);
    }
    json_object_set_new(root, "groups", groups);
    json_object_set_new(root, "edges", edges);
    int rc = json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static void dot_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', f);
        }
        fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
    }
    fputc('"', f);
}

static int write_dot(const char *file, const strain_cluster *c, const strain_cluster_result *r)
{
    FILE *f = fopen(file, "w");
    if (f == NULL) {
        cli_error("cluster: cannot write %s", file);
        return -1;
    }
    fprintf(f, "graph strain_clusters {\n  node [style=filled, fontsize=10];\n");
    for (size_t g = 0; g < r->n_groups; g++) {
        const strain_cluster_group *gr = &r->groups[g];
        /* Hues spread by the golden ratio so neighbouring groups differ. */
        double hue = (double)((g * 618) % 1000) / 1000.0;
        fprintf(f, "  subgraph cluster_%zu {\n    label=", g);
        dot_string(f, gr->name);
        fprintf(f, ";\n");
        for (size_t k = 0; k < gr->n_members; k++) {
            size_t m = gr->members[k];
            const char *name = strain_cluster_sample_name(c, m);
            const char *base = strrchr(name, '/');
            fprintf(f, "    n%zu [label=", m);
            dot_string(f, base ? base + 1 : name);
            fprintf(f, ", fillcolor=\"%.3f 0.35 0.95\"];\n", hue);
        }
        fprintf(f, "  }\n");
    }
    for (size_t e = 0; e < r->n_edges; e++) {
        fprintf(f, "  n%zu -- n%zu [label=\"%.0f\"];\n", r->edges[e].a, r->edges[e].b,
                r->edges[e].score);
    }
    fprintf(f, "}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* Runs dot -T<fmt> without a shell (file names are not quoted into a command line). */
static int render(const char *dotfile, const char *fmt, const char *out)
{
    char tflag[16], oflag[4096];
    snprintf(tflag, sizeof(tflag), "-T%s", fmt);
    snprintf(oflag, sizeof(oflag), "-o%s", out);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        execlp("dot", "dot", tflag, oflag, dotfile, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cli_error("cluster: dot failed to render %s (is graphviz installed?)", out);
        return -1;
    }
    return 0;
}

static int cluster_run(int argc, char **argv)
{
    cl_state st;
    memset(&st, 0, sizeof(st));
    strain_cluster_opts o;
    memset(&o, 0, sizeof(o));
    bool json = false;
    const char *dot = NULL, *svg = NULL, *png = NULL, *labels = NULL;
    const char **paths = calloc((size_t)argc, sizeof(char *));
    size_t np = 0;
    int rc = CLI_EXIT_OK;
    strain_ctx *ctx = NULL;
    char tmpdot[64] = "";
    bool use_db = false, db_next = false;
    const char *db = NULL;
    if (paths == NULL) {
        return CLI_EXIT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--dot") == 0      ? &dot
                            : strcmp(a, "--svg") == 0    ? &svg
                            : strcmp(a, "--png") == 0    ? &png
                            : strcmp(a, "--labels") == 0 ? &labels
                                                         : NULL;
        if (slot != NULL || strcmp(a, "--threshold") == 0) {
            if (i + 1 >= argc) {
                rc = cli_usage_error("cluster", "%s needs a value", a);
                goto done;
            }
            if (slot != NULL) {
                *slot = argv[++i];
            } else {
                char *end = NULL;
                o.threshold = strtod(argv[++i], &end);
                if (end == argv[i] || *end != '\0' || !(o.threshold > 0 && o.threshold <= 100)) {
                    rc = cli_usage_error("cluster", "--threshold must be in (0, 100]");
                    goto done;
                }
            }
        } else if (strcmp(a, "--db") == 0) {
            use_db = db_next = true;
            continue;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--single") == 0) {
            o.single_linkage = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("cluster", "unknown option '%s'", a);
            goto done;
        } else if (db_next) {
            db = a; /* --db's optional PATH */
        } else {
            paths[np++] = a;
        }
        db_next = false;
    }
    if (use_db && (np > 0 || labels != NULL)) {
        rc = cli_usage_error("cluster", "--db takes the labels from the database: no PATH or "
                                        "--labels with it");
        goto done;
    }
    if (np == 0 && !use_db) {
        rc = cli_usage_error("cluster", "at least one PATH (or --db) is required");
        goto done;
    }
    if (strain_ctx_new(&ctx) < 0 || strain_cluster_new(&st.c, ctx, &o) < 0) {
        rc = CLI_EXIT_ERROR;
        goto done;
    }
    if (labels != NULL && read_labels(&st, labels) < 0) {
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    int werr = 0;
    if (use_db) {
        cli_engine ce;
        size_t added = 0;
        if ((rc = cli_engine_open(&ce, "cluster", db, false)) != CLI_EXIT_OK) {
            goto done;
        }
        int err = strain_cluster_add_store(st.c, ce.ctx, ce.st, &added);
        if (err < 0) {
            cli_error("cluster: %s: %s (%s)", ce.path, strain_strerror(err),
                      strain_ctx_errmsg(ce.ctx));
            rc = CLI_EXIT_ERROR;
        }
        cli_engine_close(&ce);
        if (rc != CLI_EXIT_OK) {
            goto done;
        }
    } else {
        werr = strain_input_walk(ctx, paths, np, NULL, on_sample, &st);
    }
    if (werr < 0) {
        cli_error("cluster: %s", strain_ctx_errmsg(ctx));
        rc = CLI_EXIT_ERROR;
        goto done;
    }
    const strain_cluster_result *r = NULL;
    if (strain_cluster_run(&r, st.c, ctx) < 0) {
        cli_error("cluster: %s", strain_ctx_errmsg(ctx));
        rc = CLI_EXIT_ERROR;
        goto done;
    }
    rc = json ? print_json(st.c, r) : (print_text(st.c, r), CLI_EXIT_OK);
    if (dot == NULL && (svg != NULL || png != NULL)) {
        snprintf(tmpdot, sizeof(tmpdot), "/tmp/strain-cluster-XXXXXX");
        int fd = mkstemp(tmpdot);
        if (fd < 0) {
            rc = CLI_EXIT_ERROR;
            goto done;
        }
        close(fd);
        dot = tmpdot;
    }
    if (dot != NULL && write_dot(dot, st.c, r) < 0) {
        rc = CLI_EXIT_ERROR;
    }
    if (svg != NULL && render(dot, "svg", svg) < 0) {
        rc = CLI_EXIT_ERROR;
    }
    if (png != NULL && render(dot, "png", png) < 0) {
        rc = CLI_EXIT_ERROR;
    }
    if (rc == CLI_EXIT_OK && (st.errors > 0 || werr > 0)) {
        rc = CLI_EXIT_INPUT;
    }
done:
    if (tmpdot[0] != '\0') {
        unlink(tmpdot);
    }
    for (size_t i = 0; i < st.n_labels; i++) {
        free(st.labels[i].path);
        free(st.labels[i].actor);
        free(st.labels[i].family);
    }
    free(st.labels);
    strain_cluster_free(st.c);
    strain_ctx_free(ctx);
    free(paths);
    return rc;
}

const cli_command cli_cmd_cluster = {
    .name = "cluster",
    .summary = "group samples into families by shared code",
    .usage = "usage: strain cluster PATH... [--labels MANIFEST.tsv] [--threshold N] [--single]\n"
             "                      [--json] [--dot FILE] [--svg FILE] [--png FILE]\n"
             "       strain cluster --db [PATH] [--threshold N] [--single] [--json] [--dot FILE]\n"
             "                      [--svg FILE] [--png FILE]\n\n"
             "Computes the code genotypes of every file under PATH (directories and archives\n"
             "are walked) and groups them without comparing all pairs: MinHash signatures of\n"
             "each file's code fragments and of its strings (those in more than 10% of the\n"
             "files are library code and ignored), LSH candidate pairs, each verified with the\n"
             "score of code and strings together (as strain hunt's); groups merge when their\n"
             "mean cross-pair score is >= --threshold (default 30;\n"
             "--single: any pair). Groups are named by the labels of known members (--labels:\n"
             "tab-separated path, actor, family) and listed in lineage order (PE compile date,\n"
             "each member with its strongest link to an earlier one). Quality: mean intra-group\n"
             "score, separation, and the adjusted Rand index when labels are known.\n"
             "--dot FILE writes Graphviz; --svg/--png FILE render it with `dot`.\n"
             "--db [PATH]: cluster the reference database's samples (PATH, else $STRAIN_DB,\n"
             "else the default location) from their stored genomes, labelled with their\n"
             "actor and family; clean samples are left out.\n",
    .run = cluster_run,
};
