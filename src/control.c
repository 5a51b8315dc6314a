/*
 * The control socket; see control.h and tcpproxyctl(8).
 *
 * Nothing a client does may stall the master: every socket is
 * non-blocking, a request is one bounded line that must come within
 * CONTROL_READ_MS, a reply is bounded and must be taken within
 * CONTROL_WRITE_MS, and at most CONTROL_CLIENTS_MAX clients are served
 * at once (one more is told so and closed).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "ctlrecord.h"
#include "log.h"
#include "nbwrite.h"

#define CONTROL_READ_MS		5000	/* for the request line */
#define CONTROL_ANSWER_MS	60000	/* for the master's answer */
#define CONTROL_WRITE_MS	10000	/* for the client to take it */
#define CONTROL_REPLY_MAX	(64u << 20)

enum client_state {
	CLIENT_FREE,
	CLIENT_READING,		/* the request line */
	CLIENT_WAITING,		/* for the master's answer */
	CLIENT_WRITING,		/* the final line is queued */
};

struct client {
	enum client_state	 state;
	uint32_t		 id;
	int			 fd;
	int			 persistent;	/* attached: request after request */
	int			 readonly;	/* attached: show commands only */
	char			 line[CONTROL_LINE_MAX];
	size_t			 linelen;
	char			*out;
	size_t			 outlen, outoff, outsize;
	int			 overflow;	/* the reply outgrew the bound */
	int64_t			 deadline_ms;
};

static struct {
	int			 fd;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler_fn	 handler;
	int			 handed_over;	/* to an upgraded master */
	uint32_t		 next_id;
	struct client		 clients[CONTROL_CLIENTS_MAX];
} ctl = { .fd = -1 };

static struct client *
find(uint32_t id)
{
	int	i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (ctl.clients[i].state != CLIENT_FREE &&
		    ctl.clients[i].id == id)
			return (&ctl.clients[i]);
	return (NULL);
}

int
control_alive(uint32_t id)
{
	return (find(id) != NULL);
}

static void
client_drop(struct client *c)
{
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->state = CLIENT_FREE;
}

/* Queue bytes of the reply; past the bound, the rest is dropped. */
static void
client_append(struct client *c, const char *s, size_t len)
{
	char	*p;
	size_t	 size;

	if (c->overflow)
		return;
	if (c->outlen + len > CONTROL_REPLY_MAX) {
		c->overflow = 1;
		return;
	}
	if (c->outlen + len > c->outsize) {
		size = c->outsize > 0 ? c->outsize : 4096;
		while (size < c->outlen + len)
			size *= 2;
		if ((p = realloc(c->out, size)) == NULL) {
			c->overflow = 1;
			return;
		}
		c->out = p;
		c->outsize = size;
	}
	memcpy(c->out + c->outlen, s, len);
	c->outlen += len;
}

static void
client_line(struct client *c, const char *fmt, va_list ap)
{
	char	buf[CONTROL_LINE_MAX * 2];
	int	n;

	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	/* One line each: a control character never splits a reply line. */
	log_sanitize(buf, (size_t)n);
	buf[n++] = '\n';
	client_append(c, buf, (size_t)n);
}

static void
client_say(struct client *c, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
client_say(struct client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	client_line(c, fmt, ap);
	va_end(ap);
}

static void
client_end(struct client *c, int ok, const char *text)
{
	if (c->overflow) {
		/* Drop the partial reply: the client sees one clear error. */
		c->outlen = c->outoff = 0;
		c->overflow = 0;
		client_say(c, "error reply larger than %u bytes",
		    CONTROL_REPLY_MAX);
	} else if (text == NULL || *text == '\0')
		client_say(c, ok ? "ok" : "error");
	else
		client_say(c, "%s %s", ok ? "ok" : "error", text);
	c->state = CLIENT_WRITING;
	c->deadline_ms = clock_now_ms() + CONTROL_WRITE_MS;
}

void
control_info(uint32_t id, const char *fmt, ...)
{
	struct client	*c = find(id);
	char		 buf[CONTROL_LINE_MAX];
	va_list		 ap;

	if (c == NULL || c->state != CLIENT_WAITING)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	client_say(c, "info %s", buf);
}

void
control_finish(uint32_t id, int ok, const char *fmt, ...)
{
	struct client	*c = find(id);
	char		 buf[CONTROL_LINE_MAX];
	va_list		 ap;

	if (c == NULL || c->state != CLIENT_WAITING)
		return;
	buf[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
	}
	client_end(c, ok, buf);
}

/* Values are one word each: see ctl_escape(). */
static void
record_append(struct control_record *r, const char *s, size_t len)
{
	if (r->len + len >= sizeof(r->buf))
		len = sizeof(r->buf) - 1 - r->len;
	memcpy(r->buf + r->len, s, len);
	r->len += len;
	r->buf[r->len] = '\0';
}

void
control_record_begin(struct control_record *r, const char *kind)
{
	r->len = 0;
	r->buf[0] = '\0';
	record_append(r, "record ", 7);
	record_append(r, kind, strlen(kind));
}

void
control_record_str(struct control_record *r, const char *key,
    const char *value)
{
	char	esc[sizeof(r->buf)];
	size_t	len;

	record_append(r, " ", 1);
	record_append(r, key, strlen(key));
	record_append(r, "=", 1);
	len = ctl_escape(esc, sizeof(esc), value);
	record_append(r, esc, len < sizeof(esc) ? len : sizeof(esc) - 1);
}

void
control_record_u64(struct control_record *r, const char *key, uint64_t v)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	control_record_str(r, key, buf);
}

void
control_record_send(uint32_t id, const struct control_record *r)
{
	struct client	*c = find(id);

	if (c == NULL || c->state != CLIENT_WAITING)
		return;
	client_append(c, r->buf, r->len);
	client_append(c, "\n", 1);
}

/* A whole non-negative number, or -1. */
static long long
number(const char *s, long long max)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(s, 0, max, &errstr);
	return (errstr != NULL ? -1 : n);
}

/*
 * The request grammar: exact words, exact counts.  Returns 0 with req
 * filled in, or -1 with the reason in why.
 */
static int
parse_request(char *line, int readonly, struct control_request *req,
    const char **why)
{
	char		*word[5], *p, *dot;
	int		 n = 0;
	long long	 v;

	memset(req, 0, sizeof(*req));
	req->drain_seconds = -1;
	for (p = line; n < 5 && (word[n] = strsep(&p, " ")) != NULL; n++)
		if (*word[n] == '\0') {
			*why = "empty word in request";
			return (-1);
		}
	if (p != NULL || n == 0) {
		*why = n == 0 ? "empty request" : "too many words";
		return (-1);
	}
	*why = "unknown command";
	if (strcmp(word[0], "show") == 0 && n >= 2) {
		if (strcmp(word[1], "listeners") == 0 && n == 2)
			req->cmd = CONTROL_SHOW_LISTENERS;
		else if (strcmp(word[1], "stats") == 0 && n == 2)
			req->cmd = CONTROL_SHOW_STATS;
		else if (strcmp(word[1], "workers") == 0 && n == 2)
			req->cmd = CONTROL_SHOW_WORKERS;
		else if (strcmp(word[1], "connections") == 0 && n <= 3) {
			req->cmd = CONTROL_SHOW_CONNECTIONS;
			if (n == 3 && (v = number(word[2], UINT32_MAX)) < 1) {
				*why = "a listener is a number from 1";
				return (-1);
			}
			if (n == 3)
				req->listener = (uint32_t)v;
		} else
			return (-1);
		return (0);
	}
	if (readonly)
		return (-1);
	if (strcmp(word[0], "reload") == 0 && n == 1)
		req->cmd = CONTROL_RELOAD;
	else if (strcmp(word[0], "upgrade") == 0 && n == 1)
		req->cmd = CONTROL_UPGRADE;
	else if (strcmp(word[0], "log") == 0 && n == 2 &&
	    strcmp(word[1], "reopen") == 0)
		req->cmd = CONTROL_LOG_REOPEN;
	else if (strcmp(word[0], "stop") == 0 && (n == 1 || (n == 3 &&
	    strcmp(word[1], "drain") == 0))) {
		req->cmd = CONTROL_STOP;
		if (n == 3 && (req->drain_seconds = (int)number(word[2],
		    86400)) < 0) {
			*why = "drain takes seconds from 0 to 86400";
			return (-1);
		}
	} else if (strcmp(word[0], "kill") == 0 && n == 3 &&
	    strcmp(word[1], "connection") == 0) {
		req->cmd = CONTROL_KILL;
		if ((dot = strchr(word[2], '.')) == NULL) {
			*why = "a connection is WORKER.NUMBER";
			return (-1);
		}
		*dot = '\0';
		if ((v = number(word[2], 1024)) < 1 ||
		    (req->relay = (uint64_t)number(dot + 1, LLONG_MAX)) ==
		    (uint64_t)-1) {
			*why = "a connection is WORKER.NUMBER";
			return (-1);
		}
		req->worker = (int)v;
	} else if ((strcmp(word[0], "drain") == 0 ||
	    strcmp(word[0], "enable") == 0) && n == 4 &&
	    strcmp(word[1], "listener") == 0) {
		req->cmd = word[0][0] == 'd' ? CONTROL_DRAIN : CONTROL_ENABLE;
		req->host = word[2];
		req->port = word[3];
	} else
		return (-1);
	return (0);
}

static void
client_request(struct client *c)
{
	struct control_request	 req;
	const char		*why;
	size_t			 i;

	for (i = 0; i < c->linelen; i++)
		if ((unsigned char)c->line[i] < 0x20 ||
		    (unsigned char)c->line[i] > 0x7e) {
			client_end(c, 0, "request is not printable ASCII");
			return;
		}
	c->state = CLIENT_WAITING;
	c->deadline_ms = clock_now_ms() + CONTROL_ANSWER_MS;
	if (parse_request(c->line, c->readonly, &req, &why) == -1) {
		client_end(c, 0, why);
		return;
	}
	ctl.handler(c->id, &req);
}

static void
client_read(struct client *c)
{
	char	*nl;
	ssize_t	 n;

	n = read(c->fd, c->line + c->linelen, sizeof(c->line) - c->linelen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(c);
		return;
	}
	c->linelen += (size_t)n;
	if ((nl = memchr(c->line, '\n', c->linelen)) == NULL) {
		if (c->linelen == sizeof(c->line))
			client_end(c, 0, "request longer than 511 bytes");
		return;
	}
	if ((size_t)(nl - c->line) + 1 != c->linelen) {
		client_end(c, 0, "one request per line, and nothing after it");
		return;
	}
	*nl = '\0';
	c->linelen = (size_t)(nl - c->line);
	client_request(c);
}

static void
client_write(struct client *c)
{
	switch (nbwrite(c->fd, c->out, c->outlen, &c->outoff)) {
	case 0:
		return;
	case -1:
		client_drop(c);
		return;
	}
	if (c->state != CLIENT_WRITING)
		return;
	if (!c->persistent) {
		client_drop(c);
		return;
	}
	c->state = CLIENT_READING;
	c->outlen = c->outoff = 0;
	c->linelen = 0;
	c->deadline_ms = 0;	/* an attached client may wait at will */
	c->id = ++ctl.next_id;
}

static struct client *
client_new(int fd)
{
	int	i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (ctl.clients[i].state == CLIENT_FREE) {
			memset(&ctl.clients[i], 0, sizeof(ctl.clients[i]));
			ctl.clients[i].fd = fd;
			ctl.clients[i].id = ++ctl.next_id;
			ctl.clients[i].state = CLIENT_READING;
			ctl.clients[i].deadline_ms = clock_now_ms() +
			    CONTROL_READ_MS;
			return (&ctl.clients[i]);
		}
	return (NULL);
}

static void
control_accept(void)
{
	static const char	busy[] = "error too many control clients\n";
	int			fd;

	while ((fd = accept4(ctl.fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (client_new(fd) == NULL) {
			if (write(fd, busy, sizeof(busy) - 1) == -1)
				log_debug("control: %s", strerror(errno));
			close(fd);
		}
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_warn("control: accept");
}

/*
 * A socket already in use by a running tcpproxy is never taken from
 * it; one that nobody answers on any more is a stale leftover.
 */
static int
path_in_use(const struct sockaddr_un *sun)
{
	int	fd, used;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return (used);
}

/*
 * Bind the socket: mode 0660, owned by root (or whoever we are) and by
 * group gid when one was given (else -1).
 */
int
control_open(const char *path, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	struct stat		 st;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return (-1);
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and "
			    "is not a socket", path);
			return (-1);
		}
		if (path_in_use(&sun)) {
			snprintf(err, errlen, "control socket %s: in use by "
			    "another process", path);
			errno = EADDRINUSE;
			return (-1);
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return (-1);
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int	saved = errno;	/* the caller tells EACCES apart */

		umask(old);
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(saved));
		close(fd);
		errno = saved;
		return (-1);
	}
	umask(old);
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) ||
	    chmod(path, 0660) == -1 || listen(fd, CONTROL_CLIENTS_MAX) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		return (-1);
	}
	ctl.fd = fd;
	strlcpy(ctl.path, path, sizeof(ctl.path));
	return (0);
}

/* Who answers the requests: the master, once it runs. */
void
control_set_handler(control_handler_fn handler)
{
	ctl.handler = handler;
}

/*
 * A connected stream socket of our own (the metrics process's) served
 * like a control client, one request after another, show commands only.
 */
int
control_attach(int fd, int readonly)
{
	struct client	*c;

	if ((c = client_new(fd)) == NULL)
		return (-1);
	c->persistent = 1;
	c->readonly = readonly;
	c->deadline_ms = 0;
	return (0);
}

/* Every client goes, and the socket; its path too unless handed over. */
void
control_close(void)
{
	int	i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (ctl.clients[i].state != CLIENT_FREE)
			client_drop(&ctl.clients[i]);
	if (ctl.fd != -1) {
		close(ctl.fd);
		if (!ctl.handed_over)
			unlink(ctl.path);
		ctl.fd = -1;
	}
}

/*
 * An upgrade: the new master listens on the very socket now, so stop
 * accepting on it and never unlink its path; clients already connected
 * are still answered.
 */
void
control_hand_over(void)
{
	if (ctl.fd != -1)
		close(ctl.fd);
	ctl.fd = -1;
	ctl.handed_over = 1;
}

/* The listening socket, for an upgrade to hand over; -1 if none. */
int
control_fd(void)
{
	return (ctl.fd);
}

/* A socket handed over by the master before us, listening at path. */
void
control_adopt(int fd, const char *path)
{
	ctl.fd = fd;
	strlcpy(ctl.path, path, sizeof(ctl.path));
}

/* The socket first, then one slot per client (fd -1 when unused). */
int
control_pollfds(struct pollfd *pfd)
{
	int	i;

	pfd[0].fd = ctl.fd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		struct client	*c = &ctl.clients[i];

		pfd[i + 1].revents = 0;
		pfd[i + 1].fd = c->state == CLIENT_FREE ? -1 : c->fd;
		if (c->state == CLIENT_READING)
			pfd[i + 1].events = POLLIN;
		else if (c->outoff < c->outlen)
			pfd[i + 1].events = POLLOUT;
		else
			pfd[i + 1].events = 0;	/* hang-ups still show */
	}
	return (CONTROL_POLLFDS);
}

void
control_io(const struct pollfd *pfd, int n)
{
	int	i;

	if (n < CONTROL_POLLFDS)
		return;
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		struct client	*c = &ctl.clients[i];
		short		 re = pfd[i + 1].revents;

		if (c->state == CLIENT_FREE || pfd[i + 1].fd != c->fd ||
		    re == 0)
			continue;
		if (c->state == CLIENT_READING && (re & (POLLIN | POLLHUP)))
			client_read(c);
		else if (re & POLLOUT)
			client_write(c);
		else if (re & (POLLHUP | POLLERR)) {
			/* Gone before its answer: the master forgets it. */
			client_drop(c);
		}
	}
	if (ctl.fd != -1 && (pfd[0].revents & POLLIN))
		control_accept();
	/* Answers finished during this round go out at once. */
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (ctl.clients[i].state == CLIENT_WRITING)
			client_write(&ctl.clients[i]);
}

int64_t
control_deadline(void)
{
	int64_t	next = -1;
	int	i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		const struct client	*c = &ctl.clients[i];

		if (c->state != CLIENT_FREE && c->deadline_ms > 0 &&
		    (next == -1 || c->deadline_ms < next))
			next = c->deadline_ms;
	}
	return (next);
}

void
control_expire(int64_t now)
{
	int	i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		struct client	*c = &ctl.clients[i];

		if (c->state == CLIENT_FREE || c->deadline_ms == 0 ||
		    now < c->deadline_ms)
			continue;
		if (c->state == CLIENT_WAITING) {
			client_end(c, 0, "no answer in time");
			client_write(c);
		} else
			client_drop(c);
	}
}
