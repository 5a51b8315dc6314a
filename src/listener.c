/*
 * Binding listeners, and building a new table from a resolved config
 * while keeping the sockets of listeners that did not change.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "health.h"
#include "addr.h"
#include "conf.h"
#include "listener.h"
#include "log.h"
#include "reuseport_migrate.h"
#include "sockopt.h"
#include "upgrade.h"

static void
listener_table_init(struct listener_table *t)
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->list);
	conf_init(&t->conf, CONF_BUFSIZE_DEFAULT);
}

/*
 * Bind a listening socket to a.  A socket of a group (SO_REUSEPORT) is
 * bound like any other if it is the first, and marked only then: so a
 * port that anything holds is refused as ever, and nothing can join the
 * group unless it asks for it too, with the same user.
 */
static int
join_group(int fd)
{
#ifdef SO_REUSEPORT
	int	one = 1;

	return (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)));
#else
	(void)fd;
	errno = EOPNOTSUPP;
	return (-1);
#endif
}

static int
bind_listener(const struct addr *a, int group, int first, char *err,
    size_t errlen)
{
	char	buf[ADDR_STRLEN];
	int	fd, one = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	/* "*" means two sockets, 0.0.0.0 and ::, so :: must be v6 only. */
	if (a->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (group && !first && join_group(fd) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		goto fail;
	if (group && first && join_group(fd) == -1)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	return (fd);
fail:
	snprintf(err, errlen, "cannot listen on %s: %s",
	    addr_fmt(a, buf, sizeof(buf)), strerror(errno));
	if (fd != -1)
		close(fd);
	return (-1);
}

/* A plain listening socket, for the metrics process. */
int
listener_bind_one(const struct addr *a, char *err, size_t errlen)
{
	return (bind_listener(a, 0, 1, err, errlen));
}

static void
close_all(struct listener *l)
{
	int	i;

	for (i = 0; i < l->nfds; i++)
		if (l->fds[i] != -1)
			close(l->fds[i]);
	l->nfds = 0;
}

/*
 * One socket per worker where the kernel spreads connections over a
 * group (Linux): a worker then accepts from a queue of its own, without
 * waking the others, and the accept queues add up.  Elsewhere, the
 * SO_REUSEPORT of BSD does not spread them, so the workers share one.
 */
static int
bind_all(struct listener *l, int nworkers, char *err, size_t errlen)
{
#ifdef __linux__
	int	group = nworkers > 1;
#else
	int	group = 0;
#endif
	int	i, n = group ? nworkers : 1;

	l->nfds = 0;
	for (i = 0; i < n; i++) {
		if ((l->fds[i] = bind_listener(&l->local, group, i == 0, err,
		    errlen)) == -1) {
			close_all(l);
			return (-1);
		}
		l->nfds++;
	}
	return (0);
}

/*
 * Drain: the socket stops listening but stays bound and open, so that
 * new clients are refused at once (not left waiting in a queue that no
 * worker reads) and enable can listen again without a bind that could
 * fail.  Linux does this with shutdown(2) on a listening socket; clients
 * still queued then are reset.  Elsewhere the socket keeps listening and
 * the workers just stop accepting, so clients wait in the queue.
 */
static int
pause_socket(int fd, int paused)
{
#ifdef __linux__
	if (paused)
		return (shutdown(fd, SHUT_RD));
	return (listen(fd, LISTEN_BACKLOG));
#else
	(void)fd;
	(void)paused;
	return (0);
#endif
}

int
listener_pause(struct listener *l, int paused)
{
	char	buf[ADDR_STRLEN];
	int	i, rc = 0;

	if (l->paused == paused)
		return (0);
	l->paused = paused;
	for (i = 0; i < l->nfds; i++)
		if (l->fds[i] != -1 && pause_socket(l->fds[i], paused) == -1) {
			log_warn("%s %s", paused ? "drain" : "enable",
			    addr_fmt(&l->local, buf, sizeof(buf)));
			rc = -1;
		}
	return (rc);
}

/* A graceful stop: new clients are refused from now on. */
void
listener_table_close_sockets(struct listener_table *t)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &t->list, entry)
		close_all(l);
}

/*
 * The socket worker index i (from 0) is to accept from: its own, bound
 * afresh if it was dropped when its worker died, or a shared one.
 */
int
listener_worker_socket(struct listener *l, int i)
{
	char	err[256];
	int	j;

	if (l->nfds == 1)
		return (l->fds[0]);
	if (l->fds[i] == -1 && (l->fds[i] = bind_listener(&l->local, 1, 0,
	    err, sizeof(err))) != -1) {
		if (SOCKOPT_INHERITED)
			sockopt_listener(l->fds[i],
			    l->stanza->limits.keepalive);
		if (l->paused)
			pause_socket(l->fds[i], 1);
	}
	if (l->fds[i] != -1)
		return (l->fds[i]);
	log_warnx("%s; worker %d shares another worker's socket", err, i + 1);
	for (j = 0; j < l->nfds; j++)
		if (l->fds[j] != -1)
			return (l->fds[j]);
	return (-1);
}

/*
 * Worker index i died: close its sockets, so that the kernel sends new
 * clients to the other workers' until it is back, instead of queueing
 * them for nobody.  Those already queued move to the other sockets of
 * the group where migration works (migrate_group()), else are reset.
 */
void
listener_table_drop_worker(struct listener_table *t, int i)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &t->list, entry)
		if (l->nfds > 1 && l->fds[i] != -1) {
			close(l->fds[i]);
			l->fds[i] = -1;
		}
}

static struct listener *
find_by_addr(const struct listener_table *t, const struct addr *a)
{
	struct listener	*l;

	if (t == NULL)
		return (NULL);
	TAILQ_FOREACH(l, &t->list, entry)
		if (addr_equal(&l->local, a))
			return (l);
	return (NULL);
}

/*
 * Let l's group hand a dead worker's queued clients to the others
 * (reuseport_migrate.h).  Done on every build, for groups bound by an
 * older binary too; the program attached last replaces the one before.
 * Without it, a worker's death resets its queue as it always did: said
 * once, since nothing changes until the host does.
 */
static void
migrate_group(struct listener *l)
{
	static int	told;
	int		i;

	for (i = 0; i < l->nfds; i++)
		if (l->fds[i] != -1)
			break;
	if (i == l->nfds || reuseport_migrate(l->fds[i]) == 0 || told++)
		return;
	log_notice("clients queued for a worker that dies will be reset: "
	    "cannot attach the migration program: %s; "
	    "net.ipv4.tcp_migrate_req=1 does it for the whole host",
	    strerror(errno));
}

/*
 * The sockets an upgrade handed over for l's address (upgrade.c): the
 * same accept queues, so nothing queued is lost.  One per worker index
 * as the old master had them; a group larger than -w now is cut down
 * (clients queued on the sockets dropped are reset).
 */
static int
take_handed_over(struct listener *l, int nworkers)
{
	int	i;

	for (i = 0; i < LISTENER_SOCKETS_MAX; i++)
		l->fds[i] = -1;
	if (!upgrade_take(&l->local, l->fds, &l->nfds))
		return (0);
	for (i = nworkers; l->nfds > 1 && i < l->nfds; i++)
		if (l->fds[i] != -1)
			close(l->fds[i]);
	if (l->nfds > 1 && l->nfds > nworkers)
		l->nfds = nworkers;
	return (1);
}

/*
 * The reload merge.  Build table t from the resolved config c (which t
 * takes over), against old, the table being served (NULL at start-up),
 * and mark every listener once:
 *
 *	in t,   address also in old	KEEP: takes old's sockets and id
 *	in t,   address new		NEW: bound now (or taken from the
 *					     upgrade or socket activation)
 *	in old, address still in t	KEEP
 *	in old, address gone		DELETE
 *
 * Everything that can fail (binding) happens while building t, before
 * old is looked at again: on failure old is untouched, t is freed, and
 * freeing closes exactly what is not KEEP, the sockets bound here.  On
 * success old's marks are set, and the caller logs from the marks of
 * both tables, sends t to the workers, and frees old, which closes the
 * DELETE ones.  -1 is returned after every error was reported.
 */
int
listener_table_build(struct listener_table *t, struct conf *c,
    struct listener_table *old, uint32_t *next_id, int nworkers)
{
	struct conf_stanza	*s;
	struct listener		*l, *prev;
	char			 err[256];
	size_t			 i;
	int			 failed = 0;

	listener_table_init(t);
	t->conf = *c;
	TAILQ_INIT(&t->conf.stanzas);
	TAILQ_CONCAT(&t->conf.stanzas, &c->stanzas, entry);
	/* t owns all of it now (path, global policy): c is left empty. */
	conf_init(c, c->bufsize);

	TAILQ_FOREACH(s, &t->conf.stanzas, entry) {
		for (i = 0; i < s->locals.n; i++) {
			if ((l = calloc(1, sizeof(*l))) == NULL) {
				conf_error(&t->conf, &s->pos, "out of memory");
				failed = 1;
				break;
			}
			l->local = s->locals.a[i];
			l->stanza = s;
			l->mark = LISTENER_NEW;
			if ((prev = find_by_addr(old, &l->local)) != NULL) {
				l->mark = LISTENER_KEEP;
				memcpy(l->fds, prev->fds, sizeof(l->fds));
				l->nfds = prev->nfds;
				l->id = prev->id;
				l->paused = prev->paused;
			} else if (take_handed_over(l, nworkers)) {
				l->id = (*next_id)++;
			} else if ((l->fds[0] = activation_take(&l->local))
			    == -1 && bind_all(l, nworkers, err, sizeof(err))
			    == -1) {
				conf_error(&t->conf, &s->pos, "%s", err);
				free(l);
				failed = 1;
				continue;
			} else {
				if (l->nfds == 0)	/* passed: shared */
					l->nfds = 1;
				l->id = (*next_id)++;
			}
			TAILQ_INSERT_TAIL(&t->list, l, entry);
			t->n++;
		}
	}
	if (failed) {
		listener_table_free(t);
		return (-1);
	}
	if (old != NULL)
		TAILQ_FOREACH(l, &old->list, entry)
			l->mark = find_by_addr(t, &l->local) != NULL ?
			    LISTENER_KEEP : LISTENER_DELETE;
	TAILQ_FOREACH(l, &t->list, entry)
		if (l->nfds > 1)
			migrate_group(l);
	/* Final now: accepted sockets will inherit these (sockopt.h). */
	if (SOCKOPT_INHERITED)
		TAILQ_FOREACH(l, &t->list, entry)
			for (i = 0; i < (size_t)l->nfds; i++)
				if (l->fds[i] != -1)
					sockopt_listener(l->fds[i],
					    l->stanza->limits.keepalive);
	return (0);
}

/* Free t, closing the sockets of every listener not marked KEEP. */
void
listener_table_free(struct listener_table *t)
{
	struct listener	*l;

	while ((l = TAILQ_FIRST(&t->list)) != NULL) {
		TAILQ_REMOVE(&t->list, l, entry);
		if (l->mark != LISTENER_KEEP)
			close_all(l);
		free(l);
	}
	t->n = 0;
	conf_free(&t->conf);
}

/* The master stops: no table follows, every socket goes. */
void
listener_table_retire(struct listener_table *t)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &t->list, entry)
		l->mark = LISTENER_DELETE;
}

void
listener_to_proto(const struct listener *l, uint32_t generation,
    struct proto_listener *p)
{
	const struct conf_stanza	*s = l->stanza;
	size_t				 i;

	memset(p, 0, sizeof(*p));
	p->id = l->id;
	p->generation = generation;
	p->bufsize = (uint32_t)s->bufsize;
	p->local = l->local;
	p->nremotes = (uint32_t)s->up.n;
	for (i = 0; i < s->up.n; i++) {
		p->remotes[i] = s->up.a[i];
		p->remote_group[i] = s->up.group[i];
	}
	p->ngroups = s->up.ngroups;
	p->nbalanced = s->up.nbalanced;
	p->balance = s->up.balance;
	memcpy(p->weight, s->up.weight, sizeof(p->weight));
	p->down_after = s->limits.down_after;
	p->down_for_ms = s->limits.down_for_ms;
	p->source4 = s->source4;
	p->source6 = s->source6;
	p->connect_timeout_ms = s->limits.connect_timeout_ms;
	p->idle_timeout_ms = s->limits.idle_timeout_ms;
	p->fin_timeout_ms = s->limits.fin_timeout_ms;
	p->keepalive = s->limits.keepalive;
	p->max_connections = s->limits.max_connections;
	p->max_per_source = s->limits.max_per_source;
	p->source_prefix4 = 32;
	p->source_prefix6 = s->limits.source_prefix6;
	p->proxy_protocol = s->limits.proxy_protocol;
	p->nacl = s->limits.nacl;
	memcpy(p->acl, s->limits.acl, sizeof(p->acl));
	p->paused = (uint8_t)l->paused;
	p->accept_proxy = s->limits.accept_proxy;
	p->ntrusted = s->limits.ntrusted;
	p->proxy_header_timeout_ms = s->limits.proxy_header_timeout_ms;
	memcpy(p->trusted, s->limits.trusted, sizeof(p->trusted));
}

/* "127.0.0.1:8000 -> 127.0.0.1:7000, [::1]:7000 from 127.0.0.2:0" */
void
listener_describe(const struct listener *l, char *buf, size_t len)
{
	const struct conf_stanza	*s = l->stanza;
	char				 a[ADDR_STRLEN];
	size_t				 i;

	snprintf(buf, len, "%s ->", addr_fmt(&l->local, a, sizeof(a)));
	for (i = 0; i < s->up.n; i++) {
		/* Groups past the balanced ones are backups. */
		if (i > 0 && s->up.group[i] != s->up.group[i - 1] &&
		    s->up.group[i] >= s->up.nbalanced)
			strlcat(buf, " backup ", len);
		else
			strlcat(buf, i ? ", " : " ", len);
		strlcat(buf, addr_fmt(&s->up.a[i], a, sizeof(a)), len);
	}
	if (s->up.nbalanced > 1) {
		strlcat(buf, " balance ", len);
		strlcat(buf, upstream_balance_name(s->up.balance), len);
	}
	if (s->source4.ss.ss_family != 0) {
		strlcat(buf, " source ", len);
		strlcat(buf, addr_fmt_host(&s->source4, a, sizeof(a)), len);
	}
	if (s->source6.ss.ss_family != 0) {
		strlcat(buf, " source ", len);
		strlcat(buf, addr_fmt_host(&s->source6, a, sizeof(a)), len);
	}
}

/*
 * The listener's remote addresses that passive health holds down now,
 * "127.0.0.1:7000 (25000 ms left, 3 failed)" comma-separated, or "".
 * with_times 0: the addresses only.
 */
void
listener_down_remotes(const struct listener *l, int64_t now_ms,
    int with_times, char *buf, size_t len)
{
	const struct conf_upstream	*up = &l->stanza->up;
	char				 a[ADDR_STRLEN], more[64];
	size_t				 i;
	uint32_t			 fails;
	int64_t				 left;

	buf[0] = '\0';
	if (l->stanza->limits.down_after == 0)
		return;
	for (i = 0; i < up->n; i++) {
		if ((left = health_down_left(&up->a[i], now_ms, &fails)) == 0)
			continue;
		if (buf[0] != '\0')
			strlcat(buf, with_times ? ", " : ",", len);
		strlcat(buf, addr_fmt(&up->a[i], a, sizeof(a)), len);
		if (with_times) {
			snprintf(more, sizeof(more), " (%lld ms left, %u "
			    "failed)", (long long)left, fails);
			strlcat(buf, more, len);
		}
	}
}

/* Sum counters: a worker's into a listener's, listeners' into a total. */
void
listener_counters_add(struct proto_counters *sum,
    const struct proto_counters *c)
{
	sum->accepted += c->accepted;
	sum->denied += c->denied;
	sum->limited += c->limited;
	sum->failed += c->failed;
	sum->sent += c->sent;
	sum->received += c->received;
	sum->proxy_rejected += c->proxy_rejected;
}
