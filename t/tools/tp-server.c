/*
 * tp-server: poll(2) based test server with a few canned behaviours.
 *
 * One process, one thread, non-blocking sockets, so thousands of
 * connections can be held at once.  Modes:
 *
 *	echo	echo everything; after the peer's FIN, flush, FIN, close
 *	reply	read to EOF, answer "REPLY:<count>\n", close
 *	blob	send -n bytes (default 1000000) of tp_pattern(), FIN, close
 *	peer	send "<addr> <port>\n" of the client, FIN, close
 *	sink	read to EOF, answer "<count> <fnv1a-hex>\n", close
 *	hang	accept and never touch the connection again
 *	reset	read -n bytes (default 0), then close with a RST
 *	banner	send "HELLO\n", then act as echo
 *	echofin	echo the first -n bytes, FIN, discard the rest; at the
 *		peer's FIN log "tp-server: echofin <count> <fnv1a-hex>" of
 *		all input to stderr, close
 *
 * "FIN, close" waits for the peer's FIN before the close, so unread
 * input can not turn it into a RST.  -T bounds the server's lifetime.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

#define ECHO_BUFSZ	(16 * 1024)
#define BLOB_CHUNK	(64 * 1024)
#define ACCEPT_BATCH	256
#define MSG_MAX		128

enum mode {
	M_ECHO,
	M_REPLY,
	M_BLOB,
	M_PEER,
	M_SINK,
	M_HANG,
	M_RESET,
	M_BANNER,
	M_BLACKHOLE,
	M_ECHOFIN,
};

static const struct {
	const char	*name;
	enum mode	 mode;
} modes[] = {
	{ "echo",	M_ECHO },
	{ "reply",	M_REPLY },
	{ "blob",	M_BLOB },
	{ "peer",	M_PEER },
	{ "sink",	M_SINK },
	{ "hang",	M_HANG },
	{ "reset",	M_RESET },
	{ "banner",	M_BANNER },
	{ "blackhole",	M_BLACKHOLE },
	{ "echofin",	M_ECHOFIN },
};

/*
 * Connection phases.  RUN is the mode specific part; FLUSH writes the
 * buffered message and then closes (or lingers); DRAIN has already sent
 * FIN and discards input until the peer closes, so that unread input can
 * never turn our close into a RST that destroys data still in flight.
 */
enum phase {
	PH_RUN,
	PH_FLUSH,
	PH_DRAIN,
};

struct conn {
	int		 fd;
	enum phase	 phase;
	int		 rdeof;		/* peer sent FIN */
	int		 linger;	/* after FLUSH: DRAIN, not close */
	int		 wshut;		/* FIN sent (echofin) */
	uint8_t		*ebuf;		/* echo buffer */
	size_t		 off, len;	/* pending output in ebuf or msg */
	uint64_t	 count;		/* bytes read, where counted */
	uint64_t	 hash;		/* fnv1a of input (sink, echofin) */
	uint64_t	 sent;		/* bytes sent (blob) */
	uint8_t		 msg[MSG_MAX];	/* small replies */
};

static enum mode	 mode;
static uint64_t		 nbytes;
static struct pollfd	*pfds;		/* [0] is the listener */
static struct conn	*conns;		/* parallel to pfds */
static size_t		 nconns, maxconns;
static uint8_t		 scratch[BLOB_CHUNK];	/* read buffer */
static uint8_t		 pat[BLOB_CHUNK];	/* pattern cache for blob */
static uint64_t		 pat_off = UINT64_MAX / 2;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-server -m mode [-l addr] [-p port] "
	    "[-P portfile] [-n bytes] [-T seconds]\n"
	    "modes: echo reply blob peer sink hang reset banner blackhole "
	    "echofin\n");
	exit(TP_EXIT_USAGE);
}

static void
conn_close(size_t i, int rst)
{
	struct conn *c = &conns[i];
	struct linger l;

	if (rst) {
		l.l_onoff = 1;
		l.l_linger = 0;
		if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l,
		    sizeof(l)) == -1)
			warn("SO_LINGER");
	}
	close(c->fd);
	free(c->ebuf);

	/* Swap in the last entry; the caller walks the array backwards. */
	nconns--;
	if (i != nconns) {
		conns[i] = conns[nconns];
		pfds[i] = pfds[nconns];
	}
}

/* Returns -1 on error, 0 if output is still pending, 1 when flushed. */
static int
conn_flush(struct conn *c)
{
	const uint8_t *buf;
	ssize_t n;

	/* Echo data lives in ebuf; canned replies in msg. */
	buf = c->phase == PH_FLUSH ? c->msg : c->ebuf;
	while (c->len > 0) {
		n = write(c->fd, buf + c->off, c->len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->off += n;
		c->len -= n;
	}
	c->off = 0;
	return 1;
}

static void
conn_message(struct conn *c, int linger, const char *fmt, ...)
    __attribute__((__format__(printf, 3, 4)));

static void
conn_message(struct conn *c, int linger, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->msg))
		errx(TP_EXIT_FAIL, "message too long");
	c->off = 0;
	c->len = n;
	c->linger = linger;
	c->phase = PH_FLUSH;
}

/* Returns bytes read, 0 on EOF, -1 on error, -2 on EAGAIN. */
static ssize_t
conn_read(struct conn *c, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(c->fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return -2;
	if (n == -1)	/* tests look for resets here */
		fprintf(stderr, "tp-server: read: %s\n", strerror(errno));
	return n;
}

/* Sent everything we are going to: FIN now, close once the peer is done. */
static int
conn_finish(struct conn *c)
{
	if (shutdown(c->fd, SHUT_WR) == -1)
		return -1;
	if (c->rdeof)
		return -1;	/* nothing left to wait for: close */
	c->phase = PH_DRAIN;
	return 0;
}

/* echofin: FIN once the first -n bytes are all echoed. */
static int
echofin_shut(struct conn *c)
{
	if (c->wshut || c->len > 0 || c->count < nbytes)
		return 0;
	c->wshut = 1;
	return shutdown(c->fd, SHUT_WR);
}

/*
 * Advance one connection.  Returns 0 to keep it, -1 to close it, and
 * -2 to close it with a RST.
 */
static int
conn_io(struct conn *c, short revents)
{
	ssize_t n;
	size_t want;
	int r;

	if (c->phase == PH_DRAIN) {
		if ((n = conn_read(c, scratch, sizeof(scratch))) == -2)
			return 0;
		return n > 0 ? 0 : -1;
	}
	if (c->phase == PH_FLUSH) {
		if ((r = conn_flush(c)) <= 0)
			return r;
		if (c->linger)
			return conn_finish(c);
		return -1;
	}

	switch (mode) {
	case M_ECHO:
	case M_BANNER:
		if (c->len > 0) {
			if ((r = conn_flush(c)) <= 0)
				return r;
		} else if (!c->rdeof) {
			n = conn_read(c, c->ebuf, ECHO_BUFSZ);
			if (n == -2)
				return 0;
			if (n == -1)
				return -1;
			if (n == 0)
				c->rdeof = 1;
			c->len = n;
			c->off = 0;
			if (n > 0 && conn_flush(c) == -1)
				return -1;
		}
		if (c->rdeof && c->len == 0) {
			/* Everything echoed; the peer is done sending. */
			shutdown(c->fd, SHUT_WR);
			return -1;
		}
		return 0;

	case M_ECHOFIN:
		/* After our FIN the peer may go on: all it sends is counted. */
		if (c->len > 0 && (r = conn_flush(c)) <= 0)
			return r;
		if (echofin_shut(c) == -1)
			return -1;
		if (c->wshut)
			n = conn_read(c, scratch, sizeof(scratch));
		else {
			/* Never more than -n: the rest is not echoed. */
			want = nbytes - c->count;
			if (want > ECHO_BUFSZ)
				want = ECHO_BUFSZ;
			n = conn_read(c, c->ebuf, want);
		}
		if (n == -2)
			return 0;
		if (n == -1)
			return -1;
		if (n > 0) {
			c->hash = tp_fnv1a(c->hash, c->wshut ? scratch :
			    c->ebuf, n);
			c->count += n;
			if (!c->wshut) {
				c->len = n;
				c->off = 0;
				if (conn_flush(c) == -1 ||
				    echofin_shut(c) == -1)
					return -1;
			}
			return 0;
		}
		/* EOF: reads wait for the echo's flush, so none is pending. */
		c->rdeof = 1;
		if (!c->wshut)
			shutdown(c->fd, SHUT_WR);
		fprintf(stderr, "tp-server: echofin %" PRIu64 " %016" PRIx64
		    "\n", c->count, c->hash);
		return -1;

	case M_REPLY:
	case M_SINK:
		n = conn_read(c, scratch, sizeof(scratch));
		if (n == -2)
			return 0;
		if (n == -1)
			return -1;
		if (n > 0) {
			c->count += n;
			if (mode == M_SINK)
				c->hash = tp_fnv1a(c->hash, scratch, n);
			return 0;
		}
		c->rdeof = 1;
		if (mode == M_REPLY)
			conn_message(c, 0, "REPLY:%" PRIu64 "\n", c->count);
		else
			conn_message(c, 0, "%" PRIu64 " %016" PRIx64 "\n",
			    c->count, c->hash);
		return conn_io(c, POLLOUT);

	case M_BLOB:
		/* Input is drained so a close never resets the stream. */
		if (!c->rdeof && (revents & (POLLIN | POLLHUP | POLLERR))) {
			n = conn_read(c, scratch, sizeof(scratch));
			if (n == -1)
				return -1;
			if (n == 0)
				c->rdeof = 1;
		}
		while (c->sent < nbytes) {
			/*
			 * Slow readers take a few KB per wakeup: keep one
			 * chunk of pattern around instead of redoing it.
			 */
			if (c->sent < pat_off ||
			    c->sent >= pat_off + sizeof(pat)) {
				pat_off = c->sent;
				tp_pattern_fill(pat, sizeof(pat), pat_off);
			}
			want = pat_off + sizeof(pat) - c->sent;
			if (want > nbytes - c->sent)
				want = nbytes - c->sent;
			n = write(c->fd, pat + (c->sent - pat_off), want);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN)
					return 0;
				return -1;
			}
			c->sent += n;
		}
		return conn_finish(c);

	case M_RESET:
		while (c->count < nbytes) {
			want = nbytes - c->count;
			if (want > sizeof(scratch))
				want = sizeof(scratch);
			n = conn_read(c, scratch, want);
			if (n == -2)
				return 0;
			if (n <= 0)
				break;
			c->count += n;
		}
		return -2;

	case M_HANG:
	case M_BLACKHOLE:	/* never accepts: no connections */
		/* Never touch the socket; only give it up once it is dead. */
		if (revents & (POLLERR | POLLHUP | POLLNVAL))
			return -1;
		return 0;

	case M_PEER:
		break;
	}
	return -1;
}

static short
conn_events(const struct conn *c)
{
	switch (c->phase) {
	case PH_DRAIN:
		return POLLIN;
	case PH_FLUSH:
		return POLLOUT;
	case PH_RUN:
		break;
	}
	switch (mode) {
	case M_ECHO:
	case M_BANNER:
	case M_ECHOFIN:
		/* Flow control: no reading while echoed data is pending. */
		return c->len > 0 ? POLLOUT : POLLIN;
	case M_REPLY:
	case M_SINK:
	case M_RESET:
		return POLLIN;
	case M_BLOB:
		return POLLOUT | (c->rdeof ? 0 : POLLIN);
	case M_HANG:
	case M_BLACKHOLE:
	case M_PEER:
		break;
	}
	return 0;
}

static void
conn_new(int fd, struct sockaddr_storage *ss, socklen_t sslen)
{
	struct conn *c;
	char addr[NI_MAXHOST + NI_MAXSERV];
	int r;

	if (nconns == maxconns) {
		maxconns *= 2;
		pfds = reallocarray(pfds, maxconns, sizeof(*pfds));
		conns = reallocarray(conns, maxconns, sizeof(*conns));
		if (pfds == NULL || conns == NULL)
			err(TP_EXIT_FAIL, "reallocarray");
	}
	c = &conns[nconns];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->hash = TP_FNV_INIT;

	tp_fmt_addr((struct sockaddr *)ss, sslen, addr, sizeof(addr));
	fprintf(stderr, "tp-server: accepted %s\n", addr);

	switch (mode) {
	case M_ECHO:
	case M_BANNER:
	case M_ECHOFIN:
		if ((c->ebuf = malloc(ECHO_BUFSZ)) == NULL)
			err(TP_EXIT_FAIL, "malloc");
		if (mode == M_BANNER) {
			memcpy(c->ebuf, "HELLO\n", 6);
			c->len = 6;
		}
		break;
	case M_PEER:
		conn_message(c, 1, "%s\n", addr);
		break;
	default:
		break;
	}
	pfds[nconns].fd = fd;
	pfds[nconns].events = 0;
	pfds[nconns].revents = 0;
	nconns++;

	/*
	 * Start right away: banner, peer and reset do not wait for input,
	 * nor does the FIN of echofin -n 0.
	 */
	if (mode == M_RESET || mode == M_PEER || mode == M_BANNER ||
	    mode == M_BLOB || (mode == M_ECHOFIN && nbytes == 0)) {
		r = conn_io(c, POLLOUT);
		if (r < 0)
			conn_close(nconns - 1, r == -2);
		else
			pfds[nconns - 1].events = conn_events(c);
	} else
		pfds[nconns - 1].events = conn_events(c);
}

/* Returns 0 normally, -1 if accept ran out of descriptors. */
static int
accept_batch(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		fd = accept(lfd, (struct sockaddr *)&ss, &sslen);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
			case EINTR:
			case ECONNABORTED:
				return 0;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				warn("accept");
				return -1;
			default:
				err(TP_EXIT_FAIL, "accept");
			}
		}
		tp_nonblock(fd);
		conn_new(fd, &ss, sslen);
	}
	return 0;
}

static void
write_portfile(const char *path, int port)
{
	char tmp[PATH_MAX];
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		errx(TP_EXIT_FAIL, "%s: path too long", path);
	if ((fp = fopen(tmp, "w")) == NULL)
		err(TP_EXIT_FAIL, "%s", tmp);
	fprintf(fp, "%d\n", port);
	if (fclose(fp) == EOF)
		err(TP_EXIT_FAIL, "%s", tmp);
	if (rename(tmp, path) == -1)
		err(TP_EXIT_FAIL, "rename %s", path);
}

static int
listen_on(const char *addr, const char *port, int *bound)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, on = 1;

	if (tp_sockaddr(addr, port, 1, &ss, &sslen) == -1)
		exit(TP_EXIT_USAGE);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		err(TP_EXIT_FAIL, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		err(TP_EXIT_FAIL, "SO_REUSEADDR");
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		err(TP_EXIT_FAIL, "IPV6_V6ONLY");
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		err(TP_EXIT_FAIL, "bind %s port %s", addr, port);
	/* blackhole: the smallest queue, never accepted from. */
	if (listen(fd, mode == M_BLACKHOLE ? 0 : 4096) == -1)
		err(TP_EXIT_FAIL, "listen");
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		err(TP_EXIT_FAIL, "getsockname");
	if (ss.ss_family == AF_INET6)
		*bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int
main(int argc, char *argv[])
{
	const char *addr = "127.0.0.1", *port = "0", *portfile = NULL;
	const char *mname = NULL;
	unsigned int timeout = 300;
	int ch, lfd, bound, nset = 0, r;
	uint64_t paused_until = 0;
	size_t i;

	while ((ch = getopt(argc, argv, "l:m:n:p:P:T:")) != -1) {
		switch (ch) {
		case 'l':
			addr = optarg;
			break;
		case 'm':
			mname = optarg;
			break;
		case 'n':
			nbytes = tp_num(optarg, 0, LLONG_MAX, "bytes");
			nset = 1;
			break;
		case 'p':
			tp_num(optarg, 0, 65535, "port");
			port = optarg;
			break;
		case 'P':
			portfile = optarg;
			break;
		case 'T':
			timeout = tp_num(optarg, 1, 86400, "timeout");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || mname == NULL)
		usage();
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mname, modes[i].name) == 0)
			break;
	if (i == sizeof(modes) / sizeof(modes[0]))
		usage();
	mode = modes[i].mode;
	if (!nset)
		nbytes = mode == M_BLOB ? 1000000 : 0;

	tp_set_timeout(timeout, NULL);
	tp_ignore_sigpipe();
	tp_raise_nofile();
	setvbuf(stderr, NULL, _IOLBF, 0);

	maxconns = 1024;
	if ((pfds = calloc(maxconns, sizeof(*pfds))) == NULL ||
	    (conns = calloc(maxconns, sizeof(*conns))) == NULL)
		err(TP_EXIT_FAIL, "calloc");

	lfd = listen_on(addr, port, &bound);
	pfds[0].fd = lfd;
	pfds[0].events = POLLIN;
	conns[0].fd = lfd;
	nconns = 1;
	if (portfile != NULL)
		write_portfile(portfile, bound);
	if (mode == M_BLACKHOLE) {
		/*
		 * Fill the queue ourselves: later SYNs are dropped, so a
		 * connect to us hangs as if the host had vanished.
		 */
		struct sockaddr_storage css;
		socklen_t csslen;
		char pbuf[16];
		int cfd;

		snprintf(pbuf, sizeof(pbuf), "%d", bound);
		if (tp_sockaddr(addr, pbuf, 0, &css, &csslen) == -1 ||
		    (cfd = socket(css.ss_family, SOCK_STREAM, 0)) == -1 ||
		    connect(cfd, (struct sockaddr *)&css, csslen) == -1)
			err(TP_EXIT_FAIL, "blackhole: filling the queue");
		for (;;)
			pause();
	}

	for (;;) {
		int tmo = -1;

		if (paused_until != 0) {
			uint64_t now = tp_now_ms();

			if (now >= paused_until) {
				paused_until = 0;
				pfds[0].fd = lfd;
			} else
				tmo = (int)(paused_until - now);
		}
		if (poll(pfds, nconns, tmo) == -1) {
			if (errno == EINTR)
				continue;
			err(TP_EXIT_FAIL, "poll");
		}

		/* Backwards, so conn_close() can swap in the last entry. */
		for (i = nconns - 1; i >= 1; i--) {
			short rev = pfds[i].revents;

			if (rev == 0)
				continue;
			pfds[i].revents = 0;
			r = conn_io(&conns[i], rev);
			if (r == 0 && (rev & POLLNVAL))
				r = -1;
			if (r < 0)
				conn_close(i, r == -2);
			else
				pfds[i].events = conn_events(&conns[i]);
		}

		if (pfds[0].revents & POLLIN) {
			pfds[0].revents = 0;
			if (accept_batch(lfd) == -1) {
				/* Out of fds: back off instead of spinning. */
				pfds[0].fd = -1;
				paused_until = tp_now_ms() + 100;
			}
		}
	}
}
