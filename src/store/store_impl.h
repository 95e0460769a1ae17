/*
 * The seam between the store interface (store.c) and its backends: a table of functions.
 * store.c validates and normalises every argument (hex case, lengths, limits) before calling
 * a backend, so backends only translate to their database and cannot disagree on what is
 * valid; the conformance suite then holds them to the same behaviour.
 */
#ifndef STRAIN_STORE_IMPL_H
#define STRAIN_STORE_IMPL_H

#include <strain/store.h>

typedef struct strain_store_ops {
    const char *name;
    /* Opens location; errors are recorded in ctx, which the backend keeps (borrowed). */
    int (*open)(void **out, strain_ctx *ctx, const char *location, unsigned flags);
    void (*close)(void *be);
    int (*begin)(void *be);
    int (*commit)(void *be);
    int (*rollback)(void *be);
    int (*put_sample)(void *be, int64_t *out_id, const strain_store_sample *s);
    int (*get_sample)(void *be, strain_store_sample **out, const char *sha256, int64_t id);
    int (*list)(void *be, const strain_store_filter *f, strain_store_sample_cb cb, void *payload);
    int (*label)(void *be, const char *sha256, const strain_store_label *l);
    int (*remove)(void *be, const char *sha256);
    int (*stats)(void *be, strain_store_stats *out);
    int (*check)(void *be);
    int (*compact)(void *be);
    int (*put_features)(void *be, int64_t sample_id, const strain_store_features *f);
    int (*get_genome)(void *be, void **out, size_t *out_len, uint32_t *out_version,
                      int64_t sample_id);
    /* keys are sorted by (kind, hash) and unique when a backend is called. */
    int (*lookup)(void *be, strain_store_posting **out, size_t *out_n, const strain_store_key *keys,
                  size_t n_keys, uint32_t max_df);
    int (*df)(void *be, strain_store_df *out, const strain_store_key *keys, size_t n_keys,
              uint32_t family_scan_max);
    int (*put_cert)(void *be, int64_t *out_id, const strain_store_cert *c);
    int (*link_cert)(void *be, int64_t sample_id, int64_t cert_id);
    int (*get_cert)(void *be, const char *thumbprint, strain_store_cert_cb cb, void *payload);
    int (*sample_certs)(void *be, int64_t sample_id, strain_store_cert_cb cb, void *payload);
    int (*cert_samples)(void *be, int64_t cert_id, strain_store_sample_cb cb, void *payload);
    /* Certificate intelligence (schema 3). */
    int (*link_cert_info)(void *be, const strain_store_cert_link *l);
    int (*cert_links)(void *be, int64_t cert_id, strain_store_link_cb cb, void *payload);
    int (*list_certs)(void *be, strain_store_cert_cb cb, void *payload);
    int (*put_abused)(void *be, int64_t *out_id, const strain_store_abused *a);
    int (*list_abused)(void *be, strain_store_abused_cb cb, void *payload);
} strain_store_ops;

extern const strain_store_ops strain_store_sqlite;

/* Frees the strings a backend allocated into a sample record (and the record). */
void strain_store__sample_free(strain_store_sample *s);

#endif
