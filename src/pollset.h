/*
 * An incrementally maintained pollfd array.  Each slot carries a handler
 * and tells its owner where it lives, so that removal is O(1) and no
 * wake-up rebuilds the set.  Removal is deferred until the dispatch pass
 * is over, so handlers may remove any slot, their own included.
 */
#ifndef TCPPROXY_POLLSET_H
#define TCPPROXY_POLLSET_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>

typedef void (*pollset_fn)(void *, int);

struct pollset_slot {
	pollset_fn	 fn;		/* NULL: removed, awaiting compaction */
	void		*arg;
	int		*slotp;		/* the owner's copy of its index */
	int		 fd;
};

struct pollset {
	struct pollfd		*pfd;
	struct pollset_slot	*slots;
	size_t			 n;
	size_t			 cap;
	size_t			 ndead;
};

int	pollset_init(struct pollset *, size_t);
void	pollset_free(struct pollset *);
int	pollset_add(struct pollset *, int, int, pollset_fn, void *, int *);
void	pollset_events(struct pollset *, int, int);
void	pollset_del(struct pollset *, int);
int	pollset_poll(struct pollset *, int, const sigset_t *);

#endif
