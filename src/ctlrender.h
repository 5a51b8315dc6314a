/*
 * A control socket reply rendered for people (aligned tables), for
 * programs (JSON) and for Prometheus (text exposition format 0.0.4).
 * Into a growing buffer, no I/O: tcpproxyctl prints it, the metrics
 * process serves it.
 */
#ifndef TCPPROXY_CTLRENDER_H
#define TCPPROXY_CTLRENDER_H

#include <stddef.h>

struct ctlreply;

struct ctlrender_buf {
	char	*data;		/* NUL-terminated */
	size_t	 len;
	size_t	 size;
	int	 failed;	/* out of memory: data is not to be used */
};

void	ctlrender_text(const struct ctlreply *, struct ctlrender_buf *);
void	ctlrender_json(const struct ctlreply *, struct ctlrender_buf *);
void	ctlrender_metrics(const struct ctlreply *, struct ctlrender_buf *);
int	ctlrender_prometheus(const char *, size_t, struct ctlrender_buf *);

#endif
