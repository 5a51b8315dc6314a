/*
 * Configuration: the listen stanzas, from the config file or from the
 * command line, and their resolution into addresses.
 */
#ifndef TCPPROXY_CONF_H
#define TCPPROXY_CONF_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "addr.h"
#include "proxyhdr.h"
#include "upstream.h"

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

struct conf_acl {
	struct conf_value	 value;		/* "10.0.0.0/8" */
	int			 allow;
};

/*
 * Limits and policy: per stanza, with defaults from the command line
 * and allow/deny rules from the top of the file.
 */
struct conf_policy {
	struct conf_value	 connect_timeout;
	struct conf_value	 idle_timeout;
	struct conf_value	 fin_timeout;
	struct conf_value	 keepalive;
	struct conf_value	 max_connections;
	struct conf_value	 max_per_source;
	struct conf_value	 source_prefix;	/* of max-per-source, IPv6 */
	struct conf_value	 proxy_protocol;
	struct conf_acl		 acl[ACL_MAX];
	size_t			 nacl;
	struct conf_value	 accept_proxy;
	struct conf_value	 proxy_header_timeout;
	struct conf_value	 down_after;
	struct conf_value	 down_for;
	struct conf_value	 resolve_interval;
	struct conf_value	 trusted[PROXYHDR_TRUSTED_MAX];
	size_t			 ntrusted;	/* a stanza's own replace these */
};

/* What a conf_policy resolves to. */
struct conf_limits {
	uint32_t		 connect_timeout_ms;
	uint32_t		 idle_timeout_ms;
	uint32_t		 fin_timeout_ms;
	uint32_t		 keepalive;
	uint32_t		 max_connections;
	uint32_t		 max_per_source;
	uint8_t			 source_prefix6;
	uint8_t			 proxy_protocol;
	uint8_t			 nacl;
	struct acl_rule		 acl[ACL_MAX];
	uint8_t			 accept_proxy;	/* PROXYHDR_V1, _V2 bits */
	uint8_t			 ntrusted;
	uint32_t		 proxy_header_timeout_ms;
	struct acl_rule		 trusted[PROXYHDR_TRUSTED_MAX];
	uint32_t		 down_after;
	uint32_t		 down_for_ms;
	uint32_t		 resolve_interval_ms;	/* 0: never again */
};

#define CONF_CONNECT_TIMEOUT_MS	10000
#define CONF_FIN_TIMEOUT_MS	60000
#define CONF_SOURCE_PREFIX6	64
#define CONF_PROXY_HEADER_TIMEOUT_MS 5000

#define CONF_SERVERS_MAX	8	/* server: lines per stanza */
#define CONF_BACKUPS_MAX	8	/* backup: lines per stanza */
#define CONF_DOWN_AFTER		3	/* failed connects in a row */
#define CONF_DOWN_FOR_MS	30000

/* A server: or backup: line. */
struct conf_backend {
	struct conf_value	 host;
	struct conf_value	 port;
	struct conf_value	 weight;	/* server: only */
	unsigned short		 portnum;	/* resolved */
	unsigned int		 weightnum;
};

/* Every address to connect to, grouped; see struct proto_listener. */
struct conf_upstream {
	size_t			 n;
	struct addr		 a[REMOTES_MAX];
	uint8_t			 group[REMOTES_MAX];
	uint8_t			 ngroups;
	uint8_t			 nbalanced;
	uint8_t			 balance;
	uint8_t			 weight[GROUPS_MAX];
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
	struct conf_backend	 servers[CONF_SERVERS_MAX];
	size_t			 nservers;
	struct conf_backend	 backups[CONF_BACKUPS_MAX];
	size_t			 nbackups;
	struct conf_value	 balance;
	struct conf_policy	 policy;

	/* Filled in by conf_resolve(). */
	struct addr_list	 locals;
	struct addr_list	 remotes;	/* only families a source fits */
	struct conf_upstream	 up;		/* remotes, servers, backups */
	unsigned short		 remote_portnum;
	int			 rfamily;	/* of remote-resolv */
	uint8_t			 balancenum;	/* BALANCE_* */
	int64_t			 next_resolve_ms; /* master_resolve.c's */
	struct addr		 source4;	/* family 0: none */
	struct addr		 source6;
	size_t			 bufsize;
	struct conf_limits	 limits;
};

TAILQ_HEAD(conf_stanzas, conf_stanza);

struct conf {
	char			*path;		/* NULL: from the command line */
	struct conf_stanzas	 stanzas;
	size_t			 bufsize;	/* -b, the global default */
	struct conf_policy	 global;	/* command line, file top */
	struct conf_value	 shutdown_timeout;	/* file top only */
	int64_t			 shutdown_timeout_ms;	/* -1: not set */
	struct conf_value	 metrics_host;		/* file top only */
	struct conf_value	 metrics_port;
	struct addr		 metrics;		/* len 0: none */
	int			 nerrors;
};

typedef void (*conf_report_fn)(const char *);

size_t	conf_upstream_names(const struct conf_stanza *);
const struct conf_value *conf_upstream_name(const struct conf_stanza *,
	    size_t, unsigned short *);
int	conf_upstream_build(const struct conf_stanza *,
	    const struct addr_list *, struct conf_upstream *, size_t *, int *);

void	conf_init(struct conf *, size_t);
void	conf_free(struct conf *);
conf_report_fn conf_set_report(conf_report_fn);
void	conf_error(struct conf *, const struct conf_pos *, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
int	conf_parse_size(const char *, size_t *);
int	conf_parse_duration(const char *, uint32_t *);
int	conf_parse_file(struct conf *, const char *);
int	conf_parse_buffer(struct conf *, const char *, const char *, size_t);
struct conf_stanza *conf_stanza_new(struct conf *, const struct conf_pos *);
int	conf_value_set(struct conf_value *, const char *,
	    const struct conf_pos *);
int	conf_resolve(struct conf *);
int	conf_policy_set(struct conf *, struct conf_policy *, const char *,
	    const char *, const struct conf_pos *);
void	conf_policy_copy(struct conf_policy *, const struct conf_policy *);

#endif
