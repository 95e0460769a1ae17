/*
 * Attribution engine on fixtures built here with mingw-w64 (fixtures/mkfixtures.sh):
 * two families of one actor sharing a routine set, two unrelated families linking the same
 * static library, a clean set holding that library (and the toolchain's runtime), and
 * queries whose right answer is known by construction: a new version of a family, a new
 * family of a known actor, an unknown actor's program linking the library, a stranger.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <strain/engine.h>
#include <strain/strain.h>

#include "helpers.h"

static char fx[1024];
static char dbpath[1100];
static strain_ctx *ctx;
static strain_store *st;
static strain_engine *eng;

static int setup(void **state)
{
    (void)state;
    if (!th_have("x86_64-w64-mingw32-gcc")) {
        fprintf(stderr, "mingw-w64 is required\n");
        return -1;
    }
    snprintf(fx, sizeof(fx), "%s/fx", th_tmpdir());
    char *log = NULL;
    int rc = th_run(&log, "bash %s/tests/unit/engine/fixtures/mkfixtures.sh %s 2>&1",
                    getenv("STRAIN_SOURCE_DIR"), fx);
    if (rc != 0) {
        fprintf(stderr, "fixtures: %s\n", log ? log : "");
    }
    free(log);
    snprintf(dbpath, sizeof(dbpath), "%s/engine.db", th_tmpdir());
    if (rc != 0 || strain_ctx_new(&ctx) < 0 ||
        strain_store_open(&st, ctx, NULL, dbpath, STRAIN_STORE_CREATE) < 0 ||
        strain_engine_open(&eng, ctx, st) < 0) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    strain_engine_free(eng);
    strain_store_close(st);
    strain_ctx_free(ctx);
    return 0;
}

static strain_query_result *query(const char *name, double threshold)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/query/%s", fx, name);
    size_t len = 0;
    uint8_t *data = th_read_file(path, &len);
    assert_non_null(data);
    strain_engine_item *it = NULL;
    strain_query_result *r = NULL;
    assert_int_equal(strain_engine_prepare(&it, ctx, data, len, path), 0);
    strain_query_options o = {0};
    o.threshold = threshold;
    o.all = true;
    assert_int_equal(strain_engine_query(&r, eng, it, &o), 0);
    strain_engine_item_free(it);
    free(data);
    return r;
}

static const strain_query_label *find(const strain_query_label *l, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(l[i].name, name) == 0) {
            return &l[i];
        }
    }
    return NULL;
}

/* Fixture scores are on a different scale from the corpus the default threshold was
 * calibrated on (a handful of tiny programs), so the tests set their own. */
#define THR 0.15

static void test_attribution(void **state)
{
    (void)state;
    char p[12][1200];
    strain_ingest_entry e[12];
    const char *fam[4][2] = {
        {"alpha", "north"}, {"beta", "north"}, {"gamma", "south"}, {"delta", "east"}};
    size_t n = 0;
    for (int f = 0; f < 4; f++) {
        for (int v = 1; v <= 3; v++, n++) {
            snprintf(p[n], sizeof(p[n]), "%s/ref/%s_v%d.exe", fx, fam[f][0], v);
            memset(&e[n], 0, sizeof(e[n]));
            e[n].path = p[n];
            e[n].label.actor = fam[f][1];
            e[n].label.family = fam[f][0];
            e[n].label.clean = 0;
        }
    }
    size_t added = 0;
    assert_int_equal(strain_engine_ingest(eng, &added, e, n, 2, NULL, NULL, NULL), 0);
    assert_int_equal(added, 12);

    /* before the clean set: zeta links minilib and nothing else known, and is nearest to
     * gamma and delta, which link it too (the actor-spread discount already keeps it low) */
    strain_query_result *r = query("zeta.exe", THR);
    assert_true(r->n_families > 0);
    assert_true(strcmp(r->families[0].name, "gamma") == 0 ||
                strcmp(r->families[0].name, "delta") == 0);
    double before = r->families[0].score;
    strain_query_result_free(r);

    char clean[1200];
    snprintf(clean, sizeof(clean), "%s/clean/libonly.exe", fx);
    strain_ingest_entry ce = {clean, {NULL, NULL, NULL, 0, false, 1}};
    assert_int_equal(strain_engine_ingest(eng, &added, &ce, 1, 1, NULL, NULL, NULL), 0);
    assert_int_equal(added, 1);

    /* after: the library weighs nothing, zeta is unknown */
    r = query("zeta.exe", THR);
    assert_null(r->verdict_actor);
    assert_true(r->n_families == 0 || r->families[0].score < before);
    strain_query_result_free(r);

    /* a new version of alpha: actor north, family alpha, evidence from an alpha sample */
    r = query("alpha_v4.exe", THR);
    assert_non_null(r->verdict_actor);
    assert_string_equal(r->verdict_actor, "north");
    assert_string_equal(r->verdict_family, "alpha");
    assert_true(r->verdict_confidence > 0 && r->verdict_confidence <= 1);
    assert_true(r->n_functions > 0);
    assert_true(r->n_fragments > 0);
    assert_true(r->n_neighbors > 0);
    assert_string_equal(r->neighbors[0].family, "alpha");
    assert_string_equal(r->functions[0].ref_sha256, r->neighbors[0].sha256);
    for (size_t i = 0; i < r->n_functions; i++) {
        assert_true(r->functions[i].weight > 0); /* clean code is never shown as evidence */
    }
    /* gamma and delta share only clean code with alpha */
    const strain_query_label *g = find(r->families, r->n_families, "gamma");
    assert_true(g == NULL || g->score < 0.1);
    char *js = NULL;
    assert_int_equal(strain_report_query_json(&js, r, "alpha_v4.exe"), 0);
    json_t *root = json_loads(js, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "sha256")), r->sha256);
    json_t *v = json_object_get(root, "verdict");
    assert_string_equal(json_string_value(json_object_get(v, "actor")), "north");
    assert_string_equal(json_string_value(json_object_get(v, "family")), "alpha");
    assert_true(json_is_real(json_object_get(v, "score")));
    assert_true(json_is_real(json_object_get(v, "confidence")));
    assert_true(json_is_array(json_object_get(root, "actors")));
    assert_true(json_is_array(json_object_get(root, "families")));
    assert_true(json_array_size(json_object_get(root, "neighbors")) > 0);
    assert_true(json_array_size(json_object_get(json_object_get(root, "evidence"), "functions")) >
                0);
    json_decref(root);
    free(js);
    strain_query_result_free(r);

    /* a new family of actor north using its shared routines: the actor is recognised */
    r = query("epsilon.exe", THR);
    assert_non_null(r->verdict_actor);
    assert_string_equal(r->verdict_actor, "north");
    strain_query_result_free(r);

    /* nothing known */
    r = query("stranger.exe", THR);
    assert_null(r->verdict_actor);
    assert_null(r->verdict_family);
    strain_query_result_free(r);

    /* the default threshold is the calibrated one */
    r = query("stranger.exe", 0);
    assert_true(r->threshold == strain_engine_default_threshold());
    assert_null(r->verdict_actor);
    strain_query_result_free(r);
}

static void test_confidence_monotone(void **state)
{
    (void)state;
    double last = -1;
    for (int i = 0; i <= 100; i++) {
        double c = strain_engine_confidence(i / 100.0);
        assert_true(c >= last && c >= 0 && c <= 1);
        last = c;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attribution),
        cmocka_unit_test(test_confidence_monotone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
