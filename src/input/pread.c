/*
 * Exact reads from an archive source, a file (pread, so a shared fd's offset never moves)
 * or a buffer: the header checks (zipdir.c, sevenz.c) read what they need before
 * libarchive sees the archive.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "input/input_impl.h"

bool strain_input__pread(int fd, const uint8_t *data, uint64_t size, uint64_t off, uint8_t *buf,
                         size_t n)
{
    if (off > size || n > size - off) {
        return false;
    }
    if (fd < 0) {
        memcpy(buf, data + off, n);
        return true;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        got += (size_t)r;
    }
    return true;
}
