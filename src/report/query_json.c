/*
 * `strain query --json`: one object per query file, schema in docs/query-schema.md. The
 * field names are a contract with scripts: add fields, never rename or remove them.
 */
#include <inttypes.h>
#include <stdlib.h>

#include <jansson.h>
#include <strain/engine.h>

static json_t *jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *hexa(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "0x%" PRIx64, v);
    return json_string(b);
}

static json_t *labels(const strain_query_label *l, size_t n, bool family)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(l[i].name));
        if (family) {
            json_object_set_new(o, "actor", jstr(l[i].actor));
        }
        json_object_set_new(o, "score", json_real(l[i].score));
        json_object_set_new(o, "confidence", json_real(l[i].confidence));
        json_object_set_new(o, "samples", json_integer((json_int_t)l[i].n_samples));
        json_object_set_new(o, "share", json_real(l[i].share));
        json_object_set_new(o, "evidence", json_real(l[i].evidence));
        json_object_set_new(o, "code_score", json_real(l[i].code_score));
        json_object_set_new(o, "string_score", json_real(l[i].string_score));
        json_object_set_new(o, "string_share", json_real(l[i].string_share));
        json_object_set_new(o, "string_evidence", json_real(l[i].string_evidence));
        json_array_append_new(a, o);
    }
    return a;
}

/* Certificate findings (one set) appended to an array. */
static void findings(json_t *a, const strain_certs_findings *fs)
{
    for (size_t i = 0; i < strain_certs_findings_count(fs); i++) {
        const strain_certs_finding *x = strain_certs_findings_get(fs, i);
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(strain_certs_kind_name(x->kind)));
        json_object_set_new(o, "sha1", json_string(x->cert_sha1));
        json_object_set_new(o, "subject", jstr(x->subject));
        json_object_set_new(o, "text", jstr(x->text));
        if (x->kind == STRAIN_CERTS_ABUSED) {
            json_object_set_new(o, "reason", jstr(x->reason));
            json_object_set_new(o, "source", jstr(x->source));
        }
        if (x->kind == STRAIN_CERTS_UNRELATED) {
            /* the vendor software compared (and the file itself when stored) */
            json_t *ids = json_array();
            for (size_t k = 0; k < x->n_samples; k++) {
                json_array_append_new(ids, json_integer((json_int_t)x->sample_ids[k]));
            }
            json_object_set_new(o, "sample_ids", ids);
            json_object_set_new(o, "best_similarity", json_real(x->best_similarity));
        }
        json_array_append_new(a, o);
    }
}

/* Signatures of the queried file, as verified, and what the database says of the signers. */
static void certificates(json_t *root, const strain_query_result *r)
{
    json_t *sigs = json_array();
    json_t *fa = json_array();
    if (r->signatures != NULL) {
        const strain_sig_info *si = strain_sig_report_info(r->signatures);
        for (size_t i = 0; i < si->n_signatures; i++) {
            const strain_sig_signature *g = &si->signatures[i];
            json_t *o = json_object();
            json_object_set_new(o, "verdict", json_string(strain_sig_verdict_name(g->verdict)));
            json_object_set_new(o, "abused", json_boolean(g->abused));
            if (g->signer != NULL) {
                json_object_set_new(o, "signer_sha1", json_string(g->signer->sha1));
                json_object_set_new(o, "signer_subject", jstr(g->signer->subject));
            }
            json_array_append_new(sigs, o);
        }
    }
    findings(fa, r->abused_matches);
    findings(fa, r->cert_findings);
    json_object_set_new(root, "signatures", sigs);
    json_object_set_new(root, "certificate_findings", fa);
}

int strain_report_query_json(char **out, const strain_query_result *r, const char *query_name)
{
    json_t *root = json_object();
    json_t *v = json_object();
    json_t *nb = json_array();
    json_t *fns = json_array();
    json_t *frs = json_array();
    json_t *strs = json_array();
    json_t *ev = json_object();
    json_t *st = json_object();
    char hb[24];
    json_object_set_new(root, "file", jstr(query_name));
    json_object_set_new(root, "sha256", json_string(r->sha256));
    json_object_set_new(v, "actor", jstr(r->verdict_actor));
    json_object_set_new(v, "family", jstr(r->verdict_family));
    json_object_set_new(v, "score", json_real(r->verdict_score));
    json_object_set_new(v, "confidence", json_real(r->verdict_confidence));
    json_object_set_new(v, "threshold", json_real(r->threshold));
    json_object_set_new(v, "closest_actor", jstr(r->best_actor));
    json_object_set_new(v, "closest_score", json_real(r->best_actor_score));
    json_object_set_new(root, "verdict", v);
    json_object_set_new(root, "actors", labels(r->actors, r->n_actors, false));
    json_object_set_new(root, "families", labels(r->families, r->n_families, true));
    for (size_t i = 0; i < r->n_neighbors; i++) {
        const strain_query_neighbor *x = &r->neighbors[i];
        json_t *o = json_object();
        json_object_set_new(o, "sha256", json_string(x->sha256));
        json_object_set_new(o, "actor", jstr(x->actor));
        json_object_set_new(o, "family", jstr(x->family));
        json_object_set_new(o, "file", jstr(x->file_name));
        json_object_set_new(o, "score", json_real(x->score));
        json_object_set_new(o, "share", json_real(x->share));
        json_object_set_new(o, "evidence", json_real(x->evidence));
        json_object_set_new(o, "code_score", json_real(x->code_score));
        json_object_set_new(o, "string_score", json_real(x->string_score));
        json_object_set_new(o, "string_share", json_real(x->string_share));
        json_object_set_new(o, "string_evidence", json_real(x->string_evidence));
        json_array_append_new(nb, o);
    }
    json_object_set_new(root, "neighbors", nb);
    for (size_t i = 0; i < r->n_functions; i++) {
        const strain_query_function *x = &r->functions[i];
        json_t *o = json_object();
        json_object_set_new(o, "query_address", hexa(x->query_address));
        json_object_set_new(o, "query_size", json_integer(x->query_size));
        json_object_set_new(o, "ref_sha256", json_string(x->ref_sha256));
        json_object_set_new(o, "ref_address", hexa(x->ref_address));
        json_object_set_new(o, "ref_size", json_integer(x->ref_size));
        json_object_set_new(o, "similarity", json_real(x->similarity));
        json_object_set_new(o, "weight", json_real(x->weight));
        json_object_set_new(o, "families", json_integer(x->n_families));
        json_object_set_new(o, "match", json_string(strain_match_name(x->how)));
        json_array_append_new(fns, o);
    }
    for (size_t i = 0; i < r->n_fragments; i++) {
        const strain_query_fragment *x = &r->fragments[i];
        json_t *o = json_object();
        snprintf(hb, sizeof(hb), "%016" PRIx64, x->hash);
        json_object_set_new(o, "hash", json_string(hb));
        json_object_set_new(o, "ref_sha256", json_string(x->ref_sha256));
        json_object_set_new(o, "weight", json_real(x->weight));
        json_object_set_new(o, "families", json_integer(x->n_families));
        json_array_append_new(frs, o);
    }
    for (size_t i = 0; i < r->n_strings; i++) {
        const strain_query_string *x = &r->strings[i];
        json_t *o = json_object();
        snprintf(hb, sizeof(hb), "%016" PRIx64, x->hash);
        json_object_set_new(o, "hash", json_string(hb));
        json_object_set_new(o, "text", jstr(x->text));
        json_object_set_new(o, "encoding", json_string(x->utf16 ? "utf16le" : "ascii"));
        json_object_set_new(o, "offset", hexa(x->offset));
        json_object_set_new(o, "ref_sha256", json_string(x->ref_sha256));
        json_object_set_new(o, "weight", json_real(x->weight));
        json_object_set_new(o, "families", json_integer(x->n_families));
        json_array_append_new(strs, o);
    }
    json_object_set_new(ev, "functions", fns);
    json_object_set_new(ev, "fragments", frs);
    json_object_set_new(ev, "strings", strs);
    json_object_set_new(root, "evidence", ev);
    certificates(root, r);
    json_object_set_new(st, "features", json_integer((json_int_t)r->n_keys));
    json_object_set_new(st, "features_looked_up", json_integer((json_int_t)r->n_keys_looked));
    json_object_set_new(st, "candidates", json_integer((json_int_t)r->n_candidates));
    json_object_set_new(st, "verified", json_integer((json_int_t)r->n_verified));
    json_object_set_new(st, "unread_share", json_real(r->unread_share));
    json_object_set_new(st, "total_weight", json_real(r->total_weight));
    json_object_set_new(st, "strings_indexed", json_boolean(r->strings_indexed));
    json_object_set_new(st, "db_samples", json_integer((json_int_t)r->n_db_samples));
    json_object_set_new(st, "db_families", json_integer((json_int_t)r->n_db_families));
    json_object_set_new(root, "stats", st);
    *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(root);
    return *out != NULL ? STRAIN_OK : STRAIN_ENOMEM;
}
