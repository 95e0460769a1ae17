/* Shared by `strain add`, `import` and `query`: the database and engine they work on. */
#ifndef STRAIN_CLI_ENGINE_CLI_H
#define STRAIN_CLI_ENGINE_CLI_H

#include <strain/engine.h>
#include <strain/store.h>

#include "cli.h"

typedef struct cli_engine {
    strain_ctx *ctx;
    strain_store *st;
    strain_engine *eng;
    char path[STRAIN_STORE_PATH_MAX];
} cli_engine;

/* Opens the database (--db PATH or NULL) and an engine over it; prints errors. Returns a
 * CLI exit status. */
int cli_engine_open(cli_engine *out, const char *cmd, const char *db, bool write);
void cli_engine_close(cli_engine *ce);
/* --ca FILE: the engine's trust store for Authenticode chains (NULL: nothing to do). Prints
 * errors; returns a CLI exit status. */
int cli_engine_trust(cli_engine *ce, const char *cmd, const char *ca);
/* Parses a thread count ("-j N"). */
int cli_parse_threads(unsigned *out, const char *cmd, const char *v);

#endif
