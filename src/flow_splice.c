/*
 * The splice(2) path of a flow (Linux): the bytes go from the source
 * socket into a pipe and from the pipe into the destination socket
 * without ever being copied to user space.  A pipe is held only while
 * bytes wait in it and is pooled otherwise.
 *
 * A pipe starts at the kernel's 64 KB (or -b, if larger).  One that a
 * single splice fills is carrying a bulk transfer and is grown to
 * 256 KB: a quarter of the splices, and larger sends on the far side.
 * Grown pipes count against the user's pipe-user-pages-soft (see
 * pipe(7)), so a worker grows at most PIPE_GROWN_MAX of them.
 */
#ifdef __linux__

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "flow_splice.h"
#include "log.h"

#define PIPE_DEFAULT_SZ	65536	/* a Linux pipe's capacity unless raised */
#define PIPE_BULK_SZ	262144	/* what a pipe that fills grows to */
#define PIPE_GROWN_MAX	32	/* grown pipes alive per worker, at most */

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

static void
pipe_close(int fds[2], size_t size)
{
	close(fds[0]);
	close(fds[1]);
	if (size > PIPE_DEFAULT_SZ)
		pipe_pool.grown--;
}

/* Keep at most max idle pipes: each holds two descriptors. */
void
flow_splice_pool_limit(size_t max)
{
	pipe_pool.max = max < FLOW_PIPE_POOL_MAX ? max : FLOW_PIPE_POOL_MAX;
}

/* Close every pooled pipe. */
void
flow_splice_trim(void)
{
	while (pipe_pool.n > 0) {
		struct pooled_pipe	*p = &pipe_pool.pipes[--pipe_pool.n];

		pipe_close(p->fds, p->size);
	}
}

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

/* Give back d's pipe: pooled when empty, closed when bytes remain. */
void
flow_splice_put(struct flow *d)
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

/*
 * Write what waits in d's pipe, and give the pipe back once it is empty.
 * Returns 1 when it is, 0 when 'to' would block, -1 (errno set) when
 * 'to' failed.
 */
int
flow_splice_flush(struct flow *d)
{
	ssize_t	n;

	while (d->inpipe > 0) {
		n = splice(d->pipe[0], NULL, *d->to, NULL, d->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1)
			return (flow_would_block() ? 0 : -1);
		d->inpipe -= (size_t)n;
		d->bytes += (uint64_t)n;
	}
	flow_splice_put(d);
	return (1);
}

/*
 * Move up to a pipe's capacity by splice.  Spliced bytes never enter
 * user memory and sit in kernel pages the socket buffers held a moment
 * before, so a splice moves a whole pipe even when -b is smaller.
 * Returns 1 when the pipe filled (more may wait), 0 when done (a short
 * move, or nothing to read), FLOW_SPLICE_EOF at EOF,
 * FLOW_SPLICE_NOT_DONE when the copy path must do it, -1 on a failed
 * end.
 */
int
flow_splice_forward(struct flow *d, size_t bufsize)
{
	ssize_t	n, m;
	int	filled;

	if (pipe_get(d, bufsize) == -1)
		return (FLOW_SPLICE_NOT_DONE);	/* out of descriptors */
	n = splice(*d->from, NULL, d->pipe[1], NULL, d->pipesz,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1) {
		int	saved = errno;

		flow_splice_put(d);
		errno = saved;
		if (flow_would_block())
			return (0);
		if (errno == EINVAL || errno == ENOSYS) {
			/* This kernel cannot splice sockets: stop trying. */
			log_debug("splice unavailable (%s), copying instead",
			    strerror(errno));
			flow_splice_enabled = 0;
			return (FLOW_SPLICE_NOT_DONE);
		}
		return (-1);
	}
	if (n == 0) {
		flow_splice_put(d);
		return (FLOW_SPLICE_EOF);
	}
	if ((filled = (size_t)n == d->pipesz))
		pipe_filled(d);
	m = splice(d->pipe[0], NULL, *d->to, NULL, (size_t)n,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (m == -1) {
		if (!flow_would_block()) {
			d->inpipe = (size_t)n;	/* so the pipe is not pooled */
			return (-1);
		}
		m = 0;
	}
	d->bytes += (uint64_t)m;
	d->inpipe = (size_t)(n - m);
	if (d->inpipe == 0)
		flow_splice_put(d);
	return (filled);
}

#endif
