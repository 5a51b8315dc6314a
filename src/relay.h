/*
 * One proxied connection: a client, a remote, and bytes both ways.
 */
#ifndef TCPPROXY_RELAY_H
#define TCPPROXY_RELAY_H

#include <sys/queue.h>
#include <stdint.h>

#include "addr.h"
#include "counts.h"
#include "flow.h"
#include "upstream.h"

struct pollset;
struct proto_conn;
struct wlistener;
struct relay;
struct relay_header;

struct relay_end {
	struct relay	*relay;
	int		 fd;
	int		 slot;
	struct addr	 addr;		/* the peer's address */
	uint64_t	 cookie;	/* SO_COOKIE, once asked; 0 before */
	int		 target;	/* in the kernel path's targets map */
};

/* HEADER: reading a PROXY header (accept-proxy-protocol), nothing else. */
enum relay_state { RELAY_HEADER, RELAY_CONNECTING, RELAY_ESTABLISHED };

/* Why a relay ended, for its close line and its listener's counters. */
enum relay_reason {
	REASON_EOF,		/* both sides ended their sending half */
	REASON_RESET,
	REASON_ERROR,
	REASON_DENIED,		/* by an allow or deny rule */
	REASON_LIMIT,		/* max-connections or max-per-source */
	REASON_CONNECT_FAILED,
	REASON_IDLE_TIMEOUT,
	REASON_FIN_TIMEOUT,
	REASON_SHUTDOWN,	/* the worker stopped */
	REASON_KILLED,		/* by the control socket */
	REASON_UNTRUSTED,	/* a PROXY header from outside proxy-trusted */
	REASON_PROXY_HEADER,	/* none, or a bad one */
	REASON_HEADER_TIMEOUT,	/* not complete within proxy-header-timeout */
};

struct relay {
	TAILQ_ENTRY(relay)	 entry;
	struct relay_set	*set;
	struct wlistener	*listener;
	uint64_t		 id;
	enum relay_state	 state;
	struct relay_end	 client;
	struct relay_end	 remote;
	struct addr		 source;	/* local end toward the remote */
	struct flow		 up;		/* client -> remote */
	struct flow		 down;		/* remote -> client */
	size_t			 bufsize;
	uint8_t			 order[REMOTES_MAX];	/* remotes to try */
	uint8_t			 norder;
	uint8_t			 next_remote;	/* in order[] */
	int			 last_errno;
	int64_t			 started_ms;
	int64_t			 attempt_ms;	/* this connect attempt began */
	int64_t			 active_ms;	/* bytes last moved */
	int64_t			 half_ms;	/* first EOF, or 0 */
	int			 keepalive_set;	/* by a sweep, once established */
	struct counts_hold	 hold;		/* shared counts taken */
	struct relay_header	*header;	/* while RELAY_HEADER */
	struct addr		 header_dst;	/* from it; family 0: none */
	TAILQ_ENTRY(relay)	 drain_entry;	/* in the set's draining list */
	int			 draining;	/* in it */
};

TAILQ_HEAD(relay_list, relay);

/*
 * A worker's relays.  Only relay.c adds and removes them; the worker
 * reads the list and the count, and hears of every end through closed()
 * (a place to accept again).
 */
struct relay_set {
	struct relay_list	 list;
	uint64_t		 n;		/* open relays */
	uint64_t		 next_id;
	struct pollset		*ps;		/* the worker's */
	const int64_t		*now_ms;	/* its clock, as of its wake-up */
	void			(*closed)(void *);
	void			*arg;		/* closed()'s */
	struct relay_list	 draining;	/* a direction leaves the kernel */
};

void	relay_set_init(struct relay_set *, struct pollset *, const int64_t *,
	    void (*)(void *), void *);
void	relay_start(struct relay_set *, struct wlistener *, int,
	    const struct addr *, struct counts_hold *);
void	relay_dump(struct relay_set *);
void	relay_describe(const struct relay *, int64_t, struct proto_conn *);
int	relay_kill(struct relay_set *, uint64_t);
void	relay_sweep(struct relay_set *, int64_t);
void	relay_shutdown_all(struct relay_set *);
void	relay_sync_counts(struct relay_set *);

/* For relay_sockmap.c, the kernel's half of the state machine. */
void	relay_close(struct relay *, enum relay_reason, int);
void	relay_update_events(struct relay *);
enum relay_reason relay_reason_of(int);

#endif
