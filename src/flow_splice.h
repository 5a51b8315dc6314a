/*
 * The splice(2) path of a flow (Linux), for flow.c only.
 */
#ifndef TCPPROXY_FLOW_SPLICE_H
#define TCPPROXY_FLOW_SPLICE_H

/* flow.c's: whether a failed read or write only has to wait. */
int	flow_would_block(void);

#ifdef __linux__
#define FLOW_HAVE_SPLICE	1

#include <stddef.h>

#include "flow.h"

/* flow_splice_forward(), besides 1, 0 and -1: */
#define FLOW_SPLICE_NOT_DONE	2	/* the copy path must move it */
#define FLOW_SPLICE_EOF		3	/* the source said EOF */

int	flow_splice_forward(struct flow *, size_t);
int	flow_splice_flush(struct flow *);
void	flow_splice_put(struct flow *);
void	flow_splice_trim(void);
void	flow_splice_pool_limit(size_t);
#else
#define FLOW_HAVE_SPLICE	0
#endif

#endif
