/*
 * Bytes flowing one way through a relay: read from one end, written to
 * the other, and what the destination would not take kept aside.
 *
 * Two ways to move them.  A read goes into the worker's scratch buffer
 * and is written on at once; only the rest is copied into a pooled
 * buffer of -b bytes.  With splice(2) (Linux, flow_splice.c) the bytes
 * go from one socket to the other through a pipe, never copied to user
 * space.  Every direction starts by copying, which for a small message
 * is one read and one write against two splices, and cheaper; the
 * first read of BULK_READ bytes (or a full -b, if smaller) shows a bulk
 * transfer, and that direction splices from then on (without splice,
 * or when no pipe can be had, it goes on copying).
 * A copy reads at most -b bytes, a splice up to its pipe's capacity;
 * either way a direction is not read again until what it holds has
 * been written, so a connection holds at most one read's worth per
 * direction, and an idle one holds nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "flow_splice.h"
#include "log.h"

#define BUF_POOL_MAX	64	/* idle copy buffers kept for reuse */
#define BULK_READ	16384	/* a copying read this large: splice on */

int	flow_splice_enabled = FLOW_HAVE_SPLICE;

/* The copy path reads into this first: as large as the largest -b. */
static unsigned char	*scratch;
static size_t		 scratch_size;

/* Free buffers of one size; a buffer of another size is freed. */
static struct {
	unsigned char	*bufs[BUF_POOL_MAX];
	size_t		 n;
	size_t		 size;
} buf_pool;

static unsigned char *
buf_get(size_t size)
{
	if (buf_pool.n > 0 && buf_pool.size == size)
		return (buf_pool.bufs[--buf_pool.n]);
	return (malloc(size));
}

static void
buf_put(unsigned char *buf, size_t size)
{
	if (buf_pool.size != size) {
		while (buf_pool.n > 0)
			free(buf_pool.bufs[--buf_pool.n]);
		buf_pool.size = size;
	}
	if (buf_pool.n < BUF_POOL_MAX)
		buf_pool.bufs[buf_pool.n++] = buf;
	else
		free(buf);
}

/* Make the scratch buffer hold a read of size bytes. */
int
flow_scratch_reserve(size_t size)
{
	unsigned char	*p;

	if (size <= scratch_size)
		return (0);
	if ((p = realloc(scratch, size)) == NULL)
		return (-1);
	scratch = p;
	scratch_size = size;
	return (0);
}

/* Keep at most max idle pipes: each holds two descriptors. */
void
flow_pool_limit(size_t max)
{
#if FLOW_HAVE_SPLICE
	flow_splice_pool_limit(max);
#else
	(void)max;
#endif
}

/* Drop everything pooled, e.g. after the buffer size changed. */
void
flow_trim(void)
{
	while (buf_pool.n > 0)
		free(buf_pool.bufs[--buf_pool.n]);
#if FLOW_HAVE_SPLICE
	flow_splice_trim();
#endif
}

void
flow_init(struct flow *d, const int *from, const int *to,
    const struct flow *reverse)
{
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->reverse = reverse;
	d->pipe[0] = d->pipe[1] = -1;
}

size_t
flow_pending(const struct flow *d)
{
	return (d->len + d->inpipe);
}

/* The relay is over: free what d holds. */
void
flow_release(struct flow *d, size_t bufsize)
{
	if (d->buf != NULL)
		buf_put(d->buf, bufsize);
	d->buf = NULL;
	d->len = 0;
#if FLOW_HAVE_SPLICE
	flow_splice_put(d);
#endif
}

/*
 * The source said EOF and nothing waits: pass it on.  When the other way
 * is already over, the relay closes both ends right after this, and the
 * close sends the FIN (nothing is left unread on 'to': it said EOF).
 */
void
flow_shut(struct flow *d)
{
	d->shut = 1;
	if (d->reverse->shut)
		return;
	if (shutdown(*d->to, SHUT_WR) == -1 && errno != ENOTCONN)
		log_debug("shutdown: %s", strerror(errno));
}

/* The call failed for now only: try again once polled. */
int
flow_would_block(void)
{
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* Write what waits in d.  Returns -1 (errno set) when 'to' failed. */
int
flow_flush(struct flow *d, size_t bufsize)
{
	ssize_t	n;

#if FLOW_HAVE_SPLICE
	int	rc;

	if ((rc = flow_splice_flush(d)) != 1)
		return (rc);
#endif
	while (d->len > 0) {
		n = send(*d->to, d->buf + d->off, d->len, MSG_NOSIGNAL);
		if (n == -1)
			return (flow_would_block() ? 0 : -1);
		d->off += (size_t)n;
		d->len -= (size_t)n;
		d->bytes += (uint64_t)n;
	}
	if (d->buf != NULL) {
		buf_put(d->buf, bufsize);
		d->buf = NULL;
		d->off = 0;
	}
	if (d->eof && !d->shut)
		flow_shut(d);
	return (0);
}

/*
 * One read from d's source, written on at once; what the destination
 * does not take waits in d.  Returns 1 when the read moved all it could
 * (the source may hold more), 0 when it did not, -1 with errno set when
 * either end failed.
 */
int
flow_forward(struct flow *d, size_t bufsize)
{
	ssize_t	n, sent;

#if FLOW_HAVE_SPLICE
	if (flow_splice_enabled && d->bulk) {
		int	rc = flow_splice_forward(d, bufsize);

		if (rc == FLOW_SPLICE_EOF) {
			d->eof = 1;
			flow_shut(d);
			return (0);
		}
		if (rc != FLOW_SPLICE_NOT_DONE)
			return (rc);
	}
#endif
	n = recv(*d->from, scratch, bufsize, 0);
	if (n == -1)
		return (flow_would_block() ? 0 : -1);
	if (n == 0) {
		d->eof = 1;
		flow_shut(d);
		return (0);
	}
	sent = send(*d->to, scratch, (size_t)n, MSG_NOSIGNAL);
	if (sent == -1) {
		if (!flow_would_block())
			return (-1);
		sent = 0;
	}
	d->bytes += (uint64_t)sent;
	if (sent < n) {
		if ((d->buf = buf_get(bufsize)) == NULL) {
			errno = ENOMEM;
			return (-1);
		}
		d->off = 0;
		d->len = (size_t)(n - sent);
		memcpy(d->buf, scratch + sent, d->len);
	}
	if ((size_t)n >= (bufsize < BULK_READ ? bufsize : BULK_READ))
		d->bulk = 1;
	return ((size_t)n == bufsize);
}
