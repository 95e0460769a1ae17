/*
 * Input walk throughput and memory: walks the paths given (files, directories, archives)
 * and prints samples, bytes yielded, wall time, MB/s and peak RSS. The baselines are the
 * reference tools on the same files, run beside it: `unzip -p x.zip | sha256sum` for an
 * archive, `find dir -type f -exec sha256sum {} +` for a tree.
 *   bench_input [--ratio N] [--password P] path...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <strain/input.h>

typedef struct totals {
    unsigned long long samples, bytes, errors;
} totals;

static int on_item(const strain_sample *s, int err, const char *msg, void *payload)
{
    totals *t = payload;
    if (s != NULL) {
        t->samples++;
        t->bytes += s->size;
    } else {
        t->errors++;
        fprintf(stderr, "error %d: %s\n", err, msg);
    }
    return 0;
}

int main(int argc, char **argv)
{
    strain_ctx *ctx = NULL;
    if (strain_ctx_new(&ctx) < 0) {
        return 1;
    }
    strain_input_opts opts = {NULL, false};
    int first = 1;
    while (first + 1 < argc && strncmp(argv[first], "--", 2) == 0) {
        if (strcmp(argv[first], "--ratio") == 0) {
            strain_ctx_limits(ctx)->max_ratio = (uint32_t)strtoul(argv[first + 1], NULL, 10);
        } else if (strcmp(argv[first], "--password") == 0) {
            opts.password = argv[first + 1];
        }
        first += 2;
    }
    totals t = {0, 0, 0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = strain_input_walk(ctx, (const char *const *)argv + first, (size_t)(argc - first),
                               &opts, on_item, &t);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf(
        "samples %llu  errors %llu  bytes %llu  time %.3f s  %.1f MB/s  peak RSS %ld KB  rc %d\n",
        t.samples, t.errors, t.bytes, s, s > 0 ? (double)t.bytes / s / 1e6 : 0.0, ru.ru_maxrss, rc);
    strain_ctx_free(ctx);
    return 0;
}
