/*
 * Configuration: the listen stanzas, from the config file or from the
 * command line, and their resolution into addresses.
 */
#ifndef TCPPROXY_CONF_H
#define TCPPROXY_CONF_H

#include <sys/queue.h>
#include <stddef.h>

#include "addr.h"

#define CONF_BUFSIZE_DEFAULT	10240
#define CONF_BUFSIZE_MAX	(64 * 1024 * 1024)
#define CONF_FILE_MAX		(1024 * 1024)

/* Where a token came from: file:line:col, or an option such as "-r". */
struct conf_pos {
	const char	*where;
	int		 line;
	int		 col;
};

struct conf_value {
	char		*str;		/* NULL: not given */
	struct conf_pos	 pos;
};

struct conf_stanza {
	TAILQ_ENTRY(conf_stanza) entry;
	struct conf_pos		 pos;		/* of "listen" */
	struct conf_value	 local_host;	/* NULL or "*": any */
	struct conf_value	 local_port;
	struct conf_value	 local_family;
	struct conf_value	 remote_host;
	struct conf_value	 remote_port;
	struct conf_value	 remote_family;
	struct conf_value	 source_host;
	struct conf_value	 buffer_size;

	/* Filled in by conf_resolve(). */
	struct addr_list	 locals;
	struct addr_list	 remotes;	/* only families a source fits */
	struct addr		 source4;	/* family 0: none */
	struct addr		 source6;
	size_t			 bufsize;
};

TAILQ_HEAD(conf_stanzas, conf_stanza);

struct conf {
	char			*path;		/* NULL: from the command line */
	struct conf_stanzas	 stanzas;
	size_t			 bufsize;	/* -b, the global default */
	int			 nerrors;
};

typedef void (*conf_report_fn)(const char *);

void	conf_init(struct conf *, size_t);
void	conf_free(struct conf *);
void	conf_set_report(conf_report_fn);
void	conf_error(struct conf *, const struct conf_pos *, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
int	conf_parse_size(const char *, size_t *);
int	conf_parse_file(struct conf *, const char *);
struct conf_stanza *conf_stanza_new(struct conf *, const struct conf_pos *);
int	conf_value_set(struct conf_value *, const char *,
	    const struct conf_pos *);
int	conf_resolve(struct conf *);

#endif
