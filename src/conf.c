/*
 * Configuration model and resolution; the file grammar is in parse.c.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conf.h"

static conf_report_fn	report;

void
conf_init(struct conf *c, size_t bufsize)
{
	memset(c, 0, sizeof(*c));
	TAILQ_INIT(&c->stanzas);
	c->bufsize = bufsize;
	c->shutdown_timeout_ms = -1;
}

static void
value_free(struct conf_value *v)
{
	free(v->str);
	v->str = NULL;
}

static void
conf_policy_free(struct conf_policy *p)
{
	size_t	i;

	value_free(&p->connect_timeout);
	value_free(&p->idle_timeout);
	value_free(&p->fin_timeout);
	value_free(&p->keepalive);
	value_free(&p->max_connections);
	value_free(&p->max_per_source);
	value_free(&p->source_prefix);
	value_free(&p->proxy_protocol);
	for (i = 0; i < p->nacl; i++)
		value_free(&p->acl[i].value);
	p->nacl = 0;
	value_free(&p->accept_proxy);
	value_free(&p->proxy_header_timeout);
	value_free(&p->down_after);
	value_free(&p->down_for);
	value_free(&p->resolve_interval);
	for (i = 0; i < p->ntrusted; i++)
		value_free(&p->trusted[i]);
	p->ntrusted = 0;
}

void
conf_free(struct conf *c)
{
	struct conf_stanza	*s;
	size_t			 i;

	while ((s = TAILQ_FIRST(&c->stanzas)) != NULL) {
		TAILQ_REMOVE(&c->stanzas, s, entry);
		value_free(&s->local_host);
		value_free(&s->local_port);
		value_free(&s->local_family);
		value_free(&s->remote_host);
		value_free(&s->remote_port);
		value_free(&s->remote_family);
		value_free(&s->source_host);
		value_free(&s->buffer_size);
		for (i = 0; i < s->nservers; i++) {
			value_free(&s->servers[i].host);
			value_free(&s->servers[i].port);
			value_free(&s->servers[i].weight);
		}
		for (i = 0; i < s->nbackups; i++) {
			value_free(&s->backups[i].host);
			value_free(&s->backups[i].port);
		}
		value_free(&s->balance);
		conf_policy_free(&s->policy);
		free(s);
	}
	conf_policy_free(&c->global);
	value_free(&c->shutdown_timeout);
	value_free(&c->metrics_host);
	value_free(&c->metrics_port);
	free(c->path);
	c->path = NULL;
}

static int
copy_value(struct conf_value *dst, const struct conf_value *src)
{
	if (src->str == NULL)
		return (0);
	return (conf_value_set(dst, src->str, &src->pos));
}

/* dst (empty) becomes a deep copy of src: a reload keeps -- defaults. */
void
conf_policy_copy(struct conf_policy *dst, const struct conf_policy *src)
{
	size_t	i;

	copy_value(&dst->connect_timeout, &src->connect_timeout);
	copy_value(&dst->idle_timeout, &src->idle_timeout);
	copy_value(&dst->fin_timeout, &src->fin_timeout);
	copy_value(&dst->keepalive, &src->keepalive);
	copy_value(&dst->max_connections, &src->max_connections);
	copy_value(&dst->max_per_source, &src->max_per_source);
	copy_value(&dst->source_prefix, &src->source_prefix);
	copy_value(&dst->proxy_protocol, &src->proxy_protocol);
	for (i = 0; i < src->nacl; i++) {
		dst->acl[i].allow = src->acl[i].allow;
		copy_value(&dst->acl[i].value, &src->acl[i].value);
	}
	dst->nacl = src->nacl;
	copy_value(&dst->accept_proxy, &src->accept_proxy);
	copy_value(&dst->proxy_header_timeout, &src->proxy_header_timeout);
	copy_value(&dst->down_after, &src->down_after);
	copy_value(&dst->down_for, &src->down_for);
	copy_value(&dst->resolve_interval, &src->resolve_interval);
	for (i = 0; i < src->ntrusted; i++)
		copy_value(&dst->trusted[i], &src->trusted[i]);
	dst->ntrusted = src->ntrusted;
}

/*
 * Store one policy statement ("idle-timeout", "allow", ...).  Returns 1
 * when key is a policy keyword and was stored, 0 when it is not one, -1
 * after an error.
 */
int
conf_policy_set(struct conf *c, struct conf_policy *p, const char *key,
    const char *value, const struct conf_pos *pos)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} fields[] = {
	    { "connect-timeout", offsetof(struct conf_policy, connect_timeout) },
	    { "idle-timeout", offsetof(struct conf_policy, idle_timeout) },
	    { "fin-timeout", offsetof(struct conf_policy, fin_timeout) },
	    { "keepalive", offsetof(struct conf_policy, keepalive) },
	    { "max-connections", offsetof(struct conf_policy, max_connections) },
	    { "max-per-source", offsetof(struct conf_policy, max_per_source) },
	    { "source-prefix", offsetof(struct conf_policy, source_prefix) },
	    { "proxy-protocol", offsetof(struct conf_policy, proxy_protocol) },
	    { "accept-proxy-protocol",
		offsetof(struct conf_policy, accept_proxy) },
	    { "proxy-header-timeout",
		offsetof(struct conf_policy, proxy_header_timeout) },
	    { "down-after", offsetof(struct conf_policy, down_after) },
	    { "down-for", offsetof(struct conf_policy, down_for) },
	    { "resolve-interval",
		offsetof(struct conf_policy, resolve_interval) },
	};
	size_t	i;

	if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0) {
		if (p->nacl == ACL_MAX) {
			conf_error(c, pos, "more than %d allow and deny rules",
			    ACL_MAX);
			return (-1);
		}
		p->acl[p->nacl].allow = key[0] == 'a';
		if (conf_value_set(&p->acl[p->nacl].value, value, pos) == -1)
			goto oom;
		p->nacl++;
		return (1);
	}
	if (strcmp(key, "proxy-trusted") == 0) {
		if (p->ntrusted == PROXYHDR_TRUSTED_MAX) {
			conf_error(c, pos, "more than %d proxy-trusted "
			    "prefixes", PROXYHDR_TRUSTED_MAX);
			return (-1);
		}
		if (conf_value_set(&p->trusted[p->ntrusted], value, pos) == -1)
			goto oom;
		p->ntrusted++;
		return (1);
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(key, fields[i].name) != 0)
			continue;
		if (conf_value_set((struct conf_value *)((char *)p +
		    fields[i].offset), value, pos) == -1)
			goto oom;
		return (1);
	}
	return (0);
oom:
	conf_error(c, pos, "out of memory");
	return (-1);
}

/* "10", "10s", "500ms", "2m", "1h"; 0 turns the timeout off. */
int
conf_parse_duration(const char *s, uint32_t *ms)
{
	const char	*errstr;
	char		 num[32];
	size_t		 len = strspn(s, "0123456789");
	long long	 n, mult;

	if (len == 0 || len >= sizeof(num))
		return (-1);
	if (strcmp(s + len, "") == 0 || strcmp(s + len, "s") == 0)
		mult = 1000;
	else if (strcmp(s + len, "ms") == 0)
		mult = 1;
	else if (strcmp(s + len, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(s + len, "h") == 0)
		mult = 3600 * 1000;
	else
		return (-1);
	memcpy(num, s, len);
	num[len] = '\0';
	n = strtonum(num, 0, 7LL * 24 * 3600 * 1000 / mult, &errstr);
	if (errstr != NULL)
		return (-1);
	*ms = (uint32_t)(n * mult);
	return (0);
}

static const struct conf_value *
pick(const struct conf_value *mine, const struct conf_value *global)
{
	return (mine->str != NULL ? mine : global->str != NULL ? global : NULL);
}

static int
resolve_duration(struct conf *c, const struct conf_value *v, uint32_t def,
    uint32_t *ms)
{
	*ms = def;
	if (v != NULL && conf_parse_duration(v->str, ms) == -1) {
		conf_error(c, &v->pos, "invalid time '%s': expected seconds, "
		    "or a number with ms, s, m or h", v->str);
		return (-1);
	}
	return (0);
}

static int
resolve_count(struct conf *c, const struct conf_value *v, uint32_t *n)
{
	const char	*errstr;

	*n = 0;
	if (v == NULL)
		return (0);
	*n = (uint32_t)strtonum(v->str, 0, 10000000, &errstr);
	if (errstr != NULL) {
		conf_error(c, &v->pos, "invalid number '%s': expected 0 to "
		    "10000000", v->str);
		return (-1);
	}
	return (0);
}

/*
 * accept-proxy-protocol and its company.  The stanza's proxy-trusted
 * lines, if it has any, replace the global ones: a default, not a rule
 * to add to.  Accepting headers from anyone would let every client
 * choose its own address, so a listener that accepts them must say
 * from whom.
 */
static int
resolve_accept_proxy(struct conf *c, struct conf_stanza *s)
{
	struct conf_policy	*p = &s->policy, *g = &c->global;
	struct conf_limits	*l = &s->limits;
	const struct conf_policy *t = p->ntrusted > 0 ? p : g;
	const struct conf_value	*v, *accept;
	char			 err[256];
	size_t			 i;
	int			 bad = 0;

	if ((accept = pick(&p->accept_proxy, &g->accept_proxy)) != NULL) {
		if (strcasecmp(accept->str, "v1") == 0 ||
		    strcmp(accept->str, "1") == 0)
			l->accept_proxy = PROXYHDR_V1;
		else if (strcasecmp(accept->str, "v2") == 0 ||
		    strcmp(accept->str, "2") == 0)
			l->accept_proxy = PROXYHDR_V2;
		else if (strcasecmp(accept->str, "any") == 0)
			l->accept_proxy = PROXYHDR_ANY;
		else if (strcasecmp(accept->str, "off") != 0) {
			conf_error(c, &accept->pos, "invalid "
			    "accept-proxy-protocol '%s': expected v1, v2, any "
			    "or off", accept->str);
			bad = -1;
		}
	}
	v = pick(&p->proxy_header_timeout, &g->proxy_header_timeout);
	if (resolve_duration(c, v, CONF_PROXY_HEADER_TIMEOUT_MS,
	    &l->proxy_header_timeout_ms) == -1)
		bad = -1;
	else if (l->proxy_header_timeout_ms == 0) {
		conf_error(c, &v->pos, "invalid proxy-header-timeout '%s': "
		    "a header cannot be waited for forever", v->str);
		bad = -1;
	}
	for (i = 0; i < t->ntrusted; i++) {
		if (acl_parse(t->trusted[i].str, 1, &l->trusted[l->ntrusted],
		    err, sizeof(err)) == -1) {
			conf_error(c, &t->trusted[i].pos, "proxy-trusted: %s",
			    err);
			bad = -1;
			continue;
		}
		l->ntrusted++;
	}
	if (l->accept_proxy != 0 && t->ntrusted == 0) {
		char	which[64] = "";

		if (s->pos.line > 0)
			snprintf(which, sizeof(which), " for the listener at "
			    "line %d", s->pos.line);
		conf_error(c, &accept->pos, "accept-proxy-protocol %s%s, but "
		    "no proxy-trusted prefix says who may send the header",
		    accept->str, which);
		bad = -1;
	}
	return (bad);
}

/* The stanza's limits: its own values, else the global ones, else ours. */
static int
resolve_policy(struct conf *c, struct conf_stanza *s)
{
	struct conf_policy	*p = &s->policy, *g = &c->global;
	struct conf_limits	*l = &s->limits;
	const struct conf_value	*v;
	const char		*errstr;
	char			 err[256];
	size_t			 i;
	uint32_t		 n;
	int			 bad = 0;

	memset(l, 0, sizeof(*l));
	bad |= resolve_duration(c, pick(&p->connect_timeout,
	    &g->connect_timeout), CONF_CONNECT_TIMEOUT_MS,
	    &l->connect_timeout_ms);
	bad |= resolve_duration(c, pick(&p->idle_timeout, &g->idle_timeout),
	    0, &l->idle_timeout_ms);
	bad |= resolve_duration(c, pick(&p->fin_timeout, &g->fin_timeout),
	    CONF_FIN_TIMEOUT_MS, &l->fin_timeout_ms);
	bad |= resolve_count(c, pick(&p->max_connections,
	    &g->max_connections), &l->max_connections);
	bad |= resolve_count(c, pick(&p->max_per_source, &g->max_per_source),
	    &l->max_per_source);

	l->down_after = CONF_DOWN_AFTER;
	if ((v = pick(&p->down_after, &g->down_after)) != NULL) {
		l->down_after = (uint32_t)strtonum(v->str, 0, 1000, &errstr);
		if (errstr != NULL) {
			conf_error(c, &v->pos, "invalid down-after '%s': "
			    "expected 0 (never) to 1000 failed connects",
			    v->str);
			bad = -1;
		}
	}
	bad |= resolve_duration(c, pick(&p->down_for, &g->down_for),
	    CONF_DOWN_FOR_MS, &l->down_for_ms);
	bad |= resolve_duration(c, pick(&p->resolve_interval,
	    &g->resolve_interval), 0, &l->resolve_interval_ms);
	if (l->resolve_interval_ms > 0 && l->resolve_interval_ms < 1000) {
		v = pick(&p->resolve_interval, &g->resolve_interval);
		conf_error(c, &v->pos, "resolve-interval '%s' is under a "
		    "second", v->str);
		bad = -1;
	}

	l->keepalive = 1;
	if ((v = pick(&p->keepalive, &g->keepalive)) != NULL) {
		if (strcasecmp(v->str, "on") == 0 ||
		    strcasecmp(v->str, "yes") == 0)
			l->keepalive = 1;
		else if (strcasecmp(v->str, "off") == 0 ||
		    strcasecmp(v->str, "no") == 0)
			l->keepalive = 0;
		else {
			conf_error(c, &v->pos, "invalid keepalive '%s': "
			    "expected on or off", v->str);
			bad = -1;
		}
	}
	l->source_prefix6 = CONF_SOURCE_PREFIX6;
	if ((v = pick(&p->source_prefix, &g->source_prefix)) != NULL) {
		n = (uint32_t)strtonum(v->str + (v->str[0] == '/'), 1, 128,
		    &errstr);
		if (errstr != NULL) {
			conf_error(c, &v->pos, "invalid IPv6 prefix length "
			    "'%s': expected /1 to /128", v->str);
			bad = -1;
		} else
			l->source_prefix6 = (uint8_t)n;
	}
	if ((v = pick(&p->proxy_protocol, &g->proxy_protocol)) != NULL) {
		if (strcasecmp(v->str, "v1") == 0 || strcmp(v->str, "1") == 0)
			l->proxy_protocol = 1;
		else if (strcasecmp(v->str, "v2") == 0 ||
		    strcmp(v->str, "2") == 0)
			l->proxy_protocol = 2;
		else if (strcasecmp(v->str, "off") != 0) {
			conf_error(c, &v->pos, "invalid proxy-protocol '%s': "
			    "expected v1, v2 or off", v->str);
			bad = -1;
		}
	}

	if (resolve_accept_proxy(c, s) == -1)
		bad = -1;

	/* The file's global rules come first, then the stanza's own. */
	if (g->nacl + p->nacl > ACL_MAX) {
		conf_error(c, &s->pos, "more than %d allow and deny rules "
		    "with the global ones", ACL_MAX);
		return (-1);
	}
	for (i = 0; i < g->nacl + p->nacl; i++) {
		const struct conf_acl	*a = i < g->nacl ? &g->acl[i] :
		    &p->acl[i - g->nacl];

		if (acl_parse(a->value.str, a->allow, &l->acl[l->nacl], err,
		    sizeof(err)) == -1) {
			conf_error(c, &a->value.pos, "%s: %s", a->allow ?
			    "allow" : "deny", err);
			bad = -1;
			continue;
		}
		l->nacl++;
	}
	return (bad ? -1 : 0);
}

/* Where errors go: the log, or stderr for a config test. */
conf_report_fn
conf_set_report(conf_report_fn fn)
{
	conf_report_fn	prev = report;

	report = fn;
	return (prev);
}

void
conf_error(struct conf *c, const struct conf_pos *pos, const char *fmt, ...)
{
	char	msg[512], line[768];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pos->line > 0)
		snprintf(line, sizeof(line), "%s:%d:%d: %s", pos->where,
		    pos->line, pos->col, msg);
	else
		snprintf(line, sizeof(line), "%s: %s", pos->where, msg);
	c->nerrors++;
	if (report != NULL)
		report(line);
	else
		fprintf(stderr, "tcpproxy: %s\n", line);
}

/* A size in bytes, with an optional k or m suffix: "10240", "10k", "1m". */
int
conf_parse_size(const char *s, size_t *out)
{
	const char		*errstr;
	char			 num[32];
	size_t			 len = strlen(s), mult = 1;
	long long		 n;

	if (len == 0 || len >= sizeof(num))
		return (-1);
	memcpy(num, s, len + 1);
	switch (tolower((unsigned char)num[len - 1])) {
	case 'k':
		mult = 1024;
		num[--len] = '\0';
		break;
	case 'm':
		mult = 1024 * 1024;
		num[--len] = '\0';
		break;
	}
	if (len == 0 || !isdigit((unsigned char)num[0]))
		return (-1);
	n = strtonum(num, 1, CONF_BUFSIZE_MAX / mult, &errstr);
	if (errstr != NULL)
		return (-1);
	*out = (size_t)n * mult;
	return (0);
}

struct conf_stanza *
conf_stanza_new(struct conf *c, const struct conf_pos *pos)
{
	struct conf_stanza	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->pos = *pos;
	TAILQ_INSERT_TAIL(&c->stanzas, s, entry);
	return (s);
}

/* Set a value; a repeated statement replaces the earlier one. */
int
conf_value_set(struct conf_value *v, const char *str,
    const struct conf_pos *pos)
{
	char	*copy;

	if ((copy = strdup(str)) == NULL)
		return (-1);
	free(v->str);
	v->str = copy;
	v->pos = *pos;
	return (0);
}

static int
family_of(struct conf *c, const struct conf_value *v, int *family)
{
	*family = AF_UNSPEC;
	if (v->str == NULL)
		return (0);
	if (addr_parse_family(v->str, family) == -1) {
		conf_error(c, &v->pos, "invalid address family '%s': "
		    "expected ipv4 or ipv6", v->str);
		return (-1);
	}
	return (0);
}

static int
port_of(struct conf *c, const struct conf_value *v, unsigned short *port)
{
	char	err[256];

	if (addr_parse_port(v->str, port, err, sizeof(err)) == -1) {
		conf_error(c, &v->pos, "%s", err);
		return (-1);
	}
	return (0);
}

/* metrics: HOST PORT; the first address HOST has, to listen on. */
static void
resolve_metrics(struct conf *c)
{
	struct addr_list	 list;
	unsigned short		 port;
	char			 err[256];

	if (port_of(c, &c->metrics_port, &port) == -1)
		return;
	if (addr_resolve(c->metrics_host.str, port, AF_UNSPEC, 1, &list, err,
	    sizeof(err)) == -1 || list.n == 0) {
		conf_error(c, &c->metrics_host.pos, "metrics: %s", err);
		return;
	}
	c->metrics = list.a[0];
}

/*
 * Keep only the remote addresses that a source address can reach, and
 * remember one source per family.
 */
static int
resolve_source(struct conf *c, struct conf_stanza *s, int family)
{
	struct addr_list	 src;
	char			 err[256];
	size_t			 i, kept;

	if (addr_resolve(s->source_host.str, 0, family, 0, &src, err,
	    sizeof(err)) == -1) {
		conf_error(c, &s->source_host.pos, "source: %s", err);
		return (-1);
	}
	for (i = 0; i < src.n; i++) {
		if (src.a[i].ss.ss_family == AF_INET &&
		    s->source4.ss.ss_family == 0)
			s->source4 = src.a[i];
		if (src.a[i].ss.ss_family == AF_INET6 &&
		    s->source6.ss.ss_family == 0)
			s->source6 = src.a[i];
	}
	for (i = kept = 0; i < s->remotes.n; i++) {
		int	f = s->remotes.a[i].ss.ss_family;

		if ((f == AF_INET && s->source4.ss.ss_family != 0) ||
		    (f == AF_INET6 && s->source6.ss.ss_family != 0))
			s->remotes.a[kept++] = s->remotes.a[i];
	}
	if (kept == 0) {
		conf_error(c, &s->source_host.pos, "source address '%s' is "
		    "%s only, but remote '%s' has no %s address",
		    s->source_host.str, s->source4.ss.ss_family ? "IPv4" :
		    "IPv6", s->remote_host.str, s->source4.ss.ss_family ?
		    "IPv4" : "IPv6");
		return (-1);
	}
	s->remotes.n = kept;
	return (0);
}

/* Only addresses of a family that a source: address was found for. */
static int
source_fits(const struct conf_stanza *s, const struct addr *a)
{
	if (s->source_host.str == NULL)
		return (1);
	return ((a->ss.ss_family == AF_INET && s->source4.ss.ss_family) ||
	    (a->ss.ss_family == AF_INET6 && s->source6.ss.ss_family));
}

/* How many names a stanza connects to: remote, servers, backups. */
size_t
conf_upstream_names(const struct conf_stanza *s)
{
	return (1 + s->nservers + s->nbackups);
}

/* Name i of conf_upstream_names(), and its port once resolved. */
const struct conf_value *
conf_upstream_name(const struct conf_stanza *s, size_t i,
    unsigned short *port)
{
	if (i == 0) {
		*port = s->remote_portnum;
		return (&s->remote_host);
	}
	if (i <= s->nservers) {
		*port = s->servers[i - 1].portnum;
		return (&s->servers[i - 1].host);
	}
	*port = s->backups[i - 1 - s->nservers].portnum;
	return (&s->backups[i - 1 - s->nservers].host);
}

/*
 * Build the groups from one address list per name (lists[i] for name
 * i), keeping only what source: can reach.  -1 when name *bad has no
 * such address, or has one too many for REMOTES_MAX (*full set).
 */
int
conf_upstream_build(const struct conf_stanza *s,
    const struct addr_list *lists, struct conf_upstream *up, size_t *bad,
    int *full)
{
	size_t		 i, j, added;
	unsigned int	 weight;

	memset(up, 0, sizeof(*up));
	*full = 0;
	for (i = 0; i < conf_upstream_names(s); i++) {
		for (j = added = 0; j < lists[i].n; j++) {
			if (!source_fits(s, &lists[i].a[j]))
				continue;
			if (up->n == REMOTES_MAX) {
				*bad = i;
				*full = 1;
				return (-1);
			}
			up->a[up->n] = lists[i].a[j];
			up->group[up->n++] = up->ngroups;
			added++;
		}
		if (added == 0) {
			*bad = i;
			return (-1);
		}
		weight = i >= 1 && i <= s->nservers ?
		    s->servers[i - 1].weightnum : 1;
		up->weight[up->ngroups++] = (uint8_t)weight;
		if (i == s->nservers)
			up->nbalanced = up->ngroups;
	}
	up->balance = s->balancenum;
	return (0);
}

/*
 * server: and backup: lines, after remote:, into one ordered list of
 * groups.  Names resolve as remote's does (remote-resolv, the port).
 */
static int
resolve_upstream(struct conf *c, struct conf_stanza *s, int family)
{
	struct addr_list	 lists[1 + CONF_SERVERS_MAX + CONF_BACKUPS_MAX];
	const struct conf_value	*name;
	struct conf_backend	*b;
	const char		*errstr;
	char			 err[256];
	size_t			 i, badname;
	unsigned short		 port;
	int			 bad = 0, balance, full;

	s->rfamily = family;
	lists[0] = s->remotes;
	for (i = 1; i < conf_upstream_names(s); i++) {
		b = i <= s->nservers ? &s->servers[i - 1] :
		    &s->backups[i - 1 - s->nservers];
		b->weightnum = 1;
		if (b->weight.str != NULL) {
			b->weightnum = (unsigned int)strtonum(b->weight.str, 1,
			    WEIGHT_MAX, &errstr);
			if (errstr != NULL) {
				conf_error(c, &b->weight.pos, "invalid weight "
				    "'%s': expected 1 to %d", b->weight.str,
				    WEIGHT_MAX);
				bad = 1;
			}
		}
		if (port_of(c, &b->port, &b->portnum) == -1) {
			bad = 1;
			continue;
		}
		if (addr_resolve(b->host.str, b->portnum, family, 0, &lists[i],
		    err, sizeof(err)) == -1) {
			conf_error(c, &b->host.pos, "%s: %s", i <= s->nservers ?
			    "server" : "backup", err);
			bad = 1;
		}
	}
	s->balancenum = BALANCE_FIRST;
	if (s->balance.str != NULL) {
		if ((balance = upstream_balance_parse(s->balance.str)) == -1) {
			conf_error(c, &s->balance.pos, "invalid balance '%s': "
			    "expected first, round-robin or source-hash",
			    s->balance.str);
			bad = 1;
		} else
			s->balancenum = (uint8_t)balance;
	}
	if (bad)
		return (-1);
	if (conf_upstream_build(s, lists, &s->up, &badname, &full) == -1) {
		name = conf_upstream_name(s, badname, &port);
		if (full)
			conf_error(c, &name->pos, "more than %d remote "
			    "addresses in one stanza", REMOTES_MAX);
		else
			conf_error(c, &name->pos, "'%s' has no address that "
			    "the source address can reach", name->str);
		return (-1);
	}
	return (0);
}

static int
resolve_stanza(struct conf *c, struct conf_stanza *s)
{
	unsigned short	 lport, rport;
	int		 lfamily, rfamily, bad = 0;
	char		 err[256];

	if (s->remote_host.str == NULL) {
		conf_error(c, &s->pos, "listen stanza has no 'remote'");
		return (-1);
	}
	if (family_of(c, &s->local_family, &lfamily) == -1)
		bad = 1;
	if (family_of(c, &s->remote_family, &rfamily) == -1)
		bad = 1;
	if (port_of(c, &s->local_port, &lport) == -1)
		bad = 1;
	if (port_of(c, &s->remote_port, &rport) == -1)
		bad = 1;
	s->bufsize = c->bufsize;
	if (s->buffer_size.str != NULL &&
	    conf_parse_size(s->buffer_size.str, &s->bufsize) == -1) {
		conf_error(c, &s->buffer_size.pos, "invalid buffer size "
		    "'%s': expected 1 to 64m bytes, with an optional k or m",
		    s->buffer_size.str);
		bad = 1;
	}
	if (bad)
		return (-1);

	if (addr_resolve(s->local_host.str, lport, lfamily, 1, &s->locals,
	    err, sizeof(err)) == -1) {
		conf_error(c, s->local_host.str ? &s->local_host.pos : &s->pos,
		    "listen: %s", err);
		bad = 1;
	}
	s->remote_portnum = rport;
	if (addr_resolve(s->remote_host.str, rport, rfamily, 0, &s->remotes,
	    err, sizeof(err)) == -1) {
		conf_error(c, &s->remote_host.pos, "remote: %s", err);
		return (-1);
	}
	if (s->source_host.str != NULL &&
	    resolve_source(c, s, rfamily) == -1)
		bad = 1;
	else if (resolve_upstream(c, s, rfamily) == -1)
		bad = 1;
	if (resolve_policy(c, s) == -1)
		bad = 1;
	return (bad ? -1 : 0);
}

/*
 * Resolve every stanza and refuse duplicate listening addresses.  Every
 * problem is reported; returns the number of errors.
 */
int
conf_resolve(struct conf *c)
{
	struct conf_stanza	*s, *t;
	size_t			 i, j;
	char			 buf[ADDR_STRLEN];

	if (c->metrics_host.str != NULL)
		resolve_metrics(c);
	if (c->shutdown_timeout.str != NULL) {
		uint32_t	ms;

		if (resolve_duration(c, &c->shutdown_timeout, 0, &ms) == 0)
			c->shutdown_timeout_ms = ms;
	}
	TAILQ_FOREACH(s, &c->stanzas, entry)
		if (resolve_stanza(c, s) == -1)
			s->locals.n = 0;
	TAILQ_FOREACH(s, &c->stanzas, entry) {
		for (i = 0; i < s->locals.n; i++) {
			for (t = TAILQ_FIRST(&c->stanzas); t != s;
			    t = TAILQ_NEXT(t, entry)) {
				for (j = 0; j < t->locals.n; j++)
					if (addr_equal(&s->locals.a[i],
					    &t->locals.a[j]))
						break;
				if (j < t->locals.n)
					break;
			}
			if (t != s) {
				conf_error(c, &s->pos, "duplicate listener "
				    "%s, already defined at line %d",
				    addr_fmt(&s->locals.a[i], buf,
				    sizeof(buf)), t->pos.line);
				break;
			}
		}
	}
	if (TAILQ_EMPTY(&c->stanzas) && c->nerrors == 0) {
		struct conf_pos	pos = { c->path ? c->path : "config", 0, 0 };

		conf_error(c, &pos, "no listeners defined");
	}
	return (c->nerrors);
}
