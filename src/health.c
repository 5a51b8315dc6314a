/*
 * Passive health.
 *
 * The master maps one table before forking, and every worker reads and
 * writes it with atomics: an address's failed connects in a row, and
 * until when it is held down.  The worker whose failure reaches the
 * threshold marks it down and says so; the one whose connect succeeds
 * after that marks it up and says so, so each change is logged once.
 * When the time is up the next connection tries the address again, and
 * a failure then holds it down at once, without counting anew.
 *
 * Addresses are hashed into slots, probed linearly; a full stretch of
 * slots gives the home slot to the newcomer.  A slot shared by two
 * addresses can only mix up their failure counts, never a connection.
 * Every worker may write every slot: one taken over could hold down or
 * bring up any address, but never refuse all clients, since a remote
 * whose addresses are all down is tried anyway (see upstream.c).
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

#define HEALTH_SLOTS	1024
#define HEALTH_PROBE	8

struct health_slot {
	_Atomic uint64_t	key;		/* 0: free */
	_Atomic uint32_t	fails;		/* failed connects in a row */
	_Atomic int64_t		down_until_ms;	/* 0: up */
};

static struct health_slot	*slots;

/* Map the table; the master, before any worker exists. */
int
health_init(char *err, size_t errlen)
{
	void	*p;

	p = mmap(NULL, sizeof(*slots) * HEALTH_SLOTS, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return (-1);
	}
	slots = p;
	return (0);
}

/* The address and port, hashed; never 0. */
static uint64_t
addr_key(const struct addr *a)
{
	const uint8_t	*p;
	size_t		 len, i;
	uint64_t	 h = 0xcbf29ce484222325ULL;
	uint16_t	 port;

	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)&a->ss;

		p = s6->sin6_addr.s6_addr;
		len = 16;
		port = s6->sin6_port;
	} else {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)&a->ss;

		p = (const uint8_t *)&s4->sin_addr;
		len = 4;
		port = s4->sin_port;
	}
	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h = (h ^ (port & 0xff)) * 0x100000001b3ULL;
	h = (h ^ (port >> 8)) * 0x100000001b3ULL;
	h ^= (uint64_t)a->ss.ss_family << 56;
	return (h | 1);
}

/* The slot of an address; with claim, one is taken for it. */
static struct health_slot *
slot_of(const struct addr *a, int claim)
{
	uint64_t		 key = addr_key(a), free_key;
	struct health_slot	*s;
	size_t			 home = key % HEALTH_SLOTS, i;

	if (slots == NULL)
		return (NULL);
	for (i = 0; i < HEALTH_PROBE; i++) {
		s = &slots[(home + i) % HEALTH_SLOTS];
		if (atomic_load(&s->key) == key)
			return (s);
	}
	if (!claim)
		return (NULL);
	for (i = 0; i < HEALTH_PROBE; i++) {
		s = &slots[(home + i) % HEALTH_SLOTS];
		free_key = 0;
		if (atomic_compare_exchange_strong(&s->key, &free_key, key) ||
		    free_key == key)
			return (s);
	}
	s = &slots[home];
	atomic_store(&s->key, key);
	atomic_store(&s->fails, 0);
	atomic_store(&s->down_until_ms, 0);
	return (s);
}

int
health_is_down(const struct addr *a, int64_t now_ms)
{
	struct health_slot	*s = slot_of(a, 0);

	return (s != NULL && atomic_load(&s->down_until_ms) > now_ms);
}

/*
 * A connect to a failed.  Returns 1 when this failure put it down (the
 * caller logs it), 0 otherwise.
 */
int
health_failed(const struct addr *a, uint32_t after, uint32_t for_ms,
    int64_t now_ms)
{
	struct health_slot	*s;
	int64_t			 until;

	if (after == 0 || (s = slot_of(a, 1)) == NULL)
		return (0);
	until = atomic_load(&s->down_until_ms);
	if (until != 0) {
		/* Down already, or its trial after the wait failed. */
		if (until <= now_ms)
			atomic_store(&s->down_until_ms, now_ms + for_ms);
		return (0);
	}
	if (atomic_fetch_add(&s->fails, 1) + 1 != after)
		return (0);
	atomic_store(&s->down_until_ms, now_ms + (for_ms > 0 ? for_ms : 1));
	return (1);
}

/* A connect to a succeeded.  Returns 1 when it had been down. */
int
health_succeeded(const struct addr *a)
{
	struct health_slot	*s = slot_of(a, 0);

	if (s == NULL)
		return (0);
	atomic_store(&s->fails, 0);
	return (atomic_exchange(&s->down_until_ms, 0) != 0);
}

/* For a dump: ms it stays down (0: up), and its failures in a row. */
int64_t
health_down_left(const struct addr *a, int64_t now_ms, uint32_t *fails)
{
	struct health_slot	*s = slot_of(a, 0);
	int64_t			 until;

	*fails = 0;
	if (s == NULL)
		return (0);
	*fails = atomic_load(&s->fails);
	until = atomic_load(&s->down_until_ms);
	return (until > now_ms ? until - now_ms : 0);
}
