/*
 * The watchdog.  Every worker that serves is sent a heartbeat over its
 * channel, and answers it from its poll loop, never from a signal
 * handler: an answer proves the loop still turns.  A worker that leaves
 * a heartbeat unanswered for the whole timeout (stopped, looping,
 * blocked in a system call) is killed, and reap() replaces it as after
 * any death, so that clients wait at most the timeout plus a start.
 * Heartbeats go a third of the timeout apart, so a busy worker has
 * most of the timeout to answer.
 */
#include <sys/types.h>

#include <poll.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "master_state.h"

/* Send the heartbeats that are due, kill who missed one; the next deadline. */
int64_t
master_watchdog_check(int64_t now)
{
	struct proto_ping	 ping;
	struct worker_proc	*w;
	int64_t			 limit = ms.setup->watchdog_ms, next = -1;
	int			 i;

	if (limit <= 0)
		return (-1);
	for (i = 0; i < ms.setup->nworkers; i++) {
		w = &ms.workers[i];
		/* The dead are reaped. */
		if (w->pid == -1 || w->ch.fd == -1)
			continue;
		if (w->acked == 0) {
			/*
			 * Start-up has a deadline of its own.  A replacement
			 * must take its table within the timeout, as it would
			 * answer a heartbeat: its socket's clients wait on it.
			 */
			if (ms.startup_deadline_ms > 0)
				continue;
			if (now - w->started_ms < limit) {
				next = deadline_earliest(next,
				    w->started_ms + limit);
				continue;
			}
			log_warnx("worker %d (pid %ld) did not take its table "
			    "in %lld ms; killing it", w->id, (long)w->pid,
			    (long long)(now - w->started_ms));
			master_worker_kill(w);
			continue;
		}
		if (w->ping_sent_ms != 0) {
			if (now - w->ping_sent_ms < limit) {
				next = deadline_earliest(next, w->ping_sent_ms + limit);
				continue;
			}
			log_warnx("worker %d (pid %ld) did not answer its "
			    "heartbeat for %lld ms; killing it", w->id,
			    (long)w->pid, (long long)(now - w->ping_sent_ms));
			master_worker_kill(w);
			continue;
		}
		if (now < w->ping_next_ms) {
			next = deadline_earliest(next, w->ping_next_ms);
			continue;
		}
		memset(&ping, 0, sizeof(ping));
		ping.seq = ++w->ping_seq;
		if (proto_to_worker(&w->ch, PROTO_PING, &ping, sizeof(ping), -1)
		    == -1) {
			/* A full queue: the worker has not read for long. */
			log_warnx("worker %d (pid %ld): no room for its "
			    "heartbeat; killing it", w->id, (long)w->pid);
			master_worker_kill(w);
			continue;
		}
		msg_flush(&w->ch);
		w->ping_sent_ms = now;
		next = deadline_earliest(next, now + limit);
	}
	return (next);
}

/* A worker's answer: only to the heartbeat outstanding. */
void
master_watchdog_pong(struct worker_proc *w, const struct msg *msg)
{
	struct proto_ping	ping;

	memcpy(&ping, msg->data, sizeof(ping));
	if (w->ping_sent_ms == 0 || ping.seq != w->ping_seq) {
		master_worker_violation(w, "heartbeat reply nobody asked for");
		return;
	}
	w->ping_sent_ms = 0;
	w->ping_next_ms = clock_now_ms() + ms.setup->watchdog_ms / 3;
}
