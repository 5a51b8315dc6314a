/*
 * Framed message channel with descriptor passing; see msg.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

struct msg_out {
	STAILQ_ENTRY(msg_out)	 entry;
	struct msg_header	 hdr;
	int			 fd;	/* owned: closed once sent or dropped */
	unsigned char		 data[];
};

/* Room for exactly one passed descriptor, aligned for cmsghdr. */
union msg_cmsgbuf {
	struct cmsghdr	hdr;
	unsigned char	buf[CMSG_SPACE(sizeof(int))];
};

int
msg_socketpair(int sv[2])
{
	int	i, flags;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		return (-1);
	for (i = 0; i < 2; i++) {
		if ((flags = fcntl(sv[i], F_GETFL)) == -1 ||
		    fcntl(sv[i], F_SETFL, flags | O_NONBLOCK) == -1 ||
		    fcntl(sv[i], F_SETFD, FD_CLOEXEC) == -1) {
			close(sv[0]);
			close(sv[1]);
			return (-1);
		}
	}
	return (0);
}

void
msg_channel_init(struct msg_channel *ch, int fd)
{
	ch->fd = fd;
	ch->queued = 0;
	ch->dropped = 0;
	STAILQ_INIT(&ch->queue);
}

/* Drop every queued message and close the channel's descriptor. */
void
msg_channel_clear(struct msg_channel *ch)
{
	struct msg_out	*m;

	while ((m = STAILQ_FIRST(&ch->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&ch->queue, entry);
		if (m->fd != -1)
			close(m->fd);
		free(m);
	}
	ch->queued = 0;
	if (ch->fd != -1)
		close(ch->fd);
	ch->fd = -1;
}

/*
 * Queue a message.  The descriptor, if any, becomes the channel's: it is
 * closed after it was sent, or right away when queueing fails.
 */
int
msg_enqueue(struct msg_channel *ch, uint32_t type, const void *data,
    size_t len, int fd)
{
	struct msg_out	*m;

	if (len > MSG_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		goto fail;
	}
	if (ch->queued >= MSG_QUEUE_MAX) {
		ch->dropped++;
		errno = ENOBUFS;
		goto fail;
	}
	if ((m = malloc(sizeof(*m) + len)) == NULL)
		goto fail;
	m->hdr.type = type;
	m->hdr.len = len;
	m->fd = fd;
	if (len > 0)
		memcpy(m->data, data, len);
	STAILQ_INSERT_TAIL(&ch->queue, m, entry);
	ch->queued++;
	return (0);
fail:
	if (fd != -1)
		close(fd);
	return (-1);
}

int
msg_pending(const struct msg_channel *ch)
{
	return (!STAILQ_EMPTY(&ch->queue));
}

static int
msg_send_one(int sock, struct msg_out *m)
{
	struct msghdr		 mh;
	struct iovec		 iov[2];
	union msg_cmsgbuf	 cmsgbuf;
	struct cmsghdr		*cmsg;

	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &m->hdr;
	iov[0].iov_len = sizeof(m->hdr);
	iov[1].iov_base = m->data;
	iov[1].iov_len = m->hdr.len;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (m->fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &m->fd, sizeof(int));
	}
	return (sendmsg(sock, &mh, MSG_NOSIGNAL) == -1 ? -1 : 0);
}

/*
 * Send queued messages until the socket would block.  Returns 0 when all
 * went or the rest waits for POLLOUT, -1 when the peer is gone.
 */
int
msg_flush(struct msg_channel *ch)
{
	struct msg_out	*m;

	while ((m = STAILQ_FIRST(&ch->queue)) != NULL) {
		if (msg_send_one(ch->fd, m) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ENOBUFS)
				return (0);
			return (-1);
		}
		STAILQ_REMOVE_HEAD(&ch->queue, entry);
		ch->queued--;
		if (m->fd != -1)
			close(m->fd);
		free(m);
	}
	return (0);
}

/*
 * Flush, waiting up to timeout_ms for the peer to make room: for a
 * process about to exit, whose last words would otherwise stay queued.
 * 0 once everything is sent; -1 on a closed channel or the deadline.
 */
int
msg_flush_wait(struct msg_channel *ch, int timeout_ms)
{
	struct pollfd	pfd;
	struct timespec	start, now;
	long		left;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (msg_flush(ch) == -1)
			return (-1);
		if (!msg_pending(ch))
			return (0);
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000L +
		    (now.tv_nsec - start.tv_nsec) / 1000000L);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		pfd.fd = ch->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return (-1);
	}
}

/*
 * Read one message.  Returns 1 with a message, 0 when none is waiting,
 * -1 when the channel is closed or the peer broke the framing; then *why
 * says what was wrong (NULL for a plain close or a socket error).
 */
int
msg_read(struct msg_channel *ch, struct msg *out, const char **why)
{
	struct msghdr		 mh;
	struct iovec		 iov[2];
	union msg_cmsgbuf	 cmsgbuf;
	struct cmsghdr		*cmsg;
	ssize_t			 n;
	int			 fd = -1, reset_seen = 0;

	*why = NULL;
	out->fd = -1;
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &out->hdr;
	iov[0].iov_len = sizeof(out->hdr);
	iov[1].iov_base = out->data;
	iov[1].iov_len = sizeof(out->data);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);

	/*
	 * A peer that exits with messages of ours unread makes Linux report
	 * ECONNRESET, once, before the messages it sent us: read those
	 * (they are often its last words), then its close.
	 */
	while ((n = recvmsg(ch->fd, &mh, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		if (errno != ECONNRESET || reset_seen++)
			return (-1);
	}

	/*
	 * Take any passed descriptor first so that no path leaks it, not
	 * even an empty datagram, which may carry one too.
	 */
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS) {
			size_t	nfds = (cmsg->cmsg_len - CMSG_LEN(0)) /
			    sizeof(int);
			size_t	i;

			for (i = 0; i < nfds; i++) {
				int	 passed;

				memcpy(&passed, CMSG_DATA(cmsg) +
				    i * sizeof(int), sizeof(int));
				if (fd == -1)
					fd = passed;
				else
					close(passed);
			}
			if (nfds > 1)
				*why = "more than one descriptor passed";
		}
	}
	/* Nothing, and nothing attached: the peer closed the channel. */
	if (n == 0 && fd == -1 && *why == NULL)
		return (-1);
	if (*why == NULL && (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		*why = "oversized message";
	else if (*why == NULL && (size_t)n < sizeof(out->hdr))
		*why = "short header";
	else if (*why == NULL && out->hdr.len != (size_t)n - sizeof(out->hdr))
		*why = "length field does not match the datagram";
	if (*why != NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	out->fd = fd;
	return (1);
}
