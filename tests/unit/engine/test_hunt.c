/*
 * Hunting (strain/hunt.h) on the public corpus. The genomes of the corpus are computed once;
 * then, with the oldest version of each (family, format) group as a seed, every file is
 * matched against the seeds through strain_hunt_match (the function the hunt's workers call)
 * and precision and recall are printed for several --min-score values, raw and with the code
 * common to >= 3 seeds discounted (--common 3). Ground truth is the manifest's family labels.
 * A second test runs the threaded hunt (strain_hunt_run) over a directory holding copies of a
 * few corpus files and a zip of them, and checks it reports exactly what the single-threaded
 * matching reports.
 *
 * Retrohunt (strain_hunt_db): the corpus is indexed into a database and the same seeds hunt
 * it; the ground truth is the streaming matching above over the same files: the same hits
 * with the same scores, for all seeds together (--common 3) and for each seed alone. On the
 * mingw-w64 fixtures (fixtures/mkfixtures.sh) with a clean sample in the database, the
 * retrohunt equals strain_hunt_match with that file as a clean genome, a clean seed finds
 * nothing, and a damaged database fails with a message.
 */
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strain/code.h>
#include <strain/engine.h>
#include <strain/hunt.h>
#include <strain/store.h>
#include <strain/strain.h>

#include "helpers.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A file analysed as `strain add` does (its genome is the streaming hunt's too: both use
 * the default code options). */
static strain_engine_item *load_item(strain_ctx *ctx, const char *path)
{
    size_t len = 0;
    uint8_t *data = th_read_file(path, &len);
    assert_non_null(data);
    strain_engine_item *it = NULL;
    assert_int_equal(strain_engine_prepare(&it, ctx, data, len, path), 0);
    free(data);
    return it;
}

/* The corpus, its seeds and the streaming scores, kept for the retrohunt test. */
static struct {
    const th_corpus_file *files;
    size_t n, ns;
    strain_engine_item **items;
    size_t *seed_file;
    double *raw, *com; /* [file * ns + seed] */
} K;

/* Numeric comparison of dotted versions ("4.0.10" > "4.0.9"). */
static int cmp_version(const char *a, const char *b)
{
    while (*a != '\0' || *b != '\0') {
        char *ea, *eb;
        long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
        if (x != y) {
            return x < y ? -1 : 1;
        }
        a = *ea != '\0' ? ea + 1 : ea;
        b = *eb != '\0' ? eb + 1 : eb;
        if (ea == a && eb == b) {
            break;
        }
    }
    return 0;
}

static bool same_group(const th_corpus_file *a, const th_corpus_file *b)
{
    return strcmp(a->family, b->family) == 0 && strcmp(a->format, b->format) == 0;
}

typedef struct scores {
    size_t n_files, n_seeds;
    double *s; /* [file * n_seeds + seed] */
} scores;

static int collect(const strain_hunt_hit *hit, void *payload)
{
    double *row = payload;
    row[hit->seed] = hit->score;
    return 0;
}

typedef struct pr {
    double precision, recall, actor_precision;
    size_t tp, fp, fn;
} pr;

static pr evaluate(const th_corpus_file *files, size_t n, const size_t *seed_file, size_t ns,
                   const double *s, double min)
{
    pr r;
    memset(&r, 0, sizeof(r));
    size_t actor_ok = 0;
    for (size_t f = 0; f < n; f++) {
        for (size_t k = 0; k < ns; k++) {
            const th_corpus_file *sf = &files[seed_file[k]];
            if (seed_file[k] == f) {
                continue; /* the seed itself */
            }
            bool hit = s[f * ns + k] >= min;
            if (hit) {
                bool ok = strcmp(files[f].family, sf->family) == 0;
                r.tp += ok;
                r.fp += !ok;
                actor_ok += strcmp(files[f].actor, sf->actor) == 0;
            } else if (same_group(&files[f], sf)) {
                r.fn++;
            }
        }
    }
    /* Recall counts the group's other versions: a hit on the same family in another format
     * is a true positive for precision but is not required. */
    size_t group_tp = 0, group_total = 0;
    for (size_t f = 0; f < n; f++) {
        for (size_t k = 0; k < ns; k++) {
            if (seed_file[k] != f && same_group(&files[f], &files[seed_file[k]])) {
                group_total++;
                group_tp += s[f * ns + k] >= min;
            }
        }
    }
    r.precision = r.tp + r.fp > 0 ? (double)r.tp / (double)(r.tp + r.fp) : 1.0;
    r.actor_precision = r.tp + r.fp > 0 ? (double)actor_ok / (double)(r.tp + r.fp) : 1.0;
    r.recall = group_total > 0 ? (double)group_tp / (double)group_total : 1.0;
    return r;
}

/* The clean set's files (scripts/clean-set.sh; $STRAIN_CLEAN_DIR) as items. */
static strain_ctx *clean_ctx;
static strain_engine_item **clean_items;
static size_t n_clean_items;
static int add_clean_item(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_F) {
        strain_engine_item **r = realloc(clean_items, (n_clean_items + 1) * sizeof(*clean_items));
        assert_non_null(r);
        clean_items = r;
        clean_items[n_clean_items++] = load_item(clean_ctx, path);
    }
    return 0;
}

/* The issue's protocol: one seed per family (its oldest version, the first listed on a tie),
 * recall over the family's other files in every format (strings cross from x64 to x86 and
 * ELF builds, code does not). */
static pr evaluate_family(const th_corpus_file *files, size_t n, const size_t *seed_file, size_t ns,
                          const double *s, double min)
{
    pr r;
    memset(&r, 0, sizeof(r));
    size_t actor_ok = 0, found = 0, total = 0;
    for (size_t f = 0; f < n; f++) {
        for (size_t k = 0; k < ns; k++) {
            const th_corpus_file *sf = &files[seed_file[k]];
            if (seed_file[k] == f) {
                continue;
            }
            bool hit = s[f * ns + k] >= min;
            bool same = strcmp(files[f].family, sf->family) == 0;
            r.tp += hit && same;
            r.fp += hit && !same;
            actor_ok += hit && strcmp(files[f].actor, sf->actor) == 0;
            total += same;
            found += same && hit;
        }
    }
    r.fn = total - found;
    r.precision = r.tp + r.fp > 0 ? (double)r.tp / (double)(r.tp + r.fp) : 1.0;
    r.actor_precision = r.tp + r.fp > 0 ? (double)actor_ok / (double)(r.tp + r.fp) : 1.0;
    r.recall = total > 0 ? (double)found / (double)total : 1.0;
    return r;
}

static void score_with(strain_ctx *ctx, const strain_genome **g, size_t n, const size_t *seed_file,
                       size_t ns, unsigned common, bool clean, double *s)
{
    strain_hunt *h = NULL;
    assert_int_equal(strain_hunt_new(&h, ctx), 0);
    for (size_t k = 0; k < ns; k++) {
        assert_int_equal(strain_hunt_add_seed(h, ctx, g[seed_file[k]], NULL), (int)k);
    }
    assert_int_equal(strain_hunt_set_common(h, ctx, common), 0);
    for (size_t i = 0; clean && i < n_clean_items; i++) {
        assert_int_equal(strain_hunt_add_clean(h, ctx, strain_engine_item_genome(clean_items[i])),
                         0);
    }
    for (size_t f = 0; f < n; f++) {
        for (size_t k = 0; k < ns; k++) {
            s[f * ns + k] = 0;
        }
        /* min_score 0: every seed's score comes back, thresholds are applied afterwards. */
        assert_true(strain_hunt_match(h, ctx, g[f], 0.0, "x", NULL, NULL, collect, &s[f * ns]) >=
                    0);
    }
    strain_hunt_free(h);
}

static void test_corpus_precision_recall(void **state)
{
    (void)state;
    const th_corpus_file *files;
    size_t n = th_corpus(&files);
    if (n == 0) {
        skip();
    }
    strain_ctx *ctx;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    double t0 = now();
    const strain_genome **g = calloc(n, sizeof(*g));
    K.items = calloc(n, sizeof(*K.items));
    for (size_t i = 0; i < n; i++) {
        K.items[i] = load_item(ctx, files[i].path);
        g[i] = strain_engine_item_genome(K.items[i]);
    }
    double t1 = now();
    /* Seeds: the oldest version of each (family, format) group. */
    size_t *seed_file = calloc(n, sizeof(size_t)), ns = 0, groups_multi = 0;
    for (size_t i = 0; i < n; i++) {
        bool oldest = true, first = true;
        size_t members = 0;
        for (size_t j = 0; j < n; j++) {
            if (j != i && same_group(&files[i], &files[j])) {
                members++;
                int c = cmp_version(files[j].version, files[i].version);
                if (c < 0 || (c == 0 && j < i)) {
                    oldest = false;
                }
                first = first && j > i;
            }
        }
        if (oldest) {
            seed_file[ns++] = i;
            groups_multi += members > 0;
        }
    }
    printf("corpus: %zu files, %zu (family, format) groups (%zu with other versions), genomes "
           "in %.1f s\n",
           n, ns, groups_multi, t1 - t0);
    double *raw = calloc(n * ns, sizeof(double)), *com = calloc(n * ns, sizeof(double));
    score_with(ctx, g, n, seed_file, ns, 0, false, raw);
    double t2 = now();
    score_with(ctx, g, n, seed_file, ns, 3, false, com);
    double t3 = now();
    printf("matching: %zu x %zu in %.1f s raw, %.1f s with --common 3\n", n, ns, t2 - t1, t3 - t2);
    static const double mins[] = {10, 20, 25, 30, 40, 50, 60};
    pr chosen = {0};
    for (size_t m = 0; m < sizeof(mins) / sizeof(mins[0]); m++) {
        pr a = evaluate(files, n, seed_file, ns, raw, mins[m]);
        pr b = evaluate(files, n, seed_file, ns, com, mins[m]);
        printf("min-score %2.0f: raw precision %.3f (actor %.3f) recall %.3f | --common 3 "
               "precision %.3f (actor %.3f) recall %.3f (tp %zu fp %zu)\n",
               mins[m], a.precision, a.actor_precision, a.recall, b.precision, b.actor_precision,
               b.recall, b.tp, b.fp);
        if (mins[m] == STRAIN_HUNT_DEFAULT_MIN_SCORE) {
            chosen = b;
        }
    }
    /* The false hits at the default threshold, for the record. */
    for (size_t f = 0; f < n; f++) {
        for (size_t k = 0; k < ns; k++) {
            const th_corpus_file *sf = &files[seed_file[k]];
            if (com[f * ns + k] >= STRAIN_HUNT_DEFAULT_MIN_SCORE &&
                strcmp(files[f].family, sf->family) != 0) {
                printf("false hit: seed %s %s (%s) -> %s %s (%s): %.1f\n", sf->family, sf->version,
                       sf->format, files[f].family, files[f].version, files[f].format,
                       com[f * ns + k]);
            }
            if (seed_file[k] != f && same_group(&files[f], sf) &&
                com[f * ns + k] < STRAIN_HUNT_DEFAULT_MIN_SCORE) {
                printf("missed: seed %s %s (%s) -> %s: %.1f\n", sf->family, sf->version, sf->format,
                       files[f].version, com[f * ns + k]);
            }
        }
    }
    printf("default (--min-score %.0f, --common 3): precision %.3f, recall %.3f\n",
           STRAIN_HUNT_DEFAULT_MIN_SCORE, chosen.precision, chosen.recall);
    /* Asserted: the floor measured at these settings, so that a regression is caught. Code
     * alone gave precision 0.598, recall 0.495; code and strings 0.928 and 0.869 when
     * written. --common 3 over seeds that include several formats of one family discounts
     * that family's own strings (held by its 3 format seeds): the recall lost is esbuild's and
     * rollup's distant versions. */
    assert_true(chosen.precision >= 0.92);
    assert_true(chosen.recall >= 0.86);

    /* With the clean set (what `strain add --clean` gives a retrohunt, --clean a streaming
     * hunt): alone, and with --common 3. Asserted when the clean set is there: the floors
     * measured with the 67 files of scripts/clean.tsv (0.824 / 0.972 alone at 30, 0.960 /
     * 0.860 with --common 3). The false hits left with the clean set alone are classic-level,
     * a fork of leveldown (same code, same strings), and rollup-gnu, rollup's own source built
     * with the GNU toolchain: the manifest labels both as other families. */
    const char *cdir = getenv("STRAIN_CLEAN_DIR");
    if (cdir != NULL && cdir[0] != '\0') {
        clean_ctx = ctx;
        nftw(cdir, add_clean_item, 16, FTW_PHYS);
    }
    if (n_clean_items > 0) {
        double *cl = calloc(n * ns, sizeof(double)), *clc = calloc(n * ns, sizeof(double));
        score_with(ctx, g, n, seed_file, ns, 0, true, cl);
        score_with(ctx, g, n, seed_file, ns, 3, true, clc);
        pr a_def = {0}, b_def = {0};
        for (size_t m = 0; m < sizeof(mins) / sizeof(mins[0]); m++) {
            pr a = evaluate(files, n, seed_file, ns, cl, mins[m]);
            pr b = evaluate(files, n, seed_file, ns, clc, mins[m]);
            printf("clean set (%zu files), min-score %2.0f: precision %.3f (actor %.3f) recall "
                   "%.3f (tp %zu fp %zu) | + --common 3 precision %.3f (actor %.3f) recall %.3f "
                   "(tp %zu fp %zu)\n",
                   n_clean_items, mins[m], a.precision, a.actor_precision, a.recall, a.tp, a.fp,
                   b.precision, b.actor_precision, b.recall, b.tp, b.fp);
            if (mins[m] == STRAIN_HUNT_DEFAULT_MIN_SCORE) {
                a_def = a;
                b_def = b;
            }
        }
        for (size_t f = 0; f < n; f++) {
            for (size_t k = 0; k < ns; k++) {
                const th_corpus_file *sf = &files[seed_file[k]];
                if (cl[f * ns + k] >= STRAIN_HUNT_DEFAULT_MIN_SCORE &&
                    strcmp(files[f].family, sf->family) != 0) {
                    printf("clean set, false hit: seed %s %s (%s) -> %s %s (%s): %.1f\n",
                           sf->family, sf->version, sf->format, files[f].family, files[f].version,
                           files[f].format, cl[f * ns + k]);
                }
            }
        }
        assert_true(a_def.precision >= 0.82 && a_def.recall >= 0.97);
        assert_true(b_def.precision >= 0.95 && b_def.recall >= 0.85);
        free(cl);
        free(clc);

        /* The issue's protocol: the oldest version of each family as the seeds (18), the clean
         * set, and --common 0, 2, 3: with seeds of distinct families, what two of them hold is
         * not one family's. Asserted at the defaults with --common 2: both targets (>= 0.95),
         * met when written (precision 0.975, recall 0.959 at 30). */
        size_t *fseed = calloc(n, sizeof(size_t)), nf = 0;
        for (size_t i = 0; i < n; i++) {
            bool oldest = true;
            for (size_t j = 0; j < n && oldest; j++) {
                if (j != i && strcmp(files[i].family, files[j].family) == 0) {
                    int c = cmp_version(files[j].version, files[i].version);
                    oldest = !(c < 0 || (c == 0 && j < i));
                }
            }
            if (oldest) {
                fseed[nf++] = i;
            }
        }
        static const unsigned commons[] = {0, 2, 3};
        double *fs = calloc(n * nf, sizeof(double));
        pr issue = {0};
        for (size_t c = 0; c < sizeof(commons) / sizeof(commons[0]); c++) {
            score_with(ctx, g, n, fseed, nf, commons[c], true, fs);
            for (size_t m = 0; m < sizeof(mins) / sizeof(mins[0]); m++) {
                pr a = evaluate_family(files, n, fseed, nf, fs, mins[m]);
                printf("one seed per family (%zu), clean set, --common %u, min-score %2.0f: "
                       "precision %.3f (actor %.3f) recall %.3f (tp %zu fp %zu fn %zu)\n",
                       nf, commons[c], mins[m], a.precision, a.actor_precision, a.recall, a.tp,
                       a.fp, a.fn);
                if (commons[c] == 2 && mins[m] == STRAIN_HUNT_DEFAULT_MIN_SCORE) {
                    issue = a;
                }
            }
            for (size_t f = 0; commons[c] == 2 && f < n; f++) {
                for (size_t k = 0; k < nf; k++) {
                    const th_corpus_file *sf = &files[fseed[k]];
                    bool same = strcmp(files[f].family, sf->family) == 0;
                    bool hit = fs[f * nf + k] >= STRAIN_HUNT_DEFAULT_MIN_SCORE;
                    if (fseed[k] != f && same != hit) {
                        printf("one seed per family, --common 2, %s: seed %s %s (%s) -> %s %s "
                               "(%s): %.1f\n",
                               hit ? "false hit" : "missed", sf->family, sf->version, sf->format,
                               files[f].family, files[f].version, files[f].format, fs[f * nf + k]);
                    }
                }
            }
        }
        printf("issue protocol (one seed per family, clean set, --common 2, --min-score %.0f): "
               "precision %.3f, recall %.3f\n",
               STRAIN_HUNT_DEFAULT_MIN_SCORE, issue.precision, issue.recall);
        assert_true(issue.precision >= 0.95 && issue.recall >= 0.95);
        free(fs);
        free(fseed);
        for (size_t i = 0; i < n_clean_items; i++) {
            strain_engine_item_free(clean_items[i]);
        }
        free(clean_items);
        clean_items = NULL;
        n_clean_items = 0;
    }
    free((void *)g);
    K.files = files;
    K.n = n;
    K.ns = ns;
    K.seed_file = seed_file;
    K.raw = raw;
    K.com = com;
    strain_ctx_free(ctx);
}

/* ---- retrohunt ---- */

typedef struct db_hits {
    size_t n_seeds;
    int64_t *ids; /* sample ids of the database, indexed like the files */
    size_t n_ids;
    double *score; /* [file * n_seeds + seed], -1 = no hit */
    size_t n_hits;
} db_hits;

static int collect_db(const strain_hunt_hit *hit, void *payload)
{
    db_hits *d = payload;
    size_t found = 0;
    assert_true(hit->seed < d->n_seeds);
    assert_non_null(hit->sha256);
    for (size_t f = 0; f < d->n_ids; f++) {
        if (d->ids[f] == hit->sample_id) { /* every copy of a file is this sample */
            assert_true(d->score[f * d->n_seeds + hit->seed] < 0); /* each pair once */
            d->score[f * d->n_seeds + hit->seed] = hit->score;
            found++;
        }
    }
    assert_true(found > 0);
    d->n_hits++;
    return 0;
}

/* Runs a retrohunt with the given seeds (file indexes) and returns the hits by file. */
static double *retrohunt(strain_ctx *ctx, strain_store *st, strain_engine_item **items,
                         int64_t *ids, size_t n, const size_t *seed_file, size_t ns,
                         unsigned common, const strain_genome *clean, double min,
                         strain_hunt_db_stats *stats)
{
    strain_hunt *h = NULL;
    assert_int_equal(strain_hunt_new(&h, ctx), 0);
    for (size_t k = 0; k < ns; k++) {
        assert_int_equal(
            strain_hunt_add_seed(h, ctx, strain_engine_item_genome(items[seed_file[k]]), NULL),
            (int)k);
    }
    if (clean != NULL) {
        assert_int_equal(strain_hunt_add_clean(h, ctx, clean), 0);
    }
    assert_int_equal(strain_hunt_set_common(h, ctx, common), 0);
    db_hits d = {ns, ids, n, calloc(n * ns, sizeof(double)), 0};
    for (size_t i = 0; i < n * ns; i++) {
        d.score[i] = -1;
    }
    strain_hunt_db_opts o = {min, collect_db, &d};
    int rc = strain_hunt_db(stats, h, ctx, st, &o);
    if (rc < 0) {
        fprintf(stderr, "retrohunt: %s\n", strain_ctx_errmsg(ctx));
    }
    assert_int_equal(rc, 0);
    assert_int_equal(stats->hits, d.n_hits);
    strain_hunt_free(h);
    return d.score;
}

/* Counts the (file, seed) pairs where the retrohunt and the streaming scores disagree: a hit
 * on one side only, or scores further apart than rounding. */
static size_t disagreements(const double *db, const double *stream, size_t n, size_t ns, size_t col,
                            size_t stream_ns, double min, const char *what)
{
    size_t bad = 0;
    for (size_t f = 0; f < n; f++) {
        for (size_t k = 0; k < ns; k++) {
            double want = stream[f * stream_ns + (ns == 1 ? col : k)];
            double got = db[f * ns + k];
            bool want_hit = want >= min, got_hit = got >= 0;
            if (want_hit != got_hit || (want_hit && fabs(want - got) > 1e-6)) {
                printf("%s: file %zu seed %zu: streaming %.3f, retrohunt %.3f\n", what, f,
                       ns == 1 ? col : k, want, got);
                bad++;
            }
        }
    }
    return bad;
}

static strain_store *open_db(strain_ctx *ctx, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", th_tmpdir(), name);
    remove(path);
    strain_store *st = NULL;
    assert_int_equal(strain_store_open(&st, ctx, NULL, path, STRAIN_STORE_CREATE), 0);
    return st;
}

static void test_corpus_retrohunt(void **state)
{
    (void)state;
    if (K.n == 0) {
        skip();
    }
    strain_ctx *ctx;
    strain_engine *e = NULL;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    strain_store *st = open_db(ctx, "corpus.db");
    assert_int_equal(strain_engine_open(&e, ctx, st), 0);
    int64_t *ids = calloc(K.n, sizeof(int64_t));
    double t0 = now();
    assert_int_equal(strain_store_begin(st), 0);
    for (size_t i = 0; i < K.n; i++) {
        strain_store_label l = {K.files[i].actor, K.files[i].family, NULL, 0, false, 0};
        assert_int_equal(strain_engine_add(e, &ids[i], K.items[i], &l), 0);
    }
    assert_int_equal(strain_store_commit(st), 0);
    printf("retrohunt: %zu files indexed in %.1f s\n", K.n, now() - t0);

    /* All seeds together, library code common to 3 seeds discounted (the documented setting).
     * (At --min-score 10 too when written: 243 hits, identical; left out to keep the test
     * short.) */
    static const double mins[] = {STRAIN_HUNT_DEFAULT_MIN_SCORE};
    for (size_t m = 0; m < 1; m++) {
        strain_hunt_db_stats ds;
        double t1 = now();
        double *db =
            retrohunt(ctx, st, K.items, ids, K.n, K.seed_file, K.ns, 3, NULL, mins[m], &ds);
        printf("retrohunt --common 3 --min-score %.0f: %.2f s, %" PRIu64 " hits, features read "
               "%" PRIu64 "/%" PRIu64 ", %" PRIu64 " postings, %" PRIu64
               " samples verified of %" PRIu64 "\n",
               mins[m], now() - t1, ds.hits, ds.keys_read, ds.keys, ds.postings, ds.verified,
               ds.samples);
        assert_int_equal(disagreements(db, K.com, K.n, K.ns, 0, K.ns, mins[m], "common 3"), 0);
        if (mins[m] == STRAIN_HUNT_DEFAULT_MIN_SCORE) {
            /* identical hits: the streaming figures are the retrohunt's (printed for the doc) */
            double *as_stream = calloc(K.n * K.ns, sizeof(double));
            for (size_t i = 0; i < K.n * K.ns; i++) {
                as_stream[i] = db[i] < 0 ? 0 : db[i];
            }
            pr r = evaluate(K.files, K.n, K.seed_file, K.ns, as_stream, mins[m]);
            printf("retrohunt (--min-score 30, --common 3): precision %.3f (actor %.3f), recall "
                   "%.3f\n",
                   r.precision, r.actor_precision, r.recall);
            free(as_stream);
        }
        free(db);
    }
    /* Each seed alone, nothing discounted: the usual retrohunt from one sample. */
    size_t bad = 0;
    uint64_t verified = 0, read = 0, keys = 0;
    double t2 = now();
    for (size_t k = 0; k < K.ns; k++) {
        strain_hunt_db_stats ds;
        double *db = retrohunt(ctx, st, K.items, ids, K.n, &K.seed_file[k], 1, 0, NULL,
                               STRAIN_HUNT_DEFAULT_MIN_SCORE, &ds);
        bad += disagreements(db, K.raw, K.n, 1, k, K.ns, STRAIN_HUNT_DEFAULT_MIN_SCORE, "alone");
        verified += ds.verified;
        read += ds.keys_read;
        keys += ds.keys;
        free(db);
    }
    printf("retrohunt, each of %zu seeds alone: %.2f s in all, %.1f samples verified per seed "
           "(of %zu), features read %" PRIu64 "/%" PRIu64 ", %zu disagreements with streaming\n",
           K.ns, now() - t2, (double)verified / (double)K.ns, K.n, read, keys, bad);
    assert_int_equal(bad, 0);
    free(ids);
    strain_engine_free(e);
    strain_store_close(st);
    strain_ctx_free(ctx);
}

/* Fixtures: four families of two actors, a shared library "minilib" and a clean program made
 * of it alone (fixtures/mkfixtures.sh). */
static void test_fixtures_retrohunt(void **state)
{
    (void)state;
    if (!th_have("x86_64-w64-mingw32-gcc")) {
        fprintf(stderr, "mingw-w64 is required\n");
        fail();
    }
    char fx[900], path[1024], *log = NULL;
    snprintf(fx, sizeof(fx), "%s/fx", th_tmpdir());
    int rc = th_run(&log, "bash %s/tests/unit/engine/fixtures/mkfixtures.sh %s 2>&1",
                    getenv("STRAIN_SOURCE_DIR"), fx);
    if (rc != 0) {
        fprintf(stderr, "fixtures: %s\n", log ? log : "");
    }
    free(log);
    assert_int_equal(rc, 0);
    static const char *const fam[] = {"alpha", "beta", "gamma", "delta"};
    static const char *const act[] = {"north", "north", "south", "east"};
    /* files 0..11: ref/<family>_v<1..3>.exe; 12: clean/libonly.exe; then the query seeds */
    enum { NREF = 12, NDB = 13, NALL = 16 };
    strain_engine_item *it[NALL];
    strain_ctx *ctx;
    strain_engine *e = NULL;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    for (size_t i = 0; i < NALL; i++) {
        static const char *const q[] = {"query/alpha_v4.exe", "query/zeta.exe", "ref/gamma_v1.exe"};
        if (i < NREF) {
            snprintf(path, sizeof(path), "%s/ref/%s_v%zu.exe", fx, fam[i / 3], i % 3 + 1);
        } else if (i == NREF) {
            snprintf(path, sizeof(path), "%s/clean/libonly.exe", fx);
        } else {
            snprintf(path, sizeof(path), "%s/%s", fx, q[i - NDB]);
        }
        it[i] = load_item(ctx, path);
    }
    strain_store *st = open_db(ctx, "fx.db");
    assert_int_equal(strain_engine_open(&e, ctx, st), 0);
    int64_t ids[NDB];
    for (size_t i = 0; i < NDB; i++) {
        strain_store_label l = {NULL, NULL, NULL, 0, false, 1};
        if (i < NREF) {
            l = (strain_store_label){act[i / 3], fam[i / 3], NULL, 0, false, 0};
        }
        assert_int_equal(strain_engine_add(e, &ids[i], it[i], &l), 0);
    }
    /* seeds: alpha v4, zeta (its own code + minilib), gamma v1 (in the database), and the
     * clean program itself */
    const size_t seeds[] = {13, 14, 15, NREF};
    enum { NS = 4 };
    const double min = 10;
    /* ground truth: the streaming matching over the same 13 files with --clean libonly.exe */
    double stream[NDB * NS];
    strain_hunt *h = NULL;
    assert_int_equal(strain_hunt_new(&h, ctx), 0);
    for (size_t k = 0; k < NS; k++) {
        assert_true(strain_hunt_add_seed(h, ctx, strain_engine_item_genome(it[seeds[k]]), NULL) ==
                    (int)k);
    }
    assert_int_equal(strain_hunt_add_clean(h, ctx, strain_engine_item_genome(it[NREF])), 0);
    for (size_t f = 0; f < NDB; f++) {
        for (size_t k = 0; k < NS; k++) {
            stream[f * NS + k] = 0;
        }
        assert_true(strain_hunt_match(h, ctx, strain_engine_item_genome(it[f]), 0.0, "x", NULL,
                                      NULL, collect, &stream[f * NS]) >= 0);
    }
    strain_hunt_free(h);
    /* the retrohunt: no clean genome given, the database's clean sample is the discount */
    strain_hunt_db_stats ds;
    double *db = retrohunt(ctx, st, it, ids, NDB, seeds, NS, 0, NULL, min, &ds);
    printf("fixtures: %" PRIu64 " hits, %" PRIu64 " clean sample, %" PRIu64 " verified\n", ds.hits,
           ds.clean, ds.verified);
    assert_int_equal(disagreements(db, stream, NDB, NS, 0, NS, min, "fixtures"), 0);
    assert_int_equal(ds.clean, 1);
    /* what the fixtures were built to be (mkfixtures.sh), independent of our scores: alpha v4
     * finds alpha v1-v3; gamma v1 finds gamma v1-v3; zeta, whose only shared code is minilib,
     * finds nothing; the clean program (as a seed, and as a sample) gives no hit */
    for (size_t f = 0; f < NDB; f++) {
        bool alpha = f < 3, gamma = f >= 6 && f < 9;
        if (alpha) {
            assert_true(db[f * NS + 0] >= STRAIN_HUNT_DEFAULT_MIN_SCORE);
        }
        assert_true(gamma == (db[f * NS + 2] >= STRAIN_HUNT_DEFAULT_MIN_SCORE));
        assert_true(db[f * NS + 1] < 0);
        assert_true(db[f * NS + 3] < 0);
        if (f >= 6) { /* alpha v4 shares nothing with gamma, delta or the clean program */
            assert_true(db[f * NS + 0] < 0);
        }
    }
    assert_true(db[NREF * NS + 0] < 0 && db[NREF * NS + 2] < 0);
    free(db);
    /* without the clean sample (removed), zeta's minilib makes gamma and delta look related:
     * the clean sample was what silenced it */
    assert_int_equal(strain_store_remove(st, strain_engine_item_sha256(it[NREF])), 0);
    db = retrohunt(ctx, st, it, ids, NDB, seeds, NS, 0, NULL, min, &ds);
    assert_int_equal(ds.clean, 0);
    assert_true(db[6 * NS + 1] >= STRAIN_HUNT_DEFAULT_MIN_SCORE);
    assert_true(db[9 * NS + 1] >= STRAIN_HUNT_DEFAULT_MIN_SCORE);
    free(db);
    /* a damaged genome: the retrohunt stops with ESTORE and says which sample */
    strain_engine_free(e);
    strain_store_close(st);
    if (th_have("sqlite3")) {
        rc = th_run(NULL, "sqlite3 %s/fx.db \"UPDATE genomes SET genome = zeroblob(64)\"",
                    th_tmpdir());
        assert_int_equal(rc, 0);
        snprintf(path, sizeof(path), "%s/fx.db", th_tmpdir());
        assert_int_equal(strain_store_open(&st, ctx, NULL, path, STRAIN_STORE_READONLY), 0);
        assert_int_equal(strain_hunt_new(&h, ctx), 0);
        assert_int_equal(strain_hunt_add_seed(h, ctx, strain_engine_item_genome(it[13]), NULL), 0);
        strain_hunt_db_opts o = {min, NULL, NULL};
        assert_int_equal(strain_hunt_db(&ds, h, ctx, st, &o), STRAIN_ESTORE);
        printf("damaged genome: %s\n", strain_ctx_errmsg(ctx));
        assert_non_null(strstr(strain_ctx_errmsg(ctx), "genome"));
        strain_hunt_free(h);
        strain_store_close(st);
    }
    for (size_t i = 0; i < NALL; i++) {
        strain_engine_item_free(it[i]);
    }
    strain_ctx_free(ctx);
}

static int teardown_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < K.n && K.items != NULL; i++) {
        strain_engine_item_free(K.items[i]);
    }
    free(K.items);
    free(K.seed_file);
    free(K.raw);
    free(K.com);
    memset(&K, 0, sizeof(K));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_precision_recall),
        cmocka_unit_test(test_corpus_retrohunt),
        cmocka_unit_test(test_fixtures_retrohunt),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_corpus);
}
