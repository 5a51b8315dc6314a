/*
 * The master <-> worker protocol, carried by privsep/msg.
 *
 * A table is sent as PROTO_LISTENER messages, each with its listening
 * socket attached, then PROTO_COMMIT; the worker builds the pending table
 * as they come and switches to it at the commit, then answers
 * PROTO_READY with the same generation.  Every message has a fixed size
 * except PROTO_LOG, and the receiver checks it.
 */
#ifndef TCPPROXY_PROTO_H
#define TCPPROXY_PROTO_H

#include <stdint.h>

#include "addr.h"

#define PROTO_VERSION	1

enum proto_type {
	/* master -> worker */
	PROTO_LISTENER = 1,	/* struct proto_listener + listening fd */
	PROTO_COMMIT,		/* struct proto_commit */
	PROTO_DUMP,		/* no payload: log open connections */
	/* worker -> master */
	PROTO_READY = 64,	/* struct proto_commit */
	PROTO_LOG,		/* struct proto_log_hdr + text */
	PROTO_DUMP_DONE,	/* no payload */
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
};

struct proto_commit {
	uint32_t	version;
	uint32_t	generation;
	uint32_t	nlisteners;
};

struct proto_log_hdr {
	uint32_t	level;
};

#endif
