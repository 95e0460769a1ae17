/*
 * Private interface of the input layer: the walk state shared by walk.c (files, directories,
 * stdin) and archive.c (libarchive), archive sniffing (magic.c) and member naming (name.c).
 */
#ifndef STRAIN_INPUT_IMPL_H
#define STRAIN_INPUT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strain/input.h>

#include "util/buf.h"

/* What the first bytes of an input say it is. Only real magic at its real offset counts. */
typedef enum strain_input_kind {
    STRAIN_INPUT_PLAIN = 0, /* not an archive: a sample */
    STRAIN_INPUT_ZIP,       /* "PK\3\4" local header (or "PK\5\6": empty zip) at 0 */
    STRAIN_INPUT_7Z,        /* "7z\xBC\xAF\x27\x1C" at 0 */
    STRAIN_INPUT_TAR,       /* "ustar" at 257 */
    STRAIN_INPUT_GZIP,      /* 1F 8B 08 at 0 */
    STRAIN_INPUT_BZIP2,     /* "BZh1".."BZh9" at 0 */
    STRAIN_INPUT_XZ,        /* FD "7zXZ" 00 at 0 */
} strain_input_kind;

/* Bytes needed to sniff every kind (ustar magic ends at 262). */
#define STRAIN_INPUT_SNIFF_LEN 512u

/* Kind of an input from its first bytes (len may be short; short means PLAIN). */
strain_input_kind strain_input__sniff(const uint8_t *p, size_t len);
/* "zip", "7z", ... for messages. */
const char *strain_input__kind_name(strain_input_kind kind);

/* One walk: the caller's callback and options, the counters, and the budget of the archive
 * file being read (reset for each archive file found on disk or read from stdin). */
typedef struct strain_walk {
    strain_ctx *ctx;
    const char *password; /* caller's, may be NULL; "infected" is always tried too */
    bool no_archives;
    strain_input_cb cb;
    void *payload;
    int failures; /* error callbacks made */
    int stop;     /* < 0 once the callback (or OOM) stopped the walk */
    /* Budget of the current archive file. */
    uint64_t unpacked;
    uint64_t members;
    bool budget_hit; /* a per-archive-file limit was hit: unwind every nesting level */
} strain_walk;

/* Reports an error through the callback (sample NULL) and counts it. The message is
 * printf-formatted. Returns w->stop (< 0 when the callback asked to stop). */
int strain_input__report(strain_walk *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Hands bytes (malloc'd, size + 1 with a NUL at size; ownership taken even on failure) to
 * the callback as a sample. Returns w->stop. */
int strain_input__yield(strain_walk *w, uint8_t *bytes, size_t size, const char *path,
                        const char *archive_path);

/* Where an archive sits: the file on disk, its archive_path ("outer.zip" at the top,
 * "outer.zip!inner.zip" nested), how messages name it ("/cases/outer.zip!inner.zip") and its
 * nesting level (1 for the archive on disk or stdin). */
typedef struct strain_input_level {
    const char *path;
    const char *chain;
    const char *where;
    unsigned depth;
} strain_input_level;

/*
 * Walks an archive of the given kind read from fd (>= 0: a seekable regular file, read with
 * pread, never closed here) or from the in-memory buffer data/size (fd < 0; borrowed for the
 * call). Samples and failures go through w; returns w->stop.
 */
int strain_input__walk_archive(strain_walk *w, strain_input_kind kind, int fd, const uint8_t *data,
                               size_t size, const strain_input_level *lv);

/* The member count a zip's end-of-central-directory record (or its zip64 record) declares,
 * from fd (>= 0) or data; false when there is no such record (zipdir.c). */
bool strain_input__zip_entries(int fd, const uint8_t *data, uint64_t size, uint64_t *out);

/* Reads [off, off + n) of a source, fd (>= 0) or data of size bytes, into buf; false when
 * short or unreadable (pread.c). */
bool strain_input__pread(int fd, const uint8_t *data, uint64_t size, uint64_t off, uint8_t *buf,
                         size_t n);

/*
 * Checks what a 7z archive's header declares before libarchive allocates for it (sevenz.c):
 * counts the header bytes cannot hold, more files or streams than members_left, a header
 * over STRAIN_INPUT_7Z_MAX_HEADER, BCJ2 streams past the size and ratio limits. Returns 0
 * (go on; also when the start is not 7z, which libarchive then reports), or STRAIN_ELIMIT,
 * STRAIN_EMALFORMED, STRAIN_EIO, STRAIN_ENOMEM with the reason in why.
 */
int strain_input__7z_check(int fd, const uint8_t *data, uint64_t size, const strain_limits *lim,
                           uint64_t members_left, char *why, size_t why_len);

/* Starts a fresh budget (total unpacked bytes, members) for a new archive file. */
void strain_input__budget_reset(strain_walk *w);

/*
 * Walks an in-memory buffer as if it were a file called name (archives opened, nested
 * ones too), with the limits of ctx. The entry point for the fuzzer and for callers that
 * already hold the bytes. Same return convention as strain_input_walk().
 */
int strain_input__walk_memory(strain_ctx *ctx, const uint8_t *data, size_t size, const char *name,
                              const strain_input_opts *opts, strain_input_cb cb, void *payload);

/* archive_path helpers (name.c). */
/* Appends a member name to b, escaped so that '!' only ever separates levels: '%' -> "%25",
 * '!' -> "%21", control bytes -> "%XX"; at most STRAIN_MAX_NAME_LEN bytes of name. */
int strain_input__put_member_name(strain_buf *b, const char *name);
/* The last path component of path ("-" for stdin), for the first archive_path level. */
const char *strain_input__basename(const char *path);

/* Takes ownership of bytes (malloc'd, NUL at size) and builds a sample around them. On
 * failure bytes are freed. Caller frees the sample (sample.c). */
int strain_sample__adopt(strain_sample **out, strain_ctx *ctx, uint8_t *bytes, size_t size,
                         const char *path, const char *archive_path);

#endif
