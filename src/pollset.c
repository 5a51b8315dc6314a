/*
 * Incremental pollfd array; see pollset.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "pollset.h"

int
pollset_init(struct pollset *ps, size_t cap)
{
	ps->n = ps->ndead = 0;
	ps->cap = cap > 0 ? cap : 16;
	ps->pfd = reallocarray(NULL, ps->cap, sizeof(*ps->pfd));
	ps->slots = reallocarray(NULL, ps->cap, sizeof(*ps->slots));
	if (ps->pfd == NULL || ps->slots == NULL) {
		pollset_free(ps);
		return (-1);
	}
	return (0);
}

void
pollset_free(struct pollset *ps)
{
	free(ps->pfd);
	free(ps->slots);
	ps->pfd = NULL;
	ps->slots = NULL;
	ps->n = ps->cap = 0;
}

static int
grow(struct pollset *ps)
{
	struct pollfd		*pfd;
	struct pollset_slot	*slots;
	size_t			 cap = ps->cap * 2;

	if ((pfd = reallocarray(ps->pfd, cap, sizeof(*pfd))) == NULL)
		return (-1);
	ps->pfd = pfd;
	if ((slots = reallocarray(ps->slots, cap, sizeof(*slots))) == NULL)
		return (-1);
	ps->slots = slots;
	ps->cap = cap;
	return (0);
}

/* Events 0 takes the descriptor out of poll(2) altogether (fd < 0). */
static void
apply(struct pollset *ps, int slot, int events)
{
	ps->pfd[slot].events = (short)events;
	ps->pfd[slot].fd = events != 0 ? ps->slots[slot].fd :
	    -1 - ps->slots[slot].fd;
}

int
pollset_add(struct pollset *ps, int fd, int events, pollset_fn fn,
    void *arg, int *slotp)
{
	size_t	i;

	if (ps->n == ps->cap && grow(ps) == -1)
		return (-1);
	i = ps->n++;
	ps->slots[i].fn = fn;
	ps->slots[i].arg = arg;
	ps->slots[i].slotp = slotp;
	ps->slots[i].fd = fd;
	ps->pfd[i].revents = 0;
	apply(ps, (int)i, events);
	*slotp = (int)i;
	return (0);
}

void
pollset_events(struct pollset *ps, int slot, int events)
{
	if (slot >= 0 && ps->slots[slot].fn != NULL)
		apply(ps, slot, events);
}

void
pollset_del(struct pollset *ps, int slot)
{
	if (slot < 0 || ps->slots[slot].fn == NULL)
		return;
	*ps->slots[slot].slotp = -1;
	ps->slots[slot].fn = NULL;
	ps->pfd[slot].fd = -1;
	ps->pfd[slot].revents = 0;
	ps->ndead++;
}

/* Fill removed slots from the end so the array stays dense. */
static void
compact(struct pollset *ps)
{
	size_t	i = 0;

	while (ps->ndead > 0 && i < ps->n) {
		if (ps->slots[i].fn != NULL) {
			i++;
			continue;
		}
		ps->n--;
		ps->ndead--;
		if (i != ps->n) {
			ps->pfd[i] = ps->pfd[ps->n];
			ps->slots[i] = ps->slots[ps->n];
			if (ps->slots[i].fn != NULL)
				*ps->slots[i].slotp = (int)i;
		}
	}
}

/*
 * Wait, with the signal mask given while waiting (see ppoll(2)), and
 * dispatch.  Slots added by a handler are not dispatched in the same
 * pass.  Returns ppoll(2)'s result.
 */
int
pollset_poll(struct pollset *ps, int timeout, const sigset_t *mask)
{
	struct timespec	 ts, *tsp = NULL;
	size_t		 i, n;
	int		 rc;

	compact(ps);
	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
		tsp = &ts;
	}
	if ((rc = ppoll(ps->pfd, ps->n, tsp, mask)) <= 0)
		return (rc);
	n = ps->n;
	for (i = 0; i < n; i++) {
		int	revents = ps->pfd[i].revents;

		if (revents == 0 || ps->slots[i].fn == NULL)
			continue;
		ps->pfd[i].revents = 0;
		ps->slots[i].fn(ps->slots[i].arg, revents);
	}
	return (rc);
}
