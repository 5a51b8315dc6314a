/*
 * The epoll(7) backend of the pollset (Linux).
 *
 * Level-triggered, like poll: the relay code is the same for both.  A
 * slot's events change often (on every read that leaves bytes waiting),
 * so changes are only noted here and applied in one go before the next
 * wait: a slot whose events change and change back, or that is closed
 * before the wait, costs no call.  A slot that asks for no events is
 * taken out of epoll, since epoll, unlike poll, would still report a
 * hang-up or an error on it over and over.
 *
 * Slots never move (epoll holds their index), so removed ones are reused
 * from a free list.  Each event carries the slot's index and generation:
 * an event for a slot removed earlier in the same pass, or since reused,
 * is dropped.
 */
#ifdef __linux__

#include <sys/epoll.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pollset_epoll.h"

#define EPSET_EVENTS	256	/* events taken per wait; the rest wait */
#define EPSET_RETRY_MS	10	/* after a failed epoll_ctl */

int
epset_init(struct pollset *ps)
{
	ps->changes = reallocarray(NULL, ps->cap, sizeof(*ps->changes));
	ps->free = reallocarray(NULL, ps->cap, sizeof(*ps->free));
	ps->events = reallocarray(NULL, EPSET_EVENTS, sizeof(*ps->events));
	if (ps->changes == NULL || ps->free == NULL || ps->events == NULL ||
	    (ps->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		epset_free(ps);
		return (-1);
	}
	return (0);
}

void
epset_free(struct pollset *ps)
{
	if (ps->epfd != -1)
		close(ps->epfd);
	ps->epfd = -1;
	free(ps->changes);
	free(ps->free);
	free(ps->events);
	ps->changes = ps->free = NULL;
	ps->events = NULL;
}

static int
grow(struct pollset *ps)
{
	struct pollset_slot	*slots;
	int			*changes, *fr;
	size_t			 cap = ps->cap * 2;

	if ((slots = reallocarray(ps->slots, cap, sizeof(*slots))) == NULL)
		return (-1);
	ps->slots = slots;
	if ((changes = reallocarray(ps->changes, cap, sizeof(*changes))) ==
	    NULL)
		return (-1);
	ps->changes = changes;
	if ((fr = reallocarray(ps->free, cap, sizeof(*fr))) == NULL)
		return (-1);
	ps->free = fr;
	ps->cap = cap;
	return (0);
}

/* Note that slot's registration may have to change before the wait. */
static void
note_change(struct pollset *ps, int slot)
{
	struct pollset_slot	*s = &ps->slots[slot];

	if (!s->dirty && s->want != s->reg) {
		s->dirty = 1;
		ps->changes[ps->nchanges++] = slot;
	}
}

int
epset_add(struct pollset *ps, int fd, int events, pollset_fn fn, void *arg,
    int *slotp)
{
	struct pollset_slot	*s;
	int			 i;

	if (ps->nfree > 0)
		i = ps->free[--ps->nfree];
	else {
		if (ps->n == ps->cap && grow(ps) == -1)
			return (-1);
		i = (int)ps->n++;
		ps->slots[i].dirty = 0;
		ps->slots[i].gen = 0;
	}
	s = &ps->slots[i];
	s->fn = fn;
	s->arg = arg;
	s->slotp = slotp;
	s->fd = fd;
	s->gen++;
	s->reg = 0;
	s->want = events;
	note_change(ps, i);	/* a reused slot may already be listed */
	*slotp = i;
	return (0);
}

void
epset_events(struct pollset *ps, int slot, int events)
{
	ps->slots[slot].want = events;
	note_change(ps, slot);
}

/*
 * closing: the caller closes the descriptor right away, which takes it
 * out of epoll; otherwise (a listener the master also holds) it is
 * taken out here.
 */
void
epset_remove(struct pollset *ps, int slot, int closing)
{
	struct pollset_slot	*s = &ps->slots[slot];

	if (s->reg != 0 && !closing &&
	    epoll_ctl(ps->epfd, EPOLL_CTL_DEL, s->fd, NULL) == -1)
		log_warn("epoll_ctl: remove descriptor %d", s->fd);
	*s->slotp = -1;
	s->fn = NULL;
	s->reg = s->want = 0;
	ps->free[ps->nfree++] = slot;
}

static uint32_t
to_epoll(int events)
{
	return ((events & POLLIN ? EPOLLIN : 0) |
	    (events & POLLOUT ? EPOLLOUT : 0) |
	    (events & POLLRDHUP ? EPOLLRDHUP : 0));
}

static int
from_epoll(uint32_t events)
{
	return ((events & EPOLLIN ? POLLIN : 0) |
	    (events & EPOLLOUT ? POLLOUT : 0) |
	    (events & EPOLLERR ? POLLERR : 0) |
	    (events & EPOLLHUP ? POLLHUP : 0) |
	    (events & EPOLLRDHUP ? POLLRDHUP : 0));
}

/*
 * Bring epoll in line with what the slots want.  Returns 0, or -1 when
 * a change failed and stays listed, to be tried again soon.
 */
static int
apply_changes(struct pollset *ps)
{
	struct pollset_slot	*s;
	struct epoll_event	 ev;
	size_t			 i, kept = 0;
	int			 slot, op, rc = 0;

	for (i = 0; i < ps->nchanges; i++) {
		slot = ps->changes[i];
		s = &ps->slots[slot];
		s->dirty = 0;
		if (s->fn == NULL || s->want == s->reg)
			continue;
		if (s->want == 0)
			op = EPOLL_CTL_DEL;
		else
			op = s->reg == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		memset(&ev, 0, sizeof(ev));
		ev.events = to_epoll(s->want);
		ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)slot;
		if (epoll_ctl(ps->epfd, op, s->fd, &ev) == -1) {
			log_warn("epoll_ctl: descriptor %d", s->fd);
			s->dirty = 1;
			ps->changes[kept++] = slot;
			rc = -1;
			continue;
		}
		s->reg = s->want;
	}
	ps->nchanges = kept;
	return (rc);
}

int
epset_poll(struct pollset *ps, int timeout, const sigset_t *mask)
{
	struct pollset_slot	*s;
	uint64_t		 data;
	uint32_t		 slot;
	int			 i, n;

	if (apply_changes(ps) == -1 &&
	    (timeout < 0 || timeout > EPSET_RETRY_MS))
		timeout = EPSET_RETRY_MS;
	if ((n = epoll_pwait(ps->epfd, ps->events, EPSET_EVENTS, timeout,
	    mask)) <= 0)
		return (n);
	for (i = 0; i < n; i++) {
		data = ps->events[i].data.u64;
		slot = (uint32_t)data;
		if (slot >= ps->n)
			continue;
		s = &ps->slots[slot];
		if (s->fn == NULL || s->gen != (uint32_t)(data >> 32))
			continue;
		s->fn(s->arg, from_epoll(ps->events[i].events));
	}
	return (n);
}

#endif /* __linux__ */
