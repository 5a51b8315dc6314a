/*
 * Validation of what a worker sends the master; see proto.h.  Pure: no
 * I/O, no state, so that the master and the fuzzer run the same checks.
 * What needs the master's state (is this generation one it sent, was a
 * dump or a stats round asked for) stays with the master.
 */
#include <sys/types.h>

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
	default:
		return (bad(why, whylen, "unknown message type"));
	}
}
