/*
 * tp-echod: the benchmark backend.  An echo (or discard) TCP server of
 * several pre-forked processes, each with its own epoll set; the
 * listening socket is shared and polled with EPOLLEXCLUSIVE, so one
 * process wakes for each new connection.
 *
 * Echo keeps no per-connection buffer while the peer takes what is
 * written; only a short write leaves a copy, and the connection is not
 * read again until that copy has gone out.
 *
 * With -S, a file of counters (struct echod_stats, shared by mmap) tells
 * the load generator how many connections the backend has accepted, so
 * it can wait until a proxy has really connected every client.
 *
 * -F lets clients use TCP Fast Open (a queue of 4096 pending ones).
 *
 * usage: tp-echod [-dF] [-b bufsize] [-S statfile] [-w workers] host port
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_WORKERS	64
#define EVENTS		256
#define ACCEPT_BURST	64

struct conn {
	unsigned char	*pend;		/* bytes the peer did not take yet */
	size_t		 off, len;
};

static struct echod_stats	*stats;
static struct conn		*conns;
static size_t			 nconns;
static unsigned char		*scratch;
static size_t			 bufsize = 64 * 1024;
static int			 discard;
static volatile sig_atomic_t	 quit;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-echod [-dF] [-b bufsize] [-S statfile] "
	    "[-w workers] host port\n");
	exit(BENCH_EXIT_USAGE);
}

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static void
conn_close(int fd)
{
	struct conn	*c = &conns[fd];

	free(c->pend);
	memset(c, 0, sizeof(*c));
	close(fd);
	if (stats != NULL)
		__atomic_fetch_sub(&stats->open, 1, __ATOMIC_RELAXED);
}

static void
conn_events(int ep, int fd, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == -1)
		err(BENCH_EXIT_FAIL, "epoll_ctl mod");
}

/* Write what waits; 1 when all of it is gone, 0 if not, -1 on error. */
static int
conn_flush(int fd)
{
	struct conn	*c = &conns[fd];
	ssize_t		 n;

	while (c->len > 0) {
		n = send(fd, c->pend + c->off, c->len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (-1);
		}
		c->off += (size_t)n;
		c->len -= (size_t)n;
	}
	free(c->pend);
	c->pend = NULL;
	c->off = 0;
	return (1);
}

static void
conn_io(int ep, int fd, uint32_t revents)
{
	struct conn	*c = &conns[fd];
	ssize_t		 n, sent;
	int		 rc;

	if (c->len > 0) {
		if ((rc = conn_flush(fd)) == -1) {
			conn_close(fd);
			return;
		}
		if (rc == 0)
			return;
		conn_events(ep, fd, EPOLLIN);
		return;
	}
	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0)
		return;
	n = recv(fd, scratch, bufsize, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(fd);
		return;
	}
	if (n == 0) {
		conn_close(fd);
		return;
	}
	if (stats != NULL)
		__atomic_fetch_add(&stats->bytes, (uint64_t)n,
		    __ATOMIC_RELAXED);
	if (discard)
		return;
	sent = send(fd, scratch, (size_t)n, MSG_NOSIGNAL);
	if (sent == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(fd);
			return;
		}
		sent = 0;
	}
	if (sent < n) {
		c->len = (size_t)(n - sent);
		c->off = 0;
		if ((c->pend = malloc(c->len)) == NULL)
			err(BENCH_EXIT_FAIL, "malloc");
		memcpy(c->pend, scratch + sent, c->len);
		conn_events(ep, fd, EPOLLOUT);
	}
}

static void
do_accept(int ep, int lfd)
{
	struct epoll_event	ev;
	int			fd, i, one = 1;

	for (i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				warn("accept");
			return;
		}
		if ((size_t)fd >= nconns) {
			warnx("fd %d beyond the limit", fd);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			err(BENCH_EXIT_FAIL, "epoll_ctl add");
		if (stats != NULL) {
			__atomic_fetch_add(&stats->accepted, 1,
			    __ATOMIC_RELAXED);
			__atomic_fetch_add(&stats->open, 1, __ATOMIC_RELAXED);
		}
	}
}

static void __dead2
worker(int lfd)
{
	struct epoll_event	ev, evs[EVENTS];
	int			ep, i, n;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	if ((scratch = malloc(bufsize)) == NULL)
		err(BENCH_EXIT_FAIL, "malloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(BENCH_EXIT_FAIL, "epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		err(BENCH_EXIT_FAIL, "epoll_ctl listener");
	while (!quit) {
		n = epoll_wait(ep, evs, EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(BENCH_EXIT_FAIL, "epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd)
				do_accept(ep, lfd);
			else
				conn_io(ep, evs[i].data.fd, evs[i].events);
		}
	}
	_exit(0);
}

static void
stats_map(const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
	    == -1)
		err(BENCH_EXIT_FAIL, "%s", path);
	if (ftruncate(fd, sizeof(*stats)) == -1)
		err(BENCH_EXIT_FAIL, "ftruncate %s", path);
	stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (stats == MAP_FAILED)
		err(BENCH_EXIT_FAIL, "mmap %s", path);
	close(fd);
	stats->magic = ECHOD_STATS_MAGIC;
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	pid_t			 pids[MAX_WORKERS];
	const char		*statpath = NULL;
	long			 nworkers;
	int			 ch, lfd, one = 1, i, status, fastopen = 0;

	nworkers = sysconf(_SC_NPROCESSORS_ONLN);
	if (nworkers < 1)
		nworkers = 1;
	while ((ch = getopt(argc, argv, "b:dFS:w:")) != -1) {
		switch (ch) {
		case 'F':
			fastopen = 4096;
			break;
		case 'b':
			bufsize = (size_t)bench_num(optarg, 1, 16 << 20,
			    "buffer size");
			break;
		case 'd':
			discard = 1;
			break;
		case 'S':
			statpath = optarg;
			break;
		case 'w':
			nworkers = (long)bench_num(optarg, 1, MAX_WORKERS,
			    "workers");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();

	bench_raise_nofile();
	nconns = (size_t)bench_nofile();
	if ((conns = calloc(nconns, sizeof(*conns))) == NULL)
		err(BENCH_EXIT_FAIL, "calloc");
	if (statpath != NULL)
		stats_map(statpath);
	if (bench_sockaddr(argv[0], argv[1], &ss, &sslen) == -1)
		exit(BENCH_EXIT_USAGE);
	if ((lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		err(BENCH_EXIT_FAIL, "socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sslen) == -1)
		err(BENCH_EXIT_FAIL, "bind %s %s", argv[0], argv[1]);
	if (fastopen > 0 && setsockopt(lfd, IPPROTO_TCP, TCP_FASTOPEN,
	    &fastopen, sizeof(fastopen)) == -1)
		err(BENCH_EXIT_FAIL, "TCP_FASTOPEN");
	if (listen(lfd, 4096) == -1)
		err(BENCH_EXIT_FAIL, "listen");

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	for (i = 0; i < nworkers; i++) {
		switch ((pids[i] = fork())) {
		case -1:
			err(BENCH_EXIT_FAIL, "fork");
		case 0:
			worker(lfd);
		default:
			break;
		}
	}
	/* The parent only waits; a worker that dies takes the rest along. */
	while (!quit) {
		if (waitpid(-1, &status, 0) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		warnx("a worker exited (status %d): stopping", status);
		break;
	}
	for (i = 0; i < nworkers; i++)
		kill(pids[i], SIGTERM);
	while (waitpid(-1, &status, 0) != -1 || errno == EINTR)
		;
	return (0);
}
