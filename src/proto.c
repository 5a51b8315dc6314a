/*
 * Validation of what a worker sends the master; see proto.h.  Pure: no
 * I/O, no state, so that the master and the fuzzer run the same checks.
 * What needs the master's state (is this generation one it sent, was a
 * dump or a stats round asked for) stays with the master.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "proto.h"

static int
bad(char *why, size_t whylen, const char *reason)
{
	if (whylen > 0)
		snprintf(why, whylen, "%s", reason);
	return (-1);
}

/* An address a worker reports: IPv4, IPv6, or (if may_be_none) none. */
static int
addr_ok(const struct addr *a, int may_be_none)
{
	if (a->len == 0)
		return (may_be_none);
	if (a->ss.ss_family == AF_INET)
		return (a->len == sizeof(struct sockaddr_in));
	if (a->ss.ss_family == AF_INET6)
		return (a->len == sizeof(struct sockaddr_in6));
	return (0);
}

static int
check_conn_batch(const struct msg *msg, char *why, size_t whylen)
{
	struct proto_conn_batch	b;
	uint32_t		i;

	if (msg->hdr.len < PROTO_CONN_BATCH_LEN(1) ||
	    msg->hdr.len > sizeof(b))
		return (bad(why, whylen, "bad connection list message"));
	memset(&b, 0, sizeof(b));
	memcpy(&b, msg->data, msg->hdr.len);
	if (b.n < 1 || b.n > PROTO_CONN_BATCH_MAX ||
	    msg->hdr.len != PROTO_CONN_BATCH_LEN(b.n))
		return (bad(why, whylen, "connection list count does not "
		    "match its length"));
	for (i = 0; i < b.n; i++) {
		if (b.conn[i].state < PROTO_CONN_CONNECTING ||
		    b.conn[i].state > PROTO_CONN_HEADER)
			return (bad(why, whylen, "bad connection state"));
		if (!addr_ok(&b.conn[i].client, 0) ||
		    !addr_ok(&b.conn[i].remote, 1))
			return (bad(why, whylen, "bad connection address"));
	}
	return (0);
}

int
proto_check_worker_msg(const struct msg *msg, char *why, size_t whylen)
{
	struct proto_commit	c;
	struct proto_log_hdr	hdr;

	if (whylen > 0)
		why[0] = '\0';
	if (msg->fd != -1)
		return (bad(why, whylen, "unexpected descriptor"));
	if (msg->hdr.len > sizeof(msg->data))
		return (bad(why, whylen, "length beyond the payload"));
	switch (msg->hdr.type) {
	case PROTO_READY:
		if (msg->hdr.len != sizeof(c))
			return (bad(why, whylen, "bad ready message"));
		memcpy(&c, msg->data, sizeof(c));
		if (c.version != PROTO_VERSION)
			return (bad(why, whylen, "ready for another protocol "
			    "version"));
		return (0);
	case PROTO_LOG:
		/* A level, then 1 to LOG_LINE_MAX - 1 bytes of text. */
		if (msg->hdr.len < sizeof(hdr) + 1 ||
		    msg->hdr.len > sizeof(hdr) + LOG_LINE_MAX - 1)
			return (bad(why, whylen, "bad log message"));
		memcpy(&hdr, msg->data, sizeof(hdr));
		if (hdr.level < LOG_LVL_ERROR || hdr.level > LOG_LVL_DEBUG)
			return (bad(why, whylen, "bad log level"));
		return (0);
	case PROTO_DUMP_DONE:
		if (msg->hdr.len != 0)
			return (bad(why, whylen, "bad dump reply"));
		return (0);
	case PROTO_LISTENER_STATS:
		if (msg->hdr.len != sizeof(struct proto_listener_stats))
			return (bad(why, whylen, "bad listener stats message"));
		return (0);
	case PROTO_STATS_DONE:
		if (msg->hdr.len != sizeof(struct proto_stats_done))
			return (bad(why, whylen, "bad stats done message"));
		return (0);
	case PROTO_CONN_BATCH:
		return (check_conn_batch(msg, why, whylen));
	case PROTO_CONNS_DONE:
		if (msg->hdr.len != sizeof(struct proto_conns_done))
			return (bad(why, whylen, "bad connection list end"));
		return (0);
	case PROTO_KILL_DONE: {
		struct proto_kill_done	k;

		if (msg->hdr.len != sizeof(k))
			return (bad(why, whylen, "bad kill reply"));
		memcpy(&k, msg->data, sizeof(k));
		if (k.found > 1)
			return (bad(why, whylen, "bad kill reply"));
		return (0);
	}
	case PROTO_PONG:
		if (msg->hdr.len != sizeof(struct proto_ping))
			return (bad(why, whylen, "bad heartbeat reply"));
		return (0);
	default:
		return (bad(why, whylen, "unknown message type"));
	}
}
