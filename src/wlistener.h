/*
 * A listener as a worker knows it.  The worker keeps the table and
 * polls the socket; every relay started on a listener holds it, so that
 * a listener a reload took out of the table lives on until its last
 * relay ends.  Its counters are kept by id, across reloads.
 */
#ifndef TCPPROXY_WLISTENER_H
#define TCPPROXY_WLISTENER_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proto.h"

struct wlistener {
	TAILQ_ENTRY(wlistener)	 entry;
	struct proto_listener	 conf;
	char			 name[ADDR_STRLEN];
	int			 fd;
	int			 slot;
	int64_t			 full_until_ms;	/* at max-connections */
	int			 in_table;	/* else only relays hold it */
	size_t			 counters;	/* index in the counters by id */
	uint64_t		 nrelays;	/* open connections: they hold it */
	uint32_t		 rr_next;	/* balance: round-robin turn */
};

TAILQ_HEAD(wlistener_list, wlistener);

struct wlistener *wlistener_new(const void *, int);
void	wlistener_hold(struct wlistener *);
void	wlistener_release(struct wlistener *);
void	wlistener_retire(struct wlistener *);
struct proto_counters *wlistener_counters(const struct wlistener *);

#endif
