/*
 * A flow: the bytes moving one way through a relay, from one end's
 * socket to the other's; see flow.c.
 */
#ifndef TCPPROXY_FLOW_H
#define TCPPROXY_FLOW_H

#include <stddef.h>
#include <stdint.h>

/*
 * Where a direction's bytes move: through the worker, or in the kernel
 * (relay_sockmap.c), or still in the kernel on the way back.
 */
enum flow_path { FLOW_USER, FLOW_KERNEL, FLOW_DRAINING };

struct flow_kernel {
	enum flow_path	  path;
	unsigned	  small_reads;	/* in a row, through the worker */
	unsigned	  attaches;	/* times handed to the kernel */
	uint64_t	  bytes0;	/* bytes, when handed */
	uint64_t	  sent0;	/* all ever written to 'to', then */
	uint64_t	  rcvd0;	/* all ever received on 'from', then */
	uint64_t	  seen;		/* the kernel's count, last looked at */
	int64_t		  check_ms;	/* draining: look again then */
	int		  backoff_ms;
	uint32_t	  events_round;	/* events_io's, that last looked */
};

struct flow {
	const int	 *from;		/* the ends' descriptors, which the */
	const int	 *to;		/* relay sets while it connects */
	unsigned char	 *buf;		/* copy path: NULL while nothing waits */
	size_t		  off;
	size_t		  len;
	int		  pipe[2];	/* splice path: -1 while nothing waits */
	size_t		  pipesz;	/* its capacity */
	size_t		  inpipe;
	int		  nogrow;	/* the kernel would not grow a pipe */
	int		  bulk;		/* a large read was seen: splice on */
	uint64_t	  bytes;	/* delivered to 'to' */
	int		  eof;		/* read 0 from 'from' */
	int		  shut;		/* 'to' was told EOF */
	const struct flow *reverse;	/* the other way: 'to' to 'from' */
	struct flow_kernel k;
};

#define FLOW_PIPE_POOL_MAX	64	/* idle, empty pipes kept for reuse */

extern int	flow_splice_enabled;

void	flow_init(struct flow *, const int *, const int *,
	    const struct flow *);
size_t	flow_pending(const struct flow *);
int	flow_forward(struct flow *, size_t);
int	flow_flush(struct flow *, size_t);
void	flow_shut(struct flow *);
void	flow_release(struct flow *, size_t);
int	flow_scratch_reserve(size_t);
void	flow_trim(void);
void	flow_pool_limit(size_t);

#endif
