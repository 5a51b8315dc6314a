/*
 * libFuzzer harness for the master <-> worker message decoder and the
 * master's check of what a worker sends.
 *
 * Input: one control byte, then the raw datagram (header and payload as
 * they travel).  Control bits 0-1: how many descriptors to pass along
 * (0 to 3); bit 2: pad the datagram with zeros beyond the largest
 * message, so that the receiver sees it truncated.  The datagram goes
 * through a real SOCK_SEQPACKET socketpair; msg_read() decodes it, and a
 * message it accepts goes through proto_check_worker_msg() and then the
 * same copying the master does, so that a check too lax for the master's
 * buffers shows up as an ASan report.  A descriptor that any path leaks
 * aborts the run.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "msg.h"
#include "proto.h"

#define MAX_FDS		3

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int			devnull = -1;
static volatile uint32_t	sink;	/* what the master would use */
static int			lowest_free = -1;	/* no leak before */

union cmsgbuf {
	struct cmsghdr	hdr;
	unsigned char	buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
};

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_msg: %s\n", what);
	abort();
}

static int
lowest_free_fd(void)
{
	int	fd;

	if ((fd = dup(devnull)) == -1)
		die("dup");
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
		die("sendmsg");
}

/* A connection list: copied and formatted as master_control.c does. */
static void
conn_batch(const struct msg *m)
{
	struct proto_conn_batch	 b;
	char			 a[ADDR_STRLEN];
	uint32_t		 i;

	if (m->hdr.len > sizeof(b) || m->hdr.len != PROTO_CONN_BATCH_LEN(
	    ((const struct proto_conn_batch *)(const void *)m->data)->n))
		die("check passed a batch of the wrong length");
	memset(&b, 0, sizeof(b));
	memcpy(&b, m->data, m->hdr.len);
	for (i = 0; i < b.n; i++) {
		addr_fmt(&b.conn[i].client, a, sizeof(a));
		sink ^= (uint32_t)strlen(a);
		if (b.conn[i].remote.len > 0)
			addr_fmt(&b.conn[i].remote, a, sizeof(a));
		sink ^= (uint32_t)strlen(a);
	}
}

/* What the master does with a message the check let through. */
static void
master_side(const struct msg *m)
{
	struct proto_commit		 c;
	struct proto_log_hdr		 hdr;
	struct proto_listener_stats	 ls;
	struct proto_stats_done		 done;
	char				 text[LOG_LINE_MAX];
	uint32_t			 pair[2];
	size_t				 len;

	switch (m->hdr.type) {
	case PROTO_READY:
		memcpy(&c, m->data, sizeof(c));
		sink ^= c.generation ^ c.nlisteners;
		break;
	case PROTO_LOG:
		memcpy(&hdr, m->data, sizeof(hdr));
		len = m->hdr.len - sizeof(hdr);
		memcpy(text, m->data + sizeof(hdr), len);
		text[len] = '\0';
		for (len = 0; text[len] != '\0'; len++)
			if ((unsigned char)text[len] < 0x20 ||
			    text[len] == 0x7f)
				text[len] = ' ';
		if (hdr.level < LOG_LVL_ERROR || hdr.level > LOG_LVL_DEBUG)
			die("check passed a bad log level");
		break;
	case PROTO_DUMP_DONE:
		if (m->hdr.len != 0)
			die("check passed a dump reply with a payload");
		break;
	case PROTO_LISTENER_STATS:
		memcpy(&ls, m->data, sizeof(ls));
		sink ^= ls.seq ^ ls.id ^ (uint32_t)ls.connections;
		break;
	case PROTO_STATS_DONE:
		memcpy(&done, m->data, sizeof(done));
		sink ^= done.seq ^ done.nlisteners ^ (uint32_t)done.retired;
		break;
	case PROTO_CONN_BATCH:
		conn_batch(m);
		break;
	case PROTO_CONNS_DONE:
	case PROTO_KILL_DONE:
		memcpy(&pair, m->data, sizeof(pair));
		sink ^= pair[0] ^ pair[1];
		break;
	default:
		die("check passed an unknown type");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char	 big[sizeof(struct msg_header) +
				    MSG_PAYLOAD_MAX + 64];
	struct msg_channel	 ch;
	struct msg		*m;
	const unsigned char	*dgram;
	struct msg_header	 first;
	const char		*why;
	char			 reason[128];
	size_t			 len;
	int			 sv[2], nfds, rc;

	if (devnull == -1) {
		if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			die("/dev/null");
		lowest_free = lowest_free_fd();
	}
	if (size < 1)
		return (0);
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
		return (0);
	if (msg_socketpair(sv) == -1)
		die("msg_socketpair");
	send_datagram(sv[0], dgram, len, nfds);
	close(sv[0]);

	msg_channel_init(&ch, sv[1]);
	rc = msg_read(&ch, m, &why);
	if (rc == 1) {
		if (m->hdr.len > MSG_PAYLOAD_MAX)
			die("msg_read passed an oversized length");
		if (proto_check_worker_msg(m, reason, sizeof(reason)) == 0)
			master_side(m);
		else if (reason[0] == '\0')
			die("a refusal without a reason");
		if (m->fd != -1)
			close(m->fd);
		/*
		 * Nothing else was sent: the next read sees the close, or
		 * nothing yet (0) while another process holds a reference
		 * to the closed end (ss -p, lsof reading /proc/PID/fd).
		 */
		first = m->hdr;
		if ((rc = msg_read(&ch, m, &why)) == 1 || why != NULL) {
			fprintf(stderr, "fuzz_msg: datagram of %zu bytes read "
			    "as type %u length %u, then read %d (%s, %s)\n",
			    len, first.type, first.len, rc,
			    why ? why : "no reason", strerror(errno));
			die("a second message from one datagram");
		}
	} else if (rc == 0)
		die("msg_read saw no message");
	else if (m->fd != -1)
		die("msg_read failed but returned a descriptor");
	msg_channel_clear(&ch);
	free(m);

	if (lowest_free_fd() != lowest_free)
		die("descriptor leak");
	return (0);
}
