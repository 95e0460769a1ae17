/*
 * `strain query` human report: the verdict first (what an analyst acts on), then the ranked
 * actors and families, the nearest samples and the evidence. --explain adds the top matched
 * functions as normalised disassembly, query and reference side by side, so the analyst can
 * judge the match instead of trusting a number.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <strain/engine.h>
#include <strain/sample.h>

#define COL 56

static void labels(FILE *f, const char *title, const strain_query_label *l, size_t n)
{
    fprintf(f, "%s:\n", title);
    if (n == 0) {
        fprintf(f, "  (none above the threshold; --all lists lower matches)\n");
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(f,
                "  %-28s %s%-16s score %.3f  confidence %.2f  (%zu samples; code %.2f: share "
                "%.2f, %.0f unique-function equivalents; strings %.2f: share %.2f)\n",
                l[i].name, l[i].actor ? "actor " : "", l[i].actor ? l[i].actor : "", l[i].score,
                l[i].confidence, l[i].n_samples, l[i].code_score, l[i].share, l[i].evidence,
                l[i].string_score, l[i].string_share);
    }
}

/* The reference's bytes, when its recorded path still holds them. */
static int load_ref(strain_sample **out_s, strain_binary **out_b, strain_ctx *ctx,
                    const char *file_name, const char *sha256)
{
    *out_s = NULL;
    *out_b = NULL;
    if (file_name == NULL || strchr(file_name, '!') != NULL) {
        return STRAIN_ENOTFOUND; /* unknown or inside an archive */
    }
    if (strain_sample_open(out_s, ctx, file_name) < 0) {
        return STRAIN_ENOTFOUND;
    }
    if (strcmp((*out_s)->sha256, sha256) != 0 ||
        strain_binary_parse(out_b, ctx, (*out_s)->data, (*out_s)->size) < 0) {
        strain_sample_free(*out_s);
        *out_s = NULL;
        return STRAIN_ENOTFOUND;
    }
    return STRAIN_OK;
}

/* Prints a and b as two columns, line by line. */
static void side_by_side(FILE *f, const char *a, const char *b)
{
    while (*a != '\0' || *b != '\0') {
        size_t la = strcspn(a, "\n");
        size_t lb = strcspn(b, "\n");
        int wa = la > COL ? COL : (int)la;
        fprintf(f, "  %-*.*s | %.*s\n", COL, wa, a, (int)(lb > 80 ? 80 : lb), b);
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
}

static void explain(FILE *f, strain_ctx *ctx, const strain_query_result *r,
                    const strain_engine_item *it)
{
    const char *ref_name = NULL;
    for (size_t i = 0; i < r->n_neighbors; i++) {
        if (r->n_functions > 0 && strcmp(r->neighbors[i].sha256, r->functions[0].ref_sha256) == 0) {
            ref_name = r->neighbors[i].file_name;
        }
    }
    strain_sample *rs = NULL;
    strain_binary *rb = NULL;
    if (r->n_functions == 0) {
        return;
    }
    if (load_ref(&rs, &rb, ctx, ref_name, r->functions[0].ref_sha256) < 0) {
        fprintf(f,
                "\nexplain: reference %s is not on disk at its recorded path (%s); only the "
                "query side is shown\n",
                r->functions[0].ref_sha256, ref_name ? ref_name : "none recorded");
    }
    size_t shown = r->n_functions < 3 ? r->n_functions : 3;
    for (size_t i = 0; i < shown; i++) {
        const strain_query_function *m = &r->functions[i];
        char *qa = NULL;
        char *ra = NULL;
        strain_code_disasm(&qa, ctx, strain_engine_item_binary(it), NULL, m->query_address);
        if (rb != NULL) {
            strain_code_disasm(&ra, ctx, rb, NULL, m->ref_address);
        }
        fprintf(f,
                "\nexplain #%zu: query 0x%" PRIx64 " <-> reference 0x%" PRIx64
                " (similarity %.2f, %s, weight %.2f)\n",
                i + 1, m->query_address, m->ref_address, m->similarity, strain_match_name(m->how),
                m->weight);
        side_by_side(f, qa ? qa : "(not available)", ra ? ra : "(not available)");
        free(qa);
        free(ra);
    }
    strain_binary_free(rb);
    strain_sample_free(rs);
}

/* Signers of the queried file and the database's findings about them. */
static void certificates(FILE *f, const strain_query_result *r)
{
    if (r->signatures == NULL) {
        return;
    }
    const strain_sig_info *si = strain_sig_report_info(r->signatures);
    fprintf(f, "signatures:\n");
    for (size_t i = 0; i < si->n_signatures; i++) {
        const strain_sig_signature *g = &si->signatures[i];
        fprintf(f, "  %-15s %s  %s%s\n", strain_sig_verdict_name(g->verdict),
                g->signer ? g->signer->sha1 : "-", g->signer ? g->signer->subject : "-",
                g->abused ? "  [ABUSED]" : "");
    }
    const strain_certs_findings *sets[2] = {r->abused_matches, r->cert_findings};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < strain_certs_findings_count(sets[k]); i++) {
            const strain_certs_finding *x = strain_certs_findings_get(sets[k], i);
            fprintf(f, "  finding %-16s %s: %s\n", strain_certs_kind_name(x->kind), x->cert_sha1,
                    x->text);
        }
    }
}

int strain_report_query_text(FILE *f, strain_ctx *ctx, const strain_query_result *r,
                             const char *query_name, const strain_engine_item *it, bool show)
{
    fprintf(f, "file:       %s\n", query_name ? query_name : "-");
    fprintf(f, "sha256:     %s\n", r->sha256);
    if (r->verdict_actor == NULL) {
        fprintf(f, "verdict:    unknown (nothing scores %.3f or more)\n", r->threshold);
        if (r->best_actor != NULL) {
            fprintf(f, "closest:    actor %s  score %.3f  confidence %.2f  (below the threshold; "
                       "--all lists the candidates)\n",
                    r->best_actor, r->best_actor_score,
                    strain_engine_confidence(r->best_actor_score));
        }
    } else {
        fprintf(f, "verdict:    actor %s, family %s  score %.3f  confidence %.2f\n",
                r->verdict_actor, r->verdict_family ? r->verdict_family : "unknown",
                r->verdict_score, r->verdict_confidence);
    }
    labels(f, "actors", r->actors, r->n_actors);
    labels(f, "families", r->families, r->n_families);
    fprintf(f, "neighbors:\n");
    for (size_t i = 0; i < r->n_neighbors; i++) {
        const strain_query_neighbor *x = &r->neighbors[i];
        fprintf(f, "  %.16s  %-16s %-24s score %.3f  %s\n", x->sha256, x->actor ? x->actor : "-",
                x->family ? x->family : "-", x->score, x->file_name ? x->file_name : "");
    }
    if (r->n_functions > 0) {
        fprintf(f, "evidence, matched functions (query <-> %.16s):\n", r->functions[0].ref_sha256);
        fprintf(f, "  %-18s %7s   %-18s %7s  %5s  %6s  %8s  %s\n", "query", "size", "reference",
                "size", "sim", "weight", "families", "by");
    }
    for (size_t i = 0; i < r->n_functions; i++) {
        const strain_query_function *x = &r->functions[i];
        fprintf(f,
                "  0x%-16" PRIx64 " %7" PRIu32 "   0x%-16" PRIx64 " %7" PRIu32
                "  %5.2f  %6.2f  %8" PRIu32 "  %s\n",
                x->query_address, x->query_size, x->ref_address, x->ref_size, x->similarity,
                x->weight, x->n_families, strain_match_name(x->how));
    }
    if (r->n_fragments > 0) {
        fprintf(f, "evidence, rare shared fragments:\n");
    }
    for (size_t i = 0; i < r->n_fragments; i++) {
        const strain_query_fragment *x = &r->fragments[i];
        fprintf(f, "  %016" PRIx64 "  weight %.2f  families %" PRIu32 "\n", x->hash, x->weight,
                x->n_families);
    }
    if (r->n_strings > 0) {
        fprintf(f, "evidence, rare shared strings (query <-> %.16s):\n", r->strings[0].ref_sha256);
    }
    for (size_t i = 0; i < r->n_strings; i++) {
        const strain_query_string *x = &r->strings[i];
        fprintf(f, "  0x%08" PRIx64 "  weight %.2f  families %" PRIu32 "  %s\"%s\"\n", x->offset,
                x->weight, x->n_families, x->utf16 ? "L" : "", x->text ? x->text : "");
    }
    if (!r->strings_indexed) {
        fprintf(f, "note:       the database predates string features: strings were left out "
                   "(re-add its samples to use them)\n");
    }
    certificates(f, r);
    if (show) {
        explain(f, ctx, r, it);
    }
    return ferror(f) ? STRAIN_EIO : STRAIN_OK;
}
