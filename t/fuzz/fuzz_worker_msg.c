/*
 * libFuzzer harness for the worker's side of the master <-> worker
 * protocol: what msg_read() decodes from the master's datagram and what
 * proto_check_master_msg() lets through (input format: channel.h).  A
 * message the check accepts is then used as the worker uses it: a
 * listener's remotes and rules indexed by their counts, its rules
 * matched and formatted, its source prefixes cut by counts.c, so that a
 * check too lax for the worker shows up as an ASan or UBSan report.
 * fuzz_msg is the other direction.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "acl.h"
#include "addr.h"
#include "channel.h"
#include "conf.h"
#include "counts.h"
#include "health.h"
#include "msg.h"
#include "proto.h"
#include "sockmap.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Clients that every rule and every prefix get tried with. */
static struct addr	clients[3];

static void
clients_init(void)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&clients[0].ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&clients[1].ss;
	struct sockaddr_in6	*m6 = (struct sockaddr_in6 *)&clients[2].ss;
	char			 err[256];

	s4->sin_family = AF_INET;
	inet_pton(AF_INET, "10.1.2.3", &s4->sin_addr);
	clients[0].len = sizeof(*s4);
	s6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
	clients[1].len = sizeof(*s6);
	m6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &m6->sin6_addr);
	clients[2].len = sizeof(*m6);
	/* One row, ours, as a worker has. */
	if (counts_init(1, err, sizeof(err)) == -1 ||
	    health_init(err, sizeof(err)) == -1)
		fuzz_die(err);
	counts_set_worker(1);
}

/* An address the worker binds or connects to: its kind, its size. */
static void
connectable(const struct addr *a)
{
	char	buf[ADDR_STRLEN];

	if (!(a->ss.ss_family == AF_INET &&
	    a->len == sizeof(struct sockaddr_in)) &&
	    !(a->ss.ss_family == AF_INET6 &&
	    a->len == sizeof(struct sockaddr_in6)))
		fuzz_die("check passed an address of no known kind");
	addr_fmt(a, buf, sizeof(buf));
	fuzz_sink ^= (uint32_t)strlen(buf);
}

static void
rules(const struct acl_rule *r, size_t n)
{
	char	buf[80];
	size_t	i, which;

	for (i = 0; i < n; i++)
		if (r[i].allow > 1 || !((r[i].family == AF_INET &&
		    r[i].prefix <= 32) || (r[i].family == AF_INET6 &&
		    r[i].prefix <= 128)))
			fuzz_die("check passed a rule acl_parse() cannot make");
	for (i = 0; i < 3; i++) {
		fuzz_sink ^= (uint32_t)acl_check(r, n, &clients[i], &which);
		if (which > n)
			fuzz_die("acl_check decided by a rule it does not have");
		if (which < n)
			fuzz_sink ^= (uint32_t)strlen(acl_fmt(&r[which], buf,
			    sizeof(buf)));
	}
}

/* handle_listener(), relay_start() and the relay's connect, in short. */
static void
listener(const struct msg *m)
{
	struct proto_listener	p;
	struct counts_hold	hold;
	uint32_t		i;

	if (m->fd == -1)
		fuzz_die("check passed a listener without its socket");
	memcpy(&p, m->data, sizeof(p));
	if (p.bufsize == 0 || p.bufsize > CONF_BUFSIZE_MAX)
		fuzz_die("check passed a buffer size the worker cannot have");
	/* Past the arrays is still inside the struct: ASan cannot see it. */
	if (p.nremotes == 0 || p.nremotes > REMOTES_MAX ||
	    p.nacl > ACL_MAX || p.ntrusted > PROXYHDR_TRUSTED_MAX)
		fuzz_die("check passed a count beyond its array");
	if (p.source_prefix4 > 32 || p.source_prefix6 > 128)
		fuzz_die("check passed a prefix longer than its address");
	if (p.keepalive > 1 || p.paused > 1 || p.proxy_protocol > 2 ||
	    p.accept_proxy > PROXYHDR_ANY)
		fuzz_die("check passed a flag of no known value");
	connectable(&p.local);
	for (i = 0; i < p.nremotes; i++)
		connectable(&p.remotes[i]);
	if (p.source4.len != 0)
		connectable(&p.source4);
	if (p.source6.len != 0)
		connectable(&p.source6);
	rules(p.acl, p.nacl);
	rules(p.trusted, p.ntrusted);
	if (p.accept_proxy != 0 && (p.ntrusted == 0 ||
	    p.proxy_header_timeout_ms == 0))
		fuzz_die("check passed a header nobody may send or no bound");
	/*
	 * The connect order: every index a remote, each address once; all
	 * the remotes not down, or every one when all are (fail-open).
	 * Failures below put remotes down, for this input and later ones.
	 */
	for (i = 0; i < 3; i++) {
		uint8_t		order[REMOTES_MAX], seen[REMOTES_MAX];
		uint32_t	rr = i * 7;
		size_t		n, j, up = 0;

		memset(seen, 0, sizeof(seen));
		for (j = 0; j < p.nremotes; j++)
			if (p.down_after == 0 ||
			    !health_is_down(&p.remotes[j], 0))
				up++;
		n = upstream_order(&p, &clients[i], &rr, 0, order);
		if (n != (up > 0 ? up : p.nremotes))
			fuzz_die("connect order does not try every remote");
		for (j = 0; j < n; j++) {
			if (order[j] >= p.nremotes || seen[order[j]]++)
				fuzz_die("connect order repeats or overruns");
			(void)health_failed(&p.remotes[order[j]], p.down_after,
			    p.down_for_ms, 1);
		}
	}
	for (i = 0; i < 3; i++) {
		if (counts_reserve(&p, &hold) == 0)
			(void)counts_acquire(&p, &clients[i], &hold);
		counts_release(&hold);
	}
}

static void
worker_side(const struct msg *m)
{
	struct proto_commit	c;
	struct proto_pause	pause;
	struct proto_kill	k;
	struct proto_sockmap	sm;
	uint32_t		u;

	if (m->hdr.type != PROTO_LISTENER && m->hdr.type != PROTO_SOCKMAP &&
	    m->fd != -1)
		fuzz_die("check passed a descriptor the worker does not want");
	switch (m->hdr.type) {
	case PROTO_LISTENER:
		listener(m);
		break;
	case PROTO_COMMIT:
		memcpy(&c, m->data, sizeof(c));
		if (c.version != PROTO_VERSION)
			fuzz_die("check passed another protocol version");
		fuzz_sink ^= c.generation ^ c.nlisteners;
		break;
	case PROTO_PAUSE:
		memcpy(&pause, m->data, sizeof(pause));
		if (pause.paused > 1)
			fuzz_die("check passed a pause that is not 0 or 1");
		fuzz_sink ^= pause.listener;
		break;
	case PROTO_SOCKMAP:
		memcpy(&sm, m->data, sizeof(sm));
		if (sm.map >= SOCKMAP_NMAPS || sm.entries == 0 || m->fd == -1)
			fuzz_die("check passed a map the worker cannot take");
		fuzz_sink ^= sm.map ^ sm.entries;
		break;
	case PROTO_KILL:
		memcpy(&k, m->data, sizeof(k));
		fuzz_sink ^= k.seq ^ (uint32_t)k.relay;
		break;
	case PROTO_STATS:
	case PROTO_CONNS:
	case PROTO_PING:
		memcpy(&u, m->data, sizeof(u));
		fuzz_sink ^= u;
		break;
	case PROTO_DUMP:
	case PROTO_QUIESCE:
		if (m->hdr.len != 0)
			fuzz_die("check passed a payload where none goes");
		break;
	default:
		fuzz_die("check passed an unknown type");
	}
}

static void
accepted(struct msg *m)
{
	fuzz_checked(m, PROTO_TO_WORKER, worker_side);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (clients[0].len == 0)
		clients_init();
	fuzz_channel_one(data, size, accepted);
	return (0);
}
