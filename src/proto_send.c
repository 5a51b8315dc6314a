/*
 * Sending on a master <-> worker channel: every message is held to the
 * table its receiver checks it by (proto.c) before it is queued, so the
 * two sides cannot drift apart unnoticed.  Kept out of proto.c, which
 * the fuzzers link without the log.
 */
#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "proto.h"

int
proto_to_worker(struct msg_channel *ch, uint32_t type, const void *data,
    size_t len, int fd)
{
	char	why[128];

	if (proto_check(PROTO_TO_WORKER, type, data, len, fd, why,
	    sizeof(why)) == -1) {
		log_warnx("bug: not sending message type %u to a worker: %s",
		    type, why);
		if (fd != -1)
			close(fd);	/* as msg_enqueue() does when it fails */
		errno = EINVAL;
		return (-1);
	}
	return (msg_enqueue(ch, type, data, len, fd));
}

int
proto_to_master(struct msg_channel *ch, uint32_t type, const void *data,
    size_t len, int fd)
{
	char	why[128];

	if (proto_check(PROTO_TO_MASTER, type, data, len, fd, why,
	    sizeof(why)) == -1)
		fatalx("sending message type %u to the master: %s", type, why);
	return (msg_enqueue(ch, type, data, len, fd));
}
