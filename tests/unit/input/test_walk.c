/*
 * Files, directories and stdin: sorted recursion, the symlink rules (inside: read once;
 * leaving the tree, loops, cycles, dangling: reported and skipped), unreadable inputs
 * reported with the path and reason while the walk goes on, and stdin as a file or an
 * archive, seekable or a pipe. Hashes are checked against sha256sum.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect.h"

static char W[512];

static int setup(void **state)
{
    (void)state;
    snprintf(W, sizeof(W), "%s/walk", th_tmpdir());
    char *o = NULL;
    int st = th_run(
        &o,
        "set -e; mkdir -p '%s' && cd '%s' && mkdir -p t/a t/b/deep src && "
        "head -c 2000 /dev/urandom > t/a/x.bin && printf 'y\\n' > t/a/y.txt && "
        "head -c 1500 /dev/urandom > t/b/deep/f.bin && head -c 1200 /dev/urandom > t/c.bin && "
        ": > t/empty && head -c 700 /dev/urandom > outside.bin && "
        "head -c 900 /dev/urandom > src/m.bin && (cd src && zip -q ../t/z.zip m.bin) && "
        "ln -s .. t/a/up && ln -s a/x.bin t/link_in && ln -s a t/linkdir && "
        "ln -s ../outside.bin t/out && ln -s nowhere t/dangling && "
        "ln -s cyc2 t/cyc1 && ln -s cyc1 t/cyc2 && mkfifo t/fifo && "
        "head -c 800 /dev/urandom > denied.bin && chmod 000 denied.bin",
        W, W);
    if (st != 0) {
        print_error("fixture build failed: %s\n", o ? o : "");
    }
    free(o);
    return st == 0 ? 0 : -1;
}

static char *wp(const char *name)
{
    static char bufs[16][700];
    static int i;
    char *b = bufs[i++ & 15];
    snprintf(b, sizeof(bufs[0]), "%s/%s", W, name);
    return b;
}

static strain_ctx *new_ctx(void)
{
    strain_ctx *ctx = NULL;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    return ctx;
}

static void test_tree_order_and_links(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    char root[700];
    snprintf(root, sizeof(root), "%s", wp("t")); /* wp()'s buffers are reused */
    const char *paths[] = {root};
    walk_collect(&r, ctx, paths, 1, NULL);

    /* Exactly these samples, in this order (names sorted at every level); link_in and
     * linkdir lead to files already read and add nothing. */
    const char *want[][2] = {{"t/a/x.bin", NULL}, {"t/a/y.txt", NULL}, {"t/b/deep/f.bin", NULL},
                             {"t/c.bin", NULL},   {"t/empty", NULL},   {"t/z.zip", "z.zip!m.bin"}};
    const char *orig[] = {"t/a/x.bin", "t/a/y.txt", "t/b/deep/f.bin",
                          "t/c.bin",   "t/empty",   "src/m.bin"};
    expect_counts(&r, 6, 6);
    size_t k = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.items[i].err != 0) {
            continue;
        }
        assert_string_equal(r.items[i].path, wp(want[k][0]));
        expect_sample(&r, wp(want[k][0]), want[k][1], wp(orig[k]));
        k++;
    }
    assert_int_equal(r.rc, 6);
    expect_error(&r, STRAIN_EINVAL, "t/a/up", "directory loop");
    expect_error(&r, STRAIN_EINVAL, "t/out", "symlink leaves the tree");
    expect_error(&r, STRAIN_EIO, "t/dangling", "No such file or directory");
    expect_error(&r, STRAIN_EIO, "t/cyc1", "Too many levels of symbolic links");
    expect_error(&r, STRAIN_EIO, "t/cyc2", "Too many levels of symbolic links");
    expect_error(&r, STRAIN_EINVAL, "t/fifo", "not a regular file");

    /* Deterministic: a second walk yields the same sequence. */
    walk_result r2 = {0};
    walk_collect(&r2, ctx, paths, 1, NULL);
    assert_int_equal(r2.n, r.n);
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r2.items[i].err, r.items[i].err);
        if (r.items[i].err == 0) {
            assert_string_equal(r2.items[i].path, r.items[i].path);
            assert_string_equal(r2.items[i].sha, r.items[i].sha);
        } else {
            assert_string_equal(r2.items[i].msg, r.items[i].msg);
        }
    }
    result_free(&r2);
    result_free(&r);
    strain_ctx_free(ctx);
}

static void test_dir_depth_limit(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    strain_ctx_limits(ctx)->max_dir_depth = 0; /* t/b's own files only */
    walk_result r = {0};
    const char *paths[] = {wp("t/b")};
    walk_collect(&r, ctx, paths, 1, NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "t/b/deep", "directory depth limit (0)");
    result_free(&r);
    strain_ctx_free(ctx);
}

static void test_unreadable_inputs(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    char p0[700], p1[700], p2[700];
    snprintf(p0, sizeof(p0), "%s", wp("missing.bin"));
    snprintf(p1, sizeof(p1), "%s", wp("t/c.bin"));
    snprintf(p2, sizeof(p2), "%s", wp("denied.bin"));
    const char *paths[] = {p0, p1, p2};
    walk_collect(&r, ctx, paths, 3, NULL);
    expect_error(&r, STRAIN_EIO, wp("missing.bin"), "No such file or directory");
    expect_sample(&r, wp("t/c.bin"), NULL, wp("t/c.bin"));
    if (geteuid() == 0) {
        /* root reads mode-000 files: the denial cannot be provoked here. */
        expect_counts(&r, 2, 1);
        assert_int_equal(r.rc, 1);
    } else {
        expect_counts(&r, 1, 2);
        expect_error(&r, STRAIN_EIO, wp("denied.bin"), "Permission denied");
        assert_int_equal(r.rc, 2);
    }
    result_free(&r);

    /* A callback that returns < 0 stops the walk with that value. */
    r.stop_at = 1;
    walk_collect(&r, ctx, paths, 3, NULL);
    assert_int_equal(r.rc, -42);
    assert_int_equal(r.n, 1);
    result_free(&r);

    assert_int_equal(strain_input_walk(ctx, paths, 1, NULL, NULL, NULL), STRAIN_EINVAL);
    strain_ctx_free(ctx);
}

/* Walks "-" with fd 0 replaced by the file (seekable) or by a pipe a child writes it to. */
static void walk_stdin(walk_result *r, strain_ctx *ctx, const char *file, bool pipe_it)
{
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    pid_t child = -1;
    if (!pipe_it) {
        int fd = open(file, O_RDONLY);
        assert_true(fd >= 0);
        assert_true(dup2(fd, STDIN_FILENO) >= 0);
        close(fd);
    } else {
        int p[2];
        assert_int_equal(pipe(p), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            close(p[0]);
            size_t len = 0;
            uint8_t *b = th_read_file(file, &len);
            size_t off = 0;
            while (b != NULL && off < len) {
                ssize_t n = write(p[1], b + off, len - off);
                if (n <= 0) {
                    _exit(1);
                }
                off += (size_t)n;
            }
            _exit(b != NULL ? 0 : 1);
        }
        close(p[1]);
        assert_true(dup2(p[0], STDIN_FILENO) >= 0);
        close(p[0]);
    }
    const char *paths[] = {"-"};
    walk_collect(r, ctx, paths, 1, NULL);
    assert_true(dup2(saved, STDIN_FILENO) >= 0);
    close(saved);
    if (child > 0) {
        int st = 0;
        assert_int_equal(waitpid(child, &st, 0), child);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
}

static void test_stdin(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    walk_stdin(&r, ctx, wp("t/c.bin"), false);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 1, 0);
    expect_sample(&r, "-", NULL, wp("t/c.bin"));
    result_free(&r);

    /* stdin may itself be an archive, also through a pipe (not seekable). */
    for (int piped = 0; piped < 2; piped++) {
        walk_stdin(&r, ctx, wp("t/z.zip"), piped != 0);
        assert_int_equal(r.rc, 0);
        expect_counts(&r, 1, 0);
        expect_sample(&r, "-", "-!m.bin", wp("src/m.bin"));
        result_free(&r);
    }
    strain_ctx_free(ctx);
}

/* The shared corpus: the walk's sha256 of every file (on disk, and packed in the usual
 * password-protected zip and in a tar.xz) is the manifest's. */
static void test_corpus(void **state)
{
    (void)state;
    const th_corpus_file *c = NULL;
    size_t n = th_corpus(&c);
    if (n == 0) {
        skip();
    }
    const char *dir = getenv("STRAIN_CORPUS_DIR");
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    const char *paths[] = {dir};
    walk_collect(&r, ctx, paths, 1, NULL);
    assert_int_equal(r.rc, 0);
    for (size_t i = 0; i < n; i++) {
        const got *g = find_sample(&r, c[i].path, NULL);
        if (g == NULL) {
            fail_msg("corpus file %s not yielded", c[i].path);
        }
        assert_string_equal(g->sha, c[i].sha256);
    }
    result_free(&r);

    /* Pack a dozen small ones, spread over the manifest, as analysts exchange them
     * (small: packing is the reference tools' time, not ours). */
    sh(W, "rm -rf cz && mkdir cz");
    size_t k = 0;
    for (size_t i = 0; i < n && k < 12; i += 3) {
        size_t len = 0;
        uint8_t *b = th_read_file(c[i].path, &len);
        assert_non_null(b);
        if (len > (512u << 10)) {
            free(b);
            continue;
        }
        k++;
        char dst[800];
        snprintf(dst, sizeof(dst), "%s/cz/%s", W, c[i].sha256);
        assert_int_equal(th_write_file(dst, b, len), 0);
        free(b);
    }
    sh(W, "cd cz && zip -q -P infected ../corpus.zip * && tar cJf ../corpus.tar.xz *");
    const char *packs[] = {"corpus.zip", "corpus.tar.xz"};
    for (size_t p = 0; p < 2; p++) {
        char pack[700];
        snprintf(pack, sizeof(pack), "%s", wp(packs[p]));
        const char *pp[] = {pack};
        walk_collect(&r, ctx, pp, 1, NULL);
        assert_int_equal(r.rc, 0);
        expect_counts(&r, k, 0);
        for (size_t i = 0; i < r.n; i++) {
            /* Members are named by the manifest sha256 they must hash to. */
            const char *bang = strrchr(r.items[i].ap, '!');
            assert_non_null(bang);
            assert_string_equal(bang + 1, r.items[i].sha);
        }
        result_free(&r);
    }
    strain_ctx_free(ctx);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_order_and_links),
        cmocka_unit_test(test_dir_depth_limit),
        cmocka_unit_test(test_unreadable_inputs),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
