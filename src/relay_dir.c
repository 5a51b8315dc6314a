/*
 * Bytes flowing one way through a relay: read from one end, written to
 * the other, and what the destination would not take kept aside.
 *
 * Two ways to move them.  With splice(2) (Linux) the bytes go from the
 * source socket into a pipe and from the pipe into the destination
 * socket without ever being copied to user space; a pipe is held only
 * while bytes wait in it and is pooled otherwise.  Without splice, or
 * when no pipe can be had, a read goes into the worker's scratch buffer
 * and is written on at once; only the rest is copied into a pooled
 * buffer of -b bytes.  A copy reads at most -b bytes, a splice up to a
 * pipe's capacity (relay_dir_chunk); either way a direction is not read
 * again until what it holds has been written, so a connection holds at
 * most one read's worth per direction, and an idle one holds nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relay.h"

#define BUF_POOL_MAX	64	/* idle copy buffers kept for reuse */
#define PIPE_DEFAULT_SZ	65536	/* a Linux pipe's capacity unless raised */

#ifdef __linux__
int	relay_splice = 1;
#else
int	relay_splice = 0;
#endif

/* Free buffers of one size; a buffer of another size is freed. */
static struct {
	unsigned char	*bufs[BUF_POOL_MAX];
	size_t		 n;
	size_t		 size;
} buf_pool;

static struct {
	int		 fds[RELAY_PIPE_POOL_MAX][2];
	size_t		 n;
	size_t		 max;		/* fits the descriptor limit */
} pipe_pool = { .max = RELAY_PIPE_POOL_MAX };

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

/* Keep at most max idle pipes: each holds two descriptors. */
void
relay_dir_pool_limit(size_t max)
{
	pipe_pool.max = max < RELAY_PIPE_POOL_MAX ? max : RELAY_PIPE_POOL_MAX;
}

/* Drop everything pooled, e.g. after the buffer size changed. */
void
relay_dir_trim(void)
{
	while (buf_pool.n > 0)
		free(buf_pool.bufs[--buf_pool.n]);
	while (pipe_pool.n > 0) {
		pipe_pool.n--;
		close(pipe_pool.fds[pipe_pool.n][0]);
		close(pipe_pool.fds[pipe_pool.n][1]);
	}
}

#ifdef __linux__
static int
pipe_get(struct relay_dir *d, size_t bufsize)
{
	if (pipe_pool.n > 0) {
		pipe_pool.n--;
		d->pipe[0] = pipe_pool.fds[pipe_pool.n][0];
		d->pipe[1] = pipe_pool.fds[pipe_pool.n][1];
	} else if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		return (-1);
	}
	/* A larger -b needs a larger pipe to move a full read at once. */
	if (bufsize > PIPE_DEFAULT_SZ)
		fcntl(d->pipe[1], F_SETPIPE_SZ, (int)bufsize);
	return (0);
}
#endif

/* Give back d's pipe: pooled when empty, closed when bytes remain. */
static void
pipe_put(struct relay_dir *d)
{
	if (d->pipe[0] == -1)
		return;
	if (d->inpipe == 0 && pipe_pool.n < pipe_pool.max) {
		pipe_pool.fds[pipe_pool.n][0] = d->pipe[0];
		pipe_pool.fds[pipe_pool.n][1] = d->pipe[1];
		pipe_pool.n++;
	} else {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	d->pipe[0] = d->pipe[1] = -1;
	d->inpipe = 0;
}

void
relay_dir_init(struct relay_dir *d, struct relay_end *from,
    struct relay_end *to, const struct relay_dir *reverse)
{
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->reverse = reverse;
	d->pipe[0] = d->pipe[1] = -1;
}

/*
 * The most one forward moves.  Spliced bytes never enter user memory and
 * sit in kernel pages the socket buffers held a moment before, so a
 * splice moves up to a whole pipe even when -b is smaller: a megabyte
 * costs 16 pairs of splices instead of 100.
 */
size_t
relay_dir_chunk(size_t bufsize)
{
	if (relay_splice && bufsize < PIPE_DEFAULT_SZ)
		return (PIPE_DEFAULT_SZ);
	return (bufsize);
}

size_t
relay_dir_pending(const struct relay_dir *d)
{
	return (d->len + d->inpipe);
}

/* The relay is over: free what d holds. */
void
relay_dir_release(struct relay_dir *d, size_t bufsize)
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
dir_shut(struct relay_dir *d)
{
	d->shut = 1;
	if (d->reverse->shut)
		return;
	if (shutdown(d->to->fd, SHUT_WR) == -1 && errno != ENOTCONN)
		log_debug("shutdown: %s", strerror(errno));
}

static int
would_block(void)
{
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* Write what waits in d.  Returns -1 (errno set) when 'to' failed. */
int
relay_dir_flush(struct relay_dir *d, size_t bufsize)
{
	ssize_t	n;

#ifdef __linux__
	while (d->inpipe > 0) {
		n = splice(d->pipe[0], NULL, d->to->fd, NULL, d->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1)
			return (would_block() ? 0 : -1);
		d->inpipe -= (size_t)n;
		d->bytes += (uint64_t)n;
	}
	pipe_put(d);
#endif
	while (d->len > 0) {
		n = send(d->to->fd, d->buf + d->off, d->len, MSG_NOSIGNAL);
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
		dir_shut(d);
	return (0);
}

#ifdef __linux__
/*
 * Move up to bufsize bytes by splice.  Returns 1 when done (bytes moved,
 * EOF seen, or nothing to read), 0 when the copy path must do it, -1 on
 * a failed end.
 */
static int
dir_splice(struct relay_dir *d, size_t bufsize)
{
	ssize_t	n, m;

	if (pipe_get(d, bufsize) == -1)
		return (0);		/* out of descriptors: copy instead */
	n = splice(d->from->fd, NULL, d->pipe[1], NULL,
	    relay_dir_chunk(bufsize), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1) {
		int	saved = errno;

		pipe_put(d);
		errno = saved;
		if (would_block())
			return (1);
		if (errno == EINVAL || errno == ENOSYS) {
			/* This kernel cannot splice sockets: stop trying. */
			log_debug("splice unavailable (%s), copying instead",
			    strerror(errno));
			relay_splice = 0;
			return (0);
		}
		return (-1);
	}
	if (n == 0) {
		pipe_put(d);
		d->eof = 1;
		dir_shut(d);
		return (1);
	}
	m = splice(d->pipe[0], NULL, d->to->fd, NULL, (size_t)n,
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
	return (1);
}
#endif

/*
 * One read of up to bufsize bytes from d's source, written on at once;
 * what the destination does not take waits in d.  Returns -1 with errno
 * set when either end failed.
 */
int
relay_dir_forward(struct relay_dir *d, size_t bufsize, unsigned char *scratch)
{
	ssize_t	n, sent;

#ifdef __linux__
	if (relay_splice) {
		int	rc = dir_splice(d, bufsize);

		if (rc != 0)
			return (rc == 1 ? 0 : -1);
	}
#endif
	n = recv(d->from->fd, scratch, bufsize, 0);
	if (n == -1)
		return (would_block() ? 0 : -1);
	if (n == 0) {
		d->eof = 1;
		dir_shut(d);
		return (0);
	}
	sent = send(d->to->fd, scratch, (size_t)n, MSG_NOSIGNAL);
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
	return (0);
}
