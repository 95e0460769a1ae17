/*
 * Two findings about one file rather than about the whole database:
 *   - abused-list matches for a signature report (a file being queried, maybe not stored),
 *     through strain_sig_check_abused() so the report's own `abused` flags agree;
 *   - the LuckyMouse pattern: a valid, trusted vendor signature on code that shares nothing
 *     with everything else that certificate signed. A legitimately signed vendor tool shares
 *     libraries, runtime and style with the vendor's other tools; a stolen certificate's
 *     malware does not. The similarity is a callback (strain_certs_unrelated) or the
 *     engine's own genome comparison with clean code left out (certs_similarity.c), for a
 *     stored sample (the database findings) or a file being queried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/certs_impl.h"
#include "util/err.h"
#include "util/limits.h"

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

/*
 * The LuckyMouse pattern. For one certificate, the samples it validly signs ("valid": the
 * chain reaches a trusted root, so this is a vendor's real signature) split into the
 * vendor's software (not attributed to an actor: clean or unlabelled) and the rest. A file
 * validly signed by it, not labelled clean, is compared with the vendor's software; when it
 * reaches the threshold with none, the finding names the file and the software compared.
 * The actor's other samples are not peers: an actor signing several related implants with
 * one stolen certificate must not clear them by their likeness to each other.
 */

/* A sample a certificate validly signs, as the pattern sees it. */
typedef struct vrec {
    int64_t id;
    bool clean;
    bool vendor; /* not attributed to an actor */
} vrec;

static int collect_valid(const strain_store_cert_link *l, const strain_store_sample *s,
                         void *payload)
{
    strain_vec *v = payload;
    if (!l->has_info || !l->signer || strcmp(l->verdict, "valid") != 0) {
        return 0;
    }
    vrec *x = strain_vec_push(v);
    if (x == NULL) {
        return STRAIN_ENOMEM;
    }
    x->id = s->id;
    x->clean = s->label.clean == 1;
    x->vendor = x->clean || s->label.actor == NULL || s->label.actor[0] == '\0';
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* How one file is compared with a peer: the caller's callback over stored ids, or the
 * engine's similarity over loaded genomes (peers loaded once per certificate). */
typedef struct judge_env {
    strain_certs_similarity_cb cb;
    void *payload;
    strain_ctx *ctx;
    strain_store *st;
    const strain_certs__side *target; /* engine similarity: the judged file */
    const int64_t *own;               /* the certificate's clean software, sorted ids */
    size_t n_own;
    strain_certs__side **peer_side; /* parallel to the peers, loaded lazily */
    bool *peer_dead;                /* no genome stored: not comparable */
    size_t *budget;                 /* work left in this call (see spend), NULL = no bound */
} judge_env;

/* Takes one unit of a database pass's work: a genome loaded or a comparison made (both cost
 * about the same: a genome is read and its features looked up, or two are discounted and
 * compared). False when none is left. */
static bool spend(size_t *budget)
{
    if (budget == NULL) {
        return true;
    }
    if (*budget == 0) {
        return false;
    }
    (*budget)--;
    return true;
}

/* *out the similarity of the judged file and peer k; *skip when they cannot be compared,
 * *spent when the pass's work budget ran out first. */
static int sim_peer(double *out, bool *skip, bool *spent, judge_env *j, int64_t target_id, size_t k,
                    int64_t peer)
{
    int err;
    *skip = *spent = false;
    if (j->cb != NULL) {
        double s = j->cb(target_id, peer, j->payload);
        if (s < 0) {
            return (int)s;
        }
        *out = s;
        return STRAIN_OK;
    }
    if (j->peer_dead[k]) {
        *skip = true;
        return STRAIN_OK;
    }
    if (j->peer_side[k] == NULL) {
        if (!spend(j->budget)) {
            *spent = true;
            return STRAIN_OK;
        }
        err = strain_certs__side_load(&j->peer_side[k], j->ctx, j->st, peer, j->own, j->n_own);
        if (err == STRAIN_ENOTFOUND) {
            j->peer_dead[k] = *skip = true; /* stored without features */
            return STRAIN_OK;
        }
        if (err < 0) {
            return err;
        }
    }
    if (!strain_certs__side_has_code(j->peer_side[k]) ||
        !strain_certs__side_same_arch(j->peer_side[k], j->target)) {
        /* managed or code-less software, or another architecture (the x86 and x64 builds
         * of one program share no machine code): nothing to be like */
        *skip = true;
        return STRAIN_OK;
    }
    if (!spend(j->budget)) {
        *spent = true;
        return STRAIN_OK;
    }
    return strain_certs__similarity(out, j->ctx, j->target, j->peer_side[k]);
}

/* Compares one file (target_id 0: not stored) with the certificate's vendor software
 * (peers, ascending ids) and appends the finding when nothing reaches threshold. */
static int judge(strain_certs_findings *f, judge_env *j, const strain_store_cert *c,
                 int64_t target_id, const vrec *peers, size_t n_peers, double threshold)
{
    int64_t *ids =
        strain_arena_array(&f->arena, STRAIN_CERTS_MAX_UNRELATED_PEERS + 1, sizeof(*ids));
    size_t n_cmp = 0, n_vendor = 0;
    double best = 0.0;
    strain_certs_finding *x = NULL;
    int err = STRAIN_OK;
    if (ids == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t k = 0; k < n_peers; k++) {
        n_vendor += peers[k].id != target_id;
    }
    /* At most the first STRAIN_CERTS_MAX_UNRELATED_PEERS peers are looked at (compared or
     * passed over), so at most that many genomes are held per certificate. */
    for (size_t k = 0, seen = 0; k < n_peers && seen < STRAIN_CERTS_MAX_UNRELATED_PEERS; k++) {
        double s = 0.0;
        bool skip = false, spent = false;
        if (peers[k].id == target_id) {
            continue;
        }
        seen++;
        STRAIN_TRY(sim_peer(&s, &skip, &spent, j, target_id, k, peers[k].id));
        if (spent) {
            f->skipped++; /* cut short: say nothing rather than half a verdict */
            return STRAIN_OK;
        }
        if (skip) {
            n_vendor--;
            continue;
        }
        ids[n_cmp++] = peers[k].id;
        best = s > best ? s : best;
        if (best >= threshold) {
            return STRAIN_OK; /* like the vendor's software */
        }
    }
    if (n_cmp == 0) {
        return STRAIN_OK; /* nothing of the vendor to compare with */
    }
    if (target_id > 0) {
        ids[n_cmp++] = target_id;
    }
    qsort(ids, n_cmp, sizeof(*ids), cmp_i64);
    STRAIN_TRY(strain_certs__add(f, &x, STRAIN_CERTS_UNRELATED, c));
    x->sample_ids = ids;
    x->n_samples = n_cmp;
    x->best_similarity = best;
    size_t n_peer = n_cmp - (target_id > 0);
    char of[64];
    snprintf(of, sizeof(of), "the %zu", n_peer);
    if (n_peer < n_vendor) {
        snprintf(of, sizeof(of), "the first %zu of the %zu", n_peer, n_vendor);
        n_peer = n_vendor;
    }
    x->text = strain_arena_printf(&f->arena,
                                  "valid signature, but the code shares nothing with %s "
                                  "sample%s of vendor software this certificate signs (best "
                                  "similarity %.2f < %.2f, clean code left out)",
                                  of, n_peer == 1 ? "" : "s", best, threshold);
    if (x->text == NULL) {
        err = STRAIN_ENOMEM;
    }
done:
    return err;
}

/* The clean software among a certificate's valid samples (its code is the vendor's, not a
 * runtime's), ascending ids: malloc'd, caller frees. */
static int own_clean(int64_t **out, size_t *out_n, const strain_vec *all)
{
    int64_t *v = malloc((all->len + 1) * sizeof(*v));
    size_t n = 0;
    if (v == NULL) {
        return STRAIN_ENOMEM;
    }
    for (size_t i = 0; i < all->len; i++) {
        const vrec *r = STRAIN_VEC_AT(all, vrec, i);
        if (r->clean) {
            v[n++] = r->id;
        }
    }
    if (n > 1) {
        qsort(v, n, sizeof(*v), cmp_i64);
    }
    *out = v;
    *out_n = n;
    return STRAIN_OK;
}

/* The vendor software among a certificate's valid samples, in ascending id order. */
static int vendor_peers(strain_vec *out, const strain_vec *all)
{
    for (size_t i = 0; i < all->len; i++) {
        const vrec *r = STRAIN_VEC_AT(all, vrec, i);
        if (r->vendor) {
            vrec *x = strain_vec_push(out);
            if (x == NULL) {
                return STRAIN_ENOMEM;
            }
            *x = *r;
        }
    }
    if (out->len > 1) {
        qsort(out->items, out->len, sizeof(vrec), cmp_i64); /* id is the first member */
    }
    return STRAIN_OK;
}

static void env_release(judge_env *j, size_t n)
{
    for (size_t i = 0; j->peer_side != NULL && i < n; i++) {
        strain_certs__side_free(j->peer_side[i]);
    }
    free(j->peer_side);
    free(j->peer_dead);
    j->peer_side = NULL;
    j->peer_dead = NULL;
}

static int env_alloc(judge_env *j, size_t n)
{
    j->peer_side = calloc(n + 1, sizeof(*j->peer_side));
    j->peer_dead = calloc(n + 1, sizeof(*j->peer_dead));
    return j->peer_side != NULL && j->peer_dead != NULL ? STRAIN_OK : STRAIN_ENOMEM;
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
    strain_vec all = STRAIN_VEC_INIT(vrec);
    strain_vec peers = STRAIN_VEC_INIT(vrec);
    judge_env j = {sim, payload, ctx, st, NULL, NULL, 0, NULL, NULL, NULL};
    int err;
    if (out == NULL || st == NULL || sim == NULL || sample_id <= 0) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(strain_certs__findings_new(&f));
    ci.f = f;
    STRAIN_TRY(strain_store_sample_certs(st, sample_id, collect_cert, &ci));
    for (size_t i = 0; i < ci.items.len; i++) {
        const strain_store_cert *c = STRAIN_VEC_AT(&ci.items, strain_store_cert, i);
        const vrec *self = NULL;
        all.len = peers.len = 0;
        STRAIN_TRY(strain_store_cert_links(st, c->id, collect_valid, &all));
        for (size_t k = 0; k < all.len && self == NULL; k++) {
            if (STRAIN_VEC_AT(&all, vrec, k)->id == sample_id) {
                self = STRAIN_VEC_AT(&all, vrec, k);
            }
        }
        if (self == NULL || self->clean) {
            continue; /* not validly signed by c, or labelled clean: the label stands */
        }
        STRAIN_TRY(vendor_peers(&peers, &all));
        STRAIN_TRY(judge(f, &j, c, sample_id, peers.items, peers.len, threshold));
    }
    *out = f;
    f = NULL;
    err = STRAIN_OK;
done:
    strain_vec_free(&ci.items);
    strain_vec_free(&all);
    strain_vec_free(&peers);
    strain_certs_findings_free(f);
    return err;
}

int strain_certs__unrelated_db(strain_certs_findings *f, strain_ctx *ctx, strain_store *st,
                               const strain_store_cert *c, int64_t only_sample, size_t *budget)
{
    strain_vec all = STRAIN_VEC_INIT(vrec);
    strain_vec peers = STRAIN_VEC_INIT(vrec);
    strain_certs__side *t = NULL;
    judge_env j = {NULL, NULL, ctx, st, NULL, NULL, 0, NULL, NULL, budget};
    int64_t *own = NULL;
    int err;
    STRAIN_TRY(strain_store_cert_links(st, c->id, collect_valid, &all));
    STRAIN_TRY(vendor_peers(&peers, &all));
    if (peers.len == 0) {
        goto done; /* no vendor software: nothing to be unlike */
    }
    STRAIN_TRY(own_clean(&own, &j.n_own, &all));
    j.own = own;
    STRAIN_TRY(env_alloc(&j, peers.len));
    for (size_t i = 0; i < all.len; i++) {
        const vrec *r = STRAIN_VEC_AT(&all, vrec, i);
        if (r->clean || (only_sample > 0 && r->id != only_sample)) {
            continue;
        }
        if (!spend(budget)) {
            f->skipped++; /* not even loaded: the pass is out of work */
            continue;
        }
        err = strain_certs__side_load(&t, ctx, st, r->id, j.own, j.n_own);
        if (err == STRAIN_ENOTFOUND) {
            continue; /* stored without a genome */
        }
        STRAIN_TRY(err);
        if (strain_certs__side_has_code(t)) {
            j.target = t;
            STRAIN_TRY(
                judge(f, &j, c, r->id, peers.items, peers.len, STRAIN_CERTS_UNRELATED_THRESHOLD));
        }
        strain_certs__side_free(t);
        t = NULL;
    }
    err = STRAIN_OK;
done:
    strain_certs__side_free(t);
    env_release(&j, peers.len);
    free(own);
    strain_vec_free(&all);
    strain_vec_free(&peers);
    return err;
}

/* The stored record of the queried file, when it is in the database. */
static int stored_self(strain_store *st, const char *sha256, int64_t *id, bool *clean)
{
    strain_store_sample *s = NULL;
    *id = 0;
    *clean = false;
    if (sha256 == NULL) {
        return STRAIN_OK;
    }
    int err = strain_store_get_sample(st, &s, sha256);
    if (err == STRAIN_ENOTFOUND) {
        return STRAIN_OK;
    }
    if (err < 0) {
        return err;
    }
    *id = s->id;
    *clean = s->label.clean == 1;
    strain_store_sample_free(s);
    return STRAIN_OK;
}

int strain_certs__unrelated_report(strain_certs_findings *f, strain_ctx *ctx, strain_store *st,
                                   const strain_sig_report *rep, const strain_genome *g,
                                   const char *sha256, double threshold)
{
    cert_ids ci = {f, STRAIN_VEC_INIT(strain_store_cert), false};
    strain_vec all = STRAIN_VEC_INIT(vrec);
    strain_vec peers = STRAIN_VEC_INIT(vrec);
    strain_certs__side *t = NULL;
    judge_env j = {NULL, NULL, ctx, st, NULL, NULL, 0, NULL, NULL, NULL};
    const strain_sig_info *info = NULL;
    int64_t *own = NULL;
    int64_t self_id = 0;
    bool self_clean = false;
    int err;
    STRAIN_TRY(stored_self(st, sha256, &self_id, &self_clean));
    if (self_clean) {
        goto done; /* labelled clean by the analyst: the label stands */
    }
    info = strain_sig_report_info(rep);
    for (size_t i = 0; i < info->n_signatures; i++) {
        const strain_sig_signature *sg = &info->signatures[i];
        bool dup = false;
        if (sg->signer == NULL || sg->verdict != STRAIN_SIG_VALID) {
            continue; /* not a trusted vendor signature over this file */
        }
        for (size_t k = 0; k < ci.items.len && !dup; k++) {
            dup = strcmp(STRAIN_VEC_AT(&ci.items, strain_store_cert, k)->sha256,
                         sg->signer->sha256) == 0;
        }
        if (!dup) {
            err = strain_store_get_cert(st, sg->signer->sha256, collect_cert, &ci);
            if (err < 0 && err != STRAIN_ENOTFOUND) {
                goto done;
            }
        }
    }
    err = STRAIN_OK;
    for (size_t i = 0; i < ci.items.len; i++) {
        const strain_store_cert *c = STRAIN_VEC_AT(&ci.items, strain_store_cert, i);
        all.len = peers.len = 0;
        STRAIN_TRY(strain_store_cert_links(st, c->id, collect_valid, &all));
        STRAIN_TRY(vendor_peers(&peers, &all));
        if (peers.len == 0) {
            continue;
        }
        free(own);
        own = NULL;
        STRAIN_TRY(own_clean(&own, &j.n_own, &all));
        j.own = own;
        strain_certs__side_free(t);
        t = NULL;
        STRAIN_TRY(strain_certs__side_genome(&t, ctx, st, g, own, j.n_own));
        if (!strain_certs__side_has_code(t)) {
            break; /* no native code: nothing to judge */
        }
        j.target = t;
        STRAIN_TRY(env_alloc(&j, peers.len));
        err = judge(f, &j, c, self_id, peers.items, peers.len, threshold);
        env_release(&j, peers.len);
        STRAIN_TRY(err);
    }
done:
    free(own);
    strain_certs__side_free(t);
    strain_vec_free(&ci.items);
    strain_vec_free(&all);
    strain_vec_free(&peers);
    return err;
}

int strain_certs_unrelated_report(strain_certs_findings **out, strain_ctx *ctx, strain_store *st,
                                  const strain_sig_report *rep, const strain_genome *g,
                                  const char *sha256, double threshold)
{
    strain_certs_findings *f = NULL;
    int err;
    if (out == NULL || st == NULL || rep == NULL || g == NULL) {
        return STRAIN_EINVAL;
    }
    STRAIN_TRY(strain_certs__findings_new(&f));
    STRAIN_TRY(strain_certs__unrelated_report(f, ctx, st, rep, g, sha256, threshold));
    *out = f;
    f = NULL;
done:
    strain_certs_findings_free(f);
    return err;
}
