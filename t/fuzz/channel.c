/* The datagram plumbing of the message harnesses; see channel.h. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"

#define MAX_FDS		3

volatile uint32_t	fuzz_sink;

static int	devnull = -1;
static int	lowest_free = -1;	/* no leak before */

union cmsgbuf {
	struct cmsghdr	hdr;
	unsigned char	buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
};

void
fuzz_die(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

static int
lowest_free_fd(void)
{
	int	fd;

	if ((fd = dup(devnull)) == -1)
		fuzz_die("dup");
	close(fd);
	return (fd);
}

static void
send_datagram(int sock, const unsigned char *buf, size_t len, int nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union cmsgbuf	 cb;
	struct cmsghdr	*cmsg;
	int		 fds[MAX_FDS], i;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cb, 0, sizeof(cb));
		for (i = 0; i < nfds; i++)
			fds[i] = devnull;
		mh.msg_control = cb.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) == -1)
		fuzz_die("sendmsg");
}

void
fuzz_channel_one(const uint8_t *data, size_t size,
    void (*accepted)(struct msg *))
{
	static unsigned char	 big[sizeof(struct msg_header) +
				    MSG_PAYLOAD_MAX + 64];
	struct msg_channel	 ch;
	struct msg		*m;
	const unsigned char	*dgram;
	struct msg_header	 first;
	const char		*why;
	size_t			 len;
	int			 sv[2], nfds, rc;

	if (devnull == -1) {
		if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			fuzz_die("/dev/null");
		lowest_free = lowest_free_fd();
	}
	if (size < 1)
		return;
	nfds = data[0] & 3;
	dgram = data + 1;
	len = size - 1;
	if (data[0] & 4) {
		/* Too large for the receiver: it must say so. */
		if (len > sizeof(big))
			len = sizeof(big);
		memset(big, 0, sizeof(big));
		memcpy(big, dgram, len);
		dgram = big;
		len = sizeof(big);
	}

	if ((m = malloc(sizeof(*m))) == NULL)
		return;
	if (msg_socketpair(sv) == -1)
		fuzz_die("msg_socketpair");
	send_datagram(sv[0], dgram, len, nfds);
	close(sv[0]);

	msg_channel_init(&ch, sv[1]);
	rc = msg_read(&ch, m, &why);
	if (rc == 1) {
		if (m->hdr.len > MSG_PAYLOAD_MAX)
			fuzz_die("msg_read passed an oversized length");
		accepted(m);
		if (m->fd != -1)
			close(m->fd);
		/*
		 * Nothing else was sent: the next read sees the close, or
		 * nothing yet (0) while another process holds a reference
		 * to the closed end (ss -p, lsof reading /proc/PID/fd).
		 */
		first = m->hdr;
		if ((rc = msg_read(&ch, m, &why)) == 1 || why != NULL) {
			fprintf(stderr, "fuzz: datagram of %zu bytes read "
			    "as type %u length %u, then read %d (%s, %s)\n",
			    len, first.type, first.len, rc,
			    why ? why : "no reason", strerror(errno));
			fuzz_die("a second message from one datagram");
		}
	} else if (rc == 0)
		fuzz_die("msg_read saw no message");
	else if (m->fd != -1)
		fuzz_die("msg_read failed but returned a descriptor");
	msg_channel_clear(&ch);
	free(m);

	if (lowest_free_fd() != lowest_free)
		fuzz_die("descriptor leak");
}

void
fuzz_checked(struct msg *m, enum proto_to to, void (*side)(const struct msg *))
{
	char	reason[128];
	char	other[128];

	reason[0] = '\0';
	if (proto_check(to, m->hdr.type, m->data, m->hdr.len, m->fd, reason,
	    sizeof(reason)) == 0) {
		if (proto_check(to == PROTO_TO_WORKER ? PROTO_TO_MASTER :
		    PROTO_TO_WORKER, m->hdr.type, m->data, m->hdr.len, m->fd,
		    other, sizeof(other)) == 0)
			fuzz_die("a message both directions accept");
		side(m);
	} else if (reason[0] == '\0')
		fuzz_die("a refusal without a reason");
}
