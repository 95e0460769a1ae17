/* Output helpers shared by the commands that print database records: times and JSON. */
#include <stdio.h>
#include <time.h>

#include "cli.h"

void cli_fmt_time(char *out, size_t cap, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
        snprintf(out, cap, "-");
        return;
    }
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_print_json(const char *cmd, json_t *j)
{
    if (j == NULL) {
        cli_error("%s: out of memory building JSON", cmd);
        return CLI_EXIT_ERROR;
    }
    int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    fputc('\n', stdout);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
