/*
 * `strain info FILE...`: what a sample is (hashes, format, structure, indicators), for every
 * file, directory member and archive member named, as text or JSON Lines. Inputs go through
 * strain_input_walk, so limits and archive passwords behave as in every other command; a
 * sample that cannot be read is one line on stderr and does not stop the others.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/report.h>

#include "cli.h"

typedef struct info_run {
    strain_ctx *ctx;
    strain_info_opts opts;
    bool json;
    size_t reported;
    size_t failed;
} info_run;

/* Strict positive integer with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s) {
        return -1;
    }
    unsigned shift = 0;
    if (*end != '\0') {
        switch (*end) {
        case 'k':
        case 'K': shift = 10; break;
        case 'm':
        case 'M': shift = 20; break;
        case 'g':
        case 'G': shift = 30; break;
        default: return -1;
        }
        if (end[1] != '\0') {
            return -1;
        }
    }
    if (v == 0 || (shift > 0 && v > (UINT64_MAX >> shift))) {
        return -1; /* 0 never means unlimited: every limit is a real bound */
    }
    *out = (uint64_t)v << shift;
    return 0;
}

static int on_sample(const strain_sample *s, int err, const char *errmsg, void *payload)
{
    info_run *r = payload;
    if (s == NULL) {
        cli_error("info: %s", errmsg != NULL && errmsg[0] ? errmsg : strain_strerror(err));
        r->failed++;
        return 0;
    }
    strain_info *info = NULL;
    char *text = NULL;
    int rc = strain_info_new(&info, r->ctx, s, &r->opts);
    if (rc >= 0) {
        rc = strain_info_render(&text, r->ctx, info,
                                r->json ? STRAIN_REPORT_JSON : STRAIN_REPORT_TEXT);
    }
    if (rc < 0) {
        const char *detail = strain_ctx_errmsg(r->ctx);
        cli_error("info: %s%s%s: %s", s->path, s->archive_path ? "!" : "",
                  s->archive_path ? s->archive_path : "", detail[0] ? detail : strain_strerror(rc));
        r->failed++;
        strain_info_free(info);
        return rc == STRAIN_ENOMEM ? rc : 0; /* out of memory stops the walk */
    }
    if (!r->json && r->reported > 0) {
        fputc('\n', stdout);
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    r->reported++;
    free(text);
    strain_info_free(info);
    return 0;
}

static int info_main(int argc, char **argv)
{
    enum {
        OPT_PASSWORD = 256,
        OPT_MIN_STRING,
        OPT_MAX_FILE_SIZE,
        OPT_MAX_TOTAL,
        OPT_MAX_MEMBERS,
        OPT_MAX_DEPTH,
        OPT_MAX_RATIO,
        OPT_MAX_DIR_DEPTH,
        OPT_NO_ARCHIVES,
        OPT_CA,
    };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"strings", no_argument, NULL, 's'},
        {"password", required_argument, NULL, OPT_PASSWORD},
        {"min-string", required_argument, NULL, OPT_MIN_STRING},
        {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
        {"max-total-size", required_argument, NULL, OPT_MAX_TOTAL},
        {"max-members", required_argument, NULL, OPT_MAX_MEMBERS},
        {"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
        {"max-ratio", required_argument, NULL, OPT_MAX_RATIO},
        {"max-dir-depth", required_argument, NULL, OPT_MAX_DIR_DEPTH},
        {"no-archives", no_argument, NULL, OPT_NO_ARCHIVES},
        {"ca", required_argument, NULL, OPT_CA},
        {NULL, 0, NULL, 0},
    };
    info_run r = {0};
    strain_input_opts in = {0};
    strain_ctx *ctx = NULL;
    strain_sig_store *store = NULL;
    const char *ca_file = NULL;
    if (strain_ctx_new(&ctx) < 0) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    strain_limits *lim = strain_ctx_limits(ctx);
    int status = CLI_EXIT_OK;
    int c;
    opterr = 0;
    optind = 1;
    int li = -1;
    while ((c = getopt_long(argc, argv, ":js", longopts, &li)) != -1) {
        uint64_t v = 0;
        const char *arg = optarg;
        /* the option's own name, however it was written (--opt V, --opt=V) */
        const char *name = li >= 0 ? longopts[li].name : "";
        li = -1;
        if (c >= OPT_MIN_STRING && c <= OPT_MAX_DIR_DEPTH && parse_size(arg, &v) < 0) {
            status = cli_usage_error("info", "--%s: not a positive number: '%s'", name, arg);
            goto done;
        }
        switch (c) {
        case 'j': r.json = true; break;
        case 's': r.opts.with_strings = true; break;
        case OPT_PASSWORD: in.password = arg; break;
        case OPT_MIN_STRING:
            if (v > 4096) {
                status = cli_usage_error("info", "--min-string: at most 4096");
                goto done;
            }
            r.opts.min_string = (size_t)v;
            break;
        case OPT_MAX_FILE_SIZE: lim->max_file_size = v; break;
        case OPT_MAX_TOTAL: lim->max_total_unpacked = v; break;
        case OPT_MAX_MEMBERS: lim->max_members = v; break;
        case OPT_MAX_DEPTH:
        case OPT_MAX_RATIO:
        case OPT_MAX_DIR_DEPTH:
            if (v > UINT32_MAX) {
                status = cli_usage_error("info", "--%s: at most %u", name, UINT32_MAX);
                goto done;
            }
            *(c == OPT_MAX_DEPTH   ? &lim->max_depth
              : c == OPT_MAX_RATIO ? &lim->max_ratio
                                   : &lim->max_dir_depth) = (uint32_t)v;
            break;
        case OPT_NO_ARCHIVES: in.no_archives = true; break;
        case OPT_CA: ca_file = arg; break;
        case ':':
            status = cli_usage_error("info", "option '%s' needs a value", argv[optind - 1]);
            goto done;
        default:
            if (optopt != 0) {
                status = cli_usage_error("info", "unknown option '-%c'", optopt);
            } else {
                status = cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
            }
            goto done;
        }
    }
    if (optind >= argc) {
        status = cli_usage_error("info", "no input given (files, directories, archives or -)");
        goto done;
    }
    r.ctx = ctx;
    /* One trust store for the whole run (loading the bundle costs tens of milliseconds). If
     * it cannot be read, each PE report says so in its warnings. */
    if (strain_sig_store_new(&store, ctx, ca_file) < 0) {
        if (ca_file != NULL) {
            /* an analyst's own trust store that cannot be read must not silently become
             * "untrusted-root" on every file */
            status = cli_usage_error("info", "--ca %s: %s", ca_file, strain_ctx_errmsg(ctx));
            goto done;
        }
        store = NULL;
    }
    r.opts.sig_store = store;
    int rc = strain_input_walk(ctx, (const char *const *)(argv + optind), (size_t)(argc - optind),
                               &in, on_sample, &r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("info: cannot write the report: %s", strerror(errno));
        status = CLI_EXIT_ERROR;
    } else if (rc < 0) {
        cli_error("info: %s", strain_strerror(rc));
        status = CLI_EXIT_ERROR;
    } else if (rc > 0 || r.failed > 0) {
        status = CLI_EXIT_INPUT;
    }
done:
    strain_sig_store_free(store);
    strain_ctx_free(ctx);
    return status;
}

const cli_command cli_cmd_info = {
    .name = "info",
    .summary = "describe samples: hashes, format, structure, indicators",
    .usage =
        "usage: strain info [options] FILE...\n"
        "\n"
        "Describes every sample named: files, directories (recursively), archives (zip, 7z,\n"
        "tar, gz, ...; nested members too) and - for standard input. Samples are only read,\n"
        "never executed. For each: size, md5, sha1, sha256, ssdeep, tlsh, format and\n"
        "architecture; for executables the entry point, sections, imports and exports; PE\n"
        "facts (imphash, Rich header, PDB, version info, TLS callbacks, overlay, authentihash,\n"
        "Authenticode signer and verdict against the system trust store) or ELF facts (needed\n"
        "libraries, interpreter, build id, segments); then the indicators found in its\n"
        "strings (URLs, domains, IPv4, e-mail, registry keys, Windows paths, PDB paths).\n"
        "\n"
        "Options:\n"
        "  --json               one JSON object per sample, one per line (JSON Lines);\n"
        "                       schema: docs/info-schema.md\n"
        "  --strings            also list every string (offset, a=ASCII/u=UTF-16LE, text)\n"
        "  --min-string N       shortest string kept, for --strings and indicators (default 6)\n"
        "  --password PW        password for encrypted archives (default: infected)\n"
        "  --no-archives        report archives as files instead of opening them\n"
        "  --ca FILE            PEM trust store for Authenticode chains (default: the\n"
        "                       system bundle); judged at a valid timestamp's time\n"
        "  --max-file-size N    largest sample read, bytes; K/M/G suffixes (default 512M)\n"
        "  --max-total-size N   bytes unpacked from one archive argument (default 4G)\n"
        "  --max-members N      members read from one archive argument (default 100000)\n"
        "  --max-depth N        archive-in-archive nesting (default 4)\n"
        "  --max-ratio N        unpacked/packed ratio of one member (default 200)\n"
        "  --max-dir-depth N    directory recursion (default 64)\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: 0 when every input was read and reported, 1 when some could not be\n"
        "(one line on stderr each; the others are still reported), 2 for a bad command line,\n"
        "3 for an internal error (out of memory, output not writable).\n",
    .run = info_main,
};
