/*
 * tp-soak: both ends of thousands of random connections through a proxy,
 * every byte checked, for make soak (t/soak.sh).
 *
 *	tp-soak [-c conns] [-t seconds] [-s seed] [-k ms -m master-pid]
 *	    [-w worker] server-port proxy-host proxy-port
 *
 * It listens on 127.0.0.1:server-port (the proxy's remote) and keeps
 * -c connections open to the proxy for -t seconds, each doing one
 * randomly chosen behaviour, announced to the server end in a header:
 *
 *	echo	  client sends, half-closes; server echoes, then closes
 *	serverfin server sends and half-closes first; client sends on,
 *		  then half-closes; each end checks what the other sent
 *	push	  server sends and closes
 *	upload	  client sends and half-closes; server answers with the
 *		  count and FNV-1a of what it got
 *	slow	  push of 1 to 3 MiB, read by a client that takes 512 KiB a
 *		  second through a 4 KiB receive buffer
 *	tiny	  echo, written 1 to 7 bytes at a time
 *	rstclient client resets the connection mid-echo
 *	rstserver server resets the connection mid-upload
 *
 * Each direction carries the pattern of tp-common.h from its own random
 * offset, checked byte by byte on arrival.  With -k, every that many ms
 * the worker numbered -w (default 1) of master -m is killed (SIGKILL),
 * which is what may cut a connection short: a connection that ends
 * early counts as cut when a kill happened while it was open, and as a
 * failure otherwise.  Wrong bytes, a refused connection, or an end that
 * makes no progress for 30 s are failures too.
 *
 * Prints one summary line; exits 0 when nothing failed.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <poll.h>

#include "tp-common.h"

#define MAX_ENDS	4096
#define HANG_MS		30000
#define SLOW_RATE	(512 * 1024)	/* bytes per second */
#define SOAK_MAGIC	0x4b414f53u	/* "SOAK" */

enum behaviour {
	B_ECHO, B_SERVERFIN, B_PUSH, B_UPLOAD, B_SLOW, B_TINY,
	B_RSTCLIENT, B_RSTSERVER, B_COUNT
};

static const char *names[B_COUNT] = {
	"echo", "serverfin", "push", "upload", "slow", "tiny",
	"rstclient", "rstserver"
};

/* What the client end tells the server end first. */
struct soak_hdr {
	uint32_t	magic;
	uint32_t	behaviour;
	uint64_t	up_base;	/* pattern offset, client to server */
	uint64_t	up;		/* bytes, client to server */
	uint64_t	down_base;
	uint64_t	down;
	uint64_t	cut_at;		/* for the resets: when to reset */
};

/* One socket of a connection, at either end. */
struct end {
	int		 fd;
	int		 server;
	struct soak_hdr	 h;
	size_t		 hdr_done;	/* header bytes sent or read */
	uint64_t	 sent, to_send;	/* payload bytes; to_send may grow */
	uint64_t	 send_base;
	uint64_t	 got, expect, recv_base;
	uint64_t	 fnv;		/* upload: of what was sent or got */
	unsigned char	 reply[16];	/* upload: the server's answer */
	size_t		 reply_done;
	int		 shut;		/* our write side is shut */
	int		 eof;		/* theirs is */
	int64_t		 start_ms, progress_ms, slow_ms;
};

static struct end	*ends[MAX_ENDS];
static struct pollfd	 pfds[MAX_ENDS + 1];
static int		 nends;

static uint64_t	 rng_state;
static int64_t	*kills;
static size_t	 nkills, kills_cap;

static unsigned long	 n_conns, n_cut, n_fail, n_by[B_COUNT];
static unsigned long long n_bytes;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rnd_range(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static int64_t
now_ms(void)
{
	return (int64_t)tp_now_ms();
}

/*
 * Was a worker killed while this end was open?  A server end is taken
 * from our queue only after the proxy connected, which may be after the
 * worker behind it died: it counts from a little earlier.
 */
#define SERVER_END_GRACE_MS	2000

static int
killed_during(const struct end *e)
{
	int64_t	from = e->start_ms - (e->server ? SERVER_END_GRACE_MS : 0);

	return nkills > 0 && kills[nkills - 1] >= from;
}

static void
fail(struct end *e, const char *what)
{
	n_fail++;
	fprintf(stderr, "tp-soak: FAIL %s %s end: %s (sent %llu/%llu, "
	    "got %llu/%llu)\n", names[e->h.behaviour % B_COUNT],
	    e->server ? "server" : "client", what,
	    (unsigned long long)e->sent, (unsigned long long)e->to_send,
	    (unsigned long long)e->got, (unsigned long long)e->expect);
}

static void
end_free(int i, int linger0)
{
	struct end	*e = ends[i];

	if (linger0) {
		struct linger	l = { 1, 0 };

		setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(e->fd);
	free(e);
	ends[i] = ends[--nends];
	ends[nends] = NULL;
}

/* The stream ended (EOF or error) before all that was due. */
static void
ended_early(struct end *e, const char *how)
{
	int	b = (int)e->h.behaviour;

	/* A reset is what these behaviours are about. */
	if (b == B_RSTCLIENT || b == B_RSTSERVER)
		return;
	if (killed_during(e))
		n_cut++;
	else
		fail(e, how);
}

/* A read or write returned -1: try again later (1), or the end (0). */
static int
io_failed(struct end *e)
{
	if (errno == EAGAIN || errno == EINTR)
		return 1;
	ended_early(e, strerror(errno));
	return 0;
}

static struct end *
end_new(int fd, int server)
{
	struct end	*e;

	if (nends == MAX_ENDS)
		errx(TP_EXIT_FAIL, "more than %d open ends", MAX_ENDS);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		err(TP_EXIT_FAIL, "calloc");
	e->fd = fd;
	e->server = server;
	e->fnv = TP_FNV_INIT;
	e->start_ms = e->progress_ms = e->slow_ms = now_ms();
	ends[nends++] = e;
	return e;
}

static int
connect_client(const struct sockaddr_storage *ss, socklen_t sslen)
{
	struct end	*e;
	struct soak_hdr	 h;
	int		 fd, one = 1, small = 4096;

	memset(&h, 0, sizeof(h));
	h.magic = SOAK_MAGIC;
	h.behaviour = (uint32_t)(rnd() % B_COUNT);
	h.up_base = rnd() >> 8;
	h.down_base = rnd() >> 8;
	switch (h.behaviour) {
	case B_ECHO:
		h.up = h.down = rnd_range(0, 256 * 1024);
		h.down_base = h.up_base;
		break;
	case B_SERVERFIN:
		h.up = rnd_range(0, 128 * 1024);
		h.down = rnd_range(0, 128 * 1024);
		break;
	case B_PUSH:
		h.down = rnd_range(1, 512 * 1024);
		break;
	case B_UPLOAD:
		h.up = rnd_range(1, 512 * 1024);
		break;
	case B_SLOW:
		h.down = rnd_range(1024 * 1024, 3 * 1024 * 1024);
		break;
	case B_TINY:
		h.up = h.down = rnd_range(1, 2000);
		h.down_base = h.up_base;
		break;
	case B_RSTCLIENT:
		h.up = h.down = rnd_range(1024, 64 * 1024);
		h.down_base = h.up_base;
		h.cut_at = rnd_range(1, h.down - 1);
		break;
	case B_RSTSERVER:
		h.up = rnd_range(1024, 256 * 1024);
		h.cut_at = rnd_range(1, h.up - 1);
		break;
	}

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
	    -1)
		err(TP_EXIT_FAIL, "socket");
	/* Before connect(2), so that the window is small from the start:
	 * else the kernel's buffers take all and the proxy waits on no one. */
	if (h.behaviour == B_SLOW)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (h.behaviour == B_TINY)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, sslen) == -1 &&
	    errno != EINPROGRESS) {
		warn("connect");
		close(fd);
		n_fail++;
		return -1;
	}
	e = end_new(fd, 0);
	e->h = h;
	e->to_send = h.up;
	e->send_base = h.up_base;
	e->expect = h.behaviour == B_UPLOAD ? 0 : h.down;	/* a reply */
	e->recv_base = h.down_base;
	n_conns++;
	n_by[h.behaviour]++;
	return 0;
}

/* Every byte that arrives is checked against its pattern. */
static int
take(struct end *e, const unsigned char *buf, size_t n)
{
	size_t	ok;

	if (e->got + n > e->expect) {
		fail(e, "more bytes than were sent");
		return -1;
	}
	if ((ok = tp_pattern_check(buf, n, e->recv_base + e->got)) != n) {
		char	what[64];

		snprintf(what, sizeof(what), "wrong byte at offset %llu",
		    (unsigned long long)(e->got + ok));
		fail(e, what);
		return -1;
	}
	if (e->h.behaviour == B_UPLOAD)
		e->fnv = tp_fnv1a(e->fnv, buf, n);
	e->got += n;
	n_bytes += n;
	return 0;
}

/* The server end has the header: set it up for its behaviour. */
static int
server_start(struct end *e)
{
	struct soak_hdr	*h = &e->h;

	if (h->magic != SOAK_MAGIC || h->behaviour >= B_COUNT) {
		fail(e, "bad header");
		return -1;
	}
	e->expect = h->up;
	e->recv_base = h->up_base;
	e->send_base = h->down_base;
	switch (h->behaviour) {
	case B_ECHO:
	case B_TINY:
	case B_RSTCLIENT:
		e->to_send = 0;		/* grows with what arrives */
		break;
	case B_UPLOAD:
	case B_RSTSERVER:
		e->to_send = 0;
		break;
	default:
		e->to_send = h->down;
	}
	return 0;
}

static int
is_echo(const struct end *e)
{
	return e->h.behaviour == B_ECHO || e->h.behaviour == B_TINY ||
	    e->h.behaviour == B_RSTCLIENT;
}

/*
 * Read what is there.  Returns 1 to keep the end, 0 when it is done and
 * freed by the caller, -1 on a failure (freed by the caller too).
 */
static int
end_read(struct end *e)
{
	unsigned char	buf[64 * 1024];
	size_t		want = sizeof(buf);
	ssize_t		n;

	if (!e->server && e->h.behaviour == B_SLOW) {
		int64_t	t = now_ms();
		size_t	allowed = (size_t)((t - e->slow_ms) * SLOW_RATE / 1000);

		if (allowed == 0)
			return 1;
		if (allowed < want)
			want = allowed;
		e->slow_ms = t;
	}
	if (e->server && e->hdr_done < sizeof(e->h))
		want = sizeof(e->h) - e->hdr_done;
	if (!e->server && e->h.behaviour == B_UPLOAD)
		want = sizeof(e->reply) - e->reply_done + 1;
	n = read(e->fd, buf, want);
	if (n == -1)
		return io_failed(e);
	e->progress_ms = now_ms();
	if (n == 0) {
		e->eof = 1;
		if (e->server && e->hdr_done < sizeof(e->h)) {
			ended_early(e, "EOF in the header");
			return 0;
		}
		if (!e->server && e->h.behaviour == B_UPLOAD) {
			if (e->reply_done < sizeof(e->reply)) {
				ended_early(e, "EOF before the reply");
				return 0;
			}
			return 0;
		}
		if (e->got < e->expect) {
			ended_early(e, "EOF too early");
			return 0;
		}
		return 1;
	}
	if (e->server && e->hdr_done < sizeof(e->h)) {
		memcpy((unsigned char *)&e->h + e->hdr_done, buf, (size_t)n);
		e->hdr_done += (size_t)n;
		if (e->hdr_done == sizeof(e->h) && server_start(e) == -1)
			return -1;
		return 1;
	}
	if (!e->server && e->h.behaviour == B_UPLOAD) {
		uint64_t	count, fnv;

		if (e->reply_done + (size_t)n > sizeof(e->reply)) {
			fail(e, "reply too long");
			return -1;
		}
		memcpy(e->reply + e->reply_done, buf, (size_t)n);
		e->reply_done += (size_t)n;
		if (e->reply_done == sizeof(e->reply)) {
			memcpy(&count, e->reply, 8);
			memcpy(&fnv, e->reply + 8, 8);
			if (count != e->h.up || fnv != e->fnv) {
				fail(e, "upload count or checksum differs");
				return -1;
			}
		}
		return 1;
	}
	if (take(e, buf, (size_t)n) == -1)
		return -1;
	if (e->server && is_echo(e))
		e->to_send = e->got;
	if (e->server && e->h.behaviour == B_RSTSERVER &&
	    e->got >= e->h.cut_at)
		return 0;		/* reset by the caller */
	if (!e->server && e->h.behaviour == B_RSTCLIENT &&
	    e->got >= e->h.cut_at)
		return 0;
	return 1;
}

/* Write what is due.  Same returns as end_read(). */
static int
end_write(struct end *e)
{
	unsigned char	 buf[64 * 1024];
	const void	*p = buf;
	size_t		 len;
	ssize_t		 n;

	if (!e->server && e->hdr_done < sizeof(e->h)) {
		p = (const unsigned char *)&e->h + e->hdr_done;
		len = sizeof(e->h) - e->hdr_done;
	} else if (e->server && e->h.behaviour == B_UPLOAD) {
		if (!e->eof)
			return 1;
		if (e->reply_done == 0) {
			memcpy(e->reply, &e->got, 8);
			memcpy(e->reply + 8, &e->fnv, 8);
		}
		p = e->reply + e->reply_done;
		len = sizeof(e->reply) - e->reply_done;
	} else {
		len = e->to_send - e->sent;
		if (len > sizeof(buf))
			len = sizeof(buf);
		if (!e->server && e->h.behaviour == B_TINY && len > 0)
			len = len < 7 ? len : (size_t)rnd_range(1, 7);
		tp_pattern_fill(buf, len, e->send_base + e->sent);
	}
	if (len == 0)
		return 1;
	n = send(e->fd, p, len, MSG_NOSIGNAL);
	if (n == -1)
		return io_failed(e);
	e->progress_ms = now_ms();
	if (!e->server && e->hdr_done < sizeof(e->h)) {
		e->hdr_done += (size_t)n;
	} else if (e->server && e->h.behaviour == B_UPLOAD) {
		e->reply_done += (size_t)n;
	} else {
		if (!e->server && e->h.behaviour == B_UPLOAD)
			e->fnv = tp_fnv1a(e->fnv, buf, (size_t)n);
		e->sent += (uint64_t)n;
	}
	return 1;
}

/* Half-close when our part is sent and the behaviour says so. */
static void
maybe_shut(struct end *e)
{
	int	b = (int)e->h.behaviour;

	if (e->shut || (!e->server && e->hdr_done < sizeof(e->h)) ||
	    (e->server && e->hdr_done < sizeof(e->h)) ||
	    e->sent < e->to_send)
		return;
	if (e->server) {
		if (b == B_UPLOAD) {
			if (e->reply_done < sizeof(e->reply))
				return;
		} else if (is_echo(e)) {
			if (!e->eof)
				return;		/* more may come to echo */
		} else if (b == B_RSTSERVER)
			return;
	} else {
		if (b == B_SERVERFIN && !e->eof)
			return;		/* the server goes first */
		if (b == B_RSTCLIENT)
			return;
	}
	shutdown(e->fd, SHUT_WR);
	e->shut = 1;
}

/* Done when both directions are: what was due went, and came. */
static int
finished(const struct end *e)
{
	if (!e->shut || !e->eof)
		return 0;
	if (!e->server && e->h.behaviour == B_UPLOAD)
		return e->reply_done == sizeof(e->reply);
	return e->got >= e->expect;
}

static short
events_for(const struct end *e)
{
	short	ev = 0;

	/* A slow reader asks for more only once it may take 1 KiB. */
	if (!e->eof && (e->server || e->h.behaviour != B_SLOW ||
	    (now_ms() - e->slow_ms) * SLOW_RATE / 1000 >= 1024))
		ev |= POLLIN;
	if (!e->shut) {
		if (!e->server && e->hdr_done < sizeof(e->h))
			ev |= POLLOUT;
		else if (e->server && e->h.behaviour == B_UPLOAD)
			ev |= e->eof ? POLLOUT : 0;
		else if (e->sent < e->to_send)
			ev |= POLLOUT;
	}
	return ev;
}

static pid_t
find_worker(pid_t master, int id)
{
	char	path[64], buf[256], want[32];
	DIR	*d;
	struct dirent *de;
	FILE	*f;
	pid_t	 found = -1;

	snprintf(want, sizeof(want), "worker %d", id);
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(d)) != NULL) {
		long	pid = strtol(de->d_name, NULL, 10), ppid = 0;
		size_t	n;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%*d %*s %*c %ld", &ppid) != 1)
			ppid = 0;
		fclose(f);
		if (ppid != master)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

static void
kill_worker(pid_t master, int id)
{
	pid_t	w = find_worker(master, id);

	if (w == -1)
		return;		/* being replaced */
	if (nkills == kills_cap) {
		kills_cap = kills_cap ? kills_cap * 2 : 64;
		if ((kills = reallocarray(kills, kills_cap,
		    sizeof(*kills))) == NULL)
			err(TP_EXIT_FAIL, "reallocarray");
	}
	/* Counted before the kill: a connection it cuts is excused. */
	kills[nkills++] = now_ms();
	kill(w, SIGKILL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: tp-soak [-c conns] [-t seconds] [-s seed] "
	    "[-k ms -m master-pid] [-w worker]\n"
	    "               server-port proxy-host proxy-port\n");
	exit(TP_EXIT_USAGE);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage	ss, lss;
	socklen_t		sslen, lsslen;
	long long		conns = 50, seconds = 10, kill_ms = 0;
	pid_t			master = -1;
	int			worker = 1, ch, lfd, one = 1, i;
	uint64_t		seed = (uint64_t)time(NULL) ^
				    ((uint64_t)getpid() << 32);
	int64_t			start, stop, next_kill = 0, t;

	while ((ch = getopt(argc, argv, "c:k:m:s:t:w:")) != -1) {
		switch (ch) {
		case 'c':
			conns = tp_num(optarg, 1, MAX_ENDS / 2, "-c");
			break;
		case 'k':
			kill_ms = tp_num(optarg, 100, 3600000, "-k");
			break;
		case 'm':
			master = (pid_t)tp_num(optarg, 1, INT_MAX, "-m");
			break;
		case 's':
			seed = (uint64_t)tp_num(optarg, 0, LLONG_MAX, "-s");
			break;
		case 't':
			seconds = tp_num(optarg, 1, 86400, "-t");
			break;
		case 'w':
			worker = (int)tp_num(optarg, 1, 64, "-w");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || (kill_ms > 0 && master == -1))
		usage();
	rng_state = seed;
	tp_ignore_sigpipe();
	tp_raise_nofile();

	if (tp_sockaddr("127.0.0.1", argv[0], 1, &lss, &lsslen) == -1 ||
	    tp_sockaddr(argv[1], argv[2], 0, &ss, &sslen) == -1)
		errx(TP_EXIT_USAGE, "bad address");
	if ((lfd = socket(lss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
	    -1)
		err(TP_EXIT_FAIL, "socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&lss, lsslen) == -1 ||
	    listen(lfd, 1024) == -1)
		err(TP_EXIT_FAIL, "listen on port %s", argv[0]);

	start = now_ms();
	stop = start + seconds * 1000;
	if (kill_ms > 0)
		next_kill = start + kill_ms;
	for (;;) {
		int	nclients = 0, nfds;

		t = now_ms();
		for (i = 0; i < nends; i++)
			nclients += !ends[i]->server;
		while (t < stop && nclients < conns) {
			if (connect_client(&ss, sslen) == 0)
				nclients++;
			else
				break;
		}
		if (t >= stop && nends == 0)
			break;
		if (kill_ms > 0 && t >= next_kill && t < stop) {
			kill_worker(master, worker);
			next_kill = t + kill_ms;
		}

		pfds[0].fd = lfd;
		pfds[0].events = POLLIN;
		for (i = 0; i < nends; i++) {
			pfds[i + 1].fd = ends[i]->fd;
			pfds[i + 1].events = events_for(ends[i]);
		}
		nfds = nends + 1;
		if (poll(pfds, (nfds_t)nfds, 10) == -1 && errno != EINTR)
			err(TP_EXIT_FAIL, "poll");

		if (pfds[0].revents & POLLIN) {
			int	fd;

			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK)) != -1)
				end_new(fd, 1);
		}
		/* Walk down: end_free() moves the last end into the slot. */
		t = now_ms();
		for (i = nfds - 2; i >= 0; i--) {
			struct end	*e = ends[i];
			short		 rev = pfds[i + 1].revents;
			int		 keep = 1, reset;

			if (e == NULL || pfds[i + 1].fd != e->fd)
				continue;
			if (rev & (POLLIN | POLLHUP | POLLERR))
				keep = end_read(e);
			if (keep == 1 && (rev & (POLLOUT | POLLERR)))
				keep = end_write(e);
			if (keep == 1) {
				maybe_shut(e);
				if (finished(e))
					keep = 0;
				else if (t - e->progress_ms > HANG_MS) {
					fail(e, "no progress for 30 s");
					keep = -1;
				}
			}
			if (keep == 1)
				continue;
			/* A reset behaviour ends with a reset on purpose. */
			reset = keep == 0 && !e->eof &&
			    ((e->server && e->h.behaviour == B_RSTSERVER) ||
			    (!e->server && e->h.behaviour == B_RSTCLIENT));
			end_free(i, reset);
		}
	}
	printf("soak: seed %llu: %lu connections (", (unsigned long long)seed,
	    n_conns);
	for (i = 0; i < B_COUNT; i++)
		printf("%s%s %lu", i ? ", " : "", names[i], n_by[i]);
	printf("), %llu bytes checked, %zu worker kills, %lu cut by them, "
	    "%lu failures\n", n_bytes, nkills, n_cut, n_fail);
	return n_fail == 0 && n_conns > 0 ? TP_EXIT_OK : TP_EXIT_FAIL;
}
