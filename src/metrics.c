/*
 * The metrics process: serves GET /metrics over HTTP in Prometheus text
 * format, for a `metrics:` statement.  It runs unprivileged and
 * sandboxed like a worker, never in the master: the master only binds
 * its socket and answers its "show stats" on a control socketpair, as it
 * answers tcpproxyctl.
 *
 * One poll loop: the channel to the master (the two sockets arrive on
 * it, log records leave on it), the HTTP socket, the control stream and
 * up to METRICS_CLIENTS_MAX HTTP clients.  A request waits for the one
 * "show stats" under way, or starts one; every client waiting gets the
 * same answer.  Each client has METRICS_CLIENT_MS to send its request
 * and take the reply, and is closed after it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctlrender.h"
#include "log.h"
#include "logsink.h"
#include "metrics.h"
#include "msg.h"
#include "nbwrite.h"
#include "proc.h"
#include "proto.h"
#include "sandbox.h"
#include "worker_sandbox.h"

#define METRICS_CLIENTS_MAX	16
#define METRICS_REQUEST_MAX	4096
#define METRICS_CLIENT_MS	5000
#define METRICS_REPLY_MAX	(16u << 20)	/* of the master's answer */

enum http_state { HTTP_FREE, HTTP_READING, HTTP_WAITING, HTTP_WRITING };

struct http_client {
	enum http_state	 state;
	int		 fd;
	char		 req[METRICS_REQUEST_MAX];
	size_t		 reqlen;
	char		*out;
	size_t		 outlen, outoff;
	int64_t		 deadline_ms;
};

static struct {
	struct msg_channel	 ch;
	int			 listen_fd;
	int			 control_fd;
	int			 asking;	/* a "show stats" is under way */
	char			*reply;		/* the master's answer so far */
	size_t			 replylen, replysize;
	struct http_client	 clients[METRICS_CLIENTS_MAX];
} mp;

static volatile sig_atomic_t	quit;

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static void
metrics_log_sink(int level, const char *msg, int last)
{
	logsink_send(&mp.ch, level, msg, last);
}

static void
client_close(struct http_client *c)
{
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Queue a whole response: status line, headers, body; then close. */
static void
client_respond(struct http_client *c, const char *status, const char *type,
    const char *body, size_t bodylen, int head_only)
{
	char	hdr[256];
	int	n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, type,
	    bodylen);
	if (head_only)
		bodylen = 0;
	if ((c->out = malloc((size_t)n + bodylen)) == NULL) {
		client_close(c);
		return;
	}
	memcpy(c->out, hdr, (size_t)n);
	memcpy(c->out + n, body, bodylen);
	c->outlen = (size_t)n + bodylen;
	c->outoff = 0;
	c->state = HTTP_WRITING;
}

static void
client_error(struct http_client *c, const char *status)
{
	char	body[64];

	snprintf(body, sizeof(body), "%s\n", status);
	client_respond(c, status, "text/plain", body, strlen(body), 0);
}

/* Ask the master, unless a question is already under way. */
static void
ask_master(void)
{
	static const char	q[] = "show stats\n";

	if (mp.asking)
		return;
	if (write(mp.control_fd, q, sizeof(q) - 1) != (ssize_t)sizeof(q) - 1) {
		log_warn("metrics: cannot ask the master");
		return;
	}
	mp.asking = 1;
	mp.replylen = 0;
}

/* A whole request is in: "GET /metrics HTTP/1.x", headers ignored. */
static void
client_request(struct http_client *c)
{
	char	*sp, *path, *line = c->req;
	int	 head;

	line[strcspn(line, "\r\n")] = '\0';
	if ((sp = strchr(line, ' ')) == NULL) {
		client_error(c, "400 Bad Request");
		return;
	}
	*sp = '\0';
	path = sp + 1;
	if ((sp = strchr(path, ' ')) == NULL || strncmp(sp + 1, "HTTP/", 5)) {
		client_error(c, "400 Bad Request");
		return;
	}
	*sp = '\0';
	head = strcmp(line, "HEAD") == 0;
	if (!head && strcmp(line, "GET") != 0) {
		client_error(c, "405 Method Not Allowed");
		return;
	}
	path[strcspn(path, "?")] = '\0';
	if (strcmp(path, "/metrics") != 0) {
		client_error(c, "404 Not Found");
		return;
	}
	c->state = HTTP_WAITING;
	c->reqlen = head;	/* no longer needed as a length: HEAD or not */
	ask_master();
}

static void
client_read(struct http_client *c)
{
	ssize_t	n;

	n = read(c->fd, c->req + c->reqlen, sizeof(c->req) - 1 - c->reqlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->reqlen += (size_t)n;
	c->req[c->reqlen] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL ||
	    strstr(c->req, "\n\n") != NULL)
		client_request(c);
	else if (c->reqlen == sizeof(c->req) - 1)
		client_error(c, "431 Request Header Fields Too Large");
}

/* The whole response, then the close: HTTP/1.0, one request each. */
static void
client_write(struct http_client *c)
{
	if (nbwrite(c->fd, c->out, c->outlen, &c->outoff) != 0)
		client_close(c);
}

/* The master's whole answer is in: render it once, for every waiter. */
static void
answer_waiters(void)
{
	struct ctlrender_buf	 body;
	int			 i, ok;

	memset(&body, 0, sizeof(body));
	ok = ctlrender_prometheus(mp.reply, mp.replylen, &body) == 0;
	for (i = 0; i < METRICS_CLIENTS_MAX; i++) {
		struct http_client	*c = &mp.clients[i];

		if (c->state != HTTP_WAITING)
			continue;
		if (ok)
			client_respond(c, "200 OK",
			    "text/plain; version=0.0.4; charset=utf-8",
			    body.data, body.len, c->reqlen == 1);
		else
			client_error(c, "503 Service Unavailable");
	}
	free(body.data);
	mp.asking = 0;
	mp.replylen = 0;
}

/* Is the last line of the reply the final "ok" or "error" line? */
static int
reply_complete(void)
{
	size_t	i;

	if (mp.replylen == 0 || mp.reply[mp.replylen - 1] != '\n')
		return (0);
	for (i = mp.replylen - 1; i > 0 && mp.reply[i - 1] != '\n'; i--)
		;
	return (strncmp(mp.reply + i, "ok", 2) == 0 ||
	    strncmp(mp.reply + i, "error", 5) == 0);
}

static void
control_read(void)
{
	char	*p;
	ssize_t	 n;

	if (mp.replysize - mp.replylen < 4096) {
		if (mp.replysize >= METRICS_REPLY_MAX)
			fatalx("metrics: the master's answer is too large");
		if ((p = realloc(mp.reply, mp.replysize + 65536)) == NULL)
			fatal("metrics");
		mp.reply = p;
		mp.replysize += 65536;
	}
	n = read(mp.control_fd, mp.reply + mp.replylen,
	    mp.replysize - mp.replylen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		fatalx("metrics: the master closed the control stream");
	if (!mp.asking)
		fatalx("metrics: the master sent what nobody asked for");
	mp.replylen += (size_t)n;
	if (reply_complete())
		answer_waiters();
}

static void
http_accept(void)
{
	int	fd, i;

	while ((fd = accept4(mp.listen_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < METRICS_CLIENTS_MAX; i++)
			if (mp.clients[i].state == HTTP_FREE)
				break;
		if (i == METRICS_CLIENTS_MAX) {
			close(fd);	/* busy: the scraper tries again */
			continue;
		}
		mp.clients[i].fd = fd;
		mp.clients[i].state = HTTP_READING;
		mp.clients[i].deadline_ms = clock_now_ms() + METRICS_CLIENT_MS;
	}
}

/* The two sockets, from the master, before anything else. */
static void
channel_read(void)
{
	struct msg	 m;
	const char	*why;
	int		 rc;

	while ((rc = msg_read(&mp.ch, &m, &why)) == 1) {
		if (m.hdr.len != 0 || m.fd == -1 ||
		    (m.hdr.type != PROTO_METRICS_LISTEN &&
		    m.hdr.type != PROTO_METRICS_CONTROL))
			fatalx("protocol error from master: unexpected message");
		if (m.hdr.type == PROTO_METRICS_LISTEN && mp.listen_fd == -1)
			mp.listen_fd = m.fd;
		else if (m.hdr.type == PROTO_METRICS_CONTROL &&
		    mp.control_fd == -1)
			mp.control_fd = m.fd;
		else
			fatalx("protocol error from master: a socket again");
		fcntl(m.fd, F_SETFL, O_NONBLOCK);
	}
	if (rc == -1) {
		if (why != NULL)
			fatalx("protocol error from master: %s", why);
		quit = 1;	/* the master is gone */
	}
}

void
metrics_main(const struct proc_identity *ident, int detach)
{
	struct pollfd	 pfd[3 + METRICS_CLIENTS_MAX];
	struct sigaction sa;
	sigset_t	 mask;
	char		 err[256];
	int64_t		 now;
	int		 i;

	log_set_procname("metrics");
	setproctitle("metrics");
	memset(&mp, 0, sizeof(mp));
	msg_channel_init(&mp.ch, PROC_CHANNEL_FD);
	mp.listen_fd = mp.control_fd = -1;
	for (i = 0; i < METRICS_CLIENTS_MAX; i++)
		mp.clients[i].fd = -1;
	log_set_sink(metrics_log_sink);
	log_set_startup(0);
	proc_stdio_null(detach);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* The master's mask came with fork(): take every signal. */
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);

	if (proc_drop_privileges(ident, err, sizeof(err)) == -1)
		fatalx("cannot drop privileges: %s", err);
	if (sandbox_enter(&worker_sandbox, err, sizeof(err)) == -1)
		fatalx("cannot enter the sandbox: %s", err);

	while (!quit) {
		int64_t	next = -1;
		int	n = 0, timeout;

		pfd[n].fd = PROC_CHANNEL_FD;
		pfd[n++].events = POLLIN |
		    (msg_pending(&mp.ch) ? POLLOUT : 0);
		pfd[n].fd = mp.listen_fd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = mp.control_fd;
		pfd[n++].events = POLLIN;
		for (i = 0; i < METRICS_CLIENTS_MAX; i++) {
			const struct http_client *c = &mp.clients[i];

			pfd[n].fd = c->state == HTTP_FREE ? -1 : c->fd;
			pfd[n++].events = c->state == HTTP_READING ? POLLIN :
			    c->state == HTTP_WRITING ? POLLOUT : 0;
			if (c->state != HTTP_FREE && (next == -1 ||
			    c->deadline_ms < next))
				next = c->deadline_ms;
		}
		now = clock_now_ms();
		timeout = next == -1 ? -1 : next <= now ? 0 : (int)(next - now);
		if (poll(pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLOUT)
			msg_flush(&mp.ch);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			channel_read();
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
			control_read();
		for (i = 0; i < METRICS_CLIENTS_MAX; i++) {
			struct http_client	*c = &mp.clients[i];
			short			 re = pfd[3 + i].revents;

			if (c->state == HTTP_FREE || pfd[3 + i].fd != c->fd)
				continue;
			if (c->state == HTTP_READING && (re & (POLLIN |
			    POLLHUP | POLLERR)))
				client_read(c);
			else if (c->state == HTTP_WRITING && re != 0)
				client_write(c);
			else if (re & (POLLHUP | POLLERR))
				client_close(c);
		}
		if (pfd[1].revents & POLLIN)
			http_accept();
		now = clock_now_ms();
		for (i = 0; i < METRICS_CLIENTS_MAX; i++)
			if (mp.clients[i].state != HTTP_FREE &&
			    now >= mp.clients[i].deadline_ms)
				client_close(&mp.clients[i]);
	}
	msg_flush(&mp.ch);
	exit(0);
}
