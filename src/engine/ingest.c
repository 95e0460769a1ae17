/*
 * Bulk loads (`strain add`, `strain import`): a pipeline of worker threads that walk the
 * inputs and build genomes (the expensive, independent part) and one writer, the calling
 * thread, which owns the store connection and commits in batches (a transaction per sample
 * would cost a sync each; one for everything would hold the write lock for minutes).
 * The queue between them is bounded so memory stays at a few samples per worker.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attribution_impl.h"
#include "util/err.h"

#define COMMIT_EVERY 32u
/* Threads beyond this give nothing: the single writer becomes the bottleneck. */
#define MAX_THREADS 64u

typedef struct job {
    strain_engine_item *item; /* a sample to store, or NULL */
    char *message;            /* an input error, or NULL */
    size_t entry;
    bool entry_done;
} job;

typedef struct pipe_state {
    pthread_mutex_t mu;
    pthread_cond_t can_put;
    pthread_cond_t can_take;
    job *ring;
    size_t cap;
    size_t head;
    size_t len;
    size_t next_entry;
    unsigned workers_alive;
    bool stop;
    const strain_ingest_entry *entries;
    size_t n_entries;
} pipe_state;

typedef struct worker {
    pipe_state *ps;
    strain_ctx *ctx;
    size_t entry;
} worker;

static void put_job(pipe_state *ps, job j)
{
    pthread_mutex_lock(&ps->mu);
    while (ps->len == ps->cap) {
        pthread_cond_wait(&ps->can_put, &ps->mu);
    }
    ps->ring[(ps->head + ps->len) % ps->cap] = j;
    ps->len++;
    pthread_cond_signal(&ps->can_take);
    pthread_mutex_unlock(&ps->mu);
}

static bool stopped(pipe_state *ps)
{
    pthread_mutex_lock(&ps->mu);
    bool s = ps->stop;
    pthread_mutex_unlock(&ps->mu);
    return s;
}

/* The name recorded with a sample: its absolute path; for an archive member, the archive's
 * folder joined with the member's archive path (which starts with the archive's own name:
 * "/abs/dir/refs.zip!ref/a.exe"). */
static char *record_name(const strain_sample *s)
{
    char abs[PATH_MAX];
    const char *base = s->path;
    if (strcmp(s->path, "-") != 0 && realpath(s->path, abs) != NULL) {
        base = abs;
    }
    size_t dir_len = strlen(base);
    if (s->archive_path != NULL) {
        const char *slash = strrchr(base, '/');
        dir_len = slash != NULL ? (size_t)(slash - base) + 1 : 0;
    }
    size_t n = dir_len + (s->archive_path ? strlen(s->archive_path) : 0) + 1;
    char *out = malloc(n);
    if (out != NULL) {
        snprintf(out, n, "%.*s%s", (int)dir_len, base, s->archive_path ? s->archive_path : "");
    }
    return out;
}

static int on_sample(const strain_sample *s, int err, const char *errmsg, void *payload)
{
    worker *w = payload;
    job j = {NULL, NULL, w->entry, false};
    if (stopped(w->ps)) {
        return STRAIN_ERROR;
    }
    if (s == NULL) {
        j.message = strdup(errmsg ? errmsg : strain_strerror(err));
        put_job(w->ps, j);
        return STRAIN_OK;
    }
    char *name = record_name(s);
    int rc = strain_engine_prepare(&j.item, w->ctx, s->data, s->size, name);
    if (rc < 0) {
        size_t n = strlen(s->path) + 256;
        j.message = malloc(n);
        if (j.message != NULL) {
            snprintf(j.message, n, "%s: %s (%s)", s->path, strain_strerror(rc),
                     strain_ctx_errmsg(w->ctx));
        }
    }
    free(name);
    put_job(w->ps, j);
    return STRAIN_OK;
}

static void *work(void *arg)
{
    worker *w = arg;
    pipe_state *ps = w->ps;
    for (;;) {
        pthread_mutex_lock(&ps->mu);
        size_t e = ps->next_entry < ps->n_entries && !ps->stop ? ps->next_entry++ : SIZE_MAX;
        pthread_mutex_unlock(&ps->mu);
        if (e == SIZE_MAX) {
            break;
        }
        w->entry = e;
        const char *path = ps->entries[e].path;
        strain_input_walk(w->ctx, &path, 1, NULL, on_sample, w);
        put_job(ps, (job){NULL, NULL, e, true});
    }
    pthread_mutex_lock(&ps->mu);
    ps->workers_alive--;
    pthread_cond_signal(&ps->can_take);
    pthread_mutex_unlock(&ps->mu);
    return NULL;
}

/* Takes the next job; false when every worker has finished and the queue is empty. */
static bool take_job(pipe_state *ps, job *out)
{
    pthread_mutex_lock(&ps->mu);
    while (ps->len == 0 && ps->workers_alive > 0) {
        pthread_cond_wait(&ps->can_take, &ps->mu);
    }
    bool got = ps->len > 0;
    if (got) {
        *out = ps->ring[ps->head];
        ps->head = (ps->head + 1) % ps->cap;
        ps->len--;
        pthread_cond_signal(&ps->can_put);
    }
    pthread_mutex_unlock(&ps->mu);
    return got;
}

int strain_engine_ingest(strain_engine *e, size_t *out_added, const strain_ingest_entry *entries,
                         size_t n_entries, unsigned threads, strain_ingest_progress_cb progress,
                         strain_ingest_error_cb on_error, void *payload)
{
    pipe_state ps;
    worker *ws = NULL;
    pthread_t *tids = NULL;
    unsigned started = 0;
    size_t added = 0;
    size_t errors = 0;
    size_t done_entries = 0;
    size_t in_tx = 0;
    int err = STRAIN_OK;
    if (e == NULL || (entries == NULL && n_entries > 0)) {
        return STRAIN_EINVAL;
    }
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > MAX_THREADS) {
        threads = MAX_THREADS;
    }
    if (threads > n_entries && n_entries > 0) {
        threads = (unsigned)n_entries;
    }
    memset(&ps, 0, sizeof(ps));
    pthread_mutex_init(&ps.mu, NULL);
    pthread_cond_init(&ps.can_put, NULL);
    pthread_cond_init(&ps.can_take, NULL);
    ps.cap = 2 * (size_t)threads + 2;
    ps.ring = calloc(ps.cap, sizeof(*ps.ring));
    ws = calloc(threads, sizeof(*ws));
    tids = calloc(threads, sizeof(*tids));
    ps.entries = entries;
    ps.n_entries = n_entries;
    if (ps.ring == NULL || ws == NULL || tids == NULL) {
        err = strain__fail(e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (unsigned t = 0; t < threads; t++) {
        ws[t].ps = &ps;
        if (strain_ctx_new(&ws[t].ctx) < 0) {
            err = strain__fail(e->ctx, STRAIN_ENOMEM, "out of memory");
            goto done;
        }
        /* the workers inherit the caller's limits */
        *strain_ctx_limits(ws[t].ctx) = *strain_ctx_limits(e->ctx);
    }
    ps.workers_alive = threads;
    for (unsigned t = 0; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, work, &ws[t]) != 0) {
            pthread_mutex_lock(&ps.mu);
            ps.workers_alive -= threads - t;
            ps.stop = true;
            pthread_mutex_unlock(&ps.mu);
            err = strain__fail(e->ctx, STRAIN_ERROR, "cannot start a worker thread");
            break;
        }
        started++;
    }
    job j;
    while (take_job(&ps, &j)) {
        if (j.message != NULL) {
            errors++;
            if (on_error != NULL) {
                on_error(j.message, payload);
            }
            free(j.message);
        }
        if (j.item != NULL && err == STRAIN_OK) {
            int rc = STRAIN_OK;
            if (in_tx == 0) {
                rc = strain_store_begin(e->st);
            }
            if (rc == STRAIN_OK) {
                in_tx++;
                rc = strain_engine_add(e, NULL, j.item, &entries[j.entry].label);
            }
            if (rc == STRAIN_EINVAL || rc == STRAIN_ELIMIT) {
                /* this sample's labels or features were refused; the rest goes on */
                errors++;
                if (on_error != NULL) {
                    on_error(strain_ctx_errmsg(e->ctx), payload);
                }
            } else if (rc < 0) {
                err = rc;
            } else {
                added++;
            }
            if (err == STRAIN_OK && in_tx >= COMMIT_EVERY) {
                in_tx = 0;
                err = strain_store_commit(e->st);
            }
            if (err < 0) {
                pthread_mutex_lock(&ps.mu);
                ps.stop = true;
                pthread_mutex_unlock(&ps.mu);
            }
        }
        strain_engine_item_free(j.item);
        if (j.entry_done) {
            done_entries++;
            if (progress != NULL) {
                progress(done_entries, n_entries, added, errors, payload);
            }
        }
    }
    if (in_tx > 0) {
        if (err == STRAIN_OK) {
            err = strain_store_commit(e->st);
        } else {
            strain_store_rollback(e->st);
        }
    }
done:
    for (unsigned t = 0; t < started; t++) {
        pthread_join(tids[t], NULL);
    }
    if (ws != NULL) {
        for (unsigned t = 0; t < threads; t++) {
            strain_ctx_free(ws[t].ctx);
        }
    }
    free(ws);
    free(tids);
    free(ps.ring);
    pthread_cond_destroy(&ps.can_take);
    pthread_cond_destroy(&ps.can_put);
    pthread_mutex_destroy(&ps.mu);
    if (out_added != NULL) {
        *out_added = added;
    }
    return err < 0 ? err : (int)(errors > INT_MAX ? INT_MAX : errors);
}
