/*
 * tcpproxyctl: one request to the control socket of tcpproxy, its reply
 * shown as text tables, JSON or Prometheus text.  See tcpproxyctl(8).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlrecord.h"
#include "ctlrender.h"

#define SOCKET_DEFAULT	"/run/tcpproxy.sock"
#define TIMEOUT_DEFAULT	30		/* seconds; reload waits for workers */
#define TIMEOUT_MAX	86400
#define REQUEST_MAX	512		/* the newline included */
#define DRAIN_MAX	86400

/* Exit status. */
#define EXIT_OK		0
#define EXIT_REFUSED	1	/* the daemon answered "error" */
#define EXIT_TROUBLE	2	/* usage, connection, timeout, bad reply */

enum output { OUT_TEXT, OUT_JSON, OUT_METRICS };

/* What a command asks and how its answer is shown. */
struct request {
	char			 line[REQUEST_MAX + 1];
	enum output		 output;
	const char *const	*expect;	/* kinds JSON always shows */
};

static const char usage_text[] =
"usage: tcpproxyctl [-j] [-s socket] [-t seconds] command [argument ...]\n"
"commands:\n"
"  show listeners\n"
"  show connections [listener-id]\n"
"  show stats\n"
"  show workers\n"
"  show metrics\n"
"  reload\n"
"  kill connection worker.number\n"
"  drain listener address port\n"
"  enable listener address port\n"
"  log reopen\n"
"  stop [--drain seconds]\n"
"  upgrade\n";

static const char *const expect_listeners[] = { "listener", NULL };
static const char *const expect_connections[] = { "connection", NULL };
static const char *const expect_stats[] = { "total", "listener", "worker",
    NULL };
static const char *const expect_workers[] = { "worker", NULL };
static const char *const expect_reload[] = { "reload", NULL };

/* Written by the SIGALRM handler, so made before the alarm is set. */
static char	timeout_msg[256];

__attribute__((__noreturn__, __format__(__printf__, 1, 2)))
static void
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "tcpproxyctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	exit(EXIT_TROUBLE);
}

__attribute__((__noreturn__, __format__(__printf__, 1, 2)))
static void
trouble(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "tcpproxyctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(EXIT_TROUBLE);
}

static void
on_alarm(int sig)
{
	ssize_t	n;

	(void)sig;
	n = write(STDERR_FILENO, timeout_msg, strlen(timeout_msg));
	(void)n;
	_exit(EXIT_TROUBLE);
}

/* A decimal number from min to max, or a usage error naming what. */
static long long
number(const char *s, long long min, long long max, const char *what)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		usage_error("invalid %s '%s': must be a number from %lld to "
		    "%lld", what, s, min, max);
	return (n);
}

/* WORKER.NUMBER, as show connections lists them. */
static void
check_connection(const char *s)
{
	const char	*errstr;
	char		 w[32];
	const char	*dot;

	if ((dot = strchr(s, '.')) == NULL || (size_t)(dot - s) >= sizeof(w))
		usage_error("invalid connection '%s': expected "
		    "worker.number, as show connections lists them", s);
	memcpy(w, s, (size_t)(dot - s));
	w[dot - s] = '\0';
	strtonum(w, 1, INT32_MAX, &errstr);
	if (errstr == NULL)
		strtonum(dot + 1, 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		usage_error("invalid connection '%s': expected "
		    "worker.number, as show connections lists them", s);
}

/* One word of the request: printable ASCII, no blank. */
static void
check_word(const char *s, const char *what)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			break;
	if (*s == '\0' || *p != '\0')
		usage_error("invalid %s '%s': must be one word of printable "
		    "ASCII", what, s);
}

/* A port as in the configuration: 1 to 65535 or a service name. */
static void
check_port(const char *s)
{
	const char	*p;

	if (*s >= '0' && *s <= '9') {
		number(s, 1, 65535, "port");
		return;
	}
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			break;
	if (*s == '\0' || *p != '\0')
		usage_error("invalid port '%s': must be a number from 1 to "
		    "65535 or a service name", s);
}

static void
set_line(struct request *req, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
set_line(struct request *req, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(req->line, sizeof(req->line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= REQUEST_MAX)
		usage_error("request longer than %d bytes", REQUEST_MAX - 1);
	req->line[n] = '\n';
	req->line[n + 1] = '\0';
}

/* The command words to a request line, checked as the server would. */
static void
parse_command(int argc, char *argv[], struct request *req)
{
	const char	*cmd;

	memset(req, 0, sizeof(*req));
	if (argc == 0)
		usage_error("no command given");
	cmd = argv[0];
	if (strcmp(cmd, "show") == 0) {
		if (argc < 2)
			usage_error("show: what? listeners, connections, "
			    "stats, workers or metrics");
		if (strcmp(argv[1], "connections") == 0 && argc <= 3) {
			if (argc == 3) {
				number(argv[2], 1, UINT32_MAX, "listener id");
				set_line(req, "show connections %s", argv[2]);
			} else
				set_line(req, "show connections");
			req->expect = expect_connections;
			return;
		}
		if (argc != 2)
			usage_error("show %s: unexpected argument '%s'",
			    argv[1], argv[2]);
		if (strcmp(argv[1], "listeners") == 0)
			req->expect = expect_listeners;
		else if (strcmp(argv[1], "stats") == 0)
			req->expect = expect_stats;
		else if (strcmp(argv[1], "workers") == 0)
			req->expect = expect_workers;
		else if (strcmp(argv[1], "metrics") == 0) {
			req->output = OUT_METRICS;
			set_line(req, "show stats");
			return;
		} else
			usage_error("show: unknown '%s': expected listeners, "
			    "connections, stats, workers or metrics", argv[1]);
		set_line(req, "show %s", argv[1]);
	} else if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "upgrade") == 0) {
		if (argc != 1)
			usage_error("%s: unexpected argument '%s'", cmd,
			    argv[1]);
		if (cmd[0] == 'r')
			req->expect = expect_reload;
		set_line(req, "%s", cmd);
	} else if (strcmp(cmd, "kill") == 0) {
		if (argc != 3 || strcmp(argv[1], "connection") != 0)
			usage_error("kill: expected kill connection "
			    "worker.number");
		check_connection(argv[2]);
		set_line(req, "kill connection %s", argv[2]);
	} else if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "enable") == 0) {
		if (argc != 4 || strcmp(argv[1], "listener") != 0)
			usage_error("%s: expected %s listener address port",
			    cmd, cmd);
		check_word(argv[2], "address");
		check_port(argv[3]);
		set_line(req, "%s listener %s %s", cmd, argv[2], argv[3]);
	} else if (strcmp(cmd, "log") == 0) {
		if (argc != 2 || strcmp(argv[1], "reopen") != 0)
			usage_error("log: expected log reopen");
		set_line(req, "log reopen");
	} else if (strcmp(cmd, "stop") == 0) {
		if (argc == 1)
			set_line(req, "stop");
		else if (argc == 3 && strcmp(argv[1], "--drain") == 0) {
			number(argv[2], 0, DRAIN_MAX, "drain time");
			set_line(req, "stop drain %s", argv[2]);
		} else
			usage_error("stop: expected stop [--drain seconds]");
	} else
		usage_error("unknown command '%s'", cmd);
}

static int
connect_socket(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		trouble("%s: socket path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		trouble("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		trouble("cannot connect to %s: %s", path, strerror(errno));
	return (fd);
}

/*
 * Send the request; a server that hung up on it may still have said
 * why, so a failed send is only an error when no reply follows.
 */
static int
send_request(int fd, const char *line)
{
	size_t	len = strlen(line), off = 0;
	ssize_t	n;

	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (errno);
		off += (size_t)n;
	}
	return (0);
}

/* The whole reply, up to the server's close; *len its length. */
static char *
read_reply(int fd, const char *path, size_t *len)
{
	char	*buf = NULL, *p;
	size_t	 size = 0;
	ssize_t	 n;

	*len = 0;
	for (;;) {
		if (size - *len < 4096) {
			if (size > CTL_REPLY_MAX)
				trouble("reply from %s: longer than %u bytes",
				    path, CTL_REPLY_MAX);
			if ((p = realloc(buf, size + 65536)) == NULL)
				trouble("out of memory");
			buf = p;
			size += 65536;
		}
		n = read(fd, buf + *len, size - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			trouble("reading from %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return (buf);
}

static void
put(FILE *fp, const char *s, size_t len)
{
	if (len > 0 && fwrite(s, 1, len, fp) != len)
		trouble("%s: %s", fp == stdout ? "stdout" : "stderr",
		    strerror(errno));
}

int
main(int argc, char *argv[])
{
	struct request		 req;
	struct ctl_reply	 reply;
	struct ctlrender_buf	 out;
	struct sigaction	 sa;
	const char		*path = SOCKET_DEFAULT;
	char			*data, err[256];
	size_t			 len, i;
	int			 ch, fd, json = 0, timeout = TIMEOUT_DEFAULT;
	int			 send_errno, rc;

	while ((ch = getopt(argc, argv, "+:hjs:t:")) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			return (EXIT_OK);
		case 'j':
			json = 1;
			break;
		case 's':
			if (*optarg == '\0')
				usage_error("-s: empty socket path");
			path = optarg;
			break;
		case 't':
			timeout = (int)number(optarg, 1, TIMEOUT_MAX,
			    "timeout");
			break;
		case ':':
			usage_error("option -%c needs an argument", optopt);
		default:
			usage_error("unknown option -%c", optopt);
		}
	}
	parse_command(argc - optind, argv + optind, &req);
	if (json && req.output == OUT_TEXT)
		req.output = OUT_JSON;

	/* One bound for connecting, asking and the whole answer. */
	snprintf(timeout_msg, sizeof(timeout_msg), "tcpproxyctl: %s: no "
	    "reply within %d second%s\n", path, timeout,
	    timeout == 1 ? "" : "s");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		trouble("sigaction: %s", strerror(errno));
	alarm((unsigned int)timeout);
	fd = connect_socket(path);
	send_errno = send_request(fd, req.line);
	data = read_reply(fd, path, &len);
	alarm(0);
	close(fd);
	if (len == 0 && send_errno != 0)
		trouble("sending to %s: %s", path, strerror(send_errno));
	if (ctl_reply_parse(data, len, &reply, err, sizeof(err)) == -1)
		trouble("reply from %s: %s", path, err);
	free(data);

	memset(&out, 0, sizeof(out));
	if (req.output == OUT_JSON)
		rc = ctlrender_json(&reply, req.expect, &out);
	else if (req.output == OUT_METRICS)
		rc = reply.final->type == CTL_OK ?
		    ctlrender_metrics(&reply, &out) : 0;
	else
		rc = ctlrender_text(&reply, &out);
	if (rc == -1)
		trouble("out of memory");
	put(stdout, out.data, out.len);
	if (fflush(stdout) == EOF)
		trouble("stdout: %s", strerror(errno));
	free(out.data);

	if (reply.final->type == CTL_OK) {
		ctl_reply_free(&reply);
		return (EXIT_OK);
	}
	/* The daemon said no: why, on stderr, every reason it gave. */
	for (i = 0; i < reply.nlines; i++)
		if (reply.lines[i].type == CTL_INFO)
			fprintf(stderr, "%s\n", reply.lines[i].text);
	fprintf(stderr, "tcpproxyctl: %s\n", reply.final->text);
	ctl_reply_free(&reply);
	return (EXIT_REFUSED);
}
