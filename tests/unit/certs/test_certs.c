/*
 * Certificate intelligence end to end on real signed files. mkfixtures.sh builds a PKI with
 * openssl (through the sig tests' script), mingw-w64 programs and a kernel driver, and signs
 * them with osslsigncode; the database is filled the way `strain add` will: parse, verify,
 * put the labelled sample, strain_certs_record(). Expected findings follow from which
 * certificate signed which labelled file (written down here, not computed by strain);
 * certificate identities are checked against openssl's fingerprints and serials, the driver
 * against python3-pefile, similarity for the LuckyMouse pattern is the ssdeep tool's, then
 * the engine's own (genomes with clean code left out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <strain/certs.h>
#include <strain/code.h>
#include <strain/engine.h>
#include <strain/hash.h>
#include <strain/binary.h>
#include <strain/store.h>

#include "helpers.h"
#include "util/limits.h" /* the bounds test_unrelated_caps reaches */

static char fx[1024];

static char *fx_text(const char *name)
{
    char p[1200];
    size_t n = 0;
    snprintf(p, sizeof(p), "%s/%s", fx, name);
    char *t = (char *)th_read_file(p, &n);
    assert_non_null(t);
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r')) {
        t[--n] = '\0';
    }
    return t;
}

static int setup(void **state)
{
    (void)state;
    char *out = NULL;
    snprintf(fx, sizeof(fx), "%s/certsfx", th_tmpdir());
    int rc = th_run(&out, "mkdir -p '%s' && sh '%s/tests/unit/certs/mkfixtures.sh' '%s' 2>&1", fx,
                    getenv("STRAIN_SOURCE_DIR"), fx);
    if (rc != 0) {
        fprintf(stderr, "mkfixtures.sh failed:\n%s\n", out ? out : "");
    }
    free(out);
    return rc == 0 ? 0 : -1;
}

typedef struct db {
    strain_ctx *ctx;
    strain_store *st;
    char path[1200];
} db;

static void db_open(db *d, const char *name)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->path, sizeof(d->path), "%s/%s", th_tmpdir(), name);
    assert_int_equal(strain_ctx_new(&d->ctx), 0);
    if (strain_store_open(&d->st, d->ctx, NULL, d->path, STRAIN_STORE_CREATE) != 0) {
        fail_msg("%s", strain_ctx_errmsg(d->ctx));
    }
}

static void db_close(db *d)
{
    strain_store_close(d->st);
    strain_ctx_free(d->ctx);
}

/* What `strain add` does for a signed file: the engine stores the labelled sample with its
 * genome and postings (the unrelated-code finding reads them) and records its certificates,
 * verified against ca (NULL: the system bundle); then the test records them again itself.
 * Returns the sample id. */
static int64_t add_file(db *d, const char *path, const char *ca, const char *name,
                        const char *actor, const char *family, int clean, bool *out_driver,
                        int *out_linked)
{
    size_t n = 0;
    strain_binary *bin = NULL;
    strain_sig_report *rep = NULL;
    strain_engine *e = NULL;
    strain_engine_item *it = NULL;
    int64_t id = 0;
    uint8_t *data = th_read_file(path, &n);
    assert_non_null(data);
    assert_int_equal(strain_binary_parse(&bin, d->ctx, data, n), 0);
    strain_sig_opts o = {ca, NULL, 0};
    assert_int_equal(strain_sig_verify(&rep, d->ctx, bin, &o), 0);
    assert_int_equal(strain_engine_open(&e, d->ctx, d->st), 0);
    if (ca != NULL) {
        assert_int_equal(strain_engine_set_trust(e, ca), 0);
    }
    assert_int_equal(strain_engine_prepare(&it, d->ctx, data, n, name), 0);
    strain_store_label label = {actor, family, NULL, 0, false, clean};
    if (strain_engine_add(e, &id, it, &label) != 0) {
        fail_msg("add %s: %s", path, strain_ctx_errmsg(d->ctx));
    }
    strain_engine_item_free(it);
    strain_engine_free(e);
    bool drv = strain_binary_get_info(bin)->is_driver;
    int r = strain_certs_record(d->st, id, rep, drv);
    if (r < 0) {
        fail_msg("record %s: %s", path, strain_ctx_errmsg(d->ctx));
    }
    /* Recording again (a re-added sample) links the same certificates; test_links checks
     * that no link is duplicated. */
    assert_int_equal(strain_certs_record(d->st, id, rep, drv), r);
    if (out_driver != NULL) {
        *out_driver = drv;
    }
    if (out_linked != NULL) {
        *out_linked = r;
    }
    strain_sig_report_free(rep);
    strain_binary_free(bin);
    free(data);
    return id;
}

/* A fixture, verified against the fixture root. */
static int64_t add(db *d, const char *file, const char *actor, const char *family, int clean,
                   bool *out_driver)
{
    char p[1200], ca[1200];
    int linked = 0;
    snprintf(p, sizeof(p), "%s/%s", fx, file);
    snprintf(ca, sizeof(ca), "%s/root.crt", fx);
    int64_t id = add_file(d, p, ca, file, actor, family, clean, out_driver, &linked);
    assert_true(linked >= 3); /* leaf, intermediate, root */
    return id;
}

/* Sample ids of the fixture database. */
static int64_t id_tool1, id_tool2, id_actor_x, id_driver, id_clean_other, id_actor_y, id_actor_x2,
    id_transplant;

static void fill(db *d)
{
    bool drv = false;
    id_tool1 = add(d, "s_vendor_tool1.exe", NULL, NULL, 1, NULL);
    id_tool2 = add(d, "s_vendor_tool2.exe", NULL, NULL, 1, NULL);
    id_actor_x = add(d, "s_actor_x.exe", "APT-X", "F", 0, NULL);
    id_driver = add(d, "s_driver.sys", "APT-X", "F", 0, &drv);
    assert_true(drv); /* pefile: subsystem 1 (native), imports ntoskrnl.exe (checked below) */
    id_clean_other = add(d, "s_clean_other.exe", NULL, NULL, 1, NULL);
    id_actor_y = add(d, "s_actor_y.exe", "APT-Y", "G", 0, NULL);
    id_actor_x2 = add(d, "s_actor_x2.exe", "APT-X", "F2", 0, NULL);
    /* valid.exe's signature (leaf) grafted onto another program: the certificate is in the
     * file but did not sign it (digest mismatch), so APT-Z must never count for leaf. */
    id_transplant = add(d, "transplant.exe", "APT-Z", "Z", 0, NULL);
}

typedef struct found {
    const strain_certs_finding *f[64];
    size_t n;
} found;

/* Findings of kind k about the certificate with this sha1. */
static size_t pick(found *out, const strain_certs_findings *fs, strain_certs_kind k,
                   const char *sha1)
{
    out->n = 0;
    for (size_t i = 0; i < strain_certs_findings_count(fs); i++) {
        const strain_certs_finding *f = strain_certs_findings_get(fs, i);
        if (f->kind == k && (sha1 == NULL || strcmp(f->cert_sha1, sha1) == 0) && out->n < 64) {
            out->f[out->n++] = f;
        }
    }
    return out->n;
}

static bool has_id(const strain_certs_finding *f, int64_t id)
{
    for (size_t i = 0; i < f->n_samples; i++) {
        if (f->sample_ids[i] == id) {
            return true;
        }
    }
    return false;
}

static bool has_name(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static void test_findings(void **state)
{
    (void)state;
    db d;
    strain_certs_findings *fs = NULL;
    found x;
    char *vendor = fx_text("vendor.sha1");
    char *leaf = fx_text("leaf.sha1");
    char *shortc = fx_text("short.sha1");
    char *inter = fx_text("int.sha1");
    char *root = fx_text("root.sha1");
    char *out = NULL;
    db_open(&d, "findings.db");
    fill(&d);
    assert_int_equal(th_run(&out,
                            "/usr/bin/python3 -c \"import pefile,sys; p=pefile.PE(sys.argv[1]); "
                            "print(p.OPTIONAL_HEADER.Subsystem, [e.dll.decode().lower() for e in "
                            "p.DIRECTORY_ENTRY_IMPORT])\" '%s/s_driver.sys'",
                            fx),
                     0);
    assert_non_null(strstr(out, "1 ['ntoskrnl.exe']"));
    free(out);

    assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
    /* The stolen vendor certificate: clean tools 1, 2 and APT-X's sample and driver. */
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_STOLEN, vendor), 1);
    assert_int_equal(x.f[0]->n_samples, 4);
    assert_true(has_id(x.f[0], id_tool1) && has_id(x.f[0], id_tool2) &&
                has_id(x.f[0], id_actor_x) && has_id(x.f[0], id_driver));
    assert_int_equal(x.f[0]->n_actors, 1);
    assert_string_equal(x.f[0]->actors[0], "APT-X");
    assert_non_null(strstr(x.f[0]->subject, "Vendor Corp Code Signing"));
    char *serial = fx_text("vendor.serial");
    assert_string_equal(x.f[0]->serial, serial);
    free(serial);
    char *v256 = fx_text("vendor.sha256");
    assert_string_equal(x.f[0]->cert_sha256, v256);
    free(v256);
    /* It signs a kernel driver and APT-X's user-mode sample. */
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_DRIVER_ACTOR, vendor), 1);
    assert_int_equal(x.f[0]->n_samples, 2);
    assert_true(has_id(x.f[0], id_driver) && has_id(x.f[0], id_actor_x));
    /* The LuckyMouse pattern: APT-X's sample and driver carry a valid Vendor Corp signature
     * but none of the vendor library the two vendor tools are built from (mkfixtures.sh);
     * the runtime they share with the tools is held by clean samples and left out. The
     * tools themselves are labelled clean: never judged. */
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 2);
    assert_true(has_id(x.f[0], id_actor_x) != has_id(x.f[1], id_actor_x));
    assert_true(has_id(x.f[0], id_driver) != has_id(x.f[1], id_driver));
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(x.f[i]->n_samples, 3); /* the file and the two tools */
        assert_true(has_id(x.f[i], id_tool1) && has_id(x.f[i], id_tool2));
        assert_true(x.f[i]->best_similarity < STRAIN_CERTS_UNRELATED_THRESHOLD);
    }
    assert_int_equal(strain_certs_findings_skipped(fs), 0);
    /* One actor, one family: no multi findings for it. */
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_MULTI_ACTOR, vendor), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_MULTI_FAMILY, vendor), 0);

    /* leaf signs APT-Y and APT-X (and the transplant, which does not count). */
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_MULTI_ACTOR, leaf), 1);
    assert_int_equal(x.f[0]->n_actors, 2);
    assert_true(has_name(x.f[0]->actors, 2, "APT-X") && has_name(x.f[0]->actors, 2, "APT-Y"));
    assert_false(has_id(x.f[0], id_transplant));
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_MULTI_FAMILY, leaf), 1);
    assert_int_equal(x.f[0]->n_families, 2);
    assert_true(has_name(x.f[0]->families, 2, "F2") && has_name(x.f[0]->families, 2, "G"));
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_STOLEN, leaf), 0);

    /* A certificate signing only clean software raises nothing; nor do the CA certificates
     * in every chain (they are in the chains of clean and actor samples alike). */
    for (int k = STRAIN_CERTS_ABUSED; k <= STRAIN_CERTS_UNRELATED; k++) {
        assert_int_equal(pick(&x, fs, (strain_certs_kind)k, shortc), 0);
        assert_int_equal(pick(&x, fs, (strain_certs_kind)k, inter), 0);
        assert_int_equal(pick(&x, fs, (strain_certs_kind)k, root), 0);
    }
    /* leaf signs only actors' samples: no vendor software to be unlike. */
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, leaf), 0);
    /* Exactly those six findings over the database. */
    assert_int_equal(strain_certs_findings_count(fs), 6);
    strain_certs_findings_free(fs);

    /* Per sample: the clean other-vendor program has none; APT-X's sample has stolen,
     * driver-and-actor and its own unrelated-code; APT-Y's has the multi findings of leaf. */
    assert_int_equal(strain_certs_findings_sample(&fs, d.ctx, d.st, id_clean_other), 0);
    assert_int_equal(strain_certs_findings_count(fs), 0);
    strain_certs_findings_free(fs);
    assert_int_equal(strain_certs_findings_sample(&fs, d.ctx, d.st, id_actor_x), 0);
    assert_int_equal(strain_certs_findings_count(fs), 3);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_STOLEN, vendor), 1);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_DRIVER_ACTOR, vendor), 1);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 1);
    assert_true(has_id(x.f[0], id_actor_x) && !has_id(x.f[0], id_driver));
    strain_certs_findings_free(fs);
    assert_int_equal(strain_certs_findings_sample(&fs, d.ctx, d.st, id_tool2), 0);
    /* stolen; not the driver one, nor the actor's files' unrelated-code */
    assert_int_equal(strain_certs_findings_count(fs), 1);
    strain_certs_findings_free(fs);
    assert_int_equal(strain_certs_findings_sample(&fs, d.ctx, d.st, id_actor_y), 0);
    assert_int_equal(strain_certs_findings_count(fs), 2);
    strain_certs_findings_free(fs);
    assert_int_equal(strain_certs_findings_sample(&fs, d.ctx, d.st, id_transplant), 0);
    assert_int_equal(strain_certs_findings_count(fs), 0);
    strain_certs_findings_free(fs);

    db_close(&d);
    free(vendor);
    free(leaf);
    free(shortc);
    free(inter);
    free(root);
}

/* Links keep role and verdict: the vendor certificate is the signer of 4 samples with verdict
 * valid; the intermediate is a chain certificate of all 8; the transplant's leaf link is a
 * digest mismatch. */
typedef struct link_tally {
    int signer, chain, valid, mismatch, driver;
} link_tally;

static int tally_cb(const strain_store_cert_link *l, const strain_store_sample *s, void *payload)
{
    link_tally *t = payload;
    (void)s;
    assert_true(l->has_info);
    t->signer += l->signer;
    t->chain += !l->signer;
    t->valid += strcmp(l->verdict, "valid") == 0;
    t->mismatch += strcmp(l->verdict, "digest-mismatch") == 0;
    t->driver += l->kernel_driver;
    return 0;
}

static int cert_id_cb(const strain_store_cert *c, void *payload)
{
    *(int64_t *)payload = c->id;
    return 0;
}

static void test_links(void **state)
{
    (void)state;
    db d;
    int64_t cid = 0;
    link_tally t;
    char *vendor = fx_text("vendor.sha1");
    char *leaf = fx_text("leaf.sha1");
    char *inter = fx_text("int.sha1");
    db_open(&d, "links.db");
    fill(&d);
    assert_int_equal(strain_store_get_cert(d.st, vendor, cert_id_cb, &cid), 0);
    memset(&t, 0, sizeof(t));
    assert_int_equal(strain_store_cert_links(d.st, cid, tally_cb, &t), 0);
    assert_int_equal(t.signer, 4);
    assert_int_equal(t.chain, 0);
    assert_int_equal(t.valid, 4);
    assert_int_equal(t.driver, 1);
    assert_int_equal(strain_store_get_cert(d.st, inter, cert_id_cb, &cid), 0);
    memset(&t, 0, sizeof(t));
    assert_int_equal(strain_store_cert_links(d.st, cid, tally_cb, &t), 0);
    assert_int_equal(t.chain, 8);
    assert_int_equal(t.signer, 0);
    assert_int_equal(strain_store_get_cert(d.st, leaf, cert_id_cb, &cid), 0);
    memset(&t, 0, sizeof(t));
    assert_int_equal(strain_store_cert_links(d.st, cid, tally_cb, &t), 0);
    assert_int_equal(t.signer, 3);
    assert_int_equal(t.mismatch, 1);
    db_close(&d);
    free(vendor);
    free(leaf);
    free(inter);
}

/* The ssdeep tool's match score over the two samples' files as the code similarity (the
 * engine will pass genome similarity; any measure in [0, 1] fits the callback). */
typedef struct sim_state {
    db *d;
    int calls;
} sim_state;

static double ssdeep_sim(int64_t a, int64_t b, void *payload)
{
    sim_state *ss = payload;
    strain_store_sample *x = NULL;
    strain_store_sample *y = NULL;
    char *out = NULL;
    double r = -1;
    ss->calls++;
    if (strain_store_get_sample_by_id(ss->d->st, &x, a) < 0 ||
        strain_store_get_sample_by_id(ss->d->st, &y, b) < 0) {
        strain_store_sample_free(x);
        return STRAIN_ENOTFOUND;
    }
    if (th_run(&out, "cd '%s' && ssdeep -a -p '%s' '%s'", fx, x->file_name, y->file_name) == 0 &&
        out != NULL && strchr(out, '(') != NULL) {
        r = atoi(strchr(out, '(') + 1) / 100.0;
    }
    free(out);
    strain_store_sample_free(x);
    strain_store_sample_free(y);
    return r;
}

/* The LuckyMouse pattern: the driver carries a valid Vendor Corp signature but its code is
 * unlike everything else that certificate signs; the vendor's tools share their library. */
static void test_unrelated(void **state)
{
    (void)state;
    db d;
    strain_certs_findings *fs = NULL;
    found x;
    sim_state ss;
    char *vendor = fx_text("vendor.sha1");
    db_open(&d, "unrelated.db");
    fill(&d);
    ss.d = &d;
    ss.calls = 0;
    /* The vendor tools really are alike to ssdeep, and the driver unlike them. */
    assert_true(ssdeep_sim(id_tool1, id_tool2, &ss) >= 0.3);
    assert_true(ssdeep_sim(id_driver, id_tool1, &ss) == 0.0);
    ss.calls = 0;
    assert_int_equal(strain_certs_unrelated(&fs, d.ctx, d.st, id_driver, ssdeep_sim, &ss, 0.3), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 1);
    assert_int_equal(strain_certs_findings_count(fs), 1); /* not for the CA certificates */
    /* the driver and the vendor's software (the two tools); APT-X's other sample is not a
     * peer: an actor's files must not clear each other */
    assert_int_equal(x.f[0]->n_samples, 3);
    assert_true(has_id(x.f[0], id_driver) && has_id(x.f[0], id_tool1) && has_id(x.f[0], id_tool2) &&
                !has_id(x.f[0], id_actor_x));
    assert_int_equal(ss.calls, 2);
    assert_true(x.f[0]->best_similarity < 0.3);
    strain_certs_findings_free(fs);
    /* A tool labelled clean is never judged: the analyst's label stands. */
    ss.calls = 0;
    assert_int_equal(strain_certs_unrelated(&fs, d.ctx, d.st, id_tool1, ssdeep_sim, &ss, 0.3), 0);
    assert_int_equal(strain_certs_findings_count(fs), 0);
    assert_int_equal(ss.calls, 0);
    strain_certs_findings_free(fs);
    /* The transplant's signature is not valid: nothing to say. */
    assert_int_equal(strain_certs_unrelated(&fs, d.ctx, d.st, id_transplant, ssdeep_sim, &ss, 0.3),
                     0);
    assert_int_equal(strain_certs_findings_count(fs), 0);
    strain_certs_findings_free(fs);
    db_close(&d);
    free(vendor);
}

/* The abused list: imported (TSV, thumbprint in colon form, uppercase) and matched, both in
 * the database findings and against a report of a file not in the database. */
static void test_abused(void **state)
{
    (void)state;
    db d;
    strain_certs_findings *fs = NULL;
    found x;
    size_t n = 0;
    char list[4096];
    char colons[80];
    char *vendor = fx_text("vendor.sha1");
    char *shortserial = fx_text("short.serial");
    char *issuer = NULL;
    assert_int_equal(th_run(&issuer,
                            "openssl x509 -in '%s/short.crt' -noout -issuer "
                            "-nameopt compat | sed 's/^issuer=//'",
                            fx),
                     0);
    issuer[strcspn(issuer, "\n")] = '\0';
    for (size_t i = 0, w = 0; i < 40; i += 2) {
        w += (size_t)snprintf(colons + w, sizeof(colons) - w, "%s%c%c", i ? ":" : "",
                              vendor[i] - (vendor[i] >= 'a' ? 32 : 0),
                              vendor[i + 1] - (vendor[i + 1] >= 'a' ? 32 : 0));
    }
    snprintf(list, sizeof(list),
             "# known-abused certificates\n"
             "sha1\tserial\tissuer\treason\tactor\tsource\tnote\n"
             "%s\t\t\tstolen\tLuckyMouse\ttest\tvendor key leaked\n"
             "\t00%s\t%s\trevoked\t\ttest\tby serial\n",
             colons, shortserial, issuer);
    db_open(&d, "abused.db");
    fill(&d);
    assert_int_equal(strain_certs_import_buffer(&n, d.ctx, d.st, list, strlen(list), "l.tsv"), 0);
    assert_int_equal(n, 2);
    /* Imported twice: still two entries. */
    assert_int_equal(strain_certs_import_buffer(&n, d.ctx, d.st, list, strlen(list), "l.tsv"), 0);
    assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_ABUSED, NULL), 2);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_ABUSED, vendor), 1);
    assert_string_equal(x.f[0]->reason, "stolen");
    assert_string_equal(x.f[0]->list_actor, "LuckyMouse");
    assert_int_equal(x.f[0]->n_samples, 4);
    strain_certs_findings_free(fs);
    assert_int_equal(strain_certs_findings_sample(&fs, d.ctx, d.st, id_clean_other), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_ABUSED, NULL), 1);
    assert_string_equal(x.f[0]->reason, "revoked");
    strain_certs_findings_free(fs);

    /* A report of a file never stored: vendor.exe from the sig fixtures (Vendor Corp). */
    char p[1200], ca[1200];
    size_t len = 0;
    strain_binary *bin = NULL;
    strain_sig_report *rep = NULL;
    snprintf(p, sizeof(p), "%s/vendor.exe", fx);
    snprintf(ca, sizeof(ca), "%s/root.crt", fx);
    uint8_t *data = th_read_file(p, &len);
    assert_int_equal(strain_binary_parse(&bin, d.ctx, data, len), 0);
    strain_sig_opts o = {ca, NULL, 0};
    assert_int_equal(strain_sig_verify(&rep, d.ctx, bin, &o), 0);
    assert_int_equal(strain_certs_match_report(&fs, d.ctx, d.st, rep), 0);
    assert_int_equal(strain_certs_findings_count(fs), 1);
    assert_string_equal(strain_certs_findings_get(fs, 0)->cert_sha1, vendor);
    assert_true(strain_sig_report_info(rep)->signatures[0].abused);
    strain_certs_findings_free(fs);
    strain_sig_report_free(rep);
    /* valid.exe (leaf) matches nothing. */
    strain_binary_free(bin);
    free(data);
    snprintf(p, sizeof(p), "%s/valid.exe", fx);
    data = th_read_file(p, &len);
    assert_int_equal(strain_binary_parse(&bin, d.ctx, data, len), 0);
    assert_int_equal(strain_sig_verify(&rep, d.ctx, bin, &o), 0);
    assert_int_equal(strain_certs_match_report(&fs, d.ctx, d.st, rep), 0);
    assert_int_equal(strain_certs_findings_count(fs), 0);
    assert_false(strain_sig_report_info(rep)->signatures[0].abused);
    strain_certs_findings_free(fs);
    strain_sig_report_free(rep);
    strain_binary_free(bin);
    free(data);
    db_close(&d);
    free(vendor);
    free(shortserial);
    free(issuer);
}

static const char *bin(void)
{
    const char *b = getenv("STRAIN_BIN");
    if (b == NULL) {
        fail_msg("STRAIN_BIN not set (run through ctest)");
    }
    return b;
}

static json_t *cert_by_sha1(json_t *arr, const char *sha1)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *c = json_array_get(arr, i);
        if (strcmp(json_string_value(json_object_get(c, "sha1")), sha1) == 0) {
            return c;
        }
    }
    fail_msg("certificate %s not listed", sha1);
    return NULL;
}

static bool has_kind(json_t *c, const char *kind)
{
    json_t *fa = json_object_get(c, "findings");
    for (size_t i = 0; i < json_array_size(fa); i++) {
        if (strcmp(json_string_value(json_object_get(json_array_get(fa, i), "kind")), kind) == 0) {
            return true;
        }
    }
    return false;
}

static void sql_expect(const char *dbp, const char *sql, const char *want)
{
    char *out = NULL;
    assert_int_equal(th_run(&out, "sqlite3 '%s' \"%s\"", dbp, sql), 0);
    assert_string_equal(out != NULL ? out : "", want);
    free(out);
}

/* `strain certs` end to end: list/show as JSON (jansson) and text; import is all or
 * nothing, a bad line named by number, the database read back with the sqlite3 tool. */
static void test_cli(void **state)
{
    (void)state;
    db d;
    char *out = NULL;
    json_error_t je;
    char *vendor = fx_text("vendor.sha1");
    char *shortc = fx_text("short.sha1");
    char p[1400];
    db_open(&d, "cli.db");
    fill(&d);
    db_close(&d);

    assert_int_equal(th_run(&out, "'%s' certs list --json --db '%s'", bin(), d.path), 0);
    json_t *arr = json_loads(out, 0, &je);
    free(out);
    assert_non_null(arr);
    json_t *c = cert_by_sha1(arr, vendor);
    assert_int_equal(json_integer_value(json_object_get(c, "samples")), 4);
    assert_int_equal(json_integer_value(json_object_get(c, "clean")), 2);
    assert_int_equal(json_array_size(json_object_get(c, "actors")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "actors"), 0)),
                        "APT-X");
    assert_true(has_kind(c, "stolen") && has_kind(c, "driver-and-actor") &&
                has_kind(c, "unrelated-code"));
    /* stolen, driver-and-actor, unrelated-code for APT-X's sample and for its driver */
    assert_int_equal(json_array_size(json_object_get(c, "findings")), 4);
    c = cert_by_sha1(arr, shortc);
    assert_int_equal(json_array_size(json_object_get(c, "findings")), 0);
    assert_int_equal(json_integer_value(json_object_get(c, "samples")), 1);
    json_decref(arr);

    assert_int_equal(th_run(&out, "'%s' certs show %s --json --db '%s'", bin(), vendor, d.path), 0);
    json_t *one = json_loads(out, 0, &je);
    free(out);
    assert_non_null(one);
    json_t *ls = json_object_get(one, "linked_samples");
    assert_int_equal(json_array_size(ls), 4);
    size_t n_actor = 0, n_clean = 0, n_driver = 0;
    for (size_t i = 0; i < json_array_size(ls); i++) {
        json_t *s = json_array_get(ls, i);
        assert_string_equal(json_string_value(json_object_get(s, "role")), "signer");
        assert_string_equal(json_string_value(json_object_get(s, "verdict")), "valid");
        n_actor += json_is_string(json_object_get(s, "actor"));
        n_clean += json_is_true(json_object_get(s, "clean"));
        n_driver += json_is_true(json_object_get(s, "kernel_driver"));
    }
    assert_int_equal(n_actor, 2);
    assert_int_equal(n_clean, 2);
    assert_int_equal(n_driver, 1);
    json_decref(one);

    assert_int_equal(th_run(&out, "'%s' certs list --db '%s'", bin(), d.path), 0);
    assert_non_null(strstr(out, "FINDING stolen"));
    assert_non_null(strstr(out, "Vendor Corp Code Signing"));
    free(out);
    assert_int_equal(th_run(&out, "'%s' certs show %s --db '%s' 2>&1", bin(),
                            "0000000000000000000000000000000000000000", d.path),
                     1);
    free(out);
    assert_int_equal(th_run(&out, "'%s' certs frobnicate --db '%s' 2>&1", bin(), d.path), 2);
    free(out);

    /* Import: line 4 is bad (a 39-digit sha1), lines 2-3 are fine: nothing is imported. */
    snprintf(p, sizeof(p), "%s/bad.csv", th_tmpdir());
    const char *bad = "sha1,reason,actor\n"
                      "0f847b84423a2683f0284e3fc3c799e4dcfff99f,stolen,LuckyMouse\n"
                      "1111111111111111111111111111111111111111,abused,\n"
                      "222222222222222222222222222222222222222,revoked,\n";
    assert_int_equal(th_write_file(p, bad, strlen(bad)), 0);
    assert_int_equal(th_run(&out, "'%s' certs import '%s' --db '%s' 2>&1", bin(), p, d.path), 1);
    assert_non_null(strstr(out, "bad.csv:4:"));
    assert_non_null(strstr(out, "sha1 must be 40 hex digits"));
    free(out);
    sql_expect(d.path, "SELECT count(*) FROM abused_certs", "0\n");
    snprintf(p, sizeof(p), "%s/good.csv", th_tmpdir());
    char good[512];
    snprintf(good, sizeof(good),
             "sha1,reason,actor,source,note\n%s,stolen,LuckyMouse,test,\"a, b\"\n"
             "1111111111111111111111111111111111111111,abused,,,\n",
             vendor);
    assert_int_equal(th_write_file(p, good, strlen(good)), 0);
    assert_int_equal(th_run(&out, "'%s' certs import '%s' --db '%s'", bin(), p, d.path), 0);
    assert_non_null(strstr(out, "imported 2 "));
    free(out);
    sql_expect(d.path, "SELECT count(*) FROM abused_certs", "2\n");
    sql_expect(d.path, "SELECT note FROM abused_certs WHERE reason = 'stolen'", "a, b\n");
    /* A later bad import keeps what is there. */
    snprintf(p, sizeof(p), "%s/bad.csv", th_tmpdir());
    assert_int_equal(th_run(&out, "'%s' certs import '%s' --db '%s' 2>&1", bin(), p, d.path), 1);
    free(out);
    sql_expect(d.path, "SELECT count(*) FROM abused_certs", "2\n");
    assert_int_equal(th_run(&out, "'%s' certs list --json --db '%s'", bin(), d.path), 0);
    arr = json_loads(out, 0, &je);
    free(out);
    assert_true(has_kind(cert_by_sha1(arr, vendor), "abused"));
    json_decref(arr);
    free(vendor);
    free(shortc);
}

/* The list parser's rules and messages, through the public import (docs/certs.md). */
static void test_list_format(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int want;           /* rows imported, or -1 for an error */
        const char *needle; /* expected in the error message */
    } cases[] = {
        {"sha1,reason\n0F:84:7B:84:42:3A:26:83:F0:28:4E:3F:C3:C7:99:E4:DC:FF:F9:9F,stolen\n", 1,
         NULL},
        {"\xef\xbb\xbfSHA256\tActor\r\n# c\r\n\r\n"
         "00000000000000000000000000000000000000000000000000000000000000ab\tX\r\n",
         1, NULL},
        {"serial,issuer,note\n0x00AB,\"/C=XX/O=A, Inc./CN=CA\",\"said \"\"hi\"\"\"\n", 1, NULL},
        {"sha1,reason\n", 0, NULL},
        {"sha1,note\n0f847b84423a2683f0284e3fc3c799e4dcfff99f\n", 1, NULL}, /* short row ok */
        {"", -1, "l:1: empty list"},
        {"reason,actor\nstolen,x\n", -1, "l:1: header names no sha1"},
        {"serial,reason\n01,x\n", -1, "l:1: header has a serial column but no issuer"},
        {"sha1,sha1\n", -1, "l:1: a column is named twice"},
        {"sha1,reason\n\n0f847b84423a2683f0284e3fc3c799e4dcfff99z,x\n", -1,
         "l:3: sha1 is not hexadecimal"},
        {"sha1,reason\n0f847b84423a2683f0284e3fc3c799e4dcfff99f,x,y\n", -1,
         "l:2: 3 fields but the header has 2"},
        {"sha1,reason\n\"0f847b84423a2683f0284e3fc3c799e4dcfff99f,x\n", -1,
         "l:2: unterminated quoted field"},
        {"sha1,reason\n0f847b84423a2683f0284e3fc3c799e4dcfff99f,a\"b\n", -1,
         "l:2: quote inside an unquoted field"},
        {"sha1,serial,issuer\n,12,\n", -1, "l:2: serial without issuer"},
        {"sha1,reason\n,stolen\n", -1, "l:2: no sha1, sha256 or serial+issuer"},
        {"sha1,reason\n0f847b84423a2683f0284e3fc3c799e4dcfff99f,a\x01"
         "b\n",
         -1, "l:2: control character"},
        {"sha1,reason\n0f847b84423a2683f0284e3fc3c799e4dcfff99f,a\0b\n", -1, "NUL byte"},
    };
    db d;
    db_open(&d, "format.db");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 99;
        size_t len = strlen(cases[i].text);
        if (strstr(cases[i].needle != NULL ? cases[i].needle : "", "NUL") != NULL) {
            len = strlen(cases[i].text) + 3; /* past the embedded NUL */
        }
        int err = strain_certs_import_buffer(&n, d.ctx, d.st, cases[i].text, len, "l");
        if (cases[i].want >= 0) {
            if (err != 0) {
                fail_msg("case %zu: %s", i, strain_ctx_errmsg(d.ctx));
            }
            assert_int_equal(n, (size_t)cases[i].want);
        } else {
            if (err != STRAIN_EMALFORMED ||
                strstr(strain_ctx_errmsg(d.ctx), cases[i].needle) == NULL) {
                fail_msg("case %zu: err %d, message '%s', wanted '%s'", i, err,
                         strain_ctx_errmsg(d.ctx), cases[i].needle);
            }
        }
    }
    /* Normalised on the way in: the serial without 0x and leading zeros, uppercase. */
    db_close(&d);
    sql_expect(d.path, "SELECT serial FROM abused_certs WHERE serial != ''", "AB\n");
    /* Cases 0 and 4 name the same certificate: one entry, updated. */
    sql_expect(d.path, "SELECT count(*) FROM abused_certs", "3\n");
}

/* A link made with the plain strain_store_link_cert() (before schema 3) has no role: taken
 * as a signer, so an older database's certificates still count. */
static int no_info_cb(const strain_store_cert_link *l, const strain_store_sample *s, void *payload)
{
    (void)s;
    *(int *)payload += !l->has_info;
    return 0;
}

static void test_plain_link(void **state)
{
    (void)state;
    db d;
    strain_store_sample s;
    strain_store_cert c;
    int64_t sid = 0, cid = 0;
    int no_info = 0;
    db_open(&d, "plain.db");
    memset(&s, 0, sizeof(s));
    memset(&c, 0, sizeof(c));
    memset(s.sha256, 'a', 64);
    s.label.actor = "A";
    s.label.clean = STRAIN_STORE_KEEP;
    assert_int_equal(strain_store_put_sample(d.st, &sid, &s), 0);
    memset(s.sha256, 'b', 64);
    s.label.actor = "B";
    int64_t sid2 = 0;
    assert_int_equal(strain_store_put_sample(d.st, &sid2, &s), 0);
    memset(c.sha256, 'c', 64);
    c.subject = "/CN=old";
    assert_int_equal(strain_store_put_cert(d.st, &cid, &c), 0);
    assert_int_equal(strain_store_link_cert(d.st, sid, cid), 0);
    assert_int_equal(strain_store_link_cert(d.st, sid2, cid), 0);
    assert_int_equal(strain_store_cert_links(d.st, cid, no_info_cb, &no_info), 0);
    assert_int_equal(no_info, 2);
    strain_certs_findings *fs = NULL;
    found x;
    assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_MULTI_ACTOR, NULL), 1);
    strain_certs_findings_free(fs);
    strain_store_cert_link l = {sid, 999, true, true, "valid", false};
    assert_int_equal(strain_store_link_cert_info(d.st, &l), STRAIN_ENOTFOUND);
    db_close(&d);
}

/* ---- real signed files: /work/shared/corpus/signed.tsv (osslsigncode's ground truth) ---- */

static char *tsv_col(char **c, char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(hdr[i], name) == 0) {
            return c[i];
        }
    }
    fail_msg("signed.tsv: no column %s", name);
    return NULL;
}

static int tsv_split(char *line, char **out, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        out[n++] = p;
        char *t = strchr(p, '\t');
        if (t == NULL) {
            break;
        }
        *t = '\0';
        p = t + 1;
    }
    return n;
}

typedef struct cert_hit {
    strain_store_cert c;
    char subject[512], issuer[512], serial[128];
} cert_hit;

static int cert_hit_cb(const strain_store_cert *c, void *payload)
{
    cert_hit *h = payload;
    h->c = *c;
    snprintf(h->subject, sizeof(h->subject), "%s", c->subject ? c->subject : "");
    snprintf(h->issuer, sizeof(h->issuer), "%s", c->issuer ? c->issuer : "");
    snprintf(h->serial, sizeof(h->serial), "%s", c->serial ? c->serial : "");
    return 0;
}

typedef struct signer_of {
    int64_t sample;
    bool signer;
    char verdict[32];
    int n;
} signer_of;

static int signer_of_cb(const strain_store_cert_link *l, const strain_store_sample *s,
                        void *payload)
{
    signer_of *so = payload;
    so->n++;
    if (s->id == so->sample) {
        so->signer = l->signer;
        snprintf(so->verdict, sizeof(so->verdict), "%s", l->verdict);
    }
    return 0;
}

/* Every signed file of the public corpus present here is recorded (system trust store); each
 * row's signer certificate must be stored with osslsigncode's subject, issuer, serial and
 * thumbprint, linked as the signer with the verdict the system store gave. Then the real
 * certificate that signs both snoretoast builds is made to look stolen (one build relabelled
 * clean, the other given to an actor) and must raise the finding. */
static void test_corpus_signed(void **state)
{
    (void)state;
    char path[2048];
    const char *req = getenv("STRAIN_REQUIRE_CORPUS");
    bool require = req != NULL && strcmp(req, "1") == 0;
    snprintf(path, sizeof(path), "%s/corpus/signed.tsv", getenv("STRAIN_SHARED_DIR"));
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (require) {
            fail_msg("cannot read %s", path);
        }
        skip();
    }
    const char *signed_dir = getenv("STRAIN_SIGNED_DIR");
    char def[1024];
    if (signed_dir == NULL) {
        snprintf(def, sizeof(def), "%s/.cache/strain-corpus/signed", getenv("HOME"));
        signed_dir = def;
    }
    char hline[4096], line[4096];
    char *hdr[64], *c[64];
    db d;
    int rows = 0, matched = 0, missing = 0;
    int64_t ids[64];
    char shas[64][STRAIN_SHA256_HEX];
    char signer1[STRAIN_SHA1_HEX] = "";
    int64_t first_id = 0, second_id = 0;
    size_t n_ids = 0;
    db_open(&d, "corpus.db");
    assert_non_null(fgets(hline, sizeof(hline), f));
    int nh = tsv_split(hline, hdr, 64);
    while (fgets(line, sizeof(line), f) != NULL) {
        int nc = tsv_split(line, c, 64);
        assert_int_equal(nc, nh);
        rows++;
        const char *src = tsv_col(c, hdr, nh, "source");
        const char *p = tsv_col(c, hdr, nh, "path");
        const char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
        const char *sha = tsv_col(c, hdr, nh, "sha256");
        char file[2048];
        if (strcmp(src, "npm") == 0) {
            snprintf(file, sizeof(file), "%s/%s/%s/%s%s/%s", getenv("STRAIN_CORPUS_DIR"),
                     tsv_col(c, hdr, nh, "actor"), tsv_col(c, hdr, nh, "family"),
                     tsv_col(c, hdr, nh, "version"),
                     strcmp(tsv_col(c, hdr, nh, "format"), "pe32") == 0 ? "@win32-ia32" : "", base);
        } else {
            snprintf(file, sizeof(file), "%s/debian/%s%s", signed_dir,
                     tsv_col(c, hdr, nh, "package"), p);
        }
        FILE *t = fopen(file, "rb");
        if (t == NULL) {
            missing++;
            fprintf(stderr, "signed.tsv: missing %s\n", file);
            continue;
        }
        fclose(t);
        int64_t id = 0;
        for (size_t k = 0; k < n_ids; k++) {
            if (strcmp(shas[k], sha) == 0) {
                id = ids[k];
            }
        }
        if (id == 0) { /* a file with several signatures has several rows */
            id = add_file(&d, file, NULL, base, NULL, tsv_col(c, hdr, nh, "family"), 0, NULL, NULL);
            assert_true(n_ids < 64);
            ids[n_ids] = id;
            snprintf(shas[n_ids++], STRAIN_SHA256_HEX, "%s", sha);
        }
        char sha1[STRAIN_SHA1_HEX];
        snprintf(sha1, sizeof(sha1), "%s", tsv_col(c, hdr, nh, "signer_sha1"));
        for (char *q = sha1; *q; q++) {
            *q = (char)(*q >= 'A' && *q <= 'F' ? *q + 32 : *q);
        }
        cert_hit h;
        memset(&h, 0, sizeof(h));
        assert_int_equal(strain_store_get_cert(d.st, sha1, cert_hit_cb, &h), 0);
        assert_string_equal(h.subject, tsv_col(c, hdr, nh, "signer_subject"));
        assert_string_equal(h.issuer, tsv_col(c, hdr, nh, "signer_issuer"));
        assert_string_equal(h.serial, tsv_col(c, hdr, nh, "signer_serial"));
        signer_of so = {id, false, "", 0};
        assert_int_equal(strain_store_cert_links(d.st, h.c.id, signer_of_cb, &so), 0);
        assert_true(so.signer);
        assert_string_equal(so.verdict, strcmp(tsv_col(c, hdr, nh, "verify_system_ca"), "ok") == 0
                                            ? "valid"
                                            : "untrusted-root");
        if (strcmp(src, "npm") == 0) {
            if (signer1[0] == '\0') {
                snprintf(signer1, sizeof(signer1), "%s", sha1);
                first_id = id;
            } else if (strcmp(signer1, sha1) == 0 && id != first_id) {
                second_id = id;
            }
        }
        matched++;
    }
    fclose(f);
    fprintf(stderr, "signed.tsv: %d/%d rows matched (%d missing)\n", matched, rows, missing);
    if (first_id > 0 && second_id > 0) {
        /* Same real certificate on two builds, nobody attributed: no finding. */
        strain_certs_findings *fs = NULL;
        found x;
        assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
        assert_int_equal(strain_certs_findings_count(fs), 0);
        strain_certs_findings_free(fs);
        strain_store_sample *a = NULL;
        strain_store_sample *b = NULL;
        assert_int_equal(strain_store_get_sample_by_id(d.st, &a, first_id), 0);
        assert_int_equal(strain_store_get_sample_by_id(d.st, &b, second_id), 0);
        strain_store_label clean = {NULL, NULL, NULL, 0, false, 1};
        strain_store_label actor = {"APT-X", NULL, NULL, 0, false, 0};
        assert_int_equal(strain_store_label_set(d.st, a->sha256, &clean), 0);
        assert_int_equal(strain_store_label_set(d.st, b->sha256, &actor), 0);
        strain_store_sample_free(a);
        strain_store_sample_free(b);
        assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
        assert_int_equal(pick(&x, fs, STRAIN_CERTS_STOLEN, signer1), 1);
        assert_int_equal(x.f[0]->n_samples, 2);
        assert_int_equal(strain_certs_findings_count(fs), 1);
        strain_certs_findings_free(fs);
    }
    db_close(&d);
    if (missing > 0 && require) {
        fail_msg("signed.tsv: %d files missing and STRAIN_REQUIRE_CORPUS=1", missing);
    }
    if (matched == 0) {
        skip();
    }
}

/* A certificate whose subject is longer than the store keeps (attacker-written) is still
 * recorded: cut with a "..." mark, found by its exact thumbprint. */
static void test_long_subject(void **state)
{
    (void)state;
    db d;
    cert_hit h;
    char *sha1 = fx_text("long.sha1");
    char *full = NULL;
    int linked = 0;
    char p[1200];
    assert_int_equal(th_run(&full,
                            "openssl x509 -in '%s/long.crt' -noout -subject -nameopt compat "
                            "| sed 's/^subject=//'",
                            fx),
                     0);
    full[strcspn(full, "\n")] = '\0';
    assert_true(strlen(full) > 1023);
    db_open(&d, "long.db");
    snprintf(p, sizeof(p), "%s/s_long.exe", fx);
    add_file(&d, p, NULL, "s_long.exe", "APT-Y", "G", 0, NULL, &linked);
    assert_true(linked >= 2);
    memset(&h, 0, sizeof(h));
    assert_int_equal(strain_store_get_cert(d.st, sha1, cert_hit_cb, &h), 0);
    db_close(&d);
    char *got = NULL;
    assert_int_equal(th_run(&got,
                            "sqlite3 '%s' \"SELECT length(subject), substr(subject, -3), "
                            "substr(subject, 1, 1020) FROM certificates WHERE sha1 = '%s'\"",
                            d.path, sha1),
                     0);
    /* openssl's subject, cut at 1020 bytes, then the mark. */
    char want[1200];
    snprintf(want, sizeof(want), "1023|...|%.1020s\n", full);
    assert_string_equal(got, want);
    free(got);
    free(full);
    free(sha1);
}

/* A file being queried, not in the database: the findings of the certificates signing it. */
static size_t report_findings(db *d, const char *file, found *x, strain_certs_kind k,
                              const char *sha1)
{
    char p[1200], ca[1200];
    size_t len = 0;
    strain_binary *bin = NULL;
    strain_sig_report *rep = NULL;
    strain_certs_findings *fs = NULL;
    snprintf(p, sizeof(p), "%s/%s", fx, file);
    snprintf(ca, sizeof(ca), "%s/root.crt", fx);
    uint8_t *data = th_read_file(p, &len);
    assert_non_null(data);
    assert_int_equal(strain_binary_parse(&bin, d->ctx, data, len), 0);
    strain_sig_opts o = {ca, NULL, 0};
    assert_int_equal(strain_sig_verify(&rep, d->ctx, bin, &o), 0);
    assert_int_equal(strain_certs_findings_report(&fs, d->ctx, d->st, rep), 0);
    size_t n = strain_certs_findings_count(fs);
    pick(x, fs, k, sha1);
    size_t picked = x->n;
    strain_certs_findings_free(fs);
    strain_sig_report_free(rep);
    strain_binary_free(bin);
    free(data);
    return picked * 100 + n; /* both counts in one value for the asserts */
}

static void test_report(void **state)
{
    (void)state;
    db d;
    found x;
    char *vendor = fx_text("vendor.sha1");
    char *leaf = fx_text("leaf.sha1");
    db_open(&d, "report.db");
    fill(&d);
    /* vendor.exe (sig fixtures; Vendor Corp): the stolen and driver findings, 2 in all. */
    assert_int_equal(report_findings(&d, "vendor.exe", &x, STRAIN_CERTS_STOLEN, vendor), 102);
    /* valid.exe (leaf): multi-actor and multi-family. */
    assert_int_equal(report_findings(&d, "valid.exe", &x, STRAIN_CERTS_MULTI_ACTOR, leaf), 102);
    /* nested.exe: leaf (SHA-1) and vendor (nested SHA-256): all four. */
    assert_int_equal(report_findings(&d, "nested.exe", &x, STRAIN_CERTS_STOLEN, vendor), 104);
    /* transplant.exe carries leaf's signature over other bytes: leaf did not sign it. */
    assert_int_equal(report_findings(&d, "transplant.exe", &x, STRAIN_CERTS_MULTI_ACTOR, NULL), 0);
    /* one.exe is unsigned. */
    assert_int_equal(report_findings(&d, "one.exe", &x, STRAIN_CERTS_STOLEN, NULL), 0);
    db_close(&d);
    free(vendor);
    free(leaf);
}

/* Genome similarity (strain_compare over the stored genomes), what the engine passes. */
static double genome_sim(int64_t a, int64_t b, void *payload)
{
    db *d = payload;
    strain_genome *g[2] = {NULL, NULL};
    int64_t ids[2] = {a, b};
    strain_comparison *cmp = NULL;
    double r = STRAIN_ERROR;
    for (int i = 0; i < 2; i++) {
        void *blob = NULL;
        size_t len = 0;
        uint32_t ver = 0;
        int err = strain_store_get_genome(d->st, &blob, &len, &ver, ids[i]);
        if (err == 0) {
            err = strain_genome_deserialize(&g[i], d->ctx, blob, len);
        }
        free(blob);
        if (err < 0) {
            goto done;
        }
    }
    if (strain_compare(&cmp, d->ctx, g[0], g[1]) == 0) {
        r = cmp->score / 100.0;
    }
done:
    strain_comparison_free(cmp);
    strain_genome_free(g[0]);
    strain_genome_free(g[1]);
    return r;
}

/* The LuckyMouse pattern with the engine's own code similarity: the driver's genome shares
 * nothing with the vendor tools' (whose genomes are near identical: same vendor library). */
static void test_unrelated_genomes(void **state)
{
    (void)state;
    db d;
    strain_certs_findings *fs = NULL;
    found x;
    char *vendor = fx_text("vendor.sha1");
    db_open(&d, "genomes.db");
    fill(&d);
    assert_true(genome_sim(id_tool1, id_tool2, &d) >= 0.9);
    assert_true(genome_sim(id_driver, id_tool1, &d) < 0.1);
    assert_int_equal(strain_certs_unrelated(&fs, d.ctx, d.st, id_driver, genome_sim, &d, 0.3), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 1);
    assert_int_equal(strain_certs_findings_count(fs), 1);
    assert_true(x.f[0]->best_similarity < 0.1);
    strain_certs_findings_free(fs);
    assert_int_equal(strain_certs_unrelated(&fs, d.ctx, d.st, id_tool1, genome_sim, &d, 0.3), 0);
    assert_int_equal(strain_certs_findings_count(fs), 0);
    strain_certs_findings_free(fs);
    /* The engine's similarity, through the public callback: the same verdicts. */
    assert_int_equal(strain_certs_unrelated(&fs, d.ctx, d.st, id_driver,
                                            strain_certs_code_similarity, d.st,
                                            STRAIN_CERTS_UNRELATED_THRESHOLD),
                     0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 1);
    strain_certs_findings_free(fs);
    assert_true(strain_certs_code_similarity(id_tool1, id_tool2, d.st) >=
                STRAIN_CERTS_UNRELATED_THRESHOLD);
    db_close(&d);
    free(vendor);
}

/* A file as `strain query` sees it: verified (against the fixture root, or the system bundle
 * when ca is NULL), its genome built; the unrelated-code findings for it. Returns their
 * number, *best the first one's best similarity. */
static size_t report_unrelated(db *d, const char *file, bool fixture_ca, double threshold,
                               double *best)
{
    char p[1200], ca[1200];
    size_t len = 0;
    strain_binary *bin = NULL;
    strain_sig_report *rep = NULL;
    strain_genome *g = NULL;
    strain_certs_findings *fs = NULL;
    char sha[STRAIN_SHA256_HEX];
    snprintf(p, sizeof(p), "%s/%s", fx, file);
    snprintf(ca, sizeof(ca), "%s/root.crt", fx);
    uint8_t *data = th_read_file(p, &len);
    assert_non_null(data);
    assert_int_equal(strain_hash_sha256(sha, data, len), 0);
    assert_int_equal(strain_binary_parse(&bin, d->ctx, data, len), 0);
    strain_sig_opts o = {fixture_ca ? ca : NULL, NULL, 0};
    assert_int_equal(strain_sig_verify(&rep, d->ctx, bin, &o), 0);
    assert_int_equal(strain_genome_build(&g, d->ctx, bin, NULL), 0);
    assert_int_equal(strain_certs_unrelated_report(&fs, d->ctx, d->st, rep, g, sha, threshold), 0);
    size_t n = strain_certs_findings_count(fs);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strain_certs_findings_get(fs, i)->kind, STRAIN_CERTS_UNRELATED);
    }
    *best = n > 0 ? strain_certs_findings_get(fs, 0)->best_similarity : -1;
    strain_certs_findings_free(fs);
    strain_genome_free(g);
    strain_sig_report_free(rep);
    strain_binary_free(bin);
    free(data);
    return n;
}

/* The LuckyMouse pattern end to end with the engine's similarity. The vendor's tool and its
 * runtime are clean references; an actor's relay program with code of its own, built with
 * the same toolchain, carries the vendor's valid signature. Raw genome similarity calls the
 * relay and the tool alike (the C runtime they share); with the clean runtime left out the
 * relay shares nothing, while the vendor's second tool (never stored) still shares the
 * vendor library. */
static void test_unrelated_engine(void **state)
{
    (void)state;
    db d, bare;
    strain_certs_findings *fs = NULL;
    found x;
    double best = 0;
    char p[1200];
    char *vendor = fx_text("vendor.sha1");
    const double thr = STRAIN_CERTS_UNRELATED_THRESHOLD;
    db_open(&d, "luckymouse.db");
    snprintf(p, sizeof(p), "%s/runtime.exe", fx);
    int64_t rt = add_file(&d, p, NULL, "runtime.exe", NULL, NULL, 1, NULL, NULL);
    int64_t t1 = add(&d, "s_vendor_tool1.exe", NULL, NULL, 1, NULL);
    int64_t ap = add(&d, "s_actor_proxy.exe", "APT-LM", "proxy", 0, NULL);
    assert_true(rt > 0);

    double raw = genome_sim(t1, ap, &d);
    double eng = strain_certs_code_similarity(t1, ap, d.st);
    print_message("vendor tool vs actor relay: raw %.3f, clean code left out %.3f\n", raw, eng);
    assert_true(raw >= thr); /* without the discount the finding could never fire */
    assert_true(eng >= 0 && eng < thr);
    assert_true(strain_certs_code_similarity(t1, 999999, d.st) == STRAIN_ENOTFOUND);

    /* `strain certs list`: one unrelated-code finding, the relay against the tool. */
    assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 1);
    assert_int_equal(x.f[0]->n_samples, 2);
    assert_true(has_id(x.f[0], t1) && has_id(x.f[0], ap));
    assert_true(x.f[0]->best_similarity < thr);
    assert_non_null(strstr(x.f[0]->text, "shares nothing with the 1 sample"));
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_STOLEN, vendor), 1);
    assert_int_equal(strain_certs_findings_count(fs), 2);
    strain_certs_findings_free(fs);

    /* `strain query`: the relay (stored), APT-X's sample (not stored) raise it; the vendor's
     * second tool (not stored) does not: it shares the vendor library with the first. */
    assert_int_equal(report_unrelated(&d, "s_actor_proxy.exe", true, thr, &best), 1);
    assert_true(best < thr);
    assert_int_equal(report_unrelated(&d, "s_actor_x.exe", true, thr, &best), 1);
    assert_int_equal(report_unrelated(&d, "s_vendor_tool2.exe", true, thr, &best), 0);
    /* Its similarity, read through a threshold no file reaches. */
    assert_int_equal(report_unrelated(&d, "s_vendor_tool2.exe", true, 1.01, &best), 1);
    print_message("vendor tool 2 (query) vs vendor tool 1: %.3f\n", best);
    assert_true(best >= thr);
    /* Not a trusted signature (fixture root unknown to the system bundle): not judged. */
    assert_int_equal(report_unrelated(&d, "s_actor_proxy.exe", false, thr, &best), 0);
    /* Unsigned, or signed by a certificate not in the database: nothing. */
    assert_int_equal(report_unrelated(&d, "one.exe", true, thr, &best), 0);
    assert_int_equal(report_unrelated(&d, "valid.exe", true, thr, &best), 0);
    /* The stored tool, labelled clean, is never judged, even queried. */
    assert_int_equal(report_unrelated(&d, "s_vendor_tool1.exe", true, 1.01, &best), 0);
    db_close(&d);

    /* Without the clean runtime, the tool (clean itself, so its own code is not discounted
     * against it) and the relay share the C runtime: the pattern cannot be seen. */
    db_open(&bare, "luckymouse_bare.db");
    add(&bare, "s_vendor_tool1.exe", NULL, NULL, 1, NULL);
    add(&bare, "s_actor_proxy.exe", "APT-LM", "proxy", 0, NULL);
    assert_int_equal(strain_certs_findings_db(&fs, bare.ctx, bare.st), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 0);
    strain_certs_findings_free(fs);
    db_close(&bare);

    /* Several clean tools of the vendor hold its library: it is still the vendor's code, not
     * clean code to leave out (only clean samples the certificate does not sign make code
     * clean), so a new tool of the vendor stays alike and the relay stays unrelated. */
    db_open(&d, "luckymouse_many.db");
    snprintf(p, sizeof(p), "%s/runtime.exe", fx);
    add_file(&d, p, NULL, "runtime.exe", NULL, NULL, 1, NULL, NULL);
    t1 = add(&d, "s_vendor_tool1.exe", NULL, NULL, 1, NULL);
    int64_t t3 = add(&d, "s_vendor_tool3.exe", NULL, NULL, 1, NULL);
    ap = add(&d, "s_actor_proxy.exe", "APT-LM", "proxy", 0, NULL);
    assert_int_equal(report_unrelated(&d, "s_vendor_tool2.exe", true, thr, &best), 0);
    assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 1);
    assert_int_equal(x.f[0]->n_samples, 3);
    assert_true(has_id(x.f[0], t1) && has_id(x.f[0], t3) && has_id(x.f[0], ap));
    assert_non_null(strstr(x.f[0]->text, "shares nothing with the 2 samples"));
    strain_certs_findings_free(fs);
    db_close(&d);
    free(vendor);
}

/* Genome blob of a fixture (as `strain add` stores it); caller frees. */
static uint8_t *fx_genome(db *d, const char *file, size_t *len)
{
    char p[1200];
    size_t n = 0;
    strain_binary *b = NULL;
    strain_genome *g = NULL;
    uint8_t *blob = NULL;
    snprintf(p, sizeof(p), "%s/%s", fx, file);
    uint8_t *data = th_read_file(p, &n);
    assert_non_null(data);
    assert_int_equal(strain_binary_parse(&b, d->ctx, data, n), 0);
    assert_int_equal(strain_genome_build(&g, d->ctx, b, NULL), 0);
    assert_int_equal(strain_genome_serialize(&blob, len, d->ctx, g), 0);
    strain_genome_free(g);
    strain_binary_free(b);
    free(data);
    return blob;
}

/* A similarity for the bound on peers: counts its calls, finds nothing alike (the samples
 * of test_unrelated_caps are built to share no code; the count is what is tested). */
static double never_alike(int64_t a, int64_t b, void *payload)
{
    (void)a;
    (void)b;
    ++*(int *)payload;
    return 0.0;
}

/* The bounds: one file is compared with at most STRAIN_CERTS_MAX_UNRELATED_PEERS of the
 * vendor's software (and says so), and a database-wide pass stops after
 * STRAIN_CERTS_MAX_UNRELATED_COMPARISONS units of work, counting the files left unjudged
 * (reported by `strain certs list`), never clearing them. Samples are stored directly with
 * the vendor's real signature record and the fixtures' genomes (the bytes behind them do not
 * matter to the findings). */
static void test_unrelated_caps(void **state)
{
    (void)state;
    db d;
    char p[1200], ca[1200], name[64];
    size_t n = 0, len_peer = 0, len_target = 0;
    strain_binary *sb = NULL;
    strain_sig_report *rep = NULL;
    strain_certs_findings *fs = NULL;
    found x;
    const size_t n_peers = STRAIN_CERTS_MAX_UNRELATED_PEERS + 8;
    /* The pass's work is genomes loaded plus comparisons: the first target costs its load,
     * the 32 peers' loads and 32 comparisons, each later one its load and 32 comparisons.
     * Four targets more than that budget judges in full. */
    const size_t per = STRAIN_CERTS_MAX_UNRELATED_PEERS + 1;
    const size_t judged =
        1 +
        (STRAIN_CERTS_MAX_UNRELATED_COMPARISONS - (1 + 2 * STRAIN_CERTS_MAX_UNRELATED_PEERS)) / per;
    const size_t n_targets = judged + 4;
    char *vendor = fx_text("vendor.sha1");
    db_open(&d, "caps.db");
    snprintf(p, sizeof(p), "%s/s_vendor_tool1.exe", fx);
    snprintf(ca, sizeof(ca), "%s/root.crt", fx);
    uint8_t *data = th_read_file(p, &n);
    assert_int_equal(strain_binary_parse(&sb, d.ctx, data, n), 0);
    strain_sig_opts o = {ca, NULL, 0};
    assert_int_equal(strain_sig_verify(&rep, d.ctx, sb, &o), 0);
    assert_int_equal(strain_sig_report_info(rep)->signatures[0].verdict, STRAIN_SIG_VALID);
    uint8_t *peer_g = fx_genome(&d, "runtime.exe", &len_peer);
    uint8_t *target_g = fx_genome(&d, "s_driver.sys", &len_target);
    int64_t first_target = 0;
    assert_int_equal(strain_store_begin(d.st), 0);
    for (size_t i = 0; i < n_peers + n_targets; i++) {
        bool peer = i < n_peers;
        strain_store_sample s;
        int64_t id = 0;
        memset(&s, 0, sizeof(s));
        snprintf(name, sizeof(name), "%s-%zu", peer ? "peer" : "target", i);
        assert_int_equal(strain_hash_sha256(s.sha256, name, strlen(name)), 0);
        s.size = 1;
        s.file_name = name;
        s.label.actor = peer ? NULL : "APT-C";
        s.label.family = peer ? NULL : "C";
        s.label.clean = peer ? 1 : 0;
        assert_int_equal(strain_store_put_sample(d.st, &id, &s), 0);
        strain_store_features feat = {1, peer ? peer_g : target_g, peer ? len_peer : len_target,
                                      NULL, 0};
        assert_int_equal(strain_store_put_features(d.st, id, &feat), 0);
        assert_true(strain_certs_record(d.st, id, rep, false) > 0);
        if (!peer && first_target == 0) {
            first_target = id;
        }
    }
    assert_int_equal(strain_store_commit(d.st), 0);

    /* One file: the first 32 of the 40 peers, and the text says so. */
    int calls = 0;
    assert_int_equal(
        strain_certs_unrelated(&fs, d.ctx, d.st, first_target, never_alike, &calls, 0.1), 0);
    assert_int_equal(calls, STRAIN_CERTS_MAX_UNRELATED_PEERS);
    assert_int_equal(pick(&x, fs, STRAIN_CERTS_UNRELATED, vendor), 1);
    assert_int_equal(x.f[0]->n_samples, STRAIN_CERTS_MAX_UNRELATED_PEERS + 1);
    char want[96];
    snprintf(want, sizeof(want), "the first %u of the %zu samples",
             STRAIN_CERTS_MAX_UNRELATED_PEERS, n_peers);
    assert_non_null(strstr(x.f[0]->text, want));
    strain_certs_findings_free(fs);

    /* The database: the engine's similarity (runtime vs driver code: nothing shared) judges
     * as many targets as the budget allows; the last is counted, not cleared. */
    assert_int_equal(strain_certs_findings_db(&fs, d.ctx, d.st), 0);
    size_t n_un = 0;
    for (size_t i = 0; i < strain_certs_findings_count(fs); i++) {
        const strain_certs_finding *f = strain_certs_findings_get(fs, i);
        n_un += f->kind == STRAIN_CERTS_UNRELATED && strcmp(f->cert_sha1, vendor) == 0;
    }
    assert_int_equal(n_un, judged);
    assert_int_equal(strain_certs_findings_skipped(fs), 4);
    strain_certs_findings_free(fs);
    db_close(&d);
    char *out = NULL;
    assert_int_equal(th_run(&out, "'%s' certs list --db '%s' 2>&1 >/dev/null", bin(), d.path), 0);
    assert_non_null(strstr(out, "unrelated-code check not made for 4 signed files"));
    free(out);
    free(peer_g);
    free(target_g);
    strain_sig_report_free(rep);
    strain_binary_free(sb);
    free(data);
    free(vendor);
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_findings),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_unrelated),
        cmocka_unit_test(test_abused),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_list_format),
        cmocka_unit_test(test_plain_link),
        cmocka_unit_test(test_corpus_signed),
        cmocka_unit_test(test_long_subject),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_unrelated_genomes),
        cmocka_unit_test(test_unrelated_engine),
        cmocka_unit_test(test_unrelated_caps),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, setup, NULL);
}
