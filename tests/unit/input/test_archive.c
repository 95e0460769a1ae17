/*
 * Archives: fixtures are built here with zip, 7z, tar, gzip, bzip2 and xz; every member the
 * walk yields is checked by (path, archive_path) and against sha256sum of the original file,
 * and every refusal by its error code and a message naming the member and the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "input/input_impl.h"

static char D[512]; /* fixture directory */
static char S[600]; /* its src/ (the originals) */

static int setup(void **state)
{
    (void)state;
    snprintf(D, sizeof(D), "%s/arc", th_tmpdir());
    snprintf(S, sizeof(S), "%s/src", D);
    char *o = NULL;
    int st = th_run(
        &o,
        "set -e; mkdir -p '%s' && cd '%s' && mkdir -p src/dir/sub src/emptydir nest/dir tz && "
        "head -c 3000 /dev/urandom > src/dir/a.bin && printf 'hello\\n' > src/dir/sub/b.txt && "
        ": > src/empty.bin && head -c 5000 /dev/urandom > src/c.bin && "
        "cp src/c.bin 'src/we!rd.bin' && seq 1 20000 > src/nums.txt && "
        "head -c 100000 /dev/urandom > src/big.bin && "
        "(cd src && zip -qr ../plain.zip dir empty.bin emptydir c.bin && "
        " zip -q -P infected ../infected.zip dir/a.bin c.bin && "
        " zip -q -P s3cret ../other.zip dir/a.bin c.bin && "
        " 7z a -bd -tzip -ps3cret -mem=AES256 ../aes.zip dir/a.bin >/dev/null && "
        " 7z a -bd ../plain.7z dir empty.bin c.bin emptydir >/dev/null && "
        " 7z a -bd -ps3cret ../enc.7z c.bin >/dev/null && "
        " 7z a -bd -ps3cret -mhe=on ../ench.7z c.bin >/dev/null && "
        " tar cf ../dir.tar dir empty.bin && tar czf ../dir.tar.gz dir && "
        " tar cjf ../dir.tar.bz2 dir && tar cJf ../dir.tar.xz dir && "
        " gzip -c c.bin > ../c.bin.gz && gzip -n -c c.bin > ../nameless.gz && "
        " bzip2 -c c.bin > ../c.bin.bz2 && xz -c c.bin > ../c.bin.xz && "
        " zip -q ../inner.zip c.bin dir/a.bin && zip -q ../bang.zip 'we!rd.bin' && "
        " zip -q ../nums.zip nums.txt && zip -q -0 ../big.zip big.bin) && "
        "cp inner.zip nest/dir/ && (cd nest && zip -qr ../outer.zip dir) && "
        "cp inner.zip plain.zip tz/ && tar czf zips.tar.gz tz && "
        "mkdir many && (cd many && for i in $(seq 1 60); do : > f$i; done && "
        " zip -q ../many.zip f* && tar cf ../many.tar f* && 7z a -bd ../many.7z f* >/dev/null && "
        " 7z a -bd -mhc=off ../many_plain.7z f* >/dev/null) && zip -q nestmany.zip many.zip && "
        "cp /bin/ls ls.exe && 7z a -bd -mf=BCJ2 bcj2.7z ls.exe >/dev/null && rm ls.exe && "
        "/usr/bin/python3 -c \"import zipfile\n"
        "with zipfile.ZipFile('z64.zip', 'w') as z:\n"
        "    for i in range(66000): z.writestr('f%%d' %% i, b'')\" && "
        "seq 1 1000000 > src/text.txt && (cd src && zip -q ../text.zip text.txt && "
        " tar czf ../text.tar.gz text.txt && xz -1 -c text.txt > ../text.txt.xz && "
        " 7z a -bd -mx=1 ../text.7z text.txt >/dev/null) && "
        "zip -qj d1.zip src/c.bin && zip -q d2.zip d1.zip && zip -q d3.zip d2.zip && "
        "head -c 50000000 /dev/zero > zero.bin && zip -qj bomb.zip zero.bin src/c.bin && "
        "zip -q nestbomb.zip bomb.zip && head -c 30000 bomb.zip > cutbomb.zip && tar czf "
        "bomb.tar.gz zero.bin -C src c.bin && "
        "7z a -bd -mx=1 bomb.7z zero.bin src/c.bin >/dev/null && rm zero.bin && "
        "cp nums.zip corrupt.zip && "
        "dd if=/dev/zero of=corrupt.zip bs=1 seek=100 count=200 conv=notrunc 2>/dev/null && "
        "head -c 50000 big.zip > trunc.zip && "
        "printf 'MZ\\220\\000' > sfx.exe && head -c 1000 /dev/urandom >> sfx.exe && "
        "cat plain.zip >> sfx.exe",
        D, D);
    if (st != 0) {
        print_error("fixture build failed: %s\n", o ? o : "");
    }
    free(o);
    return st == 0 ? 0 : -1;
}

static char *fx(const char *name)
{
    static char bufs[8][700];
    static int i;
    char *b = bufs[i++ & 7];
    snprintf(b, sizeof(bufs[0]), "%s/%s", D, name);
    return b;
}

static char *orig(const char *name)
{
    static char bufs[8][700];
    static int i;
    char *b = bufs[i++ & 7];
    snprintf(b, sizeof(bufs[0]), "%s/%s", S, name);
    return b;
}

/* Walks one fixture with ctx's limits and an optional password. */
static void walk1(walk_result *r, strain_ctx *ctx, const char *name, const char *password)
{
    const char *paths[] = {fx(name)};
    strain_input_opts o = {password, false};
    walk_collect(r, ctx, paths, 1, &o);
}

static strain_ctx *new_ctx(void)
{
    strain_ctx *ctx = NULL;
    assert_int_equal(strain_ctx_new(&ctx), 0);
    return ctx;
}

static void test_zip_dirs_and_empty_members(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    walk1(&r, ctx, "plain.zip", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 4, 0); /* directories are not samples; the empty file is */
    expect_sample(&r, fx("plain.zip"), "plain.zip!dir/a.bin", orig("dir/a.bin"));
    expect_sample(&r, fx("plain.zip"), "plain.zip!dir/sub/b.txt", orig("dir/sub/b.txt"));
    expect_sample(&r, fx("plain.zip"), "plain.zip!empty.bin", orig("empty.bin"));
    expect_sample(&r, fx("plain.zip"), "plain.zip!c.bin", orig("c.bin"));
    result_free(&r);
    strain_ctx_free(ctx);
}

static void test_zip_passwords(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    /* "infected" is tried without being asked. */
    walk1(&r, ctx, "infected.zip", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 2, 0);
    expect_sample(&r, fx("infected.zip"), "infected.zip!dir/a.bin", orig("dir/a.bin"));
    expect_sample(&r, fx("infected.zip"), "infected.zip!c.bin", orig("c.bin"));
    result_free(&r);
    /* ...and still when the caller gives another one. */
    walk1(&r, ctx, "infected.zip", "s3cret");
    expect_counts(&r, 2, 0);
    result_free(&r);

    /* Wrong password: one error per member naming it and hinting --password; walk goes on. */
    walk1(&r, ctx, "other.zip", NULL);
    assert_int_equal(r.rc, 2);
    expect_counts(&r, 0, 2);
    expect_error(&r, STRAIN_EPASSWORD, "member dir/a.bin of ", "other.zip", "--password");
    expect_error(&r, STRAIN_EPASSWORD, "member c.bin of ", "other.zip", "--password");
    result_free(&r);
    walk1(&r, ctx, "other.zip", "s3cret");
    assert_int_equal(r.rc, 0);
    expect_sample(&r, fx("other.zip"), "other.zip!dir/a.bin", orig("dir/a.bin"));
    expect_sample(&r, fx("other.zip"), "other.zip!c.bin", orig("c.bin"));
    result_free(&r);

    /* WinZip AES (7z -mem=AES256). */
    walk1(&r, ctx, "aes.zip", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_EPASSWORD, "member dir/a.bin of ", "--password");
    result_free(&r);
    walk1(&r, ctx, "aes.zip", "s3cret");
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 1, 0);
    expect_sample(&r, fx("aes.zip"), "aes.zip!dir/a.bin", orig("dir/a.bin"));
    result_free(&r);
    strain_ctx_free(ctx);
}

static void test_7z(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    walk1(&r, ctx, "plain.7z", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 4, 0);
    expect_sample(&r, fx("plain.7z"), "plain.7z!dir/a.bin", orig("dir/a.bin"));
    expect_sample(&r, fx("plain.7z"), "plain.7z!dir/sub/b.txt", orig("dir/sub/b.txt"));
    expect_sample(&r, fx("plain.7z"), "plain.7z!empty.bin", orig("empty.bin"));
    expect_sample(&r, fx("plain.7z"), "plain.7z!c.bin", orig("c.bin"));
    result_free(&r);
    /* libarchive cannot decrypt 7z AES: said plainly, not as a corrupt archive. */
    walk1(&r, ctx, "enc.7z", "s3cret");
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_EPASSWORD, "member c.bin of ", "enc.7z", "cannot decrypt");
    result_free(&r);
    walk1(&r, ctx, "ench.7z", "s3cret");
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_EPASSWORD, "ench.7z", "encrypted headers", "cannot decrypt");
    result_free(&r);
    strain_ctx_free(ctx);
}

static void test_tar_and_compressed(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    walk1(&r, ctx, "dir.tar", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 3, 0);
    expect_sample(&r, fx("dir.tar"), "dir.tar!dir/a.bin", orig("dir/a.bin"));
    expect_sample(&r, fx("dir.tar"), "dir.tar!dir/sub/b.txt", orig("dir/sub/b.txt"));
    expect_sample(&r, fx("dir.tar"), "dir.tar!empty.bin", orig("empty.bin"));
    result_free(&r);
    const char *tars[] = {"dir.tar.gz", "dir.tar.bz2", "dir.tar.xz"};
    for (size_t i = 0; i < 3; i++) {
        char ap[128];
        walk1(&r, ctx, tars[i], NULL);
        assert_int_equal(r.rc, 0);
        expect_counts(&r, 2, 0);
        snprintf(ap, sizeof(ap), "%s!dir/a.bin", tars[i]);
        expect_sample(&r, fx(tars[i]), ap, orig("dir/a.bin"));
        snprintf(ap, sizeof(ap), "%s!dir/sub/b.txt", tars[i]);
        expect_sample(&r, fx(tars[i]), ap, orig("dir/sub/b.txt"));
        result_free(&r);
    }
    /* A compressed single file yields its decompressed content as one member. */
    const char *singles[][2] = {{"c.bin.gz", "c.bin.gz!c.bin"},
                                {"nameless.gz", "nameless.gz!nameless"},
                                {"c.bin.bz2", "c.bin.bz2!c.bin"},
                                {"c.bin.xz", "c.bin.xz!c.bin"}};
    for (size_t i = 0; i < 4; i++) {
        walk1(&r, ctx, singles[i][0], NULL);
        assert_int_equal(r.rc, 0);
        expect_counts(&r, 1, 0);
        expect_sample(&r, fx(singles[i][0]), singles[i][1], orig("c.bin"));
        result_free(&r);
    }
    strain_ctx_free(ctx);
}

static void test_nested(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    walk1(&r, ctx, "outer.zip", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 2, 0);
    expect_sample(&r, fx("outer.zip"), "outer.zip!dir/inner.zip!c.bin", orig("c.bin"));
    expect_sample(&r, fx("outer.zip"), "outer.zip!dir/inner.zip!dir/a.bin", orig("dir/a.bin"));
    result_free(&r);

    walk1(&r, ctx, "zips.tar.gz", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 6, 0);
    expect_sample(&r, fx("zips.tar.gz"), "zips.tar.gz!tz/inner.zip!c.bin", orig("c.bin"));
    expect_sample(&r, fx("zips.tar.gz"), "zips.tar.gz!tz/plain.zip!dir/sub/b.txt",
                  orig("dir/sub/b.txt"));
    expect_sample(&r, fx("zips.tar.gz"), "zips.tar.gz!tz/plain.zip!empty.bin", orig("empty.bin"));
    result_free(&r);

    /* The same bytes through the in-memory entry point give the same identities. */
    size_t len = 0;
    uint8_t *bytes = th_read_file(fx("outer.zip"), &len);
    assert_non_null(bytes);
    memset(&r, 0, sizeof(r));
    r.rc = strain_input__walk_memory(ctx, bytes, len, "outer.zip", NULL, collect_cb, &r);
    free(bytes);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 2, 0);
    expect_sample(&r, "outer.zip", "outer.zip!dir/inner.zip!c.bin", orig("c.bin"));
    result_free(&r);
    strain_ctx_free(ctx);
}

static void test_depth_limit(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    walk1(&r, ctx, "d3.zip", NULL); /* 3 levels: within the default (4) */
    assert_int_equal(r.rc, 0);
    expect_sample(&r, fx("d3.zip"), "d3.zip!d2.zip!d1.zip!c.bin", orig("c.bin"));
    result_free(&r);
    strain_ctx_limits(ctx)->max_depth = 2;
    walk1(&r, ctx, "d3.zip", NULL);
    assert_int_equal(r.rc, 1);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "member d1.zip of ", "d3.zip!d2.zip",
                 "nested deeper than the depth limit (2 levels)");
    result_free(&r);
    strain_ctx_free(ctx);
}

static void test_member_and_size_limits(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    /* plain.zip has 7 entries (3 directories); the limit counts every entry. */
    strain_ctx_limits(ctx)->max_members = 3;
    walk1(&r, ctx, "plain.zip", NULL);
    assert_int_equal(r.rc, 1);
    assert_true(r.n_samples <= 3);
    expect_error(&r, STRAIN_ELIMIT, "plain.zip", "member limit (3)");
    result_free(&r);
    /* The limit covers nested members too. */
    strain_ctx_limits(ctx)->max_members = 5;
    walk1(&r, ctx, "zips.tar.gz", NULL);
    expect_error(&r, STRAIN_ELIMIT, "member limit (5)");
    assert_true(r.n_samples < 6);
    result_free(&r);

    /* A zip whose central directory lists more members than allowed is refused before
     * libarchive loads that directory (which costs memory per entry), nested or not... */
    strain_ctx_limits(ctx)->max_members = 50;
    walk1(&r, ctx, "many.zip", NULL);
    assert_int_equal(r.rc, 1);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "many.zip: central directory lists 60 members",
                 "member limit (50)");
    result_free(&r);
    walk1(&r, ctx, "nestmany.zip", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "nestmany.zip!many.zip: central directory lists 60 members",
                 "member limit (50)");
    result_free(&r);
    /* More than 65535 entries: the count is in the zip64 record (the classic one says
     * 0xFFFF); Python's zipfile wrote it. */
    strain_ctx_limits(ctx)->max_members = 1000;
    walk1(&r, ctx, "z64.zip", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "z64.zip: central directory lists 66000 members",
                 "member limit (1000)");
    result_free(&r);
    strain_ctx_limits(ctx)->max_members = 50;
    /* ...and formats without a directory are counted header by header. */
    walk1(&r, ctx, "many.tar", NULL);
    assert_int_equal(r.rc, 1);
    expect_counts(&r, 50, 1);
    expect_error(&r, STRAIN_ELIMIT, "many.tar: more members than the member limit (50)");
    result_free(&r);
    strain_ctx_limits(ctx)->max_members = 60;
    walk1(&r, ctx, "many.zip", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 60, 0);
    result_free(&r);

    /* Total unpacked bytes of one argument. */
    strain_ctx_free(ctx);
    ctx = new_ctx();
    strain_ctx_limits(ctx)->max_total_unpacked = 4000;
    walk1(&r, ctx, "plain.zip", NULL);
    expect_error(&r, STRAIN_ELIMIT, "member c.bin of ", "total unpacked limit (4000 bytes)");
    expect_sample(&r, fx("plain.zip"), "plain.zip!dir/a.bin", orig("dir/a.bin"));
    result_free(&r);

    /* One member too large: refused, the next members are still read (zip seeks). */
    strain_ctx_free(ctx);
    ctx = new_ctx();
    strain_ctx_limits(ctx)->max_file_size = 4000;
    walk1(&r, ctx, "plain.zip", NULL);
    assert_int_equal(r.rc, 1);
    expect_counts(&r, 3, 1);
    expect_error(&r, STRAIN_ELIMIT, "member c.bin of ", "plain.zip",
                 "file size limit (4000 bytes)");
    expect_sample(&r, fx("plain.zip"), "plain.zip!dir/a.bin", orig("dir/a.bin"));
    result_free(&r);
    strain_ctx_free(ctx);
}

/* Writes a 7z of a signature header and the plain header hdr right after it, claiming a
 * header of claimed bytes (libarchive checks neither CRC before it allocates). */
static void write_7z(const char *name, const uint8_t *hdr, size_t len, uint64_t claimed)
{
    uint8_t b[256] = {'7', 'z', 0xBC, 0xAF, 0x27, 0x1C, 0, 4};
    assert_true(len <= sizeof(b) - 32);
    for (unsigned i = 0; i < 8; i++) {
        b[20 + i] = (uint8_t)(claimed >> (8 * i)); /* next header size; its offset is 0 */
    }
    memcpy(b + 32, hdr, len);
    assert_int_equal(th_write_file(fx(name), b, 32 + len), 0);
}

/*
 * 7z headers are checked before libarchive reads them: it allocates from declared counts and
 * sizes first (12 GB from a 162-byte file the fuzzer found), so a count the header bytes
 * cannot hold or one past the member limit refuses the archive, whether the header is plain
 * or compressed (decoded first, through libarchive).
 */
static void test_7z_header_checks(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    /* many.7z and many_plain.7z hold 60 files: compressed and plain headers. */
    strain_ctx_limits(ctx)->max_members = 59;
    walk1(&r, ctx, "many.7z", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "many.7z: 7z archive not read: header lists 60 files",
                 "member limit (59)");
    result_free(&r);
    walk1(&r, ctx, "many_plain.7z", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "many_plain.7z: 7z archive not read: header lists 60 files");
    result_free(&r);
    strain_ctx_limits(ctx)->max_members = 60;
    walk1(&r, ctx, "many.7z", NULL);
    expect_counts(&r, 60, 0);
    result_free(&r);
    walk1(&r, ctx, "many_plain.7z", NULL);
    expect_counts(&r, 60, 0);
    result_free(&r);

    /* BCJ2 side streams are held whole by libarchive: bounded by the file size limit. */
    strain_ctx_free(ctx);
    ctx = new_ctx();
    walk1(&r, ctx, "bcj2.7z", NULL);
    expect_counts(&r, 1, 0);
    result_free(&r);
    strain_ctx_limits(ctx)->max_file_size = 1000;
    walk1(&r, ctx, "bcj2.7z", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "bcj2.7z: 7z archive not read: BCJ2 folder declares",
                 "size and ratio limits allow (1000)");
    result_free(&r);
    strain_ctx_free(ctx);
    ctx = new_ctx();

    /* Crafted: 10^8 files (libarchive: calloc of 12 GB, then a loop touching it). */
    static const uint8_t files[] = {0x01, 0x05, 0xF0, 0x00, 0xE1, 0xF5, 0x05, 0x00, 0x00};
    write_7z("files.7z", files, sizeof(files), sizeof(files));
    walk1(&r, ctx, "files.7z", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "header lists 100000000 files", "member limit (100000)");
    result_free(&r);
    /* 10^8 folders in a few bytes. */
    static const uint8_t folders[] = {0x01, 0x04, 0x07, 0x0B, 0xF0, 0x00, 0xE1, 0xF5, 0x05, 0x00};
    write_7z("folders.7z", folders, sizeof(folders), sizeof(folders));
    walk1(&r, ctx, "folders.7z", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_EMALFORMED, "header declares 100000000 folders in 1 bytes");
    result_free(&r);
    /* The fuzzer's find: a 12 GB name table stated in a 162-byte file whose signature header
     * claims a huge header. */
    static const uint8_t name[] = {0x01, 0x05, 0x01, 0x11, 0xF2, 0xFF,
                                   0x9E, 0xFF, 0xD1, 0x00, 0x00};
    write_7z("name.7z", name, sizeof(name), 0x39000000E2000062ull);
    walk1(&r, ctx, "name.7z", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_EMALFORMED, "file property 0x11 of", "in 2 header bytes");
    result_free(&r);
    /* The fuzzer's second find: an LZMA coder asking for a 4 GiB dictionary, which liblzma
     * allocates before it reads a byte of data. */
    static const uint8_t dict[] = {0x01, 0x04, 0x06, 0x00, 0x01, 0x09, 0x01, 0x00, 0x07, 0x0B,
                                   0x01, 0x00, 0x01, 0x23, 0x03, 0x01, 0x01, 0x05, 0x5D, 0xFF,
                                   0xFF, 0xFF, 0xFF, 0x0C, 0x01, 0x00, 0x00, 0x00};
    write_7z("dict.7z", dict, sizeof(dict), sizeof(dict));
    walk1(&r, ctx, "dict.7z", NULL);
    expect_counts(&r, 0, 1);
    expect_error(&r, STRAIN_ELIMIT, "LZMA coder asks for 4294967295 bytes of decoder memory",
                 "more than the limit (536870912) allows");
    result_free(&r);
    strain_ctx_free(ctx);
}

/* Bytes after which the walk stopped a bomb, from "stopped after N bytes". */
static unsigned long long stopped_after(const got *g)
{
    const char *p = strstr(g->msg, "stopped after ");
    assert_non_null(p);
    return strtoull(p + strlen("stopped after "), NULL, 10);
}

static void test_bombs(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    /* 50 MB of zeros deflate to ~49 KB (~1000x): refused while streaming, long before
     * 50 MB are inflated; the other member is still read. */
    walk1(&r, ctx, "bomb.zip", NULL);
    assert_int_equal(r.rc, 1);
    expect_counts(&r, 1, 1);
    const got *g = find_error(&r, STRAIN_ELIMIT, "member zero.bin of ", "bomb.zip",
                              "unpacked size exceeds 200x its compressed size (zip bomb?)");
    assert_non_null(g);
    assert_true(stopped_after(g) < (4u << 20));
    expect_sample(&r, fx("bomb.zip"), "bomb.zip!c.bin", orig("c.bin"));
    result_free(&r);

    walk1(&r, ctx, "nestbomb.zip", NULL);
    expect_counts(&r, 1, 1);
    g = find_error(&r, STRAIN_ELIMIT, "member zero.bin of ", "nestbomb.zip!bomb.zip",
                   "exceeds 200x");
    assert_non_null(g);
    assert_true(stopped_after(g) < (4u << 20));
    expect_sample(&r, fx("nestbomb.zip"), "nestbomb.zip!bomb.zip!c.bin", orig("c.bin"));
    result_free(&r);

    /* Without its central directory a zip member's end may only be found by inflating it:
     * the rest of that zip is given up rather than skipped. */
    walk1(&r, ctx, "cutbomb.zip", NULL);
    expect_counts(&r, 0, 2);
    g = find_error(&r, STRAIN_ELIMIT, "member zero.bin of ", "cutbomb.zip", "exceeds 200x");
    assert_non_null(g);
    assert_true(stopped_after(g) < (4u << 20));
    expect_error(&r, STRAIN_ELIMIT, "cutbomb.zip", "remaining members not read");
    result_free(&r);

    /* In a gzip stream or a 7z archive the rest cannot be skipped without inflating it. */
    walk1(&r, ctx, "bomb.tar.gz", NULL);
    g = find_error(&r, STRAIN_ELIMIT, "member zero.bin of ", "bomb.tar.gz", "exceeds 200x");
    assert_non_null(g);
    assert_true(stopped_after(g) < (4u << 20));
    expect_error(&r, STRAIN_ELIMIT, "bomb.tar.gz", "remaining members not read");
    result_free(&r);
    walk1(&r, ctx, "bomb.7z", NULL);
    g = find_error(&r, STRAIN_ELIMIT, "member zero.bin of ", "bomb.7z", "exceeds 200x");
    assert_non_null(g);
    assert_true(stopped_after(g) < (4u << 20));
    result_free(&r);

    /* A ratio the caller raises lets the same member through, whole and correct. */
    strain_ctx_limits(ctx)->max_ratio = 100000;
    walk1(&r, ctx, "bomb.zip", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 2, 0);
    g = find_sample(&r, fx("bomb.zip"), "bomb.zip!zero.bin");
    assert_non_null(g);
    assert_int_equal(g->size, 50000000);
    char *o = NULL;
    assert_int_equal(th_run(&o, "head -c 50000000 /dev/zero | sha256sum"), 0);
    assert_memory_equal(g->sha, o, 64);
    free(o);
    result_free(&r);
    strain_ctx_free(ctx);
}

/* Real data that compresses well (6.9 MB of text, 4x to 42x) is never taken for a bomb:
 * the compressed position the ratio uses really moves with the decoders. */
static void test_compressible_not_bomb(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    const char *names[][2] = {{"text.zip", "text.zip!text.txt"},
                              {"text.tar.gz", "text.tar.gz!text.txt"},
                              {"text.txt.xz", "text.txt.xz!text.txt"},
                              {"text.7z", "text.7z!text.txt"}};
    for (size_t i = 0; i < 4; i++) {
        walk1(&r, ctx, names[i][0], NULL);
        assert_int_equal(r.rc, 0);
        expect_counts(&r, 1, 0);
        expect_sample(&r, fx(names[i][0]), names[i][1], orig("text.txt"));
        result_free(&r);
    }
    strain_ctx_free(ctx);
}

static void test_corrupt_and_sfx(void **state)
{
    (void)state;
    strain_ctx *ctx = new_ctx();
    walk_result r = {0};
    walk1(&r, ctx, "corrupt.zip", NULL);
    assert_true(r.rc >= 1);
    expect_counts(&r, 0, r.rc);
    expect_error(&r, STRAIN_EMALFORMED, "corrupt.zip");
    result_free(&r);
    walk1(&r, ctx, "trunc.zip", NULL);
    assert_true(r.rc >= 1);
    assert_int_equal(r.n_samples, 0);
    expect_error(&r, STRAIN_EMALFORMED, "trunc.zip");
    result_free(&r);

    /* A PE with a zip appended is a sample, not an archive. */
    walk1(&r, ctx, "sfx.exe", NULL);
    assert_int_equal(r.rc, 0);
    expect_counts(&r, 1, 0);
    expect_sample(&r, fx("sfx.exe"), NULL, fx("sfx.exe"));
    result_free(&r);

    /* no_archives: the archive itself is the sample. */
    const char *paths[] = {fx("outer.zip")};
    strain_input_opts o = {NULL, true};
    walk_collect(&r, ctx, paths, 1, &o);
    expect_counts(&r, 1, 0);
    expect_sample(&r, fx("outer.zip"), NULL, fx("outer.zip"));
    result_free(&r);

    /* '!' in a member name cannot be mistaken for a level. */
    walk1(&r, ctx, "bang.zip", NULL);
    expect_counts(&r, 1, 0);
    expect_sample(&r, fx("bang.zip"), "bang.zip!we%21rd.bin", orig("c.bin"));
    result_free(&r);
    strain_ctx_free(ctx);
}

/* Magic at its real offset only; a prefix of magic or magic elsewhere is not an archive. */
static void test_sniff(void **state)
{
    (void)state;
    uint8_t b[600];
    memset(b, 0, sizeof(b));
    assert_int_equal(strain_input__sniff((const uint8_t *)"PK\3\4", 4), STRAIN_INPUT_ZIP);
    assert_int_equal(strain_input__sniff((const uint8_t *)"PK\5\6", 4), STRAIN_INPUT_ZIP);
    assert_int_equal(strain_input__sniff((const uint8_t *)"PK\3", 3), STRAIN_INPUT_PLAIN);
    assert_int_equal(strain_input__sniff((const uint8_t *)"7z\xBC\xAF\x27\x1C", 6),
                     STRAIN_INPUT_7Z);
    assert_int_equal(strain_input__sniff((const uint8_t *)"\x1F\x8B\x08", 3), STRAIN_INPUT_GZIP);
    assert_int_equal(strain_input__sniff((const uint8_t *)"\x1F\x8B\x07", 3), STRAIN_INPUT_PLAIN);
    assert_int_equal(strain_input__sniff((const uint8_t *)"BZh9", 4), STRAIN_INPUT_BZIP2);
    assert_int_equal(strain_input__sniff((const uint8_t *)"BZh0", 4), STRAIN_INPUT_PLAIN);
    assert_int_equal(strain_input__sniff((const uint8_t *)"BZh", 3), STRAIN_INPUT_PLAIN);
    assert_int_equal(strain_input__sniff((const uint8_t *)"\xFD"
                                                          "7zXZ",
                                         6),
                     STRAIN_INPUT_XZ);
    memcpy(b + 257, "ustar", 5);
    assert_int_equal(strain_input__sniff(b, sizeof(b)), STRAIN_INPUT_TAR);
    assert_int_equal(strain_input__sniff(b, 261), STRAIN_INPUT_PLAIN); /* cut inside magic */
    memcpy(b, "MZ", 2);
    memcpy(b + 64, "PK\3\4", 4);
    memset(b + 257, 0, 5);
    assert_int_equal(strain_input__sniff(b, sizeof(b)), STRAIN_INPUT_PLAIN);
    assert_int_equal(strain_input__sniff(NULL, 0), STRAIN_INPUT_PLAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zip_dirs_and_empty_members),
        cmocka_unit_test(test_zip_passwords),
        cmocka_unit_test(test_7z),
        cmocka_unit_test(test_7z_header_checks),
        cmocka_unit_test(test_tar_and_compressed),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_member_and_size_limits),
        cmocka_unit_test(test_bombs),
        cmocka_unit_test(test_compressible_not_bomb),
        cmocka_unit_test(test_corrupt_and_sfx),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
