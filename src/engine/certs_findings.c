/*
 * Findings drawn from the certificates in the store: for each certificate, the samples it
 * really signed (see certs.h: signer link, cryptography holding over the file) and their
 * labels decide whether it signs both clean software and an actor's samples (likely stolen),
 * spans several actors or families, or signs a kernel driver and an actor's user-mode code;
 * every certificate is also matched against the imported abused list. Per-certificate work
 * reads that certificate's links only, so a sample's findings cost a few indexed queries.
 * The unrelated-code findings (certs_unrelated.c) join them per certificate; they compare
 * genomes, so they alone are capped (STRAIN_CERTS_MAX_UNRELATED_COMPARISONS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/certs_impl.h"
#include "util/err.h"
#include "util/limits.h"

const char *strain_certs_kind_name(strain_certs_kind k)
{
    switch (k) {
    case STRAIN_CERTS_ABUSED: return "abused";
    case STRAIN_CERTS_STOLEN: return "stolen";
    case STRAIN_CERTS_MULTI_ACTOR: return "multi-actor";
    case STRAIN_CERTS_MULTI_FAMILY: return "multi-family";
    case STRAIN_CERTS_DRIVER_ACTOR: return "driver-and-actor";
    case STRAIN_CERTS_UNRELATED: return "unrelated-code";
    }
    return "unknown";
}

size_t strain_certs_findings_count(const strain_certs_findings *f)
{
    return f != NULL ? f->items.len : 0;
}

size_t strain_certs_findings_skipped(const strain_certs_findings *f)
{
    return f != NULL ? f->skipped : 0;
}

const strain_certs_finding *strain_certs_findings_get(const strain_certs_findings *f, size_t i)
{
    if (f == NULL || i >= f->items.len) {
        return NULL;
    }
    return STRAIN_VEC_AT(&f->items, strain_certs_finding, i);
}

void strain_certs_findings_free(strain_certs_findings *f)
{
    if (f == NULL) {
        return;
    }
    strain_vec_free(&f->items);
    strain_arena_release(&f->arena);
    free(f);
}

int strain_certs__findings_new(strain_certs_findings **out)
{
    strain_certs_findings *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return STRAIN_ENOMEM;
    }
    f->items = (strain_vec)STRAIN_VEC_INIT(strain_certs_finding);
    *out = f;
    return STRAIN_OK;
}

char *strain_certs__dup(strain_certs_findings *f, const char *s)
{
    return strain_arena_strdup(&f->arena, s != NULL ? s : "");
}

/* A certificate's record, with strings copied into the findings' arena. */
typedef struct cert_rec {
    strain_store_cert c;
} cert_rec;

/* One signed sample as the findings see it. */
typedef struct signed_sample {
    int64_t id;
    const char *actor;  /* "" when none */
    const char *family; /* "" when none */
    bool clean;
    bool driver;
    bool signs; /* the certificate really signed it (see certs.h) */
} signed_sample;

typedef struct links {
    strain_certs_findings *f;
    strain_vec items; /* signed_sample */
    bool oom;
} links;

static bool link_signs(const strain_store_cert_link *l)
{
    if (!l->has_info) {
        return true; /* a link made without role: taken as a signer, as it was stored */
    }
    return l->signer &&
           (strcmp(l->verdict, "valid") == 0 || strcmp(l->verdict, "untrusted-root") == 0 ||
            strcmp(l->verdict, "expired") == 0);
}

static int collect_link(const strain_store_cert_link *l, const strain_store_sample *s,
                        void *payload)
{
    links *ls = payload;
    signed_sample *x = strain_vec_push(&ls->items);
    if (x == NULL) {
        ls->oom = true;
        return STRAIN_ENOMEM;
    }
    x->id = s->id;
    x->actor = strain_certs__dup(ls->f, s->label.actor);
    x->family = strain_certs__dup(ls->f, s->label.family);
    x->clean = s->label.clean == 1;
    x->driver = l->kernel_driver;
    x->signs = link_signs(l);
    if (x->actor == NULL || x->family == NULL) {
        ls->oom = true;
        return STRAIN_ENOMEM;
    }
    return 0;
}

/* Distinct non-empty strings of the chosen samples (field 0 actor, 1 family). */
static int distinct(strain_certs_findings *f, const signed_sample *v, size_t n, const bool *pick,
                    int field, const char *const **out, size_t *out_n)
{
    const char **arr = strain_arena_array(&f->arena, n + 1, sizeof(*arr));
    size_t k = 0;
    if (arr == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = field == 0 ? v[i].actor : v[i].family;
        bool dup = false;
        if (!pick[i] || s[0] == '\0') {
            continue;
        }
        for (size_t j = 0; j < k && !dup; j++) {
            dup = strcmp(arr[j], s) == 0;
        }
        if (!dup) {
            arr[k++] = s;
        }
    }
    *out = arr;
    *out_n = k;
    return STRAIN_OK;
}

int strain_certs__add(strain_certs_findings *f, strain_certs_finding **out, strain_certs_kind kind,
                      const strain_store_cert *c)
{
    strain_certs_finding *x = strain_vec_push(&f->items);
    if (x == NULL) {
        return STRAIN_ENOMEM;
    }
    x->kind = kind;
    x->cert_id = c->id;
    snprintf(x->cert_sha1, sizeof(x->cert_sha1), "%s", c->sha1);
    snprintf(x->cert_sha256, sizeof(x->cert_sha256), "%s", c->sha256);
    x->subject = strain_certs__dup(f, c->subject);
    x->issuer = strain_certs__dup(f, c->issuer);
    x->serial = strain_certs__dup(f, c->serial);
    x->text = x->reason = x->list_actor = x->source = x->note = "";
    x->actors = x->families = NULL;
    if (x->subject == NULL || x->issuer == NULL || x->serial == NULL) {
        return STRAIN_ENOMEM;
    }
    *out = x;
    return STRAIN_OK;
}

/* Fills the evidence of a finding from the picked samples. */
static int evidence(strain_certs_findings *f, strain_certs_finding *x, const signed_sample *v,
                    size_t n, const bool *pick)
{
    int64_t *ids = strain_arena_array(&f->arena, n + 1, sizeof(*ids));
    size_t k = 0;
    int err;
    if (ids == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (pick[i]) {
            ids[k++] = v[i].id;
        }
    }
    x->sample_ids = ids;
    x->n_samples = k;
    STRAIN_TRY(distinct(f, v, n, pick, 0, &x->actors, &x->n_actors));
    STRAIN_TRY(distinct(f, v, n, pick, 1, &x->families, &x->n_families));
done:
    return err;
}

/* An abused-list entry kept for matching. */
typedef struct abused_rec {
    const char *sha1, *sha256, *serial, *issuer, *reason, *actor, *source, *note;
} abused_rec;

typedef struct abused_list {
    strain_certs_findings *f;
    strain_vec items; /* abused_rec */
    bool oom;
} abused_list;

static const char *dup_or_null(strain_certs_findings *f, const char *s, bool *oom)
{
    if (s == NULL) {
        return NULL;
    }
    const char *d = strain_arena_strdup(&f->arena, s);
    *oom |= d == NULL;
    return d;
}

static int collect_abused(const strain_store_abused *a, void *payload)
{
    abused_list *al = payload;
    abused_rec *r = strain_vec_push(&al->items);
    if (r == NULL) {
        return STRAIN_ENOMEM;
    }
    r->sha1 = dup_or_null(al->f, a->sha1, &al->oom);
    r->sha256 = dup_or_null(al->f, a->sha256, &al->oom);
    r->serial = dup_or_null(al->f, a->serial, &al->oom);
    r->issuer = dup_or_null(al->f, a->issuer, &al->oom);
    r->reason = dup_or_null(al->f, a->reason, &al->oom);
    r->actor = dup_or_null(al->f, a->actor, &al->oom);
    r->source = dup_or_null(al->f, a->source, &al->oom);
    r->note = dup_or_null(al->f, a->note, &al->oom);
    return al->oom ? STRAIN_ENOMEM : 0;
}

/* Same rule as strain_sig_check_abused(): thumbprint, or serial (leading zeros and case
 * ignored) with the exact issuer. */
static bool hex_eq(const char *a, const char *b)
{
    while (*a == '0' && a[1] != '\0') {
        a++;
    }
    while (*b == '0' && b[1] != '\0') {
        b++;
    }
    return strcasecmp(a, b) == 0;
}

static bool abused_matches(const abused_rec *e, const strain_store_cert *c)
{
    return (e->sha1 != NULL && strcasecmp(e->sha1, c->sha1) == 0) ||
           (e->sha256 != NULL && strcasecmp(e->sha256, c->sha256) == 0) ||
           (e->serial != NULL && e->issuer != NULL && c->serial != NULL && c->issuer != NULL &&
            hex_eq(e->serial, c->serial) && strcmp(e->issuer, c->issuer) == 0);
}

int strain_certs__abused_fill(strain_certs_findings *f, strain_certs_finding *x,
                              const strain_store_abused *a)
{
    bool oom = false;
    x->reason = a->reason != NULL ? dup_or_null(f, a->reason, &oom) : "";
    x->list_actor = a->actor != NULL ? dup_or_null(f, a->actor, &oom) : "";
    x->source = a->source != NULL ? dup_or_null(f, a->source, &oom) : "";
    x->note = a->note != NULL ? dup_or_null(f, a->note, &oom) : "";
    x->text =
        strain_arena_printf(&f->arena, "on the abused-certificate list (%s%s%s)",
                            a->reason != NULL ? a->reason : "no reason given",
                            a->actor != NULL ? ", actor " : "", a->actor != NULL ? a->actor : "");
    return oom || x->text == NULL ? STRAIN_ENOMEM : STRAIN_OK;
}

/* Every finding about certificate c given its links v[0..n) and the abused list. */
static int cert_findings(strain_certs_findings *f, const strain_store_cert *c,
                         const signed_sample *v, size_t n, const abused_list *al)
{
    bool *pick = NULL;
    strain_certs_finding *x = NULL;
    size_t n_clean = 0, n_actor = 0, n_driver = 0, n_user_actor = 0;
    int err = STRAIN_OK;
    if ((pick = calloc(n + 1, sizeof(*pick))) == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < al->items.len; i++) {
        const abused_rec *e = STRAIN_VEC_AT(&al->items, abused_rec, i);
        if (!abused_matches(e, c)) {
            continue;
        }
        strain_store_abused a = {0,         e->sha1,  e->sha256, e->serial, e->issuer,
                                 e->reason, e->actor, e->source, e->note};
        for (size_t k = 0; k < n; k++) {
            pick[k] = true; /* any role: a listed CA taints everything under it */
        }
        STRAIN_TRY(strain_certs__add(f, &x, STRAIN_CERTS_ABUSED, c));
        STRAIN_TRY(strain_certs__abused_fill(f, x, &a));
        STRAIN_TRY(evidence(f, x, v, n, pick));
    }
    for (size_t i = 0; i < n; i++) {
        if (!v[i].signs) {
            continue;
        }
        n_clean += v[i].clean;
        n_actor += !v[i].clean && v[i].actor[0] != '\0';
        n_driver += v[i].driver;
        n_user_actor += !v[i].driver && !v[i].clean && v[i].actor[0] != '\0';
    }
    if (n_clean > 0 && n_actor > 0) {
        for (size_t i = 0; i < n; i++) {
            pick[i] = v[i].signs && (v[i].clean || v[i].actor[0] != '\0');
        }
        STRAIN_TRY(strain_certs__add(f, &x, STRAIN_CERTS_STOLEN, c));
        STRAIN_TRY(evidence(f, x, v, n, pick));
        x->text =
            strain_arena_printf(&f->arena,
                                "likely stolen: signs %zu clean sample%s and %zu sample%s "
                                "attributed to an actor",
                                n_clean, n_clean == 1 ? "" : "s", n_actor, n_actor == 1 ? "" : "s");
    }
    for (int field = 0; field < 2; field++) {
        const char *const *names = NULL;
        size_t nn = 0;
        for (size_t i = 0; i < n; i++) {
            pick[i] =
                v[i].signs && !v[i].clean && (field == 0 ? v[i].actor : v[i].family)[0] != '\0';
        }
        STRAIN_TRY(distinct(f, v, n, pick, field, &names, &nn));
        if (nn < 2) {
            continue;
        }
        STRAIN_TRY(strain_certs__add(
            f, &x, field == 0 ? STRAIN_CERTS_MULTI_ACTOR : STRAIN_CERTS_MULTI_FAMILY, c));
        STRAIN_TRY(evidence(f, x, v, n, pick));
        x->text = strain_arena_printf(&f->arena, "signs samples of %zu %s", nn,
                                      field == 0 ? "actors" : "families");
    }
    if (n_driver > 0 && n_user_actor > 0) {
        for (size_t i = 0; i < n; i++) {
            pick[i] = v[i].signs && (v[i].driver || (!v[i].clean && v[i].actor[0] != '\0'));
        }
        STRAIN_TRY(strain_certs__add(f, &x, STRAIN_CERTS_DRIVER_ACTOR, c));
        STRAIN_TRY(evidence(f, x, v, n, pick));
        x->text = strain_arena_printf(&f->arena,
                                      "signs %zu kernel driver%s and %zu user-mode sample%s "
                                      "attributed to an actor",
                                      n_driver, n_driver == 1 ? "" : "s", n_user_actor,
                                      n_user_actor == 1 ? "" : "s");
    }
    if (x != NULL && x->text == NULL) {
        err = STRAIN_ENOMEM;
    }
done:
    free(pick);
    return err;
}

typedef struct cert_list {
    strain_certs_findings *f;
    strain_vec items; /* strain_store_cert, strings in the arena */
    bool oom;
} cert_list;

static int collect_cert(const strain_store_cert *c, void *payload)
{
    cert_list *cl = payload;
    strain_store_cert *x = strain_vec_push(&cl->items);
    if (x == NULL) {
        return STRAIN_ENOMEM;
    }
    *x = *c;
    x->subject = dup_or_null(cl->f, c->subject, &cl->oom);
    x->issuer = dup_or_null(cl->f, c->issuer, &cl->oom);
    x->serial = dup_or_null(cl->f, c->serial, &cl->oom);
    return cl->oom ? STRAIN_ENOMEM : 0;
}

/* Findings of every stored certificate (only_sample 0, rep NULL), of those linked to a stored
 * sample (only_sample > 0, keeping the findings whose evidence holds it), or of those signing
 * the signatures of rep (found in the store by thumbprint; abused findings left to
 * strain_certs_match_report, which also covers certificates not in the store). */
static int run(strain_certs_findings **out, strain_ctx *ctx, strain_store *st, int64_t only_sample,
               const strain_sig_report *rep)
{
    size_t budget = STRAIN_CERTS_MAX_UNRELATED_COMPARISONS;
    strain_certs_findings *f = NULL;
    cert_list cl = {NULL, STRAIN_VEC_INIT(strain_store_cert), false};
    abused_list al = {NULL, STRAIN_VEC_INIT(abused_rec), false};
    abused_list none = {NULL, STRAIN_VEC_INIT(abused_rec), false};
    links ls = {NULL, STRAIN_VEC_INIT(signed_sample), false};
    int err;
    if (out == NULL || st == NULL) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(strain_certs__findings_new(&f));
    cl.f = al.f = ls.f = f;
    if (rep != NULL) {
        const strain_sig_info *info = strain_sig_report_info(rep);
        for (size_t i = 0; i < info->n_signatures; i++) {
            const strain_sig_signature *sg = &info->signatures[i];
            bool dup = false;
            if (sg->signer == NULL ||
                !(sg->verdict == STRAIN_SIG_VALID || sg->verdict == STRAIN_SIG_UNTRUSTED_ROOT ||
                  sg->verdict == STRAIN_SIG_EXPIRED)) {
                continue; /* the certificate did not sign this file */
            }
            for (size_t k = 0; k < cl.items.len && !dup; k++) {
                dup = strcmp(STRAIN_VEC_AT(&cl.items, strain_store_cert, k)->sha256,
                             sg->signer->sha256) == 0;
            }
            if (dup) {
                continue;
            }
            err = strain_store_get_cert(st, sg->signer->sha256, collect_cert, &cl);
            if (err < 0 && err != STRAIN_ENOTFOUND) {
                goto done;
            }
        }
    } else if (only_sample > 0) {
        STRAIN_TRY(strain_store_sample_certs(st, only_sample, collect_cert, &cl));
    } else {
        STRAIN_TRY(strain_store_list_certs(st, collect_cert, &cl));
    }
    STRAIN_TRY(strain_store_list_abused(st, collect_abused, &al));
    for (size_t i = 0; i < cl.items.len; i++) {
        const strain_store_cert *c = STRAIN_VEC_AT(&cl.items, strain_store_cert, i);
        size_t before = f->items.len;
        ls.items.len = 0;
        STRAIN_TRY(strain_store_cert_links(st, c->id, collect_link, &ls));
        STRAIN_TRY(cert_findings(f, c, ls.items.items, ls.items.len, rep != NULL ? &none : &al));
        if (rep == NULL) { /* a report's file is judged by strain_certs_unrelated_report */
            STRAIN_TRY(strain_certs__unrelated_db(f, ctx, st, c, only_sample, &budget));
        }
        if (only_sample <= 0) {
            continue;
        }
        /* Keep the findings whose evidence includes the sample. */
        size_t w = before;
        for (size_t k = before; k < f->items.len; k++) {
            strain_certs_finding *x = STRAIN_VEC_AT(&f->items, strain_certs_finding, k);
            bool has = false;
            for (size_t j = 0; j < x->n_samples && !has; j++) {
                has = x->sample_ids[j] == only_sample;
            }
            if (has) {
                *STRAIN_VEC_AT(&f->items, strain_certs_finding, w++) = *x;
            }
        }
        f->items.len = w;
    }
    *out = f;
    f = NULL;
done:
    strain_vec_free(&cl.items);
    strain_vec_free(&al.items);
    strain_vec_free(&ls.items);
    strain_certs_findings_free(f);
    return err;
}

int strain_certs_findings_db(strain_certs_findings **out, strain_ctx *ctx, strain_store *st)
{
    /* store errors are reported in the store's context, genome errors in ctx */
    return run(out, ctx, st, 0, NULL);
}

int strain_certs_findings_sample(strain_certs_findings **out, strain_ctx *ctx, strain_store *st,
                                 int64_t sample_id)
{
    if (sample_id <= 0) {
        return STRAIN_EINVAL;
    }
    return run(out, ctx, st, sample_id, NULL);
}

int strain_certs_findings_report(strain_certs_findings **out, strain_ctx *ctx, strain_store *st,
                                 const strain_sig_report *rep)
{
    if (rep == NULL) {
        return STRAIN_EINVAL;
    }
    return run(out, ctx, st, 0, rep);
}
