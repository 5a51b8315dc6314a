/*
 * Small helpers shared by the tcpproxy test tools.  Every tool is built
 * from a single .c file, so everything here is static inline and state
 * lives in function-local statics.
 */

#ifndef TP_COMMON_H
#define TP_COMMON_H

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Exit codes common to all tools. */
#define TP_EXIT_OK	0
#define TP_EXIT_FAIL	1	/* data mismatch or I/O failure */
#define TP_EXIT_TIMEOUT	2	/* -T expired */
#define TP_EXIT_CONNECT	3	/* connect(2) failed */
#define TP_EXIT_USAGE	64

/*
 * Deterministic test pattern: the top byte of the splitmix64 mix of the
 * offset.  A plain multiplicative hash is not enough: its top byte nearly
 * repeats at Fibonacci distances (10946, 28657, ...), which would hide a
 * proxy that skips or repeats such a stretch.
 */
static inline uint8_t
tp_pattern(uint64_t i)
{
	uint64_t z;

	z = i * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint8_t)((z ^ (z >> 31)) >> 56);
}

static inline void
tp_pattern_fill(uint8_t *buf, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = tp_pattern(off + i);
}

/* Index of the first byte that differs from the pattern, or len. */
static inline size_t
tp_pattern_check(const uint8_t *buf, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != tp_pattern(off + i))
			break;
	return i;
}

#define TP_FNV_INIT	0xcbf29ce484222325ULL
#define TP_FNV_PRIME	0x100000001b3ULL

static inline uint64_t
tp_fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= TP_FNV_PRIME;
	}
	return h;
}

/* Parse a number or exit with a usage-style error. */
static inline long long
tp_num(const char *s, long long min, long long max, const char *what)
{
	const char *errstr;
	long long v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		errx(TP_EXIT_USAGE, "%s %s: %s", what, errstr, s);
	return v;
}

/*
 * Timeout handling.  SIGALRM is the hard bound: the handler prints one
 * line to stderr (built only from async-signal-safe pieces) and exits 2.
 * A tool may register a hook to append its progress to that line.
 */
struct tp_state {
	unsigned int	  timeout;
	void		(*hook)(void);
};

static inline struct tp_state *
tp_state(void)
{
	static struct tp_state st;

	return &st;
}

static inline void
tp_wstr(const char *s)
{
	ssize_t r;

	r = write(STDERR_FILENO, s, strlen(s));
	(void)r;
}

static inline void
tp_wnum(unsigned long long v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '\0';
	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	tp_wstr(p);
}

static inline void
tp_alarm_handler(int sig)
{
	struct tp_state *st = tp_state();

	(void)sig;
	tp_wstr(getprogname());
	tp_wstr(": timeout after ");
	tp_wnum(st->timeout);
	tp_wstr(" seconds");
	if (st->hook != NULL)
		st->hook();
	tp_wstr("\n");
	_exit(TP_EXIT_TIMEOUT);
}

static inline void
tp_set_timeout(unsigned int seconds, void (*hook)(void))
{
	struct tp_state *st = tp_state();
	struct sigaction sa;

	st->timeout = seconds;
	st->hook = hook;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tp_alarm_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		err(TP_EXIT_FAIL, "sigaction");
	alarm(seconds);
}

/* Peer closes must show up as EPIPE, not kill the tool. */
static inline void
tp_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

static inline void
tp_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(TP_EXIT_FAIL, "getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			warn("setrlimit");
	}
}

static inline rlim_t
tp_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(TP_EXIT_FAIL, "getrlimit");
	return rl.rlim_cur;
}

static inline void
tp_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		err(TP_EXIT_FAIL, "fcntl O_NONBLOCK");
}

/* Numeric address and port only: the tools never resolve names. */
static inline int
tp_sockaddr(const char *host, const char *port, int passive,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo hints, *res;
	int error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (passive)
		hints.ai_flags |= AI_PASSIVE;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		warnx("%s port %s: %s", host, port, gai_strerror(error));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* "addr port" with plain numeric notation, e.g. "::1 40000". */
static inline void
tp_fmt_addr(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "? ?");
	else
		snprintf(buf, len, "%s %s", host, serv);
}

static inline uint64_t
tp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif /* TP_COMMON_H */
