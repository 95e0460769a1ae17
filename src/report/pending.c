/*
 * TEMPORARY (info branch): stand-ins for functions other branches are writing, so that
 * `strain info` links and runs before they land. Delete this file as soon as main has the
 * real ones. They are weak, so a real definition linked beside them wins, and they never
 * produce a made-up value:
 * - the similarity hashes and imphash return STRAIN_ENOTFOUND, so the report omits them;
 * - the input walk reads plain files and "-" only (strain_sample_open, the real reader);
 *   a directory is refused ("is a directory"), an archive is reported as one raw sample.
 */
#include <stdio.h>

#include <strain/hash.h>
#include <strain/input.h>

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

__attribute__((weak)) int strain_hash_imphash(char out[STRAIN_MD5_HEX],
                                              const strain_binary_info *info)
{
    (void)info;
    out[0] = '\0';
    return STRAIN_ENOTFOUND;
}

__attribute__((weak)) int strain_input_walk(strain_ctx *ctx, const char *const *paths,
                                            size_t n_paths, const strain_input_opts *opts,
                                            strain_input_cb cb, void *payload)
{
    (void)opts;
    int failed = 0;
    for (size_t i = 0; i < n_paths; i++) {
        char msg[1024];
        strain_sample *s = NULL;
        int err = strain_sample_open(&s, ctx, paths[i]);
        int rc;
        if (err < 0) {
            snprintf(msg, sizeof(msg), "%s", strain_ctx_errmsg(ctx)); /* names the path */
            failed++;
            rc = cb(NULL, err, msg, payload);
        } else {
            rc = cb(s, 0, NULL, payload);
            strain_sample_free(s);
        }
        if (rc < 0) {
            return rc;
        }
    }
    return failed;
}
