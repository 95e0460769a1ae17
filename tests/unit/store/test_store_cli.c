/*
 * What is specific to the SQLite backend and the CLI over it.
 *
 * `strain db` end to end: databases are filled through store.h, then the built CLI
 * ($STRAIN_BIN) is run and its text, JSON (parsed with jansson) and exit statuses checked;
 * changes it makes are read back with the sqlite3 command-line tool. Also where the database
 * is found: --db over $STRAIN_DB over $XDG_DATA_HOME over $HOME.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <strain/store.h>

#include "helpers.h"

static const char *bin(void)
{
    const char *b = getenv("STRAIN_BIN");
    if (b == NULL) {
        fail_msg("STRAIN_BIN not set (run through ctest)");
    }
    return b;
}

static void sha_of(char out[STRAIN_SHA256_HEX], unsigned n)
{
    snprintf(out, STRAIN_SHA256_HEX, "%064x", n * 0x10001u + 0xabcu);
}

/* A database at path holding n samples: family "fam<i%2>", actor "act", sample 0 clean. */
static void make_db(const char *path, unsigned n)
{
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    strain_store_posting p[5];
    assert_int_equal(strain_ctx_new(&ctx), 0);
    if (strain_store_open(&st, ctx, NULL, path, STRAIN_STORE_CREATE) != 0) {
        fail_msg("%s", strain_ctx_errmsg(ctx));
    }
    for (unsigned i = 0; i < n; i++) {
        strain_store_sample s;
        int64_t id = 0;
        char fam[16];
        const char *tags[] = {"t1"};
        memset(&s, 0, sizeof(s));
        sha_of(s.sha256, i);
        snprintf(fam, sizeof(fam), "fam%u", i % 2);
        s.file_name = "x.exe";
        s.size = 1000 + i;
        s.label.family = fam;
        s.label.actor = "act";
        s.label.clean = i == 0;
        s.label.tags = tags;
        s.label.n_tags = i == 1;
        assert_int_equal(strain_store_put_sample(st, &id, &s), 0);
        for (unsigned k = 0; k < 5; k++) {
            p[k].kind = 1;
            p[k].hash = i * 100 + k;
            p[k].payload = k;
        }
        strain_store_features f = {
            .genome_version = 3, .genome = "g", .genome_len = 1, .postings = p, .n_postings = 5};
        assert_int_equal(strain_store_put_features(st, id, &f), 0);
    }
    strain_store_close(st);
    strain_ctx_free(ctx);
}

static json_t *run_json(int want_rc, const char *fmt_args, const char *db)
{
    char *out = NULL;
    json_error_t e;
    int rc = th_run(&out, "'%s' db --db '%s' --json %s", bin(), db, fmt_args);
    assert_int_equal(rc, want_rc);
    json_t *j = json_loads(out, 0, &e);
    if (j == NULL) {
        fail_msg("not JSON (%s): %s", e.text, out);
    }
    free(out);
    return j;
}

static void sql_expect(const char *db, const char *sql, const char *want)
{
    char *out = NULL;
    assert_int_equal(th_run(&out, "sqlite3 '%s' \"%s\"", db, sql), 0);
    assert_string_equal(out, want);
    free(out);
}

static void test_stats_list_show(void **state)
{
    (void)state;
    char db[512];
    char sha[STRAIN_SHA256_HEX];
    char args[256];
    char *out = NULL;
    snprintf(db, sizeof(db), "%s/cli/a.db", th_tmpdir());
    make_db(db, 5);

    json_t *j = run_json(0, "stats", db);
    assert_int_equal(json_integer_value(json_object_get(j, "samples")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "families")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "actors")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "clean")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "postings")), 25);
    assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 5);
    struct stat sb;
    assert_int_equal(stat(db, &sb), 0);
    assert_true(json_integer_value(json_object_get(j, "bytes_on_disk")) >= sb.st_size);
    assert_string_equal(json_string_value(json_object_get(j, "db")), db);
    json_decref(j);
    assert_int_equal(th_run(&out, "'%s' db stats --db '%s'", bin(), db), 0);
    assert_non_null(strstr(out, "samples           5\n"));
    assert_non_null(strstr(out, "schema 5"));
    free(out);

    j = run_json(0, "list --family fam0", db);
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    j = run_json(0, "list --clean", db);
    assert_int_equal(json_array_size(j), 1);
    sha_of(sha, 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "sha256")), sha);
    json_decref(j);
    j = run_json(0, "list --no-clean --actor act --family fam1", db);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    j = run_json(0, "list --tag t1", db);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    j = run_json(0, "list --actor nobody", db);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' list --limit 2", bin(), db), 0);
    assert_int_equal(strlen(out) > 0 && strchr(strchr(out, '\n') + 1, '\n') != NULL, 1);
    assert_null(strchr(strchr(strchr(out, '\n') + 1, '\n') + 1, '\n'));
    free(out);

    sha_of(sha, 1);
    snprintf(args, sizeof(args), "show %s", sha);
    j = run_json(0, args, db);
    assert_string_equal(json_string_value(json_object_get(j, "family")), "fam1");
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 1001);
    assert_int_equal(json_integer_value(json_object_get(j, "postings")), 5);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "genome"), "version")),
                     3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "tags"), 0)), "t1");
    json_decref(j);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' show %s", bin(), db, sha), 0);
    assert_non_null(strstr(out, "family      fam1\n"));
    free(out);
}

#define DUMP_SQL                                                                                   \
    "sqlite3 '%s' 'SELECT * FROM samples ORDER BY id; SELECT * FROM postings; SELECT * FROM "      \
    "feature_df; SELECT * FROM feature_families; SELECT sample_id, hex(keys) FROM sample_keys'"

/* `strain db compact`: free pages left by removals are gone (sqlite3's freelist_count), the
 * rows are the same (sqlite3 dumps before and after), the database checks sound. */
static void test_compact(void **state)
{
    (void)state;
    char db[512];
    char sha[STRAIN_SHA256_HEX];
    char *out = NULL;
    char *before = NULL;
    char *after = NULL;
    snprintf(db, sizeof(db), "%s/cli/compact.db", th_tmpdir());
    make_db(db, 40);
    /* large genomes (overflow pages) for the samples about to be removed */
    static char big[20000];
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    memset(big, 'x', sizeof(big));
    assert_int_equal(strain_ctx_new(&ctx), 0);
    assert_int_equal(strain_store_open(&st, ctx, NULL, db, 0), 0);
    for (unsigned i = 10; i < 30; i++) {
        strain_store_sample *smp = NULL;
        strain_store_posting p = {.kind = 2, .hash = i, .payload = 0};
        strain_store_features f = {.genome_version = 3,
                                   .genome = big,
                                   .genome_len = sizeof(big),
                                   .postings = &p,
                                   .n_postings = 1};
        sha_of(sha, i);
        assert_int_equal(strain_store_get_sample(st, &smp, sha), 0);
        assert_int_equal(strain_store_put_features(st, smp->id, &f), 0);
        strain_store_sample_free(smp);
    }
    strain_store_close(st);
    strain_ctx_free(ctx);
    for (unsigned i = 10; i < 30; i++) {
        sha_of(sha, i);
        assert_int_equal(th_run(&out, "'%s' db --db '%s' remove %s", bin(), db, sha), 0);
        free(out);
    }
    assert_int_equal(th_run(&out, "sqlite3 '%s' 'PRAGMA freelist_count'", db), 0);
    assert_true(atoi(out) > 0);
    free(out);
    assert_int_equal(th_run(&before, DUMP_SQL, db), 0);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' compact", bin(), db), 0);
    assert_non_null(strstr(out, ": compacted\n"));
    free(out);
    sql_expect(db, "PRAGMA freelist_count", "0\n");
    assert_int_equal(th_run(&after, DUMP_SQL, db), 0);
    assert_string_equal(after, before);
    json_t *j = run_json(0, "compact", db);
    assert_true(json_is_true(json_object_get(j, "compacted")));
    json_decref(j);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' check", bin(), db), 0);
    free(out);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' compact extra", bin(), db), 2);
    free(out);
    free(before);
    free(after);
}

static void test_label_remove_errors(void **state)
{
    (void)state;
    char db[512];
    char sha[STRAIN_SHA256_HEX];
    char args[512];
    char *out = NULL;
    snprintf(db, sizeof(db), "%s/cli/b.db", th_tmpdir());
    make_db(db, 3);
    sha_of(sha, 2);
    snprintf(args, sizeof(args), "label %s --actor 'APT 99' --family newfam --tag x --tag y", sha);
    json_t *j = run_json(0, args, db);
    assert_string_equal(json_string_value(json_object_get(j, "family")), "newfam");
    json_decref(j);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT actor, family, (SELECT group_concat(tag) FROM (SELECT tag FROM sample_tags t "
             "WHERE t.sample_id = s.id ORDER BY tag)) FROM samples s WHERE sha256 = '%s'",
             sha);
    sql_expect(db, sql, "APT 99|newfam|x,y\n");
    /* Upper-case SHA-256 on the command line is the same sample. */
    for (char *c = sha; *c; c++) {
        if (*c >= 'a' && *c <= 'f') {
            *c = (char)(*c - 'a' + 'A');
        }
    }
    assert_int_equal(th_run(&out, "'%s' db --db '%s' label %s --clean", bin(), db, sha), 0);
    free(out);
    sha_of(sha, 2);
    snprintf(sql, sizeof(sql), "SELECT clean FROM samples WHERE sha256 = '%s'", sha);
    sql_expect(db, sql, "1\n");

    snprintf(args, sizeof(args), "remove %s", sha);
    j = run_json(0, args, db);
    json_decref(j);
    sql_expect(db, "SELECT count(*) FROM samples", "2\n");
    sql_expect(db, "SELECT count(*) FROM postings", "10\n");
    assert_int_equal(th_run(&out, "'%s' db --db '%s' check", bin(), db), 0);
    free(out);

    /* Not found: 1, with the database path in the message. */
    assert_int_equal(th_run(&out, "'%s' db --db '%s' remove %s 2>&1", bin(), db, sha), 1);
    assert_non_null(strstr(out, db));
    assert_non_null(strstr(out, "no sample"));
    free(out);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' show %s 2>&1", bin(), db, sha), 1);
    free(out);
    /* Usage: 2. */
    assert_int_equal(th_run(&out, "'%s' db --db '%s' show nothex 2>&1", bin(), db), 2);
    free(out);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' frobnicate 2>&1", bin(), db), 2);
    free(out);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' label %s 2>&1", bin(), db, sha), 2);
    free(out);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' stats --actor a 2>&1", bin(), db), 2);
    free(out);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' --bogus stats 2>&1", bin(), db), 2);
    free(out);
    assert_int_equal(th_run(&out, "'%s' db 2>&1", bin()), 2);
    free(out);
    /* Bad label input: 1, nothing changed. */
    sha_of(sha, 1);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' label %s --family \"$(printf 'a\\tb')\" 2>&1",
                            bin(), db, sha),
                     1);
    free(out);
    snprintf(sql, sizeof(sql), "SELECT family FROM samples WHERE sha256 = '%s'", sha);
    sql_expect(db, sql, "fam1\n");
    /* Missing database: 1, and not created. */
    assert_int_equal(th_run(&out, "'%s' db --db '%s/cli/none/x.db' stats 2>&1", bin(), th_tmpdir()),
                     1);
    assert_non_null(strstr(out, "/cli/none/x.db"));
    free(out);
    char none[600];
    snprintf(none, sizeof(none), "%s/cli/none", th_tmpdir());
    assert_int_equal(stat(none, &(struct stat){0}), -1);
    /* Not a database: 3. */
    char junk[512];
    snprintf(junk, sizeof(junk), "%s/cli/junk.db", th_tmpdir());
    assert_int_equal(th_write_file(junk, "this is not sqlite, it is plain text\n", 37), 0);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' stats 2>&1", bin(), junk), 3);
    assert_non_null(strstr(out, junk));
    free(out);
    /* A database from a newer strain: refused with both versions named, exit 3. */
    char newer[512];
    snprintf(newer, sizeof(newer), "%s/cli/newer.db", th_tmpdir());
    make_db(newer, 1);
    assert_int_equal(th_run(NULL, "sqlite3 '%s' 'PRAGMA user_version = 99'", newer), 0);
    assert_int_equal(th_run(&out, "'%s' db --db '%s' stats 2>&1", bin(), newer), 3);
    assert_non_null(strstr(out, "99"));
    assert_non_null(strstr(out, "newer"));
    free(out);
}

static void test_location_precedence(void **state)
{
    (void)state;
    char a[512];
    char b[512];
    char home[512];
    char xdg[512];
    char *out = NULL;
    const char *t = th_tmpdir();
    snprintf(a, sizeof(a), "%s/loc/explicit.db", t);
    snprintf(b, sizeof(b), "%s/loc/env.db", t);
    snprintf(home, sizeof(home), "%s/loc/home", t);
    snprintf(xdg, sizeof(xdg), "%s/loc/xdg", t);
    make_db(a, 1);
    make_db(b, 2);
    char p[600];
    snprintf(p, sizeof(p), "%s/.local/share/strain/strain.db", home);
    make_db(p, 3);
    snprintf(p, sizeof(p), "%s/strain/strain.db", xdg);
    make_db(p, 4);
#define SED " | sed -n 's/.*\"samples\": \\([0-9]*\\).*/\\1/p'"
#define STATS "'%s' db --json stats" SED
    assert_int_equal(th_run(&out,
                            "HOME='%s' XDG_DATA_HOME='%s' STRAIN_DB='%s' '%s' db --json stats "
                            "--db '%s'" SED,
                            home, xdg, b, bin(), a),
                     0);
    /* (--db after the subcommand is accepted too) */
    assert_string_equal(out, "1\n");
    free(out);
    assert_int_equal(
        th_run(&out, "HOME='%s' XDG_DATA_HOME='%s' STRAIN_DB='%s' " STATS, home, xdg, b, bin()), 0);
    assert_string_equal(out, "2\n");
    free(out);
    assert_int_equal(
        th_run(&out, "HOME='%s' XDG_DATA_HOME='%s' STRAIN_DB= " STATS, home, xdg, bin()), 0);
    assert_string_equal(out, "4\n");
    free(out);
    assert_int_equal(th_run(&out, "HOME='%s' STRAIN_DB= XDG_DATA_HOME= " STATS, home, bin()), 0);
    assert_string_equal(out, "3\n");
    free(out);
    /* A relative XDG_DATA_HOME is invalid (XDG spec) and ignored. */
    assert_int_equal(th_run(&out, "HOME='%s' STRAIN_DB= XDG_DATA_HOME=rel " STATS, home, bin()), 0);
    assert_string_equal(out, "3\n");
    free(out);
    /* The library's resolver, same rules. */
    char r[STRAIN_STORE_PATH_MAX];
    setenv("STRAIN_DB", b, 1);
    assert_int_equal(strain_store_resolve_path(r, sizeof(r), a), 0);
    assert_string_equal(r, a);
    assert_int_equal(strain_store_resolve_path(r, sizeof(r), NULL), 0);
    assert_string_equal(r, b);
    unsetenv("STRAIN_DB");
    setenv("XDG_DATA_HOME", xdg, 1);
    assert_int_equal(strain_store_resolve_path(r, sizeof(r), NULL), 0);
    snprintf(p, sizeof(p), "%s/strain/strain.db", xdg);
    assert_string_equal(r, p);
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", home, 1);
    assert_int_equal(strain_store_resolve_path(r, sizeof(r), NULL), 0);
    snprintf(p, sizeof(p), "%s/.local/share/strain/strain.db", home);
    assert_string_equal(r, p);
    assert_int_equal(strain_store_resolve_path(r, 10, NULL), STRAIN_EINVAL);
    unsetenv("HOME");
    assert_int_equal(strain_store_resolve_path(r, sizeof(r), NULL), STRAIN_EINVAL);
}

/* The schema moves forward: a database at version 1 (before certificates) is upgraded on
 * open, its data kept; the file is in WAL mode with foreign keys declared. */
static void test_migration_and_pragmas(void **state)
{
    (void)state;
    char db[512];
    char *out = NULL;
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    snprintf(db, sizeof(db), "%s/mig/old.db", th_tmpdir());
    make_db(db, 2);
    /* Turn it back into what version 1 created. */
    assert_int_equal(th_run(NULL,
                            "sqlite3 '%s' 'DROP TABLE feature_families; ALTER TABLE "
                            "feature_df DROP COLUMN n_families; DROP TABLE abused_certs; "
                            "DROP TABLE sample_certificates; DROP TABLE certificates; DELETE "
                            "FROM schema_migrations WHERE version >= 2; DELETE FROM store_meta "
                            "WHERE key IN (\"data_gen\", \"store_id\"); "
                            "PRAGMA user_version = 1'",
                            db),
                     0);
    assert_int_equal(strain_ctx_new(&ctx), 0);
    /* Read-only cannot migrate: refused, file untouched. */
    assert_int_equal(strain_store_open(&st, ctx, NULL, db, STRAIN_STORE_READONLY), STRAIN_ESTORE);
    assert_non_null(strstr(strain_ctx_errmsg(ctx), "upgrad"));
    sql_expect(db, "PRAGMA user_version", "1\n");
    assert_int_equal(strain_store_open(&st, ctx, NULL, db, 0), 0);
    strain_store_close(st);
    sql_expect(db, "PRAGMA user_version", "5\n");
    sql_expect(db, "SELECT version FROM schema_migrations ORDER BY version", "1\n2\n3\n4\n5\n");
    /* Version 5: the generation the read index is checked against, and the store's id. */
    sql_expect(db, "SELECT count(*) FROM store_meta WHERE key IN ('data_gen', 'store_id')",
               "2\n");
    /* Version 4 filled the family counts in from the postings already there. */
    sql_expect(db,
               "SELECT count(*) FROM feature_df d WHERE n_families != (SELECT count(DISTINCT "
               "sm.family) FROM postings p JOIN samples sm ON sm.id = p.sample_id WHERE p.kind "
               "= d.kind AND p.hash = d.hash AND sm.clean = 0 AND sm.family IS NOT NULL)",
               "0\n");
    sql_expect(db, "SELECT count(*) > 0 FROM feature_families", "1\n");
    sql_expect(db, "SELECT count(*) FROM samples", "2\n");
    sql_expect(db, "SELECT count(*) FROM certificates", "0\n");
    sql_expect(db, "PRAGMA journal_mode", "wal\n");
    sql_expect(db, "SELECT count(*) FROM pragma_foreign_key_list('sample_tags')", "1\n");
    /* Read-only opening of an up-to-date database reads, refuses writes. */
    assert_int_equal(strain_store_open(&st, ctx, NULL, db, STRAIN_STORE_READONLY), 0);
    strain_store_stats s;
    assert_int_equal(strain_store_stats_get(st, &s), 0);
    assert_int_equal(s.samples, 2);
    char sha[STRAIN_SHA256_HEX];
    sha_of(sha, 0);
    assert_int_equal(strain_store_remove(st, sha), STRAIN_ESTORE);
    strain_store_close(st);
    sql_expect(db, "SELECT count(*) FROM samples", "2\n");
    strain_ctx_free(ctx);
    (void)out;
}

/* A damaged row on disk (a key list that does not match its count) is reported, never
 * trusted; inside a transaction it aborts the transaction and nothing of it is kept. */
static void test_damaged_row_aborts(void **state)
{
    (void)state;
    char db[512];
    char sha[STRAIN_SHA256_HEX];
    strain_ctx *ctx = NULL;
    strain_store *st = NULL;
    snprintf(db, sizeof(db), "%s/dmg/d.db", th_tmpdir());
    make_db(db, 2);
    assert_int_equal(
        th_run(NULL, "sqlite3 '%s' \"UPDATE sample_keys SET keys = x'0102' WHERE sample_id = 1\"",
               db),
        0);
    assert_int_equal(strain_ctx_new(&ctx), 0);
    assert_int_equal(strain_store_open(&st, ctx, NULL, db, 0), 0);
    sha_of(sha, 0);
    assert_int_equal(strain_store_remove(st, sha), STRAIN_ESTORE);
    assert_non_null(strstr(strain_ctx_errmsg(ctx), "damaged"));
    assert_int_equal(strain_store_check(st), STRAIN_ESTORE);
    /* In a transaction: the failure aborts it; later changes and the commit are refused. */
    strain_store_sample s;
    memset(&s, 0, sizeof(s));
    sha_of(s.sha256, 50);
    s.label.clean = STRAIN_STORE_KEEP;
    assert_int_equal(strain_store_begin(st), 0);
    assert_int_equal(strain_store_put_sample(st, NULL, &s), 0);
    assert_int_equal(strain_store_remove(st, sha), STRAIN_ESTORE);
    sha_of(s.sha256, 51);
    assert_int_equal(strain_store_put_sample(st, NULL, &s), STRAIN_ESTORE);
    assert_int_equal(strain_store_commit(st), STRAIN_ESTORE);
    strain_store_close(st);
    strain_ctx_free(ctx);
    sql_expect(db, "SELECT count(*) FROM samples", "2\n");
    sql_expect(db, "SELECT count(*) FROM postings", "10\n");
}

int main(void)
{
    if (!th_have("sqlite3")) {
        fprintf(stderr, "sqlite3 command-line tool required (scripts/deps.sh)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_list_show),     cmocka_unit_test(test_label_remove_errors),
        cmocka_unit_test(test_location_precedence), cmocka_unit_test(test_migration_and_pragmas),
        cmocka_unit_test(test_damaged_row_aborts),  cmocka_unit_test(test_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
