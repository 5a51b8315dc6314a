/*
 * A worker's listeners: who holds them, and their counters.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wlistener.h"

/*
 * A listener's counters live outside it: a reload replaces the object
 * but not the id, and relays of the old object keep counting.
 */
static struct id_counters {
	uint32_t		 id;
	struct proto_counters	 c;
} *counters;
static size_t	ncounters;

static size_t
counters_slot(uint32_t id)
{
	struct id_counters	*c;
	size_t			 i;

	for (i = 0; i < ncounters; i++)
		if (counters[i].id == id)
			return (i);
	if ((c = reallocarray(counters, ncounters + 1, sizeof(*c))) == NULL)
		fatal("counters");
	counters = c;
	memset(&c[ncounters], 0, sizeof(c[0]));
	c[ncounters].id = id;
	return (ncounters++);
}

/*
 * A listener of the table being received, serving fd; conf is the
 * LISTENER message's payload, a struct proto_listener.
 */
struct wlistener *
wlistener_new(const void *conf, int fd)
{
	struct wlistener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("listener");
	memcpy(&l->conf, conf, sizeof(l->conf));
	l->fd = fd;
	l->slot = -1;
	l->in_table = 1;
	l->counters = counters_slot(l->conf.id);
	addr_fmt(&l->conf.local, l->name, sizeof(l->name));
	return (l);
}

/* A relay starts on l. */
void
wlistener_hold(struct wlistener *l)
{
	l->nrelays++;
}

/* A relay on l ended. */
void
wlistener_release(struct wlistener *l)
{
	if (--l->nrelays == 0 && !l->in_table)
		free(l);
}

/* The worker took l out of its table and closed its socket. */
void
wlistener_retire(struct wlistener *l)
{
	l->in_table = 0;
	if (l->nrelays == 0)
		free(l);
}

struct proto_counters *
wlistener_counters(const struct wlistener *l)
{
	return (&counters[l->counters].c);
}
