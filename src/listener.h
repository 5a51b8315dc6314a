/*
 * The master's listener table: for every resolved local address of every
 * stanza, one bound socket per worker (Linux: an SO_REUSEPORT group, so
 * each worker has an accept queue of its own) or one that they share.
 */
#ifndef TCPPROXY_LISTENER_H
#define TCPPROXY_LISTENER_H

#include <sys/queue.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "proto.h"

#define LISTEN_BACKLOG	4096
#define LISTENER_SOCKETS_MAX 64		/* = the most workers (-w) */

/* Where a listener stands in the last merge; see listener_table_build. */
enum listener_mark {
	LISTENER_NEW,		/* bound (or handed over) for its table */
	LISTENER_KEEP,		/* in the old and the new table: one socket */
	LISTENER_DELETE,	/* in the old table only: closed with it */
};

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	uint32_t		 id;
	enum listener_mark	 mark;
	struct addr		 local;
	int			 fds[LISTENER_SOCKETS_MAX]; /* by worker; -1: none */
	int			 nfds;		/* 1: all share fds[0] */
	int			 paused;	/* drained by the control socket */
	struct conf_stanza	*stanza;	/* in the table's conf */
	uint64_t		 connections;	/* SIGUSR1: the workers' sum */
	struct proto_counters	 counters;	/* SIGUSR1: the workers' sum */
};

TAILQ_HEAD(listener_list, listener);

struct listener_table {
	struct listener_list	 list;
	struct conf		 conf;
	uint32_t		 generation;
	size_t			 n;
};

int	listener_table_build(struct listener_table *, struct conf *,
	    struct listener_table *, uint32_t *, int);
void	listener_table_free(struct listener_table *);
void	listener_table_retire(struct listener_table *);
void	listener_to_proto(const struct listener *, uint32_t,
	    struct proto_listener *);
void	listener_describe(const struct listener *, char *, size_t);
void	listener_down_remotes(const struct listener *, int64_t, int, char *,
	    size_t);
int	listener_worker_socket(struct listener *, int);
void	listener_table_drop_worker(struct listener_table *, int);
void	listener_table_close_sockets(struct listener_table *);
int	listener_bind_one(const struct addr *, char *, size_t);
int	listener_pause(struct listener *, int);
void	listener_counters_add(struct proto_counters *,
	    const struct proto_counters *);

#endif
