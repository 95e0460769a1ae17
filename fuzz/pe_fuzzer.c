/*
 * libFuzzer harness for the PE parser: parse, then touch every field of the result (so
 * ASan sees any dangling or short string) and compute imphash. Inputs that are not PE go
 * through the same entry point and must come back as raw or ELF without complaint.
 */
#include <stdint.h>
#include <string.h>

#include <strain/binary.h>
#include <strain/hash.h>

static volatile size_t sink;

static void touch(const char *s)
{
    if (s != NULL) {
        sink += strlen(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strain_binary *bin = NULL;
    if (strain_binary_parse(&bin, NULL, data, size) != 0) {
        return 0;
    }
    const strain_binary_info *i = strain_binary_get_info(bin);
    for (size_t k = 0; k < i->n_sections; k++) {
        touch(i->sections[k].name);
        const uint8_t *p;
        size_t len;
        if (strain_binary_va_bytes(bin, i->sections[k].vaddr, &p, &len) == 0 && len > 0) {
            sink += p[0] + p[len - 1];
        }
    }
    for (size_t k = 0; k < i->n_imports; k++) {
        touch(i->imports[k].library);
        touch(i->imports[k].name);
    }
    for (size_t k = 0; k < i->n_exports; k++) {
        touch(i->exports[k].name);
        touch(i->exports[k].forwarder);
    }
    for (size_t k = 0; k < i->n_warnings; k++) {
        touch(i->warnings[k]);
    }
    const strain_pe_info *pe = &i->pe;
    for (size_t k = 0; k < pe->n_rich; k++) {
        sink += pe->rich[k].count;
    }
    touch(pe->rich_hash);
    touch(pe->pdb_path);
    touch(pe->pdb_guid);
    for (size_t k = 0; k < pe->n_tls_callbacks; k++) {
        sink += (size_t)pe->tls_callbacks[k];
    }
    for (size_t k = 0; k < pe->n_version_info; k++) {
        touch(pe->version_info[k].key);
        touch(pe->version_info[k].value);
    }
    char imphash[STRAIN_MD5_HEX];
    strain_hash_imphash(imphash, i);
    touch(imphash);
    strain_binary_free(bin);
    return 0;
}
