/*
 * YARA generation internals shared by yara_gen.c (code patterns, rule rounds, libyara) and
 * yara_text.c (string patterns).
 */
#ifndef STRAIN_ENGINE_YARA_IMPL_H
#define STRAIN_ENGINE_YARA_IMPL_H

#include <strain/binary.h>
#include <strain/code.h>
#include <strain/yara_gen.h>
#include <yara.h>

#include "util/limits.h"

struct strain_yara_rules {
    YR_RULES *rules;
};

/* A candidate string of a rule: a code pattern (bytes, with ?? where fixed is 0) or a text
 * string of the data (every byte fixed; written as text, `wide` for UTF-16LE). */
typedef struct ypat {
    uint8_t b[STRAIN_YARA_PATTERN_MAX];
    uint8_t fixed[STRAIN_YARA_PATTERN_MAX]; /* 1: byte must match; 0: ?? */
    /* files: given files holding it while choosing; then the drop mark of a round */
    size_t len;
    size_t anchor, anchor_len; /* longest fixed run */
    size_t files;              /* given files containing it */
    bool text;
    bool wide;
} ypat;

typedef struct yfile {
    strain_binary *bin;
    strain_genome *g;
} yfile;

/* Whether data holds p (a masked search anchored on its longest fixed run). */
bool strain_yara__pat_in(const ypat *p, const uint8_t *data, size_t size);

/*
 * Text candidates: strings of the given files' data sections held by at least half of them,
 * none found in an excluded file (one libyara pass per excluded file), most widely held and
 * longest first, at most max. *out malloc'd, caller frees; *out_n may be 0.
 */
int strain_yara__text_patterns(ypat **out, size_t *out_n, strain_ctx *ctx, const yfile *yf,
                               const strain_yara_file *files, size_t n,
                               const strain_yara_file *exclude, size_t n_ex, size_t max);

#endif
