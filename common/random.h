/* random: bytes from the kernel's CSPRNG, for keys and nonces (the plan cache's hash key,
 * tvsync-cdc's heartbeat nonce). */
#ifndef TVSYNC_COMMON_RANDOM_H
#define TVSYNC_COMMON_RANDOM_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/random.h>
#include <sys/types.h>
#include <unistd.h>

/* Fills bytes[0..length) from getrandom(2), or from /dev/urandom where the kernel has no
 * getrandom; false (errno set) when neither gives them. */
static inline bool random_bytes(unsigned char *bytes, size_t length)
{
    size_t done = 0;
    while (done < length) {
        ssize_t n = getrandom(bytes + done, length - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t) n;
    }
    if (done == length)
        return true;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    done = 0;
    while (done < length) {
        ssize_t n = read(fd, bytes + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t) n;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return done == length;
}

#endif
