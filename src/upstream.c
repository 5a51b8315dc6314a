/*
 * The order in which a new connection tries the remote addresses.
 *
 * The balanced groups (remote: and the server: lines) form a ring, and
 * a connection walks it from a starting group: always the first for
 * balance: first, the next in a weighted turn of this worker's for
 * round-robin, or one picked by the client's address for source-hash,
 * so that a client keeps its server while that server answers.  After
 * the ring come the backup: groups in the order given.  Within a group
 * its addresses keep the resolver's order.
 *
 * Addresses that passive health holds down are left out, unless every
 * address is down: then all are tried, in the same order, rather than
 * refusing every client while the remotes may be back.
 */
#include <sys/types.h>
#include <netinet/in.h>

#include <string.h>

#include "health.h"
#include "proto.h"
#include "upstream.h"

static const char *const balance_names[BALANCE_COUNT] = {
	"first", "round-robin", "source-hash"
};

/* BALANCE_* of a balance: value, or -1. */
int
upstream_balance_parse(const char *s)
{
	int	i;

	for (i = 0; i < BALANCE_COUNT; i++)
		if (strcmp(s, balance_names[i]) == 0)
			return (i);
	return (-1);
}

const char *
upstream_balance_name(int balance)
{
	return (balance >= 0 && balance < BALANCE_COUNT ?
	    balance_names[balance] : "?");
}

/* FNV-1a of the client's address, not its port. */
static uint32_t
client_hash(const struct addr *client)
{
	uint8_t		 p[16];
	size_t		 len, i;
	uint32_t	 h = 2166136261u;

	len = addr_host_bytes(client, p) == AF_INET ? 4 : 16;
	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return (h);
}

/* The balanced group that owns point pick of the weighted ring. */
static unsigned int
group_at(const struct proto_listener *pl, uint32_t pick)
{
	unsigned int	g;

	for (g = 0; g + 1 < pl->nbalanced; g++) {
		if (pick < pl->weight[g])
			break;
		pick -= pl->weight[g];
	}
	return (g);
}

/*
 * Fill out[] with indices into pl->remotes in the order to try them and
 * return how many.  rr is the listener's round-robin turn, advanced.
 */
size_t
upstream_order(const struct proto_listener *pl, const struct addr *client,
    uint32_t *rr, int64_t now_ms, uint8_t *out)
{
	uint8_t		 all[REMOTES_MAX];
	unsigned int	 start = 0, total = 0, g, k;
	size_t		 i, n = 0, nall = 0;

	for (g = 0; g < pl->nbalanced; g++)
		total += pl->weight[g];
	if (pl->balance == BALANCE_ROUND_ROBIN && total > 0)
		start = group_at(pl, (*rr)++ % total);
	else if (pl->balance == BALANCE_SOURCE_HASH && total > 0)
		start = group_at(pl, client_hash(client) % total);

	for (k = 0; k < pl->ngroups; k++) {
		g = k < pl->nbalanced ? (start + k) % pl->nbalanced : k;
		for (i = 0; i < pl->nremotes; i++)
			if (pl->remote_group[i] == g)
				all[nall++] = (uint8_t)i;
	}
	for (i = 0; i < nall; i++)
		if (pl->down_after == 0 ||
		    !health_is_down(&pl->remotes[all[i]], now_ms))
			out[n++] = all[i];
	if (n == 0) {
		memcpy(out, all, nall);
		n = nall;
	}
	return (n);
}
