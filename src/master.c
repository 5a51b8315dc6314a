/*
 * The master: worker supervision, signals, reload and introspection.
 */
#include <sys/types.h>
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
#include "msg.h"
#include "pidfile.h"
#include "proc.h"
#include "proto.h"
#include "sdnotify.h"
#include "worker.h"

#define STARTUP_TIMEOUT_MS	10000
#define STOP_TIMEOUT_MS		1000
#define RESPAWN_STABLE_MS	5000	/* a worker that lived this long */
#define RESPAWN_BACKOFF_MIN_MS	250
#define RESPAWN_BACKOFF_MAX_MS	30000
#define ANSWER_TIMEOUT_MS	2000	/* for SIGUSR1 and SIGUSR2 */

struct worker_proc {
	int			 id;
	pid_t			 pid;		/* -1: dead, waiting to respawn */
	struct msg_channel	 ch;
	uint32_t		 acked;		/* generation it serves */
	uint32_t		 sent;		/* newest generation sent */
	uint32_t		 stats_seq;	/* newest PROTO_STATS sent */
	uint32_t		 stats_entries;	/* answers to it so far */
	int			 stats_done;
	unsigned int		 dumps_pending;	/* PROTO_DUMP not yet done */
	int64_t			 started_ms;
	int64_t			 respawn_ms;
	int			 backoff_ms;
};

static struct master {
	struct master_setup	*setup;
	struct worker_proc	*workers;
	struct listener_table	*table;
	struct pollfd		*pfd;		/* one per worker channel */
	int			 reload_waiting;
	/* The table every worker served last: what a reload is told against. */
	size_t			 base_n;
	uint32_t		 base_next_id;	/* ids from here on are newer */
	int64_t			 startup_deadline_ms;
	struct {				/* SIGUSR1 */
		int		 active;
		int		 again;		/* signalled during a round */
		uint32_t	 seq;
		uint64_t	 retired;	/* through removed listeners */
		int64_t		 deadline_ms;
	} stats;
	struct {				/* SIGUSR2 */
		int		 active;
		int64_t		 deadline_ms;
	} dump;
} m;

static volatile sig_atomic_t	sig_term, sig_hup, sig_usr1, sig_usr2,
				sig_chld;

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
	}
}

static void
master_signals(sigset_t *waitmask)
{
	struct sigaction	sa;
	sigset_t		block;
	int			sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1,
				    SIGUSR2, SIGCHLD };
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

static int	live(const struct worker_proc *);

/* Kill a worker that cannot be trusted or served; it is restarted. */
static void
worker_kill(struct worker_proc *w)
{
	kill(w->pid, SIGKILL);
	msg_channel_clear(&w->ch);
}

/*
 * Queue the whole table for a worker.  A worker that cannot take it
 * (its queue is full: it has not read for a long time) is restarted,
 * and gets the table afresh; the master itself carries on.
 */
static int
send_table(struct worker_proc *w)
{
	struct proto_listener	 pl;
	struct proto_commit	 c;
	struct listener		*l;
	int			 fd;

	TAILQ_FOREACH(l, &m.table->list, entry) {
		listener_to_proto(l, m.table->generation, &pl);
		if ((fd = listener_worker_socket(l, w->id - 1)) == -1 ||
		    (fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    msg_enqueue(&w->ch, PROTO_LISTENER, &pl, sizeof(pl), fd)
		    == -1)
			goto fail;
	}
	memset(&c, 0, sizeof(c));
	c.version = PROTO_VERSION;
	c.generation = m.table->generation;
	c.nlisteners = (uint32_t)m.table->n;
	if (msg_enqueue(&w->ch, PROTO_COMMIT, &c, sizeof(c), -1) == -1)
		goto fail;
	w->sent = m.table->generation;
	msg_flush(&w->ch);
	return (0);
fail:
	log_warn("cannot send generation %u to worker %d; restarting it",
	    m.table->generation, w->id);
	worker_kill(w);
	return (-1);
}

static void
spawn(struct worker_proc *w)
{
	char	err[256];
	int	fd;
	pid_t	pid;

	if ((pid = proc_spawn(&fd, err, sizeof(err))) == -1) {
		log_warnx("cannot start worker %d: %s", w->id, err);
		w->respawn_ms = clock_now_ms() + RESPAWN_BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0)
		worker_main(w->id, &m.setup->ident, m.setup->detach);
	w->pid = pid;
	w->acked = w->sent = 0;
	w->stats_seq = w->stats_entries = 0;
	w->stats_done = 0;
	w->dumps_pending = 0;
	w->started_ms = clock_now_ms();
	w->respawn_ms = 0;
	msg_channel_init(&w->ch, fd);
	log_debug("started worker %d, pid %ld", w->id, (long)pid);
	send_table(w);
}

static struct worker_proc *
worker_by_pid(pid_t pid)
{
	int	i;

	for (i = 0; i < m.setup->nworkers; i++)
		if (m.workers[i].pid == pid)
			return (&m.workers[i]);
	return (NULL);
}

static void
startup_failed(void)
{
	log_warnx("start-up failed: a worker did not come up");
	if (m.setup->pidfh != NULL)
		pidfile_remove(m.setup->pidfh);
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
	listener_table_drop_worker(m.table, w->id - 1);
	if (m.startup_deadline_ms > 0)
		startup_failed();
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
}

static void
reap(void)
{
	struct worker_proc	*w;
	int			 status;
	pid_t			 pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((w = worker_by_pid(pid)) == NULL)
			continue;
		if (WIFSIGNALED(status))
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
static void
worker_violation(struct worker_proc *w, const char *why)
{
	log_warnx("worker %d (pid %ld): protocol violation: %s; killing it",
	    w->id, (long)w->pid, why);
	worker_kill(w);
}

/* A worker that runs and can be talked to. */
static int
live(const struct worker_proc *w)
{
	return (w->pid != -1 && w->ch.fd != -1);
}

/* Remember the table every worker serves now, for the next reload. */
static void
set_base(void)
{
	m.base_n = m.table->n;
	m.base_next_id = m.setup->next_id;
}

static void
all_acked_check(void)
{
	int	i;

	for (i = 0; i < m.setup->nworkers; i++)
		if (m.workers[i].pid == -1 ||
		    m.workers[i].acked != m.table->generation)
			return;
	if (m.startup_deadline_ms > 0) {
		m.startup_deadline_ms = 0;
		log_notice("ready: %zu listeners, %d workers", m.table->n,
		    m.setup->nworkers);
		sdnotify_ready("serving %zu listeners with %d workers",
		    m.table->n, m.setup->nworkers);
		if (m.setup->notify_fd != -1) {
			/* Tell the starting shell it worked; then detach. */
			int	fd;

			if (write(m.setup->notify_fd, "0", 1) != 1)
				log_warn("notify parent");
			close(m.setup->notify_fd);
			m.setup->notify_fd = -1;
			if ((fd = open("/dev/null", O_RDWR)) != -1) {
				dup2(fd, STDIN_FILENO);
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
				if (fd > STDERR_FILENO)
					close(fd);
			}
		}
		log_set_startup(0);
	}
	if (m.reload_waiting) {
		const struct listener	*l;
		size_t			 kept = 0;

		/*
		 * Ids are never reused and a re-added address gets a new
		 * one, so an id older than the base table's newest is one
		 * of the base table's: counted against what every worker
		 * served before, however many reloads came in between.
		 */
		TAILQ_FOREACH(l, &m.table->list, entry)
			if (l->id < m.base_next_id)
				kept++;
		m.reload_waiting = 0;
		log_notice("reload complete: generation %u, %zu listeners "
		    "kept, %zu added, %zu removed", m.table->generation,
		    kept, m.table->n - kept, m.base_n - kept);
		sdnotify_ready("serving %zu listeners with %d workers, "
		    "generation %u", m.table->n, m.setup->nworkers,
		    m.table->generation);
	}
	set_base();
}

static struct listener *
find_by_id(const struct listener_table *t, uint32_t id)
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
 * SIGUSR1.  Every worker is asked how many connections each listener
 * has; the listeners are logged once all have answered, or after
 * ANSWER_TIMEOUT_MS without the ones that did not.  A signal during a
 * round starts another one after it.
 */
static void
stats_finish(void)
{
	struct listener	*l;
	char		 buf[LOG_LINE_MAX];
	uint64_t	 total = m.stats.retired;
	int		 i;

	TAILQ_FOREACH(l, &m.table->list, entry)
		total += l->connections;
	log_notice("%zu listener%s, generation %u, %llu connection%s open",
	    m.table->n, m.table->n == 1 ? "" : "s", m.table->generation,
	    (unsigned long long)total, total == 1 ? "" : "s");
	TAILQ_FOREACH(l, &m.table->list, entry) {
		listener_describe(l, buf, sizeof(buf));
		log_notice("%llu connection%s on listener %u: %s",
		    (unsigned long long)l->connections,
		    l->connections == 1 ? "" : "s", l->id, buf);
		log_notice("listener %u counters: accepted=%llu denied=%llu "
		    "limit=%llu connect-failed=%llu sent=%llu received=%llu",
		    l->id, (unsigned long long)l->counters.accepted,
		    (unsigned long long)l->counters.denied,
		    (unsigned long long)l->counters.limited,
		    (unsigned long long)l->counters.failed,
		    (unsigned long long)l->counters.sent,
		    (unsigned long long)l->counters.received);
	}
	if (m.stats.retired > 0)
		log_notice("%llu connection%s on listeners no longer "
		    "configured", (unsigned long long)m.stats.retired,
		    m.stats.retired == 1 ? "" : "s");
	for (i = 0; i < m.setup->nworkers; i++) {
		struct worker_proc	*w = &m.workers[i];

		if (!live(w))
			log_warnx("worker %d is not running: its connections "
			    "are not counted", w->id);
		else if (w->stats_seq == m.stats.seq && !w->stats_done)
			log_warnx("worker %d did not answer within %d ms: its "
			    "connections are not counted", w->id,
			    ANSWER_TIMEOUT_MS);
	}
	m.stats.active = 0;
}

static void	stats_start(void);

/* Finish the round if every worker answered, or anyway at the deadline. */
static void
stats_check(int deadline)
{
	int	i;

	if (!m.stats.active)
		return;
	for (i = 0; i < m.setup->nworkers && !deadline; i++) {
		const struct worker_proc *w = &m.workers[i];

		if (live(w) && w->stats_seq == m.stats.seq && !w->stats_done)
			return;
	}
	stats_finish();
	if (m.stats.again) {
		m.stats.again = 0;
		stats_start();
	}
}

static void
stats_start(void)
{
	struct proto_stats	 req;
	struct listener		*l;
	int			 i;

	if (m.stats.active) {
		m.stats.again = 1;
		return;
	}
	m.stats.active = 1;
	m.stats.seq++;
	m.stats.retired = 0;
	m.stats.deadline_ms = clock_now_ms() + ANSWER_TIMEOUT_MS;
	TAILQ_FOREACH(l, &m.table->list, entry) {
		l->connections = 0;
		memset(&l->counters, 0, sizeof(l->counters));
	}
	memset(&req, 0, sizeof(req));
	req.seq = m.stats.seq;
	for (i = 0; i < m.setup->nworkers; i++) {
		struct worker_proc	*w = &m.workers[i];

		if (!live(w))
			continue;
		w->stats_seq = m.stats.seq;
		w->stats_entries = 0;
		w->stats_done = 0;
		if (msg_enqueue(&w->ch, PROTO_STATS, &req, sizeof(req), -1)
		    == -1)
			log_warn("cannot ask worker %d for its connections",
			    w->id);
		else
			msg_flush(&w->ch);
	}
	stats_check(0);
}

/* Check a stats answer's sequence number: 1 to use it, 0 if stale. */
static int
stats_answer(struct worker_proc *w, uint32_t seq)
{
	if (seq == 0 || seq > w->stats_seq) {
		worker_violation(w, "connection counts nobody asked for");
		return (-1);
	}
	if (seq != m.stats.seq || !m.stats.active)
		return (0);	/* late, for a round that is over */
	if (w->stats_done) {
		worker_violation(w, "connection counts after the last");
		return (-1);
	}
	return (1);
}

static void
stats_message(struct worker_proc *w, struct msg *msg)
{
	struct proto_listener_stats	 ls;
	struct proto_stats_done		 done;
	struct listener			*l;

	/* Sizes were checked by proto_check_worker_msg(). */
	if (msg->hdr.type == PROTO_LISTENER_STATS) {
		memcpy(&ls, msg->data, sizeof(ls));
		if (stats_answer(w, ls.seq) != 1)
			return;
		w->stats_entries++;
		/* Its table may be older than ours; ids tell them apart. */
		if ((l = find_by_id(m.table, ls.id)) != NULL) {
			l->connections += ls.connections;
			l->counters.accepted += ls.counters.accepted;
			l->counters.denied += ls.counters.denied;
			l->counters.limited += ls.counters.limited;
			l->counters.failed += ls.counters.failed;
			l->counters.sent += ls.counters.sent;
			l->counters.received += ls.counters.received;
		} else
			m.stats.retired += ls.connections;
		return;
	}
	memcpy(&done, msg->data, sizeof(done));
	if (stats_answer(w, done.seq) != 1)
		return;
	if (done.nlisteners != w->stats_entries) {
		worker_violation(w, "listener stats count does not match");
		return;
	}
	m.stats.retired += done.retired;
	w->stats_done = 1;
	stats_check(0);
}

/*
 * SIGUSR2.  Each worker logs its connections itself; the master says
 * when all have, or which did not within ANSWER_TIMEOUT_MS.
 */
static void
dump_finish(void)
{
	int	i;

	for (i = 0; i < m.setup->nworkers; i++)
		if (live(&m.workers[i]) && m.workers[i].dumps_pending > 0)
			log_warnx("worker %d did not list its connections "
			    "within %d ms", m.workers[i].id, ANSWER_TIMEOUT_MS);
	log_notice("end of the connection list");
	m.dump.active = 0;
}

static void
dump_check(int deadline)
{
	int	i;

	if (!m.dump.active)
		return;
	for (i = 0; i < m.setup->nworkers && !deadline; i++)
		if (live(&m.workers[i]) && m.workers[i].dumps_pending > 0)
			return;
	dump_finish();
}

static void
dump_start(void)
{
	int	i, n = 0;

	for (i = 0; i < m.setup->nworkers; i++)
		if (live(&m.workers[i]))
			n++;
	log_notice("open connections of %d running worker%s:", n,
	    n == 1 ? "" : "s");
	for (i = 0; i < m.setup->nworkers; i++) {
		struct worker_proc	*w = &m.workers[i];

		if (!live(w))
			continue;
		if (msg_enqueue(&w->ch, PROTO_DUMP, NULL, 0, -1) == -1) {
			log_warn("cannot ask worker %d for its connections",
			    w->id);
			continue;
		}
		w->dumps_pending++;
		msg_flush(&w->ch);
	}
	m.dump.active = 1;
	m.dump.deadline_ms = clock_now_ms() + ANSWER_TIMEOUT_MS;
	dump_check(0);
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
	struct proto_log_hdr	 hdr;
	char			 text[LOG_LINE_MAX], who[32], why[128];
	size_t			 len;

	if (proto_check_worker_msg(msg, why, sizeof(why)) == -1) {
		if (msg->fd != -1)
			close(msg->fd);
		worker_violation(w, why);
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_READY:
		memcpy(&c, msg->data, sizeof(c));
		if (c.generation <= w->acked || c.generation > w->sent) {
			worker_violation(w, "ready for a generation not sent");
			return;
		}
		w->acked = c.generation;
		all_acked_check();
		break;
	case PROTO_LOG:
		memcpy(&hdr, msg->data, sizeof(hdr));
		len = msg->hdr.len - sizeof(hdr);
		memcpy(text, msg->data + sizeof(hdr), len);
		text[len] = '\0';
		for (len = 0; text[len] != '\0'; len++)
			if ((unsigned char)text[len] < 0x20 ||
			    text[len] == 0x7f)
				text[len] = ' ';
		snprintf(who, sizeof(who), "worker %d", w->id);
		log_write((int)hdr.level, who, text);
		break;
	case PROTO_DUMP_DONE:
		if (w->dumps_pending == 0) {
			worker_violation(w, "dump reply nobody asked for");
			return;
		}
		w->dumps_pending--;
		dump_check(0);
		break;
	case PROTO_LISTENER_STATS:
	case PROTO_STATS_DONE:
		stats_message(w, msg);
		break;
	}
}

static void
worker_io(struct worker_proc *w, int revents)
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
			worker_violation(w, why);
		else
			msg_channel_clear(&w->ch);	/* reaped soon */
	}
}

/* One line per listener that a new table adds, keeps or removes. */
static void
log_table_changes(const struct listener_table *old,
    const struct listener_table *nt)
{
	const struct listener	*l;
	char			 buf[LOG_LINE_MAX];

	TAILQ_FOREACH(l, &nt->list, entry) {
		listener_describe(l, buf, sizeof(buf));
		log_notice("%s %s", find_by_id(old, l->id) ? "keeping" :
		    "listening on", buf);
	}
	if (old == NULL)
		return;
	TAILQ_FOREACH(l, &old->list, entry)
		if (find_by_id(nt, l->id) == NULL) {
			listener_describe(l, buf, sizeof(buf));
			log_notice("closing %s", buf);
		}
}

/*
 * SIGHUP.  Everything that can fail happens before anything changes:
 * parse, resolve, bind.  Then the new table replaces the old one, the
 * sockets of removed listeners are closed, and every worker gets the
 * new table; kept listeners keep their socket throughout.
 */
static void
reload_failed(int nerrors)
{
	log_warnx("reload failed with %d error%s; still serving generation "
	    "%u", nerrors, nerrors == 1 ? "" : "s", m.table->generation);
	sdnotify_ready("reload failed with %d error%s; still serving "
	    "generation %u", nerrors, nerrors == 1 ? "" : "s",
	    m.table->generation);
}

static void
reload(void)
{
	struct listener_table	*nt;
	struct listener		*l;
	struct conf		 c;
	const char		*path = m.setup->config_path;
	int			 i;

	sdnotify_reloading();
	log_targets_reopen();
	if (path == NULL) {
		log_notice("SIGHUP: no config file to reload (started with "
		    "-p); log files reopened");
		sdnotify_ready("serving %zu listeners with %d workers",
		    m.table->n, m.setup->nworkers);
		return;
	}
	log_notice("reloading %s", path);
	conf_init(&c, m.setup->bufsize);
	conf_policy_copy(&c.global, m.setup->defaults);
	if (conf_parse_file(&c, path) > 0 || conf_resolve(&c) > 0) {
		reload_failed(c.nerrors);
		conf_free(&c);
		return;
	}
	if ((nt = malloc(sizeof(*nt))) == NULL) {
		log_warn("reload");
		reload_failed(1);
		conf_free(&c);
		return;
	}
	if (listener_table_build(nt, &c, m.table, &m.setup->next_id,
	    m.setup->nworkers) == -1) {
		reload_failed(nt->conf.nerrors);
		conf_free(&c);
		free(nt);
		return;
	}
	conf_free(&c);
	nt->generation = m.table->generation + 1;

	if (m.reload_waiting)
		log_notice("generation %u is superseded before every worker "
		    "switched to it", m.table->generation);
	log_table_changes(m.table, nt);
	TAILQ_FOREACH(l, &nt->list, entry) {
		const struct listener	*prev = find_by_id(m.table, l->id);

		/* A SIGUSR1 round may be counting. */
		l->connections = prev != NULL ? prev->connections : 0;
	}
	listener_table_free(m.table, nt);
	free(m.table);
	m.table = m.setup->table = nt;
	log_notice("generation %u: %zu listeners; sending it to the workers",
	    nt->generation, nt->n);
	for (i = 0; i < m.setup->nworkers; i++)
		if (live(&m.workers[i]))
			send_table(&m.workers[i]);
		else if (m.workers[i].pid == -1)	/* to be restarted */
			listener_table_drop_worker(nt, i);
	m.reload_waiting = 1;
	all_acked_check();
}

/*
 * While the workers stop, keep reading what they send: their last lines
 * (a close line per connection) still belong in the log.
 */
static void
drain_workers(int ms)
{
	int	i;

	for (i = 0; i < m.setup->nworkers; i++) {
		m.pfd[i].fd = m.workers[i].ch.fd;
		m.pfd[i].events = POLLIN;
		m.pfd[i].revents = 0;
	}
	if (poll(m.pfd, (nfds_t)m.setup->nworkers, ms) <= 0)
		return;
	for (i = 0; i < m.setup->nworkers; i++)
		if (m.pfd[i].revents != 0 && m.workers[i].ch.fd != -1)
			worker_io(&m.workers[i], m.pfd[i].revents);
}

/* SIGTERM/SIGINT/SIGQUIT: stop the workers, at once if they dawdle. */
__attribute__((__noreturn__))
static void
shutdown_all(int sig)
{
	int64_t	deadline = clock_now_ms() + STOP_TIMEOUT_MS;
	int	i, left;
	pid_t	pid;

	log_notice("%s received, shutting down", sig == SIGINT ? "SIGINT" :
	    sig == SIGQUIT ? "SIGQUIT" : "SIGTERM");
	sdnotify_stopping();
	for (i = 0; i < m.setup->nworkers; i++)
		if (m.workers[i].pid != -1)
			kill(m.workers[i].pid, SIGTERM);
	for (;;) {
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
			struct worker_proc *w = worker_by_pid(pid);

			if (w != NULL)
				w->pid = -1;
		}
		/* Done when every worker exited and said all it had to say. */
		for (i = left = 0; i < m.setup->nworkers; i++)
			if (m.workers[i].pid != -1 || m.workers[i].ch.fd != -1)
				left++;
		if (left == 0)
			break;
		if (clock_now_ms() >= deadline) {
			for (i = 0; i < m.setup->nworkers; i++)
				if (m.workers[i].pid != -1) {
					kill(m.workers[i].pid, SIGKILL);
					waitpid(m.workers[i].pid, NULL, 0);
					m.workers[i].pid = -1;
				}
			break;
		}
		drain_workers(10);
	}
	for (i = 0; i < m.setup->nworkers; i++)
		msg_channel_clear(&m.workers[i].ch);
	if (m.setup->pidfh != NULL)
		pidfile_remove(m.setup->pidfh);
	listener_table_free(m.table, NULL);
	free(m.table);
	free(m.workers);
	free(m.pfd);
	log_notice("shutdown complete");
	log_targets_close();
	exit(0);
}

void
master_run(struct master_setup *setup)
{
	struct pollfd	*pfd;
	sigset_t	 waitmask;
	int64_t		 now, next;
	int		 i, n, timeout;

	m.setup = setup;
	m.table = setup->table;
	m.table->generation = 1;
	setproctitle("master");
	sdnotify_init();
	master_signals(&waitmask);
	if ((m.workers = calloc((size_t)setup->nworkers,
	    sizeof(*m.workers))) == NULL ||
	    (pfd = m.pfd = calloc((size_t)setup->nworkers,
	    sizeof(*pfd))) == NULL)
		fatal("workers");
	set_base();
	log_table_changes(NULL, m.table);
	m.startup_deadline_ms = clock_now_ms() + STARTUP_TIMEOUT_MS;
	for (i = 0; i < setup->nworkers; i++) {
		m.workers[i].id = i + 1;
		m.workers[i].pid = -1;
		msg_channel_init(&m.workers[i].ch, -1);
		spawn(&m.workers[i]);
		if (m.workers[i].pid == -1)
			startup_failed();
	}

	for (;;) {
		if (sig_term)
			shutdown_all(sig_term);
		if (sig_chld) {
			sig_chld = 0;
			reap();
		}
		/* A worker that died or was killed is not waited for. */
		stats_check(0);
		dump_check(0);
		if (sig_hup) {
			sig_hup = 0;
			reload();
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			stats_start();
		}
		if (sig_usr2) {
			sig_usr2 = 0;
			dump_start();
		}

		now = clock_now_ms();
		next = -1;
		if (m.stats.active && now >= m.stats.deadline_ms)
			stats_check(1);
		if (m.dump.active && now >= m.dump.deadline_ms)
			dump_check(1);
		if (m.stats.active)
			next = m.stats.deadline_ms;
		if (m.dump.active && (next == -1 || m.dump.deadline_ms < next))
			next = m.dump.deadline_ms;
		for (i = 0; i < setup->nworkers; i++) {
			struct worker_proc *w = &m.workers[i];

			if (w->pid == -1 && w->respawn_ms > 0) {
				if (w->respawn_ms <= now)
					spawn(w);
				else if (next == -1 || w->respawn_ms < next)
					next = w->respawn_ms;
			}
		}
		if (m.startup_deadline_ms > 0) {
			if (now >= m.startup_deadline_ms)
				startup_failed();
			if (next == -1 || m.startup_deadline_ms < next)
				next = m.startup_deadline_ms;
		}
		timeout = next == -1 ? -1 : (int)(next - now > 0 ?
		    next - now : 0);

		for (i = n = 0; i < setup->nworkers; i++) {
			struct worker_proc *w = &m.workers[i];

			pfd[i].fd = w->ch.fd;
			pfd[i].events = POLLIN |
			    (msg_pending(&w->ch) ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		{
			struct timespec ts, *tsp = NULL;

			if (timeout >= 0) {
				ts.tv_sec = timeout / 1000;
				ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
				tsp = &ts;
			}
			n = ppoll(pfd, (nfds_t)setup->nworkers, tsp, &waitmask);
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("ppoll");
		}
		for (i = 0; i < setup->nworkers; i++)
			if (pfd[i].revents != 0 && m.workers[i].ch.fd != -1)
				worker_io(&m.workers[i], pfd[i].revents);
	}
}
