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
 * plus what tcpproxy.conf(5) adds: limits, rules, the PROXY protocol,
 * server:, backup:, balance:, down-after:, down-for: and so on.
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

enum tok_kind { TOK_EOF, TOK_WORD, TOK_LBRACE, TOK_RBRACE, TOK_SEMI, TOK_NUL };

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
	case TOK_NUL:
		return ("NUL byte");
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
	if (c == '\0') {
		/*
		 * A token of its own, never a word: as a word it became a
		 * value (a host, a port) that the file does not contain.
		 */
		t->kind = TOK_NUL;
		advance(sc);
		return;
	}
	t->kind = TOK_WORD;
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
	KEY_RESOLV, KEY_REMOTE, KEY_REMOTE_RESOLV, KEY_SOURCE, KEY_BUFFER_SIZE,
	KEY_SERVER, KEY_BACKUP, KEY_BALANCE,
	KEY_POLICY,	/* conf_policy_set() takes it */
	KEY_SHUTDOWN_TIMEOUT,
	KEY_METRICS
};

static const struct {
	const char	*name;
	enum stmt_key	 key;
	int		 minvalues;
	int		 maxvalues;
	int		 global;	/* 1: outside a stanza too; 2: only */
	const char	*usage;
} keywords[] = {
	{ "resolv",	   KEY_RESOLV,	      1, 1, 0, "ipv4 or ipv6" },
	{ "remote",	   KEY_REMOTE,	      2, 2, 0, "a host and a port" },
	{ "remote-resolv", KEY_REMOTE_RESOLV, 1, 1, 0, "ipv4 or ipv6" },
	{ "server",	   KEY_SERVER,	      2, 4, 0,
	    "a host, a port and an optional 'weight N'" },
	{ "backup",	   KEY_BACKUP,	      2, 2, 0, "a host and a port" },
	{ "balance",	   KEY_BALANCE,	      1, 1, 0,
	    "first, round-robin or source-hash" },
	{ "down-after",	   KEY_POLICY,	      1, 1, 1, "a number" },
	{ "down-for",	   KEY_POLICY,	      1, 1, 1, "a time" },
	{ "resolve-interval", KEY_POLICY,     1, 1, 1, "a time" },
	{ "source",	   KEY_SOURCE,	      1, 1, 0, "a host" },
	{ "buffer-size",   KEY_BUFFER_SIZE,   1, 1, 0, "a size" },
	{ "connect-timeout", KEY_POLICY,      1, 1, 0, "a time" },
	{ "idle-timeout",  KEY_POLICY,	      1, 1, 0, "a time" },
	{ "fin-timeout",   KEY_POLICY,	      1, 1, 0, "a time" },
	{ "keepalive",	   KEY_POLICY,	      1, 1, 0, "on or off" },
	{ "max-connections", KEY_POLICY,      1, 1, 0, "a number" },
	{ "max-per-source", KEY_POLICY,	      1, 2, 0,
	    "a number and an optional IPv6 /prefix" },
	{ "proxy-protocol", KEY_POLICY,	      1, 1, 0, "v1, v2 or off" },
	{ "allow",	   KEY_POLICY,	      1, 1, 1, "an address/prefix" },
	{ "deny",	   KEY_POLICY,	      1, 1, 1, "an address/prefix" },
	{ "shutdown-timeout", KEY_SHUTDOWN_TIMEOUT, 1, 1, 2, "a time" },
	{ "metrics",	   KEY_METRICS,	      2, 2, 2, "an address and a port" },
	{ "accept-proxy-protocol", KEY_POLICY, 1, 1, 1, "v1, v2, any or off" },
	{ "proxy-trusted", KEY_POLICY,	      1, 1, 1, "an address/prefix" },
	{ "proxy-header-timeout", KEY_POLICY, 1, 1, 1, "a time" },
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

static int
set_policy(struct scanner *sc, struct conf_policy *p, const char *key,
    const struct token *t)
{
	return (conf_policy_set(sc->conf, p, key, t->word, &t->pos) == 1 ?
	    0 : -1);
}

/* server: host port [weight N]; backup: host port; in the order given. */
static int
parse_backend(struct scanner *sc, struct conf_stanza *st, int server,
    const struct token *values, size_t nv)
{
	struct conf_backend	*b;

	if (server && st->nservers == CONF_SERVERS_MAX) {
		conf_error(sc->conf, &values[0].pos, "more than %d server "
		    "lines in one stanza", CONF_SERVERS_MAX);
		return (-1);
	}
	if (!server && st->nbackups == CONF_BACKUPS_MAX) {
		conf_error(sc->conf, &values[0].pos, "more than %d backup "
		    "lines in one stanza", CONF_BACKUPS_MAX);
		return (-1);
	}
	if (nv == 3 || (nv == 4 && strcmp(values[2].word, "weight") != 0)) {
		conf_error(sc->conf, &values[2].pos, "expected 'weight N' "
		    "after the port, found '%s'", values[2].word);
		return (-1);
	}
	b = server ? &st->servers[st->nservers] : &st->backups[st->nbackups];
	if (set(sc, &b->host, &values[0]) == -1 ||
	    set(sc, &b->port, &values[1]) == -1 ||
	    (nv == 4 && set(sc, &b->weight, &values[3]) == -1))
		return (-1);
	if (server)
		st->nservers++;
	else
		st->nbackups++;
	return (0);
}

/*
 * Split the keyword off its first value: "key:", "key:value", or "key"
 * then ":" or ":value" as the next word.  *nv is 1 when a value came
 * with the colon.  Returns -1 after an error (already resynchronised).
 */
static int
split_keyword(struct scanner *sc, struct token *key, struct token *value,
    size_t *nv)
{
	struct token	 t;
	char		*colon, *rest;

	*nv = 0;
	if ((colon = strchr(key->word, ':')) != NULL) {
		*colon = '\0';
		rest = colon + 1;
		if (*rest != '\0') {
			*value = *key;
			memmove(value->word, rest, strlen(rest) + 1);
			value->pos.col += (int)(rest - key->word);
			*nv = 1;
		}
		return (0);
	}
	scan(sc, &t);
	if (t.kind != TOK_WORD || t.word[0] != ':') {
		conf_error(sc->conf, &t.pos, "expected ':' after "
		    "'%s', found %s", key->word, tok_name(&t));
		if (t.kind != TOK_WORD)
			unscan(sc, &t);
		resync_statement(sc);
		return (-1);
	}
	*value = t;
	memmove(value->word, t.word + 1, strlen(t.word));
	value->pos.col++;
	if (value->word[0] != '\0')
		*nv = 1;
	return (0);
}

/*
 * The keywords[] entry of a keyword that may stand here (st NULL: at the
 * top of the file), or -1 after an error (already resynchronised).
 */
static int
find_keyword(struct scanner *sc, const struct conf_stanza *st,
    const struct token *key)
{
	size_t	k;

	for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
		if (strcmp(key->word, keywords[k].name) == 0)
			break;
	if (k == sizeof(keywords) / sizeof(keywords[0])) {
		conf_error(sc->conf, &key->pos, "unknown keyword '%s'",
		    key->word);
		resync_statement(sc);
		return (-1);
	}
	if (st == NULL && !keywords[k].global) {
		conf_error(sc->conf, &key->pos, "'%s' belongs inside a "
		    "listen stanza", key->word);
		resync_statement(sc);
		return (-1);
	}
	if (st != NULL && keywords[k].global == 2) {
		conf_error(sc->conf, &key->pos, "'%s' belongs at the top "
		    "of the file, outside any listen stanza", key->word);
		resync_statement(sc);
		return (-1);
	}
	return ((int)k);
}

/*
 * The values up to the ';' that ends the statement, after the *nv (0 or
 * 1) that came with the keyword.  *nv counts them all, so that too many
 * can be reported; values[] keeps the first max.
 */
static int
scan_values(struct scanner *sc, const struct token *key,
    struct token *values, size_t max, size_t *nv)
{
	struct token	t;

	for (;;) {
		scan(sc, &t);
		if (t.kind == TOK_SEMI)
			return (0);
		if (t.kind != TOK_WORD) {
			conf_error(sc->conf, &t.pos, "expected ';' to end "
			    "'%s', found %s", key->word, tok_name(&t));
			unscan(sc, &t);
			resync_statement(sc);
			return (-1);
		}
		if (*nv < max)
			values[*nv] = t;
		(*nv)++;
	}
}

/*
 * A conf_policy statement (limits, timeouts, rules, ...): the stanza's,
 * or at the top of the file (st NULL) every stanza's default.
 */
static int
parse_policy(struct scanner *sc, struct conf_stanza *st, const char *key,
    const struct token *values, size_t nv)
{
	struct conf_policy	*p = st ? &st->policy : &sc->conf->global;

	if (set_policy(sc, p, key, &values[0]) == -1)
		return (-1);
	/* max-per-source: 10 /64; */
	if (nv == 2)
		return (set_policy(sc, p, "source-prefix", &values[1]));
	return (0);
}

/* Any other statement: a value of the stanza, or of the whole file. */
static int
parse_setting(struct scanner *sc, struct conf_stanza *st, enum stmt_key key,
    const struct token *values, size_t nv)
{
	switch (key) {
	case KEY_RESOLV:
		return (set(sc, &st->local_family, &values[0]));
	case KEY_REMOTE:
		if (set(sc, &st->remote_host, &values[0]) == -1)
			return (-1);
		return (set(sc, &st->remote_port, &values[1]));
	case KEY_REMOTE_RESOLV:
		return (set(sc, &st->remote_family, &values[0]));
	case KEY_SERVER:
	case KEY_BACKUP:
		return (parse_backend(sc, st, key == KEY_SERVER, values, nv));
	case KEY_BALANCE:
		return (set(sc, &st->balance, &values[0]));
	case KEY_SOURCE:
		return (set(sc, &st->source_host, &values[0]));
	case KEY_BUFFER_SIZE:
		return (set(sc, &st->buffer_size, &values[0]));
	case KEY_SHUTDOWN_TIMEOUT:
		return (set(sc, &sc->conf->shutdown_timeout, &values[0]));
	case KEY_METRICS:
		if (set(sc, &sc->conf->metrics_host, &values[0]) == -1)
			return (-1);
		return (set(sc, &sc->conf->metrics_port, &values[1]));
	case KEY_POLICY:
		break;		/* parse_policy()'s */
	}
	return (-1);
}

/*
 * One statement, its first word already scanned: inside a stanza, or
 * at the top of the file (st NULL) where only the global keywords
 * (allow, deny, accept-proxy-protocol, ...) may stand.
 * Returns 0 when parsed, -1 after an error (already resynchronised).
 */
static int
parse_statement(struct scanner *sc, struct conf_stanza *st,
    struct token *first)
{
	struct token	 values[4], key = *first;
	size_t		 nv;
	int		 k;

	if (split_keyword(sc, &key, &values[0], &nv) == -1 ||
	    (k = find_keyword(sc, st, &key)) == -1 ||
	    scan_values(sc, &key, values, sizeof(values) / sizeof(values[0]),
	    &nv) == -1)
		return (-1);
	if (nv < (size_t)keywords[k].minvalues ||
	    nv > (size_t)keywords[k].maxvalues) {
		conf_error(sc->conf, &key.pos, "'%s' takes %s",
		    key.word, keywords[k].usage);
		return (-1);
	}
	if (keywords[k].key == KEY_POLICY)
		return (parse_policy(sc, st, key.word, values, nv));
	return (parse_setting(sc, st, keywords[k].key, values, nv));
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

/* Does this word start a statement allowed at the top of the file? */
static int
is_global(const char *word)
{
	size_t	k, n = strcspn(word, ":");

	if (strncmp(word, "allow", 5) == 0 || strncmp(word, "deny", 4) == 0)
		return (1);
	for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
		if (keywords[k].global && strlen(keywords[k].name) == n &&
		    strncmp(word, keywords[k].name, n) == 0)
			return (1);
	return (0);
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
		if (t.kind == TOK_WORD && is_global(t.word)) {
			lost = 0;
			parse_statement(&sc, NULL, &t);
			continue;
		}
		if (!lost)
			conf_error(c, &t.pos, "expected 'listen', found %s",
			    tok_name(&t));
		lost = 1;
	}
}

/*
 * Remember the file name that positions point into, unless it is the
 * one already there (conf_parse_file sets it before reading).
 */
static int
set_path(struct conf *c, const char *path)
{
	struct conf_pos	 pos = { path, 0, 0 };
	char		*copy;

	if (c->path != NULL && strcmp(c->path, path) == 0)
		return (0);
	if ((copy = strdup(path)) == NULL) {
		conf_error(c, &pos, "out of memory");
		return (-1);
	}
	free(c->path);
	c->path = copy;
	return (0);
}

/*
 * Parse a config held in memory: len bytes at buf, which need not be
 * NUL-terminated; path names it in error messages.  Returns the number
 * of errors, as conf_parse_file does.
 */
int
conf_parse_buffer(struct conf *c, const char *path, const char *buf,
    size_t len)
{
	struct conf_pos	 pos = { path, 0, 0 };

	if (set_path(c, path) == -1)
		return (c->nerrors);
	pos.where = c->path;
	if (len > CONF_FILE_MAX) {
		conf_error(c, &pos, "larger than %d bytes", CONF_FILE_MAX);
		return (c->nerrors);
	}
	parse_buffer(c, buf, len);
	return (c->nerrors);
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

	if (set_path(c, path) == -1)
		return (c->nerrors);
	pos.where = c->path;
	/* Non-blocking: a FIFO must not hang the master; it is refused below. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
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
	conf_parse_buffer(c, c->path, buf, len);
	free(buf);
	return (c->nerrors);
}
