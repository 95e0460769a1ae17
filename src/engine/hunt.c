/*
 * Hunting (strain/hunt.h): compare every sample of a collection with a few seed genomes,
 * without indexing the collection. The calling thread walks the inputs (strain_input_walk)
 * and copies each sample into a bounded queue; workers, each with its own context, parse,
 * build the genome, discount library code and compare with the seeds. Memory is flat: the
 * queue holds at most STRAIN_HUNT_QUEUE_PER_THREAD samples per worker and
 * STRAIN_HUNT_QUEUE_BYTES bytes, and a worker frees everything of a sample before taking the
 * next. Callbacks are serialised under one mutex so callers need no locking of their own.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strain/binary.h>
#include <strain/hunt.h>

#include "engine_impl.h"
#include "hunt_impl.h"
#include "util/err.h"
#include "util/limits.h"

int strain_hunt_new(strain_hunt **out, strain_ctx *ctx)
{
    strain_hunt *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&h->lock, NULL);
    *out = h;
    return 0;
}

void strain_hunt_free(strain_hunt *h)
{
    if (h == NULL) {
        return;
    }
    for (size_t i = 0; i < h->n_seeds; i++) {
        if (h->seeds[i].prepared != h->seeds[i].raw) {
            strain_genome_free(h->seeds[i].prepared);
        }
        strain_genome_free(h->seeds[i].raw);
        free(h->seeds[i].name);
    }
    for (size_t i = 0; i < h->n_clean; i++) {
        strain_genome_free(h->clean[i]);
    }
    strain_genome_free(h->discount);
    free(h->seeds);
    free(h->clean);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int strain_hunt_add_seed(strain_hunt *h, strain_ctx *ctx, const strain_genome *g, const char *name)
{
    if (h == NULL || g == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "no hunt or genome");
    }
    if (h->prepared) {
        return strain__fail(ctx, STRAIN_EINVAL, "hunt already started: seeds are fixed");
    }
    if (h->n_seeds >= STRAIN_HUNT_MAX_SEEDS) {
        return strain__fail(ctx, STRAIN_ELIMIT, "more than %u seeds (STRAIN_HUNT_MAX_SEEDS)",
                            STRAIN_HUNT_MAX_SEEDS);
    }
    hunt_seed *ns = realloc(h->seeds, (h->n_seeds + 1) * sizeof(*ns));
    if (ns == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    h->seeds = ns;
    hunt_seed s = {NULL, NULL, NULL};
    char tmp[32];
    if (name == NULL) {
        snprintf(tmp, sizeof(tmp), "seed %zu", h->n_seeds);
        name = tmp;
    }
    s.name = strdup(name);
    if (s.name == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    int err = strain_engine__genome_copy(&s.raw, ctx, g);
    if (err < 0) {
        free(s.name);
        return err;
    }
    s.prepared = s.raw;
    h->seeds[h->n_seeds] = s;
    return (int)h->n_seeds++;
}

int strain_hunt_add_clean(strain_hunt *h, strain_ctx *ctx, const strain_genome *g)
{
    if (h == NULL || g == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "no hunt or genome");
    }
    if (h->prepared) {
        return strain__fail(ctx, STRAIN_EINVAL, "hunt already started: clean set is fixed");
    }
    strain_genome *copy = NULL;
    int err = strain_engine__genome_copy(&copy, ctx, g);
    return err < 0 ? err : strain_hunt__add_clean_owned(h, ctx, copy);
}

int strain_hunt__add_clean_owned(strain_hunt *h, strain_ctx *ctx, strain_genome *g)
{
    if (h->prepared) {
        strain_genome_free(g);
        return strain__fail(ctx, STRAIN_EINVAL, "hunt already started: clean set is fixed");
    }
    strain_genome **nc = realloc(h->clean, (h->n_clean + 1) * sizeof(*nc));
    if (nc == NULL) {
        strain_genome_free(g);
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    h->clean = nc;
    h->clean[h->n_clean++] = g;
    return 0;
}

int strain_hunt_set_common(strain_hunt *h, strain_ctx *ctx, unsigned n)
{
    if (h == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "no hunt");
    }
    if (h->prepared) {
        return strain__fail(ctx, STRAIN_EINVAL, "hunt already started");
    }
    h->common = n;
    return 0;
}

/* Builds the discount genome (clean genomes + code common to h->common seeds) and the
 * discounted seeds. Called once, under h->lock. */
static int prepare(strain_hunt *h, strain_ctx *ctx)
{
    strain_genome *common = NULL;
    uint64_t *e = NULL, *f = NULL, *t = NULL;
    int err = 0;
    if (h->common > 0 && h->n_seeds > 0) {
        const strain_genome **raw = calloc(h->n_seeds, sizeof(*raw));
        if (raw == NULL) {
            return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < h->n_seeds; i++) {
            raw[i] = h->seeds[i].raw;
        }
        err = strain_engine__common_genome(&common, ctx, raw, h->n_seeds, h->common);
        free(raw);
        STRAIN_TRY(err);
    }
    if (common != NULL || h->n_clean > 0) {
        /* One discount genome: the union of the clean genomes and the common code. */
        size_t ne = 0, nf = 0, ns = 0;
        for (size_t i = 0; i <= h->n_clean; i++) {
            const strain_genome *c = i < h->n_clean ? h->clean[i] : common;
            if (c != NULL) {
                ne += strain_genome_get_info(c)->n_genes;
                nf += strain_genome_get_info(c)->n_fragments;
                ns += strain_genome_get_info(c)->n_strings;
            }
        }
        e = malloc((ne + 1) * sizeof(uint64_t));
        f = malloc((nf + 1) * sizeof(uint64_t));
        t = malloc((ns + 1) * sizeof(uint64_t));
        if (e == NULL || f == NULL || t == NULL) {
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        ne = nf = ns = 0;
        for (size_t i = 0; i <= h->n_clean; i++) {
            const strain_genome *c = i < h->n_clean ? h->clean[i] : common;
            if (c == NULL) {
                continue;
            }
            const strain_genome_info *ci = strain_genome_get_info(c);
            for (size_t k = 0; k < ci->n_genes; k++) {
                e[ne++] = ci->genes[k].exact;
            }
            for (size_t k = 0; k < ci->n_fragments; k++) {
                f[nf++] = ci->fragments[k];
            }
            for (size_t k = 0; k < ci->n_strings; k++) {
                t[ns++] = ci->strings[k];
            }
        }
        STRAIN_TRY(strain_engine__hash_genome(&h->discount, ctx, e, ne, f, nf, t, ns));
        for (size_t i = 0; i < h->n_seeds; i++) {
            STRAIN_TRY(
                strain_genome_discount(&h->seeds[i].prepared, ctx, h->seeds[i].raw, h->discount));
        }
    }
    h->prepared = true;
done:
    if (err < 0) {
        for (size_t i = 0; i < h->n_seeds; i++) {
            if (h->seeds[i].prepared != h->seeds[i].raw) {
                strain_genome_free(h->seeds[i].prepared);
            }
            h->seeds[i].prepared = h->seeds[i].raw;
        }
        strain_genome_free(h->discount);
        h->discount = NULL;
    }
    strain_genome_free(common);
    free(e);
    free(f);
    free(t);
    return err;
}

int strain_hunt__prepare(strain_hunt *h, strain_ctx *ctx)
{
    pthread_mutex_lock(&h->lock);
    int err = h->prepared ? 0 : prepare(h, ctx);
    pthread_mutex_unlock(&h->lock);
    return err;
}

int strain_hunt_match(strain_hunt *h, strain_ctx *ctx, const strain_genome *g, double min_score,
                      const char *path, const char *archive_path, const char *sha256,
                      strain_hunt_hit_cb cb, void *payload)
{
    strain_genome *d = NULL;
    int err = 0, hits = 0;
    if (h == NULL || g == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "no hunt or genome");
    }
    STRAIN_TRY(strain_hunt__prepare(h, ctx));
    if (h->discount != NULL) {
        STRAIN_TRY(strain_genome_discount(&d, ctx, g, h->discount));
        g = d;
    }
    for (size_t i = 0; i < h->n_seeds; i++) {
        strain_comparison *c = NULL;
        STRAIN_TRY(strain_compare(&c, ctx, h->seeds[i].prepared, g));
        if (c->combined_score >= min_score) {
            strain_hunt_hit hit = {
                .path = path,
                .archive_path = archive_path,
                .sha256 = sha256,
                .seed = i,
                .seed_name = h->seeds[i].name,
                .score = c->combined_score,
                .code_score = c->score,
                .string_score = c->string_score,
                .n_shared_strings = c->n_shared_strings,
                .n_matches = c->n_matches,
                .coverage = c->coverage_b,
                .seed_coverage = c->coverage_a,
            };
            hits++;
            err = cb != NULL ? cb(&hit, payload) : 0;
        }
        strain_comparison_free(c);
        STRAIN_TRY(err);
    }
    err = hits;
done:
    strain_genome_free(d);
    return err;
}

/* ---- the parallel run ---- */

typedef struct hunt_run {
    strain_hunt *h;
    const strain_hunt_opts *o;
    double min_score;
    const strain_limits *limits;
    /* queue */
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    strain_sample **ring;
    size_t cap, head, count;
    uint64_t queued_bytes;
    bool closed; /* walker finished */
    int stop;    /* < 0: a callback or a fatal error stopped the hunt */
    /* callbacks */
    pthread_mutex_t cb_mu;
    strain_hunt_stats st;
    uint64_t walked_bytes;
} hunt_run;

static void run_error(hunt_run *r, const char *path, const char *archive_path, int err,
                      const char *msg)
{
    pthread_mutex_lock(&r->cb_mu);
    r->st.errors++;
    if (r->o->on_error != NULL) {
        r->o->on_error(path, archive_path, err, msg, r->o->payload);
    }
    pthread_mutex_unlock(&r->cb_mu);
}

static void set_stop(hunt_run *r, int err)
{
    pthread_mutex_lock(&r->mu);
    if (r->stop == 0) {
        r->stop = err;
    }
    pthread_cond_broadcast(&r->not_full);
    pthread_cond_broadcast(&r->not_empty);
    pthread_mutex_unlock(&r->mu);
}

static int on_walk(const strain_sample *s, int err, const char *msg, void *payload)
{
    hunt_run *r = payload;
    if (s == NULL) {
        run_error(r, NULL, NULL, err, msg);
        return 0;
    }
    pthread_mutex_lock(&r->mu);
    while (r->stop == 0 && (r->count == r->cap || (r->count > 0 && r->queued_bytes + s->size >
                                                                       STRAIN_HUNT_QUEUE_BYTES))) {
        pthread_cond_wait(&r->not_full, &r->mu);
    }
    int stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    if (stop < 0) {
        return stop;
    }
    /* The walker's sample is borrowed for the call only: copy it for the worker. */
    strain_sample *copy = NULL;
    strain_ctx *cctx = NULL;
    if (strain_ctx_new(&cctx) < 0) {
        return STRAIN_ENOMEM;
    }
    err = strain_sample_from_memory(&copy, cctx, s->data, s->size, s->path, s->archive_path);
    strain_ctx_free(cctx);
    if (err < 0) {
        run_error(r, s->path, s->archive_path, err, "out of memory copying the sample");
        return err == STRAIN_ENOMEM ? err : 0;
    }
    pthread_mutex_lock(&r->mu);
    r->ring[(r->head + r->count) % r->cap] = copy;
    r->count++;
    r->queued_bytes += copy->size;
    r->walked_bytes += copy->size;
    pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static int on_hit(const strain_hunt_hit *hit, void *payload)
{
    hunt_run *r = payload;
    int rc = 0;
    pthread_mutex_lock(&r->cb_mu);
    r->st.hits++;
    if (r->o->on_hit != NULL) {
        rc = r->o->on_hit(hit, r->o->payload);
    }
    pthread_mutex_unlock(&r->cb_mu);
    return rc;
}

static void analyse(hunt_run *r, strain_ctx *ctx, const strain_sample *s)
{
    strain_binary *bin = NULL;
    strain_genome *g = NULL;
    int err = strain_binary_parse(&bin, ctx, s->data, s->size);
    if (err == 0) {
        err = strain_genome_build(&g, ctx, bin, &r->o->code);
    }
    if (err == 0) {
        const strain_genome_info *gi = strain_genome_get_info(g);
        if (gi->flags & STRAIN_GENOME_NO_CODE) {
            pthread_mutex_lock(&r->cb_mu);
            r->st.no_code++;
            pthread_mutex_unlock(&r->cb_mu);
        } else {
            err = strain_hunt_match(r->h, ctx, g, r->min_score, s->path, s->archive_path, s->sha256,
                                    on_hit, r);
        }
    }
    if (err < 0 && err != STRAIN_ENOMEM) {
        /* A callback's stop value comes back through match: stop, do not report it. */
        set_stop(r, err);
    } else if (err == STRAIN_ENOMEM) {
        run_error(r, s->path, s->archive_path, err, strain_ctx_errmsg(ctx));
    }
    strain_genome_free(g);
    strain_binary_free(bin);
}

static void *worker(void *payload)
{
    hunt_run *r = payload;
    strain_ctx *ctx = NULL;
    if (strain_ctx_new(&ctx) < 0) {
        set_stop(r, STRAIN_ENOMEM);
        return NULL;
    }
    *strain_ctx_limits(ctx) = *r->limits;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->count == 0 && !r->closed && r->stop == 0) {
            pthread_cond_wait(&r->not_empty, &r->mu);
        }
        if (r->stop < 0 || r->count == 0) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        strain_sample *s = r->ring[r->head];
        r->head = (r->head + 1) % r->cap;
        r->count--;
        r->queued_bytes -= s->size;
        pthread_cond_signal(&r->not_full);
        pthread_mutex_unlock(&r->mu);

        analyse(r, ctx, s);

        pthread_mutex_lock(&r->cb_mu);
        r->st.files++;
        r->st.bytes += s->size;
        if (r->o->on_progress != NULL) {
            pthread_mutex_lock(&r->mu);
            uint64_t walked = r->walked_bytes;
            pthread_mutex_unlock(&r->mu);
            r->o->on_progress(r->st.files, r->st.bytes, walked, r->o->payload);
        }
        pthread_mutex_unlock(&r->cb_mu);
        strain_sample_free(s);
    }
    strain_ctx_free(ctx);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int strain_hunt_run(strain_hunt_stats *stats, strain_hunt *h, strain_ctx *ctx,
                    const char *const *paths, size_t n_paths, const strain_hunt_opts *opts)
{
    if (h == NULL || opts == NULL || (paths == NULL && n_paths > 0)) {
        return strain__fail(ctx, STRAIN_EINVAL, "no hunt, options or paths");
    }
    if (h->n_seeds == 0) {
        return strain__fail(ctx, STRAIN_EINVAL, "a hunt needs at least one seed");
    }
    int err = strain_hunt__prepare(h, ctx);
    if (err < 0) {
        return err;
    }
    unsigned nt = opts->threads;
    if (nt == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nt = n > 0 ? (unsigned)n : 1u;
    }
    if (nt > STRAIN_HUNT_MAX_THREADS) {
        nt = STRAIN_HUNT_MAX_THREADS;
    }
    hunt_run r;
    memset(&r, 0, sizeof(r));
    r.h = h;
    r.o = opts;
    r.min_score = opts->min_score > 0 ? opts->min_score : STRAIN_HUNT_DEFAULT_MIN_SCORE;
    r.limits = strain_ctx_limits(ctx);
    r.cap = (size_t)nt * STRAIN_HUNT_QUEUE_PER_THREAD;
    r.ring = calloc(r.cap, sizeof(*r.ring));
    pthread_t *tids = calloc(nt, sizeof(*tids));
    if (r.ring == NULL || tids == NULL) {
        free(r.ring);
        free(tids);
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_mutex_init(&r.cb_mu, NULL);
    pthread_cond_init(&r.not_empty, NULL);
    pthread_cond_init(&r.not_full, NULL);
    double t0 = now_s();
    unsigned started = 0;
    for (; started < nt; started++) {
        if (pthread_create(&tids[started], NULL, worker, &r) != 0) {
            break;
        }
    }
    int walk = STRAIN_ENOMEM;
    if (started > 0) {
        walk = strain_input_walk(ctx, paths, n_paths, &opts->input, on_walk, &r);
    }
    pthread_mutex_lock(&r.mu);
    r.closed = true;
    pthread_cond_broadcast(&r.not_empty);
    pthread_mutex_unlock(&r.mu);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
    }
    /* Samples left when a stop interrupted the workers. */
    while (r.count > 0) {
        strain_sample_free(r.ring[r.head]);
        r.head = (r.head + 1) % r.cap;
        r.count--;
    }
    r.st.seconds = now_s() - t0;
    if (stats != NULL) {
        *stats = r.st;
    }
    if (r.stop < 0) {
        err = strain__fail(ctx, r.stop, "hunt stopped: %s", strain_strerror(r.stop));
    } else if (started == 0) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "could not start a worker thread");
    } else if (walk < 0) {
        err = walk;
    } else {
        err = (int)(r.st.errors > INT32_MAX ? INT32_MAX : r.st.errors);
    }
    pthread_cond_destroy(&r.not_empty);
    pthread_cond_destroy(&r.not_full);
    pthread_mutex_destroy(&r.mu);
    pthread_mutex_destroy(&r.cb_mu);
    free(r.ring);
    free(tids);
    return err;
}
