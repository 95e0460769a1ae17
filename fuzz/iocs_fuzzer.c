/*
 * Strings and indicators over arbitrary bytes: extraction at two minimum lengths, then every
 * indicator rule. The interesting inputs are long runs of host characters, backslashes,
 * "://" and "@" in odd places, and UTF-16LE runs ending at the buffer's end.
 */
#include <stdint.h>
#include <string.h>

#include <strain/strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t min = 1; min <= 4; min += 3) {
        strain_strings *s = NULL;
        strain_strings_opts o = {.min_len = min, .max_count = 4096};
        if (strain_strings_extract(&s, NULL, data, size, &o) < 0) {
            continue;
        }
        for (size_t i = 0; i < strain_strings_count(s); i++) {
            const strain_string *x = strain_strings_get(s, i);
            if (x->len < min || strlen(x->text) != x->len || x->offset >= size) {
                __builtin_trap(); /* an extraction invariant broke */
            }
        }
        strain_iocs *r = NULL;
        if (strain_iocs_extract(&r, NULL, s) == 0) {
            for (int k = 0; k < STRAIN_IOC_N_KINDS; k++) {
                size_t n = strain_iocs_count(r, (strain_ioc_kind)k);
                for (size_t i = 1; i < n; i++) { /* sorted and deduplicated */
                    if (strcmp(strain_iocs_get(r, (strain_ioc_kind)k, i - 1)->value,
                               strain_iocs_get(r, (strain_ioc_kind)k, i)->value) >= 0) {
                        __builtin_trap();
                    }
                }
            }
        }
        strain_iocs_free(r);
        strain_strings_free(s);
    }
    return 0;
}
