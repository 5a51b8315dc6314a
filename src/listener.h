/*
 * The master's listener table: one bound socket per resolved local
 * address of every stanza.
 */
#ifndef TCPPROXY_LISTENER_H
#define TCPPROXY_LISTENER_H

#include <sys/queue.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "proto.h"

#define LISTEN_BACKLOG	4096

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	uint32_t		 id;
	struct addr		 local;
	int			 fd;
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

void	listener_table_init(struct listener_table *);
int	listener_table_build(struct listener_table *, struct conf *,
	    struct listener_table *, uint32_t *);
void	listener_table_free(struct listener_table *,
	    const struct listener_table *);
void	listener_to_proto(const struct listener *, uint32_t,
	    struct proto_listener *);
void	listener_describe(const struct listener *, char *, size_t);

#endif
