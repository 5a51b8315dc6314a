/*
 * libFuzzer harness for the master's side of the master <-> worker
 * protocol: what msg_read() decodes from a worker's datagram and what
 * proto_check_worker_msg() lets through (input format: channel.h).  A
 * message the check accepts then goes through the same copying the
 * master does, so that a check too lax for the master's buffers shows
 * up as an ASan report.  fuzz_worker_msg is the other direction.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "channel.h"
#include "log.h"
#include "msg.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A connection list: copied and formatted as master_control.c does. */
static void
conn_batch(const struct msg *m)
{
	struct proto_conn_batch	 b;
	char			 a[ADDR_STRLEN];
	uint32_t		 i;

	if (m->hdr.len > sizeof(b) || m->hdr.len != PROTO_CONN_BATCH_LEN(
	    ((const struct proto_conn_batch *)(const void *)m->data)->n))
		fuzz_die("check passed a batch of the wrong length");
	memset(&b, 0, sizeof(b));
	memcpy(&b, m->data, m->hdr.len);
	for (i = 0; i < b.n; i++) {
		addr_fmt(&b.conn[i].client, a, sizeof(a));
		fuzz_sink ^= (uint32_t)strlen(a);
		if (b.conn[i].remote.len > 0)
			addr_fmt(&b.conn[i].remote, a, sizeof(a));
		fuzz_sink ^= (uint32_t)strlen(a);
	}
}

/* What the master does with a message the check let through. */
static void
master_side(const struct msg *m)
{
	struct proto_commit		 c;
	struct proto_log_hdr		 hdr;
	struct proto_listener_stats	 ls;
	struct proto_stats_done		 done;
	char				 text[LOG_LINE_MAX];
	uint32_t			 pair[2];
	size_t				 len;

	switch (m->hdr.type) {
	case PROTO_READY:
		memcpy(&c, m->data, sizeof(c));
		fuzz_sink ^= c.generation ^ c.nlisteners;
		break;
	case PROTO_LOG:
		memcpy(&hdr, m->data, sizeof(hdr));
		len = m->hdr.len - sizeof(hdr);
		memcpy(text, m->data + sizeof(hdr), len);
		text[len] = '\0';
		for (len = 0; text[len] != '\0'; len++)
			if ((unsigned char)text[len] < 0x20 ||
			    text[len] == 0x7f)
				text[len] = ' ';
		if (hdr.level < LOG_LVL_ERROR || hdr.level > LOG_LVL_DEBUG)
			fuzz_die("check passed a bad log level");
		break;
	case PROTO_DUMP_DONE:
		if (m->hdr.len != 0)
			fuzz_die("check passed a dump reply with a payload");
		break;
	case PROTO_LISTENER_STATS:
		memcpy(&ls, m->data, sizeof(ls));
		fuzz_sink ^= ls.seq ^ ls.id ^ (uint32_t)ls.connections;
		break;
	case PROTO_STATS_DONE:
		memcpy(&done, m->data, sizeof(done));
		fuzz_sink ^= done.seq ^ done.nlisteners ^ (uint32_t)done.retired;
		break;
	case PROTO_CONN_BATCH:
		conn_batch(m);
		break;
	case PROTO_CONNS_DONE:
	case PROTO_KILL_DONE:
		memcpy(&pair, m->data, sizeof(pair));
		fuzz_sink ^= pair[0] ^ pair[1];
		break;
	case PROTO_PONG:
		memcpy(&pair, m->data, sizeof(uint32_t));
		fuzz_sink ^= pair[0];
		break;
	default:
		fuzz_die("check passed an unknown type");
	}
}

static void
accepted(struct msg *m)
{
	fuzz_checked(m, PROTO_TO_MASTER, master_side);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_channel_one(data, size, accepted);
	return (0);
}
