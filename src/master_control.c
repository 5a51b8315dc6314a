/*
 * The control socket's commands, in the master: what each one asks of
 * the workers, and the records it answers with.  The socket and the
 * request grammar are control.c's; the workers' side is worker.c's.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "control.h"
#include "listener.h"
#include "log.h"
#include "master_state.h"
#include "msg.h"
#include "proto.h"

#define RELOAD_WAIT_MS		30000	/* for every worker to switch */

static struct control_wait *
wait_new(uint32_t client, enum control_cmd cmd, int64_t timeout_ms)
{
	struct control_wait	*cw;
	size_t			 i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		cw = &ms.waits[i];
		/* The slot of a client that left is free again. */
		if (cw->client != 0 && control_alive(cw->client))
			continue;
		memset(cw, 0, sizeof(*cw));
		cw->client = client;
		cw->cmd = cmd;
		cw->deadline_ms = clock_now_ms() + timeout_ms;
		return (cw);
	}
	/* One wait per live client, and as many slots as clients. */
	fatalx("control: no slot for a request");
}

static void
wait_end(struct control_wait *cw, int ok, const char *text)
{
	control_finish(cw->client, ok, "%s", text != NULL ? text : "");
	memset(cw, 0, sizeof(*cw));
}

static struct control_wait *
wait_find(uint32_t client, enum control_cmd cmd)
{
	size_t	i;

	if (client == 0)
		return (NULL);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (ms.waits[i].client == client && ms.waits[i].cmd == cmd)
			return (&ms.waits[i]);
	return (NULL);
}

/* Has every worker asked answered (or gone away)? */
static int
wait_answered(const struct control_wait *cw)
{
	int	i;

	for (i = 0; i < ms.setup->nworkers; i++)
		if (cw->per_worker[i].asked && !cw->per_worker[i].done)
			return (0);
	return (1);
}

static const char *
worker_state(const struct worker_proc *w)
{
	if (w->pid == -1)
		return (ms.stopping ? "stopped" : "restarting");
	if (w->quiesced)
		return ("draining");
	if (w->acked == 0)
		return ("starting");
	if (w->acked != ms.table->generation)
		return ("switching");
	return ("running");
}

static void
send_total(uint32_t client)
{
	struct control_record	 r;
	const struct listener	*l;
	struct proto_counters	 sum;
	uint64_t		 open = ms.stats.retired;

	memset(&sum, 0, sizeof(sum));
	TAILQ_FOREACH(l, &ms.table->list, entry) {
		open += l->connections;
		listener_counters_add(&sum, &l->counters);
	}
	control_record_begin(&r, "total");
	control_record_u64(&r, "generation", ms.table->generation);
	control_record_u64(&r, "listeners", ms.table->n);
	control_record_u64(&r, "workers", (uint64_t)ms.setup->nworkers);
	control_record_u64(&r, "connections", open);
	control_record_u64(&r, "accepted", sum.accepted);
	control_record_u64(&r, "denied", sum.denied);
	control_record_u64(&r, "limited", sum.limited);
	control_record_u64(&r, "connect_failures", sum.failed);
	control_record_u64(&r, "bytes_sent", sum.sent);
	control_record_u64(&r, "bytes_received", sum.received);
	control_record_u64(&r, "proxy_rejected", sum.proxy_rejected);
	control_record_u64(&r, "uptime_ms",
	    (uint64_t)(clock_now_ms() - ms.started_ms));
	control_record_u64(&r, "reloads", ms.reloads);
	control_record_send(client, &r);
}

static void
send_listeners(uint32_t client)
{
	struct control_record	 r;
	const struct listener	*l;
	char			 a[ADDR_STRLEN], remotes[1024], backups[1024];
	char			 down[1024];
	size_t			 i;

	TAILQ_FOREACH(l, &ms.table->list, entry) {
		const struct conf_upstream	*up = &l->stanza->up;

		/* remote: and server: addresses, then backup: ones. */
		remotes[0] = backups[0] = '\0';
		for (i = 0; i < up->n; i++) {
			char	*to = up->group[i] < up->nbalanced ? remotes :
			    backups;

			if (to[0] != '\0')
				strlcat(to, ",", sizeof(remotes));
			strlcat(to, addr_fmt(&up->a[i], a, sizeof(a)),
			    sizeof(remotes));
		}
		listener_down_remotes(l, clock_now_ms(), 0, down,
		    sizeof(down));
		control_record_begin(&r, "listener");
		control_record_u64(&r, "id", l->id);
		control_record_str(&r, "local", addr_fmt(&l->local, a,
		    sizeof(a)));
		control_record_str(&r, "remotes", remotes);
		if (backups[0] != '\0')
			control_record_str(&r, "backups", backups);
		if (down[0] != '\0')
			control_record_str(&r, "down", down);
		control_record_str(&r, "state", ms.stopping ? "closed" :
		    l->paused ? "draining" : "accepting");
		control_record_u64(&r, "connections", l->connections);
		control_record_u64(&r, "accepted", l->counters.accepted);
		control_record_u64(&r, "denied", l->counters.denied);
		control_record_u64(&r, "limited", l->counters.limited);
		control_record_u64(&r, "connect_failures", l->counters.failed);
		control_record_u64(&r, "bytes_sent", l->counters.sent);
		control_record_u64(&r, "bytes_received", l->counters.received);
		control_record_u64(&r, "proxy_rejected",
		    l->counters.proxy_rejected);
		control_record_send(client, &r);
	}
}

static void
send_workers(uint32_t client)
{
	struct control_record	 r;
	int64_t			 now = clock_now_ms();
	int			 i;

	for (i = 0; i < ms.setup->nworkers; i++) {
		const struct worker_proc	*w = &ms.workers[i];
		int				 counted;

		counted = master_worker_live(w) && w->stats_seq ==
		    ms.stats.seq && w->stats_done;
		control_record_begin(&r, "worker");
		control_record_u64(&r, "id", (uint64_t)w->id);
		if (w->pid == -1)
			control_record_str(&r, "pid", "-");
		else
			control_record_u64(&r, "pid", (uint64_t)w->pid);
		control_record_str(&r, "state", worker_state(w));
		control_record_u64(&r, "generation", w->acked);
		if (counted)
			control_record_u64(&r, "connections",
			    w->stats_connections);
		else
			control_record_str(&r, "connections", "-");
		control_record_u64(&r, "restarts", w->restarts);
		control_record_u64(&r, "uptime_ms", w->pid == -1 ? 0 :
		    (uint64_t)(now - w->started_ms));
		control_record_send(client, &r);
	}
}

/* A stats round is over: answer the show commands that waited for it. */
void
master_control_stats_done(void)
{
	struct control_wait	*cw;
	size_t			 i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		cw = &ms.waits[i];
		if (cw->client == 0)
			continue;
		switch (cw->cmd) {
		case CONTROL_SHOW_STATS:
			send_total(cw->client);
			send_listeners(cw->client);
			send_workers(cw->client);
			break;
		case CONTROL_SHOW_LISTENERS:
			send_listeners(cw->client);
			break;
		case CONTROL_SHOW_WORKERS:
			send_workers(cw->client);
			break;
		default:
			continue;
		}
		wait_end(cw, 1, NULL);
	}
}

/* A reload is answered once every worker serves its generation. */
void
master_control_reloaded(void)
{
	struct control_record	 r;
	struct control_wait	*cw;
	size_t			 i;
	int			 j;

	for (j = 0; j < ms.setup->nworkers; j++)
		if (!master_worker_current(&ms.workers[j]))
			return;
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		cw = &ms.waits[i];
		if (cw->client == 0 || cw->cmd != CONTROL_RELOAD)
			continue;
		control_record_begin(&r, "reload");
		control_record_u64(&r, "generation",
		    ms.last_reload.generation);
		control_record_u64(&r, "kept", ms.last_reload.kept);
		control_record_u64(&r, "added", ms.last_reload.added);
		control_record_u64(&r, "removed", ms.last_reload.removed);
		control_record_send(cw->client, &r);
		wait_end(cw, 1, "reload complete");
	}
}

/* Ask every running worker; per_worker records whom. */
static int
ask_workers(struct control_wait *cw, uint32_t type, const void *req,
    size_t len, int only)
{
	int	i, n = 0;

	for (i = 0; i < ms.setup->nworkers; i++) {
		struct worker_proc	*w = &ms.workers[i];

		if (!master_worker_live(w) || (only != 0 && w->id != only))
			continue;
		if (proto_to_worker(&w->ch, type, req, len, -1) == -1) {
			control_info(cw->client, "worker %d could not be "
			    "asked", w->id);
			continue;
		}
		msg_flush(&w->ch);
		cw->per_worker[i].asked = 1;
		n++;
	}
	return (n);
}

static void
conns_start(uint32_t client, uint32_t listener)
{
	struct control_wait	*cw;
	struct proto_conns	 req;

	if (listener != 0 && master_listener_by_id(ms.table, listener) ==
	    NULL) {
		control_finish(client, 0, "no listener %u", listener);
		return;
	}
	cw = wait_new(client, CONTROL_SHOW_CONNECTIONS, ANSWER_TIMEOUT_MS);
	cw->arg = listener;
	memset(&req, 0, sizeof(req));
	req.seq = client;
	req.listener = listener;
	if (ask_workers(cw, PROTO_CONNS, &req, sizeof(req), 0) == 0)
		wait_end(cw, 1, NULL);
}

static void
kill_start(uint32_t client, int worker, uint64_t relay)
{
	struct control_wait	*cw;
	struct proto_kill	 req;

	cw = wait_new(client, CONTROL_KILL, ANSWER_TIMEOUT_MS);
	memset(&req, 0, sizeof(req));
	req.seq = client;
	req.relay = relay;
	if (worker > ms.setup->nworkers || ask_workers(cw, PROTO_KILL, &req,
	    sizeof(req), worker) == 0)
		wait_end(cw, 0, "no such connection");
}

static const char *
conn_state(uint32_t state)
{
	switch (state) {
	case PROTO_CONN_CONNECTING:
		return ("connecting");
	case PROTO_CONN_HALF_CLOSED:
		return ("half-closed");
	case PROTO_CONN_HEADER:
		return ("header");
	default:
		return ("established");
	}
}

static void
conn_record(uint32_t client, int worker, const struct proto_conn *pc)
{
	struct control_record	 r;
	char			 id[48], a[ADDR_STRLEN];

	snprintf(id, sizeof(id), "%d.%llu", worker,
	    (unsigned long long)pc->id);
	control_record_begin(&r, "connection");
	control_record_str(&r, "id", id);
	control_record_u64(&r, "worker", (uint64_t)worker);
	control_record_u64(&r, "listener", pc->listener);
	control_record_str(&r, "client", addr_fmt(&pc->client, a, sizeof(a)));
	control_record_str(&r, "remote", pc->remote.len == 0 ? "-" :
	    addr_fmt(&pc->remote, a, sizeof(a)));
	control_record_str(&r, "state", conn_state(pc->state));
	control_record_u64(&r, "bytes_sent", pc->sent);
	control_record_u64(&r, "bytes_received", pc->received);
	control_record_u64(&r, "age_ms", pc->age_ms);
	control_record_u64(&r, "idle_ms", pc->idle_ms);
	control_record_send(client, &r);
}

/*
 * A worker's answer to a control request.  proto_check_worker_msg()
 * checked sizes and contents; what needs our state is checked here: an
 * answer to a request this worker was asked and has not finished.  One
 * for a request that is over (it timed out) is dropped.
 */
void
master_control_message(struct worker_proc *w, const struct msg *msg)
{
	struct proto_conn_batch	 b;
	struct proto_conns_done	 done;
	struct proto_kill_done	 kd;
	struct control_wait	*cw;
	uint32_t		 i, seq;
	int			 idx = w->id - 1;

	memcpy(&seq, msg->data, sizeof(seq));	/* every answer starts so */
	cw = wait_find(seq, msg->hdr.type == PROTO_KILL_DONE ? CONTROL_KILL :
	    CONTROL_SHOW_CONNECTIONS);
	if (cw == NULL)
		return;
	if (!cw->per_worker[idx].asked || cw->per_worker[idx].done) {
		master_worker_violation(w, "an answer nobody asked for");
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_CONN_BATCH:
		memset(&b, 0, sizeof(b));
		memcpy(&b, msg->data, msg->hdr.len);
		for (i = 0; i < b.n; i++) {
			if (cw->arg != 0 && b.conn[i].listener != cw->arg) {
				master_worker_violation(w, "a connection of "
				    "another listener");
				return;
			}
			conn_record(cw->client, w->id, &b.conn[i]);
		}
		cw->per_worker[idx].batches++;
		return;
	case PROTO_CONNS_DONE:
		memcpy(&done, msg->data, sizeof(done));
		if (done.batches != cw->per_worker[idx].batches) {
			master_worker_violation(w, "connection list count does "
			    "not match");
			return;
		}
		cw->per_worker[idx].done = 1;
		if (wait_answered(cw))
			wait_end(cw, 1, NULL);
		return;
	case PROTO_KILL_DONE:
		memcpy(&kd, msg->data, sizeof(kd));
		cw->per_worker[idx].done = 1;
		if (kd.found)
			wait_end(cw, 1, "connection killed");
		else
			wait_end(cw, 0, "no such connection");
		return;
	}
}

/* A worker went away: it will not answer what it was asked. */
void
master_control_worker_gone(struct worker_proc *w)
{
	struct control_wait	*cw;
	size_t			 i;
	int			 idx = w->id - 1;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		cw = &ms.waits[i];
		if (cw->client == 0 || !cw->per_worker[idx].asked ||
		    cw->per_worker[idx].done)
			continue;
		cw->per_worker[idx].done = 1;
		control_info(cw->client, "worker %d went away before it "
		    "answered", w->id);
		if (cw->cmd == CONTROL_KILL)
			wait_end(cw, 0, "the connection's worker went away");
		else if (wait_answered(cw))
			wait_end(cw, 1, NULL);
	}
}

int64_t
master_control_deadline(void)
{
	int64_t	next = -1;
	size_t	i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (ms.waits[i].client != 0 && (next == -1 ||
		    ms.waits[i].deadline_ms < next))
			next = ms.waits[i].deadline_ms;
	return (next);
}

void
master_control_expire(int64_t now)
{
	struct control_wait	*cw;
	size_t			 i;
	int			 j;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		cw = &ms.waits[i];
		if (cw->client == 0)
			continue;
		if (!control_alive(cw->client)) {
			memset(cw, 0, sizeof(*cw));	/* the client left */
			continue;
		}
		if (now < cw->deadline_ms)
			continue;
		for (j = 0; j < ms.setup->nworkers; j++)
			if (cw->per_worker[j].asked && !cw->per_worker[j].done)
				control_info(cw->client, "worker %d did not "
				    "answer within %d ms", j + 1,
				    ANSWER_TIMEOUT_MS);
		switch (cw->cmd) {
		case CONTROL_SHOW_CONNECTIONS:
			wait_end(cw, 1, NULL);	/* what did come, and why */
			break;
		case CONTROL_RELOAD:
			wait_end(cw, 0, "the new configuration is loaded, "
			    "but not every worker switched to it in time");
			break;
		default:
			wait_end(cw, 0, "no answer from the workers in time");
			break;
		}
	}
}

/*
 * "drain listener 127.0.0.1 8080": every listener on that address and
 * port ("*": on either wildcard).  Numeric only: the master never waits
 * for a resolver while it serves.
 */
static void
pause_listeners(uint32_t client, const char *host, const char *port,
    int paused)
{
	struct proto_pause	 req;
	struct listener		*l;
	struct in_addr		 in4;
	struct in6_addr		 in6;
	const char		*errstr;
	int			 i, v4, v6, any, n = 0;
	long long		 p;

	p = strtonum(port, 1, 65535, &errstr);
	any = strcmp(host, "*") == 0;
	v4 = any ? 0 : inet_pton(AF_INET, host, &in4) == 1;
	v6 = any || v4 ? 0 : inet_pton(AF_INET6, host, &in6) == 1;
	if (errstr != NULL || (!any && !v4 && !v6)) {
		control_finish(client, 0, "a listener is a numeric address "
		    "or '*' and a port number");
		return;
	}
	TAILQ_FOREACH(l, &ms.table->list, entry) {
		const struct sockaddr_in  *s4 = (const void *)&l->local.ss;
		const struct sockaddr_in6 *s6 = (const void *)&l->local.ss;

		if (addr_port(&l->local) != p)
			continue;
		if (l->local.ss.ss_family == AF_INET ? (any ?
		    s4->sin_addr.s_addr != htonl(INADDR_ANY) : !v4 ||
		    s4->sin_addr.s_addr != in4.s_addr) : (any ?
		    !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) : !v6 ||
		    memcmp(&s6->sin6_addr, &in6, sizeof(in6)) != 0))
			continue;
		listener_pause(l, paused);
		memset(&req, 0, sizeof(req));
		req.listener = l->id;
		req.paused = (uint32_t)paused;
		for (i = 0; i < ms.setup->nworkers; i++)
			if (master_worker_live(&ms.workers[i]) &&
			    proto_to_worker(&ms.workers[i].ch, PROTO_PAUSE, &req,
			    sizeof(req), -1) == 0)
				msg_flush(&ms.workers[i].ch);
		log_notice("listener %u: %s (control socket)", l->id,
		    paused ? "drained: no new connections" :
		    "enabled: accepting again");
		n++;
	}
	if (n == 0)
		control_finish(client, 0, "no listener %s %s", host, port);
	else
		control_finish(client, 1, "%d listener%s %s", n,
		    n == 1 ? "" : "s", paused ? "drained" : "enabled");
}

void
master_control_request(uint32_t client, const struct control_request *req)
{
	struct control_wait	*cw;

	if (ms.stopping && (req->cmd == CONTROL_RELOAD ||
	    req->cmd == CONTROL_UPGRADE || req->cmd == CONTROL_DRAIN ||
	    req->cmd == CONTROL_ENABLE)) {
		control_finish(client, 0, "stopping");
		return;
	}
	switch (req->cmd) {
	case CONTROL_SHOW_LISTENERS:
	case CONTROL_SHOW_STATS:
	case CONTROL_SHOW_WORKERS:
		wait_new(client, req->cmd, 2 * ANSWER_TIMEOUT_MS);
		master_stats_start(0);
		break;
	case CONTROL_SHOW_CONNECTIONS:
		conns_start(client, req->listener);
		break;
	case CONTROL_RELOAD:
		if (master_reload(client) == -1)
			break;	/* answered with every error */
		cw = wait_new(client, CONTROL_RELOAD, RELOAD_WAIT_MS);
		cw->arg = ms.table->generation;
		master_control_reloaded();
		break;
	case CONTROL_KILL:
		kill_start(client, req->worker, req->relay);
		break;
	case CONTROL_DRAIN:
	case CONTROL_ENABLE:
		pause_listeners(client, req->host, req->port,
		    req->cmd == CONTROL_DRAIN);
		break;
	case CONTROL_LOG_REOPEN:
		log_targets_reopen();
		log_notice("log files reopened (control socket)");
		control_finish(client, 1, NULL);
		break;
	case CONTROL_STOP:
		control_finish(client, 1, "stopping");
		master_stop(req->drain_seconds);
		break;
	case CONTROL_UPGRADE:
		master_upgrade_start(client);	/* answered once it is done */
		break;
	}
}
