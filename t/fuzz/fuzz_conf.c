/*
 * libFuzzer harness for the config file parser: the input is a config
 * file's contents.  The grammar is exercised, and then the value parsers
 * that need no resolver (sizes, address families, allow/deny rules):
 * conf_resolve() would ask DNS, which has no place in a fuzzer.  What the
 * parser stores is checked too: every value must be one word.
 *
 *	make fuzz		# see GNUmakefile
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "addr.h"
#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
quiet(const char *line)
{
	(void)line;
}

/* What the parser stores must be one word, as the scanner defines it. */
static void
check_value(const struct conf_value *v)
{
	const char	*p;

	if (v->str == NULL)
		return;
	if (strlen(v->str) > 255 || v->pos.line < 1 || v->pos.col < 1 ||
	    v->pos.where == NULL)
		abort();
	for (p = v->str; *p != '\0'; p++)
		if (strchr(" \t\n\r\v\f{};#", *p) != NULL)
			abort();
}

static void
check_policy(const struct conf_policy *p)
{
	struct acl_rule	 r;
	char		 err[256];
	size_t		 i;
	int		 bits, b;

	check_value(&p->connect_timeout);
	check_value(&p->idle_timeout);
	check_value(&p->fin_timeout);
	check_value(&p->keepalive);
	check_value(&p->max_connections);
	check_value(&p->max_per_source);
	check_value(&p->source_prefix);
	check_value(&p->proxy_protocol);
	check_value(&p->accept_proxy);
	check_value(&p->proxy_header_timeout);
	if (p->ntrusted > PROXYHDR_TRUSTED_MAX)
		abort();
	for (i = 0; i < p->ntrusted; i++) {
		if (p->trusted[i].str == NULL)
			abort();
		check_value(&p->trusted[i]);
	}
	if (p->nacl > ACL_MAX)
		abort();
	for (i = 0; i < p->nacl; i++) {
		check_value(&p->acl[i].value);
		if (p->acl[i].value.str == NULL ||
		    acl_parse(p->acl[i].value.str, p->acl[i].allow, &r, err,
		    sizeof(err)) == -1)
			continue;
		/* A rule: a family, a prefix it can hold, no host bits. */
		bits = r.family == AF_INET ? 32 : 128;
		if ((r.family != AF_INET && r.family != AF_INET6) ||
		    r.prefix > bits || r.allow != (p->acl[i].allow != 0))
			abort();
		for (b = r.prefix; b < bits; b++)
			if (r.addr[b / 8] & (0x80 >> (b % 8)))
				abort();
	}
}

static void
check_stanza(const struct conf_stanza *s)
{
	size_t	size;
	int	family;

	check_value(&s->local_host);
	check_value(&s->local_port);
	check_value(&s->local_family);
	check_value(&s->remote_host);
	check_value(&s->remote_port);
	check_value(&s->remote_family);
	check_value(&s->source_host);
	check_value(&s->buffer_size);
	check_policy(&s->policy);
	if (s->buffer_size.str != NULL &&
	    conf_parse_size(s->buffer_size.str, &size) == 0 &&
	    (size < 1 || size > CONF_BUFSIZE_MAX))
		abort();
	if (s->local_family.str != NULL)
		addr_parse_family(s->local_family.str, &family);
	if (s->remote_family.str != NULL)
		addr_parse_family(s->remote_family.str, &family);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf		 c;
	struct conf_stanza	*s;
	char			*buf;

	conf_set_report(quiet);
	/* An exact-size copy, not NUL-terminated: ASan sees any overread. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return (0);
	if (size > 0)
		memcpy(buf, data, size);
	conf_init(&c, CONF_BUFSIZE_DEFAULT);
	conf_parse_buffer(&c, "fuzz.conf", buf, size);
	check_policy(&c.global);
	TAILQ_FOREACH(s, &c.stanzas, entry)
		check_stanza(s);
	conf_free(&c);
	free(buf);
	return (0);
}
