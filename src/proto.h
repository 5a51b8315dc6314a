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
 */
#ifndef TCPPROXY_PROTO_H
#define TCPPROXY_PROTO_H

#include <stdint.h>

#include "acl.h"
#include "addr.h"
#include "proxyhdr.h"

#define PROTO_VERSION	4

enum proto_type {
	/* master -> worker */
	PROTO_LISTENER = 1,	/* struct proto_listener + listening fd */
	PROTO_COMMIT,		/* struct proto_commit */
	PROTO_DUMP,		/* no payload: log open connections */
	PROTO_STATS,		/* struct proto_stats */
	/* worker -> master */
	PROTO_READY = 64,	/* struct proto_commit */
	PROTO_LOG,		/* struct proto_log_hdr + text */
	PROTO_DUMP_DONE,	/* no payload */
	PROTO_LISTENER_STATS,	/* struct proto_listener_stats */
	PROTO_STATS_DONE,	/* struct proto_stats_done */
};

struct proto_listener {
	uint32_t	id;		/* stable across reloads */
	uint32_t	generation;
	uint32_t	bufsize;
	uint32_t	nremotes;
	struct addr	local;
	struct addr	remotes[ADDR_MAX];
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

struct msg;

/*
 * Is this a message a worker may send?  0 if so; else -1 with the reason
 * in why.  Checks the type, the exact size, the log level and that no
 * descriptor came along (the caller still owns and must close it).
 */
int	proto_check_worker_msg(const struct msg *, char *, size_t);

#endif
