/* md5/sha1/sha256 through OpenSSL's EVP one-shot digest. */
#include <openssl/evp.h>

#include <strain/hash.h>

#include "util/hex.h"

static int digest_hex(char *out, const EVP_MD *md, const void *data, size_t size)
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, size, raw, &n, md, NULL) != 1) {
        out[0] = '\0';
        return STRAIN_ERROR;
    }
    strain_hex_encode(out, raw, n);
    return STRAIN_OK;
}

int strain_hash_md5(char out[STRAIN_MD5_HEX], const void *data, size_t size)
{
    return digest_hex(out, EVP_md5(), data, size);
}

int strain_hash_sha1(char out[STRAIN_SHA1_HEX], const void *data, size_t size)
{
    return digest_hex(out, EVP_sha1(), data, size);
}

int strain_hash_sha256(char out[STRAIN_SHA256_HEX], const void *data, size_t size)
{
    return digest_hex(out, EVP_sha256(), data, size);
}
