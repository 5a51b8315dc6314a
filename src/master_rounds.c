/*
 * The master's questions to every worker, each a round with a deadline:
 * the counts (SIGUSR1, and tcpproxyctl's show commands) and the list of
 * open connections (SIGUSR2).  A round asks every live worker, waits
 * for the answers of those that still live, and ends when all have
 * answered or after ANSWER_TIMEOUT_MS, saying who did not.
 */
#include <sys/types.h>

#include <string.h>

#include "clock.h"
#include "listener.h"
#include "log.h"
#include "master_state.h"
#include "msg.h"
#include "proto.h"

/*
 * Send every live worker the question; asked() marks each one that got
 * it as owing an answer.
 */
static void
ask_every_worker(int type, const void *data, size_t len, const char *what,
    void (*asked)(struct worker_proc *))
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++) {
		struct worker_proc	*w = &ms.workers[i];

		if (!master_worker_live(w))
			continue;
		if (proto_to_worker(&w->ch, type, data, len, -1) == -1) {
			log_warn("cannot ask worker %d for %s", w->id, what);
			continue;
		}
		asked(w);
		msg_flush(&w->ch);
	}
}

/* Whether a live worker still owes an answer, as pending() says. */
static int
any_worker(int (*pending)(const struct worker_proc *))
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++)
		if (master_worker_live(&ms.workers[i]) &&
		    pending(&ms.workers[i]))
			return (1);
	return (0);
}

/*
 * SIGUSR1.  Every worker is asked how many connections each listener
 * has; the listeners are logged once all have answered, or after
 * ANSWER_TIMEOUT_MS without the ones that did not.  A signal during a
 * round starts another one after it.
 */

/* Asked in this round, and not done answering. */
static int
stats_pending(const struct worker_proc *w)
{
	return (w->stats_seq == ms.stats.seq && !w->stats_done);
}

static void
stats_log(void)
{
	struct listener	*l;
	char		 buf[LOG_LINE_MAX];
	uint64_t	 total = ms.stats.retired;
	int		 i;

	TAILQ_FOREACH(l, &ms.table->list, entry)
		total += l->connections;
	log_notice("%zu listener%s, generation %u, %llu connection%s open",
	    ms.table->n, ms.table->n == 1 ? "" : "s", ms.table->generation,
	    (unsigned long long)total, total == 1 ? "" : "s");
	TAILQ_FOREACH(l, &ms.table->list, entry) {
		listener_describe(l, buf, sizeof(buf));
		log_notice("%llu connection%s on listener %u: %s",
		    (unsigned long long)l->connections,
		    l->connections == 1 ? "" : "s", l->id, buf);
		log_notice("listener %u counters: accepted=%llu denied=%llu "
		    "limit=%llu connect-failed=%llu sent=%llu received=%llu "
		    "proxy-rejected=%llu",
		    l->id, (unsigned long long)l->counters.accepted,
		    (unsigned long long)l->counters.denied,
		    (unsigned long long)l->counters.limited,
		    (unsigned long long)l->counters.failed,
		    (unsigned long long)l->counters.sent,
		    (unsigned long long)l->counters.received,
		    (unsigned long long)l->counters.proxy_rejected);
		listener_down_remotes(l, clock_now_ms(), 1, buf, sizeof(buf));
		if (buf[0] != '\0')
			log_notice("listener %u remotes down: %s", l->id, buf);
	}
	if (ms.stats.retired > 0)
		log_notice("%llu connection%s on listeners no longer "
		    "configured", (unsigned long long)ms.stats.retired,
		    ms.stats.retired == 1 ? "" : "s");
	for (i = 0; i < ms.setup->nworkers; i++) {
		struct worker_proc	*w = &ms.workers[i];

		if (!master_worker_live(w))
			log_warnx("worker %d is not running: its connections "
			    "are not counted", w->id);
		else if (stats_pending(w))
			log_warnx("worker %d did not answer within %d ms: its "
			    "connections are not counted", w->id,
			    ANSWER_TIMEOUT_MS);
	}
}

static void
stats_finish(void)
{
	if (ms.stats.log)
		stats_log();
	ms.stats.active = 0;
	ms.stats.log = 0;
	master_control_stats_done();
}

/* Finish the round if every worker answered, or anyway at the deadline. */
static void
stats_check(int deadline)
{
	if (!ms.stats.active || (!deadline && any_worker(stats_pending)))
		return;
	stats_finish();
	if (ms.stats.again) {
		ms.stats.again = 0;
		master_stats_start(1);
	}
}

static void
stats_asked(struct worker_proc *w)
{
	w->stats_seq = ms.stats.seq;
	w->stats_entries = 0;
	w->stats_done = 0;
	w->stats_connections = 0;
}

/*
 * Ask every worker for its counts: for SIGUSR1 (log 1: the round is
 * logged) or for a show command, which takes a round under way.
 */
void
master_stats_start(int log)
{
	struct proto_stats	 req;
	struct listener		*l;

	if (ms.stats.active) {
		if (log && ms.stats.log)
			ms.stats.again = 1;
		else if (log)
			ms.stats.log = 1;
		return;
	}
	ms.stats.active = 1;
	ms.stats.log = log;
	ms.stats.seq++;
	ms.stats.retired = 0;
	ms.stats.deadline_ms = clock_now_ms() + ANSWER_TIMEOUT_MS;
	TAILQ_FOREACH(l, &ms.table->list, entry) {
		l->connections = 0;
		memset(&l->counters, 0, sizeof(l->counters));
	}
	memset(&req, 0, sizeof(req));
	req.seq = ms.stats.seq;
	ask_every_worker(PROTO_STATS, &req, sizeof(req), "its counts",
	    stats_asked);
	stats_check(0);
}

/* Check a stats answer's sequence number: 1 to use it, 0 if stale. */
static int
stats_answer(struct worker_proc *w, uint32_t seq)
{
	if (seq == 0 || seq > w->stats_seq) {
		master_worker_violation(w, "connection counts nobody asked for");
		return (-1);
	}
	if (seq != ms.stats.seq || !ms.stats.active)
		return (0);	/* late, for a round that is over */
	if (w->stats_done) {
		master_worker_violation(w, "connection counts after the last");
		return (-1);
	}
	return (1);
}

void
master_stats_message(struct worker_proc *w, struct msg *msg)
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
		w->stats_connections += ls.connections;
		/* Its table may be older than ours; ids tell them apart. */
		if ((l = master_listener_by_id(ms.table, ls.id)) != NULL) {
			l->connections += ls.connections;
			listener_counters_add(&l->counters, &ls.counters);
		} else
			ms.stats.retired += ls.connections;
		return;
	}
	memcpy(&done, msg->data, sizeof(done));
	if (stats_answer(w, done.seq) != 1)
		return;
	if (done.nlisteners != w->stats_entries) {
		master_worker_violation(w, "listener stats count does not match");
		return;
	}
	ms.stats.retired += done.retired;
	w->stats_connections += done.retired;
	w->stats_done = 1;
	stats_check(0);
}

/*
 * SIGUSR2.  Each worker logs its connections itself; the master says
 * when all have, or which did not within ANSWER_TIMEOUT_MS.
 */

/* Asked, and its end of the list not yet come. */
static int
dump_pending(const struct worker_proc *w)
{
	return (w->dumps_pending > 0);
}

static void
dump_finish(void)
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++)
		if (master_worker_live(&ms.workers[i]) &&
		    dump_pending(&ms.workers[i]))
			log_warnx("worker %d did not list its connections "
			    "within %d ms", ms.workers[i].id, ANSWER_TIMEOUT_MS);
	log_notice("end of the connection list");
	ms.dump.active = 0;
}

static void
dump_check(int deadline)
{
	if (!ms.dump.active || (!deadline && any_worker(dump_pending)))
		return;
	dump_finish();
}

static void
dump_asked(struct worker_proc *w)
{
	w->dumps_pending++;
}

void
master_dump_start(void)
{
	int	i, n = 0;

	for (i = 0; i < ms.setup->nworkers; i++)
		if (master_worker_live(&ms.workers[i]))
			n++;
	log_notice("open connections of %d running worker%s:", n,
	    n == 1 ? "" : "s");
	ask_every_worker(PROTO_DUMP, NULL, 0, "its connections", dump_asked);
	ms.dump.active = 1;
	ms.dump.deadline_ms = clock_now_ms() + ANSWER_TIMEOUT_MS;
	dump_check(0);
}

/* A worker has logged all its connections. */
void
master_dump_done(struct worker_proc *w)
{
	if (w->dumps_pending == 0) {
		master_worker_violation(w, "dump reply nobody asked for");
		return;
	}
	w->dumps_pending--;
	dump_check(0);
}

/* The loop: rounds whose workers are gone or done may finish. */
void
master_rounds_check(void)
{
	stats_check(0);
	dump_check(0);
}

/* Rounds past their deadline finish; the next deadline, or -1. */
int64_t
master_rounds_expire(int64_t now)
{
	int64_t	next = -1;

	if (ms.stats.active && now >= ms.stats.deadline_ms)
		stats_check(1);
	if (ms.dump.active && now >= ms.dump.deadline_ms)
		dump_check(1);
	if (ms.stats.active)
		next = ms.stats.deadline_ms;
	if (ms.dump.active)
		next = deadline_earliest(next, ms.dump.deadline_ms);
	return (next);
}

