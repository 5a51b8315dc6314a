/*
 * tp-load: open many connections at once, and only when all of them are
 * established push a distinct payload through each and check the echo.
 *
 * Verified connections stay open until every connection is done, so
 * the peer really holds all of them at the same time.
 *
 * Prints "established <k>" when the connect phase is over, then
 * "ok <conns>" (exit 0) or "failed <k> of <conns>: <first reason>"
 * (exit 1).  A timeout reports the counts on stderr and exits 2.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

#define MAX_INFLIGHT	200	/* connects in flight; spares the backlog */
#define CHUNK		(16 * 1024)
#define REASON_MAX	160

enum state {
	S_IDLE,		/* not yet connecting */
	S_CONNECTING,
	S_ESTABLISHED,	/* waiting for the others */
	S_RUNNING,	/* exchanging data */
	S_DONE,		/* verified, held open */
	S_FAILED,
};

struct conn {
	enum state	 state;
	uint64_t	 base;		/* pattern offset of this payload */
	uint64_t	 sent, recv;
};

static volatile size_t	 nestablished, nverified, nconns;
static struct conn	*conns;
static struct pollfd	*pfds;
static size_t		 nfailed;
static uint64_t		 nbytes = 64;
static char		 reason[REASON_MAX];

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-load -c conns [-H] [-n bytes] [-T seconds] "
	    "host port\n");
	exit(TP_EXIT_USAGE);
}

static void
timeout_hook(void)
{
	tp_wstr(": established ");
	tp_wnum(nestablished);
	tp_wstr(" verified ");
	tp_wnum(nverified);
	tp_wstr(" of ");
	tp_wnum(nconns);
}

static void
fail(size_t i, const char *fmt, ...)
    __attribute__((__format__(printf, 2, 3)));

static void
fail(size_t i, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (nfailed++ == 0) {
		/* Only the first reason is reported. */
		n = snprintf(reason, sizeof(reason), "conn %zu: ", i);
		va_start(ap, fmt);
		vsnprintf(reason + n, sizeof(reason) - n, fmt, ap);
		va_end(ap);
	}
	/* Keep the counters exact for the timeout report. */
	if (conns[i].state == S_ESTABLISHED)
		nestablished--;
	else if (conns[i].state == S_DONE)
		nverified--;
	conns[i].state = S_FAILED;
	close(pfds[i].fd);
	pfds[i].fd = -1;
}

static void
start_connect(size_t i, const struct sockaddr_storage *ss, socklen_t sslen)
{
	int fd;

	fd = socket(ss->ss_family, SOCK_STREAM, 0);
	if (fd == -1)
		err(TP_EXIT_FAIL, "socket (conn %zu)", i);
	tp_nonblock(fd);
	pfds[i].fd = fd;
	pfds[i].events = POLLOUT;
	conns[i].state = S_CONNECTING;
	if (connect(fd, (const struct sockaddr *)ss, sslen) == 0) {
		conns[i].state = S_ESTABLISHED;
		pfds[i].events = 0;
		nestablished++;
	} else if (errno != EINPROGRESS)
		fail(i, "connect: %s", strerror(errno));
}

static void
connect_done(size_t i)
{
	socklen_t len;
	int error;

	len = sizeof(error);
	if (getsockopt(pfds[i].fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error != 0) {
		fail(i, "connect: %s", strerror(error));
		return;
	}
	conns[i].state = S_ESTABLISHED;
	pfds[i].events = 0;
	nestablished++;
}

static void
exchange(size_t i, short revents)
{
	static uint8_t buf[CHUNK];
	struct conn *c = &conns[i];
	uint64_t want;
	size_t bad;
	ssize_t n;

	if (c->sent < nbytes && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		want = nbytes - c->sent;
		if (want > sizeof(buf))
			want = sizeof(buf);
		tp_pattern_fill(buf, want, c->base + c->sent);
		n = write(pfds[i].fd, buf, want);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			fail(i, "write: %s", strerror(errno));
			return;
		}
		if (n > 0)
			c->sent += n;
	}
	if (revents & (POLLIN | POLLERR | POLLHUP)) {
		n = read(pfds[i].fd, buf, sizeof(buf));
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			fail(i, "read: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			fail(i, "EOF after %llu of %llu bytes",
			    (unsigned long long)c->recv,
			    (unsigned long long)nbytes);
			return;
		}
		if (n > 0) {
			want = nbytes - c->recv;
			if (want > (uint64_t)n)
				want = n;
			bad = tp_pattern_check(buf, want, c->base + c->recv);
			if (bad < want) {
				fail(i, "mismatch at byte %llu",
				    (unsigned long long)(c->recv + bad));
				return;
			}
			if (want < (uint64_t)n) {
				fail(i, "got more than %llu bytes",
				    (unsigned long long)nbytes);
				return;
			}
			c->recv += n;
		}
	}
	if (c->recv == nbytes) {
		c->state = S_DONE;
		pfds[i].events = 0;
		nverified++;
		return;
	}
	pfds[i].events = POLLIN | (c->sent < nbytes ? POLLOUT : 0);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned int timeout = 30;
	size_t i, next = 0, n = 0, inflight = 0;
	int ch, started = 0, hold = 0;

	while ((ch = getopt(argc, argv, "c:Hn:T:")) != -1) {
		switch (ch) {
		case 'H':
			hold = 1;
			break;
		case 'c':
			n = tp_num(optarg, 1, 1000000, "conns");
			break;
		case 'n':
			nbytes = tp_num(optarg, 1, LLONG_MAX, "bytes");
			break;
		case 'T':
			timeout = tp_num(optarg, 1, 86400, "timeout");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || n == 0)
		usage();
	nconns = n;

	tp_set_timeout(timeout, timeout_hook);
	tp_ignore_sigpipe();
	tp_raise_nofile();
	if (tp_nofile() < n + 16)
		errx(TP_EXIT_FAIL, "RLIMIT_NOFILE %llu too low for %zu "
		    "connections", (unsigned long long)tp_nofile(), n);
	if (tp_sockaddr(argv[0], argv[1], 0, &ss, &sslen) == -1)
		exit(TP_EXIT_USAGE);

	if ((conns = calloc(n, sizeof(*conns))) == NULL ||
	    (pfds = calloc(n, sizeof(*pfds))) == NULL)
		err(TP_EXIT_FAIL, "calloc");
	for (i = 0; i < n; i++) {
		pfds[i].fd = -1;
		/* Far apart offsets: payloads never overlap. */
		conns[i].base = (uint64_t)i << 32;
	}

	for (;;) {
		/* Keep up to MAX_INFLIGHT connects going. */
		while (next < n && inflight < MAX_INFLIGHT) {
			start_connect(next, &ss, sslen);
			if (conns[next].state == S_CONNECTING)
				inflight++;
			next++;
		}

		if (!started && next == n && inflight == 0) {
			/* Everyone is connected (or failed): go. */
			printf("established %zu\n", (size_t)nestablished);
			fflush(stdout);
			if (hold) {
				/*
				 * -H: idle clients that never send, held
				 * open until we are killed (or -T ends us).
				 */
				for (;;)
					pause();
			}
			started = 1;
			for (i = 0; i < n; i++) {
				if (conns[i].state != S_ESTABLISHED)
					continue;
				conns[i].state = S_RUNNING;
				pfds[i].events = POLLIN | POLLOUT;
			}
		}
		if (started && nverified + nfailed == n)
			break;

		if (poll(pfds, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(TP_EXIT_FAIL, "poll");
		}
		for (i = 0; i < n; i++) {
			short rev = pfds[i].revents;

			if (rev == 0 || pfds[i].fd == -1)
				continue;
			switch (conns[i].state) {
			case S_CONNECTING:
				inflight--;
				connect_done(i);
				break;
			case S_RUNNING:
				exchange(i, rev);
				break;
			case S_ESTABLISHED:
				/* Peer gave up before we started. */
				if (rev & (POLLERR | POLLHUP))
					fail(i, "lost while waiting for the "
					    "others to connect");
				break;
			case S_DONE:
				/* All must be held open until the end. */
				if (rev & (POLLERR | POLLHUP))
					fail(i, "lost after verification");
				break;
			default:
				break;
			}
		}
	}

	if (nfailed > 0) {
		printf("failed %zu of %zu: %s\n", nfailed, n, reason);
		return TP_EXIT_FAIL;
	}
	printf("ok %zu\n", n);
	return TP_EXIT_OK;
}
