/*
 * Stop: SIGTERM, SIGINT, SIGQUIT, the control socket's stop, and the old
 * master's exit after an upgrade.  A graceful stop closes the listening
 * sockets and lets the workers finish their connections; shutdown_all()
 * ends them and the master.  The signal flags stay in master.c, whose
 * loop hands the stop signal to master_stop_check().
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "control.h"
#include "listener.h"
#include "log.h"
#include "master_state.h"
#include "msg.h"
#include "pidfile.h"
#include "proto.h"
#include "sdnotify.h"

#define STOP_TIMEOUT_MS		1000

/*
 * While the workers stop, keep reading what they send: their last lines
 * (a close line per connection) still belong in the log.
 */
static void
drain_workers(int timeout_ms)
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++) {
		ms.pfd[i].fd = ms.workers[i].ch.fd;
		ms.pfd[i].events = POLLIN;
		ms.pfd[i].revents = 0;
	}
	if (poll(ms.pfd, (nfds_t)ms.setup->nworkers, timeout_ms) <= 0)
		return;
	for (i = 0; i < ms.setup->nworkers; i++)
		if (ms.pfd[i].revents != 0 && ms.workers[i].ch.fd != -1)
			master_worker_io(&ms.workers[i], ms.pfd[i].revents);
}

/* Workers that still run or still have something to say. */
static int
workers_left(void)
{
	int	i, left = 0;

	for (i = 0; i < ms.setup->nworkers; i++)
		if (ms.workers[i].pid != -1 || ms.workers[i].ch.fd != -1)
			left++;
	return (left);
}

static const char *
stop_reason(int sig)
{
	return (sig == SIGINT ? "SIGINT received" : sig == SIGQUIT ?
	    "SIGQUIT received" : sig == SIGTERM ? "SIGTERM received" :
	    "stop asked on the control socket");
}

/*
 * Stop the workers, at once if they dawdle: each closes its connections
 * with a close line (reason=shutdown).
 */
__attribute__((__noreturn__))
static void
shutdown_all(const char *why)
{
	int64_t	deadline = clock_now_ms() + STOP_TIMEOUT_MS;
	int	i;
	pid_t	pid;

	log_notice("%s, shutting down", why);
	sdnotify_stopping();
	control_close();
	master_metrics_stop();
	for (i = 0; i < ms.setup->nworkers; i++)
		if (ms.workers[i].pid != -1)
			kill(ms.workers[i].pid, SIGTERM);
	for (;;) {
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
			struct worker_proc *w = master_worker_by_pid(pid);

			if (w != NULL)
				w->pid = -1;
		}
		if (workers_left() == 0)
			break;
		if (clock_now_ms() >= deadline) {
			for (i = 0; i < ms.setup->nworkers; i++)
				if (ms.workers[i].pid != -1) {
					kill(ms.workers[i].pid, SIGKILL);
					waitpid(ms.workers[i].pid, NULL, 0);
					ms.workers[i].pid = -1;
				}
			break;
		}
		drain_workers(10);
	}
	for (i = 0; i < ms.setup->nworkers; i++)
		msg_channel_clear(&ms.workers[i].ch);
	if (ms.setup->pidfh != NULL)
		pidfile_remove(ms.setup->pidfh);
	listener_table_retire(ms.table);
	listener_table_free(ms.table);
	free(ms.table);
	free(ms.workers);
	free(ms.pfd);
	log_notice("shutdown complete");
	log_targets_close();
	exit(0);
}

/* How long open connections may finish in a stop: 0 for none. */
static int64_t
stop_timeout_ms(void)
{
	if (ms.table->conf.shutdown_timeout_ms >= 0)
		return (ms.table->conf.shutdown_timeout_ms);
	return (ms.setup->shutdown_timeout_ms);
}

/*
 * A graceful stop: the listening sockets close at once, so new clients
 * are refused; each worker finishes its connections and exits, and
 * whatever is still open after timeout_ms is closed.
 */
static void
stop_gracefully(const char *why, int64_t timeout_ms)
{
	int	i;

	if (timeout_ms >= INT64_MAX / 4)
		log_notice("%s: stopping; open connections may finish, "
		    "without a time limit", why);
	else
		log_notice("%s: stopping; open connections may finish for "
		    "%lld ms", why, (long long)timeout_ms);
	ms.stopping = 1;
	ms.stop_deadline_ms = clock_now_ms() + timeout_ms;
	listener_table_close_sockets(ms.table);
	for (i = 0; i < ms.setup->nworkers; i++) {
		struct worker_proc	*w = &ms.workers[i];

		w->respawn_ms = 0;
		if (!master_worker_live(w))
			continue;
		w->quiesced = 1;
		if (proto_to_worker(&w->ch, PROTO_QUIESCE, NULL, 0, -1) == -1)
			kill(w->pid, SIGTERM);	/* no other way to tell it */
		else
			msg_flush(&w->ch);
	}
}

/*
 * An upgrade handed everything over: our workers finish their
 * connections, within the shutdown timeout if one is set, and we go.
 */
void
master_hand_over(const char *why)
{
	int64_t	timeout = stop_timeout_ms();

	stop_gracefully(why, timeout > 0 ? timeout : INT64_MAX / 2);
}

/* Stop now (SIGTERM), or with connections finishing: seconds, or -1. */
static int	stop_requested;
static int	stop_seconds;

void
master_stop(int seconds)
{
	stop_requested = 1;
	stop_seconds = seconds;
}

/*
 * Once a turn of the loop: sig is the SIGTERM, SIGINT or SIGQUIT
 * received since the last turn, or 0.  A second request while stopping
 * stops at once.
 */
void
master_stop_check(int sig)
{
	int64_t		 timeout;
	const char	*why;

	if (sig != 0 || stop_requested) {
		why = stop_reason(sig);
		timeout = sig == 0 && stop_seconds >= 0 ?
		    (int64_t)stop_seconds * 1000 : stop_timeout_ms();
		stop_requested = 0;
		if (ms.stopping || timeout == 0)
			shutdown_all(why);
		sdnotify_stopping();
		stop_gracefully(why, timeout);
	}
	if (!ms.stopping)
		return;
	if (workers_left() == 0)
		shutdown_all("every connection finished");
	if (clock_now_ms() >= ms.stop_deadline_ms)
		shutdown_all("shutdown timeout: closing the connections left");
}
