/*
 * resolve-interval: the names of remote:, server:, backup: and source:
 * lines resolved again every so often, so that a backend that moves is
 * followed without a reload.
 *
 * getaddrinfo(3) blocks, and parses what DNS servers send: so neither
 * happens in the master.  A round forks a child, which drops to the
 * workers' user, resolves every name that is due into a shared table
 * and exits; its exit (reap()) hands the table to the master, which
 * checks every address before it uses one.  A name that fails keeps the
 * addresses it had, and so does a round cut short by a reload or by its
 * deadline.  Only a stanza whose addresses changed is logged, and only
 * then do the workers get the table again, as a new generation with the
 * same listening sockets.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "listener.h"
#include "log.h"
#include "master_state.h"
#include "proc.h"

#define RESOLVE_NAMES_MAX	64	/* per round; the rest wait */
#define RESOLVE_TIMEOUT_MS	15000

/* What the child writes for one name. */
struct resolve_result {
	int32_t		ok;		/* 1: a[] holds n addresses */
	uint32_t	n;
	struct addr	a[ADDR_MAX];
	char		err[160];
};

struct resolve_name {
	struct conf_stanza	*s;
	size_t			 index;	/* conf_upstream_name(), or: */
};

#define SOURCE_NAME	((size_t)-1)	/* the stanza's source: host */

static struct {
	pid_t			 pid;		/* -1: no round running */
	uint32_t		 generation;	/* the table's, at the start */
	int64_t			 deadline_ms;
	struct resolve_result	*results;	/* shared with the child */
	struct resolve_name	 names[RESOLVE_NAMES_MAX];
	size_t			 n;
} rs = { .pid = -1 };

static int
interval_of(const struct conf_stanza *s)
{
	return ((int)s->limits.resolve_interval_ms);
}

/* The names a stanza has resolved in a round: its source last. */
static size_t
stanza_names(const struct conf_stanza *s)
{
	return (conf_upstream_names(s) + (s->source_host.str != NULL));
}

/* In the child: resolve every name of the round, then exit. */
static void __attribute__((noreturn))
resolve_child(void)
{
	struct proc_identity	 ident = ms.setup->ident;
	const struct conf_value	*name;
	struct addr_list	 list;
	unsigned short		 port;
	char			 err[256];
	size_t			 i;

#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	closefrom(STDERR_FILENO + 1);
	/* The files it needs (hosts, resolv.conf) are outside a chroot. */
	ident.chroot = NULL;
	if (proc_drop_privileges(&ident, err, sizeof(err)) == -1)
		_exit(2);
#ifdef __linux__
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
#endif
	for (i = 0; i < rs.n; i++) {
		struct resolve_result	*r = &rs.results[i];

		if (rs.names[i].index == SOURCE_NAME) {
			name = &rs.names[i].s->source_host;
			port = 0;
		} else
			name = conf_upstream_name(rs.names[i].s,
			    rs.names[i].index, &port);
		if (addr_resolve(name->str, port, rs.names[i].s->rfamily, 0,
		    &list, err, sizeof(err)) == -1) {
			strlcpy(r->err, err, sizeof(r->err));
			continue;
		}
		r->n = (uint32_t)list.n;
		memcpy(r->a, list.a, list.n * sizeof(list.a[0]));
		r->ok = 1;
	}
	_exit(0);
}

/* Start a round with every stanza that is due, if none is running. */
static void
round_start(int64_t now)
{
	struct conf_stanza	*s;
	size_t			 i, k;
	pid_t			 pid;

	if (rs.results == NULL) {
		void	*p = mmap(NULL, sizeof(*rs.results) * RESOLVE_NAMES_MAX,
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			log_warn("resolve-interval: mmap");
			return;
		}
		rs.results = p;
	}
	rs.n = 0;
	TAILQ_FOREACH(s, &ms.table->conf.stanzas, entry) {
		k = stanza_names(s);
		if (interval_of(s) == 0 || s->next_resolve_ms > now ||
		    rs.n + k > RESOLVE_NAMES_MAX)
			continue;
		for (i = 0; i < k; i++) {
			rs.names[rs.n].s = s;
			rs.names[rs.n++].index = i < conf_upstream_names(s) ?
			    i : SOURCE_NAME;
		}
	}
	if (rs.n == 0)
		return;
	memset(rs.results, 0, sizeof(*rs.results) * rs.n);
	if ((pid = fork()) == -1) {
		log_warn("resolve-interval: fork");
		return;
	}
	if (pid == 0)
		resolve_child();
	rs.pid = pid;
	rs.generation = ms.table->generation;
	rs.deadline_ms = now + RESOLVE_TIMEOUT_MS;
	log_debug("resolve-interval: resolving %zu names (pid %ld)", rs.n,
	    (long)pid);
}

/* The next time any stanza is due; schedules those new to the table. */
static int64_t
next_due(int64_t now)
{
	struct conf_stanza	*s;
	int64_t			 next = -1;

	TAILQ_FOREACH(s, &ms.table->conf.stanzas, entry) {
		if (interval_of(s) == 0)
			continue;
		/* Just resolved by a start-up or reload. */
		if (s->next_resolve_ms == 0)
			s->next_resolve_ms = now + interval_of(s);
		next = deadline_earliest(next, s->next_resolve_ms);
	}
	return (next);
}

/* Called each turn of the master's loop; the next deadline, or -1. */
int64_t
master_resolve_check(int64_t now)
{
	if (rs.pid != -1) {
		if (now >= rs.deadline_ms) {
			log_warnx("resolve-interval: names not resolved in "
			    "%d ms; keeping the addresses", RESOLVE_TIMEOUT_MS);
			kill(rs.pid, SIGKILL);
			rs.deadline_ms = now + RESOLVE_TIMEOUT_MS;
		}
		return (rs.deadline_ms);
	}
	if (ms.stopping || ms.reload_waiting || ms.startup_deadline_ms > 0)
		return (-1);
	if (next_due(now) != -1 && next_due(now) <= now)
		round_start(now);
	return (rs.pid != -1 ? rs.deadline_ms : next_due(now));
}

/* A child's address: only what a remote address can be. */
static int
result_ok(const struct resolve_result *r)
{
	uint32_t	i;

	if (r->ok != 1 || r->n == 0 || r->n > ADDR_MAX)
		return (0);
	for (i = 0; i < r->n; i++)
		if (!((r->a[i].ss.ss_family == AF_INET &&
		    r->a[i].len == sizeof(struct sockaddr_in)) ||
		    (r->a[i].ss.ss_family == AF_INET6 &&
		    r->a[i].len == sizeof(struct sockaddr_in6))))
			return (0);
	return (1);
}

static int
upstream_equal(const struct conf_upstream *a, const struct conf_upstream *b)
{
	size_t	i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++)
		if (a->group[i] != b->group[i] || !addr_equal(&a->a[i], &b->a[i]))
			return (0);
	return (1);
}

/*
 * The source's new addresses, the first of each family, as start-up
 * takes them; a family it no longer has keeps its old address, so a
 * remote reachable before stays reachable.
 */
static void
source_apply(struct conf_stanza *s, const struct resolve_result *r)
{
	struct addr	new4, new6;
	uint32_t	i;

	if (!result_ok(r)) {
		log_warnx("resolve-interval: line %d: source: %s; keeping its "
		    "addresses", s->source_host.pos.line, r->ok == 1 ?
		    "bad addresses from the resolver" : r->err[0] ? r->err :
		    "not resolved");
		return;
	}
	memset(&new4, 0, sizeof(new4));
	memset(&new6, 0, sizeof(new6));
	for (i = 0; i < r->n; i++) {
		if (r->a[i].ss.ss_family == AF_INET && new4.len == 0)
			new4 = r->a[i];
		if (r->a[i].ss.ss_family == AF_INET6 && new6.len == 0)
			new6 = r->a[i];
	}
	if (new4.len != 0 && s->source4.ss.ss_family != 0)
		s->source4 = new4;
	if (new6.len != 0 && s->source6.ss.ss_family != 0)
		s->source6 = new6;
}

/* One stanza's names, rs.names[first] on: its new groups, if changed. */
static int
stanza_apply(size_t first, int64_t now)
{
	struct conf_stanza	*s = rs.names[first].s;
	struct addr_list	 lists[1 + CONF_SERVERS_MAX + CONF_BACKUPS_MAX];
	struct conf_upstream	 up;
	struct addr		 old4, old6;
	const struct conf_value	*name;
	char			 buf[LOG_LINE_MAX], a[ADDR_STRLEN];
	unsigned short		 port;
	size_t			 i, j, bad;
	int			 full;

	for (i = 0; i < conf_upstream_names(s); i++) {
		const struct resolve_result *r = &rs.results[first + i];

		lists[i].n = 0;
		if (result_ok(r)) {
			lists[i].n = r->n;
			memcpy(lists[i].a, r->a, r->n * sizeof(r->a[0]));
			continue;
		}
		name = conf_upstream_name(s, i, &port);
		log_warnx("resolve-interval: line %d: %s; keeping its "
		    "addresses", name->pos.line, r->ok == 1 ?
		    "bad addresses from the resolver" : r->err[0] ? r->err :
		    "not resolved");
		for (j = 0; j < s->up.n; j++)
			if (s->up.group[j] == i && lists[i].n < ADDR_MAX)
				lists[i].a[lists[i].n++] = s->up.a[j];
	}
	s->next_resolve_ms = now + interval_of(s);
	old4 = s->source4;
	old6 = s->source6;
	if (s->source_host.str != NULL)
		source_apply(s, &rs.results[first + conf_upstream_names(s)]);
	if (conf_upstream_build(s, lists, &up, &bad, &full) == -1) {
		name = conf_upstream_name(s, bad, &port);
		log_warnx("resolve-interval: line %d: '%s' %s; keeping the "
		    "addresses", name->pos.line, name->str, full ?
		    "makes more than the remote addresses a stanza may have" :
		    "has no address the source address can reach");
		s->source4 = old4;
		s->source6 = old6;
		return (0);
	}
	if (upstream_equal(&up, &s->up) && addr_equal(&old4, &s->source4) &&
	    addr_equal(&old6, &s->source6))
		return (0);
	buf[0] = '\0';
	for (i = 0; i < up.n; i++) {
		if (i > 0)
			strlcat(buf, ", ", sizeof(buf));
		strlcat(buf, addr_fmt(&up.a[i], a, sizeof(a)), sizeof(buf));
	}
	for (i = 0; i < 2; i++) {
		const struct addr *src = i == 0 ? &s->source4 : &s->source6;

		if (src->ss.ss_family == 0)
			continue;
		strlcat(buf, i == 0 || s->source4.ss.ss_family == 0 ?
		    " from " : " and ", sizeof(buf));
		strlcat(buf, addr_fmt_host(src, a, sizeof(a)), sizeof(buf));
	}
	log_notice("resolve-interval: the listen stanza at line %d now "
	    "connects to %s", s->pos.line, buf);
	s->up = up;
	s->remotes = lists[0];
	return (1);
}

/* The child of a round exited (reap()); 1 when pid was it. */
int
master_resolve_reaped(pid_t pid, int status)
{
	size_t	i;
	int	changed = 0;

	if (pid != rs.pid || pid == -1)
		return (0);
	rs.pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("resolve-interval: the resolver process %s %d; "
		    "keeping the addresses", WIFSIGNALED(status) ?
		    "was killed by signal" : "exited with status",
		    WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status));
		for (i = 0; i < rs.n; i++)
			if (ms.table->generation == rs.generation)
				rs.names[i].s->next_resolve_ms =
				    clock_now_ms() + interval_of(rs.names[i].s);
		return (1);
	}
	/* A reload since: its stanzas are new, resolved just now. */
	if (ms.table->generation != rs.generation || ms.stopping)
		return (1);
	for (i = 0; i < rs.n; i += stanza_names(rs.names[i].s))
		changed |= stanza_apply(i, clock_now_ms());
	if (changed)
		master_send_generation("remote addresses changed");
	return (1);
}
