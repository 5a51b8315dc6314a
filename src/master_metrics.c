/*
 * The master's side of the metrics process: binding its socket (on
 * start-up and, when the address changes, on reload), starting and
 * restarting it, and reading its log records.  It asks for the counters
 * on a socketpair the control socket code serves (control_attach), so
 * the master answers it exactly as it answers tcpproxyctl.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "control.h"
#include "counts.h"
#include "listener.h"
#include "log.h"
#include "master_state.h"
#include "metrics.h"
#include "msg.h"
#include "proc.h"
#include "proto.h"
#include "upgrade.h"

#define METRICS_STABLE_MS	5000
#define METRICS_BACKOFF_MAX_MS	30000

static struct metrics_proc *const mt = &ms.metrics;

/* Start-up, before master_run: the socket is bound while errors show. */
int
master_metrics_setup(struct conf *c)
{
	memset(mt, 0, sizeof(*mt));
	mt->pid = -1;
	mt->fd = mt->next_fd = -1;
	msg_channel_init(&mt->ch, -1);
	return (master_metrics_prepare(c));
}

static void
metrics_spawn(void)
{
	char	err[256];
	int	fd, sv[2];
	pid_t	pid;

	mt->respawn_ms = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		log_warn("metrics: socketpair");
		mt->respawn_ms = clock_now_ms() + METRICS_BACKOFF_MAX_MS;
		return;
	}
	/* It counts no connections: no rows of counts at all. */
	if ((pid = proc_spawn(&fd, counts_child_setup, 0, err,
	    sizeof(err))) == -1) {
		log_warnx("cannot start the metrics process: %s", err);
		close(sv[0]);
		close(sv[1]);
		mt->respawn_ms = clock_now_ms() + METRICS_BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0)
		metrics_main(&ms.setup->ident, ms.setup->detach);
	mt->pid = pid;
	mt->stopped = 0;
	mt->started_ms = clock_now_ms();
	msg_channel_init(&mt->ch, fd);
	if (control_attach(sv[0], 1) == -1) {
		log_warnx("metrics: no control client free; retrying");
		close(sv[0]);
		close(sv[1]);
		kill(pid, SIGTERM);
		return;
	}
	if ((fd = fcntl(mt->fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    msg_enqueue(&mt->ch, PROTO_METRICS_LISTEN, NULL, 0, fd) == -1 ||
	    msg_enqueue(&mt->ch, PROTO_METRICS_CONTROL, NULL, 0, sv[1]) == -1) {
		log_warn("metrics: cannot hand over its sockets");
		kill(pid, SIGTERM);
		return;
	}
	msg_flush(&mt->ch);
	log_debug("started the metrics process, pid %ld", (long)pid);
}

/*
 * Before a configuration is taken: bind the socket of a new metrics
 * address, so that a reload that cannot have it fails as a whole.
 */
int
master_metrics_prepare(struct conf *c)
{
	char	err[256];

	mt->next_addr = c->metrics;
	mt->next_fd = -1;
	if (c->metrics.len == 0 || addr_equal(&c->metrics, &mt->addr))
		return (0);
	if ((mt->next_fd = upgrade_take_metrics(&c->metrics)) != -1)
		return (0);
	if ((mt->next_fd = listener_bind_one(&c->metrics, err, sizeof(err)))
	    == -1) {
		conf_error(c, &c->metrics_host.pos, "metrics: %s", err);
		return (-1);
	}
	return (0);
}

void
master_metrics_stop(void)
{
	if (mt->pid != -1 && kill(mt->pid, SIGTERM) == 0)
		mt->stopped = 1;
	mt->respawn_ms = 0;
}

/* An upgrade: the new master serves metrics on this very socket now. */
void
master_metrics_hand_over(void)
{
	master_metrics_stop();
	if (mt->fd != -1)
		close(mt->fd);
	mt->fd = -1;
	memset(&mt->addr, 0, sizeof(mt->addr));
}

/* The configuration was taken: start, move or stop the process. */
void
master_metrics_commit(void)
{
	char	a[ADDR_STRLEN];

	if (mt->next_addr.len != 0 && addr_equal(&mt->next_addr, &mt->addr))
		return;
	master_metrics_stop();
	if (mt->fd != -1)
		close(mt->fd);
	mt->fd = mt->next_fd;
	mt->addr = mt->next_addr;
	mt->next_fd = -1;
	if (mt->fd == -1) {
		memset(&mt->addr, 0, sizeof(mt->addr));
		return;
	}
	log_notice("metrics on http://%s/metrics", addr_fmt(&mt->addr, a,
	    sizeof(a)));
	if (mt->pid == -1)
		metrics_spawn();
	else
		mt->respawn_ms = clock_now_ms();	/* once the old one is reaped */
}

/* 1 if pid was the metrics process; it is restarted, slower if it keeps dying. */
int
master_metrics_reaped(pid_t pid, int status)
{
	int64_t	now = clock_now_ms();

	if (pid != mt->pid || pid == -1)
		return (0);
	master_child_last_words(&mt->ch, "metrics");
	msg_channel_clear(&mt->ch);
	mt->pid = -1;
	if (mt->stopped && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug("metrics process stopped");
	else if (WIFSIGNALED(status))
		log_warnx("metrics process killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		log_warnx("metrics process exited with status %d",
		    WEXITSTATUS(status));
	if (mt->fd == -1 || ms.stopping)
		return (1);
	if (now - mt->started_ms >= METRICS_STABLE_MS)
		mt->backoff_ms = 250;
	else if ((mt->backoff_ms *= 2) > METRICS_BACKOFF_MAX_MS ||
	    mt->backoff_ms == 0)
		mt->backoff_ms = mt->backoff_ms == 0 ? 250 :
		    METRICS_BACKOFF_MAX_MS;
	if (mt->respawn_ms == 0 || mt->respawn_ms < now)
		mt->respawn_ms = now + mt->backoff_ms;
	return (1);
}

void
master_metrics_respawn(int64_t now, int64_t *next)
{
	if (mt->pid != -1 || mt->fd == -1 || mt->respawn_ms == 0 ||
	    ms.stopping)
		return;
	if (now >= mt->respawn_ms)
		metrics_spawn();
	else if (*next == -1 || mt->respawn_ms < *next)
		*next = mt->respawn_ms;
}

void
master_metrics_pollfd(struct pollfd *pfd)
{
	pfd->fd = mt->ch.fd;
	pfd->events = POLLIN | (msg_pending(&mt->ch) ? POLLOUT : 0);
	pfd->revents = 0;
}

/* It may only log; anything else is the end of it. */
void
master_metrics_io(const struct pollfd *pfd)
{
	struct msg		 msg;
	const char		*why;
	char			 reason[128];
	int			 rc = 0;

	if (pfd->fd == -1 || pfd->fd != mt->ch.fd || pfd->revents == 0)
		return;
	if ((pfd->revents & POLLOUT) && msg_flush(&mt->ch) == -1) {
		msg_channel_clear(&mt->ch);
		return;
	}
	while (mt->ch.fd != -1 && (rc = msg_read(&mt->ch, &msg, &why)) == 1) {
		if (proto_check_worker_msg(&msg, reason, sizeof(reason)) ==
		    -1 || msg.hdr.type != PROTO_LOG) {
			if (msg.fd != -1)
				close(msg.fd);
			log_warnx("metrics process: protocol violation: %s; "
			    "killing it", reason[0] ? reason : "not a log");
			kill(mt->pid, SIGKILL);
			msg_channel_clear(&mt->ch);
			return;
		}
		master_child_log("metrics", &msg);
	}
	if (mt->ch.fd != -1 && rc == -1)
		msg_channel_clear(&mt->ch);
}
