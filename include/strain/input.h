/*
 * strain/input.h: turn what an analyst points at (files, directories, archives, stdin) into
 * samples, within the context's limits.
 */
#ifndef STRAIN_INPUT_H
#define STRAIN_INPUT_H

#include "sample.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strain_input_opts {
    const char *password;  /* tried on encrypted archive members; "infected" when NULL */
    bool no_archives;      /* treat archives as plain samples */
} strain_input_opts;

/*
 * Called once per sample found (borrowed: valid only during the call), or once per input
 * that could not be read, with sample == NULL, err < 0 and a message naming the path and
 * reason. Return < 0 to stop the walk (that value is returned by strain_input_walk).
 */
typedef int (*strain_input_cb)(const strain_sample *sample, int err, const char *errmsg,
                               void *payload);

/*
 * Walks every path: files, directories (recursive, symlinks not followed out of the tree),
 * archives (zip incl. password-protected, tar, gz, 7z, ...; nested), "-" for stdin.
 * Returns 0 if every input was read, the number of inputs (or members) that failed
 * otherwise, or a negative error if the callback stopped the walk or memory ran out.
 */
STRAIN_API int strain_input_walk(strain_ctx *ctx, const char *const *paths, size_t n_paths,
                                 const strain_input_opts *opts, strain_input_cb cb,
                                 void *payload);

#ifdef __cplusplus
}
#endif
#endif
