/*
 * libFuzzer harness for the ELF parser: parses the input, reads every field of the result
 * (so ASan sees any dangling or unterminated string) and maps every address the result
 * mentions back to file bytes. Inputs that are not ELF still go through the raw fallback.
 */
#include <stdint.h>
#include <string.h>

#include <strain/binary.h>

static volatile size_t sink;

static void touch(const char *s)
{
    if (s != NULL) {
        sink += strlen(s);
    }
}

static void map(const strain_binary *bin, uint64_t va)
{
    const uint8_t *ptr;
    size_t len;
    uint64_t off;
    if (strain_binary_va_bytes(bin, va, &ptr, &len) == 0 && len > 0) {
        sink += ptr[0] + ptr[len - 1];
    }
    if (strain_binary_va_to_offset(bin, va, &off) == 0) {
        sink += (size_t)off;
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
    touch(strain_format_name(i->format));
    touch(strain_arch_name(i->arch));
    map(bin, i->entry);
    map(bin, i->image_base);
    for (size_t k = 0; k < i->n_sections; k++) {
        touch(i->sections[k].name);
        map(bin, i->sections[k].vaddr);
        sink += (size_t)(i->sections[k].entropy * 100);
    }
    for (size_t k = 0; k < i->n_imports; k++) {
        touch(i->imports[k].library);
        touch(i->imports[k].name);
        map(bin, i->imports[k].address);
    }
    for (size_t k = 0; k < i->n_exports; k++) {
        touch(i->exports[k].name);
        touch(i->exports[k].forwarder);
        map(bin, i->exports[k].address);
    }
    for (size_t k = 0; k < i->n_symbols; k++) {
        touch(i->symbols[k].name);
        map(bin, i->symbols[k].address);
    }
    for (size_t k = 0; k < i->n_warnings; k++) {
        touch(i->warnings[k]);
    }
    touch(i->elf.interpreter);
    touch(i->elf.soname);
    touch(i->elf.build_id);
    for (size_t k = 0; k < i->elf.n_needed; k++) {
        touch(i->elf.needed[k]);
    }
    for (size_t k = 0; k < i->elf.n_segments; k++) {
        map(bin, i->elf.segments[k].vaddr);
        sink += (size_t)i->elf.segments[k].memsz;
    }
    strain_binary_free(bin);
    return 0;
}
