/*
 * What a 7z archive's header declares, checked before libarchive reads it.
 *
 * libarchive's 7z reader (3.6.2, and upstream as of 2026) allocates from counts it has just
 * read, before the bytes that would prove them: calloc(numFiles) entries of ~120 bytes with
 * numFiles up to 10^8 (12 GB from a 162-byte file, found by fuzz/archive_fuzzer), then a loop
 * that touches every entry; likewise folders, pack streams, sub-streams, and for BCJ2
 * folders one malloc per declared sub-stream size. So we parse the header ourselves first,
 * the way libarchive's read_StreamsInfo/read_Header walk it, and refuse an archive whose
 * counts or stated sizes the header bytes cannot hold (a stated size is trusted up to the
 * size the signature header claims, not the bytes there are: a 12 GB name table from a
 * 162-byte file), whose file or stream count passes the member limit, or whose BCJ2 sizes
 * pass the ratio and file-size limits.
 *
 * A compressed header ("encoded", the 7-Zip default) is decoded first, through libarchive
 * itself: we present it a virtual archive, the original bytes plus a plain header of one
 * file whose data is the encoded header's folder, so every coder libarchive can decode is
 * covered and we decode no format ourselves. Its size is capped before it is read.
 * Structure names follow 7-Zip's DOC/7zFormat.txt.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "input/input_impl.h"
#include "util/limits.h"
#include "util/span.h"

/* Signature header (7zFormat.txt "SignatureHeader"). */
#define SZ_SIG_LEN 6u
#define SZ_VERSION_OFF 6u
#define SZ_START_CRC_OFF 8u
#define SZ_NEXT_OFF_OFF 12u
#define SZ_NEXT_SIZE_OFF 20u
#define SZ_NEXT_CRC_OFF 28u
#define SZ_START_LEN 32u

/* Property ids. */
enum {
    K_END = 0x00,
    K_HEADER = 0x01,
    K_ARCHIVE_PROPERTIES = 0x02,
    K_MAIN_STREAMS_INFO = 0x04,
    K_FILES_INFO = 0x05,
    K_PACK_INFO = 0x06,
    K_UNPACK_INFO = 0x07,
    K_SUBSTREAMS_INFO = 0x08,
    K_SIZE = 0x09,
    K_CRC = 0x0A,
    K_FOLDER = 0x0B,
    K_CODERS_UNPACK_SIZE = 0x0C,
    K_NUM_UNPACK_STREAM = 0x0D,
    K_EMPTY_STREAM = 0x0E,
    K_EMPTY_FILE = 0x0F,
    K_ANTI = 0x10,
    K_NAME = 0x11,
    K_CTIME = 0x12,
    K_ATIME = 0x13,
    K_MTIME = 0x14,
    K_ATTRIBUTES = 0x15,
    K_ENCODED_HEADER = 0x17,
};

/* Coder ids, as libarchive reads them (big-endian id bytes). */
#define SZ_CODER_BCJ2 0x0303011Bu
#define SZ_CODER_LZMA 0x030101u
#define SZ_CODER_LZMA2 0x21u
#define SZ_CODER_PPMD 0x030401u
#define SZ_CODER_AES 0x06F10701u
/* libarchive refuses folders of more coders. */
#define SZ_MAX_CODERS 4u

static const uint8_t SZ_SIG[SZ_SIG_LEN] = {'7', 'z', 0xBC, 0xAF, 0x27, 0x1C};

/* A cursor over header bytes; any read past the end sets bad and reads zero. */
typedef struct cur {
    strain_span s;
    uint64_t pos;
    bool bad;
} cur;

static uint64_t left(const cur *c)
{
    return c->pos <= c->s.len ? c->s.len - c->pos : 0;
}

static uint8_t byte(cur *c)
{
    uint8_t b = 0;
    if (!strain_span_u8(c->s, c->pos, &b)) {
        c->bad = true;
        return 0;
    }
    c->pos++;
    return b;
}

static void skip(cur *c, uint64_t n)
{
    if (n > left(c)) {
        c->bad = true;
        c->pos = c->s.len;
        return;
    }
    c->pos += n;
}

/* 7zFormat.txt "NUMBER": the leading one bits of the first byte say how many bytes follow;
 * the first byte's remaining bits are the top of the value. Same as libarchive's reader. */
static uint64_t number(cur *c)
{
    uint8_t first = byte(c);
    uint8_t mask = 0x80;
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        if ((first & mask) == 0) {
            v += (uint64_t)(first & (mask - 1)) << (8 * i);
            return v;
        }
        v |= (uint64_t)byte(c) << (8 * i);
        mask >>= 1;
    }
    return v;
}

/* What the check found; why is the message when it refuses. */
typedef struct check {
    uint64_t members_left;
    uint64_t stream_cap; /* BCJ2 sub-stream bound (ratio and file size limits) */
    uint64_t memory_cap; /* decoder dictionary / model bound (file size limit) */
    int err;             /* 0, STRAIN_EMALFORMED or STRAIN_ELIMIT */
    char why[160];
    /* From the (encoded header's) StreamsInfo: folder 0, which holds the decoded header. */
    uint64_t folder0_size;
    bool folder0_aes;
    uint64_t folders;
    bool substreams; /* the StreamsInfo had a SubStreamsInfo */
} check;

static bool refuse(check *k, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the first reason to refuse; returns false so parsers can return it. */
static bool refuse(check *k, int err, const char *fmt, ...)
{
    if (k->err == 0) {
        va_list ap;
        va_start(ap, fmt);
        k->err = err;
        vsnprintf(k->why, sizeof(k->why), fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A count of items that each take at least one header byte: no more than the bytes left. */
static bool count_fits(check *k, cur *c, uint64_t n, const char *what)
{
    if (c->bad || n > left(c)) {
        return refuse(k, STRAIN_EMALFORMED, "header declares %llu %s in %llu bytes",
                      (unsigned long long)n, what, (unsigned long long)left(c));
    }
    return true;
}

/* Digests: a bit vector (unless all are defined) and 4 bytes per defined digest; defined[i]
 * (when not NULL, n entries) says which are there. */
static bool digests(check *k, cur *c, uint64_t n, bool *defined)
{
    if (!count_fits(k, c, n / 8, "digest flags")) {
        return false;
    }
    uint64_t count = n;
    if (byte(c) == 0) {
        count = 0;
        uint8_t bits = 0;
        for (uint64_t i = 0; i < n && !c->bad; i++) {
            if (i % 8 == 0) {
                bits = byte(c);
            }
            bool on = (bits >> (7 - i % 8)) & 1;
            count += on;
            if (defined != NULL) {
                defined[i] = on;
            }
        }
    } else if (defined != NULL) {
        for (uint64_t i = 0; i < n; i++) {
            defined[i] = true;
        }
    }
    skip(c, count * 4); /* count <= n <= 8 x header length: no overflow */
    return !c->bad;
}

static bool pack_info(check *k, cur *c)
{
    (void)number(c); /* PackPos */
    uint64_t n = number(c);
    if (!count_fits(k, c, n, "pack streams")) {
        return false;
    }
    uint8_t t = byte(c);
    if (t == K_SIZE) {
        for (uint64_t i = 0; i < n && !c->bad; i++) {
            (void)number(c);
        }
        t = byte(c);
    }
    if (t == K_CRC) {
        if (!digests(k, c, n, NULL)) {
            return false;
        }
        t = byte(c);
    }
    return !c->bad && t == K_END;
}

/* Decoder memory a coder's properties ask for: liblzma allocates the whole LZMA/LZMA2
 * dictionary and libarchive the PPMd model up front (up to 4 GB each), whatever the data
 * holds. 7-Zip shrinks the dictionary to the data size, but a solid folder holds many
 * samples, so the bound is one sample's size limit or 7-Zip's -mx9 dictionary, whichever
 * is larger. Other coders use fixed, small memory. */
static bool coder_memory(check *k, uint32_t id, strain_span props)
{
    uint64_t need = 0;
    uint32_t v32 = 0;
    uint8_t v8 = 0;
    const char *name = NULL;
    if ((id == SZ_CODER_LZMA || id == SZ_CODER_PPMD) && strain_span_u32le(props, 1, &v32)) {
        need = v32;
        name = id == SZ_CODER_LZMA ? "LZMA" : "PPMd";
    } else if (id == SZ_CODER_LZMA2 && strain_span_u8(props, 0, &v8) && v8 <= 40) {
        /* xz's LZMA2 dictionary byte: 2 or 3 times a power of two; 40 means 4 GiB - 1. */
        need = v8 == 40 ? 0xFFFFFFFFull : (uint64_t)(2u | (v8 & 1u)) << (v8 / 2 + 11);
        name = "LZMA2";
    }
    if (need > k->memory_cap) {
        return refuse(k, STRAIN_ELIMIT,
                      "%s coder asks for %llu bytes of decoder memory, more than the limit (%llu) "
                      "allows",
                      name, (unsigned long long)need, (unsigned long long)k->memory_cap);
    }
    return true;
}

/* One folder (7zFormat.txt "Folder"); out_streams gets its output stream count. */
static bool folder(check *k, cur *c, uint64_t *out_streams, bool *bcj2, bool *aes)
{
    uint64_t coders = number(c);
    if (c->bad || coders > SZ_MAX_CODERS) {
        return false;
    }
    uint64_t in_total = 0;
    uint64_t out_total = 0;
    for (uint64_t i = 0; i < coders; i++) {
        uint8_t flags = byte(c);
        unsigned id_len = flags & 0x0F;
        uint32_t id = 0;
        for (unsigned j = 0; j < id_len; j++) {
            id = (id << 8) | byte(c);
        }
        *bcj2 |= id == SZ_CODER_BCJ2;
        *aes |= id == SZ_CODER_AES;
        uint64_t in = 1;
        uint64_t out = 1;
        if (flags & 0x10) { /* not a simple coder */
            in = number(c);
            out = number(c);
            if (!count_fits(k, c, in, "coder in-streams") ||
                !count_fits(k, c, out, "coder out-streams")) {
                return false;
            }
        }
        if (flags & 0x20) {
            uint64_t n = number(c);
            strain_span props = strain_span_make(NULL, 0);
            if (!strain_span_sub(c->s, c->pos, n, &props) || !coder_memory(k, id, props)) {
                c->bad = true;
                return false;
            }
            skip(c, n);
        }
        in_total += in; /* each bounded by the header length: no overflow */
        out_total += out;
    }
    if (c->bad || out_total == 0 || in_total + 1 < out_total) {
        return false;
    }
    uint64_t bind_pairs = out_total - 1;
    if (!count_fits(k, c, bind_pairs, "bind pairs")) {
        return false;
    }
    for (uint64_t i = 0; i < bind_pairs && !c->bad; i++) {
        (void)number(c);
        (void)number(c);
    }
    uint64_t packed = in_total - bind_pairs;
    if (packed > 1) {
        if (!count_fits(k, c, packed, "packed streams")) {
            return false;
        }
        for (uint64_t i = 0; i < packed && !c->bad; i++) {
            (void)number(c);
        }
    }
    *out_streams = out_total;
    return !c->bad;
}

typedef struct folder_shape {
    uint64_t outs;
    uint64_t unpack_streams; /* SubStreamsInfo's NumUnpackStream, 1 when absent */
    bool bcj2;
    bool digest; /* a CRC for the whole folder in CodersInfo */
} folder_shape;

/* The folders of one StreamsInfo. */
typedef struct folders {
    folder_shape *f;
    uint64_t n;
} folders;

/* libarchive holds a BCJ2 folder's side streams whole in memory, each malloc'd at its
 * declared size; the two largest sizes are the folder's output and its main stream, which
 * it decodes through a small buffer. */
static bool bcj2_sizes(check *k, const uint64_t *sizes, uint64_t n)
{
    uint64_t top[2] = {0, 0};
    uint64_t sum = 0;
    for (uint64_t j = 0; j < n; j++) {
        if (sizes[j] > k->stream_cap) {
            return refuse(k, STRAIN_ELIMIT,
                          "BCJ2 folder declares a %llu-byte stream, more than the size and "
                          "ratio limits allow (%llu)",
                          (unsigned long long)sizes[j], (unsigned long long)k->stream_cap);
        }
        sum += sizes[j]; /* each <= stream_cap, n <= header length: no overflow */
        if (sizes[j] > top[0]) {
            top[1] = top[0];
            top[0] = sizes[j];
        } else if (sizes[j] > top[1]) {
            top[1] = sizes[j];
        }
    }
    if (sum - top[0] - top[1] > k->stream_cap) {
        return refuse(k, STRAIN_ELIMIT,
                      "BCJ2 folder declares %llu bytes of side streams, more than the size and "
                      "ratio limits allow (%llu)",
                      (unsigned long long)(sum - top[0] - top[1]),
                      (unsigned long long)k->stream_cap);
    }
    return true;
}

/* 7zFormat.txt "CodersInfo"; fills fs and k->folder0_*. */
static bool unpack_info(check *k, cur *c, folders *fs)
{
    if (byte(c) != K_FOLDER) {
        return false;
    }
    uint64_t n = number(c);
    if (!count_fits(k, c, n, "folders")) {
        return false;
    }
    if (byte(c) != 0) {
        return false; /* external folders: libarchive accepts only zero of them */
    }
    fs->f = calloc(n ? n : 1, sizeof(*fs->f));
    if (fs->f == NULL) {
        return refuse(k, STRAIN_ENOMEM, "out of memory");
    }
    fs->n = n;
    for (uint64_t i = 0; i < n; i++) {
        bool aes = false;
        fs->f[i].unpack_streams = 1;
        if (!folder(k, c, &fs->f[i].outs, &fs->f[i].bcj2, &aes)) {
            return false;
        }
        if (i == 0) {
            k->folder0_aes = aes;
        }
    }
    if (byte(c) != K_CODERS_UNPACK_SIZE) {
        return false;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t sizes[SZ_MAX_CODERS * 32];
        uint64_t outs = fs->f[i].outs;
        for (uint64_t j = 0; j < outs && !c->bad; j++) {
            uint64_t size = number(c);
            if (i == 0 && size > k->folder0_size) {
                /* libarchive's header size is the folder's final output; whichever
                 * that is, it is no larger than the largest. */
                k->folder0_size = size;
            }
            if (j < sizeof(sizes) / sizeof(sizes[0])) {
                sizes[j] = size;
            }
        }
        if (fs->f[i].bcj2 && !c->bad) {
            if (outs > sizeof(sizes) / sizeof(sizes[0])) {
                return false; /* BCJ2 folders have 4 coders of 1 output each */
            }
            if (!bcj2_sizes(k, sizes, outs)) {
                return false;
            }
        }
    }
    uint8_t t = byte(c);
    if (t == K_CRC) {
        bool *defined = calloc(n ? n : 1, sizeof(*defined));
        if (defined == NULL) {
            return refuse(k, STRAIN_ENOMEM, "out of memory");
        }
        bool ok = digests(k, c, n, defined);
        for (uint64_t i = 0; ok && i < n; i++) {
            fs->f[i].digest = defined[i];
        }
        free(defined);
        if (!ok) {
            return false;
        }
        t = byte(c);
    }
    return !c->bad && t == K_END;
}

/* 7zFormat.txt "SubStreamsInfo". The stream total is what libarchive allocates for. */
static bool substreams_info(check *k, cur *c, folders *fs)
{
    uint8_t t = byte(c);
    if (t == K_NUM_UNPACK_STREAM) {
        uint64_t streams = 0;
        for (uint64_t i = 0; i < fs->n && !c->bad; i++) {
            uint64_t n = number(c);
            /* Each stream is a member: more than the member limit is refused, as files are. */
            if (n > k->members_left || streams > k->members_left - n) {
                return refuse(k, STRAIN_ELIMIT,
                              "header declares more streams than the member limit (%llu) "
                              "allows",
                              (unsigned long long)k->members_left);
            }
            streams += n;
            fs->f[i].unpack_streams = n;
        }
        t = byte(c);
    }
    if (t == K_SIZE) {
        for (uint64_t i = 0; i < fs->n && !c->bad; i++) {
            for (uint64_t j = 1; j < fs->f[i].unpack_streams && !c->bad; j++) {
                (void)number(c);
            }
        }
        t = byte(c);
    }
    if (t == K_CRC) {
        uint64_t n = 0;
        for (uint64_t i = 0; i < fs->n; i++) {
            if (fs->f[i].unpack_streams != 1 || !fs->f[i].digest) {
                n += fs->f[i].unpack_streams; /* total <= members_left: no overflow */
            }
        }
        if (!digests(k, c, n, NULL)) {
            return false;
        }
        t = byte(c);
    }
    return !c->bad && t == K_END;
}

/* 7zFormat.txt "StreamsInfo", through its closing kEnd. */
static bool streams_info(check *k, cur *c)
{
    folders fs = {NULL, 0};
    bool ok = false;
    uint8_t t = byte(c);
    if (t == K_PACK_INFO) {
        if (!pack_info(k, c)) {
            goto done;
        }
        t = byte(c);
    }
    if (t == K_UNPACK_INFO) {
        if (!unpack_info(k, c, &fs)) {
            goto done;
        }
        k->folders = fs.n;
        t = byte(c);
    }
    if (t == K_SUBSTREAMS_INFO) {
        if (!substreams_info(k, c, &fs)) {
            goto done;
        }
        k->substreams = true;
        t = byte(c);
    }
    ok = !c->bad && t == K_END;
done:
    free(fs.f);
    return ok;
}

/* Bit vector of n booleans; returns how many are set. */
static uint64_t bools(cur *c, uint64_t n)
{
    uint64_t set = 0;
    uint8_t bits = 0;
    for (uint64_t i = 0; i < n && !c->bad; i++) {
        if (i % 8 == 0) {
            bits = byte(c);
        }
        set += (bits >> (7 - i % 8)) & 1;
    }
    return set;
}

/* An "all defined" byte, or a bit vector of n; returns how many are defined. */
static uint64_t defined(cur *c, uint64_t n)
{
    return byte(c) != 0 ? n : bools(c, n);
}

/*
 * FilesInfo's properties, consumed the way libarchive's read_Header consumes them (it reads
 * most by their own layout and uses the stated size only to skip and to size the names).
 * What matters is that no stated size or skip passes the bytes there are: libarchive checks
 * sizes against the header size the signature header states, and allocates them (names
 * directly, skips as a read-ahead buffer) before finding the bytes missing.
 */
static bool files_info(check *k, cur *c, uint64_t files)
{
    uint64_t empty_streams = 0;
    while (!c->bad) {
        uint8_t type = byte(c);
        if (type == K_END) {
            return !c->bad;
        }
        uint64_t size = number(c);
        if (!c->bad && size > left(c)) {
            return refuse(k, STRAIN_EMALFORMED,
                          "file property 0x%02x of %llu bytes in %llu header bytes", type,
                          (unsigned long long)size, (unsigned long long)left(c));
        }
        switch (type) {
        case K_EMPTY_STREAM: empty_streams = bools(c, files); break;
        case K_EMPTY_FILE:
        case K_ANTI:
            if (empty_streams == 0) {
                skip(c, size);
            } else {
                (void)bools(c, empty_streams);
            }
            break;
        case K_CTIME:
        case K_ATIME:
        case K_MTIME: {
            uint64_t n = defined(c, files);
            if (byte(c) != 0) {
                (void)number(c); /* external data index */
            }
            skip(c, n * 8); /* n <= files <= members_left: no overflow */
            break;
        }
        case K_NAME: skip(c, size); break; /* external byte and names: size bytes */
        case K_ATTRIBUTES: {
            uint8_t all = byte(c);
            (void)byte(c); /* external */
            skip(c, (all != 0 ? files : bools(c, files)) * 4);
            break;
        }
        default: skip(c, size); break;
        }
    }
    return false;
}

/* 7zFormat.txt "Header", in libarchive's read_Header order. */
static bool header(check *k, cur *c)
{
    if (byte(c) != K_HEADER) {
        return false;
    }
    uint8_t t = byte(c);
    if (t == K_ARCHIVE_PROPERTIES) {
        /* libarchive reads (type, size) pairs here without skipping the data: so do we. */
        while (!c->bad && byte(c) != 0) {
            (void)number(c);
        }
        t = byte(c);
    }
    if (t == K_MAIN_STREAMS_INFO) {
        if (!streams_info(k, c)) {
            return false;
        }
        t = byte(c);
    }
    if (c->bad || t == K_END || t != K_FILES_INFO) {
        return !c->bad && t == K_END;
    }
    uint64_t files = number(c);
    if (!c->bad && files > k->members_left) {
        return refuse(k, STRAIN_ELIMIT,
                      "header lists %llu files, more than the member limit (%llu) allows",
                      (unsigned long long)files, (unsigned long long)k->members_left);
    }
    return files_info(k, c, files);
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (unsigned b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/*
 * The virtual archive that decodes an encoded header: a new signature header, the original
 * bytes after the original signature header (pack streams sit at the same offsets), and a
 * plain header appended at the end that names one file, "h", whose data is the encoded
 * header's first folder.
 */
typedef struct vsrc {
    int fd;
    const uint8_t *data;
    uint64_t size; /* of the original */
    uint8_t start[SZ_START_LEN];
    const uint8_t *tail;
    size_t tail_len;
    uint64_t pos;
    uint8_t buf[64u << 10];
} vsrc;

static la_ssize_t vsrc_read(struct archive *a, void *cd, const void **out)
{
    vsrc *v = cd;
    uint64_t total = v->size + v->tail_len;
    if (v->pos >= total) {
        return 0;
    }
    if (v->pos < SZ_START_LEN) {
        *out = v->start + v->pos;
        la_ssize_t n = (la_ssize_t)(SZ_START_LEN - v->pos);
        v->pos = SZ_START_LEN;
        return n;
    }
    if (v->pos >= v->size) {
        *out = v->tail + (v->pos - v->size);
        la_ssize_t n = (la_ssize_t)(total - v->pos);
        v->pos = total;
        return n;
    }
    uint64_t n = v->size - v->pos < sizeof(v->buf) ? v->size - v->pos : sizeof(v->buf);
    if (!strain_input__pread(v->fd, v->data, v->size, v->pos, v->buf, (size_t)n)) {
        archive_set_error(a, EIO, "read failed");
        return ARCHIVE_FATAL;
    }
    *out = v->buf;
    v->pos += n;
    return (la_ssize_t)n;
}

static la_int64_t vsrc_seek(struct archive *a, void *cd, la_int64_t off, int whence)
{
    vsrc *v = cd;
    int64_t total = (int64_t)(v->size + v->tail_len);
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)v->pos : total;
    int64_t to;
    if (__builtin_add_overflow(base, off, &to) || to < 0) {
        archive_set_error(a, EINVAL, "seek outside the archive");
        return ARCHIVE_FATAL;
    }
    v->pos = to > total ? (uint64_t)total : (uint64_t)to;
    return (la_int64_t)v->pos;
}

static la_int64_t vsrc_skip(struct archive *a, void *cd, la_int64_t req)
{
    vsrc *v = cd;
    la_int64_t at = (la_int64_t)v->pos;
    la_int64_t to = vsrc_seek(a, cd, req > 0 ? req : 0, SEEK_CUR);
    return to < 0 ? 0 : to - at;
}

/* Decodes the encoded header whose StreamsInfo is si (bytes after the kEncodedHeader id)
 * into *out (malloc'd, *out_len bytes). The size was capped by the caller. */
static bool decode_header(check *k, int fd, const uint8_t *data, uint64_t size, strain_span si,
                          const uint8_t *version, uint8_t **out, size_t *out_len)
{
    /* kHeader kMainStreamsInfo <si> kFilesInfo 1 kName 5 (external 0, "h" and a NUL in UTF-16) kEnd
     * kEnd: one file, the first stream of the first folder. An encoded header's StreamsInfo
     * has no SubStreamsInfo, without which libarchive counts no streams: an empty one
     * (one stream per folder) goes before its closing kEnd. */
    static const uint8_t files[] = {K_FILES_INFO, 1, K_NAME, 5, 0, 'h', 0, 0, 0, K_END, K_END};
    static const uint8_t sub[] = {K_SUBSTREAMS_INFO, K_END};
    size_t sub_len = k->substreams ? 0 : sizeof(sub);
    size_t tail_len = 2 + si.len + sub_len + sizeof(files);
    uint8_t *tail = malloc(tail_len);
    vsrc *v = calloc(1, sizeof(*v));
    uint8_t *dec = malloc(k->folder0_size ? (size_t)k->folder0_size : 1);
    struct archive *a = archive_read_new();
    bool ok = false;
    if (tail == NULL || v == NULL || dec == NULL || a == NULL || si.len == 0) {
        refuse(k, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    tail[0] = K_HEADER;
    tail[1] = K_MAIN_STREAMS_INFO;
    memcpy(tail + 2, si.p, si.len - 1); /* without its closing kEnd */
    memcpy(tail + 2 + si.len - 1, sub, sub_len);
    tail[2 + si.len - 1 + sub_len] = K_END;
    memcpy(tail + 2 + si.len + sub_len, files, sizeof(files));
    *v = (vsrc){.fd = fd, .data = data, .size = size, .tail = tail, .tail_len = tail_len};
    memcpy(v->start, SZ_SIG, SZ_SIG_LEN);
    memcpy(v->start + SZ_VERSION_OFF, version, 2);
    uint64_t next_off = size - SZ_START_LEN;
    uint64_t next_size = tail_len;
    uint32_t next_crc = crc32_of(tail, tail_len);
    for (unsigned i = 0; i < 8; i++) {
        v->start[SZ_NEXT_OFF_OFF + i] = (uint8_t)(next_off >> (8 * i));
        v->start[SZ_NEXT_SIZE_OFF + i] = (uint8_t)(next_size >> (8 * i));
    }
    for (unsigned i = 0; i < 4; i++) {
        v->start[SZ_NEXT_CRC_OFF + i] = (uint8_t)(next_crc >> (8 * i));
    }
    uint32_t start_crc = crc32_of(v->start + SZ_NEXT_OFF_OFF, SZ_START_LEN - SZ_NEXT_OFF_OFF);
    for (unsigned i = 0; i < 4; i++) {
        v->start[SZ_START_CRC_OFF + i] = (uint8_t)(start_crc >> (8 * i));
    }
    archive_read_support_format_7zip(a);
    archive_read_set_read_callback(a, vsrc_read);
    archive_read_set_seek_callback(a, vsrc_seek);
    archive_read_set_skip_callback(a, vsrc_skip);
    archive_read_set_callback_data(a, v);
    struct archive_entry *e;
    size_t got = 0;
    if (archive_read_open1(a) == ARCHIVE_OK && archive_read_next_header(a, &e) >= ARCHIVE_WARN) {
        for (;;) {
            la_ssize_t n = archive_read_data(a, dec + got, (size_t)k->folder0_size - got);
            if (n <= 0) {
                ok = n == 0;
                break;
            }
            got += (size_t)n;
            if (got == k->folder0_size) {
                ok = true;
                break;
            }
        }
    }
    if (!ok) {
        const char *msg = archive_error_string(a);
        refuse(k, STRAIN_EMALFORMED, "compressed header cannot be decoded: %s",
               msg != NULL ? msg : "no data");
        goto done;
    }
    *out = dec;
    *out_len = got;
    dec = NULL;
done:
    archive_read_free(a);
    free(dec);
    free(v);
    free(tail);
    return ok;
}

int strain_input__7z_check(int fd, const uint8_t *data, uint64_t size, const strain_limits *lim,
                           uint64_t members_left, char *why, size_t why_len)
{
    uint8_t start[SZ_START_LEN];
    uint8_t *hdr = NULL;
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    check k = {.members_left = members_left, .memory_cap = lim->max_file_size};
    if (k.memory_cap < STRAIN_INPUT_7Z_MIN_DECODER_MEMORY) {
        k.memory_cap = STRAIN_INPUT_7Z_MIN_DECODER_MEMORY;
    }
    /* A BCJ2 side stream comes out of the archive's bytes: the bomb ratio bounds it, and as
     * libarchive holds it in memory, so does the size of one sample. */
    uint64_t packed = size < STRAIN_INPUT_RATIO_FLOOR ? STRAIN_INPUT_RATIO_FLOOR : size;
    if (!strain_mul_u64(packed, lim->max_ratio, &k.stream_cap) ||
        k.stream_cap > lim->max_file_size) {
        k.stream_cap = lim->max_file_size;
    }
    if (size < SZ_START_LEN || !strain_input__pread(fd, data, size, 0, start, SZ_START_LEN) ||
        memcmp(start, SZ_SIG, SZ_SIG_LEN) != 0) {
        return 0; /* libarchive says what is wrong */
    }
    strain_span st = strain_span_make(start, SZ_START_LEN);
    uint64_t next_off;
    uint64_t next_size;
    (void)strain_span_u64le(st, SZ_NEXT_OFF_OFF, &next_off);
    (void)strain_span_u64le(st, SZ_NEXT_SIZE_OFF, &next_size);
    if (next_size == 0 || next_off >= size - SZ_START_LEN) {
        return 0; /* empty, or a header libarchive cannot reach: it reads nothing */
    }
    /* libarchive stops at the end of the data, so the bytes there bound what it parses. */
    uint64_t avail = size - SZ_START_LEN - next_off;
    uint64_t len = next_size < avail ? next_size : avail;
    if (len > STRAIN_INPUT_7Z_MAX_HEADER) {
        refuse(&k, STRAIN_ELIMIT, "header of %llu bytes, more than %llu", (unsigned long long)len,
               (unsigned long long)STRAIN_INPUT_7Z_MAX_HEADER);
        goto done;
    }
    hdr = malloc((size_t)len);
    if (hdr == NULL) {
        refuse(&k, STRAIN_ENOMEM, "out of memory");
        goto done;
    }
    if (!strain_input__pread(fd, data, size, SZ_START_LEN + next_off, hdr, (size_t)len)) {
        refuse(&k, STRAIN_EIO, "header cannot be read");
        goto done;
    }
    cur c = {strain_span_make(hdr, (size_t)len), 0, false};
    if (hdr[0] == K_ENCODED_HEADER) {
        c.pos = 1;
        bool parsed = streams_info(&k, &c);
        if (!parsed || k.err != 0 || k.folders == 0) {
            goto malformed;
        }
        if (k.folder0_aes) {
            goto done; /* libarchive refuses to decrypt it before reading any count */
        }
        if (k.folder0_size > STRAIN_INPUT_7Z_MAX_HEADER) {
            refuse(&k, STRAIN_ELIMIT, "compressed header unpacks to %llu bytes, more than %llu",
                   (unsigned long long)k.folder0_size,
                   (unsigned long long)STRAIN_INPUT_7Z_MAX_HEADER);
            goto done;
        }
        strain_span si = strain_span_make(NULL, 0);
        (void)strain_span_sub(c.s, 1, c.pos - 1, &si);
        if (!decode_header(&k, fd, data, size, si, start + SZ_VERSION_OFF, &dec, &dec_len)) {
            goto done;
        }
        k.folders = 0;
        c = (cur){strain_span_make(dec, dec_len), 0, false};
    }
    if (!header(&k, &c) && k.err == 0) {
        goto malformed;
    }
    goto done;
malformed:
    refuse(&k, STRAIN_EMALFORMED, "header cannot be parsed (byte %llu of %llu)",
           (unsigned long long)c.pos, (unsigned long long)c.s.len);
done:
    free(dec);
    free(hdr);
    if (k.err != 0) {
        snprintf(why, why_len, "%s", k.why);
    }
    return k.err;
}
