/* Shared by `strain add` and `strain import`: run a bulk load with progress and a summary. */
#ifndef STRAIN_CLI_INGEST_CLI_H
#define STRAIN_CLI_INGEST_CLI_H

#include "engine_cli.h"

/* ca: PEM trust store for Authenticode chains (--ca), NULL for the system bundle. */
int cli_ingest(const char *cmd, const char *db, const strain_ingest_entry *entries, size_t n,
               unsigned threads, bool quiet, const char *ca, bool compact);

#endif
