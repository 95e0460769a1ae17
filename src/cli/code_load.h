/*
 * Shared by `strain genes` and `strain compare`: read a file, parse it (as raw code when
 * --arch/--base are given) and compute its genome.
 */
#ifndef STRAIN_CLI_CODE_LOAD_H
#define STRAIN_CLI_CODE_LOAD_H

#include <strain/code.h>

#include "cli.h"

typedef struct cli_code_opts {
    strain_arch raw_arch; /* STRAIN_ARCH_UNKNOWN: parse the file's own format */
    uint64_t raw_base;
    strain_code_options code;
} cli_code_opts;

typedef struct cli_code_file {
    strain_sample *sample;
    strain_binary *bin;
    strain_genome *genome;
} cli_code_file;

/* Parses "--arch", "--base", "--ignore-pdata", "--ignore-symbols" at argv[*i] (advancing
 * past a value). Returns 1 if consumed, 0 if not ours, CLI_EXIT_USAGE (negated) on error. */
int cli_code_opt(cli_code_opts *o, const char *cmd, int argc, char **argv, int *i);
/* Loads path; on failure prints the error and returns CLI_EXIT_INPUT/ERROR. */
int cli_code_load(cli_code_file *out, strain_ctx *ctx, const char *path, const cli_code_opts *o,
                  bool want_genome);
void cli_code_free(cli_code_file *f);

#endif
