/*
 * A worker: an unprivileged process that accepts on every listener and
 * relays connections in one poll() loop.
 */
#ifndef TCPPROXY_WORKER_H
#define TCPPROXY_WORKER_H

#include <sys/queue.h>
#include <stdint.h>

#include "addr.h"
#include "pollset.h"
#include "proto.h"

struct proc_identity;
struct relay;

/* A listener as a worker knows it; freed once no relay refers to it. */
struct wlistener {
	TAILQ_ENTRY(wlistener)	 entry;
	struct proto_listener	 conf;
	char			 name[ADDR_STRLEN];
	int			 fd;
	int			 slot;
	int64_t			 full_until_ms;	/* at max-connections */
	int			 in_table;	/* else only relays hold it */
	size_t			 counters;	/* index in worker.counters */
	unsigned int		 refs;		/* relays using conf */
	uint64_t		 nrelays;	/* open connections */
	uint32_t		 rr_next;	/* balance: round-robin turn */
};

TAILQ_HEAD(wlistener_list, wlistener);

struct listener_counters {
	uint32_t		 id;
	struct proto_counters	 c;
};
TAILQ_HEAD(relay_list, relay);

struct worker {
	int			 id;
	struct pollset		 ps;
	struct wlistener_list	 listeners;	/* the active table */
	struct wlistener_list	 pending;	/* being received */
	uint32_t		 pending_generation;
	struct relay_list	 relays;
	uint64_t		 nrelays;
	uint64_t		 max_relays;	/* from RLIMIT_NOFILE */
	uint64_t		 next_relay_id;
	struct listener_counters *counters;	/* by listener id, */
	size_t			 ncounters;	/* across reloads */
	unsigned char		*scratch;	/* one read's worth */
	size_t			 scratch_size;
	int64_t			 now_ms;	/* as of the last wake-up */
	int64_t			 next_sweep_ms;	/* timeouts, once a second */
	int			 accept_paused;
	int			 accept_failing;	/* EMFILE and the like */
	int64_t			 accept_resume_ms;
	int			 quiescing;	/* exit after the last relay */
};

__attribute__((__noreturn__))
void	worker_main(int, const struct proc_identity *, int);
void	worker_listener_unref(struct worker *, struct wlistener *);
void	worker_accept_resume(struct worker *);
void	worker_set_test_hooks(char *);
void	worker_set_sandbox(int);
struct proto_counters *worker_counters(struct worker *, struct wlistener *);

#endif
