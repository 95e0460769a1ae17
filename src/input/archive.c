/*
 * Archives through libarchive, one member at a time, with limits a hostile archive cannot
 * get past.
 *
 * Shape: we feed libarchive ourselves (read/seek/skip callbacks over an fd with pread, or over
 * a memory buffer) so that a regular file or a nested member is seekable (zip is then read
 * from its central directory, which lets a skipped member cost a seek instead of an inflate)
 * and so that archive_filter_bytes(a, -1), the compressed position, moves with what the
 * decoders actually consumed. Each member is streamed into one growing buffer and checked
 * after every chunk, so a bomb is stopped after at most one chunk past its limit and is
 * never inflated whole:
 *   - file size: a member larger than max_file_size;
 *   - ratio: unpacked > max_ratio x compressed. The compression unit differs by format: a
 *     zip member is compressed alone (compressed = position now - position at its header);
 *     tar.gz/bz2/xz and single-file gz/bz2/xz are one stream (compressed = stream position,
 *     unpacked = everything read from the stream); 7z decodes solid folders through its own
 *     seeks, so the only honest bound is the whole archive's size against everything it
 *     unpacked. Compressed counts below STRAIN_INPUT_RATIO_FLOOR are rounded up to it;
 *   - total unpacked bytes and member count of the archive file (nested levels included);
 *   - nesting depth, checked before a nested archive is opened.
 * After a member-level hit (size, ratio, password, corrupt data) we go on with the next
 * member only where skipping is cheap: zip (central directory: a seek) and uncompressed tar
 * (sizes in headers: a seek). In a compressed stream (tar.gz, 7z folders) skipping means
 * decompressing what we refused to read, so the rest of that archive is given up, with a
 * message saying so. Budget hits (total, members) end the whole archive file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "input/input_impl.h"
#include "util/ctx.h"
#include "util/err.h"
#include "util/limits.h"

/* Read granularity of our libarchive callbacks and of the member buffer growth. */
#define SRC_BLOCK (64u << 10)
#define DEFAULT_PASSWORD "infected"

typedef struct source {
    int fd;              /* >= 0: read with pread at pos */
    const uint8_t *data; /* fd < 0: the whole archive in memory */
    uint64_t size;       /* bytes in the source (file size at open) */
    uint64_t pos;
    uint8_t *buf; /* SRC_BLOCK bytes for fd reads */
} source;

static la_ssize_t src_read(struct archive *a, void *cd, const void **out)
{
    source *s = cd;
    uint64_t left = s->pos < s->size ? s->size - s->pos : 0;
    size_t n = left < SRC_BLOCK ? (size_t)left : SRC_BLOCK;
    if (s->fd < 0) {
        *out = s->data + s->pos;
        s->pos += n;
        return (la_ssize_t)n;
    }
    ssize_t got;
    do {
        got = pread(s->fd, s->buf, n, (off_t)s->pos);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        archive_set_error(a, errno, "read failed: %s", strerror(errno));
        return ARCHIVE_FATAL;
    }
    s->pos += (uint64_t)got;
    *out = s->buf;
    return got;
}

static la_int64_t src_seek(struct archive *a, void *cd, la_int64_t off, int whence)
{
    source *s = cd;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)s->pos : (int64_t)s->size;
    int64_t to;
    if (__builtin_add_overflow(base, off, &to) || to < 0) {
        archive_set_error(a, EINVAL, "seek outside the archive");
        return ARCHIVE_FATAL;
    }
    /* Past the end reads as end of file, as with lseek. */
    s->pos = (uint64_t)to > s->size ? s->size : (uint64_t)to;
    return (la_int64_t)s->pos;
}

static la_int64_t src_skip(struct archive *a, void *cd, la_int64_t req)
{
    (void)a;
    source *s = cd;
    if (req <= 0) {
        return 0;
    }
    uint64_t left = s->size - s->pos;
    uint64_t n = (uint64_t)req < left ? (uint64_t)req : left;
    s->pos += n;
    return (la_int64_t)n;
}

/* Inside a gzip/bzip2/xz stream: a tar, or one member (libarchive's "raw" format). */
typedef enum inner_format {
    INNER_NONE,
    INNER_TAR,
    INNER_RAW,
} inner_format;

/* The formats and filters a kind may be read as, nothing else: a zip is never re-tried as
 * tar, and the fuzzer only reaches the decoders the sniffed magic selects. */
static void support_kind(struct archive *a, strain_input_kind kind, inner_format inner)
{
    switch (kind) {
    case STRAIN_INPUT_ZIP: archive_read_support_format_zip(a); break;
    case STRAIN_INPUT_7Z: archive_read_support_format_7zip(a); break;
    case STRAIN_INPUT_TAR: archive_read_support_format_tar(a); break;
    case STRAIN_INPUT_GZIP:
    case STRAIN_INPUT_BZIP2:
    case STRAIN_INPUT_XZ:
        if (kind == STRAIN_INPUT_GZIP) {
            archive_read_support_filter_gzip(a);
        } else if (kind == STRAIN_INPUT_BZIP2) {
            archive_read_support_filter_bzip2(a);
        } else {
            archive_read_support_filter_xz(a);
        }
        if (inner == INNER_TAR) {
            archive_read_support_format_tar(a);
        } else {
            archive_read_support_format_raw(a);
        }
        break;
    default: break;
    }
}

/* A reader over src; *out is NULL only when out of memory. Returns libarchive's status. */
static int open_reader(struct archive **out, source *src, strain_input_kind kind,
                       inner_format inner, const char *password)
{
    struct archive *a = archive_read_new();
    *out = a;
    if (a == NULL) {
        return ARCHIVE_FATAL;
    }
    src->pos = 0;
    support_kind(a, kind, inner);
    /* The caller's password first, then the convention of sample exchanges. */
    if (password != NULL) {
        archive_read_add_passphrase(a, password);
    }
    archive_read_add_passphrase(a, DEFAULT_PASSWORD);
    archive_read_set_read_callback(a, src_read);
    archive_read_set_seek_callback(a, src_seek);
    archive_read_set_skip_callback(a, src_skip);
    archive_read_set_callback_data(a, src);
    return archive_read_open1(a);
}

/*
 * What a gzip/bzip2/xz stream holds, from the ustar magic of its first decompressed block.
 * libarchive's own bidding cannot be used: its tar reader takes a leading all-zero block for
 * an empty archive, so a compressed file that starts with 512 zero bytes would silently
 * yield nothing. Costs one extra decompression of 512 bytes.
 */
static inner_format probe_inner(source *src, strain_input_kind kind)
{
    uint8_t head[STRAIN_INPUT_SNIFF_LEN];
    size_t len = 0;
    struct archive_entry *e;
    struct archive *a = NULL;
    if (open_reader(&a, src, kind, INNER_RAW, NULL) == ARCHIVE_OK &&
        archive_read_next_header(a, &e) >= ARCHIVE_WARN) {
        while (len < sizeof(head)) {
            la_ssize_t n = archive_read_data(a, head + len, sizeof(head) - len);
            if (n <= 0) {
                break;
            }
            len += (size_t)n;
        }
    }
    archive_read_free(a);
    return strain_input__sniff(head, len) == STRAIN_INPUT_TAR ? INNER_TAR : INNER_RAW;
}

/* State of one archive being read. */
typedef struct arc {
    strain_walk *w;
    const strain_input_level *lv;
    strain_input_kind kind;
    struct archive *a;
    struct archive_entry *e;
    uint64_t size;            /* bytes of the archive itself */
    uint64_t stream_unpacked; /* everything read from this archive's members */
    const char *name;         /* current member, escaped */
    bool raw;                 /* one decompressed member, not an archive of members */
    bool zip_directory;       /* a zip with an end-of-central-directory record */
} arc;

/* How a member ended. */
typedef enum member_end {
    MEMBER_READ, /* bytes in hand */
    MEMBER_NEXT, /* refused or unreadable; the next member can still be read */
    MEMBER_STOP, /* this archive cannot be read further */
} member_end;

/* True when libarchive can pass over the rest of a member without decoding it. A zip read
 * from its central directory knows every compressed size; one without (truncated, read from
 * local headers) may hold a member whose size comes only after its data, which libarchive
 * can only find by inflating it. */
static bool can_skip(const arc *r)
{
    if (r->kind == STRAIN_INPUT_ZIP) {
        return r->zip_directory;
    }
    return r->kind == STRAIN_INPUT_TAR;
}

/* After a member-level failure: go on, or say why the rest of the archive is dropped. */
static member_end after_member_failure(arc *r)
{
    if (r->raw) {
        return MEMBER_STOP; /* a single member: nothing left to give up */
    }
    if (can_skip(r)) {
        return MEMBER_NEXT;
    }
    strain_input__report(r->w, STRAIN_ELIMIT,
                         "%s: remaining members not read: skipping past a refused member of a "
                         "%s stream would mean decompressing it",
                         r->lv->where, strain_input__kind_name(r->kind));
    return MEMBER_STOP;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* True when the member (or stream) unpacked more than max_ratio x its compressed bytes. */
static bool ratio_exceeded(const arc *r, uint64_t member_len, int64_t pos_at_header)
{
    uint64_t ratio = r->w->ctx->limits.max_ratio;
    int64_t now = archive_filter_bytes(r->a, -1);
    uint64_t compressed, unpacked;
    switch (r->kind) {
    case STRAIN_INPUT_ZIP:
        compressed = now > pos_at_header ? (uint64_t)(now - pos_at_header) : 0;
        unpacked = member_len;
        break;
    case STRAIN_INPUT_7Z:
        compressed = r->size;
        unpacked = r->stream_unpacked;
        break;
    default:
        compressed = now > 0 ? (uint64_t)now : 0;
        unpacked = r->stream_unpacked;
        break;
    }
    if (compressed < STRAIN_INPUT_RATIO_FLOOR) {
        compressed = STRAIN_INPUT_RATIO_FLOOR;
    }
    return unpacked > mul_sat(ratio, compressed);
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap : SRC_BLOCK;
    while (ncap < need) {
        if (__builtin_mul_overflow(ncap, 2, &ncap)) {
            return STRAIN_ENOMEM;
        }
    }
    uint8_t *nb = realloc(*buf, ncap + 1);
    if (nb == NULL) {
        return STRAIN_ENOMEM;
    }
    *buf = nb;
    *cap = ncap;
    return 0;
}

static bool entry_encrypted(struct archive_entry *e)
{
    return archive_entry_is_encrypted(e) != 0;
}

static member_end password_failure(arc *r, const char *detail)
{
    strain_walk *w = r->w;
    if (r->kind == STRAIN_INPUT_7Z) {
        strain_input__report(w, STRAIN_EPASSWORD,
                             "member %s of %s: encrypted 7z data, which libarchive cannot "
                             "decrypt (%s); extract it with 7z and pass the files",
                             r->name, r->lv->where, detail);
        return MEMBER_STOP;
    }
    strain_input__report(
        w, STRAIN_EPASSWORD,
        "member %s of %s: encrypted and no password matched (tried %s%s%s\"" DEFAULT_PASSWORD
        "\"); give the right one with --password (%s)",
        r->name, r->lv->where, w->password ? "\"" : "", w->password ? w->password : "",
        w->password ? "\" and " : "", detail);
    return after_member_failure(r);
}

/* Streams the current member into *out (malloc'd, NUL at *out_len) within every limit. */
static member_end read_member(arc *r, uint8_t **out, size_t *out_len)
{
    strain_walk *w = r->w;
    const strain_limits *lim = &w->ctx->limits;
    int64_t pos_at_header = archive_filter_bytes(r->a, -1);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;

    if (archive_entry_size_is_set(r->e) && archive_entry_size(r->e) >= 0 &&
        (uint64_t)archive_entry_size(r->e) > lim->max_file_size) {
        strain_input__report(w, STRAIN_ELIMIT,
                             "member %s of %s: declared size %lld bytes exceeds the file size "
                             "limit (%llu bytes)",
                             r->name, r->lv->where, (long long)archive_entry_size(r->e),
                             (unsigned long long)lim->max_file_size);
        return after_member_failure(r);
    }
    for (;;) {
        /* Never hold more than max_file_size + one block of a member. */
        if (grow(&buf, &cap, len + SRC_BLOCK) < 0) {
            free(buf);
            w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
            return MEMBER_STOP;
        }
        la_ssize_t n = archive_read_data(r->a, buf + len, SRC_BLOCK);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            const char *msg = archive_error_string(r->a);
            msg = msg != NULL ? msg : "read error";
            member_end end;
            if (entry_encrypted(r->e)) {
                end = password_failure(r, msg);
            } else {
                strain_input__report(w, STRAIN_EMALFORMED, "member %s of %s: %s", r->name,
                                     r->lv->where, msg);
                end = n == ARCHIVE_FATAL ? MEMBER_STOP : after_member_failure(r);
            }
            free(buf);
            return end;
        }
        len += (size_t)n;
        w->unpacked += (uint64_t)n;
        r->stream_unpacked += (uint64_t)n;
        if (len > lim->max_file_size) {
            strain_input__report(w, STRAIN_ELIMIT,
                                 "member %s of %s: larger than the file size limit (%llu bytes)",
                                 r->name, r->lv->where, (unsigned long long)lim->max_file_size);
            free(buf);
            return after_member_failure(r);
        }
        if (w->unpacked > lim->max_total_unpacked) {
            strain_input__report(w, STRAIN_ELIMIT,
                                 "member %s of %s: the archive unpacks to more than the total "
                                 "unpacked limit (%llu bytes); rest of %s not read",
                                 r->name, r->lv->where, (unsigned long long)lim->max_total_unpacked,
                                 r->lv->path);
            w->budget_hit = true;
            free(buf);
            return MEMBER_STOP;
        }
        if (ratio_exceeded(r, len, pos_at_header)) {
            strain_input__report(w, STRAIN_ELIMIT,
                                 "member %s of %s: unpacked size exceeds %ux its compressed size "
                                 "(zip bomb?); stopped after %zu bytes",
                                 r->name, r->lv->where, (unsigned)lim->max_ratio, len);
            free(buf);
            return after_member_failure(r);
        }
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return MEMBER_READ;
}

static int join(char **out, const char *a, const char *b)
{
    strain_buf s = STRAIN_BUF_INIT;
    if (strain_buf_puts(&s, a) < 0 || strain_buf_putc(&s, '!') < 0 || strain_buf_puts(&s, b) < 0) {
        strain_buf_free(&s);
        return STRAIN_ENOMEM;
    }
    *out = strain_buf_detach(&s);
    return *out != NULL ? 0 : STRAIN_ENOMEM;
}

/* A member's bytes: a nested archive to open, or a sample to yield. Takes bytes. */
static void handle_member(arc *r, uint8_t *bytes, size_t len)
{
    strain_walk *w = r->w;
    char *chain = NULL, *where = NULL;
    if (join(&chain, r->lv->chain, r->name) < 0 || join(&where, r->lv->where, r->name) < 0) {
        w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    strain_input_kind kind = w->no_archives ? STRAIN_INPUT_PLAIN : strain_input__sniff(bytes, len);
    if (kind == STRAIN_INPUT_PLAIN) {
        strain_input__yield(w, bytes, len, r->lv->path, chain);
        bytes = NULL;
        goto done;
    }
    if (r->lv->depth + 1 > w->ctx->limits.max_depth) {
        strain_input__report(w, STRAIN_ELIMIT,
                             "member %s of %s: %s archive nested deeper than the depth limit "
                             "(%u levels); not opened",
                             r->name, r->lv->where, strain_input__kind_name(kind),
                             (unsigned)w->ctx->limits.max_depth);
        goto done;
    }
    strain_input_level sub = {r->lv->path, chain, where, r->lv->depth + 1};
    strain_input__walk_archive(w, kind, -1, bytes, len, &sub);
done:
    free(bytes);
    free(chain);
    free(where);
}

static bool is_hardlink_or_special(struct archive_entry *e)
{
    return archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != NULL;
}

/* "x.exe" for "a.zip!x.exe.bz2": chain is escaped already, so is the result. */
static int raw_member_name(strain_buf *b, const char *chain)
{
    static const char *const suffixes[] = {".gz", ".gzip", ".bz2", ".bz", ".xz", ".z"};
    const char *bang = strrchr(chain, '!');
    const char *last = bang != NULL ? bang + 1 : chain;
    size_t n = strlen(last);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcasecmp(last + n - k, suffixes[i]) == 0) {
            return strain_buf_put(b, last, n - k);
        }
    }
    return strain_buf_puts(b, "data");
}

/* The member loop; returns when the archive ends, breaks, or a limit stops it. */
static void walk_members(arc *r)
{
    strain_walk *w = r->w;
    const strain_limits *lim = &w->ctx->limits;
    strain_buf name = STRAIN_BUF_INIT;
    while (w->stop >= 0 && !w->budget_hit) {
        int rc = archive_read_next_header(r->a, &r->e);
        if (rc == ARCHIVE_EOF) {
            break;
        }
        /* Every header counts, directories and broken ones too: that bounds this loop. */
        if (++w->members > lim->max_members) {
            strain_input__report(w, STRAIN_ELIMIT,
                                 "%s: more members than the member limit (%llu); rest of %s "
                                 "not read",
                                 r->lv->where, (unsigned long long)lim->max_members, r->lv->path);
            w->budget_hit = true;
            break;
        }
        if (rc < ARCHIVE_WARN) {
            const char *msg = archive_error_string(r->a);
            if (r->kind == STRAIN_INPUT_7Z && archive_read_has_encrypted_entries(r->a) > 0) {
                strain_input__report(w, STRAIN_EPASSWORD,
                                     "%s: 7z with encrypted headers, which libarchive cannot "
                                     "decrypt (%s); extract it with 7z and pass the files",
                                     r->lv->where, msg != NULL ? msg : "encrypted");
                break;
            }
            strain_input__report(w, STRAIN_EMALFORMED, "%s: corrupt %s archive: %s", r->lv->where,
                                 strain_input__kind_name(r->kind),
                                 msg != NULL ? msg : "unreadable header");
            if (rc == ARCHIVE_FATAL || !can_skip(r)) {
                break;
            }
            continue;
        }
        if (is_hardlink_or_special(r->e)) {
            continue; /* directories, links, devices: no bytes of their own */
        }
        const char *raw = archive_entry_pathname(r->e);
        strain_buf_clear(&name);
        int err;
        if (r->raw && (raw == NULL || strcmp(raw, "data") == 0)) {
            /* No name in the gzip header (or bzip2/xz, which have none): the name of the
             * compressed file without its suffix, as gunzip would create it. */
            err = raw_member_name(&name, r->lv->chain);
        } else {
            err = strain_input__put_member_name(&name, raw != NULL && raw[0] ? raw : "(unnamed)");
        }
        if (err < 0 || strain_buf_putc(&name, '\0') < 0) {
            w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
            break;
        }
        r->name = name.ptr;
        uint8_t *bytes = NULL;
        size_t len = 0;
        member_end end = read_member(r, &bytes, &len);
        if (end == MEMBER_READ) {
            handle_member(r, bytes, len);
        } else if (end == MEMBER_STOP) {
            break;
        }
    }
    strain_buf_free(&name);
}

int strain_input__walk_archive(strain_walk *w, strain_input_kind kind, int fd, const uint8_t *data,
                               size_t size, const strain_input_level *lv)
{
    source src = {fd, data, size, 0, NULL};
    arc r = {w, lv, kind, NULL, NULL, 0, 0, NULL, false, false};
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) != 0) {
            return strain_input__report(w, STRAIN_EIO, "%s: %s", lv->where, strerror(errno));
        }
        src.size = (uint64_t)st.st_size;
        src.buf = malloc(SRC_BLOCK);
        if (src.buf == NULL) {
            return w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
        }
    }
    r.size = src.size;
    uint64_t declared = 0;
    const strain_limits *lim = &w->ctx->limits;
    r.zip_directory =
        kind == STRAIN_INPUT_ZIP && strain_input__zip_entries(fd, data, src.size, &declared);
    if (r.zip_directory &&
        (w->members > lim->max_members || declared > lim->max_members - w->members)) {
        strain_input__report(w, STRAIN_ELIMIT,
                             "%s: central directory lists %llu members, more than the member "
                             "limit (%llu) allows; not read",
                             lv->where, (unsigned long long)declared,
                             (unsigned long long)lim->max_members);
        w->budget_hit = true;
        free(src.buf);
        return w->stop;
    }
    if (kind == STRAIN_INPUT_7Z) {
        char why[192];
        uint64_t left = w->members < lim->max_members ? lim->max_members - w->members : 0;
        int err = strain_input__7z_check(fd, data, src.size, lim, left, why, sizeof(why));
        if (err == STRAIN_ENOMEM) {
            free(src.buf);
            return w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
        }
        if (err != 0) {
            strain_input__report(w, err, "%s: 7z archive not read: %s", lv->where, why);
            free(src.buf);
            return w->stop;
        }
    }
    inner_format inner = INNER_NONE;
    if (kind == STRAIN_INPUT_GZIP || kind == STRAIN_INPUT_BZIP2 || kind == STRAIN_INPUT_XZ) {
        inner = probe_inner(&src, kind);
    }
    r.raw = inner == INNER_RAW;
    int rc = open_reader(&r.a, &src, kind, inner, w->password);
    if (r.a == NULL) {
        free(src.buf);
        return w->stop = strain__fail(w->ctx, STRAIN_ENOMEM, "out of memory");
    }
    if (rc != ARCHIVE_OK) {
        const char *msg = archive_error_string(r.a);
        strain_input__report(w, STRAIN_EMALFORMED, "%s: corrupt %s archive: %s", lv->where,
                             strain_input__kind_name(kind), msg != NULL ? msg : "cannot open");
    } else {
        walk_members(&r);
    }
    archive_read_free(r.a);
    free(src.buf);
    return w->stop;
}
