/*
 * strain/strings.h: printable strings (ASCII and UTF-16LE) found in a sample's bytes, and the
 * indicators (URLs, domains, IPv4 addresses, e-mail addresses, registry keys, Windows paths,
 * PDB paths) an analyst pulls out of them. Nothing is decoded or executed: these are byte
 * runs, exactly what `strings -a` would show, plus pattern checks.
 */
#ifndef STRAIN_STRINGS_H
#define STRAIN_STRINGS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum strain_string_encoding {
    STRAIN_STRING_ASCII = 0, /* bytes 0x20..0x7e and tab, like GNU `strings -a` */
    STRAIN_STRING_UTF16LE,   /* the same characters, each followed by 0x00 (`strings -el`) */
} strain_string_encoding;

/* "ascii", "utf16le" */
STRAIN_API const char *strain_string_encoding_name(strain_string_encoding e);

typedef struct strain_string {
    uint64_t offset;  /* file offset of the first byte */
    const char *text; /* NUL-terminated ASCII (UTF-16LE converted) */
    size_t len;       /* characters in text */
    strain_string_encoding encoding;
} strain_string;

/* `strings` prints runs of 4 or more; that is the library default. */
#define STRAIN_STRINGS_DEFAULT_MIN 4u

typedef struct strain_strings_opts {
    size_t min_len;   /* shortest run kept; 0 means STRAIN_STRINGS_DEFAULT_MIN */
    size_t max_count; /* most strings kept; 0 means the built-in cap (STRAIN_STRINGS_MAX_COUNT) */
    bool no_ascii;    /* skip ASCII runs */
    bool no_utf16le;  /* skip UTF-16LE runs */
} strain_strings_opts;

typedef struct strain_strings strain_strings;

/*
 * Finds every run of at least min_len printable characters in data, ASCII and UTF-16LE,
 * ordered by file offset (an ASCII and a UTF-16LE run never start at the same offset).
 * opts may be NULL for the defaults. data is copied from, not kept. When the count cap is
 * reached the remaining runs are dropped and strain_strings_truncated() says so. Caller frees
 * with strain_strings_free(). Thread-safe for distinct contexts.
 */
STRAIN_API int strain_strings_extract(strain_strings **out, strain_ctx *ctx, const uint8_t *data,
                                      size_t size, const strain_strings_opts *opts);
STRAIN_API void strain_strings_free(strain_strings *s);
/* Accessors below only read: thread-safe on one result from several threads. */
STRAIN_API size_t strain_strings_count(const strain_strings *s);
/* Borrowed until s is freed; NULL when i is out of range. */
STRAIN_API const strain_string *strain_strings_get(const strain_strings *s, size_t i);
/* True when the count cap dropped strings. */
STRAIN_API bool strain_strings_truncated(const strain_strings *s);

typedef enum strain_ioc_kind {
    STRAIN_IOC_URL = 0,
    STRAIN_IOC_DOMAIN,
    STRAIN_IOC_IPV4,
    STRAIN_IOC_EMAIL,
    STRAIN_IOC_REGISTRY,
    STRAIN_IOC_PATH,
    STRAIN_IOC_PDB_PATH,
} strain_ioc_kind;
#define STRAIN_IOC_N_KINDS 7

/* JSON key of a kind: "urls", "domains", "ipv4", "emails", "registry", "paths", "pdb_paths" */
STRAIN_API const char *strain_ioc_kind_name(strain_ioc_kind k);

typedef struct strain_ioc {
    strain_ioc_kind kind;
    const char *value; /* as found (UTF-16LE converted), NUL-terminated */
    uint64_t offset;   /* file offset of the string holding its first occurrence */
} strain_ioc;

typedef struct strain_iocs strain_iocs;

/*
 * Pulls indicators out of strings (see docs/info-schema.md for each kind's rules and the
 * false positives they avoid). Each kind is deduplicated (exact match) and sorted bytewise by
 * value, so equal inputs give equal output. A URL also contributes its host to domains (or
 * ipv4), an e-mail address its domain. Caller frees with strain_iocs_free(); the result does
 * not borrow from strings. Thread-safe for distinct contexts.
 */
STRAIN_API int strain_iocs_extract(strain_iocs **out, strain_ctx *ctx,
                                   const strain_strings *strings);
STRAIN_API void strain_iocs_free(strain_iocs *iocs);
/* Accessors below only read: thread-safe on one result from several threads. */
STRAIN_API size_t strain_iocs_count(const strain_iocs *iocs, strain_ioc_kind kind);
/* Borrowed until iocs is freed; NULL when out of range. */
STRAIN_API const strain_ioc *strain_iocs_get(const strain_iocs *iocs, strain_ioc_kind kind,
                                             size_t i);
/* True when a kind hit its cap (STRAIN_IOCS_MAX_PER_KIND) and further values were dropped. */
STRAIN_API bool strain_iocs_truncated(const strain_iocs *iocs, strain_ioc_kind kind);

#ifdef __cplusplus
}
#endif
#endif
