#ifndef STRAIN_UTIL_FILE_H
#define STRAIN_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <strain/common.h>

/*
 * Reads a whole file ("-" = stdin) into a malloc'd buffer (*out, caller frees; a NUL is
 * appended past *out_len for convenience). Files larger than max_size fail with
 * STRAIN_ELIMIT. Read, not mmap: a sample file truncated by someone else while mapped would
 * kill the process with SIGBUS.
 */
int strain__read_file(strain_ctx *ctx, const char *path, uint64_t max_size, uint8_t **out,
                      size_t *out_len);

#endif
