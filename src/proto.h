/*
 * The master <-> worker protocol, carried by privsep/msg.
 *
 * A table is sent as PROTO_LISTENER messages, each with its listening
 * socket attached, then PROTO_COMMIT; the worker builds the pending table
 * as they come and switches to it at the commit, then answers
 * PROTO_READY with the same generation.  Every message has a fixed size
 * except PROTO_LOG, and the receiver checks it.
 *
 * PROTO_STATS asks a worker how many connections are open through each
 * listener: it answers one PROTO_LISTENER_STATS per listener of its
 * table, then PROTO_STATS_DONE with how many it sent, all carrying the
 * request's sequence number.  PROTO_DUMP is answered by the worker's log
 * lines, then PROTO_DUMP_DONE.
 *
 * The control socket's questions: PROTO_CONNS is answered by
 * PROTO_CONN_BATCH messages (up to PROTO_CONN_BATCH_MAX connections each)
 * and PROTO_CONNS_DONE with how many batches came before; PROTO_KILL by
 * PROTO_KILL_DONE.  Both carry the asking control client's number.
 * PROTO_PAUSE stops or resumes accepting on one listener (drain, enable);
 * PROTO_QUIESCE stops accepting for good: the worker closes its listening
 * sockets and exits once its last connection has ended.
 *
 * The metrics process gets its HTTP socket and one end of a stream
 * socketpair on which it asks the master "show stats" as a control
 * client would; it sends the master nothing but PROTO_LOG.
 */
#ifndef TCPPROXY_PROTO_H
#define TCPPROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "addr.h"
#include "proxyhdr.h"
#include "upstream.h"

#define PROTO_VERSION	7

enum proto_type {
	/* master -> worker */
	PROTO_LISTENER = 1,	/* struct proto_listener + listening fd */
	PROTO_COMMIT,		/* struct proto_commit */
	PROTO_DUMP,		/* no payload: log open connections */
	PROTO_STATS,		/* struct proto_stats */
	PROTO_CONNS,		/* struct proto_conns */
	PROTO_KILL,		/* struct proto_kill */
	PROTO_PAUSE,		/* struct proto_pause */
	PROTO_QUIESCE,		/* no payload */
	PROTO_PING,		/* struct proto_ping: answer PROTO_PONG */
	PROTO_SOCKMAP,		/* struct proto_sockmap + one of its maps */
	/* master -> metrics process */
	PROTO_METRICS_LISTEN = 32,	/* no payload + the HTTP socket */
	PROTO_METRICS_CONTROL,	/* no payload + a control socket end */
	/* worker -> master */
	PROTO_READY = 64,	/* struct proto_commit */
	PROTO_LOG,		/* struct proto_log_hdr + text */
	PROTO_DUMP_DONE,	/* no payload */
	PROTO_LISTENER_STATS,	/* struct proto_listener_stats */
	PROTO_STATS_DONE,	/* struct proto_stats_done */
	PROTO_CONN_BATCH,	/* struct proto_conn_batch */
	PROTO_CONNS_DONE,	/* struct proto_conns_done */
	PROTO_KILL_DONE,	/* struct proto_kill_done */
	PROTO_PONG,		/* struct proto_ping, the sequence asked */
};

struct proto_listener {
	uint32_t	id;		/* stable across reloads */
	uint32_t	generation;
	uint32_t	bufsize;
	uint32_t	nremotes;
	struct addr	local;
	/*
	 * Where to connect, in groups: 0 is remote:, then the server:
	 * lines, then the backup: lines.  remote_group[] says whose each
	 * address is, in order; groups below nbalanced take turns as
	 * balance says, weighted, and the rest are tried after, in order.
	 */
	struct addr	remotes[REMOTES_MAX];
	uint8_t		remote_group[REMOTES_MAX];
	uint8_t		ngroups;
	uint8_t		nbalanced;
	uint8_t		balance;	/* BALANCE_* */
	uint8_t		weight[GROUPS_MAX];	/* 1 to WEIGHT_MAX */
	/* Passive health: down after so many failed connects in a row. */
	uint32_t	down_after;	/* 0: never */
	uint32_t	down_for_ms;
	struct addr	source4;	/* family 0: kernel's choice */
	struct addr	source6;
	/* Limits and policy; 0 means off unless said otherwise. */
	uint32_t	connect_timeout_ms;
	uint32_t	idle_timeout_ms;
	uint32_t	fin_timeout_ms;
	uint32_t	keepalive;	/* 1: SO_KEEPALIVE on both ends */
	uint32_t	max_connections;	/* over all workers */
	uint32_t	max_per_source;		/* over all workers */
	uint8_t		source_prefix4;	/* bits grouping clients by source */
	uint8_t		source_prefix6;
	uint8_t		proxy_protocol;	/* 0, 1 or 2 */
	uint8_t		nacl;
	struct acl_rule	acl[ACL_MAX];
	uint8_t		paused;		/* drained: do not accept */
	/* accept-proxy-protocol: a header from a trusted peer first. */
	uint8_t		accept_proxy;	/* PROXYHDR_V1, _V2 bits; 0 off */
	uint8_t		ntrusted;	/* 1 or more when accept_proxy */
	uint32_t	proxy_header_timeout_ms;
	struct acl_rule	trusted[PROXYHDR_TRUSTED_MAX];
};

struct proto_commit {
	uint32_t	version;
	uint32_t	generation;
	uint32_t	nlisteners;
};

struct proto_log_hdr {
	uint32_t	level;
};

struct proto_stats {
	uint32_t	seq;		/* 1, 2, ...: answers carry it */
};

struct proto_listener_stats {
	uint32_t	seq;
	uint32_t	id;		/* a listener of the worker's table */
	uint64_t	connections;	/* open through it, any generation */
	struct proto_counters {		/* since the worker started */
		uint64_t	accepted;
		uint64_t	denied;		/* by allow/deny */
		uint64_t	limited;	/* by max-per-source and co */
		uint64_t	failed;		/* no remote could be reached */
		uint64_t	sent;		/* bytes to the remotes */
		uint64_t	received;	/* bytes to the clients */
		uint64_t	proxy_rejected;	/* no good PROXY header */
	}		counters;
};

struct proto_stats_done {
	uint32_t	seq;
	uint32_t	nlisteners;	/* PROTO_LISTENER_STATS sent before */
	uint64_t	retired;	/* open through listeners not in the table */
};

struct proto_conns {
	uint32_t	seq;		/* the control client asking */
	uint32_t	listener;	/* only this listener's; 0: all */
};

enum proto_conn_state {
	PROTO_CONN_CONNECTING = 1,
	PROTO_CONN_ESTABLISHED,
	PROTO_CONN_HALF_CLOSED,
	PROTO_CONN_HEADER,	/* waiting for its PROXY header */
};

struct proto_conn {
	uint64_t	id;		/* the relay's, in this worker */
	uint32_t	listener;
	uint32_t	state;		/* enum proto_conn_state */
	struct addr	client;
	struct addr	remote;		/* len 0: none yet */
	uint64_t	sent;
	uint64_t	received;
	uint64_t	age_ms;
	uint64_t	idle_ms;
};

#define PROTO_CONN_BATCH_MAX	24

struct proto_conn_batch {
	uint32_t	seq;
	uint32_t	n;		/* 1 to PROTO_CONN_BATCH_MAX */
	struct proto_conn conn[PROTO_CONN_BATCH_MAX];	/* n of them sent */
};

struct proto_conns_done {
	uint32_t	seq;
	uint32_t	batches;	/* PROTO_CONN_BATCH sent before */
};

struct proto_kill {
	uint32_t	seq;
	uint32_t	pad;
	uint64_t	relay;
};

struct proto_kill_done {
	uint32_t	seq;
	uint32_t	found;		/* 0 or 1 */
};

/* The watchdog's heartbeat, answered from the worker's poll loop. */
struct proto_ping {
	uint32_t	seq;
};

/*
 * The in-kernel data path's maps (sockmap.h), one per message, sent
 * once after the worker starts when the master could load them.
 */
struct proto_sockmap {
	uint32_t	map;		/* enum sockmap_map */
	uint32_t	entries;	/* the maps' size */
};

struct proto_pause {
	uint32_t	listener;
	uint32_t	paused;		/* 0 or 1 */
};

/* Bytes of a batch of n connections, as sent. */
#define PROTO_CONN_BATCH_LEN(n)	(offsetof(struct proto_conn_batch, conn) + \
	(size_t)(n) * sizeof(struct proto_conn))

struct msg;

/*
 * Is this a message a worker may send?  0 if so; else -1 with the reason
 * in why.  Checks the type, the exact size, the log level and that no
 * descriptor came along (the caller still owns and must close it).
 */
int	proto_check_worker_msg(const struct msg *, char *, size_t);

/*
 * Is this a message the master may send a worker?  The same checks the
 * other way, and every field a worker indexes, shifts or allocates by.
 * A listener must come with its socket, nothing else with any.
 */
int	proto_check_master_msg(const struct msg *, char *, size_t);

/* Who a message goes to, which says the table it is held to. */
enum proto_to { PROTO_TO_WORKER, PROTO_TO_MASTER };

/*
 * The checks of both functions above on any message, by its receiver:
 * 0 if it would take the message, else -1 with the reason in why.  The
 * senders' own use (proto_send.c) is what keeps the two sides agreeing.
 */
int	proto_check(enum proto_to, uint32_t, const void *, size_t, int,
	    char *, size_t);

/*
 * msg_enqueue() for master <-> worker messages (proto_send.c), held
 * first to the receiver's check.  A message the other side would refuse
 * is a bug of the sender: a worker's is fatal (it is restarted); the
 * master's is logged and fails as a full queue does, so that its bug
 * costs at most one worker a restart, never every connection.  PROTO_LOG (logsink.c) is
 * the one message queued without it: a refusal would have to be logged.
 */
struct msg_channel;
int	proto_to_worker(struct msg_channel *, uint32_t, const void *, size_t,
	    int);
int	proto_to_master(struct msg_channel *, uint32_t, const void *, size_t,
	    int);

#endif
