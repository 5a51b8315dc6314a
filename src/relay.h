/*
 * One proxied connection: a client, a remote, and bytes both ways.
 */
#ifndef TCPPROXY_RELAY_H
#define TCPPROXY_RELAY_H

#include <sys/queue.h>
#include <stdint.h>

#include "addr.h"

struct worker;
struct wlistener;
struct relay;

struct relay_end {
	struct relay	*relay;
	int		 fd;
	int		 slot;
	struct addr	 addr;		/* the peer's address */
};

/* Bytes flowing from one end to the other. */
struct relay_dir {
	struct relay_end *from;
	struct relay_end *to;
	unsigned char	 *buf;		/* NULL while nothing waits */
	size_t		  off;
	size_t		  len;
	uint64_t	  bytes;	/* delivered to 'to' */
	int		  eof;		/* read 0 from 'from' */
	int		  shut;		/* shutdown(to, SHUT_WR) done */
};

enum relay_state { RELAY_CONNECTING, RELAY_ESTABLISHED };

struct relay {
	TAILQ_ENTRY(relay)	 entry;
	struct worker		*worker;
	struct wlistener	*listener;
	uint64_t		 id;
	enum relay_state	 state;
	struct relay_end	 client;
	struct relay_end	 remote;
	struct addr		 source;	/* local end toward the remote */
	struct relay_dir	 up;		/* client -> remote */
	struct relay_dir	 down;		/* remote -> client */
	size_t			 bufsize;
	uint32_t		 next_remote;
	int			 last_errno;
	int64_t			 started_ms;
};

void	relay_start(struct worker *, struct wlistener *, int,
	    const struct addr *);
void	relay_dump(struct worker *);
void	relay_pool_trim(void);

#endif
