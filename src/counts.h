/*
 * Connection counts shared by all workers, so that max-connections and
 * max-per-source hold for the daemon as a whole, not per worker.
 */
#ifndef TCPPROXY_COUNTS_H
#define TCPPROXY_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct proto_listener;

/* What a relay took and must give back. */
struct counts_hold {
	uint32_t	listener_slot;
	uint32_t	source_slot;
	uint8_t		listener_held;
	uint8_t		source_held;
};

int	counts_init(int, char *, size_t);
int	counts_child_setup(int);
void	counts_set_worker(int);
void	counts_forget_worker(int);
int	counts_reserve(const struct proto_listener *, struct counts_hold *);
int	counts_acquire(const struct proto_listener *, const struct addr *,
	    struct counts_hold *);
void	counts_release(struct counts_hold *);
void	counts_selftest_forge_own(void);
void	counts_selftest_write_other(void);

#endif
