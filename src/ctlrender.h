/*
 * A parsed control reply (ctlrecord.h) as aligned text tables, as JSON
 * or as Prometheus text; see tcpproxyctl(8).  Everything is rendered
 * into a buffer, not to a file, so that the metrics process can serve
 * it too.
 */
#ifndef TCPPROXY_CTLRENDER_H
#define TCPPROXY_CTLRENDER_H

#include <stddef.h>

struct ctl_reply;

/*
 * Zeroed before first use; data is NUL terminated once anything was
 * rendered, and is the caller's to free(3), also after a failure.
 */
struct ctlrender_buf {
	char	*data;
	size_t	 len, size;
};

int	ctlrender_text(const struct ctl_reply *, struct ctlrender_buf *);
int	ctlrender_json(const struct ctl_reply *, const char *const *,
	    struct ctlrender_buf *);
int	ctlrender_metrics(const struct ctl_reply *, struct ctlrender_buf *);
int	ctlrender_prometheus(const char *, size_t, struct ctlrender_buf *);

#endif
