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

#include "conf.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "msg.h"
#include "proc.h"
#include "proto.h"
#include "worker.h"

#define STARTUP_TIMEOUT_MS	10000
#define STOP_TIMEOUT_MS		1000
#define RESPAWN_STABLE_MS	5000	/* a worker that lived this long */
#define RESPAWN_BACKOFF_MIN_MS	250
#define RESPAWN_BACKOFF_MAX_MS	30000

struct worker_proc {
	int			 id;
	pid_t			 pid;		/* -1: dead, waiting to respawn */
	struct msg_channel	 ch;
	uint32_t		 acked;		/* generation it serves */
	int64_t			 started_ms;
	int64_t			 respawn_ms;
	int			 backoff_ms;
};

static struct master {
	struct master_setup	*setup;
	struct worker_proc	*workers;
	struct listener_table	*table;
	struct pollfd		*pfd;		/* one per worker channel */
	uint32_t		 reload_kept, reload_added, reload_removed;
	int			 reload_waiting;
	int64_t			 startup_deadline_ms;
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

static void
send_table(struct worker_proc *w)
{
	struct proto_listener	 pl;
	struct proto_commit	 c;
	struct listener		*l;
	int			 fd;

	TAILQ_FOREACH(l, &m.table->list, entry) {
		listener_to_proto(l, m.table->generation, &pl);
		if ((fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 0)) == -1)
			fatal("dup");
		if (msg_enqueue(&w->ch, PROTO_LISTENER, &pl, sizeof(pl), fd)
		    == -1)
			fatal("queue to worker %d", w->id);
	}
	memset(&c, 0, sizeof(c));
	c.version = PROTO_VERSION;
	c.generation = m.table->generation;
	c.nlisteners = (uint32_t)m.table->n;
	if (msg_enqueue(&w->ch, PROTO_COMMIT, &c, sizeof(c), -1) == -1)
		fatal("queue to worker %d", w->id);
	msg_flush(&w->ch);
}

static void
spawn(struct worker_proc *w)
{
	char	err[256];
	int	fd;
	pid_t	pid;

	if ((pid = proc_spawn(&fd, err, sizeof(err))) == -1) {
		log_warnx("cannot start worker %d: %s", w->id, err);
		w->respawn_ms = worker_now_ms() + RESPAWN_BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0)
		worker_main(w->id, &m.setup->ident, m.setup->detach);
	w->pid = pid;
	w->acked = 0;
	w->started_ms = worker_now_ms();
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
	int64_t	now = worker_now_ms();

	msg_channel_clear(&w->ch);
	w->pid = -1;
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
	kill(w->pid, SIGKILL);
	msg_channel_clear(&w->ch);
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
		m.reload_waiting = 0;
		log_notice("reload complete: generation %u, %u listeners "
		    "kept, %u added, %u removed", m.table->generation,
		    m.reload_kept, m.reload_added, m.reload_removed);
	}
}

static void
worker_message(struct worker_proc *w, struct msg *msg)
{
	struct proto_commit	 c;
	struct proto_log_hdr	 hdr;
	char			 text[LOG_LINE_MAX], who[32];
	size_t			 len;

	if (msg->fd != -1) {
		close(msg->fd);
		worker_violation(w, "unexpected descriptor");
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_READY:
		if (msg->hdr.len != sizeof(c)) {
			worker_violation(w, "bad ready message");
			return;
		}
		memcpy(&c, msg->data, sizeof(c));
		w->acked = c.generation;
		all_acked_check();
		break;
	case PROTO_LOG:
		if (msg->hdr.len < sizeof(hdr) + 1 ||
		    msg->hdr.len > sizeof(hdr) + sizeof(text) - 1) {
			worker_violation(w, "bad log message");
			return;
		}
		memcpy(&hdr, msg->data, sizeof(hdr));
		if (hdr.level < LOG_LVL_ERROR || hdr.level > LOG_LVL_DEBUG) {
			worker_violation(w, "bad log level");
			return;
		}
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
		if (msg->hdr.len != 0) {
			worker_violation(w, "bad dump reply");
			return;
		}
		break;
	default:
		worker_violation(w, "unknown message type");
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

static const struct listener *
find_by_id(const struct listener_table *t, uint32_t id)
{
	const struct listener	*l;

	if (t == NULL)
		return (NULL);
	TAILQ_FOREACH(l, &t->list, entry)
		if (l->id == id)
			return (l);
	return (NULL);
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
reload(void)
{
	struct listener_table	*nt;
	struct listener		*l;
	struct conf		 c;
	const char		*path = m.setup->config_path;
	int			 i;

	log_targets_reopen();
	if (path == NULL) {
		log_notice("SIGHUP: no config file to reload (started with "
		    "-p); log files reopened");
		return;
	}
	log_notice("reloading %s", path);
	conf_init(&c, m.setup->bufsize);
	if (conf_parse_file(&c, path) > 0 || conf_resolve(&c) > 0) {
		log_warnx("reload failed with %d errors; still serving the "
		    "previous configuration", c.nerrors);
		conf_free(&c);
		return;
	}
	if ((nt = malloc(sizeof(*nt))) == NULL) {
		log_warn("reload");
		conf_free(&c);
		return;
	}
	if (listener_table_build(nt, &c, m.table, &m.setup->next_id) == -1) {
		log_warnx("reload failed with %d errors; still serving the "
		    "previous configuration", nt->conf.nerrors);
		conf_free(&c);
		free(nt);
		return;
	}
	conf_free(&c);
	nt->generation = m.table->generation + 1;

	m.reload_kept = m.reload_added = m.reload_removed = 0;
	TAILQ_FOREACH(l, &nt->list, entry) {
		if (find_by_id(m.table, l->id) != NULL)
			m.reload_kept++;
		else
			m.reload_added++;
	}
	m.reload_removed = (uint32_t)(m.table->n - m.reload_kept);
	log_table_changes(m.table, nt);
	listener_table_free(m.table, nt);
	free(m.table);
	m.table = m.setup->table = nt;
	for (i = 0; i < m.setup->nworkers; i++)
		if (m.workers[i].pid != -1 && m.workers[i].ch.fd != -1)
			send_table(&m.workers[i]);
	m.reload_waiting = 1;
	all_acked_check();
}

static void
show_listeners(void)
{
	struct listener	*l;
	char		 buf[LOG_LINE_MAX];

	log_notice("%zu listeners, generation %u", m.table->n,
	    m.table->generation);
	TAILQ_FOREACH(l, &m.table->list, entry) {
		listener_describe(l, buf, sizeof(buf));
		log_notice("listener %u: %s", l->id, buf);
	}
}

static void
ask_dump(void)
{
	int	i;

	for (i = 0; i < m.setup->nworkers; i++)
		if (m.workers[i].pid != -1 && m.workers[i].ch.fd != -1) {
			msg_enqueue(&m.workers[i].ch, PROTO_DUMP, NULL, 0, -1);
			msg_flush(&m.workers[i].ch);
		}
}

/* SIGTERM/SIGINT/SIGQUIT: stop the workers, at once if they dawdle. */
__attribute__((__noreturn__))
static void
shutdown_all(int sig)
{
	int64_t	deadline = worker_now_ms() + STOP_TIMEOUT_MS;
	int	i, left;
	pid_t	pid;

	log_notice("%s received, shutting down", sig == SIGINT ? "SIGINT" :
	    sig == SIGQUIT ? "SIGQUIT" : "SIGTERM");
	for (i = 0; i < m.setup->nworkers; i++)
		if (m.workers[i].pid != -1)
			kill(m.workers[i].pid, SIGTERM);
	for (;;) {
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
			struct worker_proc *w = worker_by_pid(pid);

			if (w != NULL)
				w->pid = -1;
		}
		for (i = left = 0; i < m.setup->nworkers; i++)
			if (m.workers[i].pid != -1)
				left++;
		if (left == 0)
			break;
		if (worker_now_ms() >= deadline) {
			for (i = 0; i < m.setup->nworkers; i++)
				if (m.workers[i].pid != -1) {
					kill(m.workers[i].pid, SIGKILL);
					waitpid(m.workers[i].pid, NULL, 0);
					m.workers[i].pid = -1;
				}
			break;
		}
		usleep(10000);
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
	master_signals(&waitmask);
	if ((m.workers = calloc((size_t)setup->nworkers,
	    sizeof(*m.workers))) == NULL ||
	    (pfd = m.pfd = calloc((size_t)setup->nworkers,
	    sizeof(*pfd))) == NULL)
		fatal("workers");
	log_table_changes(NULL, m.table);
	m.startup_deadline_ms = worker_now_ms() + STARTUP_TIMEOUT_MS;
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
		if (sig_hup) {
			sig_hup = 0;
			reload();
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			show_listeners();
		}
		if (sig_usr2) {
			sig_usr2 = 0;
			ask_dump();
		}

		now = worker_now_ms();
		next = -1;
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
