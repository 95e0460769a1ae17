/*
 * Test helpers shared by the cmocka suites: the public corpus manifest, temporary
 * directories, running reference tools and capturing their output.
 */
#ifndef STRAIN_TEST_HELPERS_H
#define STRAIN_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef struct th_corpus_file {
    char family[64];
    char actor[64];
    char version[64];
    char format[16];  /* pe32+, pe32, elf64 */
    char arch[16];
    char sha256[65];
    int signed_;
    char path[1024];  /* where fetch.sh put it */
} th_corpus_file;

/*
 * The public corpus, read from $STRAIN_SHARED_DIR/corpus/public.tsv with paths under
 * $STRAIN_CORPUS_DIR. Returns the number of rows whose file is present (the array is static,
 * do not free). When files are missing: if STRAIN_REQUIRE_CORPUS=1 the test fails, otherwise
 * returns 0 so the caller can skip().
 */
size_t th_corpus(const th_corpus_file **out);

/* A fresh temporary directory (removed by th_cleanup at exit). */
const char *th_tmpdir(void);

/* Runs a shell command; returns its exit status, stdout in *out (malloc'd, may be NULL). */
int th_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file (malloc'd, NUL-terminated); NULL if unreadable. */
uint8_t *th_read_file(const char *path, size_t *len);
/* Writes bytes to a file; 0 on success. */
int th_write_file(const char *path, const void *data, size_t len);

/* True when a program is on PATH. */
int th_have(const char *program);

#endif
