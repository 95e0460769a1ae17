/*
 * The bulk-load driver of `strain add` and `strain import`: a progress bar on stderr when it
 * is a terminal (never in pipes or logs), input errors as one line each, and a summary.
 */
#include <stdio.h>
#include <unistd.h>

#include "ingest_cli.h"

typedef struct prog {
    const char *cmd;
    bool bar;
} prog;

static void on_progress(size_t done, size_t n, size_t added, size_t errors, void *payload)
{
    prog *p = payload;
    if (!p->bar || n == 0) {
        return;
    }
    int width = 30;
    int fill = (int)((double)done / (double)n * width);
    fprintf(stderr, "\r[%-*.*s] %zu/%zu inputs, %zu samples, %zu errors", width, fill,
            "##############################", done, n, added, errors);
    if (done == n) {
        fputc('\n', stderr);
    }
}

static void on_error(const char *msg, void *payload)
{
    prog *p = payload;
    if (p->bar) {
        fputc('\n', stderr);
    }
    cli_error("%s: %s", p->cmd, msg);
}

int cli_ingest(const char *cmd, const char *db, const strain_ingest_entry *entries, size_t n,
               unsigned threads, bool quiet, const char *ca, bool compact)
{
    cli_engine ce;
    int rc = cli_engine_open(&ce, cmd, db, true);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if ((rc = cli_engine_trust(&ce, cmd, ca)) != CLI_EXIT_OK) {
        cli_engine_close(&ce);
        return rc;
    }
    prog p = {cmd, !quiet && isatty(STDERR_FILENO)};
    size_t added = 0;
    int err = strain_engine_ingest(ce.eng, &added, entries, n, threads, on_progress, on_error, &p);
    if (err < 0) {
        cli_error("%s: %s: %s (%s)", cmd, ce.path, strain_strerror(err), strain_ctx_errmsg(ce.ctx));
        rc = CLI_EXIT_ERROR;
    } else {
        if (!quiet) {
            fprintf(stderr, "%s: %zu samples stored in %s, %d inputs failed\n", cmd, added, ce.path,
                    err);
        }
        rc = err > 0 ? CLI_EXIT_INPUT : CLI_EXIT_OK;
        /* a bulk load leaves the tables' pages interleaved: lay them out for queries */
        if (compact && added > 0 && (err = strain_store_compact(ce.st)) < 0) {
            cli_error("%s: %s: compacting: %s (%s)", cmd, ce.path, strain_strerror(err),
                      strain_ctx_errmsg(ce.ctx));
            rc = CLI_EXIT_ERROR;
        }
        /* without --compact, an index that made queries fast no longer describes the data */
        strain_store_stats st;
        if (!compact && added > 0 && !quiet && strain_store_stats_get(ce.st, &st) == 0 &&
            st.index_bytes > 0 && !st.index_current) {
            fprintf(stderr,
                    "%s: note: the read index of %s is now out of date; queries read the tables "
                    "(slower) until `strain db compact`\n",
                    cmd, ce.path);
        }
    }
    cli_engine_close(&ce);
    return rc;
}
