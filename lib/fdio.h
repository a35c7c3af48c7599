/*
 * fdio.h - the two loops every file-writing part needs: a read that
 * goes on through EINTR, and a write of everything through EINTR and
 * short writes.  Inline: each is a few instructions around the system
 * call, and both wings use them on their per-message paths.
 */
#ifndef FDIO_H
#define FDIO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* fd_read - read(2), retried when a signal interrupts it */
static inline ssize_t
fd_read(int fd, void *p, size_t n)
{
	ssize_t r;

	while ((r = read(fd, p, n)) < 0 && errno == EINTR)
		;
	return r;
}

/* fd_write_all - all n octets at p: 0, or -1 (errno; EIO for a write of 0) */
static inline int
fd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

#endif
