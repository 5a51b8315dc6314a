/*
 * See nbwrite.h.  Shared by the control socket and the metrics process,
 * which both queue a whole reply and write it out on POLLOUT.
 */
#include <sys/types.h>

#include <errno.h>
#include <unistd.h>

#include "nbwrite.h"

/*
 * Write buf[*off..len) to fd, advancing *off.  1 once all is written,
 * 0 when the socket is full (poll for POLLOUT), -1 when the peer is gone.
 */
int
nbwrite(int fd, const char *buf, size_t len, size_t *off)
{
	ssize_t	n;

	while (*off < len) {
		n = write(fd, buf + *off, len - *off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (0);
		if (n <= 0)
			return (-1);
		*off += (size_t)n;
	}
	return (1);
}
