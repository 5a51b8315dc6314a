/*
 * tp-client: one TCP connection that sends and/or checks a byte stream.
 *
 *	send	send -n pattern bytes, FIN, copy the answer to stdout
 *	echo	send -n pattern bytes, expect them back; "ok <n>"
 *	read	read to EOF; "<count> <fnv1a-hex>"
 *	verify	read to EOF, expect -n pattern bytes; "ok <n>"
 *	slowverify  verify with SO_RCVBUF 4096, -b bytes per read, -d usec
 *		between reads
 *	line	read to EOF, copy it to stdout
 *	hold	wait for the peer to close: "closed" or "reset"
 *	connect	connect and exit (used to wait for a listener)
 *
 * The receiving modes send nothing and half-close at once, unless -k.
 * -H file: its bytes go first (a PROXY header, say), in the same write
 * as the start of the pattern when the mode sends one.
 * Sending and receiving run concurrently in one poll(2) loop, so large
 * transfers through an echoing peer can not deadlock on full buffers.
 * Exit: 0 ok, 1 mismatch or I/O error, 2 timeout, 3 connect failed.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

#define CHUNK	(64 * 1024)

enum mode {
	M_SEND,
	M_ECHO,
	M_READ,
	M_VERIFY,
	M_SLOWVERIFY,
	M_LINE,
	M_HOLD,
	M_CONNECT,
	M_RESET,
	M_FLOOD,
};

static const struct {
	const char	*name;
	enum mode	 mode;
} modes[] = {
	{ "send",	M_SEND },
	{ "echo",	M_ECHO },
	{ "read",	M_READ },
	{ "verify",	M_VERIFY },
	{ "slowverify",	M_SLOWVERIFY },
	{ "line",	M_LINE },
	{ "hold",	M_HOLD },
	{ "connect",	M_CONNECT },
	{ "reset",	M_RESET },
	{ "flood",	M_FLOOD },
};

/* Progress, also reported by the SIGALRM handler. */
static volatile uint64_t	 nsent, nrecv;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-client [-k] [-m mode] [-n bytes] "
	    "[-b bufsize] [-d usec] [-T seconds]\n"
	    "                 [-H prefixfile] [-s srcaddr] host port\n"
	    "modes: send echo read verify slowverify line hold connect reset flood\n");
	exit(TP_EXIT_USAGE);
}

static void
timeout_hook(void)
{
	tp_wstr(" (sent ");
	tp_wnum(nsent);
	tp_wstr(", received ");
	tp_wnum(nrecv);
	tp_wstr(")");
}

static int
do_connect(const char *host, const char *port, const char *src, int rcvbuf)
{
	struct sockaddr_storage ss, sss;
	socklen_t sslen, ssslen;
	int fd;

	if (tp_sockaddr(host, port, 0, &ss, &sslen) == -1)
		exit(TP_EXIT_USAGE);
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		err(TP_EXIT_FAIL, "socket");
	/* Must precede connect(2) to shrink the advertised window. */
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		err(TP_EXIT_FAIL, "SO_RCVBUF");
	if (src != NULL) {
		if (tp_sockaddr(src, "0", 1, &sss, &ssslen) == -1)
			exit(TP_EXIT_USAGE);
		if (bind(fd, (struct sockaddr *)&sss, ssslen) == -1)
			err(TP_EXIT_CONNECT, "bind %s", src);
	}
	while (connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
		if (errno == EINTR)
			continue;
		err(TP_EXIT_CONNECT, "connect");
	}
	return fd;
}

/*
 * A peer that already reset the connection makes shutdown(2) fail with
 * ENOTCONN; the following read reports what really happened.
 */
static void
half_close(int fd)
{
	if (shutdown(fd, SHUT_WR) == -1 && errno != ENOTCONN)
		err(TP_EXIT_FAIL, "shutdown");
}

/* -H: the file's bytes, at most len of them. */
static size_t
load_prefix(const char *path, uint8_t *buf, size_t len)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		err(TP_EXIT_USAGE, "%s", path);
	n = fread(buf, 1, len, f);
	if (ferror(f) || !feof(f) || fgetc(f) != EOF)
		errx(TP_EXIT_USAGE, "%s: unreadable or longer than %zu bytes",
		    path, len - 1);
	fclose(f);
	return n;
}

/* Write the prefix and the pattern's first bytes in one call. */
static uint64_t
send_prefix(int fd, uint8_t *buf, size_t buflen, const uint8_t *prefix,
    size_t plen, uint64_t nbytes)
{
	size_t first = nbytes < buflen - plen ? nbytes : buflen - plen;
	size_t off = 0;
	ssize_t n;

	memcpy(buf, prefix, plen);
	tp_pattern_fill(buf + plen, first, 0);
	while (off < plen + first) {
		if ((n = write(fd, buf + off, plen + first - off)) == -1) {
			if (errno == EINTR)
				continue;
			err(TP_EXIT_FAIL, "write");
		}
		off += (size_t)n;
	}
	return first;
}

/* hold: wait for the peer to go away and say how it went. */
static int
do_hold(int fd)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			nrecv += n;
			continue;
		}
		if (n == 0) {
			printf("closed\n");
			return TP_EXIT_OK;
		}
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET) {
			printf("reset\n");
			return TP_EXIT_OK;
		}
		warn("read");
		return TP_EXIT_FAIL;
	}
}

int
main(int argc, char *argv[])
{
	static uint8_t wbuf[CHUNK], rbuf[CHUNK], prefix[4096];
	const char *mname = "send", *src = NULL, *prefixfile = NULL;
	enum mode mode;
	uint64_t nbytes = 100000, hash = TP_FNV_INIT, woff = 0;
	unsigned int timeout = 30;
	size_t rdmax = 3000, i, bad, wlen = 0, wpos = 0, plen = 0;
	useconds_t delay = 500;
	struct pollfd pfd;
	int ch, fd, nset = 0, keep = 0, wshut = 0, rdeof = 0, verify, rcvbuf = 0;
	ssize_t n;

	while ((ch = getopt(argc, argv, "b:d:H:km:n:s:T:")) != -1) {
		switch (ch) {
		case 'b':
			rdmax = tp_num(optarg, 1, CHUNK, "bufsize");
			break;
		case 'd':
			delay = tp_num(optarg, 0, 10000000, "delay");
			break;
		case 'H':
			prefixfile = optarg;
			break;
		case 'k':
			keep = 1;
			break;
		case 'm':
			mname = optarg;
			break;
		case 'n':
			nbytes = tp_num(optarg, 0, LLONG_MAX, "bytes");
			nset = 1;
			break;
		case 's':
			src = optarg;
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
	if (argc != 2)
		usage();
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mname, modes[i].name) == 0)
			break;
	if (i == sizeof(modes) / sizeof(modes[0]))
		usage();
	mode = modes[i].mode;
	if (prefixfile != NULL)
		plen = load_prefix(prefixfile, prefix, sizeof(prefix));

	tp_set_timeout(timeout, timeout_hook);
	tp_ignore_sigpipe();

	if (mode == M_SLOWVERIFY)
		rcvbuf = 4096;
	else
		rdmax = sizeof(rbuf);
	fd = do_connect(argv[0], argv[1], src, rcvbuf);
	if (mode == M_CONNECT)
		return TP_EXIT_OK;
	if (prefixfile != NULL)
		nsent = woff = send_prefix(fd, wbuf, sizeof(wbuf), prefix, plen,
		    mode == M_SEND || mode == M_ECHO || (mode == M_HOLD &&
		    nset) ? nbytes : 0);
	if (mode == M_HOLD) {
		/* With -n, say something first: the peer may wait for it. */
		for (; nset && woff < nbytes; woff += (size_t)n) {
			wlen = nbytes - woff > sizeof(wbuf) ? sizeof(wbuf) :
			    nbytes - woff;
			tp_pattern_fill(wbuf, wlen, woff);
			if ((n = write(fd, wbuf, wlen)) == -1)
				err(TP_EXIT_FAIL, "write");
		}
		return do_hold(fd);
	}
	if (mode == M_FLOOD) {
		/*
		 * Write -n bytes, or until the peer stops taking them for a
		 * second, and never read: a client that does not read.
		 */
		struct pollfd wp = { fd, POLLOUT, 0 };

		tp_nonblock(fd);
		for (woff = 0; woff < nbytes; ) {
			if (poll(&wp, 1, 1000) == 0)
				break;
			wlen = nbytes - woff > sizeof(wbuf) ? sizeof(wbuf) :
			    nbytes - woff;
			tp_pattern_fill(wbuf, wlen, woff);
			if ((n = write(fd, wbuf, wlen)) == -1) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				err(TP_EXIT_FAIL, "write");
			}
			woff += (size_t)n;
		}
		printf("sent %" PRIu64 "\n", woff);
		return TP_EXIT_OK;
	}
	if (mode == M_RESET) {
		/* Wait -d usec, then abort the connection with a RST. */
		struct linger lin = { 1, 0 };

		usleep(delay);
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin,
		    sizeof(lin)) == -1)
			err(TP_EXIT_FAIL, "SO_LINGER");
		close(fd);
		return TP_EXIT_OK;
	}

	/* Only send and echo transmit; the others half-close unless -k. */
	verify = mode == M_ECHO || mode == M_VERIFY || mode == M_SLOWVERIFY;
	if (mode != M_SEND && mode != M_ECHO) {
		if (!keep)
			half_close(fd);
		wshut = 1;
	}
	tp_nonblock(fd);

	pfd.fd = fd;
	while (!rdeof || !wshut) {
		if (!wshut && woff == nbytes) {
			half_close(fd);
			wshut = 1;
			continue;
		}
		pfd.events = (rdeof ? 0 : POLLIN) | (wshut ? 0 : POLLOUT);
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(TP_EXIT_FAIL, "poll");
		}

		if (!wshut && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (wpos == wlen) {
				/* Refill with the pattern at the send offset. */
				wlen = nbytes - woff;
				if (wlen > sizeof(wbuf))
					wlen = sizeof(wbuf);
				tp_pattern_fill(wbuf, wlen, woff);
				wpos = 0;
			}
			n = write(fd, wbuf + wpos, wlen - wpos);
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				errx(TP_EXIT_FAIL, "write: %s (after %" PRIu64
				    " bytes)", strerror(errno), woff);
			if (n > 0) {
				wpos += n;
				woff += n;
				nsent = woff;
			}
		}

		if (rdeof || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, rbuf, rdmax);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			errx(TP_EXIT_FAIL, "read: %s (after %" PRIu64 " bytes)",
			    strerror(errno), (uint64_t)nrecv);
		}
		if (n == 0) {
			rdeof = 1;
			continue;
		}
		if (verify) {
			bad = tp_pattern_check(rbuf, n, nrecv);
			if (bad < (size_t)n || nrecv + n > nbytes) {
				if (nrecv + bad > nbytes)
					bad = nbytes - nrecv;
				printf("mismatch at byte %" PRIu64 "\n",
				    nrecv + bad);
				return TP_EXIT_FAIL;
			}
		} else if (mode == M_READ)
			hash = tp_fnv1a(hash, rbuf, n);
		else if (fwrite(rbuf, 1, n, stdout) != (size_t)n)
			err(TP_EXIT_FAIL, "stdout");
		nrecv += n;
		if (mode == M_SLOWVERIFY && delay > 0)
			usleep(delay);
	}

	if (verify) {
		if (nrecv != nbytes) {
			printf("short: got %" PRIu64 " of %" PRIu64 "\n",
			    (uint64_t)nrecv, nbytes);
			return TP_EXIT_FAIL;
		}
		printf("ok %" PRIu64 "\n", (uint64_t)nrecv);
	} else if (mode == M_READ)
		printf("%" PRIu64 " %016" PRIx64 "\n", (uint64_t)nrecv, hash);
	if (fflush(stdout) == EOF)
		err(TP_EXIT_FAIL, "stdout");
	close(fd);
	return TP_EXIT_OK;
}
