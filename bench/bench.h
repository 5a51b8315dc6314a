/*
 * What the benchmark tools share: exit codes, the backend's counter
 * file and a few small helpers.  Each tool is one .c file that includes
 * this; everything here is static inline.
 */

#ifndef BENCH_H
#define BENCH_H

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_EXIT_OK		0
#define BENCH_EXIT_FAIL		1
#define BENCH_EXIT_TIMEOUT	2
#define BENCH_EXIT_USAGE	64

#define ECHOD_STATS_MAGIC	0x7470656368640001ULL

/* tp-echod's counters, in a file both sides mmap; updated atomically. */
struct echod_stats {
	uint64_t	magic;
	uint64_t	accepted;	/* connections accepted, ever */
	uint64_t	open;		/* connections open now */
	uint64_t	bytes;		/* bytes read */
};

static inline long long
bench_num(const char *s, long long min, long long max, const char *what)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		errx(BENCH_EXIT_USAGE, "%s %s: %s", what, errstr, s);
	return (v);
}

static inline void
bench_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(BENCH_EXIT_FAIL, "getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			warn("setrlimit");
	}
}

static inline rlim_t
bench_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(BENCH_EXIT_FAIL, "getrlimit");
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20))
		return (1 << 20);
	return (rl.rlim_cur);
}

/* Numeric host and port only: nothing here resolves names. */
static inline int
bench_sockaddr(const char *host, const char *port,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo	 hints, *res;
	int		 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		warnx("%s port %s: %s", host, port, gai_strerror(error));
		return (-1);
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

/* Monotonic time in nanoseconds. */
static inline uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

#endif /* BENCH_H */
