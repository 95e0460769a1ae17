/*
 * A bounded DER reader for the few Authenticode structures OpenSSL keeps opaque
 * (SpcIndirectDataContent, SpcPeImageData, SpcSerializedObject, SpcSpOpusInfo). It reads one
 * TLV at a time through checked spans and never recurses, so nesting depth is bounded by the
 * callers' fixed paths, not by the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig/sig_impl.h"

bool strain_der_read(strain_span s, strain_der *out)
{
    uint8_t b;
    size_t pos = 0;
    if (!strain_span_u8(s, pos++, &b)) {
        return false;
    }
    out->cls = (uint8_t)(b >> 6);
    out->constructed = (b & 0x20) != 0;
    uint32_t tag = b & 0x1f;
    if (tag == 0x1f) {
        /* High tag numbers: base-128; 4 bytes are plenty for any real tag. */
        tag = 0;
        for (int i = 0;; i++) {
            if (i == 4 || !strain_span_u8(s, pos++, &b)) {
                return false;
            }
            tag = (tag << 7) | (b & 0x7f);
            if ((b & 0x80) == 0) {
                break;
            }
        }
    }
    out->tag = tag;
    if (!strain_span_u8(s, pos++, &b)) {
        return false;
    }
    uint64_t len = b;
    if (b & 0x80) {
        unsigned n = b & 0x7f;
        /* 0x80 is BER indefinite length: not DER, refused. More than 4 length bytes
         * would describe > 4 GiB, larger than any input we accept. */
        if (n == 0 || n > 4) {
            return false;
        }
        len = 0;
        for (unsigned i = 0; i < n; i++) {
            if (!strain_span_u8(s, pos++, &b)) {
                return false;
            }
            len = (len << 8) | b;
        }
    }
    if (!strain_span_sub(s, pos, len, &out->value)) {
        return false;
    }
    out->total = pos + (size_t)len;
    return true;
}

bool strain_der_next(strain_span s, size_t *pos, strain_der *out)
{
    strain_span rest;
    if (!strain_span_tail(s, *pos, &rest) || !strain_der_read(rest, out)) {
        return false;
    }
    *pos += out->total;
    return true;
}

bool strain_der_oid_is(strain_span oid, const char *dotted)
{
    /* Encode the dotted text and compare bytes: simpler to get right than decoding. */
    uint8_t enc[64];
    size_t n = 0;
    unsigned long arcs[32];
    size_t na = 0;
    const char *p = dotted;
    while (*p != '\0' && na < 32) {
        char *end;
        arcs[na++] = strtoul(p, &end, 10);
        p = (*end == '.') ? end + 1 : end;
        if (*end != '.' && *end != '\0') {
            return false;
        }
    }
    if (na < 2) {
        return false;
    }
    enc[n++] = (uint8_t)(arcs[0] * 40 + arcs[1]);
    for (size_t i = 2; i < na; i++) {
        uint8_t tmp[10];
        size_t k = 0;
        unsigned long v = arcs[i];
        do {
            tmp[k++] = (uint8_t)(v & 0x7f);
            v >>= 7;
        } while (v != 0 && k < sizeof(tmp));
        while (k > 0) {
            if (n >= sizeof(enc)) {
                return false;
            }
            k--;
            enc[n++] = (uint8_t)(tmp[k] | (k > 0 ? 0x80 : 0));
        }
    }
    return oid.len == n && memcmp(oid.p, enc, n) == 0;
}
