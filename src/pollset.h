/*
 * The worker's set of polled descriptors.  Each slot carries a handler
 * and tells its owner where it lives, so that removal is O(1) and no
 * wake-up rebuilds the set.  Handlers may add and remove any slot, their
 * own included; a slot added by a handler is not dispatched in the same
 * pass.
 *
 * Two backends with the same level-triggered meaning: poll(2), where a
 * wake-up costs the kernel a look at every descriptor, and on Linux
 * epoll(7), where it costs only the ready ones, for a few epoll_ctl
 * calls whenever a descriptor's events change (pollset_epoll.c).
 */
#ifndef TCPPROXY_POLLSET_H
#define TCPPROXY_POLLSET_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*pollset_fn)(void *, int);

struct pollset_slot {
	pollset_fn	 fn;		/* NULL: removed */
	void		*arg;
	int		*slotp;		/* the owner's copy of its index */
	int		 fd;
	/* epoll only */
	int		 want;		/* events asked for */
	int		 reg;		/* events registered (0: not in epoll) */
	int		 dirty;		/* in the list of changes to apply */
	uint32_t	 gen;		/* tells a reused slot's events apart */
};

struct epoll_event;

struct pollset {
	struct pollset_slot	*slots;
	size_t			 n;
	size_t			 cap;
	/* poll: removed slots are compacted away before each wait */
	struct pollfd		*pfd;
	size_t			 ndead;
	/* epoll: removed slots are reused from a free list */
	int			 epfd;		/* -1: the poll backend */
	int			*changes;	/* slots whose events changed */
	size_t			 nchanges;
	int			*free;
	size_t			 nfree;
	struct epoll_event	*events;
};

extern int	pollset_epoll;		/* use epoll where there is one */

int	pollset_init(struct pollset *, size_t);
int	pollset_add(struct pollset *, int, int, pollset_fn, void *, int *);
void	pollset_events(struct pollset *, int, int);
void	pollset_del(struct pollset *, int);
void	pollset_close(struct pollset *, int, int);
int	pollset_poll(struct pollset *, int, const sigset_t *);
const char *pollset_name(const struct pollset *);

#endif
