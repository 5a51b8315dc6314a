/*
 * Rendering control socket replies; see ctlrender.h.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlrecord.h"
#include "ctlrender.h"

static void
put(struct ctlrender_buf *b, const char *s, size_t len)
{
	char	*p;
	size_t	 size;

	if (b->failed)
		return;
	if (b->len + len + 1 > b->size) {
		size = b->size > 0 ? b->size : 1024;
		while (size < b->len + len + 1)
			size *= 2;
		if ((p = realloc(b->data, size)) == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->size = size;
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static void
puts_(struct ctlrender_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
printf_(struct ctlrender_buf *b, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
printf_(struct ctlrender_buf *b, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

/* A JSON number: 0, or an optional minus and digits without a leading 0. */
static int
is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		return (s[1] == '\0');
	if (*s < '1' || *s > '9')
		return (0);
	while (*s >= '0' && *s <= '9')
		s++;
	return (*s == '\0');
}

/* Records of one kind, in their order, into a table. */
static void
text_table(const struct ctlreply *r, const char *kind,
    struct ctlrender_buf *b)
{
	const struct ctlrecord	*first = NULL;
	size_t			 width[CTLRECORD_FIELDS_MAX], i, j, k, len;
	int			 numeric[CTLRECORD_FIELDS_MAX];

	for (i = 0; i < r->nrecords; i++)
		if (strcmp(r->records[i].kind, kind) == 0) {
			first = &r->records[i];
			break;
		}
	if (first == NULL)
		return;
	/* The first record's keys are the columns; values line up under them. */
	for (k = 0; k < first->nfields; k++) {
		width[k] = strlen(first->key[k]);
		numeric[k] = 1;
	}
	for (i = 0; i < r->nrecords; i++) {
		const struct ctlrecord	*rec = &r->records[i];

		if (strcmp(rec->kind, kind) != 0)
			continue;
		for (k = 0; k < first->nfields; k++) {
			const char *v = ctlrecord_get(rec, first->key[k]);

			if (v == NULL)
				v = "-";
			if ((len = strlen(v)) > width[k])
				width[k] = len;
			if (!is_number(v) && strcmp(v, "-") != 0)
				numeric[k] = 0;
		}
	}
	for (k = 0; k < first->nfields; k++) {
		const char	*key = first->key[k];

		if (k > 0)
			puts_(b, "  ");
		for (j = 0; key[j] != '\0'; j++)
			printf_(b, "%c", key[j] >= 'a' && key[j] <= 'z' ?
			    key[j] - 'a' + 'A' : key[j]);
		if (k + 1 < first->nfields)
			for (j = strlen(key); j < width[k]; j++)
				puts_(b, " ");
	}
	puts_(b, "\n");
	for (i = 0; i < r->nrecords; i++) {
		const struct ctlrecord	*rec = &r->records[i];

		if (strcmp(rec->kind, kind) != 0)
			continue;
		for (k = 0; k < first->nfields; k++) {
			const char *v = ctlrecord_get(rec, first->key[k]);

			if (v == NULL)
				v = "-";
			if (k > 0)
				puts_(b, "  ");
			if (numeric[k])
				printf_(b, "%*s", (int)width[k], v);
			else if (k + 1 < first->nfields)
				printf_(b, "%-*s", (int)width[k], v);
			else
				puts_(b, v);
		}
		puts_(b, "\n");
	}
}

/*
 * One table per kind, in the order the kinds first came, a blank line
 * between tables; then the info lines and the final message.
 */
void
ctlrender_text(const struct ctlreply *r, struct ctlrender_buf *b)
{
	size_t	i, j, tables = 0;

	for (i = 0; i < r->nrecords; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(r->records[j].kind, r->records[i].kind) == 0)
				break;
		if (j < i)
			continue;
		if (tables++ > 0)
			puts_(b, "\n");
		text_table(r, r->records[i].kind, b);
	}
	for (i = 0; i < r->ninfo; i++)
		printf_(b, "%s\n", r->info[i]);
	if (r->ok && r->message != NULL)
		printf_(b, "%s\n", r->message);
}

static void
json_string(struct ctlrender_buf *b, const char *s)
{
	const unsigned char	*p;

	puts_(b, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf_(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf_(b, "\\u%04x", *p);
		else
			put(b, (const char *)p, 1);
	}
	puts_(b, "\"");
}

static void
json_value(struct ctlrender_buf *b, const char *v)
{
	if (is_number(v))
		puts_(b, v);
	else
		json_string(b, v);
}

static void
json_record(struct ctlrender_buf *b, const struct ctlrecord *rec)
{
	size_t	k;

	puts_(b, "{");
	for (k = 0; k < rec->nfields; k++) {
		if (k > 0)
			puts_(b, ",");
		json_string(b, rec->key[k]);
		puts_(b, ":");
		json_value(b, rec->value[k]);
	}
	puts_(b, "}");
}

/* The kinds there are many of; any other kind is a single object. */
static int
is_list(const char *kind)
{
	return (strcmp(kind, "listener") == 0 ||
	    strcmp(kind, "connection") == 0 || strcmp(kind, "worker") == 0);
}

/*
 * {"ok":true,"message":...,"info":[...],"listeners":[{...}],
 * "total":{...}}: listener, connection and worker records as arrays
 * named in the plural, other kinds as one object (the last one).
 */
void
ctlrender_json(const struct ctlreply *r, struct ctlrender_buf *b)
{
	size_t	i, j, n;

	printf_(b, "{\"ok\":%s,\"message\":", r->ok ? "true" : "false");
	if (r->message != NULL)
		json_string(b, r->message);
	else
		puts_(b, "null");
	puts_(b, ",\"info\":[");
	for (i = 0; i < r->ninfo; i++) {
		if (i > 0)
			puts_(b, ",");
		json_string(b, r->info[i]);
	}
	puts_(b, "]");
	for (i = 0; i < r->nrecords; i++) {
		const char	*kind = r->records[i].kind;

		for (j = 0; j < i; j++)
			if (strcmp(r->records[j].kind, kind) == 0)
				break;
		if (j < i)
			continue;
		if (!is_list(kind)) {
			for (j = r->nrecords; j-- > i;)
				if (strcmp(r->records[j].kind, kind) == 0)
					break;
			printf_(b, ",\"%s\":", kind);
			json_record(b, &r->records[j]);
			continue;
		}
		printf_(b, ",\"%ss\":[", kind);
		for (j = i, n = 0; j < r->nrecords; j++) {
			if (strcmp(r->records[j].kind, kind) != 0)
				continue;
			if (n++ > 0)
				puts_(b, ",");
			json_record(b, &r->records[j]);
		}
		puts_(b, "]");
	}
	puts_(b, "}\n");
}

/* A label value: backslash, double quote and newline escaped. */
static void
prom_label(struct ctlrender_buf *b, const char *name, const char *v)
{
	printf_(b, "%s=\"", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			printf_(b, "\\%c", *v);
		else if (*v == '\n')
			puts_(b, "\\n");
		else
			put(b, v, 1);
	}
	puts_(b, "\"");
}

struct prom_metric {
	const char	*kind;		/* records it comes from */
	const char	*key;		/* the field; NULL: a constant 1 */
	const char	*name;
	const char	*type;
	const char	*help;
	const char	*when;		/* with key: only where key == when */
};

/* What each record field becomes; anything not here is left out. */
static const struct prom_metric prom_metrics[] = {
	{ "total", "connections", "tcpproxy_connections", "gauge",
	    "Connections open now.", NULL },
	{ "total", "generation", "tcpproxy_generation", "gauge",
	    "Generation of the configuration served.", NULL },
	{ "total", "reloads", "tcpproxy_reloads_total", "counter",
	    "Reloads completed since start-up.", NULL },
	{ "total", "uptime_ms", "tcpproxy_uptime_seconds", "gauge",
	    "Seconds since the master started.", NULL },
	{ "listener", "connections", "tcpproxy_listener_connections",
	    "gauge", "Connections open now through the listener.", NULL },
	{ "listener", "accepted", "tcpproxy_listener_accepted_total",
	    "counter", "Clients accepted.", NULL },
	{ "listener", "denied", "tcpproxy_listener_denied_total", "counter",
	    "Clients turned away by allow and deny rules.", NULL },
	{ "listener", "limited", "tcpproxy_listener_limited_total", "counter",
	    "Clients turned away by connection limits.", NULL },
	{ "listener", "connect_failures",
	    "tcpproxy_listener_connect_failures_total", "counter",
	    "Clients closed because no remote address could be reached.",
	    NULL },
	{ "listener", "bytes_sent", "tcpproxy_listener_sent_bytes_total",
	    "counter", "Bytes relayed from clients to remotes.", NULL },
	{ "listener", "bytes_received",
	    "tcpproxy_listener_received_bytes_total", "counter",
	    "Bytes relayed from remotes to clients.", NULL },
	{ "listener", "proxy_rejected",
	    "tcpproxy_listener_proxy_rejected_total", "counter",
	    "Connections closed for a missing, bad or late PROXY header, or "
	    "from an untrusted peer.", NULL },
	{ "listener", "state", "tcpproxy_listener_draining", "gauge",
	    "1 while the listener is drained.", "draining" },
	{ "worker", "connections", "tcpproxy_worker_connections", "gauge",
	    "Connections open now in the worker.", NULL },
	{ "worker", "restarts", "tcpproxy_worker_restarts_total", "counter",
	    "Times the worker was replaced.", NULL },
	{ "worker", "state", "tcpproxy_worker_up", "gauge",
	    "1 while the worker runs and serves the current table.",
	    "running" },
};

static void
prom_sample(struct ctlrender_buf *b, const struct prom_metric *pm,
    const struct ctlrecord *rec, const char *v)
{
	const char	*id = ctlrecord_get(rec, "id");

	puts_(b, pm->name);
	if (strcmp(pm->kind, "listener") == 0 && id != NULL) {
		puts_(b, "{");
		prom_label(b, "listener", id);
		puts_(b, ",");
		prom_label(b, "local", ctlrecord_get(rec, "local") ?
		    ctlrecord_get(rec, "local") : "");
		puts_(b, "}");
	} else if (strcmp(pm->kind, "worker") == 0 && id != NULL) {
		puts_(b, "{");
		prom_label(b, "worker", id);
		puts_(b, "}");
	}
	if (pm->when != NULL)
		printf_(b, " %d\n", strcmp(v, pm->when) == 0);
	else if (strcmp(pm->key, "uptime_ms") == 0)
		printf_(b, " %.3f\n", strtod(v, NULL) / 1000.0);
	else
		printf_(b, " %s\n", v);
}

/* Every family once, HELP and TYPE first, a sample per record. */
void
ctlrender_metrics(const struct ctlreply *r, struct ctlrender_buf *b)
{
	const struct prom_metric	*pm;
	size_t				 m, i;
	const char			*v;

	for (m = 0; m < sizeof(prom_metrics) / sizeof(prom_metrics[0]); m++) {
		pm = &prom_metrics[m];
		printf_(b, "# HELP %s %s\n# TYPE %s %s\n", pm->name, pm->help,
		    pm->name, pm->type);
		for (i = 0; i < r->nrecords; i++) {
			const struct ctlrecord	*rec = &r->records[i];

			if (strcmp(rec->kind, pm->kind) != 0 ||
			    (v = ctlrecord_get(rec, pm->key)) == NULL)
				continue;
			/* A worker that did not answer has no count: no sample. */
			if (pm->when == NULL && !is_number(v))
				continue;
			prom_sample(b, pm, rec, v);
		}
	}
}

/* A whole "show stats" reply as text to Prometheus text.  -1 if broken. */
int
ctlrender_prometheus(const char *text, size_t len, struct ctlrender_buf *b)
{
	struct ctlreply	reply;
	char		err[128];

	if (ctlreply_parse(text, len, &reply, err, sizeof(err)) == -1)
		return (-1);
	if (!reply.complete || !reply.ok) {
		ctlreply_free(&reply);
		return (-1);
	}
	ctlrender_metrics(&reply, b);
	ctlreply_free(&reply);
	return (b->failed ? -1 : 0);
}
