/*
 * Which remote address a new connection tries first, and then which:
 * remote: and the server: lines take turns as balance: says, backup:
 * lines come after them in order, and addresses that passive health
 * counts as down are left to the end.
 */
#ifndef TCPPROXY_UPSTREAM_H
#define TCPPROXY_UPSTREAM_H

#include <stdint.h>

#include "addr.h"

#define REMOTES_MAX	32	/* addresses per listener, all groups */
#define GROUPS_MAX	17	/* remote, 8 server: and 8 backup: lines */
#define WEIGHT_MAX	100

enum {
	BALANCE_FIRST,		/* the first group that answers */
	BALANCE_ROUND_ROBIN,	/* each connection starts at the next */
	BALANCE_SOURCE_HASH,	/* the client's address picks the start */
	BALANCE_COUNT
};

struct proto_listener;

int	upstream_balance_parse(const char *);
const char *upstream_balance_name(int);
size_t	upstream_order(const struct proto_listener *, const struct addr *,
	    uint32_t *, int64_t, uint8_t *);

#endif
