/*
 * The master: start-up, worker supervision, signals and the loop.
 * Stop is master_stop.c; reload, master_reload.c; the rounds of
 * questions to every worker, master_rounds.c.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "counts.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "master_state.h"
#include "msg.h"
#include "pidfile.h"
#include "proc.h"
#include "proto.h"
#include "sockmap_load.h"
#include "sdnotify.h"
#include "upgrade.h"
#include "worker.h"

#define STARTUP_TIMEOUT_MS	10000
#define RESPAWN_STABLE_MS	5000	/* a worker that lived this long */
#define RESPAWN_BACKOFF_MIN_MS	250
#define RESPAWN_BACKOFF_MAX_MS	30000

static volatile sig_atomic_t	sig_term, sig_hup, sig_usr1, sig_usr2,
				sig_chld, sig_urg;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
	case SIGQUIT:
		sig_term = sig;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		sig_usr1 = 1;
		break;
	case SIGUSR2:
		sig_usr2 = 1;
		break;
	case SIGCHLD:
		sig_chld = 1;
		break;
	case SIGURG:
		sig_urg = 1;
		break;
	}
}

static void
master_signals(sigset_t *waitmask)
{
	struct sigaction	sa;
	sigset_t		block;
	int			sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1,
				    SIGUSR2, SIGCHLD, SIGURG };
	size_t			i;

	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	/* Handled only while waiting in ppoll(), never mid-update. */
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(waitmask, sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

struct master_state	ms;

/* Kill a worker that cannot be trusted or served; it is restarted. */
void
master_worker_kill(struct worker_proc *w)
{
	kill(w->pid, SIGKILL);
	msg_channel_clear(&w->ch);
}

/*
 * Queue the whole table for a worker.  A worker that cannot take it
 * (its queue is full: it has not read for a long time) is restarted,
 * and gets the table afresh; the master itself carries on.
 */
int
master_send_table(struct worker_proc *w)
{
	struct proto_listener	 pl;
	struct proto_commit	 c;
	struct listener		*l;
	int			 fd;

	TAILQ_FOREACH(l, &ms.table->list, entry) {
		listener_to_proto(l, ms.table->generation, &pl);
		if ((fd = listener_worker_socket(l, w->id - 1)) == -1 ||
		    (fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    proto_to_worker(&w->ch, PROTO_LISTENER, &pl, sizeof(pl), fd)
		    == -1)
			goto fail;
	}
	memset(&c, 0, sizeof(c));
	c.version = PROTO_VERSION;
	c.generation = ms.table->generation;
	c.nlisteners = (uint32_t)ms.table->n;
	if (proto_to_worker(&w->ch, PROTO_COMMIT, &c, sizeof(c), -1) == -1)
		goto fail;
	w->sent = ms.table->generation;
	msg_flush(&w->ch);
	return (0);
fail:
	log_warn("cannot send generation %u to worker %d; restarting it",
	    ms.table->generation, w->id);
	master_worker_kill(w);
	return (-1);
}

/*
 * The in-kernel data path's maps for a new worker, loaded afresh: each
 * worker's sockets are its own.  Without them (not built, --no-sockmap,
 * or the kernel refused: said once) the worker relays in user space.
 */
static void
master_send_sockmap(struct worker_proc *w)
{
	static int		said;
	struct proto_sockmap	sm;
	struct rlimit		rl;
	char			err[256];
	int			fds[SOCKMAP_NMAPS], i;

	if (!sockmap_enabled)
		return;
	/* A map entry per descriptor the worker may have, within reason. */
	memset(&sm, 0, sizeof(sm));
	sm.entries = SOCKMAP_ENTRIES_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < sm.entries)
		sm.entries = (uint32_t)rl.rlim_cur;
	if (sockmap_load(sm.entries, fds, err, sizeof(err)) == -1) {
		if (!said)
			log_notice("sockmap: %s; connections are relayed in "
			    "user space", err);
		said = 1;
		return;
	}
	for (i = 0; i < SOCKMAP_NMAPS; i++) {
		sm.map = (uint32_t)i;
		if (proto_to_worker(&w->ch, PROTO_SOCKMAP, &sm, sizeof(sm),
		    fds[i]) == -1) {
			while (++i < SOCKMAP_NMAPS)
				close(fds[i]);
			log_warn("cannot send the kernel path to worker %d",
			    w->id);
			return;
		}
	}
	msg_flush(&w->ch);
}

static void
spawn(struct worker_proc *w)
{
	char	err[256];
	int	fd;
	pid_t	pid;

	/* Write access to its own row of counts only. */
	if ((pid = proc_spawn(&fd, counts_child_setup, w->id, err,
	    sizeof(err))) == -1) {
		log_warnx("cannot start worker %d: %s", w->id, err);
		w->respawn_ms = clock_now_ms() + RESPAWN_BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0)
		worker_main(w->id, &ms.setup->ident, ms.setup->detach);
	w->pid = pid;
	w->acked = w->sent = 0;
	w->stats_seq = w->stats_entries = 0;
	w->stats_done = 0;
	w->dumps_pending = 0;
	w->started_ms = clock_now_ms();
	w->respawn_ms = 0;
	w->ping_sent_ms = w->ping_next_ms = 0;
	msg_channel_init(&w->ch, fd);
	log_debug("started worker %d, pid %ld", w->id, (long)pid);
	master_send_sockmap(w);
	master_send_table(w);
}

struct worker_proc *
master_worker_by_pid(pid_t pid)
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++)
		if (ms.workers[i].pid == pid)
			return (&ms.workers[i]);
	return (NULL);
}

static void
startup_failed(void)
{
	log_warnx("start-up failed: a worker did not come up");
	if (ms.setup->pidfh != NULL)
		pidfile_remove(ms.setup->pidfh);
	exit(1);
}


/* Forget a worker and schedule its replacement, slower if it keeps dying. */
static void
worker_gone(struct worker_proc *w)
{
	int64_t	now = clock_now_ms();

	msg_channel_clear(&w->ch);
	w->pid = -1;
	/* Its connections are gone: so are the counts they held. */
	counts_forget_worker(w->id);
	listener_table_drop_worker(ms.table, w->id - 1);
	master_control_worker_gone(w);
	if (ms.startup_deadline_ms > 0)
		startup_failed();
	if (ms.stopping) {
		w->respawn_ms = 0;
		return;
	}
	w->restarts++;
	if (now - w->started_ms >= RESPAWN_STABLE_MS)
		w->backoff_ms = 0;
	else if (w->backoff_ms == 0)
		w->backoff_ms = RESPAWN_BACKOFF_MIN_MS;
	else if ((w->backoff_ms *= 2) > RESPAWN_BACKOFF_MAX_MS)
		w->backoff_ms = RESPAWN_BACKOFF_MAX_MS;
	w->respawn_ms = now + w->backoff_ms;
	if (w->backoff_ms > 0)
		log_msg(LOG_LVL_WARNING, "restarting worker %d in %d ms", w->id,
		    w->backoff_ms);
	/* A reload that waited on it only waits for the others now. */
	master_all_acked_check();
}

static void
reap(void)
{
	struct worker_proc	*w;
	char			 who[32];
	int			 status;
	pid_t			 pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((w = master_worker_by_pid(pid)) == NULL) {
			if (!master_metrics_reaped(pid, status) &&
			    !master_resolve_reaped(pid, status))
				master_upgrade_reaped(pid, status);
			continue;
		}
		snprintf(who, sizeof(who), "worker %d", w->id);
		master_child_last_words(&w->ch, who);
		if (w->quiesced && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			log_notice("worker %d (pid %ld) finished its "
			    "connections", w->id, (long)pid);
		else if (WIFSIGNALED(status))
			log_warnx("worker %d (pid %ld) killed by signal %d "
			    "(%s)", w->id, (long)pid, WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
		else
			log_warnx("worker %d (pid %ld) exited with status %d",
			    w->id, (long)pid, WEXITSTATUS(status));
		worker_gone(w);
	}
}

/* A worker broke the protocol: it is no longer trusted to live. */
void
master_worker_violation(struct worker_proc *w, const char *why)
{
	log_warnx("worker %d (pid %ld): protocol violation: %s; killing it",
	    w->id, (long)w->pid, why);
	master_worker_kill(w);
}

/* A worker that runs and can be talked to. */
int
master_worker_live(const struct worker_proc *w)
{
	return (w->pid != -1 && w->ch.fd != -1);
}

/* Remember the table every worker serves now, for the next reload. */
static void
set_base(void)
{
	ms.base_n = ms.table->n;
	ms.base_next_id = ms.setup->next_id;
}

/*
 * Does worker w serve the current table?  One that died and waits to be
 * restarted counts, but at start-up: its replacement starts with it, and
 * a reload must not wait out its back-off.
 */
int
master_worker_current(const struct worker_proc *w)
{
	if (w->pid == -1)
		return (ms.startup_deadline_ms == 0);
	return (w->acked == ms.table->generation);
}

void
master_all_acked_check(void)
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++)
		if (!master_worker_current(&ms.workers[i]))
			return;
	if (ms.startup_deadline_ms > 0) {
		ms.startup_deadline_ms = 0;
		log_notice("ready: %zu listeners, %d workers", ms.table->n,
		    ms.setup->nworkers);
		sdnotify_ready("serving %zu listeners with %d workers",
		    ms.table->n, ms.setup->nworkers);
		upgrade_ready();
		if (ms.setup->notify_fd != -1) {
			/* Tell the starting shell it worked; then detach. */
			if (write(ms.setup->notify_fd, "0", 1) != 1)
				log_warn("notify parent");
			close(ms.setup->notify_fd);
			ms.setup->notify_fd = -1;
			proc_stdio_null(1);
		}
		log_set_startup(0);
	}
	if (ms.reload_waiting) {
		const struct listener	*l;
		size_t			 kept = 0;

		/*
		 * Ids are never reused and a re-added address gets a new
		 * one, so an id older than the base table's newest is one
		 * of the base table's: counted against what every worker
		 * served before, however many reloads came in between.
		 */
		TAILQ_FOREACH(l, &ms.table->list, entry)
			if (l->id < ms.base_next_id)
				kept++;
		ms.reload_waiting = 0;
		ms.reloads++;
		ms.last_reload.generation = ms.table->generation;
		ms.last_reload.kept = kept;
		ms.last_reload.added = ms.table->n - kept;
		ms.last_reload.removed = ms.base_n - kept;
		log_notice("reload complete: generation %u, %zu listeners "
		    "kept, %zu added, %zu removed", ms.table->generation,
		    kept, ms.table->n - kept, ms.base_n - kept);
		sdnotify_ready("serving %zu listeners with %d workers, "
		    "generation %u", ms.table->n, ms.setup->nworkers,
		    ms.table->generation);
	}
	set_base();
	master_control_reloaded();
}

struct listener *
master_listener_by_id(const struct listener_table *t, uint32_t id)
{
	struct listener	*l;

	if (t == NULL)
		return (NULL);
	TAILQ_FOREACH(l, &t->list, entry)
		if (l->id == id)
			return (l);
	return (NULL);
}

/*
 * A child's log record (checked by proto_check_worker_msg()), written
 * in its name with control characters made blanks.
 */
void
master_child_log(const char *who, const struct msg *msg)
{
	struct proto_log_hdr	 hdr;
	char			 text[LOG_LINE_MAX];
	size_t			 len;

	memcpy(&hdr, msg->data, sizeof(hdr));
	len = msg->hdr.len - sizeof(hdr);
	memcpy(text, msg->data + sizeof(hdr), len);
	text[len] = '\0';
	log_sanitize(text, strlen(text));
	log_write((int)hdr.level, who, text);
}

/*
 * A child has exited: log what it said last and the master had not read
 * yet (a fatal error, often), before the line that says it died.  Only
 * log records count now; the first message that is not one ends it.  A
 * dead process writes no more, so this ends with the socket's buffer.
 */
void
master_child_last_words(struct msg_channel *ch, const char *who)
{
	struct msg	 msg;
	const char	*why;
	char		 reason[128];

	while (ch->fd != -1 && msg_read(ch, &msg, &why) == 1) {
		if (msg.fd != -1)
			close(msg.fd);
		if (proto_check_worker_msg(&msg, reason, sizeof(reason)) == -1 ||
		    msg.hdr.type != PROTO_LOG)
			break;
		master_child_log(who, &msg);
	}
}

/*
 * One message from a worker.  proto_check_worker_msg() (the code the
 * fuzzer runs) checks type and sizes; what needs our state is checked
 * here: a ready for a generation we sent, answers to questions asked.
 */
static void
worker_message(struct worker_proc *w, struct msg *msg)
{
	struct proto_commit	 c;
	char			 who[32], why[128];

	if (proto_check_worker_msg(msg, why, sizeof(why)) == -1) {
		if (msg->fd != -1)
			close(msg->fd);
		master_worker_violation(w, why);
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_READY:
		memcpy(&c, msg->data, sizeof(c));
		if (c.generation <= w->acked || c.generation > w->sent) {
			master_worker_violation(w, "ready for a generation not sent");
			return;
		}
		w->acked = c.generation;
		master_all_acked_check();
		break;
	case PROTO_LOG:
		snprintf(who, sizeof(who), "worker %d", w->id);
		master_child_log(who, msg);
		break;
	case PROTO_DUMP_DONE:
		master_dump_done(w);
		break;
	case PROTO_LISTENER_STATS:
	case PROTO_STATS_DONE:
		master_stats_message(w, msg);
		break;
	case PROTO_CONN_BATCH:
	case PROTO_CONNS_DONE:
	case PROTO_KILL_DONE:
		master_control_message(w, msg);
		break;
	case PROTO_PONG:
		master_watchdog_pong(w, msg);
		break;
	}
}

/* Flush what a worker's channel holds; read and act on what it sent. */
void
master_worker_io(struct worker_proc *w, int revents)
{
	struct msg	 msg;
	const char	*why;
	int		 rc = 0;

	if ((revents & POLLOUT) && msg_flush(&w->ch) == -1) {
		msg_channel_clear(&w->ch);
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	while (w->ch.fd != -1 && (rc = msg_read(&w->ch, &msg, &why)) == 1)
		worker_message(w, &msg);
	if (w->ch.fd != -1 && rc == -1) {
		if (why != NULL)
			master_worker_violation(w, why);
		else
			msg_channel_clear(&w->ch);	/* reaped soon */
	}
}

/* The master's state, its signals, and every worker started. */
static void
master_start(struct master_setup *setup, sigset_t *waitmask)
{
	int	i;

	ms.setup = setup;
	ms.started_ms = clock_now_ms();
	ms.table = setup->table;
	ms.table->generation = 1;
	setproctitle("master");
	sdnotify_init();
	master_signals(waitmask);
	if ((ms.workers = calloc((size_t)setup->nworkers,
	    sizeof(*ms.workers))) == NULL ||
	    (ms.pfd = calloc((size_t)setup->nworkers + 2 +
	    CONTROL_POLLFDS, sizeof(*ms.pfd))) == NULL)
		fatal("workers");
	control_set_handler(master_control_request);
	set_base();
	master_log_table_changes(NULL, ms.table);
	ms.startup_deadline_ms = clock_now_ms() + STARTUP_TIMEOUT_MS;
	for (i = 0; i < setup->nworkers; i++) {
		ms.workers[i].id = i + 1;
		ms.workers[i].pid = -1;
		msg_channel_init(&ms.workers[i].ch, -1);
		spawn(&ms.workers[i]);
		if (ms.workers[i].pid == -1)
			startup_failed();
	}
	master_metrics_commit();
}

/* Act on the flags the signal handlers set during ppoll(). */
static void
handle_signals(void)
{
	int	sig;

	if (sig_chld) {
		sig_chld = 0;
		reap();
	}
	sig = sig_term;
	sig_term = 0;
	master_stop_check(sig);
	/* A worker that died or was killed is not waited for. */
	master_rounds_check();
	if (sig_hup) {
		sig_hup = 0;
		if (ms.stopping)
			log_notice("SIGHUP ignored: stopping");
		else
			master_reload(0);
	}
	if (sig_usr1) {
		sig_usr1 = 0;
		master_stats_start(1);
	}
	if (sig_usr2) {
		sig_usr2 = 0;
		master_dump_start();
	}
	if (sig_urg) {
		sig_urg = 0;
		master_upgrade_start(0);
	}
}

/* Start the workers due again; the earliest restart still to come. */
static int64_t
respawn_due(int64_t now, int64_t next)
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++) {
		struct worker_proc *w = &ms.workers[i];

		if (w->pid == -1 && w->respawn_ms > 0) {
			if (w->respawn_ms <= now)
				spawn(w);
			else if (next == -1 || w->respawn_ms < next)
				next = w->respawn_ms;
		}
	}
	return (next);
}

/*
 * Act on every deadline that has passed; returns the next one, -1 for
 * none.
 */
static int64_t
run_timers(int64_t now)
{
	int64_t	next;

	next = master_rounds_expire(now);
	control_expire(now);
	master_control_expire(now);
	next = deadline_earliest(next, control_deadline());
	next = deadline_earliest(next, master_control_deadline());
	if (ms.stopping)
		next = deadline_earliest(next, ms.stop_deadline_ms);
	master_metrics_respawn(now, &next);
	next = deadline_earliest(next, master_upgrade_deadline());
	next = deadline_earliest(next, master_watchdog_check(now));
	next = deadline_earliest(next, master_resolve_check(now));
	next = respawn_due(now, next);
	if (ms.startup_deadline_ms > 0) {
		if (now >= ms.startup_deadline_ms)
			startup_failed();
		if (next == -1 || ms.startup_deadline_ms < next)
			next = ms.startup_deadline_ms;
	}
	return (next);
}

/*
 * The poll slots: one per worker, the metrics process, the upgrade's
 * new master, then the control socket's.  Returns how many are used.
 */
static int
fill_pollfds(void)
{
	struct pollfd	*pfd = ms.pfd;
	int		 i, nw = ms.setup->nworkers;

	for (i = 0; i < nw; i++) {
		struct worker_proc *w = &ms.workers[i];

		pfd[i].fd = w->ch.fd;
		pfd[i].events = POLLIN | (msg_pending(&w->ch) ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
	master_metrics_pollfd(&pfd[nw]);
	master_upgrade_pollfd(&pfd[nw + 1]);
	return (nw + 2 + control_pollfds(pfd + nw + 2));
}

/* Serve the slots that poll found ready. */
static void
dispatch_pollfds(int nfds)
{
	struct pollfd	*pfd = ms.pfd;
	int		 i, nw = ms.setup->nworkers;

	for (i = 0; i < nw; i++)
		if (pfd[i].revents != 0 && ms.workers[i].ch.fd != -1)
			master_worker_io(&ms.workers[i], pfd[i].revents);
	master_metrics_io(&pfd[nw]);
	control_io(pfd + nw + 2, nfds - nw - 2);
	master_upgrade_io(&pfd[nw + 1], clock_now_ms());
}

void
master_run(struct master_setup *setup)
{
	struct timespec	 ts;
	sigset_t	 waitmask;
	int64_t		 now, next;
	int		 nfds, timeout;

	master_start(setup, &waitmask);
	for (;;) {
		handle_signals();
		now = clock_now_ms();
		next = run_timers(now);
		timeout = next == -1 ? -1 : (int)(next - now > 0 ?
		    next - now : 0);
		nfds = fill_pollfds();
		if (ppoll(ms.pfd, (nfds_t)nfds, clock_timeout(timeout, &ts),
		    &waitmask) == -1) {
			if (errno == EINTR)
				continue;
			fatal("ppoll");
		}
		dispatch_pollfds(nfds);
	}
}
