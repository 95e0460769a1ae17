/*
 * Throughput of strain's ssdeep and TLSH over a list of files (one path per line on stdin,
 * or the paths as arguments). Each file is read from disk and hashed, as the CLIs do, and
 * the CPU time of the process is what counts (the machine is shared: wall time is noise).
 * Prints one line per hash: "name bytes cpu_seconds MB/s". bench/hash.sh runs this beside
 * the ssdeep and tlsh CLIs over the same files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strain/hash.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    unsigned char *b = malloc(cap);
    while (b != NULL) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            break;
        }
        unsigned char *nb = realloc(b, cap * 2);
        if (nb == NULL) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return b;
}

enum { H_SSDEEP, H_TLSH };

static int run(int which, char **paths, size_t n, int rounds, unsigned long long *bytes,
               double *secs)
{
    double t0 = cpu_now();
    unsigned long long total = 0;
    unsigned sink = 0;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            size_t len = 0;
            unsigned char *b = read_all(paths[i], &len);
            if (b == NULL) {
                fprintf(stderr, "cannot read %s\n", paths[i]);
                return 1;
            }
            char out[STRAIN_SSDEEP_MAX > STRAIN_TLSH_MAX ? STRAIN_SSDEEP_MAX : STRAIN_TLSH_MAX];
            if (which == H_SSDEEP) {
                strain_hash_ssdeep(out, b, len);
            } else {
                strain_hash_tlsh(out, b, len);
            }
            sink += (unsigned char)out[3];
            total += len;
            free(b);
        }
    }
    *secs = cpu_now() - t0;
    *bytes = total;
    return sink == 0xffffffffu; /* keeps the work observable */
}

int main(int argc, char **argv)
{
    int rounds = 1;
    size_t n = 0, cap = 256;
    char **paths = malloc(cap * sizeof(*paths));
    int argi = 1;
    if (argi + 1 < argc && strcmp(argv[argi], "-n") == 0) {
        rounds = atoi(argv[argi + 1]);
        argi += 2;
    }
    if (argi < argc) {
        for (; argi < argc; argi++) {
            if (n == cap) {
                cap *= 2;
                paths = realloc(paths, cap * sizeof(*paths));
            }
            paths[n++] = argv[argi];
        }
    } else {
        char line[4096];
        while (fgets(line, sizeof(line), stdin) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            if (line[0] == '\0') {
                continue;
            }
            if (n == cap) {
                cap *= 2;
                paths = realloc(paths, cap * sizeof(*paths));
            }
            paths[n++] = strdup(line);
        }
    }
    if (n == 0 || rounds < 1) {
        fprintf(stderr, "usage: bench_hash [-n rounds] [files...]  (or paths on stdin)\n");
        return 2;
    }
    static const char *names[] = {"strain-ssdeep", "strain-tlsh"};
    for (int which = H_SSDEEP; which <= H_TLSH; which++) {
        unsigned long long bytes;
        double secs;
        if (run(which, paths, n, rounds, &bytes, &secs) != 0) {
            return 1;
        }
        printf("%s %llu %.3f %.1f\n", names[which], bytes, secs, (double)bytes / 1e6 / secs);
    }
    return 0;
}
