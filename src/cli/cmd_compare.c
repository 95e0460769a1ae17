/*
 * `strain compare A B [--json] [--clean PATH...]`: how much code two files share. Prints a
 * symmetric score 0-100, the share of each file's counted code covered by matched functions,
 * the fragment overlap, the strings both hold and the score of code and strings together (the
 * one hunting and clustering use), and the matched function pairs. Raw figure unless --clean
 * names files, directories or archives of runtime and library code (a clean set): their code
 * and strings are discounted from both sides first (strain_genome_discount: exact and
 * near-identical functions), as test_code_corpus does for the nearest-neighbour figure.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <strain/input.h>

#include "code_load.h"

typedef struct clean_walk {
    strain_ctx *ctx;
    const strain_code_options *code;
    strain_genome **g; /* a and b, discounted in place */
    size_t added;
    int rc;
} clean_walk;

/* Discounts *g by c (replacing it). */
static int discount(strain_ctx *ctx, strain_genome **g, const strain_genome *c)
{
    strain_genome *d = NULL;
    int err = strain_genome_discount(&d, ctx, *g, c);
    if (err == 0) {
        strain_genome_free(*g);
        *g = d;
    }
    return err;
}

static int on_clean(const strain_sample *s, int err, const char *msg, void *payload)
{
    clean_walk *w = payload;
    if (s == NULL) {
        cli_error("compare: --clean: %s", msg);
        w->rc = err == STRAIN_ENOMEM ? CLI_EXIT_ERROR : CLI_EXIT_INPUT;
        return err;
    }
    strain_binary *bin = NULL;
    strain_genome *g = NULL;
    int e = strain_binary_parse(&bin, w->ctx, s->data, s->size);
    if (e == 0) {
        e = strain_genome_build(&g, w->ctx, bin, w->code);
    }
    for (int i = 0; i < 2 && e == 0; i++) {
        e = discount(w->ctx, &w->g[i], g);
    }
    if (e < 0) {
        cli_error("compare: --clean %s%s%s: %s", s->path, s->archive_path ? " " : "",
                  s->archive_path ? s->archive_path : "", strain_ctx_errmsg(w->ctx));
        w->rc = e == STRAIN_ENOMEM ? CLI_EXIT_ERROR : CLI_EXIT_INPUT;
    } else {
        w->added++;
    }
    strain_genome_free(g);
    strain_binary_free(bin);
    return e;
}

static int print_json(const char *pa, const char *pb, const strain_comparison *c)
{
    json_t *root = json_object(), *ms = json_array();
    char buf[32];
    json_object_set_new(root, "a", json_string(pa));
    json_object_set_new(root, "b", json_string(pb));
    json_object_set_new(root, "score", json_real(c->score));
    json_object_set_new(root, "coverage_a", json_real(c->coverage_a));
    json_object_set_new(root, "coverage_b", json_real(c->coverage_b));
    json_object_set_new(root, "fragment_jaccard", json_real(c->fragment_jaccard));
    json_object_set_new(root, "fragment_containment", json_real(c->fragment_containment));
    json_object_set_new(root, "string_score", json_real(c->string_score));
    json_object_set_new(root, "shared_strings", json_integer((json_int_t)c->n_shared_strings));
    json_object_set_new(root, "combined_score", json_real(c->combined_score));
    json_object_set_new(root, "functions_a", json_integer((json_int_t)c->n_counted_a));
    json_object_set_new(root, "functions_b", json_integer((json_int_t)c->n_counted_b));
    for (size_t i = 0; i < c->n_matches; i++) {
        const strain_gene_match *m = &c->matches[i];
        json_t *o = json_object();
        snprintf(buf, sizeof(buf), "0x%" PRIx64, m->address_a);
        json_object_set_new(o, "a", json_string(buf));
        snprintf(buf, sizeof(buf), "0x%" PRIx64, m->address_b);
        json_object_set_new(o, "b", json_string(buf));
        json_object_set_new(o, "size_a", json_integer(m->size_a));
        json_object_set_new(o, "size_b", json_integer(m->size_b));
        json_object_set_new(o, "similarity", json_real(m->similarity));
        json_object_set_new(o, "how", json_string(strain_match_name(m->how)));
        json_array_append_new(ms, o);
    }
    json_object_set_new(root, "matches", ms);
    int rc = json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static void print_text(const char *pa, const char *pb, const strain_comparison *c)
{
    printf("a:          %s (%zu functions counted)\n", pa, c->n_counted_a);
    printf("b:          %s (%zu functions counted)\n", pb, c->n_counted_b);
    printf("score:      %.1f / 100\n", c->score);
    printf("coverage:   a %.1f%%, b %.1f%%\n", 100 * c->coverage_a, 100 * c->coverage_b);
    printf("fragments:  jaccard %.3f, containment %.3f\n", c->fragment_jaccard,
           c->fragment_containment);
    printf("strings:    %zu shared, score %.1f / 100\n", c->n_shared_strings, c->string_score);
    printf("combined:   %.1f / 100 (code and strings, as hunt and cluster score)\n",
           c->combined_score);
    printf("matched:    %zu function pairs\n\n", c->n_matches);
    printf("%-18s %-18s %8s %8s %6s  %s\n", "address in a", "address in b", "size a", "size b",
           "sim", "by");
    for (size_t i = 0; i < c->n_matches; i++) {
        const strain_gene_match *m = &c->matches[i];
        printf("0x%-16" PRIx64 " 0x%-16" PRIx64 " %8" PRIu32 " %8" PRIu32 " %6.2f  %s\n",
               m->address_a, m->address_b, m->size_a, m->size_b, m->similarity,
               strain_match_name(m->how));
    }
}

static int compare_run(int argc, char **argv)
{
    cli_code_opts o;
    memset(&o, 0, sizeof(o));
    bool json = false;
    bool in_clean = false;
    const char *paths[2] = {NULL, NULL};
    const char **cleans = calloc((size_t)argc, sizeof(char *));
    size_t nc = 0;
    int np = 0;
    if (cleans == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        int r = cli_code_opt(&o, "compare", argc, argv, &i);
        if (r < 0) {
            return -r;
        }
        if (r > 0) {
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--clean") == 0) {
            in_clean = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            free(cleans);
            return cli_usage_error("compare", "unknown option '%s'", argv[i]);
        } else if (in_clean) {
            cleans[nc++] = argv[i];
        } else if (np < 2) {
            paths[np++] = argv[i];
        } else {
            free(cleans);
            return cli_usage_error("compare", "exactly two files");
        }
    }
    if (np != 2 || (in_clean && nc == 0)) {
        free(cleans);
        return cli_usage_error("compare",
                               np != 2 ? "two files are required" : "--clean needs a path");
    }
    strain_ctx *ctx = NULL;
    if (strain_ctx_new(&ctx) < 0) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    cli_code_file a, b;
    memset(&b, 0, sizeof(b));
    int rc = cli_code_load(&a, ctx, paths[0], &o, true);
    if (rc == CLI_EXIT_OK) {
        rc = cli_code_load(&b, ctx, paths[1], &o, true);
    }
    if (rc == CLI_EXIT_OK && nc > 0) {
        /* any clean input that cannot be read stops: a clean set silently short of a file
         * would let its runtime pass for kinship */
        strain_genome *g[2] = {a.genome, b.genome};
        clean_walk w = {ctx, &o.code, g, 0, CLI_EXIT_OK};
        strain_input_opts io;
        memset(&io, 0, sizeof(io));
        int err = strain_input_walk(ctx, cleans, nc, &io, on_clean, &w);
        a.genome = g[0];
        b.genome = g[1];
        if (err < 0 && w.rc == CLI_EXIT_OK) {
            cli_error("compare: --clean: %s", strain_ctx_errmsg(ctx));
            w.rc = CLI_EXIT_ERROR;
        }
        rc = w.rc;
        if (rc == CLI_EXIT_OK) {
            fprintf(stderr, "strain: compare: %zu clean files discounted\n", w.added);
        }
    }
    if (rc == CLI_EXIT_OK) {
        strain_comparison *c = NULL;
        if (strain_compare(&c, ctx, a.genome, b.genome) < 0) {
            cli_error("compare: %s", strain_ctx_errmsg(ctx));
            rc = CLI_EXIT_ERROR;
        } else if (json) {
            rc = print_json(paths[0], paths[1], c);
        } else {
            print_text(paths[0], paths[1], c);
        }
        strain_comparison_free(c);
    }
    cli_code_free(&a);
    cli_code_free(&b);
    strain_ctx_free(ctx);
    free(cleans);
    return rc;
}

const cli_command cli_cmd_compare = {
    .name = "compare",
    .summary = "how much code two files share (0-100) and which functions match",
    .usage = "usage: strain compare A B [--json] [--arch x86|x64 --base ADDR] [--clean PATH...]\n\n"
             "Computes the genotypes of A and B and pairs their functions (exact hash, then\n"
             "MinHash similarity, then neutral hash: the same APIs, strings and constants,\n"
             "which pairs an x86 function with its x64 build; column \"by\"). Prints a\n"
             "symmetric score 0-100, the share of each file's code covered by the pairs,\n"
             "fragment overlap, the strings of the data sections both hold (score: shared\n"
             "over the smaller set), the combined score of code and strings (max(0.8 strings\n"
             "+ 0.2 code, code - 60), as hunt and cluster use) and the matched pairs.\n"
             "Functions below the size floor are not counted.\n"
             "Without --clean, shared runtime-library code and strings count: compare\n"
             "unrelated programs built by the same compiler to see them. --clean PATH...:\n"
             "files, directories or archives of runtime and library code (e.g. a clean set):\n"
             "their functions (exact, near-identical or neutral), fragments and strings are\n"
             "removed from A and B first; an input that cannot be analysed is an error.\n",
    .run = compare_run,
};
