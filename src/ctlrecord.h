/*
 * A control socket reply as data: its record lines ("record KIND k=v
 * ..."), its info lines and its final ok/error line; see tcpproxyctl(8).
 * Parsing only, no I/O: tcpproxyctl and the metrics process share it.
 */
#ifndef TCPPROXY_CTLRECORD_H
#define TCPPROXY_CTLRECORD_H

#include <stddef.h>

#define CTLRECORD_FIELDS_MAX	32
#define CTLRECORD_LINE_MAX	4096

struct ctlrecord {
	char		*kind;
	size_t		 nfields;
	char		*key[CTLRECORD_FIELDS_MAX];
	char		*value[CTLRECORD_FIELDS_MAX];	/* unescaped */
};

struct ctlreply {
	char		 *buf;		/* every string below points here */
	struct ctlrecord *records;
	size_t		  nrecords;
	char		**info;
	size_t		  ninfo;
	int		  complete;	/* the final line came */
	int		  ok;
	char		 *message;	/* the final line's text, or NULL */
};

int		 ctlreply_parse(const char *, size_t, struct ctlreply *,
		    char *, size_t);
void		 ctlreply_free(struct ctlreply *);
const char	*ctlrecord_get(const struct ctlrecord *, const char *);
size_t		 ctl_escape(const char *, char *, size_t);

#endif
