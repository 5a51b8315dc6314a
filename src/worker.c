/*
 * The worker process: privilege drop, the channel to the master, the
 * listener table and the accept path.  Relaying is in relay.c.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "proc.h"
#include "proto.h"
#include "relay.h"
#include "worker.h"

#define ACCEPT_BURST		64	/* accepts per listener per wake-up */
#define ACCEPT_PAUSE_MS		250	/* after EMFILE and friends */
#define FDS_RESERVED		16	/* stdio, channel, listeners */

static struct worker		 worker;
static struct msg_channel	 channel;
static int			 channel_slot;
static volatile sig_atomic_t	 quit;

static void	worker_channel_io(void *, int);
static void	worker_accept(void *, int);

int64_t
worker_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

/* Our log records go to the master, which owns the targets. */
static void
worker_log_sink(int level, const char *msg)
{
	unsigned char		 buf[MSG_PAYLOAD_MAX];
	struct proto_log_hdr	 hdr;
	size_t			 len = strlen(msg);

	hdr.level = (uint32_t)level;
	if (len > sizeof(buf) - sizeof(hdr))
		len = sizeof(buf) - sizeof(hdr);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), msg, len);
	if (msg_enqueue(&channel, PROTO_LOG, buf, sizeof(hdr) + len, -1) == 0)
		msg_flush(&channel);
	if (channel_slot >= 0)
		pollset_events(&worker.ps, channel_slot,
		    POLLIN | (msg_pending(&channel) ? POLLOUT : 0));
}

static void
listener_events(struct worker *w, struct wlistener *l)
{
	pollset_events(&w->ps, l->slot, w->accept_paused ? 0 : POLLIN);
}

static void
accept_pause(struct worker *w, int64_t until_ms)
{
	struct wlistener	*l;

	w->accept_paused = 1;
	w->accept_resume_ms = until_ms;
	TAILQ_FOREACH(l, &w->listeners, entry)
		listener_events(w, l);
}

/* Called when a relay ends, and from the loop when a pause is over. */
void
worker_accept_resume(struct worker *w)
{
	struct wlistener	*l;

	if (!w->accept_paused || w->nrelays >= w->max_relays ||
	    (w->accept_resume_ms > 0 &&
	    worker_now_ms() < w->accept_resume_ms))
		return;
	w->accept_paused = 0;
	w->accept_resume_ms = 0;
	TAILQ_FOREACH(l, &w->listeners, entry)
		listener_events(w, l);
}

void
worker_listener_unref(struct worker *w, struct wlistener *l)
{
	(void)w;
	if (--l->refs == 0 && !l->in_table)
		free(l);
}

static void
listener_remove(struct worker *w, struct wlistener *l)
{
	TAILQ_REMOVE(&w->listeners, l, entry);
	pollset_del(&w->ps, l->slot);
	close(l->fd);
	l->fd = -1;
	l->in_table = 0;
	if (l->refs == 0)
		free(l);
}

static void
worker_accept(void *arg, int revents)
{
	struct wlistener	*l = arg;
	struct worker		*w = &worker;
	struct addr		 client;
	int			 fd, i;

	(void)revents;
	for (i = 0; i < ACCEPT_BURST && !w->accept_paused; i++) {
		if (w->nrelays >= w->max_relays) {
			/* Leave the rest in the kernel's queue. */
			log_msg(LOG_LVL_WARNING, "%llu connections open, as "
			    "many as the descriptor limit allows: new clients "
			    "wait until one closes",
			    (unsigned long long)w->nrelays);
			accept_pause(w, 0);
			return;
		}
		client.len = sizeof(client.ss);
		fd = accept4(l->fd, (struct sockaddr *)&client.ss, &client.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;	/* another worker was quicker */
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Once per shortage, not once per pause. */
				if (!w->accept_failing)
					log_msg(LOG_LVL_WARNING, "accept on %s: "
					    "%s, pausing accepts for %d ms "
					    "at a time until it passes",
					    l->name, strerror(errno),
					    ACCEPT_PAUSE_MS);
				w->accept_failing = 1;
				accept_pause(w, worker_now_ms() +
				    ACCEPT_PAUSE_MS);
				return;
			default:
				log_warn("accept on %s", l->name);
				return;
			}
		}
		w->accept_failing = 0;
		relay_start(w, l, fd, &client);
	}
}

static int
scratch_reserve(struct worker *w, size_t size)
{
	unsigned char	*p;

	if (size <= w->scratch_size)
		return (0);
	if ((p = realloc(w->scratch, size)) == NULL)
		return (-1);
	w->scratch = p;
	w->scratch_size = size;
	return (0);
}

static void
proto_error(const char *why)
{
	fatalx("protocol error from master: %s", why);
}

static void
handle_listener(struct worker *w, struct msg *m)
{
	struct wlistener	*l;

	if (m->hdr.len != sizeof(struct proto_listener) || m->fd == -1)
		proto_error("bad listener message");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("listener");
	memcpy(&l->conf, m->data, sizeof(l->conf));
	if (l->conf.nremotes == 0 || l->conf.nremotes > ADDR_MAX ||
	    l->conf.bufsize == 0)
		proto_error("bad listener contents");
	l->fd = m->fd;
	l->slot = -1;
	l->in_table = 1;
	addr_fmt(&l->conf.local, l->name, sizeof(l->name));
	if (TAILQ_EMPTY(&w->pending))
		w->pending_generation = l->conf.generation;
	else if (l->conf.generation != w->pending_generation)
		proto_error("listener of another generation");
	TAILQ_INSERT_TAIL(&w->pending, l, entry);
}

/*
 * Switch to the pending table.  The old listeners' descriptors are
 * closed: a kept listener arrived again with a fresh duplicate of the
 * same socket, so nothing queued on it is lost.  Relays keep the
 * configuration they started with.
 */
static void
handle_commit(struct worker *w, struct msg *m)
{
	struct proto_commit	 c, ready;
	struct wlistener	*l;
	size_t			 n = 0;

	if (m->hdr.len != sizeof(c) || m->fd != -1)
		proto_error("bad commit message");
	memcpy(&c, m->data, sizeof(c));
	TAILQ_FOREACH(l, &w->pending, entry)
		n++;
	if (c.version != PROTO_VERSION || n != c.nlisteners ||
	    (n > 0 && c.generation != w->pending_generation))
		proto_error("commit does not match the listeners sent");
	TAILQ_FOREACH(l, &w->pending, entry)
		if (scratch_reserve(w, l->conf.bufsize) == -1)
			fatal("buffer");
	while ((l = TAILQ_FIRST(&w->listeners)) != NULL)
		listener_remove(w, l);
	while ((l = TAILQ_FIRST(&w->pending)) != NULL) {
		TAILQ_REMOVE(&w->pending, l, entry);
		TAILQ_INSERT_TAIL(&w->listeners, l, entry);
		if (pollset_add(&w->ps, l->fd, 0, worker_accept, l,
		    &l->slot) == -1)
			fatal("pollset");
		listener_events(w, l);
	}
	relay_dir_trim();
	log_debug("now serving %zu listeners of generation %u", n,
	    c.generation);
	ready = c;
	if (msg_enqueue(&channel, PROTO_READY, &ready, sizeof(ready), -1)
	    == -1)
		fatal("ready");
}

static void
worker_channel_io(void *arg, int revents)
{
	struct worker	*w = arg;
	struct msg	 m;
	const char	*why;
	int		 rc;

	if (revents & POLLOUT && msg_flush(&channel) == -1) {
		log_debug("master went away");
		quit = 1;
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		while ((rc = msg_read(&channel, &m, &why)) == 1) {
			switch (m.hdr.type) {
			case PROTO_LISTENER:
				handle_listener(w, &m);
				break;
			case PROTO_COMMIT:
				handle_commit(w, &m);
				break;
			case PROTO_DUMP:
				if (m.hdr.len != 0 || m.fd != -1)
					proto_error("bad dump message");
				relay_dump(w);
				msg_enqueue(&channel, PROTO_DUMP_DONE, NULL, 0,
				    -1);
				break;
			default:
				if (m.fd != -1)
					close(m.fd);
				proto_error("unknown message type");
			}
		}
		if (rc == -1) {
			if (why != NULL)
				proto_error(why);
			/* The master is gone: so are we. */
			quit = 1;
			return;
		}
	}
	if (msg_flush(&channel) == -1) {
		quit = 1;
		return;
	}
	pollset_events(&w->ps, channel_slot,
	    POLLIN | (msg_pending(&channel) ? POLLOUT : 0));
}

static void
setup_signals(sigset_t *waitmask)
{
	struct sigaction	sa;
	sigset_t		block;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	/* The master handles these; a terminal sends them to us too. */
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
}

/*
 * How many relays the descriptor limit allows: two sockets each, after
 * room for stdio, the channel and listeners, and for the pipe pool.  A
 * relay may briefly want pipes on top; without them it copies instead.
 */
static uint64_t
relays_allowed(void)
{
	struct rlimit	rl;
	rlim_t		pooled;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 65536;
	pooled = rl.rlim_cur / 64 < RELAY_PIPE_POOL_MAX ? rl.rlim_cur / 64 :
	    RELAY_PIPE_POOL_MAX;
	relay_dir_pool_limit((size_t)pooled);
	if (rl.rlim_cur <= FDS_RESERVED + 2 * pooled + 2)
		return (1);
	return ((rl.rlim_cur - FDS_RESERVED - 2 * pooled) / 2);
}

/*
 * A detached daemon's workers must not hold the starting terminal's (or
 * pipe's) stdout and stderr: they log through the master anyway.
 */
static void
detach_stdio(int all)
{
	int	fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(fd, STDIN_FILENO);
	if (all) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (fd > STDERR_FILENO)
		close(fd);
}

void
worker_main(int id, const struct proc_identity *ident, int detach)
{
	struct worker	*w = &worker;
	char		 name[32], err[256];
	sigset_t	 waitmask;
	int		 timeout;

	snprintf(name, sizeof(name), "worker %d", id);
	log_set_procname(name);
	setproctitle("%s", name);
	msg_channel_init(&channel, PROC_CHANNEL_FD);
	channel_slot = -1;
	log_set_sink(worker_log_sink);
	log_set_startup(0);
	detach_stdio(detach);

	if (proc_drop_privileges(ident, err, sizeof(err)) == -1)
		fatalx("cannot drop privileges: %s", err);
	if (ident->change_uid || ident->chroot != NULL)
		log_debug("running as uid %lu gid %lu%s%s",
		    (unsigned long)getuid(), (unsigned long)getgid(),
		    ident->chroot ? " in chroot " : "",
		    ident->chroot ? ident->chroot : "");
	else if (geteuid() != 0)
		log_debug("not dropping privileges: not running as root, "
		    "already uid %lu", (unsigned long)geteuid());
	else
		log_debug("not dropping privileges: no -u, -g or -C given");

	memset(w, 0, sizeof(*w));
	w->id = id;
	TAILQ_INIT(&w->listeners);
	TAILQ_INIT(&w->pending);
	TAILQ_INIT(&w->relays);
	w->max_relays = relays_allowed();
	if (pollset_init(&w->ps, 256) == -1)
		fatal("pollset");
	setup_signals(&waitmask);
	if (pollset_add(&w->ps, PROC_CHANNEL_FD, POLLIN, worker_channel_io, w,
	    &channel_slot) == -1)
		fatal("pollset");

	while (!quit) {
		timeout = -1;
		if (w->accept_paused && w->accept_resume_ms > 0) {
			int64_t	left = w->accept_resume_ms - worker_now_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		if (pollset_poll(&w->ps, timeout, &waitmask) == -1 &&
		    errno != EINTR)
			fatal("poll");
		if (w->accept_paused && w->accept_resume_ms > 0)
			worker_accept_resume(w);
	}
	/* Connections end with the process; the kernel sends what it holds. */
	log_debug("exiting with %llu connections open",
	    (unsigned long long)w->nrelays);
	msg_flush(&channel);
	exit(0);
}
