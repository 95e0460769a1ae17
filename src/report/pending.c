/*
 * TEMPORARY (info branch): stand-ins for functions other branches are writing, so that
 * `strain info` links and runs before they land. Delete this file as soon as main has the
 * real ones. They are weak, so a real definition linked beside them wins, and they never
 * produce a made-up value:
 * the similarity hashes return STRAIN_ENOTFOUND, so the report omits them.
 */
#include <stdio.h>

#include <strain/hash.h>

__attribute__((weak)) int strain_hash_ssdeep(char out[STRAIN_SSDEEP_MAX], const void *data,
                                             size_t size)
{
    (void)data;
    (void)size;
    out[0] = '\0';
    return STRAIN_ENOTFOUND;
}

__attribute__((weak)) int strain_hash_tlsh(char out[STRAIN_TLSH_MAX], const void *data, size_t size)
{
    (void)data;
    (void)size;
    out[0] = '\0';
    return STRAIN_ENOTFOUND;
}
