/* Database and engine setup for the attribution commands (see engine_cli.h). */
#include <stdlib.h>
#include <string.h>

#include "engine_cli.h"

int cli_engine_open(cli_engine *out, const char *cmd, const char *db, bool write)
{
    memset(out, 0, sizeof(*out));
    if (strain_ctx_new(&out->ctx) < 0) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    if (strain_store_resolve_path(out->path, sizeof(out->path), db) < 0) {
        cli_error("%s: no database location (give --db PATH or set STRAIN_DB)", cmd);
        cli_engine_close(out);
        return CLI_EXIT_USAGE;
    }
    unsigned flags = write ? STRAIN_STORE_CREATE : STRAIN_STORE_READONLY;
    int err = strain_store_open(&out->st, out->ctx, NULL, out->path, flags);
    if (err == 0) {
        err = strain_engine_open(&out->eng, out->ctx, out->st);
    }
    if (err < 0) {
        if (err == STRAIN_ENOTFOUND) {
            cli_error("%s: %s: no database here (build one with `strain add` or `strain import`)",
                      cmd, out->path);
        } else {
            cli_error("%s: %s: %s (%s)", cmd, out->path, strain_strerror(err),
                      strain_ctx_errmsg(out->ctx));
        }
        cli_engine_close(out);
        return err == STRAIN_ENOTFOUND ? CLI_EXIT_INPUT : CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

int cli_engine_trust(cli_engine *ce, const char *cmd, const char *ca)
{
    if (ca == NULL) {
        return CLI_EXIT_OK;
    }
    if (strain_engine_set_trust(ce->eng, ca) < 0) {
        return cli_usage_error(cmd, "--ca %s: %s", ca, strain_ctx_errmsg(ce->ctx));
    }
    return CLI_EXIT_OK;
}

void cli_engine_close(cli_engine *ce)
{
    strain_engine_free(ce->eng);
    strain_store_close(ce->st);
    strain_ctx_free(ce->ctx);
    memset(ce, 0, sizeof(*ce));
}

int cli_parse_threads(unsigned *out, const char *cmd, const char *v)
{
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n > 1024) {
        return cli_usage_error(cmd, "-j needs a thread count (0 = all cores), not '%s'", v);
    }
    *out = (unsigned)n;
    return CLI_EXIT_OK;
}
