/* Whole-file reads with a size cap; see file.h for why not mmap. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/file.h"

static int read_fd(strain_ctx *ctx, int fd, const char *path, uint64_t max_size, size_t hint,
                   uint8_t **out, size_t *out_len)
{
    size_t cap = hint ? hint + 1 : 65536, len = 0;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL) {
        return strain__fail(ctx, STRAIN_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if ((uint64_t)cap > max_size) {
                free(buf);
                return strain__fail(ctx, STRAIN_ELIMIT,
                                    "%s: larger than the file size limit (%llu bytes)", path,
                                    (unsigned long long)max_size);
            }
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                free(buf);
                return strain__fail(ctx, STRAIN_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int e = errno;
            free(buf);
            return strain__fail(ctx, STRAIN_EIO, "%s: %s", path, strerror(e));
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    if ((uint64_t)len > max_size) {
        free(buf);
        return strain__fail(ctx, STRAIN_ELIMIT, "%s: larger than the file size limit (%llu bytes)",
                            path, (unsigned long long)max_size);
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return STRAIN_OK;
}

int strain__read_file(strain_ctx *ctx, const char *path, uint64_t max_size, uint8_t **out,
                      size_t *out_len)
{
    if (strcmp(path, "-") == 0) {
        return read_fd(ctx, STDIN_FILENO, "<stdin>", max_size, 0, out, out_len);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return strain__fail(ctx, STRAIN_EIO, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return strain__fail(ctx, STRAIN_EIO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return strain__fail(ctx, STRAIN_EIO, "%s: is a directory", path);
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_size) {
        close(fd);
        return strain__fail(ctx, STRAIN_ELIMIT,
                            "%s: %llu bytes is larger than the file size limit (%llu bytes)", path,
                            (unsigned long long)st.st_size, (unsigned long long)max_size);
    }
    size_t hint = S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
    int err = read_fd(ctx, fd, path, max_size, hint, out, out_len);
    close(fd);
    return err;
}
