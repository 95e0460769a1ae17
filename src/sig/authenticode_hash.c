/*
 * The Authenticode image hash ("Windows Authenticode Portable Executable Signature Format",
 * "Calculating the PE Image Hash") and page-hash checks.
 *
 * Image hash: the headers up to CheckSum, skip it (4 bytes); on to data directory entry 4,
 * skip it (8 bytes); the rest of the headers (SizeOfHeaders); every section's raw data in
 * PointerToRawData order; then the bytes after the last section except the certificate table
 * itself. The spec assumes the table is last in the file; when it is not (crafted or
 * re-padded files) its range is cut out wherever it is, so appended bytes still count. The
 * zero padding signers add before the table is part of the file and so part of the hash; an
 * unsigned file is hashed as if padded to 8 bytes, as it will be once signed.
 *
 * Page hashes: each entry is a 4-byte file offset and the digest of one page (SectionAlignment
 * bytes, zero-filled past the end of a section's raw data); the first page is the headers with
 * the same two fields skipped; the table ends with an entry whose digest is zero.
 */
#include <stdlib.h>
#include <string.h>

#include "sig/sig_impl.h"
#include "util/limits.h"

static int cmp_range(const void *a, const void *b)
{
    const strain_sig__range *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static bool update(EVP_MD_CTX *c, strain_span f, uint64_t off, uint64_t end)
{
    if (end <= off) {
        return true;
    }
    strain_span s;
    if (!strain_span_sub(f, off, end - off, &s)) {
        return false;
    }
    return EVP_DigestUpdate(c, s.p, s.len) == 1;
}

/* Headers with CheckSum and the security directory entry left out. */
static bool hash_headers(EVP_MD_CTX *c, const strain_sig__layout *l, strain_span f)
{
    uint64_t soh = l->size_of_headers;
    uint64_t cks = l->checksum_offset, sec = l->secdir_entry_offset;
    if (cks + 4 > soh) {
        return update(c, f, 0, soh);
    }
    if (!update(c, f, 0, cks)) {
        return false;
    }
    if (sec == 0 || sec < cks + 4 || sec + 8 > soh) {
        return update(c, f, cks + 4, soh);
    }
    return update(c, f, cks + 4, sec) && update(c, f, sec + 8, soh);
}

static int image_hash(strain_sig_report *r, const EVP_MD *md, uint8_t *out, unsigned *out_len);

int strain_sig__image_hash(strain_sig_report *r, const EVP_MD *md, uint8_t *out, unsigned *out_len)
{
    /* Every signature naming the same algorithm gets the same digest: computed once, so
     * dozens of crafted nested signatures cannot make us read the file dozens of times. */
    int nid = EVP_MD_get_type(md);
    for (size_t i = 0; i < r->n_hash_cache; i++) {
        if (r->hash_cache[i].nid == nid) {
            memcpy(out, r->hash_cache[i].digest, r->hash_cache[i].len);
            *out_len = r->hash_cache[i].len;
            return r->hash_cache[i].err;
        }
    }
    int err = image_hash(r, md, out, out_len);
    if (err != STRAIN_ENOMEM && r->n_hash_cache < STRAIN_SIG_HASH_CACHE) {
        strain_sig__hash_cache *c = &r->hash_cache[r->n_hash_cache++];
        c->nid = nid;
        c->err = err;
        c->len = err == 0 ? *out_len : 0;
        memcpy(c->digest, out, c->len);
    }
    return err;
}

static int image_hash(strain_sig_report *r, const EVP_MD *md, uint8_t *out, unsigned *out_len)
{
    const strain_sig__layout *l = &r->layout;
    strain_span f = r->file;
    strain_sig__range *secs = NULL;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int err = STRAIN_ENOMEM;
    if (c == NULL || EVP_DigestInit_ex(c, md, NULL) != 1) {
        goto done;
    }
    err = STRAIN_EMALFORMED;
    if (!hash_headers(c, l, f)) {
        goto done;
    }
    secs = malloc((l->n_sections ? l->n_sections : 1) * sizeof(*secs));
    if (secs == NULL) {
        err = STRAIN_ENOMEM;
        goto done;
    }
    memcpy(secs, l->sections, l->n_sections * sizeof(*secs));
    qsort(secs, l->n_sections, sizeof(*secs), cmp_range);
    uint64_t end = l->size_of_headers;
    for (size_t i = 0; i < l->n_sections; i++) {
        if (secs[i].size == 0) {
            continue;
        }
        if (!update(c, f, secs[i].offset, secs[i].offset + secs[i].size)) {
            goto done;
        }
        if (secs[i].offset + secs[i].size > end) {
            end = secs[i].offset + secs[i].size;
        }
    }
    /* Trailing data, minus the certificate table wherever it lies. */
    uint64_t t0 = l->table_offset, t1 = l->table_offset + l->table_size;
    if (l->table_size == 0 || t0 >= f.len) {
        t0 = t1 = f.len;
    }
    if (t1 > f.len) {
        t1 = f.len;
    }
    if (t0 < end) {
        /* The table starts inside already-hashed data: only its part past `end` is cut. */
        t0 = end > t1 ? t1 : end;
    }
    if (!update(c, f, end, t0) || !update(c, f, t1 > end ? t1 : end, f.len)) {
        goto done;
    }
    if (l->table_size == 0 && f.len % 8 != 0) {
        /* Unsigned file: signers pad it to 8 bytes before appending the table, and the
         * padding is hashed; so is it here, making the authentihash of an unsigned file the
         * digest its signature will carry (osslsigncode does the same). */
        static const uint8_t zeros[8];
        if (EVP_DigestUpdate(c, zeros, 8 - f.len % 8) != 1) {
            goto done;
        }
    }
    if (EVP_DigestFinal_ex(c, out, out_len) != 1) {
        goto done;
    }
    err = 0;
done:
    free(secs);
    EVP_MD_CTX_free(c);
    return err;
}

/* Digest of one page: len bytes at off then zeros up to the page size. */
static bool page_digest(const EVP_MD *md, strain_span f, const strain_sig__layout *l, uint64_t off,
                        uint64_t len, bool headers, uint8_t *out)
{
    static const uint8_t zeros[4096];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) == 1;
    uint64_t hashed = len;
    if (ok && headers) {
        ok = hash_headers(c, l, f);
        hashed = l->size_of_headers;
    } else if (ok) {
        ok = update(c, f, off, off + len);
    }
    for (uint64_t pad = l->page_size - hashed; ok && pad > 0;) {
        size_t n = pad > sizeof(zeros) ? sizeof(zeros) : (size_t)pad;
        ok = EVP_DigestUpdate(c, zeros, n) == 1;
        pad -= n;
    }
    ok = ok && EVP_DigestFinal_ex(c, out, NULL) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

int strain_sig__page_hashes_check(strain_sig_report *r, const EVP_MD *md, strain_span table,
                                  size_t *out_count)
{
    const strain_sig__layout *l = &r->layout;
    size_t dlen = (size_t)EVP_MD_get_size(md), ent = 4 + dlen;
    *out_count = 0;
    /* Page sizes are powers of two from 512 bytes to the 4 MiB large page. */
    if (l->page_size < 512 || l->page_size > (4u << 20) || l->size_of_headers > l->page_size ||
        table.len % ent != 0 || table.len / ent < 2) {
        return STRAIN_EMALFORMED;
    }
    size_t n = table.len / ent;
    if (n > STRAIN_SIG_MAX_PAGE_HASHES) {
        return STRAIN_ELIMIT;
    }
    /* A genuine table has one entry per page of each section plus the headers and the
     * terminator; more would only make us hash the same bytes again (each entry costs a
     * whole page), so such a table is refused before any hashing. */
    uint64_t pages = 2;
    for (size_t k = 0; k < l->n_sections; k++) {
        pages += (l->sections[k].size + l->page_size - 1) / l->page_size;
    }
    if (n > pages) {
        return STRAIN_EMALFORMED;
    }
    *out_count = n;
    uint8_t d[EVP_MAX_MD_SIZE];
    static const uint8_t zero[EVP_MAX_MD_SIZE];
    for (size_t i = 0; i < n; i++) {
        uint32_t off = 0;
        (void)strain_span_u32le(table, i * ent, &off);
        const uint8_t *want = table.p + i * ent + 4;
        if (i == n - 1) {
            /* The terminator: the end of the hashed data with a zero digest. */
            if (memcmp(want, zero, dlen) != 0) {
                return 0;
            }
            continue;
        }
        bool headers = (i == 0);
        uint64_t len = 0;
        if (headers) {
            if (off != 0) {
                return 0;
            }
        } else {
            bool found = false;
            for (size_t k = 0; k < l->n_sections && !found; k++) {
                const strain_sig__range *s = &l->sections[k];
                if (off >= s->offset && off < s->offset + s->size) {
                    uint64_t left = s->offset + s->size - off;
                    len = left < l->page_size ? left : l->page_size;
                    found = true;
                }
            }
            if (!found) {
                return 0; /* a page outside every section cannot match anything */
            }
        }
        if (!page_digest(md, r->file, l, off, len, headers, d)) {
            return STRAIN_ENOMEM;
        }
        if (memcmp(d, want, dlen) != 0) {
            return 0;
        }
    }
    return 1;
}
