/*
 * Shared connection counts.
 *
 * The master maps one table before forking the workers.  Each worker
 * owns a row and only ever writes its own; a limit is checked against
 * the sum of all rows.  A worker counts a connection first and checks
 * afterwards, backing off when the sum is over the limit: two workers
 * racing for the last place may then both back off, but the limit is
 * never exceeded.  The listener's place is taken before accept(2), so
 * that a client over max-connections stays in the kernel's queue
 * instead of being accepted and closed (a worker that backs off looks
 * again shortly); the source is only known after.
 * When a worker dies the master clears its row, so a crash cannot leak
 * counts.
 *
 * Listeners and sources are hashed into fixed slots: two sources that
 * share a slot share a count, which can only refuse early, never admit
 * too many.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <netinet/in.h>

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "counts.h"
#include "proto.h"

#define LISTENER_SLOTS	1024
#define SOURCE_SLOTS	16384

struct counts_row {
	_Atomic uint32_t	listener[LISTENER_SLOTS];
	_Atomic uint32_t	source[SOURCE_SLOTS];
};

static struct counts_row	*rows;
static int			 nrows;
static int			 self = -1;	/* this worker's row */

/* Map the table; called by the master before any worker exists. */
int
counts_init(int nworkers)
{
	void	*p;

	p = mmap(NULL, sizeof(struct counts_row) * (size_t)nworkers,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);
	rows = p;
	nrows = nworkers;
	return (0);
}

/* Worker id (1-based) to row. */
void
counts_set_worker(int id)
{
	self = id - 1;
}

/* The master: worker id died, its connections with it. */
void
counts_forget_worker(int id)
{
	if (rows != NULL && id >= 1 && id <= nrows)
		memset(&rows[id - 1], 0, sizeof(rows[id - 1]));
}

static uint32_t
hash32(uint32_t h, const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return (h);
}

/* The client's source, cut to the listener's prefix, with the listener. */
static uint32_t
source_slot(const struct proto_listener *pl, const struct addr *client)
{
	const struct sockaddr_in6	*s6;
	uint8_t				 a[16];
	int				 bits, len, i;

	memset(a, 0, sizeof(a));
	if (client->ss.ss_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)&client->ss)->sin_addr,
		    4);
		bits = pl->source_prefix4;
		len = 4;
	} else {
		s6 = (const struct sockaddr_in6 *)&client->ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(a, &s6->sin6_addr.s6_addr[12], 4);
			bits = pl->source_prefix4;
			len = 4;
		} else {
			memcpy(a, &s6->sin6_addr, 16);
			bits = pl->source_prefix6;
			len = 16;
		}
	}
	for (i = 0; i < len; i++) {
		int	keep = bits - i * 8;

		a[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));
	}
	return (hash32(hash32(2166136261u, (const uint8_t *)&pl->id,
	    sizeof(pl->id)), a, (size_t)len) % SOURCE_SLOTS);
}

/* One slot's count summed over the rows of all workers. */
static uint32_t
sum_slot(int source, uint32_t slot)
{
	uint32_t	sum = 0;
	int		i;

	for (i = 0; i < nrows; i++)
		sum += atomic_load(source ? &rows[i].source[slot] :
		    &rows[i].listener[slot]);
	return (sum);
}

/* Is this process a worker with a row to count in? */
static int
counting(void)
{
	return (rows != NULL && self >= 0 && self < nrows);
}

/*
 * One more in this worker's row of a slot; taken back, and -1, when the
 * sum over all rows is then over limit.
 */
static int
take_slot(int source, uint32_t slot, uint32_t limit)
{
	_Atomic uint32_t	*mine = source ? &rows[self].source[slot] :
				    &rows[self].listener[slot];

	atomic_fetch_add(mine, 1);
	if (sum_slot(source, slot) > limit) {
		atomic_fetch_sub(mine, 1);
		return (-1);
	}
	return (0);
}

/*
 * Before accept(2): take a place under the listener's max-connections,
 * or return -1 when there is none, and the client waits in the queue.
 */
int
counts_reserve(const struct proto_listener *pl, struct counts_hold *h)
{
	memset(h, 0, sizeof(*h));
	if (!counting() || pl->max_connections == 0)
		return (0);
	h->listener_slot = pl->id % LISTENER_SLOTS;
	if (take_slot(0, h->listener_slot, pl->max_connections) == -1)
		return (-1);
	h->listener_held = 1;
	return (0);
}

/* After accept(2): the client's source, under max-per-source, or -1. */
int
counts_acquire(const struct proto_listener *pl, const struct addr *client,
    struct counts_hold *h)
{
	if (!counting() || pl->max_per_source == 0)
		return (0);
	h->source_slot = source_slot(pl, client);
	if (take_slot(1, h->source_slot, pl->max_per_source) == -1)
		return (-1);
	h->source_held = 1;
	return (0);
}

void
counts_release(struct counts_hold *h)
{
	if (!counting())
		return;
	if (h->listener_held)
		atomic_fetch_sub(&rows[self].listener[h->listener_slot], 1);
	if (h->source_held)
		atomic_fetch_sub(&rows[self].source[h->source_slot], 1);
	h->listener_held = h->source_held = 0;
}
