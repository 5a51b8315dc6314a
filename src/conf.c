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

#include "addr.h"
#include "conf.h"

static conf_report_fn	report;

void
conf_init(struct conf *c, size_t bufsize)
{
	memset(c, 0, sizeof(*c));
	TAILQ_INIT(&c->stanzas);
	c->bufsize = bufsize;
}

static void
value_free(struct conf_value *v)
{
	free(v->str);
	v->str = NULL;
}

void
conf_free(struct conf *c)
{
	struct conf_stanza	*s;

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
		free(s);
	}
	free(c->path);
	c->path = NULL;
}

/* Where errors go: the log, or stderr for a config test. */
void
conf_set_report(conf_report_fn fn)
{
	report = fn;
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
	if (addr_resolve(s->remote_host.str, rport, rfamily, 0, &s->remotes,
	    err, sizeof(err)) == -1) {
		conf_error(c, &s->remote_host.pos, "remote: %s", err);
		return (-1);
	}
	if (s->source_host.str != NULL &&
	    resolve_source(c, s, rfamily) == -1)
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
