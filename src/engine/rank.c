/*
 * From ranked candidates to what the analyst reads: family and actor scores (the query's
 * code and strings found in the union of their samples, per channel and combined), the
 * verdict, the neighbours, and the evidence (strain_compare against the verdict's best
 * sample for matched functions, the matched fragment and string features ranked by rarity,
 * strings with their text). Split from query.c, which finds and scores the candidates.
 */
#include <stdlib.h>
#include <string.h>

#include "query_impl.h"
#include "util/err.h"

/* The result plus the strings it owns. */
typedef struct result_impl {
    strain_query_result pub;
    char **strs;
    size_t n_strs;
    size_t cap_strs;
} result_impl;

strain_query_result *strain_engine__result_new(void)
{
    result_impl *ri = calloc(1, sizeof(*ri));
    return ri != NULL ? &ri->pub : NULL;
}

void strain_query_result_free(strain_query_result *r)
{
    if (r == NULL) {
        return;
    }
    result_impl *ri = (result_impl *)r;
    for (size_t i = 0; i < ri->n_strs; i++) {
        free(ri->strs[i]);
    }
    free(ri->strs);
    free(r->actors);
    free(r->families);
    free(r->neighbors);
    free(r->functions);
    free(r->fragments);
    free(r->strings);
    strain_sig_report_free((strain_sig_report *)r->signatures);
    strain_certs_findings_free((strain_certs_findings *)r->cert_findings);
    strain_certs_findings_free((strain_certs_findings *)r->abused_matches);
    free(ri);
}

/* A copy of s owned by the result (NULL stays NULL). */
static int keep_str(qstate *q, strain_query_result *r, const char **out, const char *s)
{
    result_impl *ri = (result_impl *)r;
    *out = NULL;
    if (s == NULL) {
        return STRAIN_OK;
    }
    if (ri->n_strs == ri->cap_strs) {
        size_t nc = ri->cap_strs ? 2 * ri->cap_strs : 32;
        char **ns = realloc(ri->strs, nc * sizeof(*ns));
        if (ns == NULL) {
            return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        }
        ri->strs = ns;
        ri->cap_strs = nc;
    }
    char *d = strdup(s);
    if (d == NULL) {
        return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    ri->strs[ri->n_strs++] = d;
    *out = d;
    return STRAIN_OK;
}

static bool usable(const cand *c)
{
    return c->meta != NULL && c->meta->label.clean != 1;
}

static const char *field_of(const cand *c, bool actor)
{
    const char *s = actor ? c->meta->label.actor : c->meta->label.family;
    return (s != NULL && s[0] != '\0') ? s : NULL;
}

static int cmp_label(const void *a, const void *b)
{
    const strain_query_label *x = a;
    const strain_query_label *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* Families (actor = false) or actors: the union of their candidates' matched features. */
static int rank_group(qstate *q, strain_query_result *r, size_t verified, bool actor,
                      strain_query_label **out, size_t *out_n)
{
    strain_query_label *l = calloc(verified ? verified : 1, sizeof(*l));
    uint64_t *u = calloc(q->n_words ? q->n_words : 1, sizeof(*u));
    size_t n = 0;
    int err = STRAIN_OK;
    if (l == NULL || u == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < verified; i++) {
        const cand *c = &q->cands[i];
        const char *name = usable(c) ? field_of(c, actor) : NULL;
        bool dup = false;
        if (name == NULL) {
            continue;
        }
        for (size_t j = 0; j < i && !dup; j++) {
            dup = usable(&q->cands[j]) && field_of(&q->cands[j], actor) != NULL &&
                  strcmp(field_of(&q->cands[j], actor), name) == 0;
        }
        if (dup) {
            continue;
        }
        memset(u, 0, q->n_words * sizeof(*u));
        size_t members = 0;
        for (size_t j = i; j < verified; j++) {
            const cand *d = &q->cands[j];
            if (!usable(d) || field_of(d, actor) == NULL || strcmp(field_of(d, actor), name)) {
                continue;
            }
            members++;
            for (size_t w = 0; w < q->n_words; w++) {
                u[w] |= d->bits[w];
            }
        }
        qmass s = strain_engine__matched(q, u);
        strain_query_label *x = &l[n++];
        x->score = strain_engine__score(q, s);
        strain_engine__channel(q, s, false, &x->code_score, &x->share, &x->evidence);
        strain_engine__channel(q, s, true, &x->string_score, &x->string_share,
                               &x->string_evidence);
        x->confidence = strain_engine_confidence(x->score);
        x->n_samples = members;
        STRAIN_TRY(keep_str(q, r, &x->name, name));
        if (!actor) {
            STRAIN_TRY(keep_str(q, r, &x->actor, field_of(c, true)));
        }
    }
    qsort(l, n, sizeof(*l), cmp_label);
    *out = l;
    *out_n = n;
    l = NULL;
done:
    free(l);
    free(u);
    return err;
}

/* Keeps the first max entries, and only those at or above thr unless all. */
static size_t trim_labels(const strain_query_label *l, size_t n, size_t max, bool all, double thr)
{
    size_t k = 0;
    while (k < n && k < max && (all || l[k].score >= thr)) {
        k++;
    }
    return k;
}

int strain_engine__rank_labels(qstate *q, strain_query_result *r, size_t verified,
                               const strain_query_options *o, double thr)
{
    int err;
    size_t nf = 0;
    size_t na = 0;
    STRAIN_TRY(rank_group(q, r, verified, false, &r->families, &nf));
    STRAIN_TRY(rank_group(q, r, verified, true, &r->actors, &na));
    if (na > 0) {
        r->best_actor = r->actors[0].name;
        r->best_actor_score = r->actors[0].score;
    }
    /* the verdict: the best actor, and its best family, when at or above the threshold */
    if (na > 0 && r->actors[0].score >= thr) {
        r->verdict_actor = r->actors[0].name;
        r->verdict_score = r->actors[0].score;
        for (size_t i = 0; i < nf; i++) {
            if (r->families[i].score >= thr && r->families[i].actor != NULL &&
                strcmp(r->families[i].actor, r->verdict_actor) == 0) {
                r->verdict_family = r->families[i].name;
                r->verdict_score = r->families[i].score;
                break;
            }
        }
        r->verdict_confidence = strain_engine_confidence(r->verdict_score);
    }
    r->n_families = trim_labels(r->families, nf, o->max_labels, o->all, thr);
    r->n_actors = trim_labels(r->actors, na, o->max_labels, o->all, thr);

    r->neighbors = calloc(verified ? verified : 1, sizeof(*r->neighbors));
    if (r->neighbors == NULL) {
        return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < verified && r->n_neighbors < o->max_neighbors; i++) {
        const cand *c = &q->cands[i];
        if (!usable(c) || c->score <= 0 || (!o->all && c->score < thr)) {
            continue;
        }
        strain_query_neighbor *x = &r->neighbors[r->n_neighbors++];
        x->id = c->id;
        memcpy(x->sha256, c->meta->sha256, sizeof(x->sha256));
        x->score = c->score;
        strain_engine__channel(q, c->matched, false, &x->code_score, &x->share, &x->evidence);
        strain_engine__channel(q, c->matched, true, &x->string_score, &x->string_share,
                               &x->string_evidence);
        STRAIN_TRY(keep_str(q, r, &x->actor, field_of(c, true)));
        STRAIN_TRY(keep_str(q, r, &x->family, field_of(c, false)));
        STRAIN_TRY(keep_str(q, r, &x->file_name, c->meta->file_name));
    }
done:
    return err;
}

/* The reference sample the evidence is drawn from (NULL: none worth showing). */
static const cand *evidence_ref(const qstate *q, const strain_query_result *r, size_t verified)
{
    for (size_t i = 0; i < verified; i++) {
        const cand *c = &q->cands[i];
        if (!usable(c) || c->score <= 0) {
            continue;
        }
        const char *fam = field_of(c, false);
        const char *act = field_of(c, true);
        if (r->verdict_family != NULL) {
            if (fam != NULL && strcmp(fam, r->verdict_family) == 0) {
                return c;
            }
        } else if (r->verdict_actor != NULL) {
            if (act != NULL && strcmp(act, r->verdict_actor) == 0) {
                return c;
            }
        } else if (r->n_neighbors > 0) {
            return c; /* --all: the nearest sample, below the threshold */
        }
    }
    return NULL;
}

static const strain_gene *gene_at(const strain_genome_info *gi, uint64_t va)
{
    size_t lo = 0;
    size_t hi = gi->n_genes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (gi->genes[mid].address < va) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < gi->n_genes && gi->genes[lo].address == va ? &gi->genes[lo] : NULL;
}

static int cmp_fn(const void *a, const void *b)
{
    const strain_query_function *x = a;
    const strain_query_function *y = b;
    double kx = x->weight * x->similarity * x->query_size;
    double ky = y->weight * y->similarity * y->query_size;
    if (kx != ky) {
        return kx > ky ? -1 : 1;
    }
    return x->query_address < y->query_address ? -1 : x->query_address > y->query_address;
}

static int cmp_frag(const void *a, const void *b)
{
    const strain_query_fragment *x = a;
    const strain_query_fragment *y = b;
    if (x->weight != y->weight) {
        return x->weight > y->weight ? -1 : 1;
    }
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int cmp_string(const void *a, const void *b)
{
    const strain_query_string *x = a;
    const strain_query_string *y = b;
    if (x->weight != y->weight) {
        return x->weight > y->weight ? -1 : 1;
    }
    if (x->length != y->length) { /* equally rare: the longer says more */
        return x->length > y->length ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The strings ref shares with the query, rarest first, with the query's text. */
static int string_evidence(qstate *q, strain_query_result *r, const strain_engine_item *it,
                           const cand *ref, const strain_query_options *o)
{
    size_t n = 0;
    int err;
    r->strings = calloc(q->n_keys ? q->n_keys : 1, sizeof(*r->strings));
    if (r->strings == NULL) {
        return strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < q->n_keys; k++) {
        const qkey *x = &q->keys[k];
        const strain_engine_string *s = NULL;
        if (!x->str || x->w <= 0 || !(ref->bits[k / 64] & (1ull << (k % 64))) ||
            (s = strain_engine__item_string(it, x->hash)) == NULL) {
            continue;
        }
        strain_query_string *e = &r->strings[n++];
        e->hash = x->hash;
        e->utf16 = s->utf16;
        e->length = s->len;
        e->offset = s->offset;
        e->weight = x->w;
        e->n_families = x->n_families;
        memcpy(e->ref_sha256, ref->meta->sha256, sizeof(e->ref_sha256));
    }
    qsort(r->strings, n, sizeof(*r->strings), cmp_string);
    r->n_strings = n < o->max_strings ? n : o->max_strings;
    for (size_t i = 0; i < r->n_strings; i++) {
        char text[257];
        strain_query_string *e = &r->strings[i];
        const strain_engine_string *s = strain_engine__item_string(it, e->hash);
        strain_engine__string_text(text, sizeof(text), it, s);
        STRAIN_TRY(keep_str(q, r, &e->text, text));
    }
    return STRAIN_OK;
done:
    return err;
}

int strain_engine__collect_evidence(qstate *q, strain_query_result *r, const strain_engine_item *it,
                                    size_t verified, const strain_query_options *o)
{
    strain_comparison *cmp = NULL;
    int err = STRAIN_OK;
    const cand *ref = evidence_ref(q, r, verified);
    if (ref == NULL) {
        return STRAIN_OK;
    }
    STRAIN_TRY(strain_engine__load_genome(q, (cand *)ref));
    STRAIN_TRY(strain_compare(&cmp, q->e->ctx, it->genome, ref->genome));
    const strain_genome_info *gi = strain_genome_get_info(it->genome);
    r->functions = calloc(cmp->n_matches ? cmp->n_matches : 1, sizeof(*r->functions));
    r->fragments = calloc(q->n_keys ? q->n_keys : 1, sizeof(*r->fragments));
    if (r->functions == NULL || r->fragments == NULL) {
        err = strain__fail(q->e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < cmp->n_matches; i++) {
        const strain_gene_match *m = &cmp->matches[i];
        const strain_gene *g = gene_at(gi, m->address_a);
        size_t k = g ? strain_engine__find_key(q, STRAIN_KIND_FUNC_EXACT, g->exact) : SIZE_MAX;
        if (k == SIZE_MAX || q->keys[k].w <= 0) {
            continue; /* small, or clean code: not evidence */
        }
        strain_query_function *f = &r->functions[n++];
        f->query_address = m->address_a;
        f->query_size = m->size_a;
        memcpy(f->ref_sha256, ref->meta->sha256, sizeof(f->ref_sha256));
        f->ref_address = m->address_b;
        f->ref_size = m->size_b;
        f->similarity = m->similarity;
        f->weight = q->keys[k].w;
        f->n_families = q->keys[k].seen ? q->keys[k].n_families : 0;
        f->how = m->how;
    }
    qsort(r->functions, n, sizeof(*r->functions), cmp_fn);
    r->n_functions = n < o->max_functions ? n : o->max_functions;
    n = 0;
    for (size_t k = 0; k < q->n_keys; k++) {
        const qkey *x = &q->keys[k];
        if (x->kind != STRAIN_KIND_FRAGMENT || x->w <= 0 ||
            !(ref->bits[k / 64] & (1ull << (k % 64)))) {
            continue;
        }
        strain_query_fragment *f = &r->fragments[n++];
        f->hash = x->hash;
        f->weight = x->w;
        f->n_families = x->n_families;
        memcpy(f->ref_sha256, ref->meta->sha256, sizeof(f->ref_sha256));
    }
    qsort(r->fragments, n, sizeof(*r->fragments), cmp_frag);
    r->n_fragments = n < o->max_fragments ? n : o->max_fragments;
    STRAIN_TRY(string_evidence(q, r, it, ref, o));
done:
    strain_comparison_free(cmp);
    return err;
}
