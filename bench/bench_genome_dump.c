/*
 * bench_genome_dump: prints "SHA256  FILE" of the serialised genome of each file (the bytes
 * strain_genome_serialize writes, i.e. what a database stores), so that two builds can be
 * compared byte for byte (bench/genome_identity.sh). An optimisation of the genotype engine
 * must leave every line unchanged. Files that do not parse print "-  FILE".
 *
 * usage: bench_genome_dump FILE...
 */
#include <stdio.h>
#include <stdlib.h>

#include <strain/binary.h>
#include <strain/code.h>
#include <strain/hash.h>

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    uint8_t *p = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

int main(int argc, char **argv)
{
    strain_ctx *ctx = NULL;
    if (strain_ctx_new(&ctx) < 0) {
        return 1;
    }
    int rc = 0;
    for (int a = 1; a < argc; a++) {
        size_t len = 0, slen = 0;
        uint8_t *data = read_all(argv[a], &len), *ser = NULL;
        strain_binary *bin = NULL;
        strain_genome *g = NULL;
        char hex[STRAIN_SHA256_HEX];
        if (data != NULL && strain_binary_parse(&bin, ctx, data, len) >= 0 &&
            strain_genome_build(&g, ctx, bin, NULL) >= 0 &&
            strain_genome_serialize(&ser, &slen, ctx, g) >= 0 &&
            strain_hash_sha256(hex, ser, slen) >= 0) {
            printf("%s  %s\n", hex, argv[a]);
        } else {
            printf("-  %s\n", argv[a]);
            rc = 1;
        }
        free(ser);
        strain_genome_free(g);
        strain_binary_free(bin);
        free(data);
    }
    strain_ctx_free(ctx);
    return rc;
}
