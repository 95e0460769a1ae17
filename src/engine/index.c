/*
 * Adding samples: a prepared item becomes a sample row, its serialised genome and one posting
 * per distinct feature. The posting payload keeps a function's address and size so that a
 * lookup alone can already say where shared code lies.
 */
#include <stdlib.h>
#include <string.h>

#include <strain/certs.h>
#include <strain/sig.h>

#include "attribution_impl.h"
#include "util/err.h"

int strain_engine_open(strain_engine **out, strain_ctx *ctx, strain_store *st)
{
    if (out == NULL || st == NULL) {
        return strain__fail(ctx, STRAIN_EINVAL, "strain_engine_open: bad arguments");
    }
    strain_engine *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    e->ctx = ctx;
    e->st = st;
    *out = e;
    return STRAIN_OK;
}

void strain_engine_free(strain_engine *e)
{
    if (e != NULL) {
        strain_sig_store_free(e->trust);
    }
    free(e);
}

int strain_engine_set_trust(strain_engine *e, const char *ca_file)
{
    strain_sig_store *t = NULL;
    if (e == NULL) {
        return STRAIN_EINVAL;
    }
    int err = strain_sig_store_new(&t, e->ctx, ca_file);
    if (err < 0) {
        return err;
    }
    strain_sig_store_free(e->trust);
    e->trust = t;
    return STRAIN_OK;
}

/*
 * Stores the certificates of a signed PE with the sample, so that certificate intelligence
 * (which certificate signs which families, stolen-certificate findings) covers every
 * indexed sample. Unsigned files and other formats cost nothing here.
 */
int strain_engine__verify_sig(strain_sig_report **out, strain_engine *e,
                              const strain_engine_item *it)
{
    *out = NULL;
    const strain_binary_info *bi = it->bin != NULL ? strain_binary_get_info(it->bin) : NULL;
    if (bi == NULL || bi->pe.security_size == 0 ||
        (bi->format != STRAIN_FORMAT_PE32 && bi->format != STRAIN_FORMAT_PE32PLUS)) {
        return STRAIN_OK;
    }
    int err;
    if (e->trust == NULL && (err = strain_sig_store_new(&e->trust, e->ctx, NULL)) < 0) {
        return err;
    }
    strain_sig_opts opts = {.store = e->trust};
    return strain_sig_verify(out, e->ctx, it->bin, &opts);
}

static int record_certs(strain_engine *e, int64_t id, const strain_engine_item *it)
{
    strain_sig_report *rep = NULL;
    int err = strain_engine__verify_sig(&rep, e, it);
    if (err == STRAIN_OK && rep != NULL) {
        err = strain_certs_record(e->st, id, rep, strain_binary_get_info(it->bin)->is_driver);
    }
    strain_sig_report_free(rep);
    return err;
}

static int cmp_key(const void *a, const void *b)
{
    const strain_store_posting *x = a;
    const strain_store_posting *y = b;
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

int strain_engine_add(strain_engine *e, int64_t *out_id, const strain_engine_item *it,
                      const strain_store_label *label)
{
    strain_engine_key *keys = NULL;
    strain_engine_key *names = NULL;
    size_t nn = 0;
    strain_store_posting *p = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    size_t nk = 0;
    size_t np = 0;
    int64_t id = 0;
    bool own_tx = false;
    int err;
    if (e == NULL || it == NULL) {
        return STRAIN_EINVAL;
    }
    const strain_genome_info *gi = strain_genome_get_info(it->genome);
    STRAIN_TRY(strain_engine__keys(&keys, &nk, e->ctx, it->genome));
    STRAIN_TRY(strain_engine__name_keys(&names, &nn, e->ctx, it));
    p = malloc((nk + nn + 1) * sizeof(*p));
    if (p == NULL) {
        err = strain__fail(e->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nk; i++) {
        uint64_t payload = 0;
        if (keys[i].gene != UINT32_MAX) {
            const strain_gene *g = &gi->genes[keys[i].gene];
            uint64_t sz = g->size > 0xffffu ? 0xffffu : g->size;
            payload = (g->address & 0xffffffffffffull) | (sz << 48);
        }
        p[i] = (strain_store_posting){keys[i].kind, keys[i].hash, 0, payload};
    }
    /* one posting per distinct key: the store keeps the first payload, sort keeps it stable
     * enough (the lowest-addressed function of a duplicated genotype wins after qsort ties
     * are broken by the kept order of equal keys being irrelevant to scoring) */
    for (size_t i = 0; i < nn; i++) {
        p[nk + i] = (strain_store_posting){names[i].kind, names[i].hash, 0, 0};
    }
    nk += nn;
    p[nk++] = (strain_store_posting){STRAIN_KIND_STRING, STRAIN_ENGINE_STRINGS_MARKER, 0, 0};
    qsort(p, nk, sizeof(*p), cmp_key);
    for (size_t i = 0; i < nk; i++) {
        if (np == 0 || p[np - 1].kind != p[i].kind || p[np - 1].hash != p[i].hash) {
            p[np++] = p[i];
        }
    }
    STRAIN_TRY(strain_genome_serialize(&blob, &blob_len, e->ctx, it->genome));

    /* the identity and fuzzy hashes only the database needs: computed here, not in prepare,
     * so that a query does not pay for them */
    strain_store_sample m = it->meta;
    STRAIN_TRY(strain_hash_md5(m.md5, it->sample->data, it->sample->size));
    STRAIN_TRY(strain_hash_sha1(m.sha1, it->sample->data, it->sample->size));
    if (strain_hash_ssdeep(m.ssdeep, it->sample->data, it->sample->size) < 0) {
        m.ssdeep[0] = '\0'; /* fuzzy hashes refuse tiny inputs: empty means "none" */
    }
    if (strain_hash_tlsh(m.tlsh, it->sample->data, it->sample->size) < 0) {
        m.tlsh[0] = '\0';
    }
    if (label != NULL) {
        m.label = *label;
    }
    /* own transaction unless the caller has one open (begin fails with EINVAL then) */
    err = strain_store_begin(e->st);
    if (err == STRAIN_OK) {
        own_tx = true;
    } else if (err != STRAIN_EINVAL) {
        goto done;
    }
    STRAIN_TRY(strain_store_put_sample(e->st, &id, &m));
    strain_store_features f = {STRAIN_ENGINE_GENOME_VERSION, blob, blob_len, p, np};
    STRAIN_TRY(strain_store_put_features(e->st, id, &f));
    STRAIN_TRY(record_certs(e, id, it));
    if (own_tx) {
        own_tx = false;
        STRAIN_TRY(strain_store_commit(e->st));
    }
    if (out_id != NULL) {
        *out_id = id;
    }
    err = STRAIN_OK;
done:
    if (own_tx) {
        strain_store_rollback(e->st);
    }
    free(blob);
    free(p);
    free(keys);
    free(names);
    return err;
}
