/*
 * Clustering without all-pairs comparison (strain/cluster.h). Steps:
 *  1. library code: fragments (and function hashes) present in more than max_df of the
 *     samples are discounted, so that a shared runtime neither proposes nor supports edges;
 *     (the common-genome discount also drops such strings);
 *  2. signatures: MinHash of each sample's remaining fragment set (src/engine/lsh.c), and of
 *     its string set;
 *  3. candidates: banded LSH, pairs sharing a band bucket of either signature;
 *  4. verification: strain_compare on the discounted genomes, code and strings combined
 *     (combined_score), or exact Jaccard of feature sets; pairs scoring >= threshold are
 *     edges;
 *  5. union-find over the edges (single linkage), groups named by majority label;
 *  6. quality: mean edge score, a silhouette-like separation from the verified pairs, and the
 *     adjusted Rand index against the labels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strain/cluster.h>

#include "engine_impl.h"
#include "lsh.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/u64sort.h"

typedef struct cl_sample {
    strain_genome *g; /* genome mode: copy, then discounted in place */
    uint64_t *feat;   /* feature mode: sorted unique */
    size_t n_feat;
    char *name, *label, *actor;
    uint32_t timestamp;
} cl_sample;

typedef struct cl_pair {
    uint32_t a, b;
    double score;
} cl_pair;

struct strain_cluster {
    strain_cluster_opts o;
    cl_sample *s;
    size_t n, cap;
    int mode; /* 0 empty, 1 genomes, 2 features */
    /* result storage */
    strain_cluster_result res;
    size_t *assignment, *members;
    strain_cluster_group *groups;
    char **group_names;
    strain_cluster_edge *edges;
};

int strain_cluster_new(strain_cluster **out, strain_ctx *ctx, const strain_cluster_opts *opts)
{
    strain_cluster *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    if (opts != NULL) {
        c->o = *opts;
    }
    if (!(c->o.threshold > 0)) {
        c->o.threshold = STRAIN_CLUSTER_DEFAULT_THRESHOLD;
    }
    if (!(c->o.max_df > 0)) {
        c->o.max_df = 0.10;
    }
    *out = c;
    return 0;
}

static void free_result(strain_cluster *c)
{
    for (size_t i = 0; i < c->res.n_groups; i++) {
        free(c->group_names[i]);
    }
    free(c->group_names);
    free(c->assignment);
    free(c->members);
    free(c->groups);
    free(c->edges);
    c->group_names = NULL;
    c->assignment = c->members = NULL;
    c->groups = NULL;
    c->edges = NULL;
    memset(&c->res, 0, sizeof(c->res));
}

void strain_cluster_free(strain_cluster *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        strain_genome_free(c->s[i].g);
        free(c->s[i].feat);
        free(c->s[i].name);
        free(c->s[i].label);
        free(c->s[i].actor);
    }
    free(c->s);
    free_result(c);
    free(c);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int add_sample(strain_cluster *c, strain_ctx *ctx, cl_sample *x, const char *name,
                      const char *label, const char *actor, uint32_t ts)
{
    if (c->n >= STRAIN_CLUSTER_MAX_SAMPLES) {
        return strain__fail(ctx, STRAIN_ELIMIT, "more than %u samples (STRAIN_CLUSTER_MAX_SAMPLES)",
                            STRAIN_CLUSTER_MAX_SAMPLES);
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        cl_sample *ns = realloc(c->s, nc * sizeof(*ns));
        if (ns == NULL) {
            return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
        }
        c->s = ns;
        c->cap = nc;
    }
    char tmp[32];
    if (name == NULL) {
        snprintf(tmp, sizeof(tmp), "sample %zu", c->n);
        name = tmp;
    }
    x->name = strdup(name);
    x->label = dup_or_null(label);
    x->actor = dup_or_null(actor);
    x->timestamp = ts;
    if (x->name == NULL || (label != NULL && x->label == NULL) ||
        (actor != NULL && x->actor == NULL)) {
        free(x->name);
        free(x->label);
        free(x->actor);
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    c->s[c->n] = *x;
    return (int)c->n++;
}

int strain_cluster_add_genome(strain_cluster *c, strain_ctx *ctx, const strain_genome *g,
                              const char *name, const char *label, const char *actor,
                              uint32_t timestamp)
{
    if (c == NULL || g == NULL || c->mode == 2) {
        return strain__fail(ctx, STRAIN_EINVAL, "no clustering or genome, or mixed kinds");
    }
    cl_sample x;
    memset(&x, 0, sizeof(x));
    int err = strain_engine__genome_copy(&x.g, ctx, g);
    if (err < 0) {
        return err;
    }
    err = add_sample(c, ctx, &x, name, label, actor, timestamp);
    if (err < 0) {
        strain_genome_free(x.g);
        return err;
    }
    c->mode = 1;
    return err;
}

int strain_cluster_add_features(strain_cluster *c, strain_ctx *ctx, const uint64_t *features,
                                size_t n, const char *name, const char *label, const char *actor,
                                uint32_t timestamp)
{
    if (c == NULL || (features == NULL && n > 0) || c->mode == 1) {
        return strain__fail(ctx, STRAIN_EINVAL, "no clustering or features, or mixed kinds");
    }
    cl_sample x;
    memset(&x, 0, sizeof(x));
    x.feat = malloc((n + 1) * sizeof(uint64_t));
    if (x.feat == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    if (n > 0) {
        memcpy(x.feat, features, n * sizeof(uint64_t));
        qsort(x.feat, n, sizeof(uint64_t), strain_u64_cmp);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || x.feat[i] != x.feat[m - 1]) {
            x.feat[m++] = x.feat[i];
        }
    }
    x.n_feat = m;
    int err = add_sample(c, ctx, &x, name, label, actor, timestamp);
    if (err < 0) {
        free(x.feat);
        return err;
    }
    c->mode = 2;
    return err;
}

const char *strain_cluster_sample_name(const strain_cluster *c, size_t i)
{
    return i < c->n ? c->s[i].name : NULL;
}

const char *strain_cluster_sample_label(const strain_cluster *c, size_t i)
{
    return i < c->n ? c->s[i].label : NULL;
}

uint32_t strain_cluster_sample_timestamp(const strain_cluster *c, size_t i)
{
    return i < c->n ? c->s[i].timestamp : 0;
}

/* Step 1 for feature sets: drop features present in >= min_count samples. */
static int discount_features(strain_cluster *c, strain_ctx *ctx, size_t min_count)
{
    size_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        total += c->s[i].n_feat;
    }
    uint64_t *all = malloc((total + 1) * sizeof(uint64_t));
    if (all == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    total = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->s[i].n_feat > 0) {
            memcpy(all + total, c->s[i].feat, c->s[i].n_feat * sizeof(uint64_t));
            total += c->s[i].n_feat;
        }
    }
    qsort(all, total, sizeof(uint64_t), strain_u64_cmp);
    size_t nc = 0;
    for (size_t i = 0; i < total;) {
        size_t j = i;
        while (j < total && all[j] == all[i]) {
            j++;
        }
        if (j - i >= min_count) {
            all[nc++] = all[i];
        }
        i = j;
    }
    for (size_t i = 0; i < c->n && nc > 0; i++) {
        size_t m = 0;
        for (size_t k = 0; k < c->s[i].n_feat; k++) {
            if (bsearch(&c->s[i].feat[k], all, nc, sizeof(uint64_t), strain_u64_cmp) == NULL) {
                c->s[i].feat[m++] = c->s[i].feat[k];
            }
        }
        c->s[i].n_feat = m;
    }
    free(all);
    return 0;
}

static int discount_genomes(strain_cluster *c, strain_ctx *ctx, size_t min_count)
{
    strain_genome *common = NULL;
    const strain_genome **gs = calloc(c->n + 1, sizeof(*gs));
    int err = 0;
    if (gs == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->n; i++) {
        gs[i] = c->s[i].g;
    }
    STRAIN_TRY(strain_engine__common_genome(&common, ctx, gs, c->n, (unsigned)min_count));
    for (size_t i = 0; i < c->n; i++) {
        strain_genome *d = NULL;
        STRAIN_TRY(strain_genome_discount(&d, ctx, c->s[i].g, common));
        strain_genome_free(c->s[i].g);
        c->s[i].g = d;
    }
done:
    strain_genome_free(common);
    free(gs);
    return err;
}

static double jaccard(const cl_sample *a, const cl_sample *b)
{
    size_t inter = strain_u64_common(a->feat, a->n_feat, b->feat, b->n_feat);
    size_t uni = a->n_feat + b->n_feat - inter;
    return uni > 0 ? (double)inter / (double)uni : 0.0;
}

static size_t uf_find(size_t *p, size_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct grp_tmp {
    size_t root, size, first;
} grp_tmp;

static int cmp_grp(const void *a, const void *b)
{
    const grp_tmp *x = a, *y = b;
    if (x->size != y->size) {
        return x->size > y->size ? -1 : 1;
    }
    return x->first < y->first ? -1 : x->first > y->first;
}

static int cmp_lineage(const void *a, const void *b, void *payload)
{
    const strain_cluster *c = payload;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    uint32_t tx = c->s[x].timestamp, ty = c->s[y].timestamp;
    if (tx != ty) {
        return tx < ty ? -1 : 1;
    }
    return x < y ? -1 : x > y;
}

/* Adjusted Rand index (Hubert and Arabie 1985) over the labelled samples. */
static double adjusted_rand(const strain_cluster *c)
{
    size_t nl = 0;
    for (size_t i = 0; i < c->n; i++) {
        nl += c->s[i].label != NULL;
    }
    if (nl < 2) {
        return -2.0;
    }
    double sum_ij = 0, sum_a = 0, sum_b = 0;
    /* Pair counting, O(n^2) only over labels and assignments (no comparisons): pairs in the
     * same group and same label, same group, same label. */
    for (size_t i = 0; i < c->n; i++) {
        if (c->s[i].label == NULL) {
            continue;
        }
        for (size_t j = i + 1; j < c->n; j++) {
            if (c->s[j].label == NULL) {
                continue;
            }
            bool sg = c->assignment[i] == c->assignment[j];
            bool sl = strcmp(c->s[i].label, c->s[j].label) == 0;
            sum_ij += sg && sl;
            sum_a += sg;
            sum_b += sl;
        }
    }
    double total = (double)nl * (double)(nl - 1) / 2.0;
    double expected = sum_a * sum_b / total;
    double maxi = (sum_a + sum_b) / 2.0;
    if (maxi - expected == 0) {
        return 1.0;
    }
    return (sum_ij - expected) / (maxi - expected);
}

/*
 * Greedy average linkage: pairs at or above the threshold are taken strongest first, and two
 * groups merge only if the mean score over all their cross pairs is >= threshold, pairs LSH
 * did not propose counting as 0 (they share too little to collide). Single linkage chains
 * sibling families through one strong pair (a fork, a shared library); this does not. Each
 * group keeps the list of its pairs; lists are merged smaller into larger.
 */
typedef struct adj_list {
    uint32_t *v;
    size_t n, cap;
} adj_list;

/* qsort_r (glibc): the comparators need the clustering, and distinct clusterings may run on
 * different threads. */
static int cmp_pair_desc(const void *a, const void *b, void *payload)
{
    const cl_pair *pairs = payload;
    const cl_pair *x = &pairs[*(const size_t *)a], *y = &pairs[*(const size_t *)b];
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static int adj_push(adj_list *l, uint32_t v)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        uint32_t *nv = realloc(l->v, nc * sizeof(uint32_t));
        if (nv == NULL) {
            return -1;
        }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = v;
    return 0;
}

static int link_average(size_t *parent, strain_ctx *ctx, size_t n, const cl_pair *pairs,
                        size_t n_pairs, double threshold)
{
    adj_list *adj = calloc(n + 1, sizeof(adj_list));
    size_t *size = malloc((n + 1) * sizeof(size_t)),
           *order = malloc((n_pairs + 1) * sizeof(size_t));
    size_t no = 0;
    int err = 0;
    if (adj == NULL || size == NULL || order == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < n; i++) {
        size[i] = 1;
    }
    for (size_t k = 0; k < n_pairs; k++) {
        if (adj_push(&adj[pairs[k].a], (uint32_t)k) < 0 ||
            adj_push(&adj[pairs[k].b], (uint32_t)k) < 0) {
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        if (pairs[k].score >= threshold) {
            order[no++] = k;
        }
    }
    qsort_r(order, no, sizeof(size_t), cmp_pair_desc, (void *)pairs);
    for (size_t o = 0; o < no; o++) {
        size_t ra = uf_find(parent, pairs[order[o]].a), rb = uf_find(parent, pairs[order[o]].b);
        if (ra == rb) {
            continue;
        }
        size_t sm = adj[ra].n <= adj[rb].n ? ra : rb, lg = sm == ra ? rb : ra;
        double sum = 0;
        for (size_t k = 0; k < adj[sm].n; k++) {
            const cl_pair *p = &pairs[adj[sm].v[k]];
            size_t x = uf_find(parent, p->a), y = uf_find(parent, p->b);
            if ((x == sm && y == lg) || (x == lg && y == sm)) {
                sum += p->score;
            }
        }
        if (sum / ((double)size[ra] * (double)size[rb]) < threshold) {
            continue;
        }
        parent[sm] = lg;
        size[lg] += size[sm];
        for (size_t k = 0; k < adj[sm].n; k++) {
            if (adj_push(&adj[lg], adj[sm].v[k]) < 0) {
                STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
            }
        }
        free(adj[sm].v);
        memset(&adj[sm], 0, sizeof(adj[sm]));
    }
done:
    for (size_t i = 0; adj != NULL && i < n; i++) {
        free(adj[i].v);
    }
    free(adj);
    free(size);
    free(order);
    return err;
}

static int make_groups(strain_cluster *c, strain_ctx *ctx, const cl_pair *pairs, size_t n_pairs)
{
    size_t n = c->n, ne = 0;
    size_t *parent = malloc((n + 1) * sizeof(size_t));
    grp_tmp *gt = calloc(n + 1, sizeof(grp_tmp));
    size_t *gid = malloc((n + 1) * sizeof(size_t));
    double *best_in = calloc(n + 1, sizeof(double)), *best_out = calloc(n + 1, sizeof(double));
    int err = 0;
    c->assignment = malloc((n + 1) * sizeof(size_t));
    c->members = malloc((n + 1) * sizeof(size_t));
    c->edges = malloc((n_pairs + 1) * sizeof(strain_cluster_edge));
    if (parent == NULL || gt == NULL || gid == NULL || best_in == NULL || best_out == NULL ||
        c->assignment == NULL || c->members == NULL || c->edges == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < n; i++) {
        parent[i] = i;
    }
    if (c->o.single_linkage) {
        for (size_t k = 0; k < n_pairs; k++) {
            if (pairs[k].score >= c->o.threshold) {
                size_t ra = uf_find(parent, pairs[k].a), rb = uf_find(parent, pairs[k].b);
                if (ra != rb) {
                    parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
                }
            }
        }
    } else {
        STRAIN_TRY(link_average(parent, ctx, n, pairs, n_pairs, c->o.threshold));
    }
    for (size_t k = 0; k < n_pairs; k++) {
        if (pairs[k].score >= c->o.threshold &&
            uf_find(parent, pairs[k].a) == uf_find(parent, pairs[k].b)) {
            c->edges[ne].a = pairs[k].a;
            c->edges[ne].b = pairs[k].b;
            c->edges[ne++].score = pairs[k].score;
        }
    }
    /* Groups, largest first (ties: first member's index). */
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        gid[i] = SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = uf_find(parent, i);
        if (gid[r] == SIZE_MAX) {
            gid[r] = ng;
            gt[ng].root = r;
            gt[ng].first = i;
            ng++;
        }
        gt[gid[r]].size++;
    }
    qsort(gt, ng, sizeof(grp_tmp), cmp_grp);
    for (size_t g = 0; g < ng; g++) {
        gid[gt[g].root] = g;
    }
    c->groups = calloc(ng + 1, sizeof(strain_cluster_group));
    c->group_names = calloc(ng + 1, sizeof(char *));
    if (c->groups == NULL || c->group_names == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    c->res.n_groups = ng;
    size_t off = 0;
    for (size_t g = 0; g < ng; g++) {
        c->groups[g].members = c->members + off;
        off += gt[g].size;
    }
    for (size_t i = 0; i < n; i++) {
        size_t g = gid[uf_find(parent, i)];
        c->assignment[i] = g;
        ((size_t *)c->groups[g].members)[c->groups[g].n_members++] = i;
    }
    for (size_t g = 0; g < ng; g++) {
        qsort_r((size_t *)c->groups[g].members, c->groups[g].n_members, sizeof(size_t), cmp_lineage,
                c);
    }
    /* Names: the most frequent label among members (ties: the first seen). */
    for (size_t g = 0; g < ng; g++) {
        const char *bestl = NULL;
        size_t bestn = 0;
        for (size_t a = 0; a < c->groups[g].n_members; a++) {
            const char *l = c->s[c->groups[g].members[a]].label;
            if (l == NULL) {
                continue;
            }
            size_t cnt = 0;
            for (size_t b = 0; b < c->groups[g].n_members; b++) {
                const char *m = c->s[c->groups[g].members[b]].label;
                cnt += m != NULL && strcmp(m, l) == 0;
            }
            if (cnt > bestn) {
                bestn = cnt;
                bestl = l;
            }
        }
        char tmp[48];
        snprintf(tmp, sizeof(tmp), "cluster %zu", g + 1);
        c->group_names[g] = strdup(bestl != NULL ? bestl : tmp);
        if (c->group_names[g] == NULL) {
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        c->groups[g].name = c->group_names[g];
    }
    /* Quality. */
    double sum = 0;
    size_t *gcount = calloc(ng + 1, sizeof(size_t));
    if (gcount == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t k = 0; k < ne; k++) {
        size_t g = c->assignment[c->edges[k].a];
        c->groups[g].mean_score += c->edges[k].score;
        gcount[g]++;
        sum += c->edges[k].score;
    }
    for (size_t g = 0; g < ng; g++) {
        if (gcount[g] > 0) {
            c->groups[g].mean_score /= (double)gcount[g];
        }
    }
    free(gcount);
    c->res.mean_intra = ne > 0 ? sum / (double)ne : 0;
    for (size_t k = 0; k < n_pairs; k++) {
        size_t a = pairs[k].a, b = pairs[k].b;
        double *ba = c->assignment[a] == c->assignment[b] ? best_in : best_out;
        if (pairs[k].score > ba[a]) {
            ba[a] = pairs[k].score;
        }
        if (pairs[k].score > ba[b]) {
            ba[b] = pairs[k].score;
        }
    }
    double sil = 0;
    size_t nsil = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->groups[c->assignment[i]].n_members < 2) {
            continue;
        }
        double mx = best_in[i] > best_out[i] ? best_in[i] : best_out[i];
        sil += mx > 0 ? (best_in[i] - best_out[i]) / mx : 0;
        nsil++;
    }
    c->res.separation = nsil > 0 ? sil / (double)nsil : 0;
    c->res.n_samples = n;
    c->res.assignment = c->assignment;
    c->res.groups = c->groups;
    c->res.edges = c->edges;
    c->res.n_edges = ne;
    c->res.ari = adjusted_rand(c);
done:
    free(parent);
    free(gt);
    free(gid);
    free(best_in);
    free(best_out);
    return err;
}

/*
 * Candidates from the strings too (genome mode): versions built years apart, or with another
 * compiler, share their strings where their code fragments differ. sigs is reused for the
 * strings' signatures; the pairs are merged into *pairs (sorted, unique).
 */
static int string_candidates(strain_cluster *c, strain_ctx *ctx, uint32_t *sigs, uint64_t **pairs,
                             size_t *n_pairs, uint64_t *skipped)
{
    uint64_t *sp = NULL;
    size_t ns = 0;
    int err;
    for (size_t i = 0; i < c->n; i++) {
        const strain_genome_info *gi = strain_genome_get_info(c->s[i].g);
        strain_lsh__minhash(sigs + i * STRAIN_LSH_K, gi->strings, gi->n_strings);
    }
    STRAIN_TRY(strain_lsh__candidates(&sp, &ns, skipped, ctx, sigs, c->n));
    if (ns > 0) {
        uint64_t *m = realloc(*pairs, (*n_pairs + ns + 1) * sizeof(uint64_t));
        if (m == NULL) {
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        memcpy(m + *n_pairs, sp, ns * sizeof(uint64_t));
        *pairs = m;
        *n_pairs = strain_u64_sort_unique(m, *n_pairs + ns);
    }
done:
    free(sp);
    return err;
}

int strain_cluster_run(const strain_cluster_result **out, strain_cluster *c, strain_ctx *ctx)
{
    uint32_t *sigs = NULL;
    cl_pair *pairs = NULL;
    uint64_t *fr = NULL;
    size_t n_pairs = 0;
    int err = 0;
    double t0 = now_s();
    if (c == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "no clustering");
    }
    free_result(c);
    size_t min_count = (size_t)floor(c->o.max_df * (double)c->n) + 1;
    if (min_count < 3) {
        min_count = 3; /* two samples sharing code is kinship, never "library" */
    }
    if (c->o.max_df < 1.0 && c->n >= min_count) {
        STRAIN_TRY(c->mode == 1 ? discount_genomes(c, ctx, min_count)
                                : discount_features(c, ctx, min_count));
        c->o.max_df = 1.0; /* discounted once: a second run must not discount again */
    }
    sigs = malloc((c->n + 1) * STRAIN_LSH_K * sizeof(uint32_t));
    if (sigs == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < c->n; i++) {
        const uint64_t *f = c->s[i].feat;
        size_t nf = c->s[i].n_feat;
        if (c->mode == 1) {
            const strain_genome_info *gi = strain_genome_get_info(c->s[i].g);
            f = gi->fragments;
            nf = gi->n_fragments;
        }
        strain_lsh__minhash(sigs + i * STRAIN_LSH_K, f, nf);
    }
    uint64_t skipped = 0;
    STRAIN_TRY(strain_lsh__candidates(&fr, &n_pairs, &skipped, ctx, sigs, c->n));
    if (c->mode == 1) {
        STRAIN_TRY(string_candidates(c, ctx, sigs, &fr, &n_pairs, &skipped));
    }
    c->res.candidate_pairs = n_pairs;
    pairs = malloc((n_pairs + 1) * sizeof(*pairs));
    if (pairs == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t k = 0; k < n_pairs; k++) {
        pairs[k].a = (uint32_t)(fr[k] >> 32);
        pairs[k].b = (uint32_t)fr[k];
        if (c->mode == 1) {
            strain_comparison *cmp = NULL;
            STRAIN_TRY(strain_compare(&cmp, ctx, c->s[pairs[k].a].g, c->s[pairs[k].b].g));
            pairs[k].score = cmp->combined_score;
            strain_comparison_free(cmp);
        } else {
            pairs[k].score = 100.0 * jaccard(&c->s[pairs[k].a], &c->s[pairs[k].b]);
        }
    }
    c->res.verified_pairs = n_pairs;
    STRAIN_TRY(make_groups(c, ctx, pairs, n_pairs));
    c->res.seconds = now_s() - t0;
    *out = &c->res;
done:
    free(sigs);
    free(fr);
    free(pairs);
    return err;
}
