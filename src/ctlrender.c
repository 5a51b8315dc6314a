/*
 * Control replies rendered for people, for scripts and for Prometheus;
 * see ctlrender.h.  Each renderer returns 0, or -1 when memory ran out
 * (ctlrender_prometheus also for a reply that is malformed or says
 * "error").
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlrecord.h"
#include "ctlrender.h"

#define COLUMN_GAP	2	/* spaces between two table columns */

/* ---- the buffer ------------------------------------------------------ */

static int
buf_grow(struct ctlrender_buf *b, size_t n)
{
	size_t	 want, size;
	char	*p;

	if (n > SIZE_MAX / 2 - b->len)
		return (-1);
	want = b->len + n + 1;
	if (want <= b->size)
		return (0);
	for (size = b->size ? b->size : 4096; size < want; size *= 2)
		;
	if ((p = realloc(b->data, size)) == NULL)
		return (-1);
	b->data = p;
	b->size = size;
	return (0);
}

static int
buf_add(struct ctlrender_buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) == -1)
		return (-1);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return (0);
}

static int
buf_str(struct ctlrender_buf *b, const char *s)
{
	return (buf_add(b, s, strlen(s)));
}

static int
buf_char(struct ctlrender_buf *b, char c)
{
	return (buf_add(b, &c, 1));
}

static int
buf_spaces(struct ctlrender_buf *b, size_t n)
{
	if (buf_grow(b, n) == -1)
		return (-1);
	memset(b->data + b->len, ' ', n);
	b->len += n;
	b->data[b->len] = '\0';
	return (0);
}

__attribute__((__format__(__printf__, 2, 3)))
static int
buf_printf(struct ctlrender_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) == -1)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return (0);
}

/* ---- text ------------------------------------------------------------ */

/* The length of the well-formed UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef) {
		n = 3;
		if (*p == 0xe0)
			lo = 0xa0;
		else if (*p == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		if (*p == 0xf0)
			lo = 0x90;
		else if (*p == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (p[1] < lo || p[1] > hi)
		return (0);
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	return (n);
}

/*
 * A value as a table shows it: unescaped, but a control character or a
 * byte outside UTF-8 stays %XX, so that no value can move the cursor.
 * With b NULL, only its width is counted.
 */
static size_t
text_value(struct ctlrender_buf *b, const char *v, int *failed)
{
	const unsigned char	*p = (const unsigned char *)v;
	size_t			 width = 0, n;
	char			 esc[4];

	while (*p != '\0') {
		if (*p >= 0x20 && *p < 0x7f)
			n = 1;
		else if ((n = utf8_len(p)) == 0) {
			width += 3;
			if (b != NULL) {
				snprintf(esc, sizeof(esc), "%%%02X", *p);
				if (buf_add(b, esc, 3) == -1)
					*failed = 1;
			}
			p++;
			continue;
		}
		width++;
		if (b != NULL && buf_add(b, (const char *)p, n) == -1)
			*failed = 1;
		p += n;
	}
	return (width);
}

struct column {
	const char	*key;
	size_t		 width;
	int		 numeric;	/* every cell a number or "-" */
};

static int
column_find(struct column *cols, size_t ncols, const char *key)
{
	size_t	i;

	for (i = 0; i < ncols; i++)
		if (strcmp(cols[i].key, key) == 0)
			return ((int)i);
	return (-1);
}

/* One table: every record of a kind, columns the keys they carry. */
static int
text_table(const struct ctl_reply *r, const char *kind,
    struct ctlrender_buf *b)
{
	struct column		*cols = NULL, *p;
	const struct ctl_line	*l;
	const char		*v;
	size_t			 ncols = 0, i, j, k, w, pad;
	int			 c, failed = 0, numbers = 0;

	for (i = 0; i < r->nlines; i++) {
		l = &r->lines[i];
		if (l->type != CTL_RECORD || strcmp(l->kind, kind) != 0)
			continue;
		for (j = 0; j < l->nfields; j++) {
			if ((c = column_find(cols, ncols, l->fields[j].key)) ==
			    -1) {
				if ((p = reallocarray(cols, ncols + 1,
				    sizeof(*cols))) == NULL) {
					free(cols);
					return (-1);
				}
				cols = p;
				c = (int)ncols++;
				cols[c].key = l->fields[j].key;
				cols[c].width = strlen(cols[c].key);
				cols[c].numeric = 1;
			}
			v = l->fields[j].value;
			if ((w = text_value(NULL, v, NULL)) > cols[c].width)
				cols[c].width = w;
			if (!ctl_is_number(v) && strcmp(v, "-") != 0)
				cols[c].numeric = 0;
		}
	}
	/* A column of nothing but "-" is not one of numbers. */
	for (k = 0; k < ncols; k++) {
		numbers = 0;
		for (i = 0; i < r->nlines && cols[k].numeric && !numbers; i++) {
			l = &r->lines[i];
			if (l->type == CTL_RECORD && strcmp(l->kind, kind) == 0 &&
			    (v = ctl_line_get(l, cols[k].key)) != NULL &&
			    ctl_is_number(v))
				numbers = 1;
		}
		cols[k].numeric = numbers;
	}

	/* The header, then a row per record; no blank at a line's end. */
	for (i = 0; i <= r->nlines && !failed; i++) {
		if (i > 0) {
			l = &r->lines[i - 1];
			if (l->type != CTL_RECORD || strcmp(l->kind, kind) != 0)
				continue;
		} else
			l = NULL;
		for (k = 0; k < ncols && !failed; k++) {
			if (k > 0 && buf_spaces(b, COLUMN_GAP) == -1)
				failed = 1;
			if (l == NULL)
				v = cols[k].key;
			else if ((v = ctl_line_get(l, cols[k].key)) == NULL)
				v = "-";
			pad = cols[k].width - text_value(NULL, v, NULL);
			if (cols[k].numeric && buf_spaces(b, pad) == -1)
				failed = 1;
			if (l == NULL) {
				for (j = 0; v[j] != '\0' && !failed; j++)
					if (buf_char(b, (char)(v[j] >= 'a' &&
					    v[j] <= 'z' ? v[j] - 'a' + 'A' :
					    v[j])) == -1)
						failed = 1;
			} else
				text_value(b, v, &failed);
			if (!cols[k].numeric && k + 1 < ncols &&
			    buf_spaces(b, pad) == -1)
				failed = 1;
		}
		if (!failed && buf_char(b, '\n') == -1)
			failed = 1;
	}
	free(cols);
	return (failed ? -1 : 0);
}

/*
 * A table per record kind, in the order the kinds first came, each
 * after a blank line but the first; then, on success, the info lines
 * and the final line's text, the same way apart.
 */
int
ctlrender_text(const struct ctl_reply *r, struct ctlrender_buf *b)
{
	const struct ctl_line	*l;
	const char		**kinds = NULL, **p;
	size_t			 i, j, nkinds = 0;
	int			 blocks = 0, text = 0;

	if (buf_grow(b, 0) == -1)
		return (-1);
	for (i = 0; i < r->nlines; i++) {
		l = &r->lines[i];
		if (l->type != CTL_RECORD)
			continue;
		for (j = 0; j < nkinds; j++)
			if (strcmp(kinds[j], l->kind) == 0)
				break;
		if (j < nkinds)
			continue;	/* its table is out already */
		if ((p = reallocarray(kinds, nkinds + 1, sizeof(*kinds))) ==
		    NULL)
			goto fail;
		kinds = p;
		kinds[nkinds++] = l->kind;
		if ((blocks++ > 0 && buf_char(b, '\n') == -1) ||
		    text_table(r, l->kind, b) == -1)
			goto fail;
	}
	free(kinds);
	if (r->final == NULL || r->final->type != CTL_OK)
		return (0);
	for (i = 0; i < r->nlines; i++) {
		l = &r->lines[i];
		if ((l->type != CTL_INFO && l->type != CTL_OK) ||
		    *l->text == '\0')
			continue;
		if (text++ == 0 && blocks > 0 && buf_char(b, '\n') == -1)
			return (-1);
		if (buf_str(b, l->text) == -1 || buf_char(b, '\n') == -1)
			return (-1);
	}
	return (0);
fail:
	free(kinds);
	return (-1);
}

/* ---- JSON ------------------------------------------------------------ */

/* How each known kind appears in the object. */
static const struct json_kind {
	const char	*kind;
	const char	*name;
	int		 array;
} json_kinds[] = {
	{ "total",	"total",	0 },
	{ "listener",	"listeners",	1 },
	{ "worker",	"workers",	1 },
	{ "connection",	"connections",	1 },
	{ "reload",	"reload",	0 },
};

/*
 * A JSON string.  Well-formed UTF-8 goes as it is; a byte that is not
 * part of it goes as \u00XX, its Latin-1 reading, so the output always
 * parses.
 */
static int
json_string(struct ctlrender_buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	if (buf_char(b, '"') == -1)
		return (-1);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			if (buf_char(b, '\\') == -1 ||
			    buf_char(b, (char)*p) == -1)
				return (-1);
			n = 1;
		} else if (*p >= 0x20 && *p < 0x7f) {
			if (buf_char(b, (char)*p) == -1)
				return (-1);
			n = 1;
		} else if ((n = utf8_len(p)) > 0) {
			if (buf_add(b, (const char *)p, n) == -1)
				return (-1);
		} else {
			if (buf_printf(b, "\\u%04X", *p) == -1)
				return (-1);
			n = 1;
		}
		p += n;
	}
	return (buf_char(b, '"'));
}

static int
json_record(struct ctlrender_buf *b, const struct ctl_line *l)
{
	size_t	i;

	if (buf_char(b, '{') == -1)
		return (-1);
	for (i = 0; i < l->nfields; i++) {
		if ((i > 0 && buf_char(b, ',') == -1) ||
		    json_string(b, l->fields[i].key) == -1 ||
		    buf_char(b, ':') == -1)
			return (-1);
		if (ctl_is_number(l->fields[i].value)) {
			if (buf_str(b, l->fields[i].value) == -1)
				return (-1);
		} else if (json_string(b, l->fields[i].value) == -1)
			return (-1);
	}
	return (buf_char(b, '}'));
}

static int
expected(const char *const *expect, const char *kind)
{
	for (; expect != NULL && *expect != NULL; expect++)
		if (strcmp(*expect, kind) == 0)
			return (1);
	return (0);
}

/*
 * One object on one line: "ok", "message" (the final text, or null),
 * "info", then each known kind there is or the caller expects (an array
 * of none, or null for a single record); kinds not known are left out.
 */
int
ctlrender_json(const struct ctl_reply *r, const char *const *expect,
    struct ctlrender_buf *b)
{
	const struct json_kind	*jk;
	const struct ctl_line	*l;
	size_t			 i, k, n;
	int			 ok;

	ok = r->final != NULL && r->final->type == CTL_OK;
	if (buf_printf(b, "{\"ok\":%s,\"message\":", ok ? "true" : "false") ==
	    -1)
		return (-1);
	if (r->final == NULL || *r->final->text == '\0') {
		if (buf_str(b, "null") == -1)
			return (-1);
	} else if (json_string(b, r->final->text) == -1)
		return (-1);
	if (buf_str(b, ",\"info\":[") == -1)
		return (-1);
	for (i = 0, n = 0; i < r->nlines; i++) {
		l = &r->lines[i];
		if (l->type != CTL_INFO)
			continue;
		if ((n++ > 0 && buf_char(b, ',') == -1) ||
		    json_string(b, l->text) == -1)
			return (-1);
	}
	if (buf_char(b, ']') == -1)
		return (-1);

	for (k = 0; k < sizeof(json_kinds) / sizeof(json_kinds[0]); k++) {
		jk = &json_kinds[k];
		for (i = 0, n = 0; i < r->nlines; i++) {
			l = &r->lines[i];
			if (l->type != CTL_RECORD ||
			    strcmp(l->kind, jk->kind) != 0)
				continue;
			if (n == 0 && buf_printf(b, ",\"%s\":%s", jk->name,
			    jk->array ? "[" : "") == -1)
				return (-1);
			if ((n > 0 && buf_char(b, ',') == -1) ||
			    json_record(b, l) == -1)
				return (-1);
			if (++n == 1 && !jk->array)
				break;	/* one is all there may be */
		}
		if (n == 0 && expected(expect, jk->kind)) {
			if (buf_printf(b, ",\"%s\":%s", jk->name,
			    jk->array ? "[]" : "null") == -1)
				return (-1);
		} else if (n > 0 && jk->array && buf_char(b, ']') == -1)
			return (-1);
	}
	return (buf_str(b, "}\n"));
}

/* ---- Prometheus ------------------------------------------------------ */

enum conv {
	CONV_VALUE,
	CONV_MS,	/* milliseconds to seconds */
	CONV_IS,	/* 1 when the value is the family's arg, else 0 */
};

/* The metric families, in the order they are rendered. */
static const struct family {
	const char	*kind;
	const char	*key;
	enum conv	 conv;
	const char	*arg;
	const char	*name;
	const char	*type;
	const char	*help;
} families[] = {
	{ "total", "generation", CONV_VALUE, NULL,
	    "tcpproxy_generation", "gauge",
	    "Generation of the configuration being served." },
	{ "total", "reloads", CONV_VALUE, NULL,
	    "tcpproxy_reloads_total", "counter",
	    "Reloads completed since start-up." },
	{ "total", "uptime_ms", CONV_MS, NULL,
	    "tcpproxy_uptime_seconds", "gauge",
	    "Seconds since the master started." },
	{ "total", "listeners", CONV_VALUE, NULL,
	    "tcpproxy_listeners", "gauge",
	    "Listeners configured." },
	{ "total", "workers", CONV_VALUE, NULL,
	    "tcpproxy_workers", "gauge",
	    "Worker processes." },
	{ "total", "connections", CONV_VALUE, NULL,
	    "tcpproxy_connections", "gauge",
	    "Connections open now." },
	{ "total", "accepted", CONV_VALUE, NULL,
	    "tcpproxy_accepted_total", "counter",
	    "Client connections accepted." },
	{ "total", "denied", CONV_VALUE, NULL,
	    "tcpproxy_denied_total", "counter",
	    "Client connections refused by an access list." },
	{ "total", "limited", CONV_VALUE, NULL,
	    "tcpproxy_limited_total", "counter",
	    "Client connections refused by a connection limit." },
	{ "total", "connect_failures", CONV_VALUE, NULL,
	    "tcpproxy_connect_failures_total", "counter",
	    "Connections for which no remote could be reached." },
	{ "total", "bytes_sent", CONV_VALUE, NULL,
	    "tcpproxy_sent_bytes_total", "counter",
	    "Bytes sent toward the remotes." },
	{ "total", "bytes_received", CONV_VALUE, NULL,
	    "tcpproxy_received_bytes_total", "counter",
	    "Bytes sent toward the clients." },
	{ "total", "proxy_rejected", CONV_VALUE, NULL,
	    "tcpproxy_proxy_rejected_total", "counter",
	    "Connections closed for want of a good PROXY header." },

	{ "listener", "connections", CONV_VALUE, NULL,
	    "tcpproxy_listener_connections", "gauge",
	    "Connections open now, by listener." },
	{ "listener", "accepted", CONV_VALUE, NULL,
	    "tcpproxy_listener_accepted_total", "counter",
	    "Client connections accepted, by listener." },
	{ "listener", "denied", CONV_VALUE, NULL,
	    "tcpproxy_listener_denied_total", "counter",
	    "Client connections refused by an access list, by listener." },
	{ "listener", "limited", CONV_VALUE, NULL,
	    "tcpproxy_listener_limited_total", "counter",
	    "Client connections refused by a connection limit, by listener." },
	{ "listener", "connect_failures", CONV_VALUE, NULL,
	    "tcpproxy_listener_connect_failures_total", "counter",
	    "Connections for which no remote could be reached, by listener." },
	{ "listener", "bytes_sent", CONV_VALUE, NULL,
	    "tcpproxy_listener_sent_bytes_total", "counter",
	    "Bytes sent toward the remotes, by listener." },
	{ "listener", "bytes_received", CONV_VALUE, NULL,
	    "tcpproxy_listener_received_bytes_total", "counter",
	    "Bytes sent toward the clients, by listener." },
	{ "listener", "proxy_rejected", CONV_VALUE, NULL,
	    "tcpproxy_listener_proxy_rejected_total", "counter",
	    "Connections closed for a missing, bad or late PROXY header, or "
	    "from an untrusted peer, by listener." },
	{ "listener", "state", CONV_IS, "draining",
	    "tcpproxy_listener_draining", "gauge",
	    "1 while the listener is drained, refusing new clients." },

	{ "worker", "connections", CONV_VALUE, NULL,
	    "tcpproxy_worker_connections", "gauge",
	    "Connections open now, by worker." },
	{ "worker", "restarts", CONV_VALUE, NULL,
	    "tcpproxy_worker_restarts_total", "counter",
	    "Times the worker was started again after it died." },
	{ "worker", "state", CONV_IS, "running",
	    "tcpproxy_worker_up", "gauge",
	    "1 while the worker is running." },
	{ "worker", "uptime_ms", CONV_MS, NULL,
	    "tcpproxy_worker_uptime_seconds", "gauge",
	    "Seconds since the worker started." },
};

/* A label value: backslash, double quote and newline escaped. */
static int
prom_label(struct ctlrender_buf *b, const char *name, const char *v)
{
	if (buf_printf(b, "%s=\"", name) == -1)
		return (-1);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"') {
			if (buf_char(b, '\\') == -1 || buf_char(b, *v) == -1)
				return (-1);
		} else if (*v == '\n') {
			if (buf_str(b, "\\n") == -1)
				return (-1);
		} else if (buf_char(b, *v) == -1)
			return (-1);
	}
	return (buf_char(b, '"'));
}

/* "12345" milliseconds as "12.345" seconds, without arithmetic. */
static int
prom_ms(struct ctlrender_buf *b, const char *ms)
{
	size_t	n = strlen(ms);

	if (n <= 3)
		return (buf_str(b, "0.") == -1 ||
		    buf_add(b, "000", 3 - n) == -1 || buf_str(b, ms) == -1 ?
		    -1 : 0);
	if (buf_add(b, ms, n - 3) == -1 || buf_char(b, '.') == -1 ||
	    buf_add(b, ms + n - 3, 3) == -1)
		return (-1);
	return (0);
}

/*
 * One sample of a family from a record, with the record's labels, or
 * none (0) when the record lacks what the sample needs.  1 on a sample.
 */
static int
prom_sample(struct ctlrender_buf *b, const struct family *f,
    const struct ctl_line *l, int *typed)
{
	const char	*v, *id, *local;

	if ((v = ctl_line_get(l, f->key)) == NULL)
		return (0);
	if (f->conv != CONV_IS && !ctl_is_number(v))
		return (0);
	if (f->conv == CONV_MS && *v == '-')
		return (0);
	id = ctl_line_get(l, "id");
	if (strcmp(f->kind, "total") != 0 && id == NULL)
		return (0);
	if (!*typed) {
		if (buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name,
		    f->help, f->name, f->type) == -1)
			return (-1);
		*typed = 1;
	}
	if (buf_str(b, f->name) == -1)
		return (-1);
	if (strcmp(f->kind, "listener") == 0) {
		if ((local = ctl_line_get(l, "local")) == NULL)
			local = "-";
		if (buf_char(b, '{') == -1 ||
		    prom_label(b, "listener", id) == -1 ||
		    buf_char(b, ',') == -1 ||
		    prom_label(b, "local", local) == -1 ||
		    buf_char(b, '}') == -1)
			return (-1);
	} else if (strcmp(f->kind, "worker") == 0) {
		if (buf_char(b, '{') == -1 ||
		    prom_label(b, "worker", id) == -1 ||
		    buf_char(b, '}') == -1)
			return (-1);
	}
	if (buf_char(b, ' ') == -1)
		return (-1);
	switch (f->conv) {
	case CONV_VALUE:
		if (buf_str(b, v) == -1)
			return (-1);
		break;
	case CONV_MS:
		if (prom_ms(b, v) == -1)
			return (-1);
		break;
	case CONV_IS:
		if (buf_char(b, strcmp(v, f->arg) == 0 ? '1' : '0') == -1)
			return (-1);
		break;
	}
	return (buf_char(b, '\n') == -1 ? -1 : 1);
}

/*
 * The text exposition format, version 0.0.4, of a "show stats" reply:
 * each family's HELP and TYPE once, before its samples; a family with
 * no sample is left out, and so are records and keys not known here.
 */
int
ctlrender_metrics(const struct ctl_reply *r, struct ctlrender_buf *b)
{
	const struct family	*f;
	const struct ctl_line	*l;
	size_t			 i, k;
	int			 typed;

	if (buf_grow(b, 0) == -1)
		return (-1);
	for (k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
		f = &families[k];
		typed = 0;
		for (i = 0; i < r->nlines; i++) {
			l = &r->lines[i];
			if (l->type == CTL_RECORD &&
			    strcmp(l->kind, f->kind) == 0 &&
			    prom_sample(b, f, l, &typed) == -1)
				return (-1);
		}
	}
	return (0);
}

/* A raw "show stats" reply to Prometheus text, for the metrics process. */
int
ctlrender_prometheus(const char *data, size_t len, struct ctlrender_buf *b)
{
	struct ctl_reply	r;
	char			err[128];
	int			rc;

	if (ctl_reply_parse(data, len, &r, err, sizeof(err)) == -1)
		return (-1);
	rc = r.final->type == CTL_OK ? ctlrender_metrics(&r, b) : -1;
	ctl_reply_free(&r);
	return (rc);
}
