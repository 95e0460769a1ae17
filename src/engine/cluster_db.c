/*
 * Clustering the reference database (strain_cluster_add_store, strain/cluster.h): the stored
 * genomes are the ones `strain add` built from the samples, so clustering them gives what
 * clustering the files would, without the files. A store callback must not call into the
 * store, so the listing collects identities first and the genomes are read afterwards, one at
 * a time (the clustering keeps its own copy of each).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strain/cluster.h>

#include "attribution_impl.h"
#include "util/err.h"

typedef struct db_row {
    int64_t id;
    char *name, *family, *actor;
    uint32_t timestamp;
} db_row;

typedef struct db_rows {
    db_row *v;
    size_t n, cap;
    bool oom;
} db_rows;

static char *dup_label(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

static int on_row(const strain_store_sample *s, void *payload)
{
    db_rows *r = payload;
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 64;
        db_row *nv = realloc(r->v, nc * sizeof(*nv));
        if (nv == NULL) {
            r->oom = true;
            return 1;
        }
        r->v = nv;
        r->cap = nc;
    }
    db_row *x = &r->v[r->n];
    memset(x, 0, sizeof(*x));
    x->id = s->id;
    x->name = strdup(s->file_name != NULL && s->file_name[0] != '\0' ? s->file_name : s->sha256);
    x->family = dup_label(s->label.family);
    x->actor = dup_label(s->label.actor);
    x->timestamp = s->has_pe_timestamp ? s->pe_timestamp : 0;
    r->n++;
    bool missing = x->name == NULL ||
                   (s->label.family != NULL && s->label.family[0] != '\0' && x->family == NULL) ||
                   (s->label.actor != NULL && s->label.actor[0] != '\0' && x->actor == NULL);
    if (missing) {
        r->oom = true;
        return 1;
    }
    return 0;
}

int strain_cluster_add_store(strain_cluster *c, strain_ctx *ctx, strain_store *st,
                             size_t *out_added)
{
    db_rows rows = {NULL, 0, 0, false};
    strain_genome *g = NULL;
    void *blob = NULL;
    size_t added = 0;
    int err;
    if (c == NULL || st == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "no clustering or database");
    }
    strain_store_filter f = {NULL, NULL, NULL, 0, 0};
    err = strain_store_list(st, &f, on_row, &rows);
    if (rows.oom) {
        err = strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    STRAIN_TRY(err);
    for (size_t i = 0; i < rows.n; i++) {
        const db_row *x = &rows.v[i];
        size_t len = 0;
        uint32_t ver = 0;
        err = strain_store_get_genome(st, &blob, &len, &ver, x->id);
        if (err == STRAIN_ENOTFOUND) {
            continue; /* a sample stored without features */
        }
        STRAIN_TRY(err);
        if (ver != STRAIN_ENGINE_GENOME_VERSION) {
            err = strain__fail(ctx, STRAIN_ESTORE, "sample %" PRId64 ": genome version %u unknown",
                               x->id, ver);
            goto done;
        }
        err = strain_genome_deserialize(&g, ctx, blob, len);
        free(blob);
        blob = NULL;
        if (err < 0) {
            char why[256]; /* the context's message is rewritten below: copy it first */
            snprintf(why, sizeof(why), "%s", strain_ctx_errmsg(ctx));
            err = strain__fail(ctx, STRAIN_ESTORE,
                               "sample %" PRId64 ": stored genome unreadable (%s)", x->id, why);
            goto done;
        }
        if (!(strain_genome_get_info(g)->flags & STRAIN_GENOME_NO_CODE)) {
            STRAIN_TRY(
                strain_cluster_add_genome(c, ctx, g, x->name, x->family, x->actor, x->timestamp));
            added++;
        }
        strain_genome_free(g);
        g = NULL;
    }
    err = STRAIN_OK;
done:
    if (out_added != NULL) {
        *out_added = added;
    }
    for (size_t i = 0; i < rows.n; i++) {
        free(rows.v[i].name);
        free(rows.v[i].family);
        free(rows.v[i].actor);
    }
    free(rows.v);
    free(blob);
    strain_genome_free(g);
    return err;
}
