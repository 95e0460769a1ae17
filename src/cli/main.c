/*
 * strain: entry point and command dispatch. `strain COMMAND [options] ARGS`; `strain help
 * COMMAND`, `strain --help`, `strain --version` as users of git-style tools expect.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CLI_COMMAND(name) extern const cli_command cli_cmd_##name;
#include "commands.def"
#undef CLI_COMMAND

static const cli_command *const commands[] = {
#define CLI_COMMAND(name) &cli_cmd_##name,
#include "commands.def"
#undef CLI_COMMAND
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "strain: %s%s", cmd ? cmd : "", cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd != NULL) {
        fprintf(stderr, "\nhint: see 'strain help %s'\n", cmd);
    } else {
        fprintf(stderr, "\nhint: see 'strain --help'\n");
    }
    return CLI_EXIT_USAGE;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("strain: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_print_usage(FILE *f, const cli_command *cmd)
{
    fputs(cmd->usage, f);
}

static void print_help(FILE *f)
{
    fprintf(f, "usage: strain [--version] [--help] COMMAND [ARGS]\n\n"
               "strain: threat attribution by shared code. It never executes a sample.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    }
    fprintf(f, "\nRun 'strain help COMMAND' for a command's options.\n");
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i]->name, name) == 0) {
            return commands[i];
        }
    }
    return NULL;
}

static int version_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("strain %s\n", strain_version());
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_version = {
    .name = "version",
    .summary = "print the version",
    .usage = "usage: strain version\n\nPrints strain's version.\n",
    .run = version_run,
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        return version_run(0, NULL);
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_help(stdout);
            return CLI_EXIT_OK;
        }
        const cli_command *cmd = find_command(argv[2]);
        if (cmd == NULL) {
            return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        }
        cli_print_usage(stdout, cmd);
        return CLI_EXIT_OK;
    }
    if (name[0] == '-') {
        return cli_usage_error(NULL, "unknown option '%s'", name);
    }
    const cli_command *cmd = find_command(name);
    if (cmd == NULL) {
        return cli_usage_error(NULL, "unknown command '%s'", name);
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_usage(stdout, cmd);
            return CLI_EXIT_OK;
        }
    }
    return cmd->run(argc - 1, argv + 1);
}
