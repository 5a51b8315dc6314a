/*
 * The pollset (see pollset.h) and its poll(2) backend: a pollfd array
 * kept dense, so a wake-up hands poll exactly the live descriptors.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pollset.h"
#include "pollset_epoll.h"

int	pollset_epoll = POLLSET_HAVE_EPOLL;

static void	pollset_free(struct pollset *);

int
pollset_init(struct pollset *ps, size_t cap)
{
	memset(ps, 0, sizeof(*ps));
	ps->epfd = -1;
	ps->cap = cap > 0 ? cap : 16;
	ps->slots = reallocarray(NULL, ps->cap, sizeof(*ps->slots));
	if (ps->slots == NULL)
		return (-1);
#if POLLSET_HAVE_EPOLL
	/* Without an epoll set (out of descriptors?), poll will do. */
	if (pollset_epoll && epset_init(ps) == 0)
		return (0);
#endif
	if ((ps->pfd = reallocarray(NULL, ps->cap, sizeof(*ps->pfd))) == NULL) {
		pollset_free(ps);
		return (-1);
	}
	return (0);
}

static void
pollset_free(struct pollset *ps)
{
#if POLLSET_HAVE_EPOLL
	if (ps->epfd != -1)
		epset_free(ps);
#endif
	free(ps->pfd);
	free(ps->slots);
	ps->pfd = NULL;
	ps->slots = NULL;
	ps->n = ps->cap = 0;
}

const char *
pollset_name(const struct pollset *ps)
{
	return (ps->epfd != -1 ? "epoll" : "poll");
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

#if POLLSET_HAVE_EPOLL
	if (ps->epfd != -1)
		return (epset_add(ps, fd, events, fn, arg, slotp));
#endif
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
	if (slot < 0 || ps->slots[slot].fn == NULL)
		return;
#if POLLSET_HAVE_EPOLL
	if (ps->epfd != -1) {
		epset_events(ps, slot, events);
		return;
	}
#endif
	apply(ps, slot, events);
}

static void
remove_slot(struct pollset *ps, int slot, int closing)
{
	if (slot < 0 || ps->slots[slot].fn == NULL)
		return;
#if POLLSET_HAVE_EPOLL
	if (ps->epfd != -1) {
		epset_remove(ps, slot, closing);
		return;
	}
#endif
	(void)closing;
	*ps->slots[slot].slotp = -1;
	ps->slots[slot].fn = NULL;
	ps->pfd[slot].fd = -1;
	ps->pfd[slot].revents = 0;
	ps->ndead++;
}

/* Stop polling a descriptor that stays open (or is shared). */
void
pollset_del(struct pollset *ps, int slot)
{
	remove_slot(ps, slot, 0);
}

/*
 * Stop polling fd and close it; fd must be this process's only
 * reference to its socket, since with epoll the close is what takes it
 * out of the set.  slot may be -1 (fd was never added).
 */
void
pollset_close(struct pollset *ps, int slot, int fd)
{
	remove_slot(ps, slot, 1);
	close(fd);
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
 * dispatch.  Returns ppoll(2)'s result.
 */
int
pollset_poll(struct pollset *ps, int timeout, const sigset_t *mask)
{
	struct timespec	 ts;
	size_t		 i, n;
	int		 rc;

#if POLLSET_HAVE_EPOLL
	if (ps->epfd != -1)
		return (epset_poll(ps, timeout, mask));
#endif
	compact(ps);
	if ((rc = ppoll(ps->pfd, ps->n, clock_timeout(timeout, &ts), mask)) <= 0)
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
