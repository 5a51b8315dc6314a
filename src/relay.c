/*
 * The relay state machine.
 *
 * On a listener with accept-proxy-protocol a relay starts in HEADER: a
 * peer outside proxy-trusted is closed at once; from the others the
 * header is read, peeked first and then consumed exactly, so that the
 * client's own bytes stay in the kernel for the relay.  Its source
 * address then stands for the client's in everything that follows.
 *
 * A relay then starts CONNECTING: a non-blocking connect to each resolved
 * remote address in turn; the client is not polled meanwhile, so what it
 * sends waits in the kernel.  Once ESTABLISHED, each direction reads from
 * its source only while nothing of its waits to be written (flow.c
 * moves the bytes).
 *
 * EOF on a source becomes shutdown(SHUT_WR) on the destination once the
 * waiting bytes are written; the relay closes when both directions have
 * been shut this way.  An error or reset on either end resets the other
 * (SO_LINGER 0) and ends the relay.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "clock.h"
#include "counts.h"
#include "health.h"
#include "log.h"
#include "pollset.h"
#include "proxyhdr.h"
#include "proxyproto.h"
#include "relay.h"
#include "relay_sockmap.h"
#include "sockopt.h"
#include "upstream.h"
#include "wlistener.h"

#ifdef POLLRDHUP
#define POLLRDHUP_OR_0	POLLRDHUP
#else
#define POLLRDHUP_OR_0	0	/* no kernel path there */
#endif

#define FORWARD_BURST	8	/* reads per wake-up while data keeps coming */
#define KEEPALIVE_AGE_MS 1000	/* a relay this old gets keepalive... */
#define KEEPALIVE_PER_SWEEP 256	/* ...this many a sweep at most */

/* A PROXY header being read: what of it has been consumed. */
struct relay_header {
	size_t		len;
	unsigned char	buf[PROXYHDR_MAX];
};

static void	relay_io(void *, int);
static void	relay_try_connect(struct relay *);
static void	relay_header_io(struct relay *);

static const char *
state_name(const struct relay *r)
{
	if (r->state == RELAY_HEADER)
		return ("header");
	if (r->state == RELAY_CONNECTING)
		return ("connecting");
	if (r->up.eof || r->down.eof)
		return ("half-closed");
	return ("established");
}

/* As the close line writes them; see tcpproxy(8), LOGGING. */
static const char *const reason_names[] = {
	[REASON_EOF] = "eof",
	[REASON_RESET] = "reset",
	[REASON_ERROR] = "error",
	[REASON_DENIED] = "denied",
	[REASON_LIMIT] = "limit",
	[REASON_CONNECT_FAILED] = "connect-failed",
	[REASON_IDLE_TIMEOUT] = "idle-timeout",
	[REASON_FIN_TIMEOUT] = "fin-timeout",
	[REASON_SHUTDOWN] = "shutdown",
	[REASON_KILLED] = "killed",
	[REASON_UNTRUSTED] = "untrusted",
	[REASON_PROXY_HEADER] = "proxy-header",
	[REASON_HEADER_TIMEOUT] = "header-timeout",
};

/* The listener's counters (SIGUSR1) learn how a relay ended. */
static void
count_close(struct relay *r, enum relay_reason reason)
{
	struct proto_counters	*c = wlistener_counters(r->listener);

	c->sent += r->up.bytes;
	c->received += r->down.bytes;
	switch (reason) {
	case REASON_DENIED:
		c->denied++;
		break;
	case REASON_LIMIT:
		c->limited++;
		break;
	case REASON_CONNECT_FAILED:
		c->failed++;
		break;
	case REASON_UNTRUSTED:
	case REASON_PROXY_HEADER:
	case REASON_HEADER_TIMEOUT:
		c->proxy_rejected++;
		break;
	default:
		break;
	}
}

/*
 * End the relay: close both ends (the other one with a reset when one
 * failed), log one line with what happened, free everything.
 */
void
relay_close(struct relay *r, enum relay_reason reason, int reset)
{
	struct relay_set *rs = r->set;
	char		 client[ADDR_STRLEN], remote[ADDR_STRLEN];
	char		 source[ADDR_STRLEN];
	struct linger	 lin = { 1, 0 };

	/* What the kernel moved counts as if the worker had. */
	relay_sockmap_sync(r);
	relay_sockmap_forget(r);

	if (log_enabled(LOG_LVL_INFO)) {
		addr_fmt(&r->client.addr, client, sizeof(client));
		if (r->remote.addr.len > 0)
			addr_fmt(&r->remote.addr, remote, sizeof(remote));
		else
			strlcpy(remote, "-", sizeof(remote));
		if (r->source.len > 0)
			addr_fmt(&r->source, source, sizeof(source));
		else
			strlcpy(source, "-", sizeof(source));
		log_info("relay %llu: close listener=%s client=%s source=%s remote=%s "
		    "sent=%llu received=%llu duration_ms=%lld reason=%s",
		    (unsigned long long)r->id, r->listener->name, client,
		    source, remote,
		    (unsigned long long)r->up.bytes,
		    (unsigned long long)r->down.bytes,
		    (long long)(clock_now_ms() - r->started_ms),
		    reason_names[reason]);
	}
	if (r->client.fd != -1) {
		if (reset)
			setsockopt(r->client.fd, SOL_SOCKET, SO_LINGER, &lin,
			    sizeof(lin));
		pollset_close(rs->ps, r->client.slot, r->client.fd);
	}
	if (r->remote.fd != -1) {
		if (reset)
			setsockopt(r->remote.fd, SOL_SOCKET, SO_LINGER, &lin,
			    sizeof(lin));
		pollset_close(rs->ps, r->remote.slot, r->remote.fd);
	}
	flow_release(&r->up, r->bufsize);
	flow_release(&r->down, r->bufsize);
	free(r->header);
	counts_release(&r->hold);
	count_close(r, reason);
	TAILQ_REMOVE(&rs->list, r, entry);
	rs->n--;
	wlistener_release(r->listener);
	free(r);
	rs->closed(rs->arg);
}

/* What a direction's source is polled for. */
static int
source_events(const struct flow *f)
{
	if (f->eof)
		return (0);
	if (f->k.path == FLOW_KERNEL)
		return (POLLRDHUP_OR_0);
	if (f->k.path == FLOW_DRAINING || flow_pending(f) > 0)
		return (0);
	return (POLLIN);
}

/*
 * An end that will neither be read nor written again leaves the set:
 * polled, its hang-up would wake the worker until the relay closes.
 */
static void
end_events(struct pollset *ps, struct relay_end *e, const struct flow *in,
    const struct flow *out, int events)
{
	if (e->slot == -1)
		return;
	if (in->eof && out->shut) {
		pollset_del(ps, e->slot);
		e->slot = -1;
		return;
	}
	pollset_events(ps, e->slot, events);
}

/*
 * What each end should be polled for, from the state of both dirs.  A
 * source in the kernel is watched for its end only; one draining, for
 * nothing (errors and hang-ups come anyway).
 */
void
relay_update_events(struct relay *r)
{
	struct pollset	*ps = r->set->ps;
	int		 ce = 0, re = 0;

	if (r->state == RELAY_HEADER) {
		pollset_events(ps, r->client.slot, POLLIN);
		return;
	}
	if (r->state == RELAY_CONNECTING) {
		pollset_events(ps, r->client.slot, 0);
		pollset_events(ps, r->remote.slot, POLLOUT);
		return;
	}
	ce |= source_events(&r->up);
	if (flow_pending(&r->down) > 0)
		ce |= POLLOUT;
	re |= source_events(&r->down);
	if (flow_pending(&r->up) > 0)
		re |= POLLOUT;
	end_events(ps, &r->client, &r->up, &r->down, ce);
	end_events(ps, &r->remote, &r->down, &r->up, re);
}

enum relay_reason
relay_reason_of(int error)
{
	return (error == ECONNRESET || error == EPIPE ? REASON_RESET :
	    REASON_ERROR);
}

/*
 * The PROXY protocol header goes first on a fresh connection, whose send
 * buffer is empty: it is written whole or the relay fails.
 */
static int
send_proxy_header(struct relay *r)
{
	unsigned char	 hdr[PROXYPROTO_MAX];
	struct addr	 local;
	size_t		 len;
	ssize_t		 n;

	/* Behind a balancer, what its client reached; else us. */
	local = r->header_dst;
	if (local.ss.ss_family == 0) {
		local.len = sizeof(local.ss);
		if (getsockname(r->client.fd, (struct sockaddr *)&local.ss,
		    &local.len) == -1)
			return (-1);
	}
	len = proxyproto_header(r->listener->conf.proxy_protocol,
	    &r->client.addr, &local, hdr, sizeof(hdr));
	if (len == 0)
		return (-1);
	n = send(r->remote.fd, hdr, len, MSG_NOSIGNAL);
	if (n != (ssize_t)len) {
		log_info("relay %llu: cannot send the PROXY header: %s",
		    (unsigned long long)r->id, n == -1 ? strerror(errno) :
		    "short write");
		return (-1);
	}
	return (0);
}

static void
relay_established(struct relay *r)
{
	char		 remote[ADDR_STRLEN], source[ADDR_STRLEN];
	struct sockaddr	*sa = (struct sockaddr *)&r->source.ss;

	r->state = RELAY_ESTABLISHED;
	r->active_ms = clock_now_ms();
	if (r->listener->conf.down_after > 0 &&
	    health_succeeded(&r->remote.addr))
		log_notice("remote %s of %s answers again: up",
		    addr_fmt(&r->remote.addr, remote, sizeof(remote)),
		    r->listener->name);
	if (r->listener->conf.proxy_protocol != 0 && send_proxy_header(r) == -1) {
		relay_close(r, REASON_ERROR, 1);
		return;
	}
	/* Only the connection log lines show the source: no call when
	 * nobody reads them. */
	r->source.len = 0;
	if (log_enabled(LOG_LVL_INFO)) {
		r->source.len = sizeof(r->source.ss);
		if (getsockname(r->remote.fd, sa, &r->source.len) == -1)
			r->source.len = 0;
		log_info("relay %llu: connected to %s from %s",
		    (unsigned long long)r->id,
		    addr_fmt(&r->remote.addr, remote, sizeof(remote)),
		    r->source.len ? addr_fmt(&r->source, source,
		    sizeof(source)) : "?");
	}
	relay_update_events(r);
}

/* The connect attempt to remote order[next_remote - 1] failed. */
static void
relay_connect_failed(struct relay *r, int error)
{
	const struct proto_listener	*lc = &r->listener->conf;
	char				 remote[ADDR_STRLEN];

	r->last_errno = error;
	log_info("relay %llu: connect to %s failed: %s",
	    (unsigned long long)r->id,
	    addr_fmt(&r->remote.addr, remote, sizeof(remote)),
	    strerror(error));
	/* Not the remote's fault when a socket or its source failed us. */
	if (error != ENOMEM && error != EMFILE && error != ENFILE &&
	    error != EADDRNOTAVAIL && error != EADDRINUSE &&
	    health_failed(&r->remote.addr, lc->down_after, lc->down_for_ms,
	    clock_now_ms()))
		log_notice("remote %s of %s: %u failed connects in a row, "
		    "down for %u ms", remote, r->listener->name,
		    lc->down_after, lc->down_for_ms);
	if (r->remote.fd != -1) {
		pollset_close(r->set->ps, r->remote.slot, r->remote.fd);
		r->remote.fd = -1;
	}
	relay_try_connect(r);
}

/* Connect to the next remote address, or give up when none is left. */
static void
relay_try_connect(struct relay *r)
{
	const struct proto_listener	*lc = &r->listener->conf;
	const struct addr		*ra, *src;
	int				 fd;

	if (r->next_remote == 0 && r->norder == 0)
		r->norder = (uint8_t)upstream_order(lc, &r->client.addr,
		    &r->listener->rr_next, clock_now_ms(), r->order);
	if (r->next_remote >= r->norder) {
		char	client[ADDR_STRLEN];

		log_warnx("relay %llu: client %s: cannot connect to any "
		    "remote of %s, last error: %s",
		    (unsigned long long)r->id,
		    addr_fmt(&r->client.addr, client, sizeof(client)),
		    r->listener->name, strerror(r->last_errno));
		relay_close(r, REASON_CONNECT_FAILED, 0);
		return;
	}
	ra = &lc->remotes[r->order[r->next_remote++]];
	r->remote.addr = *ra;
	src = ra->ss.ss_family == AF_INET6 ? &lc->source6 : &lc->source4;

	fd = socket(ra->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		relay_connect_failed(r, errno);
		return;
	}
	r->remote.fd = fd;
	if (pollset_add(r->set->ps, fd, POLLOUT, relay_io, &r->remote,
	    &r->remote.slot) == -1) {
		relay_connect_failed(r, ENOMEM);
		return;
	}
	sockopt_nodelay(fd);
	r->attempt_ms = clock_now_ms();
	if (src->ss.ss_family != 0) {
#ifdef IP_BIND_ADDRESS_NO_PORT
		/* Let connect() pick the port: 4-tuples, not ports, are scarce. */
		int	one = 1;

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
		if (bind(fd, (const struct sockaddr *)&src->ss, src->len)
		    == -1) {
			relay_connect_failed(r, errno);
			return;
		}
	}
	if (connect(fd, (const struct sockaddr *)&ra->ss, ra->len) == 0) {
		relay_established(r);
		return;
	}
	if (errno != EINPROGRESS && errno != EINTR) {
		relay_connect_failed(r, errno);
		return;
	}
	relay_update_events(r);
}

/*
 * The remote became writable or failed.  Linux reports a failed connect
 * with POLLERR, so there writable alone means connected and only a
 * failure needs the call that says why; other systems may report a
 * refused connect as merely writable, so there it is always asked.
 */
static void
relay_connecting_io(struct relay *r, int revents)
{
	int		error = 0;
	socklen_t	len = sizeof(error);

#ifdef __linux__
	if ((revents & (POLLOUT | POLLERR | POLLHUP)) == POLLOUT) {
		relay_established(r);
		return;
	}
#else
	(void)revents;
#endif
	if (getsockopt(r->remote.fd, SOL_SOCKET, SO_ERROR, &error, &len)
	    == -1)
		error = errno;
	if (error == EINPROGRESS || error == EALREADY)
		return;
	if (error != 0) {
		relay_connect_failed(r, error);
		return;
	}
	relay_established(r);
}

static void
relay_io(void *arg, int revents)
{
	struct relay_end	*e = arg;
	struct relay		*r = e->relay;
	struct flow		*in, *out;
	int			 i;

	if (r->state == RELAY_HEADER) {
		if (e == &r->client)
			relay_header_io(r);
		return;
	}
	if (r->state == RELAY_CONNECTING) {
		if (e == &r->remote)
			relay_connecting_io(r, revents);
		return;
	}
	/* in: bytes read from e; out: bytes written to e. */
	in = e == &r->client ? &r->up : &r->down;
	out = e == &r->client ? &r->down : &r->up;
	if (in->k.path != FLOW_USER && (revents & (POLLIN | POLLRDHUP_OR_0 |
	    POLLHUP | POLLERR)) &&
	    relay_sockmap_source_event(r, in, revents) == -1)
		return;		/* closed */

	/*
	 * Whatever poll reported, do what e was polled for: a failed end
	 * shows itself as an error from the call, never as a spin.
	 */
	if (flow_pending(out) > 0 &&
	    flow_flush(out, r->bufsize) == -1) {
		relay_close(r, relay_reason_of(errno), 1);
		return;
	}
	/*
	 * Read again while each read moves as much as one read can and all
	 * of it was written: a bulk transfer then costs one poll per burst,
	 * not per read.  A short read means the source is drained for now.
	 */
	for (i = 0; i < FORWARD_BURST && (revents & (POLLIN | POLLHUP |
	    POLLERR)) && in->k.path == FLOW_USER && !in->eof &&
	    flow_pending(in) == 0; i++) {
		uint64_t	before = in->bytes;
		int		full;

		if ((full = flow_forward(in, r->bufsize)) == -1) {
			relay_close(r, relay_reason_of(errno), 1);
			return;
		}
		/* Small messages, one at a time: the kernel can take them. */
		if (full || in->bulk)
			in->k.small_reads = 0;
		else if (in->bytes > before)
			in->k.small_reads++;
		if (!full)
			break;
	}
	if (r->up.shut && r->down.shut) {
		relay_close(r, REASON_EOF, 0);
		return;
	}
	r->active_ms = *r->set->now_ms;
	if (r->half_ms == 0 && (r->up.eof || r->down.eof))
		r->half_ms = r->active_ms;
	relay_sockmap_consider(r);
	relay_update_events(r);
}

/*
 * Access rules first, then max-per-source (max-connections was held
 * before the accept); a client that fails either is closed before
 * anything is connected on its behalf.
 */
static int
relay_admitted(struct relay *r)
{
	const struct proto_listener	*lc = &r->listener->conf;
	char				 rule[64];
	size_t				 which;

	if (lc->nacl > 0 && !acl_check(lc->acl, lc->nacl, &r->client.addr,
	    &which)) {
		if (which < lc->nacl)
			acl_fmt(&lc->acl[which], rule, sizeof(rule));
		else
			strlcpy(rule, "no allow rule matched", sizeof(rule));
		log_notice("relay %llu: client denied by %s",
		    (unsigned long long)r->id, rule);
		relay_close(r, REASON_DENIED, 0);
		return (0);
	}
	if (counts_acquire(lc, &r->client.addr, &r->hold) == 0)
		return (1);
	log_notice("relay %llu: max-per-source %u reached for this "
	    "client's /%u", (unsigned long long)r->id, lc->max_per_source,
	    r->client.addr.ss.ss_family == AF_INET ? lc->source_prefix4 :
	    lc->source_prefix6);
	relay_close(r, REASON_LIMIT, 0);
	return (0);
}

/* A client to relay for, as far as we know who it is. */
static void
relay_begin(struct relay *r)
{
	r->state = RELAY_CONNECTING;
	if (!relay_admitted(r))
		return;
	if (!SOCKOPT_INHERITED)
		sockopt_nodelay(r->client.fd);
	relay_try_connect(r);
}

/* The connection brought no header we take: it never was a client. */
static void
header_reject(struct relay *r, enum relay_reason reason, const char *why)
{
	char	peer[ADDR_STRLEN];

	log_notice("relay %llu: %s on %s: %s", (unsigned long long)r->id,
	    addr_fmt(&r->client.addr, peer, sizeof(peer)), r->listener->name,
	    why);
	relay_close(r, reason, 0);
}

static void
header_start(struct relay *r)
{
	const struct proto_listener	*lc = &r->listener->conf;
	size_t				 which;

	if (!acl_check(lc->trusted, lc->ntrusted, &r->client.addr, &which)) {
		header_reject(r, REASON_UNTRUSTED, "not proxy-trusted, closed");
		return;
	}
	if ((r->header = calloc(1, sizeof(*r->header))) == NULL) {
		log_warn("relay %llu: PROXY header", (unsigned long long)r->id);
		relay_close(r, REASON_ERROR, 0);
		return;
	}
	r->state = RELAY_HEADER;
	relay_update_events(r);
	if (log_enabled(LOG_LVL_DEBUG)) {
		char	peer[ADDR_STRLEN];

		log_debug("relay %llu: %s on %s: waiting for its PROXY header",
		    (unsigned long long)r->id, addr_fmt(&r->client.addr, peer,
		    sizeof(peer)), r->listener->name);
	}
}

/* The header is in: its client is the relay's from now on. */
static void
header_done(struct relay *r, const struct proxyhdr *ph)
{
	char	client[ADDR_STRLEN], peer[ADDR_STRLEN];

	free(r->header);
	r->header = NULL;
	addr_fmt(&r->client.addr, peer, sizeof(peer));
	if (!ph->local) {
		r->client.addr = ph->src;
		r->header_dst = ph->dst;
	}
	if (log_enabled(LOG_LVL_INFO))
		log_info("relay %llu: new client %s on %s via %s, PROXY v%d%s",
		    (unsigned long long)r->id,
		    addr_fmt(&r->client.addr, client, sizeof(client)),
		    r->listener->name, peer, ph->version, ph->local ?
		    " without a client address" : "");
	relay_begin(r);
}

/*
 * Peek at what the client sent, and consume only what belongs to the
 * header: all of it while the header is incomplete (the parser says so),
 * exactly the header once it is complete.  Never blocks: the socket is
 * non-blocking and only what was peeked is taken.
 */
static void
relay_header_io(struct relay *r)
{
	struct relay_header	*h = r->header;
	struct proxyhdr		 ph;
	const char		*why;
	ssize_t			 n;
	size_t			 take;
	int			 len;

	n = recv(r->client.fd, h->buf + h->len, sizeof(h->buf) - h->len,
	    MSG_PEEK);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		header_reject(r, REASON_PROXY_HEADER, strerror(errno));
		return;
	}
	if (n == 0) {
		header_reject(r, REASON_PROXY_HEADER, h->len == 0 ?
		    "closed without a PROXY header" :
		    "closed in the middle of its PROXY header");
		return;
	}
	len = proxyhdr_parse(h->buf, h->len + (size_t)n,
	    r->listener->conf.accept_proxy, &ph, &why);
	if (len == -1) {
		header_reject(r, REASON_PROXY_HEADER, why);
		return;
	}
	if (len > 0 && (size_t)len <= h->len) {
		header_reject(r, REASON_PROXY_HEADER, "header shorter than "
		    "what was read of it");
		return;
	}
	take = len == 0 ? (size_t)n : (size_t)len - h->len;
	if (recv(r->client.fd, h->buf + h->len, take, 0) != (ssize_t)take) {
		header_reject(r, REASON_PROXY_HEADER, "cannot take the "
		    "bytes peeked");
		return;
	}
	h->len += take;
	if (len == 0) {
		/* The parser decides before the buffer is full. */
		if (h->len == sizeof(h->buf))
			header_reject(r, REASON_PROXY_HEADER, "header too long");
		return;
	}
	header_done(r, &ph);
}

void
relay_set_init(struct relay_set *rs, struct pollset *ps, const int64_t *now_ms,
    void (*closed)(void *), void *arg)
{
	memset(rs, 0, sizeof(*rs));
	TAILQ_INIT(&rs->list);
	TAILQ_INIT(&rs->draining);
	rs->ps = ps;
	rs->now_ms = now_ms;
	rs->closed = closed;
	rs->arg = arg;
}

/*
 * A client was accepted on l, under the listener's place in hold: start
 * connecting on its behalf, or first read its PROXY header.
 */
void
relay_start(struct relay_set *rs, struct wlistener *l, int fd,
    const struct addr *client, struct counts_hold *hold)
{
	struct relay	*r;
	char		 buf[ADDR_STRLEN];

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("relay");
		counts_release(hold);
		close(fd);
		return;
	}
	r->hold = *hold;
	r->set = rs;
	r->listener = l;
	r->id = ++rs->next_id;
	r->state = RELAY_CONNECTING;
	r->bufsize = l->conf.bufsize;
	r->started_ms = clock_now_ms();
	r->client.relay = r->remote.relay = r;
	r->client.fd = fd;
	r->client.addr = *client;
	r->remote.fd = -1;
	r->client.slot = r->remote.slot = -1;
	flow_init(&r->up, &r->client.fd, &r->remote.fd, &r->down);
	flow_init(&r->down, &r->remote.fd, &r->client.fd, &r->up);
	wlistener_hold(l);
	wlistener_counters(l)->accepted++;
	TAILQ_INSERT_TAIL(&rs->list, r, entry);
	rs->n++;

	/* Behind a balancer, the client is known after its header. */
	if (l->conf.accept_proxy == 0 && log_enabled(LOG_LVL_INFO))
		log_info("relay %llu: new client %s on %s",
		    (unsigned long long)r->id,
		    addr_fmt(client, buf, sizeof(buf)), l->name);
	if (pollset_add(rs->ps, fd, 0, relay_io, &r->client,
	    &r->client.slot) == -1) {
		relay_close(r, REASON_ERROR, 0);
		return;
	}
	if (l->conf.accept_proxy != 0)
		header_start(r);
	else
		relay_begin(r);
}

/* Has an established relay been silent past its fin or idle timeout? */
static int
silent_too_long(const struct relay *r, const struct proto_listener *lc,
    int64_t now)
{
	return ((lc->fin_timeout_ms > 0 && r->half_ms > 0 &&
	    now - r->active_ms >= lc->fin_timeout_ms) ||
	    (lc->idle_timeout_ms > 0 &&
	    now - r->active_ms >= lc->idle_timeout_ms));
}

/*
 * Once a second: newly established relays get their keepalive options;
 * connect attempts that took too long move on to the next address;
 * relays silent for longer than idle-timeout, or half-closed and silent
 * for longer than fin-timeout, are closed.
 */
void
relay_sweep(struct relay_set *rs, int64_t now)
{
	const struct proto_listener	*lc;
	struct relay			*r, *next;
	int				 budget = KEEPALIVE_PER_SWEEP;

	for (r = TAILQ_FIRST(&rs->list); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		lc = &r->listener->conf;
		if (r->state == RELAY_ESTABLISHED && !r->keepalive_set &&
		    now - r->started_ms >= KEEPALIVE_AGE_MS && budget > 0) {
			/*
			 * Probes matter only to a connection that lives: a
			 * sweep sets them once it is a second old, not every
			 * connect (four calls on each remote socket, and on
			 * each client where the listener's are not
			 * inherited).  The oldest come first, a few hundred
			 * a sweep, so that a burst of new connections does
			 * not stall the worker for all of them at once.
			 */
			budget--;
			r->keepalive_set = 1;
			if (lc->keepalive) {
				sockopt_keepalive(r->remote.fd, 1);
				if (!SOCKOPT_INHERITED)
					sockopt_keepalive(r->client.fd, 1);
			}
		}
		if (r->state == RELAY_HEADER) {
			if (now - r->started_ms >= lc->proxy_header_timeout_ms)
				header_reject(r, REASON_HEADER_TIMEOUT,
				    "no complete PROXY header within "
				    "proxy-header-timeout");
		} else if (r->state == RELAY_CONNECTING) {
			if (lc->connect_timeout_ms > 0 && r->remote.fd != -1 &&
			    now - r->attempt_ms >= lc->connect_timeout_ms)
				relay_connect_failed(r, ETIMEDOUT);
		} else if (silent_too_long(r, lc, now) &&
		    /* Bytes the kernel moved are activity: asked only now. */
		    (relay_sockmap_sweep(r) == -1 ||
		    !silent_too_long(r, lc, now)))
			continue;	/* closed, or not silent after all */
		else if (lc->fin_timeout_ms > 0 && r->half_ms > 0 &&
		    now - r->active_ms >= lc->fin_timeout_ms)
			/* Half-closed and silent: the other side lingers. */
			relay_close(r, REASON_FIN_TIMEOUT, 0);
		else if (lc->idle_timeout_ms > 0 &&
		    now - r->active_ms >= lc->idle_timeout_ms)
			relay_close(r, REASON_IDLE_TIMEOUT, 0);
	}
	if (budget < KEEPALIVE_PER_SWEEP)
		log_debug("sweep: keepalive set on %d connections",
		    KEEPALIVE_PER_SWEEP - budget);
}

/* The worker stops: every relay ends, each with its accounting line. */
void
relay_shutdown_all(struct relay_set *rs)
{
	struct relay	*r;

	while ((r = TAILQ_FIRST(&rs->list)) != NULL)
		relay_close(r, REASON_SHUTDOWN, 0);
}

/* SIGUSR2: one line per open connection. */
void
relay_dump(struct relay_set *rs)
{
	struct relay	*r;
	char		 client[ADDR_STRLEN], remote[ADDR_STRLEN];
	int64_t		 now = clock_now_ms();

	relay_sync_counts(rs);
	TAILQ_FOREACH(r, &rs->list, entry) {
		addr_fmt(&r->client.addr, client, sizeof(client));
		if (r->remote.addr.len > 0)
			addr_fmt(&r->remote.addr, remote, sizeof(remote));
		else
			strlcpy(remote, "-", sizeof(remote));
		log_notice("relay %llu: open listener=%s client=%s "
		    "remote=%s state=%s sent=%llu received=%llu age_ms=%lld",
		    (unsigned long long)r->id, r->listener->name, client,
		    remote, state_name(r), (unsigned long long)r->up.bytes,
		    (unsigned long long)r->down.bytes,
		    (long long)(now - r->started_ms));
	}
}

/* One open connection, as the control socket shows it. */
void
relay_describe(const struct relay *r, int64_t now, struct proto_conn *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->id = r->id;
	pc->listener = r->listener->conf.id;
	if (r->state == RELAY_HEADER)
		pc->state = PROTO_CONN_HEADER;
	else if (r->state == RELAY_CONNECTING)
		pc->state = PROTO_CONN_CONNECTING;
	else if (r->up.eof || r->down.eof)
		pc->state = PROTO_CONN_HALF_CLOSED;
	else
		pc->state = PROTO_CONN_ESTABLISHED;
	/* accept() left the rest of the client's storage uninitialised. */
	addr_copy(&pc->client, &r->client.addr);
	if (r->state == RELAY_ESTABLISHED)
		addr_copy(&pc->remote, &r->remote.addr);
	pc->sent = r->up.bytes;
	pc->received = r->down.bytes;
	pc->age_ms = (uint64_t)(now - r->started_ms);
	pc->idle_ms = (uint64_t)(now - r->active_ms);
}

/* Open connections' counts, with what the kernel moved for them. */
void
relay_sync_counts(struct relay_set *rs)
{
	struct relay	*r;

	TAILQ_FOREACH(r, &rs->list, entry)
		if (r->state == RELAY_ESTABLISHED)
			relay_sockmap_sync(r);
}

/* The control socket's kill: both ends reset.  1 if it was open. */
int
relay_kill(struct relay_set *rs, uint64_t id)
{
	struct relay	*r;

	TAILQ_FOREACH(r, &rs->list, entry)
		if (r->id == id) {
			relay_close(r, REASON_KILLED, 1);
			return (1);
		}
	return (0);
}
