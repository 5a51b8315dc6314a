/*
 * tp-bench: the benchmark load generator.
 *
 *   rate  short connections: connect, send a request, read as many bytes
 *         back, close; -c of them in flight for -d seconds (or until -n
 *         have completed), over -t threads.  Reports connections/s.
 *         -F: the request goes in the SYN (TCP Fast Open, once the
 *         server has given this host a cookie), to weigh what Fast Open
 *         would save a proxy on its connection to the remote.
 *   rtt   one connection, -s bytes ping-pong, -n round trips after -W
 *         warm-up ones.  Reports p50, p99 (and more) in microseconds.
 *   idle  open -c connections (-i connects in flight), hold them until
 *         SIGUSR1 or -H seconds, then each passes one byte and expects
 *         it back.  With -S (tp-echod's counter file) the connections
 *         count as open only once the backend has accepted them all, so
 *         the open time covers the whole path through a proxy.
 *   syscall  -n cheap system calls (getppid) in a row: what entering the
 *         kernel costs here, the most that batching calls (io_uring)
 *         could save per call.
 *
 * Every mode prints one line of key=value pairs on stdout and ends it
 * with the generator's own CPU time (getrusage), so a run can show that
 * the generator was not the bottleneck.  -T bounds the whole run.
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_THREADS	16
#define MAX_SIZE	(64 * 1024)
#define EVENTS		256
#define ERR_MAX		128
#define STALL_NS	(5 * 1000000000ULL)	/* idle: no progress, give up */

static struct sockaddr_storage	 dst;
static socklen_t		 dstlen;
static uint64_t			 start_ns;
static unsigned int		 timeout_s = 120;

static void __dead2
usage(void)
{
	fprintf(stderr,
	    "usage: tp-bench rate [-F] [-c inflight] [-d seconds] [-n conns] "
	    "[-s size] [-t threads]\n"
	    "                     [-T timeout] host port\n"
	    "       tp-bench rtt [-n rounds] [-s size] [-W warmup] "
	    "[-T timeout] host port\n"
	    "       tp-bench idle [-c conns] [-H hold] [-i inflight] "
	    "[-O seconds] [-P seconds] [-S statfile]\n"
	    "                     [-T timeout] host port\n"
	    "       tp-bench syscall [-n calls]\n");
	exit(BENCH_EXIT_USAGE);
}

/* The host and port after a workload's options: the global dst. */
static void
target_args(int argc, char **argv)
{
	if (argc - optind != 2)
		usage();
	if (bench_sockaddr(argv[optind], argv[optind + 1], &dst, &dstlen)
	    == -1)
		exit(BENCH_EXIT_USAGE);
}

static void
on_alarm(int sig)
{
	static const char	msg[] = "tp-bench: timeout\n";
	ssize_t			r;

	(void)sig;
	r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(BENCH_EXIT_TIMEOUT);
}

/* " cpu_user=.. cpu_sys=.. cpu_pct=..": our CPU against the wall clock. */
static void
print_cpu(void)
{
	struct rusage	ru;
	double		u, s, wall;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		err(BENCH_EXIT_FAIL, "getrusage");
	u = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	wall = (bench_now_ns() - start_ns) / 1e9;
	printf(" cpu_user=%.3f cpu_sys=%.3f wall=%.3f cpu_pct=%.1f\n", u, s,
	    wall, wall > 0 ? 100.0 * (u + s) / wall : 0.0);
	fflush(stdout);
}

static int
new_socket(void)
{
	int	fd;

	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	return (fd);
}

static void
ep_ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = data;
	if (epoll_ctl(ep, op, fd, &ev) == -1)
		err(BENCH_EXIT_FAIL, "epoll_ctl");
}

/*
 * rate
 */

enum rstate { R_FREE, R_CONNECTING, R_READING };

struct rslot {
	int		fd;
	enum rstate	state;
	size_t		got;
	uint64_t	not_before;	/* after an error: no busy loop */
};

struct rthread {
	pthread_t	 tid;
	size_t		 nslots;
	struct rslot	*slots;
	uint64_t	 done, errors;
	char		 errmsg[ERR_MAX];
};

static size_t		rate_size = 100;
static uint64_t		rate_limit;		/* 0: by duration only */
static uint64_t		rate_deadline_ns;
static uint64_t		rate_done_all;		/* atomic, with -n */
static unsigned char	rate_req[MAX_SIZE];
static int		rate_fastopen;		/* -F */

static void
rate_error(struct rthread *t, struct rslot *s, const char *what, int error)
{
	s->not_before = bench_now_ns() + 10000000ULL;
	if (t->errors++ == 0)
		snprintf(t->errmsg, sizeof(t->errmsg), "%s: %s", what,
		    strerror(error));
}

static void
rate_free(struct rslot *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->state = R_FREE;
}

static int
rate_send(struct rthread *t, struct rslot *s)
{
	ssize_t	n;

	n = send(s->fd, rate_req, rate_size, MSG_NOSIGNAL);
	if (n != (ssize_t)rate_size) {
		rate_error(t, s, "send", n == -1 ? errno : EMSGSIZE);
		return (-1);
	}
	s->state = R_READING;
	s->got = 0;
	return (0);
}

static int
rate_stopping(void)
{
	if (rate_limit > 0 && __atomic_load_n(&rate_done_all,
	    __ATOMIC_RELAXED) >= rate_limit)
		return (1);
	return (bench_now_ns() >= rate_deadline_ns);
}

static void
rate_start(struct rthread *t, int ep, size_t i)
{
	struct rslot	*s = &t->slots[i];
	ssize_t		 n;

	if ((s->fd = new_socket()) == -1) {
		rate_error(t, s, "socket", errno);
		s->state = R_FREE;
		return;
	}
	if (rate_fastopen) {
		/* The request rides in the SYN when there is a cookie. */
		n = sendto(s->fd, rate_req, rate_size, MSG_FASTOPEN |
		    MSG_NOSIGNAL, (struct sockaddr *)&dst, dstlen);
		if (n == (ssize_t)rate_size) {
			s->state = R_READING;
			s->got = 0;
			ep_ctl(ep, EPOLL_CTL_ADD, s->fd, EPOLLIN, i);
			return;
		}
		if (n >= 0) {
			rate_error(t, s, "sendto", EMSGSIZE);
			rate_free(s);
			return;
		}
		/* No cookie yet: a plain handshake, then the send. */
	} else if (connect(s->fd, (struct sockaddr *)&dst, dstlen) == 0) {
		if (rate_send(t, s) == -1) {
			rate_free(s);
			return;
		}
		ep_ctl(ep, EPOLL_CTL_ADD, s->fd, EPOLLIN, i);
		return;
	}
	if (errno != EINPROGRESS) {
		rate_error(t, s, "connect", errno);
		rate_free(s);
		return;
	}
	s->state = R_CONNECTING;
	ep_ctl(ep, EPOLL_CTL_ADD, s->fd, EPOLLOUT, i);
}

static void
rate_event(struct rthread *t, int ep, size_t i, uint32_t events)
{
	static __thread unsigned char	 buf[MAX_SIZE];
	struct rslot			*s = &t->slots[i];
	socklen_t			 len;
	ssize_t				 n;
	int				 error;

	if (s->state == R_CONNECTING) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			len = sizeof(error);
			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error,
			    &len) == -1 || error == 0)
				error = ECONNRESET;
			rate_error(t, s, "connect", error);
			rate_free(s);
			return;
		}
		if (rate_send(t, s) == -1) {
			rate_free(s);
			return;
		}
		ep_ctl(ep, EPOLL_CTL_MOD, s->fd, EPOLLIN, i);
		return;
	}
	n = recv(s->fd, buf, sizeof(buf), 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		rate_error(t, s, "recv", errno);
		rate_free(s);
		return;
	}
	if (n == 0) {
		rate_error(t, s, "recv", ECONNRESET);
		rate_free(s);
		return;
	}
	s->got += (size_t)n;
	if (s->got < rate_size)
		return;
	t->done++;
	if (rate_limit > 0)
		__atomic_fetch_add(&rate_done_all, 1, __ATOMIC_RELAXED);
	rate_free(s);
}

static void *
rate_thread(void *arg)
{
	struct rthread		*t = arg;
	struct epoll_event	 evs[EVENTS];
	uint64_t		 now;
	size_t			 i;
	int			 ep, n, k;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(BENCH_EXIT_FAIL, "epoll_create1");
	for (i = 0; i < t->nslots; i++) {
		t->slots[i].fd = -1;
		t->slots[i].state = R_FREE;
	}
	for (;;) {
		if (rate_stopping())
			break;
		now = bench_now_ns();
		for (i = 0; i < t->nslots; i++)
			if (t->slots[i].state == R_FREE &&
			    t->slots[i].not_before <= now)
				rate_start(t, ep, i);
		n = epoll_wait(ep, evs, EVENTS, 20);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(BENCH_EXIT_FAIL, "epoll_wait");
		}
		for (k = 0; k < n; k++)
			rate_event(t, ep, (size_t)evs[k].data.u64,
			    evs[k].events);
	}
	for (i = 0; i < t->nslots; i++)
		rate_free(&t->slots[i]);
	close(ep);
	return (NULL);
}

static int
mode_rate(int argc, char *argv[])
{
	struct rthread	 ts[MAX_THREADS];
	uint64_t	 done = 0, errors = 0, dur_ms = 5000, t0;
	const char	*errmsg = NULL;
	size_t		 inflight = 64, i, per, extra;
	double		 secs;
	int		 ch, nthreads = 1, k;

	while ((ch = getopt(argc, argv, "Fc:d:n:s:t:T:")) != -1) {
		switch (ch) {
		case 'F':
			rate_fastopen = 1;
			break;
		case 'c':
			inflight = (size_t)bench_num(optarg, 1, 100000,
			    "in flight");
			break;
		case 'd':
			dur_ms = (uint64_t)(1000 * bench_num(optarg, 1, 3600,
			    "duration"));
			break;
		case 'n':
			rate_limit = (uint64_t)bench_num(optarg, 1,
			    1000000000, "connections");
			break;
		case 's':
			rate_size = (size_t)bench_num(optarg, 1, MAX_SIZE,
			    "size");
			break;
		case 't':
			nthreads = (int)bench_num(optarg, 1, MAX_THREADS,
			    "threads");
			break;
		case 'T':
			timeout_s = (unsigned int)bench_num(optarg, 1, 86400,
			    "timeout");
			break;
		default:
			usage();
		}
	}
	target_args(argc, argv);
	if ((size_t)nthreads > inflight)
		nthreads = (int)inflight;
	alarm(timeout_s);
	memset(rate_req, 'r', sizeof(rate_req));

	per = inflight / (size_t)nthreads;
	extra = inflight % (size_t)nthreads;
	t0 = bench_now_ns();
	rate_deadline_ns = t0 + dur_ms * 1000000ULL;
	for (k = 0; k < nthreads; k++) {
		memset(&ts[k], 0, sizeof(ts[k]));
		ts[k].nslots = per + ((size_t)k < extra ? 1 : 0);
		if ((ts[k].slots = calloc(ts[k].nslots,
		    sizeof(*ts[k].slots))) == NULL)
			err(BENCH_EXIT_FAIL, "calloc");
		if ((errno = pthread_create(&ts[k].tid, NULL, rate_thread,
		    &ts[k])) != 0)
			err(BENCH_EXIT_FAIL, "pthread_create");
	}
	for (k = 0; k < nthreads; k++) {
		pthread_join(ts[k].tid, NULL);
		done += ts[k].done;
		errors += ts[k].errors;
		if (errmsg == NULL && ts[k].errors > 0)
			errmsg = ts[k].errmsg;
	}
	secs = (bench_now_ns() - t0) / 1e9;
	for (i = 0; i < (size_t)nthreads; i++)
		free(ts[i].slots);
	printf("rate conns=%llu secs=%.3f conn_per_s=%.0f errors=%llu "
	    "inflight=%zu threads=%d size=%zu fastopen=%d",
	    (unsigned long long)done, secs, secs > 0 ? done / secs : 0.0,
	    (unsigned long long)errors, inflight, nthreads, rate_size,
	    rate_fastopen);
	if (errmsg != NULL) {
		char	e[ERR_MAX];

		/* One token: the table parser splits on spaces. */
		strlcpy(e, errmsg, sizeof(e));
		for (i = 0; e[i] != '\0'; i++)
			if (e[i] == ' ')
				e[i] = '_';
		printf(" first_error=%s", e);
	}
	print_cpu();
	return (done > 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL);
}

/*
 * rtt
 */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* The q-quantile (0..1) of n sorted samples, nearest rank. */
static uint64_t
quantile(const uint64_t *v, size_t n, double q)
{
	size_t	i;

	i = (size_t)(q * n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (v[i - 1]);
}

static int
io_full(int fd, unsigned char *buf, size_t len, int wr)
{
	size_t	done = 0;
	ssize_t	n;

	while (done < len) {
		if (wr)
			n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		else
			n = recv(fd, buf + done, len - done, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		done += (size_t)n;
	}
	return (0);
}

static int
mode_rtt(int argc, char *argv[])
{
	static unsigned char	 out[MAX_SIZE], in[MAX_SIZE];
	uint64_t		*v, t, sum = 0;
	size_t			 rounds = 10000, warm = 200, size = 100, i;
	int			 ch, fd, one = 1;

	while ((ch = getopt(argc, argv, "n:s:W:T:")) != -1) {
		switch (ch) {
		case 'n':
			rounds = (size_t)bench_num(optarg, 1, 10000000,
			    "rounds");
			break;
		case 's':
			size = (size_t)bench_num(optarg, 1, MAX_SIZE, "size");
			break;
		case 'W':
			warm = (size_t)bench_num(optarg, 0, 10000000,
			    "warm-up");
			break;
		case 'T':
			timeout_s = (unsigned int)bench_num(optarg, 1, 86400,
			    "timeout");
			break;
		default:
			usage();
		}
	}
	target_args(argc, argv);
	alarm(timeout_s);
	if ((v = calloc(rounds, sizeof(*v))) == NULL)
		err(BENCH_EXIT_FAIL, "calloc");
	if ((fd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(BENCH_EXIT_FAIL, "socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&dst, dstlen) == -1)
		err(BENCH_EXIT_FAIL, "connect");
	memset(out, 'p', size);
	for (i = 0; i < warm + rounds; i++) {
		t = bench_now_ns();
		if (io_full(fd, out, size, 1) == -1 ||
		    io_full(fd, in, size, 0) == -1)
			errx(BENCH_EXIT_FAIL, "round %zu: connection lost", i);
		t = bench_now_ns() - t;
		if (i >= warm) {
			v[i - warm] = t;
			sum += t;
		}
	}
	close(fd);
	qsort(v, rounds, sizeof(*v), cmp_u64);
	printf("rtt rounds=%zu size=%zu min_us=%.1f p50_us=%.1f p90_us=%.1f "
	    "p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f", rounds, size,
	    v[0] / 1e3, quantile(v, rounds, 0.50) / 1e3,
	    quantile(v, rounds, 0.90) / 1e3, quantile(v, rounds, 0.99) / 1e3,
	    quantile(v, rounds, 0.999) / 1e3, v[rounds - 1] / 1e3,
	    (double)sum / rounds / 1e3);
	print_cpu();
	free(v);
	return (BENCH_EXIT_OK);
}

/*
 * idle
 */

enum istate {
	I_NEW,		/* not connecting yet */
	I_CONNECTING,
	I_OPEN,		/* connected, idle */
	I_PASSING,	/* its byte sent, waiting for the echo */
	I_PASSED,
	I_FAILED,
};

struct iconn {
	int		fd;
	enum istate	state;
};

static struct iconn	*iconns;
static size_t		 in_connect_failed, in_dropped, in_bad_reply;
static char		 idle_err[ERR_MAX];

static void
idle_fail(int ep, size_t i, size_t *counter, const char *what, int error)
{
	struct iconn	*c = &iconns[i];
	char		*p;

	if (idle_err[0] == '\0') {
		snprintf(idle_err, sizeof(idle_err), "%s: %s", what,
		    error ? strerror(error) : "eof");
		for (p = idle_err; *p != '\0'; p++)	/* one token */
			if (*p == ' ')
				*p = '_';
	}
	(*counter)++;
	if (c->fd != -1) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = I_FAILED;
}

/* An event on a connection in any state; returns 1 if it left PASSING. */
static int
idle_event(int ep, size_t i, uint32_t events)
{
	struct iconn	*c = &iconns[i];
	unsigned char	 b;
	socklen_t	 len;
	ssize_t		 n;
	int		 error = 0;

	switch (c->state) {
	case I_CONNECTING:
		len = sizeof(error);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len)
		    == -1)
			error = errno;
		if (error == 0 && (events & (EPOLLERR | EPOLLHUP)))
			error = ECONNRESET;
		if (error != 0) {
			idle_fail(ep, i, &in_connect_failed, "connect", error);
			return (0);
		}
		c->state = I_OPEN;
		/* Still polled with no events: a drop shows as HUP/ERR. */
		ep_ctl(ep, EPOLL_CTL_MOD, c->fd, EPOLLRDHUP, i);
		return (0);
	case I_OPEN:
		n = recv(c->fd, &b, 1, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return (0);
		idle_fail(ep, i, &in_dropped, "dropped while idle",
		    n == -1 ? errno : 0);
		return (0);
	case I_PASSING:
		n = recv(c->fd, &b, 1, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return (0);
		if (n == 1 && b == 'i') {
			c->state = I_PASSED;
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			return (1);
		}
		if (n == 1)
			idle_fail(ep, i, &in_bad_reply, "reply", EBADMSG);
		else
			idle_fail(ep, i, &in_dropped, "reply",
			    n == -1 ? errno : 0);
		return (1);
	default:
		return (0);
	}
}

static int
mode_idle(int argc, char *argv[])
{
	struct epoll_event	 evs[EVENTS];
	struct echod_stats	*st = NULL;
	sigset_t		 usr1;
	uint64_t		 t0, open_ns, pass_ns, wait_end, base = 0;
	uint64_t		 progress_ns;
	uint64_t		 backend = 0;
	size_t			 nconns = 10000, inflight = 256, started = 0;
	size_t			 connecting = 0, nopen, passing, passed, i;
	size_t			 no_reply = 0;
	unsigned int		 hold_s = 0, pass_s = 30, open_s = 150;
	const char		*statpath = NULL;
	int			 ch, ep, sfd, n, k, fd, released = 0;
	int			 complete = 0;
	unsigned char		 b = 'i';

	while ((ch = getopt(argc, argv, "c:H:i:O:P:S:T:")) != -1) {
		switch (ch) {
		case 'O':
			open_s = (unsigned int)bench_num(optarg, 1, 86400,
			    "open time");
			break;
		case 'c':
			nconns = (size_t)bench_num(optarg, 1, 1000000,
			    "connections");
			break;
		case 'H':
			hold_s = (unsigned int)bench_num(optarg, 0, 86400,
			    "hold");
			break;
		case 'i':
			inflight = (size_t)bench_num(optarg, 1, 100000,
			    "in flight");
			break;
		case 'P':
			pass_s = (unsigned int)bench_num(optarg, 1, 86400,
			    "pass time");
			break;
		case 'S':
			statpath = optarg;
			break;
		case 'T':
			timeout_s = (unsigned int)bench_num(optarg, 1, 86400,
			    "timeout");
			break;
		default:
			usage();
		}
	}
	target_args(argc, argv);
	alarm(timeout_s);
	bench_raise_nofile();
	if (bench_nofile() < nconns + 16)
		errx(BENCH_EXIT_FAIL, "RLIMIT_NOFILE %llu is too low for %zu "
		    "connections", (unsigned long long)bench_nofile(), nconns);
	if (statpath != NULL) {
		if ((fd = open(statpath, O_RDONLY | O_CLOEXEC)) == -1)
			err(BENCH_EXIT_FAIL, "%s", statpath);
		st = mmap(NULL, sizeof(*st), PROT_READ, MAP_SHARED, fd, 0);
		if (st == MAP_FAILED)
			err(BENCH_EXIT_FAIL, "mmap %s", statpath);
		close(fd);
		if (st->magic != ECHOD_STATS_MAGIC)
			errx(BENCH_EXIT_FAIL, "%s: not a tp-echod counter file",
			    statpath);
		base = __atomic_load_n(&st->accepted, __ATOMIC_RELAXED);
	}
	if ((iconns = calloc(nconns, sizeof(*iconns))) == NULL)
		err(BENCH_EXIT_FAIL, "calloc");
	for (i = 0; i < nconns; i++)
		iconns[i].fd = -1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(BENCH_EXIT_FAIL, "epoll_create1");
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if ((sfd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		err(BENCH_EXIT_FAIL, "signalfd");
	ep_ctl(ep, EPOLL_CTL_ADD, sfd, EPOLLIN, UINT64_MAX);

	/* Phase 1: open them all, at most 'inflight' connects at a time. */
	t0 = progress_ns = bench_now_ns();
	while (started < nconns || connecting > 0) {
		while (started < nconns && connecting < inflight) {
			i = started++;
			if ((fd = new_socket()) == -1) {
				idle_fail(ep, i, &in_connect_failed, "socket",
				    errno);
				continue;
			}
			iconns[i].fd = fd;
			if (connect(fd, (struct sockaddr *)&dst, dstlen) == 0) {
				iconns[i].state = I_OPEN;
				ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLRDHUP, i);
				continue;
			}
			if (errno != EINPROGRESS) {
				idle_fail(ep, i, &in_connect_failed, "connect",
				    errno);
				continue;
			}
			iconns[i].state = I_CONNECTING;
			connecting++;
			ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLOUT, i);
		}
		n = epoll_wait(ep, evs, EVENTS, 100);
		if (n == -1 && errno != EINTR)
			err(BENCH_EXIT_FAIL, "epoll_wait");
		for (k = 0; k < n; k++) {
			if (evs[k].data.u64 == UINT64_MAX)
				continue;
			i = (size_t)evs[k].data.u64;
			if (iconns[i].state == I_CONNECTING) {
				connecting--;
				progress_ns = bench_now_ns();
			}
			idle_event(ep, i, evs[k].events);
		}
		/* Nothing connects any more (SYNs dropped): stop trying. */
		if (bench_now_ns() - progress_ns > STALL_NS ||
		    bench_now_ns() - t0 > (uint64_t)open_s * 1000000000ULL) {
			for (i = 0; i < started; i++)
				if (iconns[i].state == I_CONNECTING)
					idle_fail(ep, i, &in_connect_failed,
					    "connect", ETIMEDOUT);
			for (; started < nconns; started++)
				idle_fail(ep, started, &in_connect_failed,
				    "connect", ETIMEDOUT);
			connecting = 0;
		}
	}
	nopen = nconns - in_connect_failed - in_dropped;

	/*
	 * Through a proxy: open means the backend has them too.  Give up
	 * when the backend's count has not moved for STALL_NS, or after
	 * open_s; the open time is then that of the last progress.
	 */
	open_ns = bench_now_ns() - t0;
	if (st != NULL) {
		uint64_t	last = UINT64_MAX, now;

		wait_end = t0 + (uint64_t)open_s * 1000000000ULL;
		progress_ns = bench_now_ns();
		for (;;) {
			now = bench_now_ns();
			backend = __atomic_load_n(&st->accepted,
			    __ATOMIC_RELAXED) - base;
			if (backend != last) {
				last = backend;
				progress_ns = now;
				open_ns = now - t0;
			}
			if (backend >= nopen) {
				complete = 1;
				break;
			}
			if (now >= wait_end || now - progress_ns > STALL_NS)
				break;
			n = epoll_wait(ep, evs, EVENTS, 1);
			for (k = 0; k < n; k++)
				if (evs[k].data.u64 != UINT64_MAX)
					idle_event(ep, (size_t)evs[k].data.u64,
					    evs[k].events);
			nopen = nconns - in_connect_failed - in_dropped;
		}
	} else
		complete = nopen == nconns;
	printf("opened n=%zu ok=%zu connect_failed=%zu dropped=%zu "
	    "backend=%llu complete=%d open_ms=%.1f\n", nconns, nopen,
	    in_connect_failed, in_dropped,
	    st != NULL ? (unsigned long long)backend : 0ULL, complete,
	    open_ns / 1e6);
	fflush(stdout);

	/* Hold until SIGUSR1 or -H seconds, watching for drops. */
	wait_end = bench_now_ns() + (uint64_t)hold_s * 1000000000ULL;
	while (!released && bench_now_ns() < wait_end) {
		uint64_t	left = (wait_end - bench_now_ns()) / 1000000;

		n = epoll_wait(ep, evs, EVENTS, left > 1000 ? 1000 :
		    (int)left + 1);
		for (k = 0; k < n; k++) {
			if (evs[k].data.u64 == UINT64_MAX) {
				released = 1;
				continue;
			}
			idle_event(ep, (size_t)evs[k].data.u64, evs[k].events);
		}
	}

	/* Phase 2: one byte each way on every connection still open. */
	t0 = bench_now_ns();
	passing = 0;
	for (i = 0; i < nconns; i++) {
		if (iconns[i].state != I_OPEN)
			continue;
		if (send(iconns[i].fd, &b, 1, MSG_NOSIGNAL) != 1) {
			idle_fail(ep, i, &in_dropped, "send", errno);
			continue;
		}
		iconns[i].state = I_PASSING;
		ep_ctl(ep, EPOLL_CTL_MOD, iconns[i].fd, EPOLLIN, i);
		passing++;
	}
	/* Until all have answered, -P seconds, or STALL_NS without any. */
	wait_end = t0 + (uint64_t)pass_s * 1000000000ULL;
	progress_ns = pass_ns = t0;
	while (passing > 0 && bench_now_ns() < wait_end &&
	    bench_now_ns() - progress_ns <= STALL_NS) {
		n = epoll_wait(ep, evs, EVENTS, 100);
		for (k = 0; k < n; k++) {
			if (evs[k].data.u64 == UINT64_MAX)
				continue;
			if (idle_event(ep, (size_t)evs[k].data.u64,
			    evs[k].events)) {
				passing--;
				progress_ns = pass_ns = bench_now_ns();
			}
		}
	}
	pass_ns -= t0;
	passed = 0;
	for (i = 0; i < nconns; i++) {
		if (iconns[i].state == I_PASSED)
			passed++;
		else if (iconns[i].state == I_PASSING)
			no_reply++;
	}
	printf("idle n=%zu passed=%zu connect_failed=%zu dropped=%zu "
	    "no_reply=%zu bad_reply=%zu backend=%llu complete=%d open_ms=%.1f "
	    "pass_ms=%.1f first_error=%s", nconns, passed, in_connect_failed,
	    in_dropped, no_reply, in_bad_reply, (unsigned long long)backend,
	    complete, open_ns / 1e6, pass_ns / 1e6,
	    idle_err[0] != '\0' ? idle_err : "-");
	print_cpu();
	return (passed == nconns ? BENCH_EXIT_OK : BENCH_EXIT_FAIL);
}

/*
 * syscall
 */

static int
mode_syscall(int argc, char *argv[])
{
	uint64_t	calls = 10000000, i, t0, t1;
	int		ch;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		switch (ch) {
		case 'n':
			calls = (uint64_t)bench_num(optarg, 1, 1000000000,
			    "calls");
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	t0 = bench_now_ns();
	for (i = 0; i < calls; i++)
		(void)syscall(SYS_getppid);
	t1 = bench_now_ns();
	printf("syscall calls=%llu ns_per_call=%.1f",
	    (unsigned long long)calls, (double)(t1 - t0) / calls);
	print_cpu();
	return (BENCH_EXIT_OK);
}

int
main(int argc, char *argv[])
{
	struct sigaction	sa;

	start_ns = bench_now_ns();
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (argc < 2)
		usage();
	argc--;
	argv++;
	optind = 1;
	if (strcmp(argv[0], "rate") == 0)
		return (mode_rate(argc, argv));
	if (strcmp(argv[0], "rtt") == 0)
		return (mode_rtt(argc, argv));
	if (strcmp(argv[0], "syscall") == 0)
		return (mode_syscall(argc, argv));
	if (strcmp(argv[0], "idle") == 0)
		return (mode_idle(argc, argv));
	usage();
}
