/*
 * A child's log records, shipped to the master; see logsink.h.
 */
#include <sys/types.h>

#include <string.h>

#include "logsink.h"
#include "msg.h"
#include "proto.h"

/* Queued and flushed at once; what does not fit now goes on POLLOUT. */
void
logsink_send(struct msg_channel *ch, int level, const char *msg)
{
	unsigned char		 buf[MSG_PAYLOAD_MAX];
	struct proto_log_hdr	 hdr;
	size_t			 len = strlen(msg);

	hdr.level = (uint32_t)level;
	if (len > sizeof(buf) - sizeof(hdr))
		len = sizeof(buf) - sizeof(hdr);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), msg, len);
	if (msg_enqueue(ch, PROTO_LOG, buf, sizeof(hdr) + len, -1) == 0)
		msg_flush(ch);
}
