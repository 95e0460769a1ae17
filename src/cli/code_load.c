/* Loading a sample for the code commands (see code_load.h). */
#include <stdlib.h>
#include <string.h>

#include "code_load.h"

int cli_code_opt(cli_code_opts *o, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--ignore-pdata") == 0) {
        o->code.ignore_pdata = true;
        return 1;
    }
    if (strcmp(a, "--ignore-symbols") == 0) {
        o->code.ignore_symbols = true;
        return 1;
    }
    if (strcmp(a, "--arch") == 0 || strcmp(a, "--base") == 0) {
        if (*i + 1 >= argc) {
            return -cli_usage_error(cmd, "%s needs a value", a);
        }
        const char *v = argv[++*i];
        if (strcmp(a, "--arch") == 0) {
            if (strcmp(v, "x86") == 0) {
                o->raw_arch = STRAIN_ARCH_X86;
            } else if (strcmp(v, "x64") == 0) {
                o->raw_arch = STRAIN_ARCH_X64;
            } else {
                return -cli_usage_error(cmd, "--arch must be x86 or x64, not '%s'", v);
            }
        } else {
            char *end = NULL;
            o->raw_base = strtoull(v, &end, 0);
            if (end == v || *end != '\0') {
                return -cli_usage_error(cmd, "--base needs a number, not '%s'", v);
            }
        }
        return 1;
    }
    return 0;
}

int cli_code_load(cli_code_file *out, strain_ctx *ctx, const char *path, const cli_code_opts *o,
                  bool want_genome)
{
    memset(out, 0, sizeof(*out));
    int err = strain_sample_open(&out->sample, ctx, path);
    if (err < 0) {
        cli_error("%s: %s (%s)", path, strain_strerror(err), strain_ctx_errmsg(ctx));
        return CLI_EXIT_INPUT;
    }
    if (o->raw_arch != STRAIN_ARCH_UNKNOWN) {
        err = strain_binary_parse_raw(&out->bin, ctx, out->sample->data, out->sample->size,
                                      o->raw_arch, o->raw_base);
    } else {
        err = strain_binary_parse(&out->bin, ctx, out->sample->data, out->sample->size);
    }
    if (err == 0 && want_genome) {
        err = strain_genome_build(&out->genome, ctx, out->bin, &o->code);
    }
    if (err < 0) {
        cli_error("%s: %s (%s)", path, strain_strerror(err), strain_ctx_errmsg(ctx));
        cli_code_free(out);
        return err == STRAIN_ENOMEM ? CLI_EXIT_ERROR : CLI_EXIT_INPUT;
    }
    return CLI_EXIT_OK;
}

void cli_code_free(cli_code_file *f)
{
    strain_genome_free(f->genome);
    strain_binary_free(f->bin);
    strain_sample_free(f->sample);
    memset(f, 0, sizeof(*f));
}
