/*
 * Control socket replies, parsed and checked; see ctlrecord.h.  The
 * reader is strict: a line that is not one of the three kinds, a key
 * that is not [a-z][a-z0-9_]*, a broken %XX or anything after the final
 * line makes the whole reply an error, never a guess.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlrecord.h"

/*
 * One word for a record value: every byte outside 0x21..0x7e, and '%'
 * and '=', becomes %XX; an empty value is "-".  Returns the length it
 * needs (like strlcpy); out is always terminated when outlen > 0.
 */
size_t
ctl_escape(const char *in, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 n = 0;

	if (*p == '\0')
		p = (const unsigned char *)"-";
	for (; *p != '\0'; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '%' && *p != '=') {
			if (n + 1 < outlen)
				out[n] = (char)*p;
			n++;
			continue;
		}
		if (n + 3 < outlen) {
			out[n] = '%';
			out[n + 1] = hex[*p >> 4];
			out[n + 2] = hex[*p & 0xf];
		}
		n += 3;
	}
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	return (n);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* In place: %XX back to its byte.  -1 on a broken escape or a NUL. */
static int
unescape(char *s)
{
	char	*w = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if ((hi = hexval(s[1])) == -1 || (lo = hexval(s[2])) == -1 ||
		    (hi == 0 && lo == 0))
			return (-1);
		*w++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*w = '\0';
	return (0);
}

static int
valid_key(const char *k)
{
	if (*k < 'a' || *k > 'z')
		return (0);
	for (k++; *k != '\0'; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
		    *k == '_'))
			return (0);
	return (1);
}

static int
parse_record(char *line, struct ctlrecord *r, const char **why)
{
	char	*word, *eq;

	memset(r, 0, sizeof(*r));
	if ((r->kind = strsep(&line, " ")) == NULL || !valid_key(r->kind)) {
		*why = "a record without a kind";
		return (-1);
	}
	while ((word = strsep(&line, " ")) != NULL) {
		if ((eq = strchr(word, '=')) == NULL || eq == word ||
		    eq[1] == '\0') {
			*why = "a field that is not key=value";
			return (-1);
		}
		*eq = '\0';
		if (!valid_key(word) || unescape(eq + 1) == -1) {
			*why = "a bad key or escape";
			return (-1);
		}
		if (r->nfields == CTLRECORD_FIELDS_MAX) {
			*why = "too many fields";
			return (-1);
		}
		r->key[r->nfields] = word;
		r->value[r->nfields++] = eq + 1;
	}
	return (0);
}

static int
append(void *arrayp, size_t *n, size_t size)
{
	void	**array = arrayp, *p;

	if ((p = reallocarray(*array, *n + 1, size)) == NULL)
		return (-1);
	*array = p;
	(*n)++;
	return (0);
}

/*
 * Parse buf (len bytes, the whole reply as received) into reply, whose
 * strings point into a copy it owns.  0 on success; -1 with why in err.
 * A reply that ends before its final line parses, with complete 0.
 */
int
ctlreply_parse(const char *buf, size_t len, struct ctlreply *reply,
    char *err, size_t errlen)
{
	char		*copy, *p, *line, *nl;
	const char	*why = NULL;
	size_t		 lineno = 0;

	memset(reply, 0, sizeof(*reply));
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "a NUL byte in the reply");
		return (-1);
	}
	if ((copy = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	reply->buf = copy;
	for (p = copy; *p != '\0'; p = nl + 1) {
		lineno++;
		line = p;
		if ((nl = strchr(p, '\n')) == NULL) {
			why = "a line without its newline";
			break;
		}
		*nl = '\0';
		if (strlen(line) > CTLRECORD_LINE_MAX) {
			why = "a line too long";
			break;
		}
		if (reply->complete) {
			why = "text after the final line";
			break;
		}
		if (strncmp(line, "record ", 7) == 0) {
			if (append(&reply->records, &reply->nrecords,
			    sizeof(*reply->records)) == -1)
				goto nomem;
			if (parse_record(line + 7,
			    &reply->records[reply->nrecords - 1], &why) == -1)
				break;
		} else if (strncmp(line, "info ", 5) == 0) {
			if (append(&reply->info, &reply->ninfo,
			    sizeof(char *)) == -1)
				goto nomem;
			reply->info[reply->ninfo - 1] = line + 5;
		} else if (strcmp(line, "ok") == 0 ||
		    strncmp(line, "ok ", 3) == 0) {
			reply->complete = reply->ok = 1;
			reply->message = line[2] != '\0' ? line + 3 : NULL;
		} else if (strcmp(line, "error") == 0 ||
		    strncmp(line, "error ", 6) == 0) {
			reply->complete = 1;
			reply->message = line[5] != '\0' ? line + 6 : NULL;
		} else {
			why = "a line of no known kind";
			break;
		}
	}
	if (why != NULL) {
		snprintf(err, errlen, "malformed reply, line %zu: %s", lineno,
		    why);
		ctlreply_free(reply);
		return (-1);
	}
	return (0);
nomem:
	snprintf(err, errlen, "out of memory");
	ctlreply_free(reply);
	return (-1);
}

void
ctlreply_free(struct ctlreply *reply)
{
	free(reply->buf);
	free(reply->info);
	free(reply->records);
	memset(reply, 0, sizeof(*reply));
}

/* The value of key in r, or NULL. */
const char *
ctlrecord_get(const struct ctlrecord *r, const char *key)
{
	size_t	i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->key[i], key) == 0)
			return (r->value[i]);
	return (NULL);
}
