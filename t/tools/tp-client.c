/*
 * tp-client: one TCP connection that sends and/or checks a byte stream.
 *
 *	send	send -n pattern bytes, FIN, copy the answer to stdout
 *	echo	send -n pattern bytes, expect them back; "ok <n>"
 *	sendfin	send -n pattern bytes, read to the peer's EOF and keep sending
 *		after it, FIN; "sent <n> got <count>"; what came back must
 *		be the pattern's start (an echo of the first bytes)
 *	stall	after the -c rounds, write the rest of -n as fast as it is
 *		taken and never read, until -n or -d ms (2000) without
 *		progress; "sent <count>", then a RST
 *	read	read to EOF; "<count> <fnv1a-hex>"
 *	verify	read to EOF, expect -n pattern bytes; "ok <n>"
 *	slowverify  verify with SO_RCVBUF 4096, -b bytes per read, -d usec
 *		between reads
 *	line	read to EOF, copy it to stdout
 *	hold	wait for the peer to close: "closed" or "reset"
 *	connect	connect and exit (used to wait for a listener)
 *	pattern	no connection: "<n> <fnv1a-hex>" of the first -n pattern bytes
 *
 * -c rounds (echo, sendfin, stall): first that many ping-pong rounds of
 * one -b byte message (200 unless -b), each echo read and checked
 * before the next goes out, for a peer that must see a run of small
 * separate reads.  They count toward -n; in echo and sendfin, later
 * writes are at most -b bytes too (-c 0: only that).  A peer's EOF
 * ends the rounds in sendfin only.
 * -i usec: pause between writes.  -r usec: slow reader; SO_RCVBUF 4096,
 * reads of at most 4096 bytes, usec apart.  Both act in the transfer
 * loop (send, echo, sendfin, read, verify, line).
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
#include <time.h>
#include <unistd.h>

#include "tp-common.h"

#define CHUNK	(64 * 1024)
#define ROUNDMSG	200	/* -c message size unless -b */
#define STALL_MS	2000	/* stall: -d unless given */

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
	M_SENDFIN,
	M_STALL,
	M_PATTERN,
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
	{ "sendfin",	M_SENDFIN },
	{ "stall",	M_STALL },
	{ "pattern",	M_PATTERN },
};

/* Progress, also reported by the SIGALRM handler. */
static volatile uint64_t	 nsent, nrecv;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-client [-k] [-m mode] [-n bytes] "
	    "[-a ahead] [-b bufsize] [-c rounds]\n"
	    "                 [-d delay] [-i usec] [-r usec] [-T seconds] "
	    "[-H prefixfile] [-s srcaddr]\n"
	    "                 host port\n"
	    "       tp-client -m pattern [-n bytes]\n"
	    "modes: send echo sendfin read verify slowverify line hold "
	    "connect reset\n"
	    "       flood stall pattern\n");
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

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * -c: one message per round, and its echo read back in full before the
 * next one goes out.  The first message may already be out with the -H
 * prefix.  Returns 1 if the peer's EOF ended the rounds (only allowed
 * with eofok), else 0; exits on a short or wrong echo.
 */
static int
do_rounds(int fd, uint8_t *wbuf, uint8_t *rbuf, size_t rounds,
    size_t msglen, uint64_t nbytes, uint64_t *woff, int eofok)
{
	uint64_t end;
	size_t r, len, off, bad;
	ssize_t n;

	for (r = 0; r < rounds && nrecv < nbytes; r++) {
		end = nbytes - nrecv < msglen ? nbytes : nrecv + msglen;
		if (*woff < end) {
			len = end - *woff;
			tp_pattern_fill(wbuf, len, *woff);
			for (off = 0; off < len; off += (size_t)n) {
				n = write(fd, wbuf + off, len - off);
				if (n == -1 && errno == EINTR)
					n = 0;
				else if (n == -1)
					errx(TP_EXIT_FAIL, "write: %s (after %"
					    PRIu64 " bytes)", strerror(errno),
					    *woff + off);
			}
			nsent = *woff = end;
		}
		while (nrecv < end) {
			n = read(fd, rbuf, end - nrecv);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				errx(TP_EXIT_FAIL, "read: %s (after %" PRIu64
				    " bytes)", strerror(errno),
				    (uint64_t)nrecv);
			}
			if (n == 0) {
				if (eofok)
					return 1;
				printf("short: got %" PRIu64 " of %" PRIu64
				    " (round %zu)\n", (uint64_t)nrecv, nbytes,
				    r + 1);
				exit(TP_EXIT_FAIL);
			}
			bad = tp_pattern_check(rbuf, n, nrecv);
			if (bad < (size_t)n) {
				printf("mismatch at byte %" PRIu64 "\n",
				    nrecv + bad);
				exit(TP_EXIT_FAIL);
			}
			nrecv += n;
		}
	}
	return 0;
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
	uint64_t now = 0, wnext = 0, rnext = 0, wait;
	unsigned int timeout = 30;
	size_t rdmax = 3000, i, bad, wlen = 0, wpos = 0, plen = 0;
	size_t rounds = 0, msglen = sizeof(wbuf), ahead = 0;
	useconds_t delay = 500, wgap = 0, rgap = 0;
	struct pollfd pfd;
	struct timespec ts;
	int ch, fd, nset = 0, keep = 0, wshut = 0, rdeof = 0, verify, rcvbuf = 0;
	int bset = 0, cset = 0, dset = 0, rset = 0, wready, rready, wfull;
	ssize_t n;

	while ((ch = getopt(argc, argv, "a:b:c:d:H:i:km:n:r:s:T:")) != -1) {
		switch (ch) {
		case 'a':
			ahead = tp_num(optarg, 1, LLONG_MAX, "ahead");
			break;
		case 'b':
			rdmax = tp_num(optarg, 1, CHUNK, "bufsize");
			bset = 1;
			break;
		case 'c':
			rounds = tp_num(optarg, 0, 1000000, "rounds");
			cset = 1;
			break;
		case 'd':
			delay = tp_num(optarg, 0, 10000000, "delay");
			dset = 1;
			break;
		case 'H':
			prefixfile = optarg;
			break;
		case 'i':
			wgap = tp_num(optarg, 0, 10000000, "interval");
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
		case 'r':
			rgap = tp_num(optarg, 0, 10000000, "read delay");
			rset = 1;
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
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mname, modes[i].name) == 0)
			break;
	if (i == sizeof(modes) / sizeof(modes[0]))
		usage();
	mode = modes[i].mode;
	if (argc != (mode == M_PATTERN ? 0 : 2))
		usage();
	if (cset && mode != M_ECHO && mode != M_SENDFIN && mode != M_STALL)
		errx(TP_EXIT_USAGE, "-c: only with echo, sendfin or stall");
	if (ahead > 0 && mode != M_ECHO)
		errx(TP_EXIT_USAGE, "-a: only with echo");
	if (cset)
		msglen = bset ? rdmax : ROUNDMSG;
	if (mode == M_STALL && !dset)
		delay = STALL_MS;
	if (prefixfile != NULL)
		plen = load_prefix(prefixfile, prefix, sizeof(prefix));

	tp_set_timeout(timeout, timeout_hook);
	tp_ignore_sigpipe();

	if (mode == M_PATTERN) {
		/* What a sink of the first -n bytes should have seen. */
		for (woff = 0; woff < nbytes; woff += wlen) {
			wlen = nbytes - woff > sizeof(wbuf) ? sizeof(wbuf) :
			    nbytes - woff;
			tp_pattern_fill(wbuf, wlen, woff);
			hash = tp_fnv1a(hash, wbuf, wlen);
		}
		printf("%" PRIu64 " %016" PRIx64 "\n", nbytes, hash);
		if (fflush(stdout) == EOF)
			err(TP_EXIT_FAIL, "stdout");
		return TP_EXIT_OK;
	}

	if (mode == M_SLOWVERIFY) {
		rcvbuf = 4096;
		rgap = delay;
	} else
		rdmax = sizeof(rbuf);
	if (rset) {
		rcvbuf = 4096;
		if (mode != M_SLOWVERIFY)
			rdmax = 4096;
	}
	fd = do_connect(argv[0], argv[1], src, rcvbuf);
	if (mode == M_CONNECT)
		return TP_EXIT_OK;
	if (prefixfile != NULL)
		nsent = woff = send_prefix(fd, wbuf, sizeof(wbuf), prefix, plen,
		    mode == M_SEND || mode == M_ECHO || mode == M_SENDFIN ||
		    mode == M_STALL || (mode == M_HOLD && nset) ?
		    (cset && nbytes > msglen ? msglen : nbytes) : 0);
	if (rounds > 0)
		rdeof = do_rounds(fd, wbuf, rbuf, rounds, msglen, nbytes, &woff,
		    mode == M_SENDFIN);
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
	if (mode == M_FLOOD || mode == M_STALL) {
		/*
		 * Write -n bytes, or until the peer stops taking them for a
		 * second (stall: -d ms), and never read: a client that does
		 * not read.
		 */
		struct pollfd wp = { fd, POLLOUT, 0 };
		struct linger lin = { 1, 0 };

		tp_nonblock(fd);
		while (woff < nbytes) {
			if (poll(&wp, 1, mode == M_STALL ? (int)delay :
			    1000) == 0)
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
			nsent = woff;
		}
		printf("sent %" PRIu64 "\n", woff);
		if (mode == M_FLOOD)
			return TP_EXIT_OK;
		/* A RST: nothing of ours lingers for the next test. */
		if (fflush(stdout) == EOF)
			err(TP_EXIT_FAIL, "stdout");
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin,
		    sizeof(lin)) == -1)
			err(TP_EXIT_FAIL, "SO_LINGER");
		close(fd);
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

	/*
	 * Only send, echo and sendfin transmit; the others half-close
	 * unless -k.
	 */
	verify = mode == M_ECHO || mode == M_SENDFIN || mode == M_VERIFY ||
	    mode == M_SLOWVERIFY;
	if (mode != M_SEND && mode != M_ECHO && mode != M_SENDFIN) {
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
		/*
		 * -i and -r: a side still in its pause is left out of the
		 * poll, which then sleeps no longer than the first pause.
		 */
		if (wgap > 0 || rgap > 0)
			now = now_us();
		/* -a: a full window waits for reads, not for a clock. */
		wfull = ahead > 0 && woff - nrecv >= ahead;
		wready = !wshut && !wfull && now >= wnext;
		rready = !rdeof && now >= rnext;
		wait = UINT64_MAX;
		if (!wshut && !wfull && !wready)
			wait = wnext - now;
		if (!rdeof && !rready && rnext - now < wait)
			wait = rnext - now;
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = wait % 1000000 * 1000;
		pfd.fd = wready || rready ? fd : -1;
		pfd.events = (rready ? POLLIN : 0) | (wready ? POLLOUT : 0);
		pfd.revents = 0;
		if (ppoll(&pfd, 1, wait == UINT64_MAX ? NULL : &ts,
		    NULL) == -1) {
			if (errno == EINTR)
				continue;
			err(TP_EXIT_FAIL, "poll");
		}

		if (wready && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (wpos == wlen) {
				/*
				 * Refill with the pattern at the send offset;
				 * -c keeps to the rounds' message size.
				 */
				wlen = nbytes - woff;
				if (wlen > msglen)
					wlen = msglen;
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
				if (wgap > 0)
					wnext = now_us() + wgap;
			}
		}

		if (!rready || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
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
		if (rgap > 0)
			rnext = now_us() + rgap;
	}

	if (mode == M_SENDFIN)
		printf("sent %" PRIu64 " got %" PRIu64 "\n", woff,
		    (uint64_t)nrecv);
	else if (verify) {
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
