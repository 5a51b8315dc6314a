/*
 * The worker process: privilege drop, the channel to the master, the
 * listener table and the accept path.  Relaying is in relay.c.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "counts.h"
#include "flow.h"
#include "log.h"
#include "logsink.h"
#include "msg.h"
#include "pollset.h"
#include "proc.h"
#include "proto.h"
#include "relay.h"
#include "relay_sockmap.h"
#include "sandbox.h"
#include "wlistener.h"
#include "worker_sandbox.h"
#include "worker.h"

#define ACCEPT_BURST		64	/* accepts per listener per wake-up */
#define ACCEPT_PAUSE_MS		250	/* after EMFILE and friends */
#define FDS_RESERVED		16	/* stdio, channel, listeners */
#define LISTENER_FULL_MS	100	/* recheck a listener at its limit */
#define SWEEP_MS		1000	/* timeouts are checked this often */
#define EXIT_DRAIN_MS		500	/* for the last log lines at exit */

struct worker {
	int			 id;
	struct pollset		 ps;
	struct wlistener_list	 listeners;	/* the active table */
	struct wlistener_list	 pending;	/* being received */
	uint32_t		 pending_generation;
	struct relay_set	 relays;
	uint64_t		 max_relays;	/* from RLIMIT_NOFILE */
	int64_t			 now_ms;	/* as of the last wake-up */
	int64_t			 next_sweep_ms;	/* timeouts, once a second */
	int			 accept_paused;
	int			 accept_failing;	/* EMFILE and the like */
	int64_t			 accept_resume_ms;
	int			 quiescing;	/* exit after the last relay */
};

static struct worker		 worker;
static struct msg_channel	 channel;
static int			 channel_slot;
static volatile sig_atomic_t	 quit;
static volatile sig_atomic_t	 hook_garbage, hook_violation, hook_fatal;
static volatile sig_atomic_t	 hook_forge, hook_write_other;
static char			*test_hooks;	/* strdup'd; NULL: off */
static const char		*test_stall_file;
static int			 use_sandbox = 1;

static void	worker_channel_io(void *, int);
static void	worker_accept(void *, int);

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

/* Our log records go to the master, which owns the targets. */
static void
worker_log_sink(int level, const char *msg, int last)
{
	logsink_send(&channel, level, msg, last);
	if (channel_slot >= 0)
		pollset_events(&worker.ps, channel_slot,
		    POLLIN | (msg_pending(&channel) ? POLLOUT : 0));
}

static void
listener_events(struct worker *w, struct wlistener *l)
{
	pollset_events(&w->ps, l->slot, w->accept_paused ||
	    l->full_until_ms > 0 || l->conf.paused ? 0 : POLLIN);
}

/*
 * A listener at max-connections is not polled for a moment, so clients
 * wait in its queue (and are refused by the kernel once it is full);
 * any worker's relay may close meanwhile, so look again soon.
 */
static void
listener_full_recheck(struct worker *w, int *timeout)
{
	struct wlistener	*l;
	int64_t			 left;

	TAILQ_FOREACH(l, &w->listeners, entry) {
		if (l->full_until_ms == 0)
			continue;
		if (w->now_ms >= l->full_until_ms) {
			l->full_until_ms = 0;
			listener_events(w, l);
			continue;
		}
		left = l->full_until_ms - w->now_ms;
		if (*timeout < 0 || left < *timeout)
			*timeout = (int)left;
	}
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
static void
accept_resume(struct worker *w)
{
	struct wlistener	*l;

	if (!w->accept_paused || w->relays.n >= w->max_relays ||
	    (w->accept_resume_ms > 0 &&
	    clock_now_ms() < w->accept_resume_ms))
		return;
	w->accept_paused = 0;
	w->accept_resume_ms = 0;
	TAILQ_FOREACH(l, &w->listeners, entry)
		listener_events(w, l);
}

/* relay.c's word that a relay ended: room for one more client. */
static void
resume_on_close(void *arg)
{
	accept_resume(arg);
}

static void
listener_remove(struct worker *w, struct wlistener *l)
{
	TAILQ_REMOVE(&w->listeners, l, entry);
	pollset_del(&w->ps, l->slot);
	close(l->fd);
	l->fd = -1;
	wlistener_retire(l);
}

static void
worker_accept(void *arg, int revents)
{
	struct wlistener	*l = arg;
	struct worker		*w = &worker;
	struct counts_hold	 hold;
	struct addr		 client;
	int			 fd, i;

	(void)revents;
	for (i = 0; i < ACCEPT_BURST && !w->accept_paused; i++) {
		if (w->relays.n >= w->max_relays) {
			/* Leave the rest in the kernel's queue. */
			log_msg(LOG_LVL_WARNING, "%llu connections open, as "
			    "many as the descriptor limit allows: new clients "
			    "wait until one closes",
			    (unsigned long long)w->relays.n);
			accept_pause(w, 0);
			return;
		}
		if (counts_reserve(&l->conf, &hold) == -1) {
			/* At max-connections: leave clients queued. */
			l->full_until_ms = clock_now_ms() + LISTENER_FULL_MS;
			listener_events(w, l);
			return;
		}
		client.len = sizeof(client.ss);
		fd = accept4(l->fd, (struct sockaddr *)&client.ss, &client.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			counts_release(&hold);
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
			case EINVAL:
				/* Drained by the master: its word follows. */
				l->conf.paused = 1;
				listener_events(w, l);
				return;
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
				accept_pause(w, clock_now_ms() +
				    ACCEPT_PAUSE_MS);
				return;
			default:
				log_warn("accept on %s", l->name);
				return;
			}
		}
		w->accept_failing = 0;
		relay_start(&w->relays, l, fd, &client, &hold);
	}
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

	if (w->quiescing) {
		/* Stopping: a table sent meanwhile is not served. */
		close(m->fd);
		return;
	}
	l = wlistener_new(m->data, m->fd);
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

	memcpy(&c, m->data, sizeof(c));
	TAILQ_FOREACH(l, &w->pending, entry)
		n++;
	if (!w->quiescing && (n != c.nlisteners ||
	    (n > 0 && c.generation != w->pending_generation)))
		proto_error("commit does not match the listeners sent");
	TAILQ_FOREACH(l, &w->pending, entry)
		if (flow_scratch_reserve(l->conf.bufsize) == -1)
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
	flow_trim();
	log_debug("now serving %zu listeners of generation %u", n,
	    c.generation);
	ready = c;
	if (proto_to_master(&channel, PROTO_READY, &ready, sizeof(ready), -1)
	    == -1)
		fatal("ready");
}

/*
 * SIGUSR1 in the master: how many connections each listener of our
 * table has.  A kept listener is a new wlistener after every reload,
 * and its older connections still hang off the retired ones, so those
 * are matched to the table by id.
 */
static void
handle_stats(struct worker *w, struct msg *m)
{
	struct proto_stats		 req;
	struct proto_listener_stats	 ls;
	struct proto_stats_done		 done;
	struct wlistener		*l;
	struct relay			*r;
	uint64_t			*older;
	size_t				 i, n = 0;

	memcpy(&req, m->data, sizeof(req));
	memset(&done, 0, sizeof(done));
	done.seq = req.seq;
	TAILQ_FOREACH(l, &w->listeners, entry)
		n++;
	older = calloc(n + 1, sizeof(*older));
	TAILQ_FOREACH(r, &w->relays.list, entry) {
		if (r->listener->in_table)
			continue;	/* counted in its nrelays */
		i = 0;
		TAILQ_FOREACH(l, &w->listeners, entry) {
			if (l->conf.id == r->listener->conf.id)
				break;
			i++;
		}
		if (l != NULL && older != NULL)
			older[i]++;
		else
			done.retired++;
	}
	i = 0;
	TAILQ_FOREACH(l, &w->listeners, entry) {
		memset(&ls, 0, sizeof(ls));
		ls.seq = req.seq;
		ls.id = l->conf.id;
		ls.connections = l->nrelays + (older != NULL ? older[i] : 0);
		ls.counters = *wlistener_counters(l);
		/* Bytes of open connections count too, not only closed ones. */
		if (i == 0)
			relay_sync_counts(&w->relays);
		TAILQ_FOREACH(r, &w->relays.list, entry)
			if (r->listener->conf.id == l->conf.id) {
				ls.counters.sent += r->up.bytes;
				ls.counters.received += r->down.bytes;
			}
		i++;
		if (proto_to_master(&channel, PROTO_LISTENER_STATS, &ls,
		    sizeof(ls), -1) == 0)
			done.nlisteners++;
	}
	free(older);
	if (proto_to_master(&channel, PROTO_STATS_DONE, &done, sizeof(done), -1)
	    == -1)
		log_warn("cannot answer the master's stats request");
}

/* SIGUSR2 in the master: our connections, one line each. */
static void
handle_dump(struct worker *w)
{
	if (w->relays.n == 0)
		log_notice("no open connections");
	else {
		log_notice("%llu open connection%s:",
		    (unsigned long long)w->relays.n,
		    w->relays.n == 1 ? "" : "s");
		relay_dump(&w->relays);
	}
	if (proto_to_master(&channel, PROTO_DUMP_DONE, NULL, 0, -1) == -1)
		log_warn("cannot answer the master's dump request");
}

/*
 * The control socket's "show connections": every open connection (of
 * one listener, if asked), in batches, then how many batches were sent.
 */
static void
handle_conns(struct worker *w, struct msg *m)
{
	struct proto_conns	 req;
	struct proto_conns_done	 done;
	struct proto_conn_batch	 b;
	struct relay		*r;

	memcpy(&req, m->data, sizeof(req));
	memset(&done, 0, sizeof(done));
	done.seq = req.seq;
	memset(&b, 0, sizeof(b));
	b.seq = req.seq;
	relay_sync_counts(&w->relays);
	TAILQ_FOREACH(r, &w->relays.list, entry) {
		if (req.listener != 0 && r->listener->conf.id != req.listener)
			continue;
		relay_describe(r, w->now_ms, &b.conn[b.n++]);
		if (b.n < PROTO_CONN_BATCH_MAX && TAILQ_NEXT(r, entry) != NULL)
			continue;
		if (proto_to_master(&channel, PROTO_CONN_BATCH, &b,
		    PROTO_CONN_BATCH_LEN(b.n), -1) == 0)
			done.batches++;
		b.n = 0;
	}
	if (b.n > 0 && proto_to_master(&channel, PROTO_CONN_BATCH, &b,
	    PROTO_CONN_BATCH_LEN(b.n), -1) == 0)
		done.batches++;
	if (proto_to_master(&channel, PROTO_CONNS_DONE, &done, sizeof(done), -1)
	    == -1)
		log_warn("cannot answer the master's connection list request");
}

static void
handle_kill(struct worker *w, struct msg *m)
{
	struct proto_kill	 req;
	struct proto_kill_done	 done;

	memcpy(&req, m->data, sizeof(req));
	memset(&done, 0, sizeof(done));
	done.seq = req.seq;
	done.found = (uint32_t)relay_kill(&w->relays, req.relay);
	if (proto_to_master(&channel, PROTO_KILL_DONE, &done, sizeof(done), -1)
	    == -1)
		log_warn("cannot answer the master's kill request");
}

/* Drain or enable: the master stopped or restarted the socket itself. */
static void
handle_pause(struct worker *w, struct msg *m)
{
	struct proto_pause	 req;
	struct wlistener	*l;

	memcpy(&req, m->data, sizeof(req));
	TAILQ_FOREACH(l, &w->listeners, entry)
		if (l->conf.id == req.listener) {
			l->conf.paused = (uint8_t)req.paused;
			listener_events(w, l);
		}
}

/* One of the kernel path's maps; a worker without them relays itself. */
static void
handle_sockmap(struct worker *w, struct msg *m)
{
	struct proto_sockmap	sm;

	memcpy(&sm, m->data, sizeof(sm));
	if (relay_sockmap_take(&w->relays, sm.map, sm.entries, m->fd) == -1)
		proto_error("kernel path map out of place");
	m->fd = -1;
}

/* The master's heartbeat: answering it proves this loop still turns. */
static void
handle_ping(struct msg *m)
{
	struct proto_ping	ping;

	memcpy(&ping, m->data, sizeof(ping));
	if (proto_to_master(&channel, PROTO_PONG, &ping, sizeof(ping), -1) == -1)
		proto_error("cannot answer the heartbeat");
}

/*
 * A graceful stop or an upgrade: accept no more, let the connections
 * finish, and exit after the last one (the master bounds the wait).
 */
static void
handle_quiesce(struct worker *w)
{
	struct wlistener	*l;

	while ((l = TAILQ_FIRST(&w->listeners)) != NULL)
		listener_remove(w, l);
	w->quiescing = 1;
	log_debug("accepting no more; %llu connection%s to finish",
	    (unsigned long long)w->relays.n, w->relays.n == 1 ? "" : "s");
}

static void
worker_channel_io(void *arg, int revents)
{
	struct worker	*w = arg;
	struct msg	 m;
	const char	*why;
	char		 reason[128];
	int		 rc;

	if (revents & POLLOUT && msg_flush(&channel) == -1) {
		log_debug("master went away");
		quit = 1;
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		while ((rc = msg_read(&channel, &m, &why)) == 1) {
			if (proto_check_master_msg(&m, reason,
			    sizeof(reason)) == -1)
				proto_error(reason);
			switch (m.hdr.type) {
			case PROTO_LISTENER:
				handle_listener(w, &m);
				break;
			case PROTO_COMMIT:
				handle_commit(w, &m);
				break;
			case PROTO_DUMP:
				handle_dump(w);
				break;
			case PROTO_STATS:
				handle_stats(w, &m);
				break;
			case PROTO_CONNS:
				handle_conns(w, &m);
				break;
			case PROTO_KILL:
				handle_kill(w, &m);
				break;
			case PROTO_PAUSE:
				handle_pause(w, &m);
				break;
			case PROTO_QUIESCE:
				handle_quiesce(w);
				break;
			case PROTO_PING:
				handle_ping(&m);
				break;
			case PROTO_SOCKMAP:
				handle_sockmap(w, &m);
				break;
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

/*
 * Test hooks (TCPPROXY_TEST_HOOKS in the environment at start-up): the
 * suite makes a worker misbehave on purpose, to see the master and the
 * sandbox deal with it.  SIGUSR1: send the master a message of no known
 * type.  SIGUSR2: make a system call the sandbox forbids.  SIGWINCH:
 * fill the channel to the master with log lines, then die of a fatal
 * error, whose line must still reach the log.  SIGTTIN: forge our own
 * row of connection counts; SIGTTOU: write into another worker's row.
 */
static void
on_test_hook(int sig)
{
	if (sig == SIGUSR1)
		hook_garbage = 1;
	else if (sig == SIGUSR2)
		hook_violation = 1;
	else if (sig == SIGTTIN)
		hook_forge = 1;
	else if (sig == SIGTTOU)
		hook_write_other = 1;
	else
		hook_fatal = 1;
}

static void
run_test_hooks(void)
{
	static const char	garbage[] = "not a message";

	if (hook_garbage) {
		hook_garbage = 0;
		msg_enqueue(&channel, 0xdead, garbage, sizeof(garbage), -1);
		msg_flush(&channel);
	}
	if (hook_violation) {
		hook_violation = 0;
		worker_sandbox_violation();
	}
	if (hook_forge) {
		hook_forge = 0;
		counts_selftest_forge_own();
		log_notice("test hook: forged own counts");
	}
	if (hook_write_other) {
		hook_write_other = 0;
		counts_selftest_write_other();
		log_notice("test hook: wrote another worker's counts");
	}
	if (hook_fatal) {
		int	i;

		/* More than the queue and the socket buffer both hold. */
		for (i = 0; i < 2 * MSG_QUEUE_MAX; i++)
			log_notice("test hook: filler line %d", i);
		fatalx("test hook: fatal error after %d lines", i);
	}
}

/*
 * value: a copy of TCPPROXY_TEST_HOOKS, kept, or NULL.  A path (from /) also
 * names a stall file: a worker started while it exists waits, before it
 * takes its table, until it is gone, as a worker stuck at start would.
 * "sockmap-refuse": the kernel refuses every socket the worker hands to
 * the in-kernel data path, as a broken map would (the first refusal
 * turns the path off).
 */
void
worker_set_test_hooks(char *value)
{
	test_hooks = value;
	test_stall_file = value != NULL && value[0] == '/' ? value : NULL;
	if (value != NULL && strcmp(value, "sockmap-refuse") == 0)
		relay_sockmap_test_refuse();
}

void
worker_set_sandbox(int on)
{
	use_sandbox = on;
}

/*
 * Signals are blocked but while waiting in ppoll(), so that a handler
 * never interrupts an update.
 */
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
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = test_hooks != NULL ? on_test_hook : SIG_IGN;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGTTIN, &sa, NULL);
	sigaction(SIGTTOU, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGTTIN);
	sigaddset(&block, SIGTTOU);
	sigprocmask(SIG_SETMASK, &block, NULL);
	sigemptyset(waitmask);
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
	pooled = rl.rlim_cur / 64 < FLOW_PIPE_POOL_MAX ? rl.rlim_cur / 64 :
	    FLOW_PIPE_POOL_MAX;
	flow_pool_limit((size_t)pooled);
	if (rl.rlim_cur <= FDS_RESERVED + 2 * pooled + 2)
		return (1);
	return ((rl.rlim_cur - FDS_RESERVED - 2 * pooled) / 2);
}

/* On the way out: give the master our last log lines, briefly. */
static void
channel_drain(int ms)
{
	struct pollfd	pfd = { PROC_CHANNEL_FD, POLLOUT, 0 };
	int64_t		deadline = clock_now_ms() + ms;

	while (msg_flush(&channel) == 0 && msg_pending(&channel) &&
	    clock_now_ms() < deadline)
		poll(&pfd, 1, 10);
}

/*
 * A detached daemon's workers must not hold the starting terminal's (or
 * pipe's) stdout and stderr: they log through the master anyway.
 */
static void
detach_stdio(int all)
{
	if (proc_stdio_null(all) == -1)
		fatal("/dev/null");
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

	while (test_stall_file != NULL && access(test_stall_file, F_OK) == 0)
		usleep(50 * 1000);
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
	counts_set_worker(id);
	TAILQ_INIT(&w->listeners);
	TAILQ_INIT(&w->pending);
	w->max_relays = relays_allowed();
	if (pollset_init(&w->ps, 256) == -1)
		fatal("pollset");
	relay_set_init(&w->relays, &w->ps, &w->now_ms, resume_on_close, w);
	log_debug("waiting with %s", pollset_name(&w->ps));
	setup_signals(&waitmask);
	if (pollset_add(&w->ps, PROC_CHANNEL_FD, POLLIN, worker_channel_io, w,
	    &channel_slot) == -1)
		fatal("pollset");

	/* From here on, only what the poll loop needs. */
	if (use_sandbox) {
		if (sandbox_enter(&worker_sandbox, err, sizeof(err)) == -1)
			fatalx("cannot enter the sandbox: %s", err);
		log_debug("sandbox: %s", sandbox_name());
	} else
		log_debug("sandbox: off (--no-sandbox)");

	w->now_ms = clock_now_ms();
	w->next_sweep_ms = w->now_ms + SWEEP_MS;
	while (!quit && !(w->quiescing && w->relays.n == 0)) {
		timeout = -1;
		if (w->accept_paused && w->accept_resume_ms > 0) {
			int64_t	left = w->accept_resume_ms - w->now_ms;

			timeout = left > 0 ? (int)left : 0;
		}
		listener_full_recheck(w, &timeout);
		timeout = relay_sockmap_timeout(&w->relays, w->now_ms, timeout);
		if (w->relays.n > 0) {
			int64_t	left = w->next_sweep_ms - w->now_ms;

			if (left < 0)
				left = 0;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (pollset_poll(&w->ps, timeout, &waitmask) == -1 &&
		    errno != EINTR)
			fatal("poll");
		w->now_ms = clock_now_ms();
		if (test_hooks != NULL)
			run_test_hooks();
		if (w->accept_paused && w->accept_resume_ms > 0)
			accept_resume(w);
		relay_sockmap_run(&w->relays, w->now_ms);
		if (w->now_ms >= w->next_sweep_ms) {
			relay_sweep(&w->relays, w->now_ms);
			w->next_sweep_ms = w->now_ms + SWEEP_MS;
		}
	}
	/*
	 * Connections end with the process, each with its accounting line;
	 * the kernel still sends what it holds for them.
	 */
	log_debug("exiting with %llu connections open",
	    (unsigned long long)w->relays.n);
	relay_shutdown_all(&w->relays);
	channel_drain(EXIT_DRAIN_MS);
	exit(0);
}
