/*
 * Writes the seed corpus for fuzz_worker_msg into the directory given
 * (t/fuzz/corpus/worker_msg), in the input format of channel.h: what a
 * master sends, and near misses.  Built and run by hand:
 *
 *   cc -Isrc -Iprivsep -o /tmp/gen t/fuzz/gen-worker-msg-corpus.c &&
 *       /tmp/gen t/fuzz/corpus/worker_msg
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "proto.h"
#include "sockmap.h"

static const char	*dir;

static void
seed(const char *name, int control, uint32_t type, const void *payload,
    size_t len)
{
	struct msg_header	h = { type, (uint32_t)len };
	char			path[512];
	unsigned char		c = (unsigned char)control;
	FILE			*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fwrite(&c, 1, 1, f);
	fwrite(&h, sizeof(h), 1, f);
	if (len > 0)
		fwrite(payload, len, 1, f);
	if (fclose(f) != 0)
		err(1, "%s", path);
}

static void
v4(struct addr *a, const char *s, int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, s, &sin->sin_addr);
	a->len = sizeof(*sin);
}

static void
v6(struct addr *a, const char *s, int port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, s, &sin6->sin6_addr);
	a->len = sizeof(*sin6);
}

static void
rule(struct acl_rule *r, int allow, int family, const char *s, int prefix)
{
	memset(r, 0, sizeof(*r));
	r->allow = (uint8_t)allow;
	r->family = (uint8_t)family;
	r->prefix = (uint8_t)prefix;
	inet_pton(family, s, r->addr);
}

/* A listener as listener_to_proto() makes one from a busy stanza. */
static void
good_listener(struct proto_listener *p)
{
	memset(p, 0, sizeof(*p));
	p->id = 3;
	p->generation = 2;
	p->bufsize = 10240;
	v4(&p->local, "127.0.0.1", 8000);
	p->nremotes = 4;
	v6(&p->remotes[0], "::1", 7000);
	v4(&p->remotes[1], "127.0.0.1", 7000);
	v4(&p->remotes[2], "127.0.0.2", 7000);	/* server: ... weight 3 */
	v4(&p->remotes[3], "127.0.0.3", 7000);	/* backup: */
	p->remote_group[2] = 1;
	p->remote_group[3] = 2;
	p->ngroups = 3;
	p->nbalanced = 2;
	p->balance = BALANCE_SOURCE_HASH;
	p->weight[0] = 1;
	p->weight[1] = 3;
	p->down_after = 3;
	p->down_for_ms = 30000;
	v4(&p->source4, "127.0.0.2", 0);
	v6(&p->source6, "::1", 0);
	p->connect_timeout_ms = 5000;
	p->idle_timeout_ms = 60000;
	p->fin_timeout_ms = 30000;
	p->keepalive = 1;
	p->max_connections = 100;
	p->max_per_source = 5;
	p->source_prefix4 = 32;
	p->source_prefix6 = 64;
	p->nacl = 3;
	rule(&p->acl[0], 0, AF_INET, "10.9.0.0", 16);
	rule(&p->acl[1], 1, AF_INET, "10.0.0.0", 8);
	rule(&p->acl[2], 1, AF_INET6, "2001:db8::", 32);
}

int
main(int argc, char *argv[])
{
	struct proto_listener	p;
	struct proto_commit	c = { PROTO_VERSION, 2, 1 };
	struct proto_stats	st = { 1 };
	struct proto_conns	cn = { 1, 0 };
	struct proto_kill	k = { 1, 0, 42 };
	struct proto_pause	pa = { 3, 1 };
	struct proto_ping	pi = { 7 };
	struct proto_sockmap	sm;

	if (argc != 2)
		errx(1, "usage: gen-worker-msg-corpus DIR");
	dir = argv[1];

	good_listener(&p);
	seed("listener", 1, PROTO_LISTENER, &p, sizeof(p));
	seed("listener-nofd", 0, PROTO_LISTENER, &p, sizeof(p));
	seed("listener-2fds", 2, PROTO_LISTENER, &p, sizeof(p));
	seed("listener-short", 1, PROTO_LISTENER, &p, sizeof(p) - 1);
	seed("listener-truncated", 5, PROTO_LISTENER, &p, sizeof(p));
	p.accept_proxy = 3;
	p.ntrusted = 2;
	p.proxy_header_timeout_ms = 3000;
	rule(&p.trusted[0], 1, AF_INET, "127.0.0.0", 8);
	rule(&p.trusted[1], 1, AF_INET6, "::1", 128);
	seed("listener-proxy", 1, PROTO_LISTENER, &p, sizeof(p));
	p.proxy_header_timeout_ms = 0;
	seed("listener-proxy-forever", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.nremotes = REMOTES_MAX + 1;
	seed("listener-remotes33", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.remote_group[3] = 3;		/* a group skipped */
	seed("listener-group-gap", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.nbalanced = 4;
	seed("listener-nbalanced", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.weight[1] = 0;
	seed("listener-weight0", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.balance = BALANCE_COUNT;
	seed("listener-balance", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.remotes[1].len = sizeof(struct sockaddr_in6);
	seed("listener-remote-len", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.acl[1].addr[3] = 1;
	seed("listener-hostbits", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.nacl = ACL_MAX + 1;
	seed("listener-nacl33", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.source_prefix6 = 200;
	seed("listener-prefix200", 1, PROTO_LISTENER, &p, sizeof(p));
	good_listener(&p);
	p.bufsize = 0xffffffff;
	seed("listener-bufsize", 1, PROTO_LISTENER, &p, sizeof(p));

	seed("commit", 0, PROTO_COMMIT, &c, sizeof(c));
	seed("commit-fd", 1, PROTO_COMMIT, &c, sizeof(c));
	c.version = PROTO_VERSION - 1;
	seed("commit-version", 0, PROTO_COMMIT, &c, sizeof(c));
	seed("dump", 0, PROTO_DUMP, NULL, 0);
	seed("dump-payload", 0, PROTO_DUMP, &pi, sizeof(pi));
	seed("stats", 0, PROTO_STATS, &st, sizeof(st));
	seed("conns", 0, PROTO_CONNS, &cn, sizeof(cn));
	seed("kill", 0, PROTO_KILL, &k, sizeof(k));
	seed("pause", 0, PROTO_PAUSE, &pa, sizeof(pa));
	pa.paused = 2;
	seed("pause-2", 0, PROTO_PAUSE, &pa, sizeof(pa));
	seed("quiesce", 0, PROTO_QUIESCE, NULL, 0);
	seed("ping", 0, PROTO_PING, &pi, sizeof(pi));
	seed("ping-fd", 3, PROTO_PING, &pi, sizeof(pi));
	seed("pong-to-worker", 0, PROTO_PONG, &pi, sizeof(pi));
	sm.map = SOCKMAP_EVENTS;
	sm.entries = 20000;
	seed("sockmap", 1, PROTO_SOCKMAP, &sm, sizeof(sm));
	seed("sockmap-nofd", 0, PROTO_SOCKMAP, &sm, sizeof(sm));
	sm.map = SOCKMAP_NMAPS;
	seed("sockmap-map", 1, PROTO_SOCKMAP, &sm, sizeof(sm));
	sm.map = SOCKMAP_SOURCES;
	sm.entries = 0;
	seed("sockmap-empty", 1, PROTO_SOCKMAP, &sm, sizeof(sm));
	seed("unknown", 0, 99, &pi, sizeof(pi));
	return (0);
}
