/*
 * libFuzzer harness for sig/: an input starting with "MZ" is verified as a whole file;
 * anything else is a WIN_CERTIFICATE payload (the PKCS#7 blob) wrapped in a fixed tiny PE32+
 * (one section, the certificate table right after it), so mutations land in the ASN.1 and
 * signature code rather than in the PE headers. The system trust store is loaded once.
 */
#include <stdlib.h>
#include <string.h>

#include <strain/binary.h>
#include <strain/sig.h>

#define HDR_SIZE 0x200
#define TEXT_SIZE 0x200
#define TABLE_OFF (HDR_SIZE + TEXT_SIZE)
#define MAX_BLOB (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

/* A minimal x86-64 PE: DOS header, PE signature, COFF and optional header, .text. */
static size_t wrap(uint8_t *out, const uint8_t *blob, size_t n)
{
    size_t tab = (8 + n + 7) & ~(size_t)7;
    memset(out, 0, TABLE_OFF + tab);
    out[0] = 'M';
    out[1] = 'Z';
    put32(out + 0x3c, 0x40);
    uint8_t *pe = out + 0x40;
    memcpy(pe, "PE\0\0", 4);
    put16(pe + 4, 0x8664); /* Machine */
    put16(pe + 6, 1);      /* NumberOfSections */
    put16(pe + 20, 0xf0);  /* SizeOfOptionalHeader */
    put16(pe + 22, 0x22);  /* EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE */
    uint8_t *opt = pe + 24;
    put16(opt, 0x20b);
    put32(opt + 16, 0x1000);             /* AddressOfEntryPoint */
    put32(opt + 24, 0x40000000);         /* ImageBase (low half) */
    put32(opt + 32, 0x1000);             /* SectionAlignment */
    put32(opt + 36, 0x200);              /* FileAlignment */
    put16(opt + 48, 6);                  /* MajorSubsystemVersion */
    put32(opt + 56, 0x2000);             /* SizeOfImage */
    put32(opt + 60, HDR_SIZE);           /* SizeOfHeaders */
    put16(opt + 68, 3);                  /* Subsystem: console */
    put32(opt + 108, 16);                /* NumberOfRvaAndSizes */
    put32(opt + 112 + 4 * 8, TABLE_OFF); /* security directory: FILE offset */
    put32(opt + 112 + 4 * 8 + 4, (uint32_t)tab);
    uint8_t *sec = opt + 0xf0;
    memcpy(sec, ".text", 5);
    put32(sec + 8, TEXT_SIZE);
    put32(sec + 12, 0x1000);
    put32(sec + 16, TEXT_SIZE);
    put32(sec + 20, HDR_SIZE);
    put32(sec + 36, 0x60000020);
    out[HDR_SIZE] = 0xc3;
    uint8_t *t = out + TABLE_OFF;
    put32(t, (uint32_t)(8 + n));
    put16(t + 4, 0x0200);
    put16(t + 6, 0x0002);
    memcpy(t + 8, blob, n);
    return TABLE_OFF + tab;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static strain_ctx *ctx;
    static strain_sig_store *store;
    if (ctx == NULL) {
        if (strain_ctx_new(&ctx) < 0 || strain_sig_store_new(&store, ctx, NULL) < 0) {
            abort();
        }
    }
    uint8_t *buf = NULL;
    const uint8_t *file = data;
    size_t len = size;
    if (size < 2 || data[0] != 'M' || data[1] != 'Z') {
        if (size > MAX_BLOB) {
            return 0;
        }
        buf = malloc(TABLE_OFF + size + 16);
        if (buf == NULL) {
            return 0;
        }
        len = wrap(buf, data, size);
        file = buf;
    }
    strain_binary *bin = NULL;
    strain_sig_report *rep = NULL;
    strain_sig_opts opts = {NULL, store, 0};
    if (strain_binary_parse(&bin, ctx, file, len) == 0 &&
        strain_sig_verify(&rep, ctx, bin, &opts) == 0) {
        const strain_sig_info *info = strain_sig_report_info(rep);
        /* Touch what a report writer would read. */
        size_t total = 0;
        for (size_t i = 0; i < info->n_signatures; i++) {
            const strain_sig_signature *s = &info->signatures[i];
            total += strlen(strain_sig_verdict_name(s->verdict)) + strlen(s->detail);
            for (size_t k = 0; k < s->n_certs; k++) {
                total += strlen(s->certs[k].subject) + strlen(s->certs[k].serial);
            }
        }
        strain_sig_abused one = {"00", NULL, NULL, NULL};
        (void)strain_sig_check_abused(rep, &one, 1);
        (void)total;
    }
    strain_sig_report_free(rep);
    strain_binary_free(bin);
    free(buf);
    return 0;
}
