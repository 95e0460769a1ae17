/*
 * The CLI is a thin layer over libstrain: one file per command, each exporting a
 * cli_command that main.c lists. Commands parse their own options with getopt_long and
 * return the process exit status.
 */
#ifndef STRAIN_CLI_H
#define STRAIN_CLI_H

#include <stdio.h>

#include <jansson.h>

#include <strain/strain.h>

/* Exit statuses (documented in docs/cli.md). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_INPUT = 1, /* some input could not be read/analysed; the rest was reported */
    CLI_EXIT_USAGE = 2, /* bad command line */
    CLI_EXIT_ERROR = 3, /* internal failure: out of memory, database error */
};

typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `strain --help` */
    const char *usage;   /* full help for `strain help NAME` / `strain NAME --help` */
    int (*run)(int argc, char **argv);
} cli_command;

/* Prints "strain: CMD: message" plus the hint to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "strain: message" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "2026-11-22T04:25:00Z" (UTC) for unix seconds, "-" for 0 or less. */
void cli_fmt_time(char *out, size_t cap, int64_t t);
/* Prints j (indented, key order kept) and a newline, then releases it; NULL means the
 * JSON could not be built (out of memory). Returns an exit status. */
int cli_print_json(const char *cmd, json_t *j);
/* Prints a command's usage text to f. */
void cli_print_usage(FILE *f, const cli_command *cmd);

#endif
