/*
 * A child's log records, shipped to the master; see logsink.h.
 */
#include <sys/types.h>

#include <string.h>

#include "logsink.h"
#include "msg.h"
#include "proto.h"

/*
 * How long a dying child waits for the master to read its last record.
 * A master that reads at all drains the channel in far less; one that
 * does not is stopped or gone, and nothing would read it anyway.
 */
#define LAST_RECORD_WAIT_MS	5000

/*
 * Queued and flushed at once; what does not fit now goes on POLLOUT.
 * The last record of a process (a fatal error) must not be lost to a
 * full channel: the queue is drained first, so that there is room, and
 * the record waits to be sent.
 */
void
logsink_send(struct msg_channel *ch, int level, const char *msg, int last)
{
	unsigned char		 buf[MSG_PAYLOAD_MAX];
	struct proto_log_hdr	 hdr;
	size_t			 len = strlen(msg);

	hdr.level = (uint32_t)level;
	if (len > sizeof(buf) - sizeof(hdr))
		len = sizeof(buf) - sizeof(hdr);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), msg, len);
	if (last)
		(void)msg_flush_wait(ch, LAST_RECORD_WAIT_MS);
	if (msg_enqueue(ch, PROTO_LOG, buf, sizeof(hdr) + len, -1) == 0) {
		if (last)
			(void)msg_flush_wait(ch, LAST_RECORD_WAIT_MS);
		else
			msg_flush(ch);
	}
}
