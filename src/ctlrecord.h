/*
 * Replies of the control socket (see tcpproxyctl(8)): record, info and
 * final lines parsed into fields, and the escaping of values that both
 * the master and tcpproxyctl use.  No I/O here, so that the daemon and
 * the client link the same code.
 */
#ifndef TCPPROXY_CTLRECORD_H
#define TCPPROXY_CTLRECORD_H

#include <stddef.h>

#define CTL_REPLY_MAX	(64u << 20)	/* a whole reply */
#define CTL_LINE_MAX	8192		/* one reply line, its newline too */
#define CTL_FIELDS_MAX	64		/* key=value pairs in a record */
#define CTL_KEY_MAX	64		/* the length of a key or a kind */

enum ctl_type {
	CTL_RECORD,
	CTL_INFO,
	CTL_OK,
	CTL_ERROR,
};

struct ctl_field {
	const char	*key;
	const char	*value;		/* unescaped, never empty */
};

struct ctl_line {
	enum ctl_type		 type;
	const char		*kind;	/* CTL_RECORD */
	const char		*text;	/* the others; "" for a bare "ok" */
	struct ctl_field	*fields;
	size_t			 nfields;
};

/* A whole reply; every string points into buf. */
struct ctl_reply {
	char			*buf;
	struct ctl_line		*lines;
	size_t			 nlines;
	struct ctl_field	*fields;
	const struct ctl_line	*final;	/* the last line, OK or ERROR */
};

size_t	 ctl_escape(char *, size_t, const char *);
int	 ctl_reply_parse(const char *, size_t, struct ctl_reply *, char *,
	    size_t);
void	 ctl_reply_free(struct ctl_reply *);
const char *ctl_line_get(const struct ctl_line *, const char *);
int	 ctl_is_number(const char *);

#endif
