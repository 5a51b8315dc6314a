/*
 * tcpproxyctl: ask a running tcpproxy through its control socket; see
 * tcpproxyctl(8).  One request line per connection, the whole reply
 * read until the daemon closes, then rendered: tables, JSON or
 * Prometheus text.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlrecord.h"
#include "ctlrender.h"

#define SOCKET_DEFAULT	"/run/tcpproxy.sock"
#define REQUEST_MAX	511
#define REPLY_MAX	(256u << 20)

enum output { OUT_TEXT, OUT_JSON, OUT_METRICS };

static const char usage_text[] =
"usage: tcpproxyctl [-j] [-s socket] [-t seconds] command\n"
"commands:\n"
"  show listeners | connections [listener] | stats | workers | metrics\n"
"  reload\n"
"  kill connection ID\n"
"  drain listener ADDRESS PORT\n"
"  enable listener ADDRESS PORT\n"
"  log reopen\n"
"  stop [--drain SECONDS]\n"
"  upgrade\n";

static __attribute__((__noreturn__)) void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "tcpproxyctl: %s\n", why);
	fputs(usage_text, stderr);
	exit(2);
}

/* Not an answer from the daemon: exit 2, as for usage errors. */
static __attribute__((__noreturn__, __format__(__printf__, 1, 2))) void
fail(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "tcpproxyctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int
is_number(const char *s)
{
	const char	*errstr;

	strtonum(s, 0, LLONG_MAX, &errstr);
	return (errstr == NULL);
}

/*
 * The request line for the command words, checked here so that a typo
 * gets the usage, not a round trip.  Also says how to render the reply.
 */
static void
build_request(int argc, char **argv, char *req, size_t len, enum output *out)
{
	const char	*c = argv[0];
	int		 i;

#define IS(n, w)	(argc > (n) && strcmp(argv[n], (w)) == 0)
	if (IS(0, "show") && argc == 2 && (IS(1, "listeners") ||
	    IS(1, "stats") || IS(1, "workers") || IS(1, "connections")))
		;
	else if (IS(0, "show") && argc == 2 && IS(1, "metrics")) {
		*out = OUT_METRICS;
		snprintf(req, len, "show stats\n");
		return;
	} else if (IS(0, "show") && argc == 3 && IS(1, "connections")) {
		if (!is_number(argv[2]))
			usage("show connections: a listener is a number");
	} else if ((IS(0, "reload") || IS(0, "upgrade")) && argc == 1)
		;
	else if (IS(0, "log") && argc == 2 && IS(1, "reopen"))
		;
	else if (IS(0, "kill") && argc == 3 && IS(1, "connection")) {
		if (strchr(argv[2], '.') == NULL)
			usage("kill connection: an id is WORKER.NUMBER, as "
			    "show connections gives it");
	} else if ((IS(0, "drain") || IS(0, "enable")) && argc == 4 &&
	    IS(1, "listener")) {
		if (!is_number(argv[3]))
			usage("a listener is an address and a port number");
	} else if (IS(0, "stop") && argc == 1)
		;
	else if (IS(0, "stop") && argc == 3 && IS(1, "--drain")) {
		if (!is_number(argv[2]))
			usage("stop --drain: seconds are a number");
		snprintf(req, len, "stop drain %s\n", argv[2]);
		return;
	} else
		usage(c != NULL ? "unknown command" : "no command");
#undef IS
	req[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (strchr(argv[i], ' ') != NULL || strchr(argv[i], '\n'))
			usage("an argument with a blank in it");
		if (i > 0)
			strlcat(req, " ", len);
		if (strlcat(req, argv[i], len) >= len - 1)
			usage("request too long");
	}
	strlcat(req, "\n", len);
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Send the request, read until the daemon closes: the whole reply. */
static char *
exchange(const char *path, const char *req, int timeout_s, size_t *lenp)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			*buf = NULL, *p;
	size_t			 len = 0, size = 0;
	int64_t			 deadline = now_ms() + timeout_s * 1000LL;
	ssize_t			 n;
	int			 fd, left;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fail("%s: socket path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fail("cannot connect to %s: %s", path, strerror(errno));
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		fail("cannot send to %s: %s", path, strerror(errno));
	for (;;) {
		if ((left = (int)(deadline - now_ms())) <= 0)
			fail("no complete answer from %s within %d s", path,
			    timeout_s);
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, left)) == -1 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		if (n <= 0)
			continue;
		if (size - len < 65536) {
			if (size >= REPLY_MAX)
				fail("reply from %s too large", path);
			if ((p = realloc(buf, size + 262144)) == NULL)
				fail("out of memory");
			buf = p;
			size += 262144;
		}
		if ((n = read(fd, buf + len, size - len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fail("reading from %s: %s", path, strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*lenp = len;
	return (buf);
}

int
main(int argc, char *argv[])
{
	struct ctlrender_buf	 out;
	struct ctlreply		 reply;
	enum output		 how = OUT_TEXT;
	const char		*path = SOCKET_DEFAULT, *errstr;
	char			 req[REQUEST_MAX + 1], err[256], *buf;
	size_t			 len, i;
	int			 ch, timeout_s = 30, json = 0;

	while ((ch = getopt(argc, argv, "+hjs:t:")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 's':
			path = optarg;
			break;
		case 't':
			timeout_s = (int)strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				usage("-t: seconds from 1 to 86400");
			break;
		case 'h':
			fputs(usage_text, stdout);
			return (0);
		default:
			usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage("no command");
	build_request(argc, argv, req, sizeof(req), &how);
	if (json && how == OUT_TEXT)
		how = OUT_JSON;

	buf = exchange(path, req, timeout_s, &len);
	if (ctlreply_parse(buf != NULL ? buf : "", len, &reply, err,
	    sizeof(err)) == -1)
		fail("%s", err);
	if (!reply.complete)
		fail("%s closed before the end of its answer", path);
	memset(&out, 0, sizeof(out));
	if (!reply.ok && how != OUT_JSON) {
		/* A failed reload's errors, each file:line:col, come first. */
		for (i = 0; i < reply.ninfo; i++)
			fprintf(stderr, "%s\n", reply.info[i]);
		fprintf(stderr, "tcpproxyctl: %s\n", reply.message != NULL ?
		    reply.message : "failed");
		return (1);
	}
	if (how == OUT_JSON)
		ctlrender_json(&reply, &out);
	else if (how == OUT_METRICS)
		ctlrender_metrics(&reply, &out);
	else
		ctlrender_text(&reply, &out);
	if (out.failed)
		fail("out of memory");
	if (out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
		fail("stdout: %s", strerror(errno));
	if (fflush(stdout) == EOF)
		fail("stdout: %s", strerror(errno));
	return (reply.ok ? 0 : 1);
}
