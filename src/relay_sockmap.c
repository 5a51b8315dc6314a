/*
 * The kernel's half of a relay (see relay_sockmap.h).
 *
 * Every socket of a worker's relays may sit in two maps the master
 * made for it: "targets", which the program may send to, and "sources",
 * to which the program is attached: a segment arriving on a source is
 * counted (info, keyed by the socket's cookie) and queued on the send
 * side of its peer in targets.  A direction is in the kernel while its
 * source is in sources; it leaves by being deleted from it, after which
 * new bytes stay in the source's receive queue as with any socket.
 *
 * The worker never writes to a destination while the kernel may still
 * hold bytes for it: a direction that leaves the kernel "drains" until
 * everything the program took has reached the destination's send queue,
 * and only then does the worker pass the FIN on (the source ended) or
 * read the source again (the destination fell behind).  From the
 * kernel's own counts, since the direction went in:
 *
 *	written = bytes_acked + SIOCOUTQ of the destination, less what it
 *		  held then (the worker wrote those);
 *	moved   = what the program counted;
 *	taken   = bytes_received of the source (less its FIN), less the
 *		  same then, and less what is still in its receive queue;
 *
 * drained when written has caught up with moved.  They are read in an
 * order that can only make it look less drained than it is, and not
 * before a source left the map 2 ms ago: a program run is a softirq's,
 * which nothing preempts for that long.
 *
 * Deleting a source from the map races with a segment the kernel hands
 * to the program at that moment on another CPU: without the program it
 * takes the default verdict, drop, of bytes TCP has acknowledged.  No
 * map command takes the socket lock that would close the race, so it is
 * detected instead: taken > moved once drained means bytes vanished,
 * and the connection is reset rather than passed on with a hole.
 *
 * The kernel queues what a destination cannot take without any bound,
 * so the program raises an event every 64 KB it moves; the worker then
 * looks at what waits (moved - written), and past SOCKMAP_BOUND takes the
 * direction back: its source's window closes as with any slow reader.
 * Nothing is ever passed to the source's own queue (SK_PASS): behind
 * bytes queued for the source's peer those would sit uncounted and
 * unbounded.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pollset.h"
#include "relay.h"
#include "relay_sockmap.h"

#if defined(__linux__) && defined(TCPPROXY_SOCKMAP)

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>

#include "sockmap.h"

/* tcpi_state: Linux's numbers, which no user header of its names. */
#define STATE_TIME_WAIT		6
#define STATE_CLOSE		7
#define STATE_CLOSE_WAIT	8
#define STATE_LAST_ACK		9
#define STATE_CLOSING		11

#define DRAIN_FIRST_MS	2	/* a draining direction is looked at... */
#define DRAIN_MAX_MS	64	/* ...then less often, up to this */

static struct {
	int		  fd[SOCKMAP_NMAPS];
	int		  have;		/* bit per map received */
	int		  ready;	/* all of them, and the events mapped */
	int		  broken;	/* a map refused: said once, off */
	int		  refuse;	/* test hook: see relay_sockmap_test_refuse */
	uint32_t	  entries;	/* the maps' size: descriptors below */
	struct relay_end **ends;	/* by descriptor, for the events */
	int		  events_slot;
	unsigned long	 *cons_pos;	/* the ring buffer's two pages... */
	unsigned long	 *prod_pos;
	unsigned char	 *data;		/* ...and its records, mapped twice */
	size_t		  data_size;
	uint32_t	  events_round;	/* events_io's calls; wraps, harmless */
} km = { .fd = { -1, -1, -1, -1 }, .events_slot = -1 };

/* A map refused what it takes: the worker stops using the kernel path. */
static void
sockmap_broken(const char *what)
{
	if (!km.broken)
		log_warnx("sockmap: %s: %s; new connections stay in user "
		    "space", what, strerror(errno));
	km.broken = 1;
}

/*
 * What TCP counted on fd: bytes acked by the peer, bytes received in
 * order; received counts the peer's FIN as one byte, which is taken
 * out here (the states after a FIN came in say whether it did).
 */
static int
end_bytes(int fd, uint64_t *acked, uint64_t *received)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return (-1);
	if (acked != NULL)
		*acked = ti.tcpi_bytes_acked;
	if (received != NULL) {
		*received = ti.tcpi_bytes_received;
		switch (ti.tcpi_state) {
		case STATE_CLOSE_WAIT:
		case STATE_LAST_ACK:
		case STATE_CLOSING:
		case STATE_TIME_WAIT:
		case STATE_CLOSE:	/* after both FINs (a reset is an error) */
			if (*received > 0)
				(*received)--;
			break;
		default:
			break;
		}
	}
	return (0);
}

/* All ever written to fd: acknowledged, and still in its send queue. */
static int
end_written(int fd, uint64_t *written)
{
	uint64_t	acked;
	int		outq;

	/* Acked first: bytes acked in between are then counted short. */
	if (end_bytes(fd, &acked, NULL) == -1 ||
	    ioctl(fd, SIOCOUTQ, &outq) == -1)
		return (-1);
	*written = acked + (uint64_t)outq;
	return (0);
}

/*
 * The same, exact, for a destination nobody writes to: its acks may
 * still move between the two reads, so read until they did not.
 */
static int
end_written_exact(int fd, uint64_t *written)
{
	uint64_t	before, after;
	int		outq, i;

	for (i = 0; i < 8; i++) {
		if (end_bytes(fd, &before, NULL) == -1 ||
		    ioctl(fd, SIOCOUTQ, &outq) == -1 ||
		    end_bytes(fd, &after, NULL) == -1)
			return (-1);
		if (before == after) {
			*written = after + (uint64_t)outq;
			return (0);
		}
	}
	errno = EAGAIN;
	return (-1);
}

/*
 * The bytes in fd's receive queue.  Not SIOCINQ: on a socket in a
 * sockmap that counts only what the program passed to it, and ours
 * passes nothing.  A peek that copies nothing (MSG_TRUNC) counts them,
 * up to a length past what the receive buffer allows; *full when it
 * found that many, and so does not know.
 */
static int
end_queued(int fd, size_t *queued, int *full)
{
	socklen_t	len = sizeof(int);
	ssize_t		n;
	int		rcvbuf;

	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) == -1)
		return (-1);
	if (rcvbuf <= 0 || rcvbuf > INT_MAX / 4)
		rcvbuf = INT_MAX / 4;
	n = recv(fd, NULL, (size_t)rcvbuf * 2, MSG_PEEK | MSG_TRUNC |
	    MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return (-1);
		n = 0;
	}
	*queued = (size_t)n;
	*full = n == (ssize_t)rcvbuf * 2;
	return (0);
}

/* A pending error (a reset) on fd, taken: 0 when none. */
static int
end_error(int fd)
{
	int		error = 0;
	socklen_t	len = sizeof(error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return (errno);
	return (error);
}

static int
end_cookie(struct relay_end *e)
{
	socklen_t	len = sizeof(e->cookie);

	if (e->cookie != 0)
		return (0);
	return (getsockopt(e->fd, SOL_SOCKET, SO_COOKIE, &e->cookie, &len));
}

static int
moved_of(const struct relay_end *src, uint64_t *moved)
{
	struct sockmap_info	in;

	/* Zeroed: valgrind cannot tell the kernel filled it. */
	memset(&in, 0, sizeof(in));
	if (bpf_map_lookup_elem(km.fd[SOCKMAP_INFO], &src->cookie, &in) != 0)
		return (-1);
	*moved = in.moved;
	return (0);
}

static struct relay_end *
source_of(struct relay *r, struct flow *f)
{
	return (f == &r->up ? &r->client : &r->remote);
}

static struct relay_end *
destination_of(struct relay *r, struct flow *f)
{
	return (f == &r->up ? &r->remote : &r->client);
}

static void
drain_start(struct relay *r, struct flow *f, int64_t now)
{
	f->k.path = FLOW_DRAINING;
	f->k.backoff_ms = DRAIN_FIRST_MS;
	f->k.check_ms = now + DRAIN_FIRST_MS;
	if (!r->draining) {
		TAILQ_INSERT_TAIL(&r->set->draining, r, drain_entry);
		r->draining = 1;
	}
}

/* Stop the program reading f's source: the kernel keeps what it took. */
static void
take_back(struct relay *r, struct flow *f, int64_t now)
{
	uint32_t	key = (uint32_t)source_of(r, f)->fd;

	if (bpf_map_delete_elem(km.fd[SOCKMAP_SOURCES], &key) != 0 &&
	    errno != ENOENT)
		sockmap_broken("cannot take a socket out of the map");
	drain_start(r, f, now);
}

/*
 * Hand f to the kernel.  Nothing of it waits in the worker, so that
 * what its destination holds now was all written by the worker.
 */
static void
hand_over(struct relay *r, struct flow *f)
{
	struct relay_end	*src = source_of(r, f), *dst = destination_of(r, f);
	struct sockmap_info	 in;
	uint64_t		 sent, rcvd;
	uint32_t		 key, val;
	size_t			 inq;
	int			 full;

	if ((uint32_t)src->fd >= km.entries || (uint32_t)dst->fd >= km.entries) {
		f->k.attaches = SOCKMAP_TRIES;	/* never: beyond the maps */
		return;
	}
	if (end_queued(src->fd, &inq, &full) == -1 || inq > 0 ||
	    end_cookie(src) == -1 || end_written_exact(dst->fd, &sent) == -1 ||
	    end_bytes(src->fd, NULL, &rcvd) == -1)
		return;
	if (!dst->target) {
		key = val = (uint32_t)dst->fd;
		if (bpf_map_update_elem(km.fd[SOCKMAP_TARGETS], &key, &val,
		    BPF_ANY) != 0) {
			sockmap_broken("cannot add a socket to the map");
			return;
		}
		dst->target = 1;
	}
	memset(&in, 0, sizeof(in));
	in.peer = (uint32_t)dst->fd;
	in.token = (uint32_t)src->fd;
	if (bpf_map_update_elem(km.fd[SOCKMAP_INFO], &src->cookie, &in,
	    BPF_ANY) != 0) {
		sockmap_broken("cannot add a socket to the map");
		return;
	}
	f->k.sent0 = sent;
	f->k.rcvd0 = rcvd;
	f->k.bytes0 = f->bytes;
	f->k.seen = 0;
	f->k.attaches++;
	km.ends[src->fd] = src;
	key = val = (uint32_t)src->fd;
	if (bpf_map_update_elem(km.fd[km.refuse ? SOCKMAP_EVENTS :
	    SOCKMAP_SOURCES], &key, &val, BPF_ANY) != 0) {
		sockmap_broken("cannot add a socket to the map");
		return;
	}
	f->k.path = FLOW_KERNEL;
	log_debug("relay %llu: %s in the kernel", (unsigned long long)r->id,
	    f == &r->up ? "up" : "down");
	/*
	 * Bytes that came in before the program was attached wait for the
	 * next segment to push them through: take them back at once.
	 */
	if (end_queued(src->fd, &inq, &full) == -1 || inq > 0)
		take_back(r, f, *r->set->now_ms);
}

/* After the worker moved bytes: a direction that chats goes in. */
void
relay_sockmap_consider(struct relay *r)
{
	struct flow	*f, *flows[2] = { &r->up, &r->down };
	int		 i;

	if (!km.ready || km.broken || r->state != RELAY_ESTABLISHED)
		return;
	for (i = 0; i < 2; i++) {
		f = flows[i];
		if (f->k.path == FLOW_USER && !f->eof && !f->bulk &&
		    f->k.small_reads >= SOCKMAP_AFTER_READS &&
		    flow_pending(f) == 0 && f->k.attaches < SOCKMAP_TRIES)
			hand_over(r, f);
	}
}

enum progress { PROGRESS_ERROR = -1, PROGRESS_WAITING, PROGRESS_DRAINED,
    PROGRESS_LOST };

/*
 * How far f's kernel part got: its bytes counted into f->bytes, and
 * whether everything the program took is in the destination's send
 * queue (DRAINED), or not yet; for a direction out of the kernel, also
 * whether a segment vanished (LOST; see the top of this file).  Each
 * count is read so that a change between two reads errs towards
 * WAITING, never towards DRAINED or LOST.
 */
static enum progress
kernel_progress(struct relay *r, struct flow *f, uint64_t *waiting,
    uint64_t *lost)
{
	struct relay_end	*src = source_of(r, f), *dst = destination_of(r, f);
	uint64_t		 written, moved, rcvd, taken;
	size_t			 queued;
	int			 full;

	if (end_written(dst->fd, &written) == -1 ||
	    end_bytes(src->fd, NULL, &rcvd) == -1 ||
	    moved_of(src, &moved) == -1 ||
	    end_queued(src->fd, &queued, &full) == -1)
		return (PROGRESS_ERROR);
	written -= f->k.sent0;
	taken = rcvd - f->k.rcvd0;
	f->bytes = f->k.bytes0 + (written < moved ? written : moved);
	if (moved != f->k.seen) {
		f->k.seen = moved;
		r->active_ms = *r->set->now_ms;
	}
	*waiting = moved > written ? moved - written : 0;
	*lost = 0;
	if (moved > written || full)
		return (PROGRESS_WAITING);
	if (f->k.path == FLOW_DRAINING && taken > moved + queued) {
		*lost = taken - moved - queued;
		return (PROGRESS_LOST);
	}
	return (PROGRESS_DRAINED);
}

/*
 * Poll reported something on the source of a direction in the kernel.
 * -1 if the relay was closed.
 */
int
relay_sockmap_source_event(struct relay *r, struct flow *f, int revents)
{
	int	error;

	if (revents & POLLERR) {
		if ((error = end_error(source_of(r, f)->fd)) == 0)
			error = ECONNRESET;
		relay_close(r, relay_reason_of(error), 1);
		return (-1);
	}
	if (f->k.path != FLOW_KERNEL)
		return (0);
	/* The source ended; or, never expected, bytes were left for us. */
	if (revents & (POLLRDHUP | POLLHUP)) {
		f->eof = 1;
		drain_start(r, f, *r->set->now_ms);
	} else
		take_back(r, f, *r->set->now_ms);
	if (r->half_ms == 0 && f->eof)
		r->half_ms = *r->set->now_ms;
	relay_update_events(r);
	return (0);
}

/* A draining direction is back: with its FIN passed on, or to read. */
static void
drained(struct relay *r, struct flow *f)
{
	f->k.path = FLOW_USER;
	f->k.small_reads = 0;
	if (f->eof)
		flow_shut(f);
	log_debug("relay %llu: %s back in user space after %llu bytes%s",
	    (unsigned long long)r->id, f == &r->up ? "up" : "down",
	    (unsigned long long)(f->bytes - f->k.bytes0),
	    f->eof ? ", at its end" : "");
}

/* Look at the draining directions that are due. */
void
relay_sockmap_run(struct relay_set *rs, int64_t now)
{
	struct relay	*r, *next;
	struct flow	*f, *flows[2];
	uint64_t	 waiting, lost;
	int		 i, still, error;

	for (r = TAILQ_FIRST(&rs->draining); r != NULL; r = next) {
		next = TAILQ_NEXT(r, drain_entry);
		flows[0] = &r->up;
		flows[1] = &r->down;
		still = 0;
		for (i = 0; i < 2; i++) {
			f = flows[i];
			if (f->k.path != FLOW_DRAINING)
				continue;
			if (now < f->k.check_ms) {
				still = 1;
				continue;
			}
			switch (kernel_progress(r, f, &waiting, &lost)) {
			case PROGRESS_ERROR:
				relay_close(r, relay_reason_of(errno), 1);
				break;
			case PROGRESS_LOST:
				log_warnx("relay %llu: sockmap: the kernel lost %llu "
				    "bytes of the %s direction as it left the "
				    "kernel; both ends reset",
				    (unsigned long long)r->id,
				    (unsigned long long)lost, f == &r->up ? "up" :
				    "down");
				relay_close(r, REASON_ERROR, 1);
				break;
			case PROGRESS_WAITING:
				/* Its ends are not polled meanwhile: a reset? */
				if ((error = end_error(r->client.fd)) != 0 ||
				    (error = end_error(r->remote.fd)) != 0) {
					relay_close(r, relay_reason_of(error), 1);
					break;
				}
				if (f->k.backoff_ms < DRAIN_MAX_MS)
					f->k.backoff_ms *= 2;
				f->k.check_ms = now + f->k.backoff_ms;
				still = 1;
				continue;
			case PROGRESS_DRAINED:
				drained(r, f);
				continue;
			}
			break;	/* closed */
		}
		if (i < 2)
			continue;	/* closed */
		if (!still) {
			TAILQ_REMOVE(&rs->draining, r, drain_entry);
			r->draining = 0;
		}
		if (r->up.shut && r->down.shut) {
			relay_close(r, REASON_EOF, 0);
			continue;
		}
		relay_update_events(r);
	}
}

/* The poll timeout: a draining direction is looked at soon. */
int
relay_sockmap_timeout(const struct relay_set *rs, int64_t now, int timeout)
{
	const struct relay	*r;
	int64_t			 due = -1, left;

	TAILQ_FOREACH(r, &rs->draining, drain_entry) {
		if (r->up.k.path == FLOW_DRAINING &&
		    (due == -1 || r->up.k.check_ms < due))
			due = r->up.k.check_ms;
		if (r->down.k.path == FLOW_DRAINING &&
		    (due == -1 || r->down.k.check_ms < due))
			due = r->down.k.check_ms;
	}
	if (due == -1)
		return (timeout);
	left = due > now ? due - now : 0;
	return (timeout < 0 || left < timeout ? (int)left : timeout);
}

/*
 * A direction in the kernel: has it fallen behind its destination?
 * -1 if the relay was closed.
 */
static int
check_bound(struct relay *r, struct flow *f)
{
	uint64_t	waiting, lost;

	if (f->k.path != FLOW_KERNEL)
		return (0);
	if (kernel_progress(r, f, &waiting, &lost) == PROGRESS_ERROR) {
		relay_close(r, relay_reason_of(errno), 1);
		return (-1);
	}
	if (waiting > SOCKMAP_BOUND) {
		log_debug("relay %llu: %s: %llu bytes wait in the kernel; "
		    "taken back", (unsigned long long)r->id,
		    f == &r->up ? "up" : "down", (unsigned long long)waiting);
		take_back(r, f, *r->set->now_ms);
		relay_update_events(r);
	}
	return (0);
}

/*
 * A relay's timer is due: whether the kernel moved anything since (which
 * is activity), and its bounds while at it.  -1 if the relay was closed.
 */
int
relay_sockmap_sweep(struct relay *r)
{
	if (check_bound(r, &r->up) == -1)
		return (-1);
	return (check_bound(r, &r->down));
}

/* The bytes of the directions in the kernel, into their counts. */
void
relay_sockmap_sync(struct relay *r)
{
	struct flow	*f, *flows[2] = { &r->up, &r->down };
	uint64_t	 waiting, lost;
	int		 i;

	for (i = 0; i < 2; i++) {
		f = flows[i];
		if (f->k.path != FLOW_USER)
			(void)kernel_progress(r, f, &waiting, &lost);
	}
}

/* The relay ends: its sockets leave the maps as they are closed. */
void
relay_sockmap_forget(struct relay *r)
{
	struct relay_end	*ends[2] = { &r->client, &r->remote };
	int			 i;

	if (r->draining) {
		TAILQ_REMOVE(&r->set->draining, r, drain_entry);
		r->draining = 0;
	}
	if (!km.ready)
		return;
	for (i = 0; i < 2; i++) {
		if (ends[i]->cookie != 0)
			(void)bpf_map_delete_elem(km.fd[SOCKMAP_INFO],
			    &ends[i]->cookie);
		if (ends[i]->fd >= 0 && (uint32_t)ends[i]->fd < km.entries &&
		    km.ends[ends[i]->fd] == ends[i])
			km.ends[ends[i]->fd] = NULL;
	}
}

/*
 * The program's events: a source moved another 64 KB.  Only those there
 * when poll said so, at most EVENTS_BURST, and each direction looked at
 * once however many it raised: the kernel raises them faster than a slow
 * worker looks (six system calls each), and the loop must come round to
 * its other work, the master's heartbeat among it.  The ring buffer
 * stays readable while records wait, so poll comes back at once.
 */
#define EVENTS_BURST	256

static void
events_io(void *arg, int revents)
{
	struct sockmap_event	 ev;
	struct relay_end	*e;
	struct flow		*f;
	unsigned long		 cons, prod;
	uint32_t		 hdr, len;
	int			 n;

	(void)arg;
	(void)revents;
	km.events_round++;
	cons = __atomic_load_n(km.cons_pos, __ATOMIC_ACQUIRE);
	prod = __atomic_load_n(km.prod_pos, __ATOMIC_ACQUIRE);
	for (n = 0; cons < prod && n < EVENTS_BURST; n++) {
		hdr = __atomic_load_n((uint32_t *)(km.data +
		    (cons & (km.data_size - 1))), __ATOMIC_ACQUIRE);
		if (hdr & BPF_RINGBUF_BUSY_BIT)
			break;
		len = hdr & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT |
		    BPF_RINGBUF_DISCARD_BIT);
		if (!(hdr & BPF_RINGBUF_DISCARD_BIT) && len == sizeof(ev)) {
			memcpy(&ev, km.data + (cons & (km.data_size - 1)) +
			    BPF_RINGBUF_HDR_SZ, sizeof(ev));
			/* The descriptor may be closed since: then no one. */
			if (ev.token < km.entries &&
			    (e = km.ends[ev.token]) != NULL) {
				f = e == &e->relay->client ? &e->relay->up :
				    &e->relay->down;
				if (f->k.events_round != km.events_round) {
					f->k.events_round = km.events_round;
					(void)check_bound(e->relay, f);
				}
			}
		}
		cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
		__atomic_store_n(km.cons_pos, cons, __ATOMIC_RELEASE);
	}
}

static int
events_map(struct relay_set *rs)
{
	size_t	page = (size_t)sysconf(_SC_PAGESIZE);
	void	*p;

	km.data_size = SOCKMAP_EVENTS_SIZE;
	if ((p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED,
	    km.fd[SOCKMAP_EVENTS], 0)) == MAP_FAILED)
		return (-1);
	km.cons_pos = p;
	if ((p = mmap(NULL, page + 2 * km.data_size, PROT_READ, MAP_SHARED,
	    km.fd[SOCKMAP_EVENTS], (off_t)page)) == MAP_FAILED)
		return (-1);
	km.prod_pos = p;
	km.data = (unsigned char *)p + page;
	return (pollset_add(rs->ps, km.fd[SOCKMAP_EVENTS], POLLIN, events_io,
	    NULL, &km.events_slot));
}

/*
 * One of the maps, from the master (PROTO_SOCKMAP).  Once all are in,
 * the kernel path is on.  -1 if the message makes no sense.
 */
int
relay_sockmap_take(struct relay_set *rs, uint32_t which, uint32_t entries,
    int fd)
{
	if (which >= SOCKMAP_NMAPS || (km.have & (1 << which)) ||
	    entries == 0 || (km.entries != 0 && entries != km.entries)) {
		close(fd);
		return (-1);
	}
	km.fd[which] = fd;
	km.have |= 1 << which;
	km.entries = entries;
	if (km.have != (1 << SOCKMAP_NMAPS) - 1)
		return (0);
	if ((km.ends = calloc(entries, sizeof(*km.ends))) == NULL ||
	    events_map(rs) == -1) {
		sockmap_broken("cannot set up the kernel path");
		return (0);
	}
	km.ready = 1;
	log_debug("sockmap: in-kernel data path ready, %u sockets",
	    (unsigned)entries);
	return (0);
}

int
relay_sockmap_ready(void)
{
	return (km.ready && !km.broken);
}

/*
 * Test hook: sources are added through the ring buffer's descriptor,
 * whose every update the kernel refuses, as it would for a map that is
 * full or not what the worker thinks.
 */
void
relay_sockmap_test_refuse(void)
{
	km.refuse = 1;
}

#else	/* no kernel path */

int
relay_sockmap_take(struct relay_set *rs, uint32_t which, uint32_t entries,
    int fd)
{
	(void)rs;
	(void)which;
	(void)entries;
	close(fd);
	return (-1);
}

int
relay_sockmap_ready(void)
{
	return (0);
}

void
relay_sockmap_test_refuse(void)
{
}

void
relay_sockmap_consider(struct relay *r)
{
	(void)r;
}

int
relay_sockmap_source_event(struct relay *r, struct flow *f, int revents)
{
	(void)r;
	(void)f;
	(void)revents;
	return (0);
}

int
relay_sockmap_timeout(const struct relay_set *rs, int64_t now, int timeout)
{
	(void)rs;
	(void)now;
	return (timeout);
}

void
relay_sockmap_run(struct relay_set *rs, int64_t now)
{
	(void)rs;
	(void)now;
}

int
relay_sockmap_sweep(struct relay *r)
{
	(void)r;
	return (0);
}

void
relay_sockmap_sync(struct relay *r)
{
	(void)r;
}

void
relay_sockmap_forget(struct relay *r)
{
	(void)r;
}

#endif
