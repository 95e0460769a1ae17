/*
 * Attribution at scale: a synthetic reference index of N samples, grown in steps, with the
 * query latency and the database bytes per sample measured at each step.
 *
 * Synthetic genomes follow the shape of real ones (bench/RESULTS.md): every sample links a
 * share of a common runtime (functions every family has), most of its family's functions
 * (10% of them modified per sample: new exact hash, a quarter of the MinHash slots changed),
 * a share of its actor's tooling, and code of its own; each function brings a few code
 * fragments. Families have 10 samples, actors 3 families. Queries are new members of indexed
 * families (not in the index) and strangers; the right family is known by construction.
 *
 * usage: bench_scale DB STEP1 [STEP2 ...]   (e.g. bench_scale /tmp/s.db 1000 10000 100000)
 *
 * With STRAIN_SCALE_COMPACT=1, each step then compacts the database (which writes the read
 * index, docs/store.md) and times the same queries again through it: "idx ms", "idx max",
 * the compaction's seconds and the index's bytes per sample follow on the line; the
 * verdicts must not change ("same").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "code/hash64.h"
#include "engine/attribution_impl.h"

#define FUNCS_RUNTIME 400 /* runtime pool; each sample links 40 of them */
#define RUNTIME_PER_SAMPLE 40
#define FUNCS_FAMILY 40
#define FUNCS_ACTOR 20 /* each sample links 8 */
#define FUNCS_OWN 6
#define FRAGS_PER_FUNC 8
#define QUERIES 20

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put_u16(uint8_t **p, uint16_t v)
{
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}
static void put_u32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        (*p)[i] = (uint8_t)(v >> (8 * i));
    }
    *p += 4;
}
static void put_u64(uint8_t **p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        (*p)[i] = (uint8_t)(v >> (8 * i));
    }
    *p += 8;
}

typedef struct sgene {
    uint64_t id;      /* identity of the code */
    uint64_t variant; /* 0 = as in the pool, else a modified copy */
} sgene;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Serialises a synthetic genome (the format of src/code/genome.c). */
static uint8_t *make_blob(size_t *out_len, const sgene *g, size_t n)
{
    size_t nf = n * FRAGS_PER_FUNC;
    uint64_t *fr = malloc(nf * sizeof(*fr));
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < FRAGS_PER_FUNC; k++) {
            /* a modified function keeps half of its fragments */
            uint64_t v = (g[i].variant && k % 2) ? g[i].variant : 0;
            fr[i * FRAGS_PER_FUNC + k] = strain_mix64(g[i].id * 131 + k + v * 7919);
        }
    }
    qsort(fr, nf, sizeof(*fr), cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < nf; i++) {
        if (u == 0 || fr[u - 1] != fr[i]) {
            fr[u++] = fr[i];
        }
    }
    size_t len = 36 + n * (8 + 8 + 24 + 4 * STRAIN_GENE_SKETCH) + u * 8 + 8;
    uint8_t *blob = calloc(1, len);
    uint8_t *p = blob;
    memcpy(p, "SGNM", 4);
    p += 4;
    put_u16(&p, 1);
    put_u16(&p, 0);
    *p = STRAIN_ARCH_X64;
    p += 4;
    put_u32(&p, 0);
    put_u64(&p, n * 200);
    put_u32(&p, (uint32_t)n);
    put_u32(&p, (uint32_t)u);
    put_u32(&p, 0);
    for (size_t i = 0; i < n; i++) {
        put_u64(&p, 0x401000 + i * 0x100);
        put_u64(&p, strain_mix64(g[i].id ^ (g[i].variant * 0x9e3779b97f4a7c15ull)));
        put_u32(&p, 200);
        put_u32(&p, 50);
        put_u32(&p, 8);
        put_u32(&p, 10);
        put_u32(&p, 2);
        put_u32(&p, 0);
        for (uint32_t k = 0; k < STRAIN_GENE_SKETCH; k++) {
            uint64_t v = (g[i].variant && k % 4 == 0) ? g[i].variant : 0;
            put_u32(&p, (uint32_t)strain_mix64(g[i].id * 977 + k + v * 31));
        }
    }
    for (size_t i = 0; i < u; i++) {
        put_u64(&p, fr[i]);
    }
    put_u64(&p, strain_hash64(blob, (size_t)(p - blob), 0x53474e4d));
    *out_len = (size_t)(p - blob);
    free(fr);
    return blob;
}

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void)
{
    rng_state = strain_mix64(rng_state + 0x9e3779b97f4a7c15ull);
    return rng_state;
}

/* Sample s of family fam; variant_seed distinguishes samples. */
static size_t make_genes(sgene *g, uint64_t fam, uint64_t seed, bool stranger)
{
    size_t n = 0;
    uint64_t actor = fam / 3;
    for (int i = 0; i < RUNTIME_PER_SAMPLE; i++) {
        g[n++] = (sgene){1000000000ull + rnd() % FUNCS_RUNTIME, 0};
    }
    if (!stranger) {
        for (uint64_t i = 0; i < FUNCS_FAMILY; i++) {
            g[n++] = (sgene){2000000000ull + fam * 1000 + i, rnd() % 10 == 0 ? seed : 0};
        }
        for (int i = 0; i < 8; i++) {
            g[n++] = (sgene){3000000000ull + actor * 1000 + rnd() % FUNCS_ACTOR, 0};
        }
    }
    for (uint64_t i = 0; i < (stranger ? FUNCS_FAMILY : FUNCS_OWN); i++) {
        g[n++] = (sgene){4000000000ull + seed * 100 + i, 0};
    }
    return n;
}

static strain_engine_item *make_item(strain_ctx *ctx, uint64_t fam, uint64_t seed, bool stranger)
{
    sgene g[RUNTIME_PER_SAMPLE + FUNCS_FAMILY + 8 + FUNCS_FAMILY];
    size_t n = make_genes(g, fam, seed, stranger);
    size_t len = 0;
    uint8_t *blob = make_blob(&len, g, n);
    strain_engine_item *it = calloc(1, sizeof(*it));
    if (strain_genome_deserialize(&it->genome, ctx, blob, len) < 0) {
        fprintf(stderr, "synthetic genome refused: %s\n", strain_ctx_errmsg(ctx));
        exit(1);
    }
    free(blob);
    /* a few bytes standing for the file (the add hashes them for md5/sha1) */
    if (strain_sample_from_memory(&it->sample, ctx, &seed, sizeof(seed), "synthetic", NULL) < 0) {
        exit(1);
    }
    it->meta.label.clean = STRAIN_STORE_KEEP;
    for (int i = 0; i < 4; i++) {
        snprintf(it->meta.sha256 + 16 * i, 17, "%016" PRIx64, strain_mix64(seed * 4 + i));
    }
    snprintf(it->meta.format, sizeof(it->meta.format), "pe32+");
    snprintf(it->meta.arch, sizeof(it->meta.arch), "x64");
    return it;
}

static uint64_t file_bytes(const char *path)
{
    struct stat sb;
    uint64_t n = 0;
    char p[4200];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        if (stat(p, &sb) == 0) {
            n += (uint64_t)sb.st_size;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    strain_engine *e = NULL;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_scale DB STEP...\n");
        return 2;
    }
    strain_ctx_new(&ctx);
    remove(argv[1]);
    if (strain_store_open(&st, ctx, NULL, argv[1], STRAIN_STORE_CREATE) < 0 ||
        strain_engine_open(&e, ctx, st) < 0) {
        fprintf(stderr, "%s\n", strain_ctx_errmsg(ctx));
        return 1;
    }
    printf("%10s %10s %12s %10s %10s %10s %9s %9s %9s %8s\n", "samples", "families", "bytes/sample",
           "query ms", "p50 ms", "max ms", "cands", "verdict", "ranked", "min mbr");
    uint64_t have = 0;
    for (int a = 2; a < argc; a++) {
        uint64_t target = strtoull(argv[a], NULL, 10);
        double t0 = now();
        strain_store_begin(st);
        for (; have < target; have++) {
            uint64_t fam = have / 10;
            strain_engine_item *it = make_item(ctx, fam, have + 1, false);
            char actor[32];
            char family[32];
            snprintf(actor, sizeof(actor), "actor%" PRIu64, fam / 3);
            snprintf(family, sizeof(family), "family%" PRIu64, fam);
            strain_store_label l = {actor, family, NULL, 0, false, 0};
            if (strain_engine_add(e, NULL, it, &l) < 0) {
                fprintf(stderr, "add: %s\n", strain_ctx_errmsg(ctx));
                return 1;
            }
            strain_engine_item_free(it);
            if (have % 2000 == 1999) {
                strain_store_commit(st);
                strain_store_begin(st);
            }
        }
        strain_store_commit(st);
        double load = now() - t0;
        uint64_t fams = have / 10;
        double ms[QUERIES];
        strain_engine_item *items[QUERIES];
        char qverdict[QUERIES][32];
        double total = 0;
        size_t cands = 0;
        int ok = 0;
        int ranked = 0;
        double min_member = 1;
        for (int q = 0; q < QUERIES; q++) {
            bool stranger = q % 4 == 3;
            uint64_t fam = (rnd() % fams);
            strain_engine_item *it = make_item(ctx, fam, 1000000000ull + q, stranger);
            strain_query_result *r = NULL;
            double t1 = now();
            if (strain_engine_query(&r, e, it, NULL) < 0) {
                fprintf(stderr, "query: %s\n", strain_ctx_errmsg(ctx));
                return 1;
            }
            ms[q] = (now() - t1) * 1000;
            total += ms[q];
            cands += r->n_candidates;
            char want[32];
            snprintf(want, sizeof(want), "family%" PRIu64, fam);
            snprintf(qverdict[q], sizeof(qverdict[q]), "%s",
                     r->verdict_family != NULL ? r->verdict_family : "");
            ok += stranger ? r->verdict_actor == NULL
                           : (r->verdict_family != NULL && strcmp(r->verdict_family, want) == 0);
            strain_query_result_free(r);
            /* The ranking apart from the corpus-calibrated threshold (untimed): a member's
             * best-ranked family is its own; a stranger's best score stays below it. */
            strain_query_options all = {.all = true};
            if (strain_engine_query(&r, e, it, &all) < 0) {
                fprintf(stderr, "query: %s\n", strain_ctx_errmsg(ctx));
                return 1;
            }
            ranked += stranger ? (r->n_families == 0 || r->families[0].score < r->threshold)
                               : (r->n_families > 0 && strcmp(r->families[0].name, want) == 0);
            if (!stranger && r->n_families > 0 && r->families[0].score < min_member) {
                min_member = r->families[0].score;
            }
            strain_query_result_free(r);
            items[q] = it; /* queried again through the read index below */
        }
        double mx = 0;
        for (int q = 0; q < QUERIES; q++) {
            mx = ms[q] > mx ? ms[q] : mx;
        }
        char extra[160] = "";
        const char *cmp = getenv("STRAIN_SCALE_COMPACT");
        if (cmp != NULL && strcmp(cmp, "1") == 0) {
            double tc = now();
            if (strain_store_compact(st) < 0) {
                fprintf(stderr, "compact: %s\n", strain_ctx_errmsg(ctx));
                return 1;
            }
            tc = now() - tc;
            double itotal = 0;
            double imax = 0;
            int same = 0;
            for (int q = 0; q < QUERIES; q++) {
                strain_engine_item *it = items[q];
                strain_query_result *r = NULL;
                double t1 = now();
                if (strain_engine_query(&r, e, it, NULL) < 0) {
                    fprintf(stderr, "query: %s\n", strain_ctx_errmsg(ctx));
                    return 1;
                }
                double qms = (now() - t1) * 1000;
                itotal += qms;
                imax = qms > imax ? qms : imax;
                same += (r->verdict_family == NULL && qverdict[q][0] == '\0') ||
                        (r->verdict_family != NULL && strcmp(r->verdict_family, qverdict[q]) == 0);
                strain_query_result_free(r);
            }
            char ix[4200];
            snprintf(ix, sizeof(ix), "%s-index", argv[1]);
            snprintf(extra, sizeof(extra),
                     "  idx ms %.1f, idx max %.1f, same %d/%d, compact %.0f s, "
                     "index %.0f bytes/sample",
                     itotal / QUERIES, imax, same, QUERIES, tc,
                     (double)file_bytes(ix) / (double)have);
        }
        for (int q = 0; q < QUERIES; q++) {
            strain_engine_item_free(items[q]);
        }
        double sorted[QUERIES];
        memcpy(sorted, ms, sizeof(ms));
        for (int i = 1; i < QUERIES; i++) {
            for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                double t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
            }
        }
        printf("%10" PRIu64 " %10" PRIu64
               " %12.0f %10.1f %10.1f %10.1f %9zu %6d/%d %6d/%d %8.3f   (load %.0f s)%s\n",
               have, fams, (double)file_bytes(argv[1]) / (double)have, total / QUERIES,
               sorted[QUERIES / 2], mx, cands / QUERIES, ok, QUERIES, ranked, QUERIES, min_member,
               load, extra);
        fflush(stdout);
    }
    strain_engine_free(e);
    strain_store_close(st);
    strain_ctx_free(ctx);
    return 0;
}
