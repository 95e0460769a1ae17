/*
 * bench_store: throughput and latency of the reference store on synthetic data shaped like a
 * corpus (bench/store.sh drives it; results go to bench/RESULTS.md).
 *
 *   bench_store add DB FROM TO POSTINGS [BATCH]   add samples FROM..TO-1, BATCH per transaction
 *                                                 (1 = one transaction per sample, as strain
 *                                                 add does)
 *   bench_store query DB N_SAMPLES [ROUNDS]       latency of 5,000-key batches (df, lookup)
 *   bench_store size DB                           bytes on disk per sample (after checkpoint)
 *
 * Sample i belongs to family i/20 (actor family/5), 1 in 20 is clean. Its postings: 10%
 * library features drawn with a skew from 5,000 common hashes (present in many samples),
 * 40% from its family's pool of 2,000 hashes (shared with siblings), 50% unique. A query
 * batch is the features of unseen samples of known families, so it hits library and family
 * features and misses unique ones, as a real query would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strain/store.h>

#define FAMILY_SIZE 20
#define LIB_POOL 5000
#define FAMILY_POOL 2000
#define BATCH_KEYS 5000

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Features of a sample of family fam whose own features derive from i. */
static void features_of(strain_store_posting *p, size_t n, uint64_t fam, uint64_t i)
{
    for (size_t k = 0; k < n; k++) {
        uint64_t r = mix((i << 20) ^ k ^ 0x5eed);
        p[k].payload = 0x401000 + k * 32;
        if (k < n / 10) {
            /* Skewed: low pool indexes are far more common (squared uniform). */
            double u = (double)(r % 1000000) / 1e6;
            uint64_t idx = (uint64_t)(u * u * LIB_POOL);
            p[k].kind = (uint32_t)(idx % 4);
            p[k].hash = mix(0x11b000000ull + idx);
        } else if (k < n / 2) {
            uint64_t idx = r % FAMILY_POOL;
            p[k].kind = (uint32_t)(idx % 4);
            p[k].hash = mix((fam << 32) ^ idx ^ 0xfa000000ull);
        } else {
            p[k].kind = (uint32_t)(k % 4);
            p[k].hash = r;
        }
    }
}

static void sha_of(char out[STRAIN_SHA256_HEX], uint64_t i)
{
    snprintf(out, STRAIN_SHA256_HEX, "%016llx%016llx%016llx%016llx", (unsigned long long)mix(i),
             (unsigned long long)mix(i + 7), (unsigned long long)i, (unsigned long long)mix(~i));
}

static strain_store *open_db(strain_ctx *ctx, const char *db)
{
    strain_store *st = NULL;
    if (strain_store_open(&st, ctx, NULL, db, STRAIN_STORE_CREATE) < 0) {
        fprintf(stderr, "bench_store: %s\n", strain_ctx_errmsg(ctx));
        exit(1);
    }
    return st;
}

static void die(strain_ctx *ctx, const char *what)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, strain_ctx_errmsg(ctx));
    exit(1);
}

static int cmd_add(strain_ctx *ctx, const char *db, uint64_t from, uint64_t to, size_t np,
                   uint64_t batch)
{
    strain_store *st = open_db(ctx, db);
    strain_store_posting *p = calloc(np ? np : 1, sizeof(*p));
    char fam[32];
    char actor[32];
    double t0 = now_s();
    if (p == NULL) {
        return 1;
    }
    for (uint64_t i = from; i < to; i++) {
        strain_store_sample s;
        int64_t id = 0;
        if (batch > 1 && (i - from) % batch == 0 && strain_store_begin(st) < 0) {
            die(ctx, "begin");
        }
        if (batch == 1 && strain_store_begin(st) < 0) {
            die(ctx, "begin");
        }
        memset(&s, 0, sizeof(s));
        sha_of(s.sha256, i);
        s.size = 100000 + i;
        snprintf(s.format, sizeof(s.format), "pe32");
        snprintf(fam, sizeof(fam), "family%llu", (unsigned long long)(i / FAMILY_SIZE));
        snprintf(actor, sizeof(actor), "actor%llu", (unsigned long long)(i / FAMILY_SIZE / 5));
        s.label.family = fam;
        s.label.actor = actor;
        s.label.clean = i % 20 == 19;
        if (strain_store_put_sample(st, &id, &s) < 0) {
            die(ctx, "put_sample");
        }
        features_of(p, np, i / FAMILY_SIZE, i);
        strain_store_features f = {.genome_version = 1,
                                   .genome = p,
                                   .genome_len = np * 8 /* a genome-sized blob */,
                                   .postings = p,
                                   .n_postings = np};
        if (strain_store_put_features(st, id, &f) < 0) {
            die(ctx, "put_features");
        }
        if ((batch == 1 || (i - from) % batch == batch - 1 || i == to - 1) &&
            strain_store_commit(st) < 0) {
            die(ctx, "commit");
        }
    }
    double dt = now_s() - t0;
    printf("add samples=%llu postings_per_sample=%zu batch=%llu seconds=%.2f "
           "samples_per_s=%.1f postings_per_s=%.0f\n",
           (unsigned long long)(to - from), np, (unsigned long long)batch, dt,
           (double)(to - from) / dt, (double)(to - from) * (double)np / dt);
    free(p);
    strain_store_close(st);
    return 0;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_query(strain_ctx *ctx, const char *db, uint64_t n_samples, int rounds)
{
    strain_store *st = open_db(ctx, db);
    strain_store_posting p[2000];
    strain_store_key keys[BATCH_KEYS];
    strain_store_df *df = calloc(BATCH_KEYS, sizeof(*df));
    double t_df[64];
    double t_cap[64];
    double t_all[64];
    size_t n_cap = 0;
    size_t n_all = 0;
    uint64_t n_families = n_samples / FAMILY_SIZE;
    if (rounds > 64) {
        rounds = 64;
    }
    for (int r = 0; r < rounds; r++) {
        /* 2.5 unseen samples of known families make 5,000 keys. */
        size_t k = 0;
        for (int q = 0; k < BATCH_KEYS; q++) {
            uint64_t fam = mix((uint64_t)r * 31 + (uint64_t)q) % n_families;
            features_of(p, 2000, fam, (1ull << 40) + (uint64_t)r * 8 + (uint64_t)q);
            for (size_t j = 0; j < 2000 && k < BATCH_KEYS; j++) {
                keys[k].kind = p[j].kind;
                keys[k].hash = p[j].hash;
                k++;
            }
        }
        strain_store_posting *res = NULL;
        size_t n = 0;
        double t0 = now_s();
        if (strain_store_df_get(st, df, keys, BATCH_KEYS, 50) < 0) {
            die(ctx, "df");
        }
        double t1 = now_s();
        if (strain_store_lookup(st, &res, &n, keys, BATCH_KEYS, 100) < 0) {
            die(ctx, "lookup");
        }
        double t2 = now_s();
        n_cap = n;
        free(res);
        res = NULL;
        if (strain_store_lookup(st, &res, &n, keys, BATCH_KEYS, UINT32_MAX) < 0) {
            die(ctx, "lookup");
        }
        double t3 = now_s();
        n_all = n;
        free(res);
        t_df[r] = t1 - t0;
        t_cap[r] = t2 - t1;
        t_all[r] = t3 - t2;
    }
    qsort(t_df, (size_t)rounds, sizeof(double), dbl_cmp);
    qsort(t_cap, (size_t)rounds, sizeof(double), dbl_cmp);
    qsort(t_all, (size_t)rounds, sizeof(double), dbl_cmp);
    printf("query samples_in_db=%llu batch=%d rounds=%d df_ms_p50=%.1f df_ms_max=%.1f "
           "lookup_maxdf100_ms_p50=%.1f (postings=%zu) lookup_all_ms_p50=%.1f "
           "lookup_all_ms_max=%.1f (postings=%zu)\n",
           (unsigned long long)n_samples, BATCH_KEYS, rounds, t_df[rounds / 2] * 1e3,
           t_df[rounds - 1] * 1e3, t_cap[rounds / 2] * 1e3, n_cap, t_all[rounds / 2] * 1e3,
           t_all[rounds - 1] * 1e3, n_all);
    free(df);
    strain_store_close(st);
    return 0;
}

static int cmd_size(strain_ctx *ctx, const char *db)
{
    strain_store *st = open_db(ctx, db);
    strain_store_stats s;
    if (strain_store_stats_get(st, &s) < 0) {
        die(ctx, "stats");
    }
    printf("size samples=%llu postings=%llu distinct_features=%llu bytes=%llu "
           "bytes_per_sample=%.0f bytes_per_posting=%.1f\n",
           (unsigned long long)s.samples, (unsigned long long)s.postings,
           (unsigned long long)s.distinct_features, (unsigned long long)s.bytes_on_disk,
           s.samples ? (double)s.bytes_on_disk / (double)s.samples : 0.0,
           s.postings ? (double)s.bytes_on_disk / (double)s.postings : 0.0);
    strain_store_close(st);
    return 0;
}

int main(int argc, char **argv)
{
    strain_ctx *ctx = NULL;
    int rc = 2;
    if (strain_ctx_new(&ctx) < 0) {
        return 1;
    }
    if (argc >= 6 && strcmp(argv[1], "add") == 0) {
        rc = cmd_add(ctx, argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                     (size_t)strtoull(argv[5], NULL, 10),
                     argc > 6 ? strtoull(argv[6], NULL, 10) : 1);
    } else if (argc >= 4 && strcmp(argv[1], "query") == 0) {
        rc = cmd_query(ctx, argv[2], strtoull(argv[3], NULL, 10), argc > 4 ? atoi(argv[4]) : 9);
    } else if (argc == 3 && strcmp(argv[1], "size") == 0) {
        rc = cmd_size(ctx, argv[2]);
    } else {
        fprintf(stderr, "usage: bench_store add DB FROM TO POSTINGS [BATCH] | query DB N "
                        "[ROUNDS] | size DB\n");
    }
    strain_ctx_free(ctx);
    return rc;
}
