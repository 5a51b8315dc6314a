/*
 * The protocol table and its checks; see proto.h.  One table for both
 * directions, applied by each receiver to what arrives and by each
 * sender to what it queues.  No state, so that the master, the workers
 * and the fuzzers run the same code.  What needs a side's state (is this
 * generation one the master sent, does a commit count the listeners
 * that came before it) stays with that side.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "sockmap.h"

#define VARIABLE	SIZE_MAX	/* the content check measures it */
#define NRULES(t)	(sizeof(t) / sizeof((t)[0]))

/*
 * One kind of message: its exact payload size, whether a descriptor
 * must come with it (else none may), and what else must hold of its
 * contents (NULL or a reason).
 */
struct proto_rule {
	uint32_t	  type;
	size_t		  len;
	int		  with_fd;
	const char	 *what;		/* "bad <what> message" */
	const char	*(*content)(const void *, size_t);
};

/* An address: IPv4 or IPv6 with the size of its kind, or (if may_be_none) none. */
static int
addr_ok(const struct addr *a, int family, int may_be_none)
{
	if (a->len == 0)
		return (may_be_none);
	if (family != AF_UNSPEC && a->ss.ss_family != family)
		return (0);
	if (a->ss.ss_family == AF_INET)
		return (a->len == sizeof(struct sockaddr_in));
	if (a->ss.ss_family == AF_INET6)
		return (a->len == sizeof(struct sockaddr_in6));
	return (0);
}

static int
rules_ok(const struct acl_rule *r, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!acl_rule_valid(&r[i]))
			return (0);
	return (1);
}

/* ---- master -> worker ---- */

/*
 * The groups upstream_order() walks: numbered from 0 in the order of
 * the addresses, none empty, the balanced ones weighted.
 */
static const char *
upstream_content(const struct proto_listener *p)
{
	uint32_t	i;

	if (p->ngroups == 0 || p->ngroups > GROUPS_MAX ||
	    p->nbalanced == 0 || p->nbalanced > p->ngroups ||
	    p->balance >= BALANCE_COUNT)
		return ("bad listener remote groups");
	if (p->remote_group[0] != 0 ||
	    p->remote_group[p->nremotes - 1] != p->ngroups - 1)
		return ("bad listener remote groups");
	for (i = 1; i < p->nremotes; i++)
		if (p->remote_group[i] != p->remote_group[i - 1] &&
		    p->remote_group[i] != p->remote_group[i - 1] + 1)
			return ("bad listener remote groups");
	for (i = 0; i < p->nbalanced; i++)
		if (p->weight[i] == 0 || p->weight[i] > WEIGHT_MAX)
			return ("listener weight out of range");
	if (p->down_after > 1000)
		return ("listener down-after out of range");
	return (NULL);
}

/* Everything the worker indexes, shifts, allocates or waits by. */
static const char *
listener_content(const void *data, size_t len)
{
	struct proto_listener	p;
	const char		*bad;
	uint32_t		i;

	(void)len;		/* the table checked it */
	memcpy(&p, data, sizeof(p));
	if (p.bufsize == 0 || p.bufsize > CONF_BUFSIZE_MAX)
		return ("listener buffer size out of range");
	if (!addr_ok(&p.local, AF_UNSPEC, 0))
		return ("bad listener address");
	if (p.nremotes == 0 || p.nremotes > REMOTES_MAX)
		return ("listener remote count out of range");
	for (i = 0; i < p.nremotes; i++)
		if (!addr_ok(&p.remotes[i], AF_UNSPEC, 0))
			return ("bad listener remote address");
	if ((bad = upstream_content(&p)) != NULL)
		return (bad);
	if (!addr_ok(&p.source4, AF_INET, 1) ||
	    !addr_ok(&p.source6, AF_INET6, 1))
		return ("bad listener source address");
	if (p.keepalive > 1 || p.paused > 1 || p.proxy_protocol > 2)
		return ("bad listener flags");
	if (p.source_prefix4 > 32 || p.source_prefix6 > 128)
		return ("listener source prefix out of range");
	if (p.nacl > ACL_MAX || !rules_ok(p.acl, p.nacl))
		return ("bad listener allow/deny rules");
	/* Headers from trusted peers only, never waited for forever. */
	if (p.accept_proxy > PROXYHDR_ANY ||
	    p.ntrusted > PROXYHDR_TRUSTED_MAX ||
	    (p.accept_proxy != 0 && (p.ntrusted == 0 ||
	    p.proxy_header_timeout_ms == 0)) ||
	    !rules_ok(p.trusted, p.ntrusted))
		return ("bad accept-proxy-protocol settings");
	return (NULL);
}

static const char *
commit_content(const void *data, size_t len)
{
	struct proto_commit	c;

	(void)len;		/* the table checked it */
	memcpy(&c, data, sizeof(c));
	if (c.version != PROTO_VERSION)
		return ("commit for another protocol version");
	return (NULL);
}

static const char *
kill_content(const void *data, size_t len)
{
	struct proto_kill	k;

	(void)len;		/* the table checked it */
	memcpy(&k, data, sizeof(k));
	return (k.pad != 0 ? "bad kill contents" : NULL);
}

static const char *
pause_content(const void *data, size_t len)
{
	struct proto_pause	p;

	(void)len;		/* the table checked it */
	memcpy(&p, data, sizeof(p));
	return (p.paused > 1 ? "bad pause contents" : NULL);
}

static const char *
sockmap_content(const void *data, size_t len)
{
	struct proto_sockmap	sm;

	(void)len;		/* the table checked it */
	memcpy(&sm, data, sizeof(sm));
	return (sm.map >= SOCKMAP_NMAPS || sm.entries == 0 ?
	    "bad kernel path map" : NULL);
}

static const struct proto_rule	master_rules[] = {
	{ PROTO_LISTENER, sizeof(struct proto_listener), 1, "listener",
	    listener_content },
	{ PROTO_COMMIT, sizeof(struct proto_commit), 0, "commit",
	    commit_content },
	{ PROTO_DUMP, 0, 0, "dump", NULL },
	{ PROTO_STATS, sizeof(struct proto_stats), 0, "stats", NULL },
	{ PROTO_CONNS, sizeof(struct proto_conns), 0, "connection list",
	    NULL },
	{ PROTO_KILL, sizeof(struct proto_kill), 0, "kill", kill_content },
	{ PROTO_PAUSE, sizeof(struct proto_pause), 0, "pause",
	    pause_content },
	{ PROTO_QUIESCE, 0, 0, "quiesce", NULL },
	{ PROTO_PING, sizeof(struct proto_ping), 0, "heartbeat", NULL },
	{ PROTO_SOCKMAP, sizeof(struct proto_sockmap), 1, "kernel path map",
	    sockmap_content },
};

/* ---- worker -> master ---- */

static const char *
ready_content(const void *data, size_t len)
{
	struct proto_commit	c;

	(void)len;		/* the table checked it */
	memcpy(&c, data, sizeof(c));
	if (c.version != PROTO_VERSION)
		return ("ready for another protocol version");
	return (NULL);
}

/* A level, then 1 to LOG_LINE_MAX - 1 bytes of text. */
static const char *
log_content(const void *data, size_t len)
{
	struct proto_log_hdr	hdr;

	if (len < sizeof(hdr) + 1 ||
	    len > sizeof(hdr) + LOG_LINE_MAX - 1)
		return ("bad log message");
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.level < LOG_LVL_ERROR || hdr.level > LOG_LVL_DEBUG)
		return ("bad log level");
	return (NULL);
}

static const char *
conn_batch_content(const void *data, size_t len)
{
	struct proto_conn_batch	b;
	uint32_t		i;

	if (len < PROTO_CONN_BATCH_LEN(1) || len > sizeof(b))
		return ("bad connection list message");
	memset(&b, 0, sizeof(b));
	memcpy(&b, data, len);
	if (b.n < 1 || b.n > PROTO_CONN_BATCH_MAX ||
	    len != PROTO_CONN_BATCH_LEN(b.n))
		return ("connection list count does not match its length");
	for (i = 0; i < b.n; i++) {
		if (b.conn[i].state < PROTO_CONN_CONNECTING ||
		    b.conn[i].state > PROTO_CONN_HEADER)
			return ("bad connection state");
		if (!addr_ok(&b.conn[i].client, AF_UNSPEC, 0) ||
		    !addr_ok(&b.conn[i].remote, AF_UNSPEC, 1))
			return ("bad connection address");
	}
	return (NULL);
}

static const char *
kill_done_content(const void *data, size_t len)
{
	struct proto_kill_done	k;

	(void)len;		/* the table checked it */
	memcpy(&k, data, sizeof(k));
	return (k.found > 1 ? "bad kill reply" : NULL);
}

static const struct proto_rule	worker_rules[] = {
	{ PROTO_READY, sizeof(struct proto_commit), 0, "ready",
	    ready_content },
	{ PROTO_LOG, VARIABLE, 0, "log", log_content },
	{ PROTO_DUMP_DONE, 0, 0, "dump reply", NULL },
	{ PROTO_LISTENER_STATS, sizeof(struct proto_listener_stats), 0,
	    "listener stats", NULL },
	{ PROTO_STATS_DONE, sizeof(struct proto_stats_done), 0,
	    "stats done", NULL },
	{ PROTO_CONN_BATCH, VARIABLE, 0, "connection list",
	    conn_batch_content },
	{ PROTO_CONNS_DONE, sizeof(struct proto_conns_done), 0,
	    "connection list end", NULL },
	{ PROTO_KILL_DONE, sizeof(struct proto_kill_done), 0, "kill reply",
	    kill_done_content },
	{ PROTO_PONG, sizeof(struct proto_ping), 0, "heartbeat reply", NULL },
};

/* The rule for a type in the table of messages going to. */
static const struct proto_rule *
rule_of(enum proto_to to, uint32_t type)
{
	const struct proto_rule	*rules = to == PROTO_TO_WORKER ?
				    master_rules : worker_rules;
	size_t			 n = to == PROTO_TO_WORKER ?
				    NRULES(master_rules) : NRULES(worker_rules);
	size_t			 i;

	for (i = 0; i < n; i++)
		if (rules[i].type == type)
			return (&rules[i]);
	return (NULL);
}

/*
 * The one check, run by the receiver on what arrives and by the sender
 * on what it is about to queue.  NULL if the message is good, else why.
 */
static const char *
check(const struct proto_rule *r, const void *data, size_t len, int fd)
{
	if (len > MSG_PAYLOAD_MAX)
		return ("length beyond the payload");
	if (r == NULL)
		return ("unknown message type");
	if (fd != -1 && !r->with_fd)
		return ("unexpected descriptor");
	if (fd == -1 && r->with_fd)
		return ("descriptor missing");
	if (r->len != VARIABLE && len != r->len)
		return ("");
	return (r->content != NULL ? r->content(data, len) : NULL);
}

/* 0 for a good message, else -1 and in why what was wrong. */
static int
verdict(const struct proto_rule *r, const char *reason, char *why,
    size_t whylen)
{
	if (reason == NULL) {
		if (whylen > 0)
			why[0] = '\0';
		return (0);
	}
	if (reason[0] == '\0')
		snprintf(why, whylen, "bad %s message", r->what);
	else
		snprintf(why, whylen, "%s", reason);
	return (-1);
}

int
proto_check(enum proto_to to, uint32_t type, const void *data, size_t len,
    int fd, char *why, size_t whylen)
{
	const struct proto_rule	*r = rule_of(to, type);

	return (verdict(r, check(r, data, len, fd), why, whylen));
}

int
proto_check_worker_msg(const struct msg *m, char *why, size_t whylen)
{
	return (proto_check(PROTO_TO_MASTER, m->hdr.type, m->data, m->hdr.len,
	    m->fd, why, whylen));
}

int
proto_check_master_msg(const struct msg *m, char *why, size_t whylen)
{
	return (proto_check(PROTO_TO_WORKER, m->hdr.type, m->data, m->hdr.len,
	    m->fd, why, whylen));
}
