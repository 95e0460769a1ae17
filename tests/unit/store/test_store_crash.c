/*
 * Durability under SIGKILL, tested by killing real processes. A child process runs a
 * deterministic sequence of operations on a database (add a sample with hundreds to
 * thousands of postings, re-add an earlier one with different features, remove one), each in
 * one transaction, and writes the operation's number to a pipe after COMMIT returns. The
 * parent kills it with SIGKILL at a random moment (ten rounds on the same database, the
 * first one within milliseconds of the database being created), then checks with the
 * sqlite3 command-line tool (not our code) that:
 *   - PRAGMA integrity_check is "ok";
 *   - the set of samples and each sample's posting count equal the state after the last
 *     reported operation, or after the one following it (its COMMIT may have returned just
 *     before the kill, with the report not yet written): never anything in between, so no
 *     partial sample and no lost committed one;
 *   - no posting belongs to a sample that does not exist;
 * and with the store's own check that the per-feature counters still match the postings.
 * While the child writes, the parent reads through a second connection (WAL readers).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <strain/store.h>

#include "helpers.h"

#define ROUNDS 10
#define MAX_OPS 20000      /* per round; a round is killed long before */
#define ROUND_BASE 100000u /* sample numbers of round r start at r * ROUND_BASE */
#define SHARED_KEYS 40     /* keys every sample holds (library code), to exercise counters */
#define ROUND_CAP_MS 15000 /* a round on a very loaded machine is killed anyway */

typedef enum { OP_ADD, OP_READD, OP_REMOVE } op_kind;

typedef struct op {
    op_kind kind;
    unsigned sample; /* global sample number */
    unsigned variant;
} op;

/* The k-th operation of round r: the same in the child and the parent. */
static op op_of(unsigned r, unsigned k)
{
    op o = {OP_ADD, r * ROUND_BASE + k, 0};
    if (k % 10 == 7 && k >= 3) {
        o.kind = OP_READD;
        o.sample = r * ROUND_BASE + k - 3;
        o.variant = 1 + k % 3;
    } else if (k % 10 == 9 && k >= 5) {
        o.kind = OP_REMOVE;
        o.sample = r * ROUND_BASE + k - 5;
    }
    return o;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t n_postings(unsigned sample, unsigned variant)
{
    return SHARED_KEYS + 1 + (size_t)(mix(((uint64_t)sample << 8) | variant) % 200);
}

static void sha_of(char out[STRAIN_SHA256_HEX], unsigned n)
{
    snprintf(out, STRAIN_SHA256_HEX, "%016llx%016llx%016llx%016llx", (unsigned long long)mix(n),
             (unsigned long long)mix(n + 1ull), (unsigned long long)n,
             (unsigned long long)mix(n * 3ull));
}

static void fill_postings(strain_store_posting *p, unsigned sample, unsigned variant, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i].kind = (uint32_t)(i % 3);
        p[i].hash = i < SHARED_KEYS ? mix(0xc0ffee + i)
                                    : mix(((uint64_t)sample << 24) ^ ((uint64_t)variant << 20) ^ i);
        p[i].payload = i;
    }
}

static int child_op(strain_store *st, const op *o, strain_store_posting *p)
{
    char sha[STRAIN_SHA256_HEX];
    strain_store_sample s;
    int64_t id = 0;
    int err;
    sha_of(sha, o->sample);
    if ((err = strain_store_begin(st)) < 0) {
        return err;
    }
    if (o->kind == OP_REMOVE) {
        err = strain_store_remove(st, sha);
        if (err == STRAIN_ENOTFOUND) {
            err = 0;
        }
    } else {
        memset(&s, 0, sizeof(s));
        memcpy(s.sha256, sha, sizeof(sha));
        s.size = o->sample;
        s.label.family = (o->sample % 7) ? "famA" : "famB";
        s.label.clean = o->sample % 11 == 0;
        err = strain_store_put_sample(st, &id, &s);
        if (err == 0) {
            size_t n = n_postings(o->sample, o->variant);
            fill_postings(p, o->sample, o->variant, n);
            strain_store_features f = {.genome_version = o->variant,
                                       .genome = sha,
                                       .genome_len = 64,
                                       .postings = p,
                                       .n_postings = n};
            err = strain_store_put_features(st, id, &f);
        }
    }
    if (err < 0) {
        strain_store_rollback(st);
        return err;
    }
    return strain_store_commit(st);
}

static void child(const char *db, unsigned r, int wfd)
{
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    strain_store_posting *p = malloc((SHARED_KEYS + 201) * sizeof(*p));
    if (p == NULL || strain_ctx_new(&ctx) < 0 ||
        strain_store_open(&st, ctx, NULL, db, STRAIN_STORE_CREATE) < 0) {
        fprintf(stderr, "child: open: %s\n", strain_ctx_errmsg(ctx));
        _exit(2);
    }
    for (unsigned k = 0; k < MAX_OPS; k++) {
        op o = op_of(r, k);
        char line[32];
        if (child_op(st, &o, p) < 0) {
            fprintf(stderr, "child: op %u: %s\n", k, strain_ctx_errmsg(ctx));
            _exit(3);
        }
        int len = snprintf(line, sizeof(line), "%u\n", k);
        if (write(wfd, line, (size_t)len) != len) {
            _exit(4);
        }
    }
    _exit(0);
}

/* Model of the database: per sample number, present and which variant. */
typedef struct state {
    unsigned char present[ROUNDS][MAX_OPS];
    unsigned char variant[ROUNDS][MAX_OPS];
} state;

static void apply(state *m, const op *o)
{
    unsigned r = o->sample / ROUND_BASE;
    unsigned i = o->sample % ROUND_BASE;
    if (o->kind == OP_REMOVE) {
        m->present[r][i] = 0;
    } else {
        m->present[r][i] = 1;
        m->variant[r][i] = (unsigned char)o->variant;
    }
}

/* The database's samples as rows "sha|count" from sqlite3, parsed and sorted by sha. */
typedef struct row {
    char sha[STRAIN_SHA256_HEX];
    size_t n;
} row;

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const row *)a)->sha, ((const row *)b)->sha);
}

static row *parse_rows(const char *text, size_t *out_n)
{
    size_t cap = 1;
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        cap += *p == '\n';
    }
    row *rows = calloc(cap, sizeof(*rows));
    assert_non_null(rows);
    const char *p = text;
    while (*p) {
        const char *bar = strchr(p, '|');
        const char *nl = strchr(p, '\n');
        if (bar == NULL || nl == NULL || bar - p != 64) {
            fail_msg("unexpected sqlite3 output near: %.80s", p);
        }
        memcpy(rows[n].sha, p, 64);
        rows[n].n = (size_t)strtoull(bar + 1, NULL, 10);
        n++;
        p = nl + 1;
    }
    qsort(rows, n, sizeof(*rows), row_cmp);
    *out_n = n;
    return rows;
}

/* Does the database equal the model exactly? */
static bool matches(const state *m, const row *rows, size_t n_rows, unsigned rounds_done, char *why,
                    size_t cap)
{
    size_t expected = 0;
    for (unsigned r = 0; r <= rounds_done; r++) {
        for (unsigned i = 0; i < MAX_OPS; i++) {
            if (!m->present[r][i]) {
                continue;
            }
            row key;
            unsigned n = r * ROUND_BASE + i;
            size_t want = n_postings(n, m->variant[r][i]);
            sha_of(key.sha, n);
            const row *got = bsearch(&key, rows, n_rows, sizeof(*rows), row_cmp);
            if (got == NULL || got->n != want) {
                snprintf(why, cap, "sample %u (variant %u): %zu postings expected, %s %zu", n,
                         m->variant[r][i], want, got ? "found" : "absent", got ? got->n : 0);
                return false;
            }
            expected++;
        }
    }
    if (n_rows != expected) {
        snprintf(why, cap, "database holds %zu samples, model %zu", n_rows, expected);
        return false;
    }
    return true;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads "k\n" lines from fd until deadline (ms) or EOF; returns the largest k or -1. */
static long read_reports(int fd, long long deadline, long last, char *buf, size_t *fill)
{
    for (;;) {
        int wait = 200;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0) {
                return last;
            }
            wait = (int)left;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            if (deadline < 0) {
                return last;
            }
            continue;
        }
        ssize_t n = read(fd, buf + *fill, 255 - *fill);
        if (n <= 0) {
            return last; /* EOF: the child is gone */
        }
        *fill += (size_t)n;
        buf[*fill] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = '\0';
            long k = strtol(buf, NULL, 10);
            if (k != last + 1) {
                fail_msg("reports out of order: %ld after %ld", k, last);
            }
            last = k;
            size_t rest = *fill - (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, rest);
            *fill = rest;
            buf[rest] = '\0';
        }
    }
}

static void test_sigkill_rounds(void **state_)
{
    (void)state_;
    static state model;
    char db[512];
    unsigned seed = (unsigned)time(NULL);
    const char *fixed = getenv("STRAIN_TEST_SEED");
    long total_ops = 0;
    if (!th_have("sqlite3")) {
        fail_msg("sqlite3 command-line tool required (scripts/deps.sh)");
    }
    if (fixed != NULL) {
        seed = (unsigned)strtoul(fixed, NULL, 10);
    }
    fprintf(stderr, "seed %u (STRAIN_TEST_SEED to replay)\n", seed);
    srand(seed);
    snprintf(db, sizeof(db), "%s/crash/strain.db", th_tmpdir());
    memset(&model, 0, sizeof(model));
    for (unsigned r = 0; r < ROUNDS; r++) {
        int fds[2];
        char buf[256];
        size_t fill = 0;
        /* Round 0 dies within milliseconds, while creating the schema or adding its first
         * samples; later rounds once the child has reported a random number of operations
         * (so the test does real volume however loaded the machine), plus a random few
         * milliseconds so the kill lands anywhere inside an operation. */
        long target = r == 0 ? 0 : rand() % 300;
        int extra_ms = r == 0 ? 2 + rand() % 10 : rand() % 40;
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(db, r, fds[1]);
        }
        close(fds[1]);
        long long start = now_ms();
        long last = -1;
        int reads = 0;
        while (last + 1 < target && now_ms() - start < ROUND_CAP_MS) {
            last = read_reports(fds[0], now_ms() + 50, last, buf, &fill);
            /* Meanwhile, read through another connection: WAL lets readers run beside the
             * writer. */
            if (last >= 0) {
                strain_ctx *ctx = NULL;
                strain_store *st = NULL;
                strain_store_stats s;
                assert_int_equal(strain_ctx_new(&ctx), 0);
                if (strain_store_open(&st, ctx, NULL, db, 0) != 0 ||
                    strain_store_stats_get(st, &s) != 0) {
                    fail_msg("reader beside the writer: %s", strain_ctx_errmsg(ctx));
                }
                reads++;
                strain_store_close(st);
                strain_ctx_free(ctx);
            }
        }
        last = read_reports(fds[0], now_ms() + extra_ms, last, buf, &fill);
        int delay = (int)(now_ms() - start);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
            fail_msg("round %u: child ended on its own (status %d) before the kill", r, status);
        }
        /* Reports written before the kill are still in the pipe. */
        last = read_reports(fds[0], -1, last, buf, &fill);
        close(fds[0]);
        total_ops += last + 1;

        char *out = NULL;
        /* Killed before it even created the database's folder or file: nothing can have
         * been committed, so nothing may have been reported. */
        if (access(db, F_OK) != 0) {
            assert_int_equal(last, -1);
            fprintf(stderr, "round %u: killed after %d ms, before the database file existed\n",
                    r, delay);
            continue;
        }
        int ic = th_run(&out, "sqlite3 '%s' 'PRAGMA integrity_check' 2>&1", db);
        if (ic != 0 || strcmp(out, "ok\n") != 0) {
            fail_msg("round %u: integrity_check: %s", r, out);
        }
        free(out);
        /* Killed before the first migration committed: it must have left nothing at all
         * (the schema is created in one transaction), and nothing was reported. */
        assert_int_equal(th_run(&out, "sqlite3 '%s' 'PRAGMA user_version' 2>&1", db), 0);
        if (strcmp(out, "0\n") == 0) {
            free(out);
            assert_int_equal(last, -1);
            assert_int_equal(
                th_run(&out, "sqlite3 '%s' 'SELECT count(*) FROM sqlite_master' 2>&1", db), 0);
            assert_string_equal(out, "0\n");
            free(out);
            fprintf(stderr,
                    "round %u: killed after %d ms, before the schema was committed; "
                    "database empty\n",
                    r, delay);
            continue;
        }
        free(out);
        assert_int_equal(
            th_run(&out,
                   "sqlite3 '%s' 'SELECT count(*) FROM postings WHERE sample_id NOT IN "
                   "(SELECT id FROM samples)' 2>&1",
                   db),
            0);
        assert_string_equal(out, "0\n");
        free(out);
        assert_int_equal(th_run(&out,
                                "sqlite3 '%s' 'SELECT s.sha256, coalesce(c.n, 0) FROM samples s "
                                "LEFT JOIN (SELECT sample_id, count(*) AS n FROM postings GROUP "
                                "BY sample_id) c ON c.sample_id = s.id' 2>&1",
                                db),
                         0);
        for (long k = 0; k <= last; k++) {
            op o = op_of(r, (unsigned)k);
            apply(&model, &o);
        }
        char why[256];
        char why2[256];
        size_t n_rows = 0;
        row *rows = parse_rows(out, &n_rows);
        if (!matches(&model, rows, n_rows, r, why, sizeof(why))) {
            /* The next operation may have committed with its report unwritten. */
            static state next;
            op o = op_of(r, (unsigned)(last + 1));
            memcpy(&next, &model, sizeof(next));
            apply(&next, &o);
            if (!matches(&next, rows, n_rows, r, why2, sizeof(why2))) {
                fail_msg("round %u (killed after %d ms, %ld ops reported): %s; or with op %ld: %s",
                         r, delay, last + 1, why, last + 1, why2);
            }
            memcpy(&model, &next, sizeof(model));
        }
        free(rows);
        free(out);
        /* The counters the engine relies on agree with the postings after every kill. */
        strain_ctx *ctx = NULL;
        strain_store *st = NULL;
        assert_int_equal(strain_ctx_new(&ctx), 0);
        if (strain_store_open(&st, ctx, NULL, db, 0) != 0 || strain_store_check(st) != 0) {
            fail_msg("round %u: store check: %s", r, strain_ctx_errmsg(ctx));
        }
        strain_store_close(st);
        strain_ctx_free(ctx);
        fprintf(stderr,
                "round %u: killed after %d ms, %ld ops committed and reported, %d reads "
                "beside the writer, database consistent\n",
                r, delay, last + 1, reads);
    }
    /* Enough work happened for the test to mean something. */
    fprintf(stderr, "%ld operations committed in all\n", total_ops);
    assert_true(total_ops > 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
