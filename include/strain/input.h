/*
 * strain/input.h: turn what an analyst points at (files, directories, archives, stdin) into
 * samples, within the context's limits.
 */
#ifndef STRAIN_INPUT_H
#define STRAIN_INPUT_H

#include "sample.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strain_input_opts {
    /* Tried first on encrypted archive members; "infected" (the convention of sample
     * exchanges) is always tried after it. NULL: only "infected". */
    const char *password;
    bool no_archives; /* treat archives as plain samples */
} strain_input_opts;

/*
 * Called once per sample found (borrowed: valid only during the call), or once per input
 * or member that could not be read, with sample == NULL, err < 0 and a message naming the
 * path (and member) and the reason. Return < 0 to stop the walk (that value is returned by
 * strain_input_walk).
 *
 * Errors passed to the callback:
 *   STRAIN_EIO        missing file, permission denied, unreadable, broken or cyclic symlink
 *   STRAIN_EINVAL     symlink leaving the directory tree, directory loop, not a regular file
 *   STRAIN_EMALFORMED corrupt or truncated archive or member (libarchive's reason quoted)
 *   STRAIN_ELIMIT     a strain_limits cap; the message names the cap and its value, e.g.
 *                     "member x.bin of bomb.zip: unpacked size exceeds 200x its compressed
 *                     size (zip bomb?)"
 *   STRAIN_EPASSWORD  encrypted member no password opened (message hints --password), or
 *                     encrypted 7z, which libarchive cannot decrypt
 *
 * archive_path: NULL for a file read directly; for an archive member, the levels from the
 * archive on disk inward joined by '!': "outer.zip!dir/inner.zip!x.dll". The first level is
 * the archive's file name (last component of sample->path; "-" for stdin), the others are
 * member paths as stored in the archive. In every level '%' is written "%25", '!' "%21" and
 * control bytes "%XX", so splitting on '!' always gives the levels back; names are cut at
 * 4096 bytes. A compressed single file (x.exe.gz, .bz2, .xz) has one member, named as in the
 * gzip header or else the file name without its suffix ("x.exe.bz2!x.exe").
 */
typedef int (*strain_input_cb)(const strain_sample *sample, int err, const char *errmsg,
                               void *payload);

/*
 * Walks every path, in order:
 *   - "-": stdin, read whole (up to max_file_size), then handled like a file;
 *   - a directory: recursively, entries in strcmp order of their names (deterministic).
 *     Symlinks are followed only to targets inside the directory given; each file or
 *     directory (by st_dev, st_ino) is read once; loops, links leaving the tree and entries
 *     deeper than max_dir_depth are reported and skipped; only regular files are read;
 *   - a file: an archive when its first bytes are zip ("PK\3\4" or "PK\5\6"), 7z, gzip,
 *     bzip2 or xz magic at offset 0, or "ustar" at 257; otherwise a sample. A PE with a zip
 *     appended (self-extractor) starts "MZ" and is a sample.
 * Archive members are streamed one at a time (at most one member, and the nested members of
 * it being opened, are in memory); archives inside archives are opened up to max_depth
 * levels (the archive on disk is level 1). Encrypted zip members (ZipCrypto, WinZip AES)
 * are opened with opts->password then "infected". Empty members are samples; directories,
 * links and devices inside archives are not.
 *
 * Limits (ctx's strain_limits) for each archive file on disk or stdin: max_total_unpacked
 * and max_members over all its levels (hit: the rest of that archive file is dropped);
 * per member: max_file_size and max_ratio (unpacked > ratio x compressed: per member for
 * zip, per stream for tar.gz/.bz2/.xz and single compressed files, per archive for 7z; the
 * member is refused after at most 64 KiB past the cap, never inflated whole). After a
 * member-level failure the walk goes on with the next member where skipping is a seek (zip
 * with its central directory, plain tar); otherwise (tar.gz, 7z, a zip cut short) the rest
 * of that archive is dropped, with a message.
 *
 * Returns 0 if every input was read, the number of error callbacks made otherwise, or a
 * negative error if the callback stopped the walk (its value), memory ran out
 * (STRAIN_ENOMEM) or an argument is NULL (STRAIN_EINVAL).
 * Thread-safety: one walk per ctx at a time; walks with distinct contexts may run
 * concurrently.
 */
STRAIN_API int strain_input_walk(strain_ctx *ctx, const char *const *paths, size_t n_paths,
                                 const strain_input_opts *opts, strain_input_cb cb, void *payload);

#ifdef __cplusplus
}
#endif
#endif
