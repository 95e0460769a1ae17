/*
 * Retrohunt at scale: strain_hunt_db (candidates from the posting index) beside the baseline
 * it replaces, a scan that loads every stored genome and matches it against the seed
 * (strain_hunt_match, what a streaming hunt does per file), in the same process over the same
 * database. Reports the time of each, the index work (features read, samples verified) and
 * whether the two give the same hits with the same scores.
 *
 * The database is one built by bench_scale (synthetic families of 10 samples sharing most of
 * their code over a common runtime); seeds are stored samples spread over the id range.
 *
 * usage: bench_hunt_db DB [SEEDS]   (e.g. bench_scale /tmp/s.db 10000 && bench_hunt_db /tmp/s.db
 * 10)
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strain/hunt.h>
#include <strain/store.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct ids {
    int64_t *v;
    size_t n, cap;
} ids;

static int on_sample(const strain_store_sample *s, void *payload)
{
    ids *l = payload;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = realloc(l->v, l->cap * sizeof(int64_t));
        if (l->v == NULL) {
            return 1;
        }
    }
    l->v[l->n++] = s->id;
    return 0;
}

static strain_genome *load(strain_ctx *ctx, strain_store *st, int64_t id)
{
    void *blob = NULL;
    size_t len = 0;
    uint32_t ver = 0;
    strain_genome *g = NULL;
    if (strain_store_get_genome(st, &blob, &len, &ver, id) == 0) {
        strain_genome_deserialize(&g, ctx, blob, len);
    }
    free(blob);
    return g;
}

typedef struct hits {
    int64_t id[4096];
    double score[4096];
    size_t n;
    int64_t cur;
} hits;

static int on_db_hit(const strain_hunt_hit *h, void *payload)
{
    hits *x = payload;
    if (x->n < 4096) {
        x->id[x->n] = h->sample_id;
        x->score[x->n++] = h->score;
    }
    return 0;
}

static int on_scan_hit(const strain_hunt_hit *h, void *payload)
{
    hits *x = payload;
    if (x->n < 4096) {
        x->id[x->n] = x->cur;
        x->score[x->n++] = h->score;
    }
    return 0;
}

/* Same (sample, score) sets? */
static bool same(const hits *a, const hits *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        bool found = false;
        for (size_t j = 0; j < b->n && !found; j++) {
            found = a->id[i] == b->id[j] && fabs(a->score[i] - b->score[j]) < 1e-6;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    ids all = {NULL, 0, 0};
    if (argc < 2) {
        fprintf(stderr, "usage: bench_hunt_db DB [SEEDS]\n");
        return 2;
    }
    size_t n_seeds = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
    strain_ctx_new(&ctx);
    if (strain_store_open(&st, ctx, NULL, argv[1], STRAIN_STORE_READONLY) < 0 ||
        strain_store_list(st, NULL, on_sample, &all) != 0 || all.n == 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strain_ctx_errmsg(ctx));
        return 1;
    }
    static hits a, b;
    printf("%zu samples; per seed: retrohunt (index) vs scan of every stored genome\n\n", all.n);
    printf(
        "| seed id | hits | same hits | index ms | scan ms | speed-up | features read | "
        "postings | verified |\n| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    double sum_db = 0, sum_scan = 0;
    size_t agree = 0;
    for (size_t k = 0; k < n_seeds; k++) {
        int64_t sid = all.v[((k * all.n) / n_seeds + 3) % all.n];
        strain_genome *seed = load(ctx, st, sid);
        strain_hunt *h = NULL;
        if (seed == NULL || strain_hunt_new(&h, ctx) < 0 ||
            strain_hunt_add_seed(h, ctx, seed, NULL) < 0) {
            fprintf(stderr, "seed %" PRId64 ": %s\n", sid, strain_ctx_errmsg(ctx));
            return 1;
        }
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        strain_hunt_db_stats ds;
        strain_hunt_db_opts o = {0, on_db_hit, &a};
        double t0 = now();
        if (strain_hunt_db(&ds, h, ctx, st, &o) < 0) {
            fprintf(stderr, "retrohunt: %s\n", strain_ctx_errmsg(ctx));
            return 1;
        }
        double t1 = now();
        for (size_t i = 0; i < all.n; i++) {
            strain_genome *g = load(ctx, st, all.v[i]);
            b.cur = all.v[i];
            if (g != NULL) {
                strain_hunt_match(h, ctx, g, STRAIN_HUNT_DEFAULT_MIN_SCORE, NULL, NULL, NULL,
                                  on_scan_hit, &b);
            }
            strain_genome_free(g);
        }
        double t2 = now();
        bool ok = same(&a, &b);
        agree += ok;
        sum_db += t1 - t0;
        sum_scan += t2 - t1;
        printf("| %" PRId64 " | %zu | %s | %.1f | %.1f | %.0fx | %" PRIu64 "/%" PRIu64 " | %" PRIu64
               " | %" PRIu64 " |\n",
               sid, a.n, ok ? "yes" : "NO", (t1 - t0) * 1000, (t2 - t1) * 1000,
               (t2 - t1) / (t1 - t0 > 0 ? t1 - t0 : 1e-9), ds.keys_read, ds.keys, ds.postings,
               ds.verified);
        strain_hunt_free(h);
        strain_genome_free(seed);
    }
    printf("\nmean: retrohunt %.1f ms, scan %.1f ms (%.0fx); same hits for %zu of %zu seeds\n",
           sum_db * 1000 / (double)n_seeds, sum_scan * 1000 / (double)n_seeds,
           sum_scan / (sum_db > 0 ? sum_db : 1e-9), agree, n_seeds);
    free(all.v);
    strain_store_close(st);
    strain_ctx_free(ctx);
    return agree == n_seeds ? 0 : 1;
}
