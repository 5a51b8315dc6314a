/*
 * Shared connection counts.
 *
 * The master maps one row per worker before forking the workers.  Each
 * worker owns a row and can write only that one: the others are mapped
 * again, read-only, from a descriptor opened read-only, so that a
 * compromised worker cannot lower another's counts to admit clients
 * beyond a limit, nor raise them to turn clients away.  (It can still
 * raise its own, which is no more than holding that many connections.)
 * A limit is checked against the sum of all rows, in 64 bits so that a
 * forged row cannot wrap it.
 * A worker counts a connection first and checks afterwards, backing off
 * when the sum is over the limit: two workers racing for the last place
 * may then both back off, but the limit is never exceeded.  The
 * listener's place is taken before accept(2), so that a client over
 * max-connections stays in the kernel's queue instead of being accepted
 * and closed (a worker that backs off looks again shortly); the source
 * is only known after.
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

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counts.h"
#include "proto.h"

#define LISTENER_SLOTS	1024
#define SOURCE_SLOTS	16384

struct counts_row {
	_Atomic uint32_t	listener[LISTENER_SLOTS];
	_Atomic uint32_t	source[SOURCE_SLOTS];
};

struct counts_map {
	struct counts_row	*row;	/* the master's: read-write */
	int			 ro_fd;	/* for a child's read-only copy */
};

static struct counts_map	*maps;
static int			 nrows;
static int			 self = -1;	/* this worker's row */

/*
 * A shared, zeroed row and a read-only descriptor of it: a memfd opened
 * again through /proc on Linux (a memfd's own descriptor is read-write
 * for good), a POSIX shared memory object elsewhere.  The row cannot be
 * resized, so nobody can make the others fault on it.
 */
static int
row_create(struct counts_map *m, char *err, size_t errlen)
{
	char	path[64];
	int	fd;

#ifdef __linux__
	if ((fd = memfd_create("tcpproxy-counts", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return (-1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((m->ro_fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
#else
	snprintf(path, sizeof(path), "/tcpproxy-counts.%ld.%u",
	    (long)getpid(), arc4random());
	if ((fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "shm_open: %s", strerror(errno));
		return (-1);
	}
	m->ro_fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);
	shm_unlink(path);
	if (m->ro_fd == -1) {
		snprintf(err, errlen, "shm_open read-only: %s",
		    strerror(errno));
		close(fd);
		return (-1);
	}
#endif
	if (ftruncate(fd, sizeof(struct counts_row)) == -1) {
		snprintf(err, errlen, "ftruncate: %s", strerror(errno));
		goto fail;
	}
#ifdef __linux__
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) == -1) {
		snprintf(err, errlen, "seal: %s", strerror(errno));
		goto fail;
	}
#endif
	m->row = mmap(NULL, sizeof(struct counts_row), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (m->row == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		goto fail;
	}
	close(fd);
	return (0);
fail:
	close(fd);
	close(m->ro_fd);
	m->ro_fd = -1;
	return (-1);
}

/* Map the rows; called by the master before any worker exists. */
int
counts_init(int nworkers, char *err, size_t errlen)
{
	int	i;

	if ((maps = calloc((size_t)nworkers, sizeof(*maps))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	for (i = 0; i < nworkers; i++)
		if (row_create(&maps[i], err, errlen) == -1)
			return (-1);
	nrows = nworkers;
	return (0);
}

/*
 * In a child just forked, before its descriptors are closed: keep
 * write access to row id (1-based; 0 for none) only, and map every other
 * row read-only over the inherited mapping, for a worker; a child that
 * counts nothing (id 0) keeps none.  -1 when a row cannot be remapped:
 * the child must not run with the master's access.
 */
int
counts_child_setup(int id)
{
	void	*p;
	int	 i;

	for (i = 0; i < nrows; i++) {
		if (i == id - 1)
			continue;
		if (id == 0) {
			if (munmap(maps[i].row, sizeof(struct counts_row)) == -1)
				return (-1);
			continue;
		}
		p = mmap(maps[i].row, sizeof(struct counts_row), PROT_READ,
		    MAP_SHARED | MAP_FIXED, maps[i].ro_fd, 0);
		if (p == MAP_FAILED)
			return (-1);
	}
	if (id == 0)
		nrows = 0;
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
	if (id >= 1 && id <= nrows)
		memset(maps[id - 1].row, 0, sizeof(struct counts_row));
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
	uint8_t				 a[16];
	int				 bits, len, i;

	if (addr_host_bytes(client, a) == AF_INET) {
		bits = pl->source_prefix4;
		len = 4;
	} else {
		bits = pl->source_prefix6;
		len = 16;
	}
	for (i = 0; i < len; i++)
		a[i] &= addr_prefix_mask(bits, i);
	return (hash32(hash32(2166136261u, (const uint8_t *)&pl->id,
	    sizeof(pl->id)), a, (size_t)len) % SOURCE_SLOTS);
}

/* One slot's count summed over the rows of all workers: no row wraps it. */
static uint64_t
sum_slot(int source, uint32_t slot)
{
	uint64_t	sum = 0;
	int		i;

	for (i = 0; i < nrows; i++)
		sum += atomic_load(source ? &maps[i].row->source[slot] :
		    &maps[i].row->listener[slot]);
	return (sum);
}

/* Is this process a worker with a row to count in? */
static int
counting(void)
{
	return (self >= 0 && self < nrows);
}

/*
 * One more in this worker's row of a slot; taken back, and -1, when the
 * sum over all rows is then over limit.
 */
static int
take_slot(int source, uint32_t slot, uint32_t limit)
{
	struct counts_row	*row = maps[self].row;
	_Atomic uint32_t	*mine = source ? &row->source[slot] :
				    &row->listener[slot];

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
		atomic_fetch_sub(&maps[self].row->listener[h->listener_slot], 1);
	if (h->source_held)
		atomic_fetch_sub(&maps[self].row->source[h->source_slot], 1);
	h->listener_held = h->source_held = 0;
}

/*
 * Test hooks (see worker.c): what a compromised worker would try.
 * Forge this worker's own row to 2^32 - 1 in every listener slot, which
 * a 32-bit sum would wrap to one below the others' count, admitting one
 * more than the limit (and a forger that kept adjusting it, any number);
 * or
 * write into another worker's row, which must fault.
 */
void
counts_selftest_forge_own(void)
{
	int	i;

	if (!counting())
		return;
	for (i = 0; i < LISTENER_SLOTS; i++)
		atomic_store(&maps[self].row->listener[i], UINT32_MAX);
}

void
counts_selftest_write_other(void)
{
	if (counting() && nrows > 1)
		atomic_store(&maps[(self + 1) % nrows].row->listener[0], 0);
}
