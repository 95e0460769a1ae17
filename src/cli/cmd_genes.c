/*
 * `strain genes FILE [--json] [--disasm ADDR]`: the code genotypes of one file: every
 * recovered function (address, size, blocks, instructions, hashes) and the fragment count,
 * or one function's normalised disassembly (what the hashes see).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "code_load.h"

static const char *flag_names[] = {"partial", "packed", "dotnet", "no-code"};

static void hex_sketch(char *out, const strain_gene *g)
{
    for (unsigned k = 0; k < STRAIN_GENE_SKETCH; k++) {
        snprintf(out + 8 * k, 9, "%08" PRIx32, g->sketch[k]);
    }
}

static int print_json(const char *path, const strain_binary_info *bi, const strain_genome_info *g)
{
    json_t *root = json_object();
    json_t *fl = json_array(), *notes = json_array(), *fns = json_array();
    char buf[8 * STRAIN_GENE_SKETCH + 1];
    size_t counted = 0;
    json_object_set_new(root, "file", json_string(path));
    json_object_set_new(root, "format", json_string(strain_format_name(bi->format)));
    json_object_set_new(root, "arch", json_string(strain_arch_name(g->arch)));
    json_object_set_new(root, "code_bytes", json_integer((json_int_t)g->code_bytes));
    for (unsigned i = 0; i < 4; i++) {
        if (g->flags & (1u << i)) {
            json_array_append_new(fl, json_string(flag_names[i]));
        }
    }
    for (size_t i = 0; i < g->n_notes; i++) {
        json_array_append_new(notes, json_string(g->notes[i]));
    }
    for (size_t i = 0; i < g->n_genes; i++) {
        const strain_gene *x = &g->genes[i];
        json_t *f = json_object();
        snprintf(buf, sizeof(buf), "0x%" PRIx64, x->address);
        json_object_set_new(f, "address", json_string(buf));
        json_object_set_new(f, "size", json_integer(x->size));
        json_object_set_new(f, "blocks", json_integer(x->n_blocks));
        json_object_set_new(f, "edges", json_integer(x->n_edges));
        json_object_set_new(f, "insns", json_integer(x->n_insns));
        json_object_set_new(f, "calls", json_integer(x->n_calls));
        snprintf(buf, sizeof(buf), "%016" PRIx64, x->exact);
        json_object_set_new(f, "exact", json_string(buf));
        hex_sketch(buf, x);
        json_object_set_new(f, "minhash", json_string(buf));
        snprintf(buf, sizeof(buf), "%016" PRIx64, x->neutral);
        json_object_set_new(f, "neutral", json_string(buf));
        json_object_set_new(f, "n_neutral", json_integer(x->n_neutral));
        bool small = (x->flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK)) != 0;
        json_object_set_new(f, "counted", json_boolean(!small));
        if (x->flags & STRAIN_GENE_TRUNCATED) {
            json_object_set_new(f, "truncated", json_true());
        }
        counted += !small;
        json_array_append_new(fns, f);
    }
    json_object_set_new(root, "flags", fl);
    json_object_set_new(root, "notes", notes);
    json_object_set_new(root, "n_functions", json_integer((json_int_t)g->n_genes));
    json_object_set_new(root, "n_counted", json_integer((json_int_t)counted));
    json_object_set_new(root, "n_fragments", json_integer((json_int_t)g->n_fragments));
    json_object_set_new(root, "functions", fns);
    int rc = json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static int print_text(const char *path, const strain_binary_info *bi, const strain_genome_info *g)
{
    size_t counted = 0;
    for (size_t i = 0; i < g->n_genes; i++) {
        counted += (g->genes[i].flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK)) == 0;
    }
    printf("file:       %s\n", path);
    printf("format:     %s %s, %" PRIu64 " bytes of code\n", strain_format_name(bi->format),
           strain_arch_name(g->arch), g->code_bytes);
    printf("functions:  %zu (%zu above the size floor)\n", g->n_genes, counted);
    printf("fragments:  %zu\n", g->n_fragments);
    for (size_t i = 0; i < g->n_notes; i++) {
        printf("note:       %s\n", g->notes[i]);
    }
    printf("\n%-18s %8s %6s %6s %6s  %-16s %s\n", "address", "size", "blocks", "insns", "calls",
           "exact", "");
    for (size_t i = 0; i < g->n_genes; i++) {
        const strain_gene *x = &g->genes[i];
        printf("0x%-16" PRIx64 " %8" PRIu32 " %6" PRIu32 " %6" PRIu32 " %6" PRIu32
               "  %016" PRIx64 " %s\n",
               x->address, x->size, x->n_blocks, x->n_insns, x->n_calls, x->exact,
               (x->flags & STRAIN_GENE_THUNK) ? "thunk"
               : (x->flags & STRAIN_GENE_SMALL) ? "small" : "");
    }
    return CLI_EXIT_OK;
}

static int genes_run(int argc, char **argv)
{
    cli_code_opts o;
    memset(&o, 0, sizeof(o));
    bool json = false, disasm = false;
    uint64_t disasm_va = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_code_opt(&o, "genes", argc, argv, &i);
        if (r < 0) {
            return -r;
        }
        if (r > 0) {
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--disasm") == 0) {
            if (i + 1 >= argc) {
                return cli_usage_error("genes", "--disasm needs an address");
            }
            char *end = NULL;
            disasm_va = strtoull(argv[++i], &end, 0);
            if (end == argv[i] || *end != '\0') {
                return cli_usage_error("genes", "--disasm needs an address, not '%s'", argv[i]);
            }
            disasm = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("genes", "unknown option '%s'", argv[i]);
        } else if (path == NULL) {
            path = argv[i];
        } else {
            return cli_usage_error("genes", "one FILE at a time");
        }
    }
    if (path == NULL) {
        return cli_usage_error("genes", "FILE is required");
    }
    strain_ctx *ctx = NULL;
    if (strain_ctx_new(&ctx) < 0) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    cli_code_file f;
    int rc = cli_code_load(&f, ctx, path, &o, !disasm);
    if (rc != CLI_EXIT_OK) {
        strain_ctx_free(ctx);
        return rc;
    }
    if (disasm) {
        char *text = NULL;
        int err = strain_code_disasm(&text, ctx, f.bin, &o.code, disasm_va);
        if (err < 0) {
            cli_error("%s: %s", path, strain_ctx_errmsg(ctx));
            rc = err == STRAIN_ENOTFOUND ? CLI_EXIT_INPUT : CLI_EXIT_ERROR;
        } else {
            fputs(text, stdout);
        }
        free(text);
    } else {
        const strain_binary_info *bi = strain_binary_get_info(f.bin);
        const strain_genome_info *g = strain_genome_get_info(f.genome);
        rc = json ? print_json(path, bi, g) : print_text(path, bi, g);
    }
    cli_code_free(&f);
    strain_ctx_free(ctx);
    return rc;
}

const cli_command cli_cmd_genes = {
    .name = "genes",
    .summary = "code genotypes of a file: functions, hashes, fragments",
    .usage = "usage: strain genes FILE [--json] [--disasm ADDR]\n"
             "                    [--arch x86|x64 --base ADDR] [--ignore-pdata]\n\n"
             "Recovers the functions of FILE (x86/x64 PE, ELF, or raw code with --arch and\n"
             "--base) and prints each one's genotype: address, size, blocks, instructions,\n"
             "calls, exact hash and MinHash sketch, plus the number of code fragments.\n\n"
             "  --json          machine-readable output\n"
             "  --disasm ADDR   print the normalised disassembly of the function at ADDR\n"
             "  --arch A        treat FILE as raw code of architecture A (x86, x64)\n"
             "  --base ADDR     load address of raw code (default 0)\n"
             "  --ignore-pdata  do not use x64 .pdata to find functions (evaluation)\n",
    .run = genes_run,
};
