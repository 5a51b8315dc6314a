/*
 * tp-floor: the least work a user-space relay can do, as a yardstick
 * for the benchmark.  It is not a proxy anyone should run: it has no
 * limits, no logging, no privilege separation and no event loop.
 *
 * Relay mode (the default): for each pair of ports, a thread accepts on
 * the first and connects to the second.  Each connection then gets one
 * thread per direction that blocks in splice(2) from its socket into a
 * 1 MB pipe and from the pipe into the other socket.  A pass through
 * the relay is two system calls and nothing else: no wait call, no
 * bookkeeping.  Whatever a proxy with an event loop measures beyond
 * this is its own cost; what this measures beyond a direct connection
 * is the kernel's cost of a second hop.
 *
 * Open mode (-o): NCPU processes, each with its own SO_REUSEPORT
 * listening socket, accept and start a non-blocking connect to the
 * backend for every client, and then hold both sockets and do nothing
 * else.  It is the floor of the time to open connections through a
 * relay: one accept, one socket and one connect per connection.  It
 * relays nothing.
 *
 * usage: tp-floor [-o] [-w workers] host listenport backendport
 *            [listenport backendport ...]
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define PAIRS_MAX	8
#define PIPE_SIZE	(1 << 20)
#define THREAD_STACK	(64 * 1024)
#define EVENTS		256

struct pair {
	struct sockaddr_storage	 backend;
	socklen_t		 backendlen;
	int			 lfd;
};

struct conn {
	int			 fd[2];		/* client, backend */
	atomic_int		 refs;		/* directions still running */
};

struct direction {
	struct conn		*conn;
	int			 from, to;
};

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-floor [-o] [-w workers] host "
	    "listenport backendport [listenport backendport ...]\n");
	exit(BENCH_EXIT_USAGE);
}

static int
listen_on(const char *host, const char *port, int reuseport)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	int			fd, on = 1;

	if (bench_sockaddr(host, port, &ss, &sslen) == -1)
		exit(BENCH_EXIT_USAGE);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(BENCH_EXIT_FAIL, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		err(BENCH_EXIT_FAIL, "SO_REUSEADDR");
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1)
		err(BENCH_EXIT_FAIL, "SO_REUSEPORT");
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		err(BENCH_EXIT_FAIL, "bind %s port %s", host, port);
	if (listen(fd, 4096) == -1)
		err(BENCH_EXIT_FAIL, "listen");
	return (fd);
}

static void
set_nodelay(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* A direction is done with c: the last one closes both sockets. */
static void
conn_put(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1) {
		close(c->fd[0]);
		close(c->fd[1]);
		free(c);
	}
}

/* Wake both directions, which may be blocked in splice. */
static void
conn_abort(struct conn *c)
{
	shutdown(c->fd[0], SHUT_RDWR);
	shutdown(c->fd[1], SHUT_RDWR);
}

/* Socket to pipe, pipe to socket, until EOF (0) or an error (-1). */
static int
direction_copy(int from, int to, int p[2])
{
	ssize_t	n, m;

	for (;;) {
		n = splice(from, NULL, p[1], NULL, PIPE_SIZE, SPLICE_F_MOVE);
		if (n == 0)
			return (0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		while (n > 0) {
			m = splice(p[0], NULL, to, NULL, n, SPLICE_F_MOVE);
			if (m == -1) {
				if (errno == EINTR)
					continue;
				return (-1);
			}
			n -= m;
		}
	}
}

static void *
direction_run(void *arg)
{
	struct direction	*d = arg;
	struct conn		*c = d->conn;
	int			 p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		warn("pipe2");
		conn_abort(c);
	} else {
		(void)fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
		if (direction_copy(d->from, d->to, p) == 0)
			shutdown(d->to, SHUT_WR);
		else
			conn_abort(c);
		close(p[0]);
		close(p[1]);
	}
	free(d);
	conn_put(c);
	return (NULL);
}

static int
start_direction(pthread_attr_t *attr, struct conn *c, int from, int to)
{
	struct direction	*d;
	pthread_t		 t;
	int			 error;

	if ((d = malloc(sizeof(*d))) == NULL)
		return (-1);
	d->conn = c;
	d->from = from;
	d->to = to;
	if ((error = pthread_create(&t, attr, direction_run, d)) != 0) {
		errno = error;
		warn("pthread_create");
		free(d);
		return (-1);
	}
	return (0);
}

static void *
accept_run(void *arg)
{
	struct pair	*pr = arg;
	pthread_attr_t	 attr;
	struct conn	*c;
	int		 cfd, bfd;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (;;) {
		if ((cfd = accept4(pr->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				warn("accept4");
			continue;
		}
		bfd = socket(pr->backend.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0);
		if (bfd == -1 || connect(bfd, (struct sockaddr *)&pr->backend,
		    pr->backendlen) == -1) {
			warn("backend");
			if (bfd != -1)
				close(bfd);
			close(cfd);
			continue;
		}
		set_nodelay(cfd);
		set_nodelay(bfd);
		if ((c = malloc(sizeof(*c))) == NULL)
			err(BENCH_EXIT_FAIL, "malloc");
		c->fd[0] = cfd;
		c->fd[1] = bfd;
		atomic_init(&c->refs, 2);
		if (start_direction(&attr, c, cfd, bfd) == -1) {
			close(cfd);
			close(bfd);
			free(c);
			continue;
		}
		if (start_direction(&attr, c, bfd, cfd) == -1) {
			/* The first direction owns the rest of the teardown. */
			conn_abort(c);
			conn_put(c);
		}
	}
	return (NULL);
}

/* Open mode: accept, start a connect, hold both sockets; nothing else. */
static void __dead2
open_worker(struct pair *pairs, int npairs, const char *host,
    char **ports)
{
	struct epoll_event	 ev, events[EVENTS];
	int			 ep, i, n, cfd, bfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(BENCH_EXIT_FAIL, "epoll_create1");
	for (i = 0; i < npairs; i++) {
		pairs[i].lfd = listen_on(host, ports[2 * i], 1);
		if (fcntl(pairs[i].lfd, F_SETFL, O_NONBLOCK) == -1)
			err(BENCH_EXIT_FAIL, "fcntl");
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, pairs[i].lfd, &ev) == -1)
			err(BENCH_EXIT_FAIL, "epoll_ctl");
	}
	for (;;) {
		if ((n = epoll_wait(ep, events, EVENTS, -1)) == -1) {
			if (errno == EINTR)
				continue;
			err(BENCH_EXIT_FAIL, "epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct pair *pr = &pairs[events[i].data.u32];

			while ((cfd = accept4(pr->lfd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
				bfd = socket(pr->backend.ss_family, SOCK_STREAM |
				    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
				if (bfd == -1) {
					close(cfd);
					continue;
				}
				(void)connect(bfd,
				    (struct sockaddr *)&pr->backend,
				    pr->backendlen);
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	struct pair	 pairs[PAIRS_MAX];
	pthread_t	 t;
	const char	*host;
	int		 ch, i, npairs, openmode = 0, workers = 2, error;

	while ((ch = getopt(argc, argv, "ow:")) != -1) {
		switch (ch) {
		case 'o':
			openmode = 1;
			break;
		case 'w':
			workers = bench_num(optarg, 1, 64, "workers");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || (argc - 1) % 2 != 0 || (argc - 1) / 2 > PAIRS_MAX)
		usage();
	host = argv[0];
	npairs = (argc - 1) / 2;
	signal(SIGPIPE, SIG_IGN);
	bench_raise_nofile();
	for (i = 0; i < npairs; i++) {
		if (bench_sockaddr(host, argv[2 + 2 * i], &pairs[i].backend,
		    &pairs[i].backendlen) == -1)
			exit(BENCH_EXIT_USAGE);
	}

	if (openmode) {
		for (i = 0; i < workers; i++) {
			switch (fork()) {
			case -1:
				err(BENCH_EXIT_FAIL, "fork");
			case 0:
				open_worker(pairs, npairs, host, argv + 1);
			}
		}
		while (wait(NULL) != -1 || errno == EINTR)
			;
		return (BENCH_EXIT_OK);
	}

	for (i = 0; i < npairs; i++) {
		pairs[i].lfd = listen_on(host, argv[1 + 2 * i], 0);
		if ((error = pthread_create(&t, NULL, accept_run,
		    &pairs[i])) != 0) {
			errno = error;
			err(BENCH_EXIT_FAIL, "pthread_create");
		}
	}
	pause();
	return (BENCH_EXIT_OK);
}
