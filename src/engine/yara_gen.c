/*
 * YARA rule generation from shared code (strain/yara_gen.h). The genotype layer says which
 * functions the files share (exact hash of the normalised CFG); this file goes back to the
 * bytes: each chosen function's first instructions are re-decoded with Zydis and written as a
 * hex string, with ?? over displacement bytes, relative branch/call targets and 32/64-bit
 * immediates (addresses and constants that move between builds: what the normaliser masks).
 * Small immediates (stack sizes, field offsets in imm8) are kept: they make a pattern
 * specific. Text strings of the data join them (yara_text.c). Strings are checked by a masked search (anchored on the longest fixed run with
 * memmem) to choose "N of them"; the final rule is then compiled and checked with libyara.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <Zydis/Zydis.h>
#include <strain/binary.h>
#include <strain/code.h>
#include <strain/yara_gen.h>
#include <yara.h>

#include "engine/yara_impl.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/u64sort.h"

/* ---- libyara ---- */

static pthread_once_t yr_once = PTHREAD_ONCE_INIT;
static int yr_init_rc;

static void yr_init(void)
{
    /* Never finalised: the process may compile rules at any time; the OS reclaims it. */
    yr_init_rc = yr_initialize();
}

typedef struct compile_msg {
    char text[256];
} compile_msg;

static void on_compile(int level, const char *file, int line, const YR_RULE *rule,
                       const char *message, void *payload)
{
    (void)file;
    (void)rule;
    compile_msg *m = payload;
    if (level == YARA_ERROR_LEVEL_ERROR && m->text[0] == '\0') {
        snprintf(m->text, sizeof(m->text), "line %d: %s", line, message);
    }
}

int strain_yara_compile(strain_yara_rules **out, strain_ctx *ctx, const char *text)
{
    pthread_once(&yr_once, yr_init);
    if (yr_init_rc != ERROR_SUCCESS) {
        return strain__fail(ctx, STRAIN_ERROR, "libyara initialisation failed (%d)", yr_init_rc);
    }
    YR_COMPILER *comp = NULL;
    if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
        return strain__fail(ctx, STRAIN_ENOMEM, "yr_compiler_create failed");
    }
    compile_msg msg = {""};
    yr_compiler_set_callback(comp, on_compile, &msg);
    int err = 0;
    YR_RULES *rules = NULL;
    if (yr_compiler_add_string(comp, text, NULL) != 0 ||
        yr_compiler_get_rules(comp, &rules) != ERROR_SUCCESS) {
        err = strain__fail(ctx, STRAIN_EINVAL, "YARA rule does not compile: %s", msg.text);
    }
    yr_compiler_destroy(comp);
    if (err < 0) {
        return err;
    }
    strain_yara_rules *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        yr_rules_destroy(rules);
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    r->rules = rules;
    *out = r;
    return 0;
}

void strain_yara_rules_free(strain_yara_rules *r)
{
    if (r != NULL) {
        yr_rules_destroy(r->rules);
        free(r);
    }
}

static int on_scan(YR_SCAN_CONTEXT *sc, int message, void *data, void *payload)
{
    (void)sc;
    (void)data;
    if (message == CALLBACK_MSG_RULE_MATCHING) {
        *(int *)payload = 1;
        return CALLBACK_ABORT;
    }
    return CALLBACK_CONTINUE;
}

int strain_yara_scan(const strain_yara_rules *r, strain_ctx *ctx, const uint8_t *data, size_t size)
{
    int hit = 0;
    int rc = yr_rules_scan_mem(r->rules, data, size, SCAN_FLAGS_FAST_MODE, on_scan, &hit,
                               STRAIN_YARA_SCAN_TIMEOUT);
    if (rc != ERROR_SUCCESS && rc != ERROR_CALLBACK_ERROR) {
        return strain__fail(ctx, STRAIN_ERROR, "libyara scan failed (%d)", rc);
    }
    return hit;
}

/* ---- patterns ---- */

/* Re-decodes from va and fills p with the first instructions; 0 when usable. */
static int extract(ypat *p, const strain_binary *bin, uint64_t va)
{
    const strain_binary_info *bi = strain_binary_get_info(bin);
    ZydisDecoder dec;
    if (bi->arch == STRAIN_ARCH_X64) {
        ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    } else if (bi->arch == STRAIN_ARCH_X86) {
        ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    } else {
        return -1;
    }
    const uint8_t *code = NULL;
    size_t avail = 0;
    if (strain_binary_va_bytes(bin, va, &code, &avail) < 0) {
        return -1;
    }
    memset(p, 0, sizeof(*p));
    size_t off = 0;
    while (off < avail && off < STRAIN_YARA_PATTERN_MAX) {
        ZydisDecodedInstruction in;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code + off, avail - off, &in, ops))) {
            break;
        }
        if (off + in.length > STRAIN_YARA_PATTERN_MAX) {
            break;
        }
        memcpy(p->b + off, code + off, in.length);
        memset(p->fixed + off, 1, in.length);
        if (in.raw.disp.size > 0) {
            memset(p->fixed + off + in.raw.disp.offset, 0, in.raw.disp.size / 8u);
        }
        for (int k = 0; k < 2; k++) {
            if (in.raw.imm[k].size > 0 && (in.raw.imm[k].is_relative || in.raw.imm[k].size >= 32)) {
                memset(p->fixed + off + in.raw.imm[k].offset, 0, in.raw.imm[k].size / 8u);
            }
        }
        off += in.length;
        if (in.mnemonic == ZYDIS_MNEMONIC_RET || in.mnemonic == ZYDIS_MNEMONIC_JMP ||
            in.mnemonic == ZYDIS_MNEMONIC_INT3) {
            break;
        }
    }
    /* YARA hex strings may not start or end with a wildcard. */
    while (off > 0 && !p->fixed[off - 1]) {
        off--;
    }
    p->len = off;
    size_t nfixed = 0, run = 0;
    for (size_t i = 0; i < off; i++) {
        nfixed += p->fixed[i];
        run = p->fixed[i] ? run + 1 : 0;
        if (run > p->anchor_len) {
            p->anchor_len = run;
            p->anchor = i + 1 - run;
        }
    }
    return nfixed >= STRAIN_YARA_MIN_FIXED && p->anchor_len >= 4 && p->fixed[0] ? 0 : -1;
}

bool strain_yara__pat_in(const ypat *p, const uint8_t *data, size_t size)
{
    const uint8_t *a = p->b + p->anchor;
    size_t pos = 0;
    while (pos + p->anchor_len <= size) {
        const uint8_t *hit = memmem(data + pos, size - pos, a, p->anchor_len);
        if (hit == NULL) {
            return false;
        }
        size_t at = (size_t)(hit - data);
        if (at >= p->anchor && at - p->anchor + p->len <= size) {
            const uint8_t *s = data + at - p->anchor;
            size_t i = 0;
            while (i < p->len && (!p->fixed[i] || s[i] == p->b[i])) {
                i++;
            }
            if (i == p->len) {
                return true;
            }
        }
        pos = at + 1;
    }
    return false;
}

/* ---- selection ---- */

typedef struct gene_count {
    uint64_t exact;
    uint32_t files;
    uint32_t size;
    size_t file; /* a file holding it */
    uint64_t va;
} gene_count;

static int cmp_gc(const void *a, const void *b)
{
    const gene_count *x = a, *y = b;
    if (x->exact != y->exact) {
        return x->exact < y->exact ? -1 : 1;
    }
    return x->file < y->file ? -1 : x->file > y->file;
}

static int cmp_rank(const void *a, const void *b)
{
    const gene_count *x = a, *y = b;
    if (x->files != y->files) {
        return x->files > y->files ? -1 : 1;
    }
    if (x->size != y->size) {
        return x->size > y->size ? -1 : 1;
    }
    return x->exact < y->exact ? -1 : x->exact > y->exact;
}

/* Most given files first; code patterns before text at equal counts (qsort is not stable:
 * the kind and then the bytes break ties, so the order is the same on every run). */
static int cmp_held(const void *a, const void *b)
{
    const ypat *x = a, *y = b;
    if (x->files != y->files) {
        return x->files > y->files ? -1 : 1;
    }
    if (x->text != y->text) {
        return x->text ? 1 : -1;
    }
    if (x->len != y->len) {
        return x->len > y->len ? -1 : 1;
    }
    int c = memcmp(x->b, y->b, x->len);
    return c != 0 ? c : memcmp(x->fixed, y->fixed, x->len);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int load(yfile *f, strain_ctx *ctx, const strain_yara_file *in)
{
    memset(f, 0, sizeof(*f));
    int err = strain_binary_parse(&f->bin, ctx, in->data, in->size);
    if (err == 0) {
        err = strain_genome_build(&f->g, ctx, f->bin, NULL);
    }
    return err;
}

static void unload(yfile *f)
{
    strain_genome_free(f->g);
    strain_binary_free(f->bin);
}

static void json_safe(char *dst, size_t n, const char *s)
{
    size_t k = 0;
    for (; s != NULL && *s != '\0' && k + 1 < n; s++) {
        dst[k++] = (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? '_' : *s;
    }
    dst[k] = '\0';
}

static int write_rule(char **out, strain_ctx *ctx, const ypat *pats, size_t np, size_t n_of,
                      size_t members, const strain_yara_opts *o)
{
    size_t cap = 1024 + np * (STRAIN_YARA_PATTERN_MAX * 3 + 32);
    char *s = malloc(cap), actor[128], family[128], name[128];
    if (s == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    json_safe(actor, sizeof(actor), o->actor);
    json_safe(family, sizeof(family), o->family);
    const char *rn = o->rule_name != NULL ? o->rule_name : "strain_generated";
    size_t k = 0;
    for (; rn[k] != '\0' && k + 1 < sizeof(name); k++) {
        char ch = rn[k];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                  (k > 0 && ch >= '0' && ch <= '9');
        name[k] = ok ? ch : '_';
    }
    name[k] = '\0';
    char date[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    size_t w = (size_t)snprintf(s, cap,
                                "rule %s\n{\n    meta:\n        author = \"strain yara\"\n"
                                "        actor = \"%s\"\n        family = \"%s\"\n"
                                "        members = %zu\n        date = \"%s\"\n"
                                "        description = \"code and strings shared by the members: "
                                "first instructions of shared functions (?? over addresses), "
                                "strings of their data\"\n"
                                "    strings:\n",
                                name, actor, family, members, date);
    for (size_t i = 0; i < np; i++) {
        if (pats[i].text) {
            w += (size_t)snprintf(s + w, cap - w, "        $s%zu = \"", i);
            for (size_t b = 0; b < pats[i].len; b += pats[i].wide ? 2 : 1) {
                uint8_t c = pats[i].b[b];
                const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\t' ? "\\t" : NULL;
                if (esc != NULL) {
                    w += (size_t)snprintf(s + w, cap - w, "%s", esc);
                } else {
                    w += (size_t)snprintf(s + w, cap - w, "%c", (char)c);
                }
            }
            w += (size_t)snprintf(s + w, cap - w, "\"%s\n", pats[i].wide ? " wide" : "");
            continue;
        }
        w += (size_t)snprintf(s + w, cap - w, "        $f%zu = {", i);
        for (size_t b = 0; b < pats[i].len; b++) {
            if (pats[i].fixed[b]) {
                w += (size_t)snprintf(s + w, cap - w, " %02x", pats[i].b[b]);
            } else {
                w += (size_t)snprintf(s + w, cap - w, " ??");
            }
        }
        w += (size_t)snprintf(s + w, cap - w, " }\n");
    }
    snprintf(s + w, cap - w, "    condition:\n        %zu of them\n}\n", n_of);
    *out = s;
    return 0;
}

int strain_yara_generate(char **out, strain_yara_report *report, strain_ctx *ctx,
                         const strain_yara_file *files, size_t n, const strain_yara_file *exclude,
                         size_t n_ex, const strain_yara_opts *opts)
{
    strain_yara_opts o;
    memset(&o, 0, sizeof(o));
    if (opts != NULL) {
        o = *opts;
    }
    size_t max_strings = o.max_strings > 0 && o.max_strings <= STRAIN_YARA_MAX_STRINGS
                             ? o.max_strings
                             : STRAIN_YARA_DEFAULT_STRINGS;
    yfile *yf = calloc(n + 1, sizeof(*yf));
    gene_count *gc = NULL;
    uint64_t *ex = NULL;
    ypat *pats = NULL;
    ypat *tp = NULL;
    size_t ntp = 0;
    uint32_t *hits = NULL;
    uint8_t *in_file = NULL;
    char *rule = NULL;
    strain_yara_rules *rules = NULL;
    size_t ng = 0, nx = 0, np = 0;
    int err = 0;
    if (yf == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "out of memory");
    }
    if (n == 0 || files == NULL || (n_ex > 0 && exclude == NULL)) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_EINVAL, "no files"));
    }
    for (size_t i = 0; i < n; i++) {
        STRAIN_TRY(load(&yf[i], ctx, &files[i]));
        ng += strain_genome_get_info(yf[i].g)->n_genes;
    }
    /* Function hashes of the excluded files: a shared function they have is no signature. */
    for (size_t i = 0; i < n_ex; i++) {
        yfile e;
        memset(&e, 0, sizeof(e));
        const strain_genome *eg = NULL;
        if (o.exclude_genomes != NULL) {
            eg = o.exclude_genomes[i];
        } else {
            STRAIN_TRY(load(&e, ctx, &exclude[i]));
            eg = e.g;
        }
        const strain_genome_info *gi = strain_genome_get_info(eg);
        uint64_t *nxp = realloc(ex, (nx + gi->n_genes + 1) * sizeof(uint64_t));
        if (nxp == NULL) {
            unload(&e);
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        ex = nxp;
        for (size_t k = 0; k < gi->n_genes; k++) {
            ex[nx++] = gi->genes[k].exact;
        }
        unload(&e);
    }
    if (nx > 0) {
        qsort(ex, nx, sizeof(uint64_t), strain_u64_cmp);
    }
    gc = malloc((ng + 1) * sizeof(*gc));
    if (gc == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    ng = 0;
    for (size_t i = 0; i < n; i++) {
        const strain_genome_info *gi = strain_genome_get_info(yf[i].g);
        for (size_t k = 0; k < gi->n_genes; k++) {
            const strain_gene *x = &gi->genes[k];
            if (x->flags & (STRAIN_GENE_SMALL | STRAIN_GENE_THUNK)) {
                continue;
            }
            if (nx > 0 && bsearch(&x->exact, ex, nx, sizeof(uint64_t), strain_u64_cmp) != NULL) {
                continue;
            }
            gc[ng++] = (gene_count){x->exact, 1, x->size, i, x->address};
        }
    }
    /* Count files per hash (one per file), keep one holder. */
    qsort(gc, ng, sizeof(*gc), cmp_gc);
    size_t m = 0;
    for (size_t i = 0; i < ng;) {
        size_t j = i;
        uint32_t fcount = 0;
        for (; j < ng && gc[j].exact == gc[i].exact; j++) {
            fcount += j == i || gc[j].file != gc[j - 1].file;
        }
        gc[m] = gc[i];
        gc[m++].files = fcount;
        i = j;
    }
    ng = m;
    qsort(gc, ng, sizeof(*gc), cmp_rank);
    /* Patterns from the best-shared functions until max_strings good ones are found. */
    pats = calloc(max_strings, sizeof(*pats));
    hits = calloc(n + 1, sizeof(uint32_t));
    in_file = calloc(n + 1, 1);
    if (pats == NULL || hits == NULL || in_file == NULL) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
    }
    size_t tried = 0;
    for (size_t i = 0; i < ng && np < max_strings && tried < STRAIN_YARA_MAX_CANDIDATES; i++) {
        if (gc[i].files * 2 < n) {
            break; /* shared by fewer than half the files */
        }
        tried++;
        ypat *p = &pats[np];
        if (extract(p, yf[gc[i].file].bin, gc[i].va) < 0) {
            continue;
        }
        bool dup = false;
        for (size_t q = 0; q < np && !dup; q++) {
            dup = pats[q].len == p->len && memcmp(pats[q].b, p->b, p->len) == 0 &&
                  memcmp(pats[q].fixed, p->fixed, p->len) == 0;
        }
        if (dup) {
            continue;
        }
        for (size_t f = 0; f < n; f++) {
            in_file[f] = strain_yara__pat_in(p, files[f].data, files[f].size);
            p->files += in_file[f];
        }
        if (p->files * 2 >= n) {
            np++;
        }
    }
    /* Text strings of the data compete with the code patterns for the rule's strings: the
     * most widely held first, code before text when equally held. */
    STRAIN_TRY(
        strain_yara__text_patterns(&tp, &ntp, ctx, yf, files, n, exclude, n_ex, max_strings));
    if (ntp > 0) {
        ypat *all = realloc(pats, (np + ntp) * sizeof(*all));
        if (all == NULL) {
            STRAIN_TRY(strain__fail(ctx, STRAIN_ENOMEM, "out of memory"));
        }
        pats = all;
        memcpy(pats + np, tp, ntp * sizeof(*tp));
        np += ntp;
        qsort(pats, np, sizeof(*pats), cmp_held);
        np = np < max_strings ? np : max_strings;
    }
    if (np == 0) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOTFOUND,
                                "no function or string shared by at least half of the files "
                                "and absent from the excluded files gave a usable pattern"));
    }
    /* Rounds: write the rule, scan the excluded files with libyara, drop the strings found
     * in any excluded file that matched (searching only those files), until none matches. */
    size_t n_of = 1, matched = 0, ex_matched = 0;
    for (unsigned round = 0; round < STRAIN_YARA_MAX_ROUNDS; round++) {
        /* N: half the strings carried by the file at the 10th percentile (90% of files carry
         * at least that many), at least 1: tolerant of held-out versions that lost some. */
        memset(hits, 0, n * sizeof(uint32_t));
        for (size_t f = 0; f < n; f++) {
            for (size_t q = 0; q < np; q++) {
                hits[f] += strain_yara__pat_in(&pats[q], files[f].data, files[f].size);
            }
        }
        qsort(hits, n, sizeof(uint32_t), cmp_u32);
        n_of = (hits[n / 10] + 1) / 2;
        if (n_of == 0) {
            n_of = 1;
        }
        free(rule);
        rule = NULL;
        strain_yara_rules_free(rules);
        rules = NULL;
        STRAIN_TRY(write_rule(&rule, ctx, pats, np, n_of, n, &o));
        STRAIN_TRY(strain_yara_compile(&rules, ctx, rule));
        ex_matched = 0;
        for (size_t q = 0; q < np; q++) {
            pats[q].files = 0; /* reused as the drop mark */
        }
        for (size_t e = 0; e < n_ex; e++) {
            int r = strain_yara_scan(rules, ctx, exclude[e].data, exclude[e].size);
            STRAIN_TRY(r);
            if (r == 1) {
                ex_matched++;
                for (size_t q = 0; q < np; q++) {
                    pats[q].files |=
                        strain_yara__pat_in(&pats[q], exclude[e].data, exclude[e].size);
                }
            }
        }
        if (ex_matched == 0) {
            break;
        }
        size_t keep = 0;
        for (size_t q = 0; q < np; q++) {
            if (!pats[q].files) {
                pats[keep++] = pats[q];
            }
        }
        if (keep == np || keep == 0) {
            break; /* nothing to drop (the N of them made it) or nothing left */
        }
        np = keep;
    }
    for (size_t f = 0; f < n; f++) {
        int r = strain_yara_scan(rules, ctx, files[f].data, files[f].size);
        STRAIN_TRY(r);
        matched += (size_t)r;
    }
    if (report != NULL) {
        report->n_strings = np;
        report->n_of = n_of;
        report->members_matched = matched;
        report->excluded_matched = ex_matched;
    }
    if (matched * 10 < n * 9) {
        STRAIN_TRY(strain__fail(ctx, STRAIN_ENOTFOUND,
                                "the rule matches only %zu of %zu files (< 90%%)", matched, n));
    }
    if (ex_matched > 0) {
        STRAIN_TRY(
            strain__fail(ctx, STRAIN_ENOTFOUND, "the rule matches %zu excluded files", ex_matched));
    }
    *out = rule;
    rule = NULL;
done:
    strain_yara_rules_free(rules);
    free(rule);
    for (size_t i = 0; i < n; i++) {
        unload(&yf[i]);
    }
    free(yf);
    free(gc);
    free(ex);
    free(pats);
    free(tp);
    free(hits);
    free(in_file);
    return err;
}
