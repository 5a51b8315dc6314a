/*
 * The config file grammar of tcpproxy(8):
 *
 *	listen (*|host) (port|service) {
 *		remote: host port;
 *		resolv: ipv4|ipv6;
 *		remote-resolv: ipv4|ipv6;
 *		source: host;
 *		buffer-size: size;
 *	};
 *
 * It accepts everything the original accepted, and more leniently: any
 * white space or comment between tokens, no space needed after ':', '}'
 * and ';' apart, a last comment without a newline, IPv6 scope ids.
 *
 * The scanner is driven by the parser because ':' both ends a keyword and
 * lives inside IPv6 addresses: a word is any run of characters other
 * than white space and "{};#", and a statement's keyword is split off
 * at its first ':'.  Every error is reported with file:line:col and the
 * parser resynchronises at the next ';' or '}' to find the others.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define WORD_MAX	256

enum tok_kind { TOK_EOF, TOK_WORD, TOK_LBRACE, TOK_RBRACE, TOK_SEMI };

struct token {
	enum tok_kind	 kind;
	char		 word[WORD_MAX];
	struct conf_pos	 pos;
};

struct scanner {
	struct conf	*conf;
	const char	*buf;
	size_t		 len;
	size_t		 off;
	int		 line;
	int		 col;
	struct token	 peeked;
	int		 have_peeked;
};

static const char *
tok_name(const struct token *t)
{
	switch (t->kind) {
	case TOK_EOF:
		return ("end of file");
	case TOK_LBRACE:
		return ("'{'");
	case TOK_RBRACE:
		return ("'}'");
	case TOK_SEMI:
		return ("';'");
	default:
		return (t->word);
	}
}

static int
is_space(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f');
}

static int
is_word(int c)
{
	return (!is_space(c) && c != '{' && c != '}' && c != ';' &&
	    c != '#' && c != '\0');
}

static void
advance(struct scanner *sc)
{
	if (sc->buf[sc->off] == '\n') {
		sc->line++;
		sc->col = 1;
	} else
		sc->col++;
	sc->off++;
}

static void
skip_blank(struct scanner *sc)
{
	while (sc->off < sc->len) {
		char	c = sc->buf[sc->off];

		if (is_space(c))
			advance(sc);
		else if (c == '#') {
			while (sc->off < sc->len && sc->buf[sc->off] != '\n')
				advance(sc);
		} else
			break;
	}
}

static void
scan(struct scanner *sc, struct token *t)
{
	size_t	n = 0;
	char	c;

	if (sc->have_peeked) {
		*t = sc->peeked;
		sc->have_peeked = 0;
		return;
	}
	skip_blank(sc);
	t->pos.where = sc->conf->path;
	t->pos.line = sc->line;
	t->pos.col = sc->col;
	t->word[0] = '\0';
	if (sc->off >= sc->len) {
		t->kind = TOK_EOF;
		return;
	}
	c = sc->buf[sc->off];
	switch (c) {
	case '{':
		t->kind = TOK_LBRACE;
		advance(sc);
		return;
	case '}':
		t->kind = TOK_RBRACE;
		advance(sc);
		return;
	case ';':
		t->kind = TOK_SEMI;
		advance(sc);
		return;
	}
	t->kind = TOK_WORD;
	if (c == '\0') {
		/* A NUL is no word character; report it as one. */
		strlcpy(t->word, "NUL byte", sizeof(t->word));
		advance(sc);
		return;
	}
	while (sc->off < sc->len && is_word(sc->buf[sc->off])) {
		if (n < sizeof(t->word) - 1)
			t->word[n] = sc->buf[sc->off];
		n++;
		advance(sc);
	}
	if (n >= sizeof(t->word)) {
		/* Never let a cut-off name stand for another one. */
		conf_error(sc->conf, &t->pos, "word longer than %zu bytes",
		    sizeof(t->word) - 1);
		n = sizeof(t->word) - 1;
	}
	t->word[n] = '\0';
}

static void
unscan(struct scanner *sc, const struct token *t)
{
	sc->peeked = *t;
	sc->have_peeked = 1;
}

/* Skip to just after the next ';' or to (not past) the next '}'. */
static void
resync_statement(struct scanner *sc)
{
	struct token	t;

	for (;;) {
		scan(sc, &t);
		if (t.kind == TOK_SEMI || t.kind == TOK_EOF)
			return;
		if (t.kind == TOK_RBRACE) {
			unscan(sc, &t);
			return;
		}
	}
}

/* Skip a broken stanza: to just after its "}" and optional ";". */
static void
resync_stanza(struct scanner *sc)
{
	struct token	t;

	for (;;) {
		scan(sc, &t);
		if (t.kind == TOK_EOF)
			return;
		if (t.kind == TOK_WORD && strcmp(t.word, "listen") == 0) {
			unscan(sc, &t);
			return;
		}
		if (t.kind == TOK_RBRACE) {
			scan(sc, &t);
			if (t.kind != TOK_SEMI)
				unscan(sc, &t);
			return;
		}
	}
}

enum stmt_key {
	KEY_RESOLV, KEY_REMOTE, KEY_REMOTE_RESOLV, KEY_SOURCE, KEY_BUFFER_SIZE
};

static const struct {
	const char	*name;
	enum stmt_key	 key;
	int		 nvalues;
	const char	*usage;
} keywords[] = {
	{ "resolv",		KEY_RESOLV,		1, "ipv4 or ipv6" },
	{ "remote",		KEY_REMOTE,		2, "a host and a port" },
	{ "remote-resolv",	KEY_REMOTE_RESOLV,	1, "ipv4 or ipv6" },
	{ "source",		KEY_SOURCE,		1, "a host" },
	{ "buffer-size",	KEY_BUFFER_SIZE,	1, "a size" },
};

static int
set(struct scanner *sc, struct conf_value *v, const struct token *t)
{
	if (conf_value_set(v, t->word, &t->pos) == -1) {
		conf_error(sc->conf, &t->pos, "out of memory");
		return (-1);
	}
	return (0);
}

/*
 * One statement inside a stanza, its first word already scanned.
 * Returns 0 when parsed, -1 after an error (already resynchronised).
 */
static int
parse_statement(struct scanner *sc, struct conf_stanza *st,
    struct token *first)
{
	struct token	 values[2], t, keytok = *first;
	char		*colon, *rest = NULL;
	size_t		 k, nv = 0;

	/* "key:", "key:value", "key" then ":" or ":value". */
	if ((colon = strchr(keytok.word, ':')) != NULL) {
		*colon = '\0';
		rest = colon + 1;
	} else {
		scan(sc, &t);
		if (t.kind != TOK_WORD || t.word[0] != ':') {
			conf_error(sc->conf, &t.pos, "expected ':' after "
			    "'%s', found %s", keytok.word, tok_name(&t));
			if (t.kind != TOK_WORD)
				unscan(sc, &t);
			resync_statement(sc);
			return (-1);
		}
		values[0] = t;
		memmove(values[0].word, t.word + 1, strlen(t.word));
		values[0].pos.col++;
		if (values[0].word[0] != '\0')
			nv = 1;
	}
	for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
		if (strcmp(keytok.word, keywords[k].name) == 0)
			break;
	if (k == sizeof(keywords) / sizeof(keywords[0])) {
		conf_error(sc->conf, &keytok.pos, "unknown keyword '%s'",
		    keytok.word);
		resync_statement(sc);
		return (-1);
	}
	if (rest != NULL && *rest != '\0') {
		values[0] = keytok;
		memmove(values[0].word, rest, strlen(rest) + 1);
		values[0].pos.col += (int)(rest - keytok.word);
		nv = 1;
	}
	for (;;) {
		scan(sc, &t);
		if (t.kind == TOK_SEMI)
			break;
		if (t.kind != TOK_WORD) {
			conf_error(sc->conf, &t.pos, "expected ';' to end "
			    "'%s', found %s", keytok.word, tok_name(&t));
			unscan(sc, &t);
			resync_statement(sc);
			return (-1);
		}
		if (nv < 2)
			values[nv] = t;
		nv++;
	}
	if (nv != (size_t)keywords[k].nvalues) {
		conf_error(sc->conf, &keytok.pos, "'%s' takes %s",
		    keytok.word, keywords[k].usage);
		return (-1);
	}
	switch (keywords[k].key) {
	case KEY_RESOLV:
		return (set(sc, &st->local_family, &values[0]));
	case KEY_REMOTE:
		if (set(sc, &st->remote_host, &values[0]) == -1)
			return (-1);
		return (set(sc, &st->remote_port, &values[1]));
	case KEY_REMOTE_RESOLV:
		return (set(sc, &st->remote_family, &values[0]));
	case KEY_SOURCE:
		return (set(sc, &st->source_host, &values[0]));
	case KEY_BUFFER_SIZE:
		return (set(sc, &st->buffer_size, &values[0]));
	}
	return (-1);
}

/* A stanza, after its "listen" keyword. */
static void
parse_stanza(struct scanner *sc, const struct token *listen)
{
	struct conf_stanza	*st;
	struct token		 host, port, t;

	if ((st = conf_stanza_new(sc->conf, &listen->pos)) == NULL) {
		conf_error(sc->conf, &listen->pos, "out of memory");
		return;
	}
	scan(sc, &host);
	if (host.kind != TOK_WORD) {
		conf_error(sc->conf, &host.pos, "expected an address or '*' "
		    "after 'listen', found %s", tok_name(&host));
		goto bad;
	}
	scan(sc, &port);
	if (port.kind != TOK_WORD) {
		conf_error(sc->conf, &port.pos, "expected a port after "
		    "'listen %s', found %s", host.word, tok_name(&port));
		goto bad;
	}
	if (set(sc, &st->local_host, &host) == -1 ||
	    set(sc, &st->local_port, &port) == -1)
		goto bad;
	scan(sc, &t);
	if (t.kind != TOK_LBRACE) {
		conf_error(sc->conf, &t.pos, "expected '{' after 'listen %s "
		    "%s', found %s", host.word, port.word, tok_name(&t));
		goto bad;
	}
	for (;;) {
		scan(sc, &t);
		if (t.kind == TOK_RBRACE)
			break;
		if (t.kind == TOK_EOF) {
			conf_error(sc->conf, &t.pos, "unexpected end of file "
			    "in the stanza that starts at line %d",
			    listen->pos.line);
			return;
		}
		if (t.kind != TOK_WORD) {
			conf_error(sc->conf, &t.pos, "expected a keyword, "
			    "found %s", tok_name(&t));
			continue;
		}
		parse_statement(sc, st, &t);
	}
	scan(sc, &t);
	if (t.kind != TOK_SEMI) {
		conf_error(sc->conf, &t.pos, "expected ';' after '}', "
		    "found %s", tok_name(&t));
		unscan(sc, &t);
	}
	return;
bad:
	resync_stanza(sc);
}

static void
parse_buffer(struct conf *c, const char *buf, size_t len)
{
	struct scanner	sc;
	struct token	t;
	int		lost = 0;	/* report a run of junk once */

	memset(&sc, 0, sizeof(sc));
	sc.conf = c;
	sc.buf = buf;
	sc.len = len;
	sc.line = sc.col = 1;
	for (;;) {
		scan(&sc, &t);
		if (t.kind == TOK_EOF)
			break;
		if (t.kind == TOK_WORD && strcmp(t.word, "listen") == 0) {
			lost = 0;
			parse_stanza(&sc, &t);
			continue;
		}
		if (!lost)
			conf_error(c, &t.pos, "expected 'listen', found %s",
			    tok_name(&t));
		lost = 1;
	}
}

/*
 * Read and parse a config file.  Returns the number of errors; the
 * stanzas parsed so far stay in c for the caller to discard.
 */
int
conf_parse_file(struct conf *c, const char *path)
{
	struct conf_pos	 pos = { path, 0, 0 };
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((c->path = strdup(path)) == NULL) {
		conf_error(c, &pos, "out of memory");
		return (c->nerrors);
	}
	pos.where = c->path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_error(c, &pos, "cannot open: %s", strerror(errno));
		return (c->nerrors);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_error(c, &pos, "not a regular file");
		close(fd);
		return (c->nerrors);
	}
	if (st.st_size > CONF_FILE_MAX) {
		conf_error(c, &pos, "larger than %d bytes", CONF_FILE_MAX);
		close(fd);
		return (c->nerrors);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		conf_error(c, &pos, "out of memory");
		close(fd);
		return (c->nerrors);
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			conf_error(c, &pos, "cannot read: %s",
			    n == 0 ? "file shrank" : strerror(errno));
			free(buf);
			close(fd);
			return (c->nerrors);
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	parse_buffer(c, buf, len);
	free(buf);
	return (c->nerrors);
}
