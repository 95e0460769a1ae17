/*
 * Two findings about one file rather than about the whole database:
 *   - abused-list matches for a signature report (a file being queried, maybe not stored),
 *     through strain_sig_check_abused() so the report's own `abused` flags agree;
 *   - the LuckyMouse pattern: a valid, trusted vendor signature on code that shares nothing
 *     with everything else that certificate signed. A legitimately signed vendor tool shares
 *     libraries, runtime and style with the vendor's other tools; a stolen certificate's
 *     malware does not. How alike two samples' code is belongs to the engine (genomes), so
 *     it is a callback here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/certs_impl.h"
#include "util/err.h"

typedef struct entry {
    strain_store_abused a; /* strings in the findings' arena */
} entry;

typedef struct entries {
    strain_certs_findings *f;
    strain_vec items; /* entry */
    bool oom;
} entries;

static const char *keep(entries *es, const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    const char *d = strain_arena_strdup(&es->f->arena, s);
    es->oom |= d == NULL;
    return d;
}

static int collect(const strain_store_abused *a, void *payload)
{
    entries *es = payload;
    entry *e = strain_vec_push(&es->items);
    if (e == NULL) {
        return STRAIN_ENOMEM;
    }
    e->a.id = a->id;
    e->a.sha1 = keep(es, a->sha1);
    e->a.sha256 = keep(es, a->sha256);
    e->a.serial = keep(es, a->serial);
    e->a.issuer = keep(es, a->issuer);
    e->a.reason = keep(es, a->reason);
    e->a.actor = keep(es, a->actor);
    e->a.source = keep(es, a->source);
    e->a.note = keep(es, a->note);
    return es->oom ? STRAIN_ENOMEM : 0;
}

static strain_sig_abused as_sig(const strain_store_abused *a)
{
    strain_sig_abused s = {a->sha1, a->sha256, a->serial, a->issuer};
    return s;
}

static void as_store_cert(strain_store_cert *out, const strain_sig_cert *c)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->sha1, c->sha1, sizeof(out->sha1));
    memcpy(out->sha256, c->sha256, sizeof(out->sha256));
    out->subject = c->subject;
    out->issuer = c->issuer;
    out->serial = c->serial;
    out->not_before = c->not_before;
    out->not_after = c->not_after;
}

static bool names(const strain_sig_cert *c, const strain_sig_abused *e)
{
    if ((e->sha1 != NULL && strcasecmp(c->sha1, e->sha1) == 0) ||
        (e->sha256 != NULL && strcasecmp(c->sha256, e->sha256) == 0)) {
        return true;
    }
    if (e->serial == NULL || e->issuer == NULL || strcmp(c->issuer, e->issuer) != 0) {
        return false;
    }
    const char *a = c->serial;
    const char *b = e->serial;
    while (*a == '0' && a[1] != '\0') {
        a++;
    }
    while (*b == '0' && b[1] != '\0') {
        b++;
    }
    return strcasecmp(a, b) == 0;
}

/* The certificate of a flagged signature that entry e names (signer first, then chain). */
static const strain_sig_cert *which(const strain_sig_signature *s, const strain_sig_abused *e)
{
    if (s->signer != NULL && names(s->signer, e)) {
        return s->signer;
    }
    for (size_t i = 0; i < s->n_chain; i++) {
        if (names(&s->chain[i], e)) {
            return &s->chain[i];
        }
    }
    return s->signer;
}

int strain_certs_match_report(strain_certs_findings **out, strain_ctx *ctx, strain_store *st,
                              strain_sig_report *rep)
{
    strain_certs_findings *f = NULL;
    entries es = {NULL, STRAIN_VEC_INIT(entry), false};
    strain_sig_abused *all = NULL;
    int err;
    (void)ctx;
    if (out == NULL || st == NULL || rep == NULL) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(strain_certs__findings_new(&f));
    es.f = f;
    STRAIN_TRY(strain_store_list_abused(st, collect, &es));
    if ((all = calloc(es.items.len + 1, sizeof(*all))) == NULL) {
        err = STRAIN_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < es.items.len; i++) {
        const entry *e = STRAIN_VEC_AT(&es.items, entry, i);
        strain_sig_abused one = as_sig(&e->a);
        const strain_sig_info *info;
        all[i] = one;
        STRAIN_TRY(strain_sig_check_abused(rep, &one, 1));
        if (err == 0) {
            continue;
        }
        info = strain_sig_report_info(rep);
        for (size_t k = 0; k < info->n_signatures; k++) {
            const strain_sig_signature *s = &info->signatures[k];
            const strain_sig_cert *c;
            strain_store_cert sc;
            strain_certs_finding *x = NULL;
            if (!s->abused || (c = which(s, &one)) == NULL) {
                continue;
            }
            as_store_cert(&sc, c);
            STRAIN_TRY(strain_certs__add(f, &x, STRAIN_CERTS_ABUSED, &sc));
            STRAIN_TRY(strain_certs__abused_fill(f, x, &e->a));
            break; /* one finding per entry */
        }
    }
    /* Leave the report flagged against the whole list. */
    STRAIN_TRY(strain_sig_check_abused(rep, all, es.items.len));
    *out = f;
    f = NULL;
    err = STRAIN_OK;
done:
    free(all);
    strain_vec_free(&es.items);
    strain_certs_findings_free(f);
    return err;
}

/* Links of one certificate: ids of samples it validly signs, and whether target is one. */
typedef struct valid_links {
    int64_t target;
    bool target_valid;
    strain_vec others; /* int64_t */
    bool oom;
} valid_links;

static int collect_valid(const strain_store_cert_link *l, const strain_store_sample *s,
                         void *payload)
{
    valid_links *vl = payload;
    if (!l->has_info || !l->signer || strcmp(l->verdict, "valid") != 0) {
        return 0;
    }
    if (s->id == vl->target) {
        vl->target_valid = true;
        return 0;
    }
    int64_t *x = strain_vec_push(&vl->others);
    if (x == NULL) {
        vl->oom = true;
        return STRAIN_ENOMEM;
    }
    *x = s->id;
    return 0;
}

typedef struct cert_ids {
    strain_certs_findings *f;
    strain_vec items; /* strain_store_cert */
    bool oom;
} cert_ids;

static int collect_cert(const strain_store_cert *c, void *payload)
{
    cert_ids *ci = payload;
    strain_store_cert *x = strain_vec_push(&ci->items);
    if (x == NULL) {
        return STRAIN_ENOMEM;
    }
    *x = *c;
    x->subject = strain_certs__dup(ci->f, c->subject);
    x->issuer = strain_certs__dup(ci->f, c->issuer);
    x->serial = strain_certs__dup(ci->f, c->serial);
    if (x->subject == NULL || x->issuer == NULL || x->serial == NULL) {
        return STRAIN_ENOMEM;
    }
    return 0;
}

int strain_certs_unrelated(strain_certs_findings **out, strain_ctx *ctx, strain_store *st,
                           int64_t sample_id, strain_certs_similarity_cb sim, void *payload,
                           double threshold)
{
    strain_certs_findings *f = NULL;
    cert_ids ci = {NULL, STRAIN_VEC_INIT(strain_store_cert), false};
    valid_links vl = {sample_id, false, STRAIN_VEC_INIT(int64_t), false};
    int err;
    (void)ctx;
    if (out == NULL || st == NULL || sim == NULL || sample_id <= 0) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(strain_certs__findings_new(&f));
    ci.f = f;
    STRAIN_TRY(strain_store_sample_certs(st, sample_id, collect_cert, &ci));
    for (size_t i = 0; i < ci.items.len; i++) {
        const strain_store_cert *c = STRAIN_VEC_AT(&ci.items, strain_store_cert, i);
        strain_certs_finding *x = NULL;
        double best = 0.0;
        vl.target_valid = false;
        vl.others.len = 0;
        STRAIN_TRY(strain_store_cert_links(st, c->id, collect_valid, &vl));
        if (!vl.target_valid || vl.others.len == 0) {
            continue;
        }
        for (size_t k = 0; k < vl.others.len; k++) {
            double s = sim(sample_id, *STRAIN_VEC_AT(&vl.others, int64_t, k), payload);
            if (s < 0) {
                err = (int)s;
                goto done;
            }
            best = s > best ? s : best;
        }
        if (best >= threshold) {
            continue;
        }
        int64_t *ids = strain_arena_array(&f->arena, vl.others.len + 1, sizeof(*ids));
        if (ids == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        /* Evidence in ascending id order: the sample among the others. */
        size_t n = 0;
        bool placed = false;
        for (size_t k = 0; k < vl.others.len; k++) {
            int64_t o = *STRAIN_VEC_AT(&vl.others, int64_t, k);
            if (!placed && sample_id < o) {
                ids[n++] = sample_id;
                placed = true;
            }
            ids[n++] = o;
        }
        if (!placed) {
            ids[n++] = sample_id;
        }
        STRAIN_TRY(strain_certs__add(f, &x, STRAIN_CERTS_UNRELATED, c));
        x->sample_ids = ids;
        x->n_samples = n;
        x->best_similarity = best;
        x->text =
            strain_arena_printf(&f->arena,
                                "valid signature, but the code shares nothing with the %zu "
                                "other sample%s this certificate signs (best similarity "
                                "%.2f < %.2f)",
                                vl.others.len, vl.others.len == 1 ? "" : "s", best, threshold);
        if (x->text == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
    }
    *out = f;
    f = NULL;
    err = STRAIN_OK;
done:
    strain_vec_free(&ci.items);
    strain_vec_free(&vl.others);
    strain_certs_findings_free(f);
    return err;
}
