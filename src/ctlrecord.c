/*
 * Control replies; see ctlrecord.h.  The parser is strict: the master
 * is trusted to speak the protocol exactly, so anything else means a
 * broken or foreign peer, and a renderer must not guess at it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlrecord.h"

static const char	hex[] = "0123456789ABCDEF";

/* A byte a value may carry as it is; the others travel as %XX. */
static int
plain(unsigned char c)
{
	return (c > 0x20 && c < 0x7f && c != '%' && c != '=');
}

/*
 * Escape src into dst (of size bytes, NUL terminated unless size is 0)
 * for a record's value; NULL or "" becomes "-".  Returns the length of
 * the whole escaped value, as strlcpy(3) does: a return >= size means
 * dst holds as many leading escapes as fit whole.
 */
size_t
ctl_escape(char *dst, size_t size, const char *src)
{
	const unsigned char	*p;
	size_t			 n = 0, out = 0, w;
	int			 full = size == 0;

	if (src == NULL || *src == '\0')
		src = "-";
	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		w = plain(*p) ? 1 : 3;
		if (!full && out + w < size) {
			if (w == 1)
				dst[out] = (char)*p;
			else {
				dst[out] = '%';
				dst[out + 1] = hex[*p >> 4];
				dst[out + 2] = hex[*p & 0xf];
			}
			out += w;
		} else
			full = 1;
		n += w;
	}
	if (size > 0)
		dst[out] = '\0';
	return (n);
}

/* ^(0|-?[1-9][0-9]*)$: what JSON and Prometheus take as a number. */
int
ctl_is_number(const char *s)
{
	if (strcmp(s, "0") == 0)
		return (1);
	if (*s == '-')
		s++;
	if (*s < '1' || *s > '9')
		return (0);
	while (*++s != '\0')
		if (*s < '0' || *s > '9')
			return (0);
	return (1);
}

const char *
ctl_line_get(const struct ctl_line *l, const char *key)
{
	size_t	i;

	for (i = 0; i < l->nfields; i++)
		if (strcmp(l->fields[i].key, key) == 0)
			return (l->fields[i].value);
	return (NULL);
}

/* [a-z][a-z0-9_]*, for keys and kinds. */
static int
valid_name(const char *s)
{
	size_t	n;

	if (*s < 'a' || *s > 'z')
		return (0);
	for (n = 1; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return (0);
	return (n <= CTL_KEY_MAX);
}

static int
hexval(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(hex, c)) == NULL)
		return (-1);
	return ((int)(p - hex));
}

/* Undo ctl_escape() in place; -1 with why on a malformed value. */
static int
unescape(char *v, const char **why)
{
	char	*out = v;
	int	 hi, lo;

	if (*v == '\0') {
		*why = "empty value";
		return (-1);
	}
	for (; *v != '\0'; v++) {
		if (*v == '%') {
			if ((hi = hexval(v[1])) == -1 ||
			    (lo = hexval(v[2])) == -1) {
				*why = "'%' not followed by two uppercase "
				    "hex digits";
				return (-1);
			}
			if (hi == 0 && lo == 0) {
				*why = "%00 in a value";
				return (-1);
			}
			*out++ = (char)(hi << 4 | lo);
			v += 2;
		} else if (plain((unsigned char)*v))
			*out++ = *v;
		else {
			*why = *v == '=' ? "unescaped '=' in a value" :
			    "unescaped byte in a value";
			return (-1);
		}
	}
	*out = '\0';
	return (0);
}

/* Human text: anything but control characters (a tab is fine). */
static int
valid_text(const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return (0);
	return (1);
}

/* "KIND key=value ..." after "record "; fields has room for them all. */
static int
parse_record(char *s, struct ctl_line *l, const char **why)
{
	char	*word, *eq;
	size_t	 i;

	word = strsep(&s, " ");
	if (!valid_name(word)) {
		*why = "invalid record kind";
		return (-1);
	}
	l->kind = word;
	while (s != NULL) {
		word = strsep(&s, " ");
		if (l->nfields == CTL_FIELDS_MAX) {
			*why = "too many fields in a record";
			return (-1);
		}
		if ((eq = strchr(word, '=')) == NULL) {
			*why = "a field without '='";
			return (-1);
		}
		*eq = '\0';
		if (!valid_name(word)) {
			*why = "invalid key";
			return (-1);
		}
		for (i = 0; i < l->nfields; i++)
			if (strcmp(l->fields[i].key, word) == 0) {
				*why = "a key given twice";
				return (-1);
			}
		if (unescape(eq + 1, why) == -1)
			return (-1);
		l->fields[l->nfields].key = word;
		l->fields[l->nfields++].value = eq + 1;
	}
	return (0);
}

/* One line, its newline already cut off. */
static int
parse_line(char *s, struct ctl_line *l, const char **why)
{
	char	*text = NULL;

	if (strncmp(s, "record ", 7) == 0) {
		l->type = CTL_RECORD;
		return (parse_record(s + 7, l, why));
	}
	if (strcmp(s, "ok") == 0) {
		l->type = CTL_OK;
		l->text = "";
		return (0);
	}
	if (strncmp(s, "ok ", 3) == 0) {
		l->type = CTL_OK;
		text = s + 3;
	} else if (strncmp(s, "info ", 5) == 0) {
		l->type = CTL_INFO;
		text = s + 5;
	} else if (strncmp(s, "error ", 6) == 0) {
		l->type = CTL_ERROR;
		text = s + 6;
	} else {
		*why = "not a record, info, ok or error line";
		return (-1);
	}
	if (*text == '\0') {
		*why = "empty text";
		return (-1);
	}
	if (!valid_text(text)) {
		*why = "control character in text";
		return (-1);
	}
	l->text = text;
	return (0);
}

/*
 * Parse a whole reply: lines ending in newlines, exactly one final line
 * and it the last.  Returns 0, or -1 with the reason in err: the line
 * number and what is wrong with it.  A reply that parsed is freed with
 * ctl_reply_free(); one that did not holds nothing.
 */
int
ctl_reply_parse(const char *data, size_t len, struct ctl_reply *r,
    char *err, size_t errlen)
{
	const char	*why = NULL;
	char		*p, *nl;
	size_t		 i, nlines = 0, nspaces = 0, nfields = 0, lineno = 0;

	memset(r, 0, sizeof(*r));
	if (len > CTL_REPLY_MAX) {
		snprintf(err, errlen, "longer than %u bytes",
		    CTL_REPLY_MAX);
		return (-1);
	}
	if (len == 0) {
		snprintf(err, errlen, "empty: closed without an answer");
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if (data[i] == '\n')
			nlines++;
		else if (data[i] == ' ')
			nspaces++;
		else if (data[i] == '\0') {
			snprintf(err, errlen, "line %zu: NUL byte",
			    nlines + 1);
			return (-1);
		}
	}
	if (data[len - 1] != '\n') {
		snprintf(err, errlen, "truncated: line %zu has no "
		    "newline", nlines + 1);
		return (-1);
	}
	if ((r->buf = malloc(len + 1)) == NULL ||
	    (r->lines = calloc(nlines, sizeof(*r->lines))) == NULL ||
	    (r->fields = calloc(nspaces + 1, sizeof(*r->fields))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(r->buf, data, len);
	r->buf[len] = '\0';
	for (p = r->buf; *p != '\0'; p = nl + 1) {
		struct ctl_line	*l = &r->lines[lineno++];

		nl = strchr(p, '\n');
		*nl = '\0';
		if ((size_t)(nl - p) + 1 > CTL_LINE_MAX)
			why = "line too long";
		else if (r->final != NULL)
			why = "more after the final line";
		else {
			l->fields = r->fields + nfields;
			if (parse_line(p, l, &why) == 0) {
				nfields += l->nfields;
				if (l->type == CTL_OK || l->type == CTL_ERROR)
					r->final = l;
			}
		}
		if (why != NULL) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			goto fail;
		}
	}
	r->nlines = nlines;
	if (r->final == NULL) {
		snprintf(err, errlen, "truncated: no final ok or error "
		    "line");
		goto fail;
	}
	return (0);
fail:
	ctl_reply_free(r);
	return (-1);
}

void
ctl_reply_free(struct ctl_reply *r)
{
	free(r->buf);
	free(r->lines);
	free(r->fields);
	memset(r, 0, sizeof(*r));
}
