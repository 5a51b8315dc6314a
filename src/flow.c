/*
 * Bytes flowing one way through a relay: read from one end, written to
 * the other, and what the destination would not take kept aside.
 *
 * Two ways to move them.  A read goes into the worker's scratch buffer
 * and is written on at once; only the rest is copied into a pooled
 * buffer of -b bytes.  With splice(2) (Linux) the bytes go from the
 * source socket into a pipe and from the pipe into the destination
 * socket without ever being copied to user space; a pipe is held only
 * while bytes wait in it and is pooled otherwise.  Every direction
 * starts by copying, which for a small message is one read and one
 * write against two splices, and cheaper; the first read of BULK_READ
 * bytes (or a full -b, if smaller) shows a bulk transfer, and that
 * direction splices from then on (without splice, or when no pipe can
 * be had, it goes on copying).
 * A copy reads at most -b bytes, a splice up to its pipe's capacity;
 * either way a direction is not read again until what it holds has
 * been written, so a connection holds at most one read's worth per
 * direction, and an idle one holds nothing.
 *
 * A pipe starts at the kernel's 64 KB (or -b, if larger).  One that a
 * single splice fills is carrying a bulk transfer and is grown to
 * 256 KB: a quarter of the splices, and larger sends on the far side.
 * Grown pipes count against the user's pipe-user-pages-soft (see
 * pipe(7)), so a worker grows at most PIPE_GROWN_MAX of them.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "flow.h"

#define BUF_POOL_MAX	64	/* idle copy buffers kept for reuse */
#define PIPE_DEFAULT_SZ	65536	/* a Linux pipe's capacity unless raised */
#define PIPE_BULK_SZ	262144	/* what a pipe that fills grows to */
#define PIPE_GROWN_MAX	32	/* grown pipes alive per worker, at most */
#define SPLICE_NOT_DONE	2	/* dir_splice: the copy path must move it */
#define BULK_READ	16384	/* a copying read this large: splice on */

#ifdef __linux__
int	flow_splice = 1;
#else
int	flow_splice = 0;
#endif

/* The copy path reads into this first: as large as the largest -b. */
static unsigned char	*scratch;
static size_t		 scratch_size;

/* Free buffers of one size; a buffer of another size is freed. */
static struct {
	unsigned char	*bufs[BUF_POOL_MAX];
	size_t		 n;
	size_t		 size;
} buf_pool;

struct pooled_pipe {
	int		 fds[2];
	size_t		 size;
};

static struct {
	struct pooled_pipe pipes[FLOW_PIPE_POOL_MAX];
	size_t		 n;
	size_t		 max;		/* fits the descriptor limit */
	size_t		 grown;		/* alive, held or pooled, > 64 KB */
} pipe_pool = { .max = FLOW_PIPE_POOL_MAX };

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

static void
pipe_close(int fds[2], size_t size)
{
	close(fds[0]);
	close(fds[1]);
	if (size > PIPE_DEFAULT_SZ)
		pipe_pool.grown--;
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
	pipe_pool.max = max < FLOW_PIPE_POOL_MAX ? max : FLOW_PIPE_POOL_MAX;
}

/* Drop everything pooled, e.g. after the buffer size changed. */
void
flow_trim(void)
{
	while (buf_pool.n > 0)
		free(buf_pool.bufs[--buf_pool.n]);
	while (pipe_pool.n > 0) {
		struct pooled_pipe	*p = &pipe_pool.pipes[--pipe_pool.n];

		pipe_close(p->fds, p->size);
	}
}

#ifdef __linux__
/* Make d's pipe hold size bytes.  Returns -1 when the kernel says no. */
static int
pipe_grow(struct flow *d, size_t size)
{
	int	got;

	if ((got = fcntl(d->pipe[1], F_SETPIPE_SZ, (int)size)) == -1)
		return (-1);
	if (d->pipesz <= PIPE_DEFAULT_SZ && (size_t)got > PIPE_DEFAULT_SZ)
		pipe_pool.grown++;
	d->pipesz = (size_t)got;
	return (0);
}

static int
pipe_get(struct flow *d, size_t bufsize)
{
	if (pipe_pool.n > 0) {
		struct pooled_pipe	*p = &pipe_pool.pipes[--pipe_pool.n];

		d->pipe[0] = p->fds[0];
		d->pipe[1] = p->fds[1];
		d->pipesz = p->size;
	} else {
		int	size;

		if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
			d->pipe[0] = d->pipe[1] = -1;
			return (-1);
		}
		/* Past pipe-user-pages-soft a new pipe gets two pages. */
		size = fcntl(d->pipe[1], F_GETPIPE_SZ);
		d->pipesz = size > 0 ? (size_t)size : PIPE_DEFAULT_SZ;
	}
	/* A larger -b needs a larger pipe to move a full read at once. */
	if (bufsize > d->pipesz)
		(void)pipe_grow(d, bufsize);
	return (0);
}

/*
 * A splice filled d's pipe: the source has more than a pipe's worth
 * waiting.  Grow the pipe, unless the worker holds enough grown ones or
 * the kernel refused this relay before (EPERM past the user's
 * pipe-user-pages-soft): then it stays as it is.
 */
static void
pipe_filled(struct flow *d)
{
	if (d->pipesz >= PIPE_BULK_SZ || d->nogrow ||
	    pipe_pool.grown >= PIPE_GROWN_MAX)
		return;
	if (pipe_grow(d, PIPE_BULK_SZ) == -1) {
		log_debug("cannot grow a pipe: %s", strerror(errno));
		d->nogrow = 1;
	}
}
#endif

/* Give back d's pipe: pooled when empty, closed when bytes remain. */
static void
pipe_put(struct flow *d)
{
	if (d->pipe[0] == -1)
		return;
	if (d->inpipe == 0 && pipe_pool.n < pipe_pool.max) {
		struct pooled_pipe	*p = &pipe_pool.pipes[pipe_pool.n++];

		p->fds[0] = d->pipe[0];
		p->fds[1] = d->pipe[1];
		p->size = d->pipesz;
	} else
		pipe_close(d->pipe, d->pipesz);
	d->pipe[0] = d->pipe[1] = -1;
	d->pipesz = 0;
	d->inpipe = 0;
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
	pipe_put(d);
}

/*
 * The source said EOF and nothing waits: pass it on.  When the other way
 * is already over, the relay closes both ends right after this, and the
 * close sends the FIN (nothing is left unread on 'to': it said EOF).
 */
static void
flow_shut(struct flow *d)
{
	d->shut = 1;
	if (d->reverse->shut)
		return;
	if (shutdown(*d->to, SHUT_WR) == -1 && errno != ENOTCONN)
		log_debug("shutdown: %s", strerror(errno));
}

static int
would_block(void)
{
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* Write what waits in d.  Returns -1 (errno set) when 'to' failed. */
int
flow_flush(struct flow *d, size_t bufsize)
{
	ssize_t	n;

#ifdef __linux__
	while (d->inpipe > 0) {
		n = splice(d->pipe[0], NULL, *d->to, NULL, d->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1)
			return (would_block() ? 0 : -1);
		d->inpipe -= (size_t)n;
		d->bytes += (uint64_t)n;
	}
	pipe_put(d);
#endif
	while (d->len > 0) {
		n = send(*d->to, d->buf + d->off, d->len, MSG_NOSIGNAL);
		if (n == -1)
			return (would_block() ? 0 : -1);
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

#ifdef __linux__
/*
 * Move up to a pipe's capacity by splice.  Spliced bytes never enter
 * user memory and sit in kernel pages the socket buffers held a moment
 * before, so a splice moves a whole pipe even when -b is smaller.
 * Returns 1 when the pipe filled (more may wait), 0 when done (a short
 * move, EOF, or nothing to read), SPLICE_NOT_DONE when the copy path
 * must do it, -1 on a failed end.
 */
static int
dir_splice(struct flow *d, size_t bufsize)
{
	ssize_t	n, m;
	int	filled;

	if (pipe_get(d, bufsize) == -1)
		return (SPLICE_NOT_DONE);	/* out of descriptors */
	n = splice(*d->from, NULL, d->pipe[1], NULL, d->pipesz,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1) {
		int	saved = errno;

		pipe_put(d);
		errno = saved;
		if (would_block())
			return (0);
		if (errno == EINVAL || errno == ENOSYS) {
			/* This kernel cannot splice sockets: stop trying. */
			log_debug("splice unavailable (%s), copying instead",
			    strerror(errno));
			flow_splice = 0;
			return (SPLICE_NOT_DONE);
		}
		return (-1);
	}
	if (n == 0) {
		pipe_put(d);
		d->eof = 1;
		flow_shut(d);
		return (0);
	}
	if ((filled = (size_t)n == d->pipesz))
		pipe_filled(d);
	m = splice(d->pipe[0], NULL, *d->to, NULL, (size_t)n,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (m == -1) {
		if (!would_block()) {
			d->inpipe = (size_t)n;	/* so the pipe is not pooled */
			return (-1);
		}
		m = 0;
	}
	d->bytes += (uint64_t)m;
	d->inpipe = (size_t)(n - m);
	if (d->inpipe == 0)
		pipe_put(d);
	return (filled);
}
#endif

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

#ifdef __linux__
	if (flow_splice && d->bulk) {
		int	rc = dir_splice(d, bufsize);

		if (rc != SPLICE_NOT_DONE)
			return (rc);
	}
#endif
	n = recv(*d->from, scratch, bufsize, 0);
	if (n == -1)
		return (would_block() ? 0 : -1);
	if (n == 0) {
		d->eof = 1;
		flow_shut(d);
		return (0);
	}
	sent = send(*d->to, scratch, (size_t)n, MSG_NOSIGNAL);
	if (sent == -1) {
		if (!would_block())
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
