/*
 * Framed messages between processes over a SOCK_SEQPACKET socketpair.
 *
 * Every message is one datagram: a fixed header (type, payload length)
 * followed by the payload, with at most one file descriptor passed
 * alongside via SCM_RIGHTS.  Sends are queued and flushed without ever
 * blocking, so two processes that both send can never deadlock.
 */
#ifndef PRIVSEP_MSG_H
#define PRIVSEP_MSG_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_PAYLOAD_MAX	8192
#define MSG_QUEUE_MAX	4096	/* queued outbound messages per channel */

struct msg_header {
	uint32_t	type;
	uint32_t	len;		/* payload bytes after the header */
};

struct msg {
	struct msg_header	 hdr;
	unsigned char		 data[MSG_PAYLOAD_MAX];
	int			 fd;	/* -1 when none was passed */
};

struct msg_out;

struct msg_channel {
	int			 fd;
	size_t			 queued;
	size_t			 dropped;	/* messages refused by a full queue */
	STAILQ_HEAD(, msg_out)	 queue;
};

int	msg_socketpair(int [2]);
void	msg_channel_init(struct msg_channel *, int);
void	msg_channel_clear(struct msg_channel *);
int	msg_enqueue(struct msg_channel *, uint32_t, const void *, size_t, int);
int	msg_flush(struct msg_channel *);
int	msg_flush_wait(struct msg_channel *, int);
int	msg_pending(const struct msg_channel *);
int	msg_read(struct msg_channel *, struct msg *, const char **);

#endif
