/*
 * Sending on a master <-> worker channel: every message is held to the
 * table the receiver checks it by (proto.c) before it is queued, so the
 * two sides cannot drift apart unnoticed.  Kept out of proto.c, which
 * the fuzzers link without the log.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "msg.h"
#include "proto.h"

int
proto_enqueue(struct msg_channel *ch, uint32_t type, const void *data,
    size_t len, int fd)
{
	char	why[128];

	if (proto_check_outgoing(type, data, len, fd, why, sizeof(why)) == -1)
		fatalx("sending message type %u: %s", type, why);
	return (msg_enqueue(ch, type, data, len, fd));
}
