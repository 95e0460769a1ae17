/*
 * Text strings for generated YARA rules: the strings of a family's data sections (the same
 * extraction as the attribution's string features, code/genome_strings.c) that most of its files
 * hold and no excluded file does. Analysts write rules from such strings (a module name, a
 * PDB path, an error message); they also carry families whose code changes with every
 * compiler version, where no function survives in enough files to make a code pattern.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attribution_impl.h"
#include "engine/yara_impl.h"
#include "util/err.h"
#include "util/u64sort.h"

typedef struct text_ref {
    uint64_t hash;
    size_t file;
    const strain_engine_string *s;
    uint32_t files; /* distinct given files holding the hash (after counting) */
} text_ref;

static int cmp_hash_file(const void *a, const void *b)
{
    const text_ref *x = a, *y = b;
    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    return x->file < y->file ? -1 : x->file > y->file;
}

static int cmp_rank(const void *a, const void *b)
{
    const text_ref *x = a, *y = b;
    if (x->files != y->files) {
        return x->files > y->files ? -1 : 1;
    }
    if (x->s->len != y->s->len) {
        return x->s->len > y->s->len ? -1 : 1;
    }
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* The pattern of string s of file data: its bytes as stored, cut to the pattern size. */
static bool text_pat(ypat *p, const strain_engine_string *s, const uint8_t *data)
{
    size_t bytes = s->utf16 ? 2 * (size_t)s->len : s->len;
    if (bytes > STRAIN_YARA_PATTERN_MAX) {
        bytes = s->utf16 ? STRAIN_YARA_PATTERN_MAX & ~(size_t)1 : STRAIN_YARA_PATTERN_MAX;
    }
    if (bytes < STRAIN_YARA_MIN_TEXT) {
        return false;
    }
    memset(p, 0, sizeof(*p));
    memcpy(p->b, data + s->offset, bytes);
    memset(p->fixed, 1, bytes);
    p->len = bytes;
    p->anchor_len = bytes;
    p->text = true;
    p->wide = s->utf16;
    return true;
}

static int on_match(YR_SCAN_CONTEXT *sc, int message, void *data, void *payload)
{
    (void)sc;
    if (message == CALLBACK_MSG_RULE_MATCHING) {
        const YR_RULE *r = data;
        size_t i = (size_t)strtoul(r->identifier + 1, NULL, 10); /* "t<index>" */
        ((uint8_t *)payload)[i] = 1;
    }
    return CALLBACK_CONTINUE;
}

/* The string hashes of the excluded files, sorted: a string they hold is no signature. */
static int excluded_hashes(uint64_t **out, size_t *out_n, strain_ctx *ctx,
                           const strain_yara_file *exclude, size_t n_ex)
{
    uint64_t *v = NULL;
    size_t n = 0;
    int err = STRAIN_OK;
    for (size_t e = 0; e < n_ex; e++) {
        strain_binary *bin = NULL;
        strain_engine_string *s = NULL;
        size_t ns = 0;
        if (strain_binary_parse(&bin, ctx, exclude[e].data, exclude[e].size) < 0) {
            continue; /* not a binary we parse: the libyara pass still covers it */
        }
        err = strain_code__binary_strings(&s, &ns, ctx, bin, exclude[e].data, exclude[e].size);
        strain_binary_free(bin);
        if (err < 0) {
            goto done;
        }
        uint64_t *r = realloc(v, (n + ns + 1) * sizeof(*v));
        if (r == NULL) {
            free(s);
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        v = r;
        for (size_t k = 0; k < ns; k++) {
            v[n++] = s[k].hash;
        }
        free(s);
    }
    *out_n = strain_u64_sort_unique(v, n);
    *out = v;
    v = NULL;
done:
    free(v);
    return err;
}

/* Marks in drop[] the candidates found in any excluded file: one rule per candidate, one
 * libyara pass (Aho-Corasick over all of them) per excluded file. */
static int excluded(uint8_t *drop, strain_ctx *ctx, const ypat *p, size_t np,
                    const strain_yara_file *exclude, size_t n_ex)
{
    size_t cap = np * (STRAIN_YARA_PATTERN_MAX * 3 + 64) + 1;
    char *text = malloc(cap);
    strain_yara_rules *rules = NULL;
    int err = STRAIN_OK;
    if (text == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    size_t w = 0;
    for (size_t i = 0; i < np; i++) {
        w += (size_t)snprintf(text + w, cap - w, "rule t%zu { strings: $a = {", i);
        for (size_t b = 0; b < p[i].len; b++) {
            w += (size_t)snprintf(text + w, cap - w, " %02x", p[i].b[b]);
        }
        w += (size_t)snprintf(text + w, cap - w, " } condition: $a }\n");
    }
    STRAIN_TRY(strain_yara_compile(&rules, ctx, text));
    for (size_t e = 0; e < n_ex; e++) {
        int rc = yr_rules_scan_mem(rules->rules, exclude[e].data, exclude[e].size,
                                   SCAN_FLAGS_FAST_MODE, on_match, drop, STRAIN_YARA_SCAN_TIMEOUT);
        if (rc != ERROR_SUCCESS) {
            STRAIN_TRY(strain__fail(ctx, STRAIN_ERROR, "libyara scan failed (%d)", rc));
        }
    }
done:
    strain_yara_rules_free(rules);
    free(text);
    return err;
}

int strain_yara__text_patterns(ypat **out, size_t *out_n, strain_ctx *ctx, const yfile *yf,
                               const strain_yara_file *files, size_t n,
                               const strain_yara_file *exclude, size_t n_ex, size_t max)
{
    strain_engine_string **strs = calloc(n, sizeof(*strs));
    size_t *ns = calloc(n, sizeof(*ns));
    text_ref *refs = NULL;
    ypat *p = NULL;
    uint8_t *drop = NULL;
    uint64_t *ex = NULL;
    size_t total = 0, np = 0, nx = 0;
    int err = STRAIN_OK;
    *out = NULL;
    *out_n = 0;
    if (strs == NULL || ns == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < n; i++) {
        STRAIN_TRY(strain_code__binary_strings(&strs[i], &ns[i], ctx, yf[i].bin, files[i].data,
                                               files[i].size));
        total += ns[i];
    }
    refs = malloc((total + 1) * sizeof(*refs));
    if (refs == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    total = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ns[i]; k++) {
            refs[total++] = (text_ref){strs[i][k].hash, i, &strs[i][k], 0};
        }
    }
    /* files per hash (each file lists a string once), one holder kept */
    qsort(refs, total, sizeof(*refs), cmp_hash_file);
    STRAIN_TRY(excluded_hashes(&ex, &nx, ctx, exclude, n_ex));
    size_t m = 0;
    for (size_t i = 0; i < total;) {
        size_t j = i;
        while (j < total && refs[j].hash == refs[i].hash) {
            j++;
        }
        if ((j - i) * 2 >= n && !strain_u64_has(ex, nx, refs[i].hash)) {
            refs[m] = refs[i];
            refs[m++].files = (uint32_t)(j - i);
        }
        i = j;
    }
    qsort(refs, m, sizeof(*refs), cmp_rank);
    size_t want = STRAIN_YARA_TEXT_CANDIDATES;
    p = calloc(want + 1, sizeof(*p));
    drop = calloc(want + 1, 1);
    if (p == NULL || drop == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < m && np < want; i++) {
        np += text_pat(&p[np], refs[i].s, files[refs[i].file].data);
    }
    if (np > 0 && n_ex > 0) {
        STRAIN_TRY(excluded(drop, ctx, p, np, exclude, n_ex));
    }

    size_t keep = 0;
    for (size_t i = 0; i < np && keep < max; i++) {
        if (drop[i]) {
            continue;
        }
        p[i].files = 0;
        for (size_t f = 0; f < n; f++) {
            p[i].files += strain_yara__pat_in(&p[i], files[f].data, files[f].size);
        }
        if (p[i].files * 2 >= n) {
            p[keep++] = p[i];
        }
    }
    *out = p;
    *out_n = keep;
    p = NULL;
done:
    for (size_t i = 0; strs != NULL && i < n; i++) {
        free(strs[i]);
    }
    free(strs);
    free(ns);
    free(refs);
    free(p);
    free(drop);
    free(ex);
    return err;
}
