/*
 * Service manager notifications; see sdnotify.h.  NOTIFY_SOCKET is a
 * path ("/run/systemd/notify") or, with a leading '@', a name in the
 * abstract namespace.  It stays in the environment: a master that
 * re-execs itself must find it again.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

#define SDNOTIFY_MSG_MAX	512
#define SDNOTIFY_SEND_TIMEOUT_S	1	/* a service manager that lags */

static struct {
	int			 fd;		/* -1: nobody to notify */
	pid_t			 pid;		/* the process that may send */
	struct sockaddr_un	 sun;
	socklen_t		 len;
} sd = { -1, -1, { 0 }, 0 };

/*
 * Open the socket once, in the master.  The workers close it when they
 * start (closefrom(3) in proc_spawn()) and the pid check keeps a forked
 * child from writing to whatever reuses the number.
 */
void
sdnotify_init(void)
{
	const char	*path;
	struct timeval	 tv = { SDNOTIFY_SEND_TIMEOUT_S, 0 };
	size_t		 n;

	if (sd.fd != -1 || (path = getenv("NOTIFY_SOCKET")) == NULL ||
	    *path == '\0')
		return;
	n = strlen(path);
	memset(&sd.sun, 0, sizeof(sd.sun));
	sd.sun.sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || n < 2 ||
	    n >= sizeof(sd.sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET '%s': not an absolute path or an "
		    "@abstract name of at most %zu bytes; not notifying",
		    path, sizeof(sd.sun.sun_path) - 1);
		return;
	}
	memcpy(sd.sun.sun_path, path, n);
	sd.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (path[0] == '@')
		sd.sun.sun_path[0] = '\0';	/* exactly n bytes, no NUL */
	else
		sd.len++;
	if ((sd.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("NOTIFY_SOCKET %s: socket", path);
		return;
	}
	/* A full queue must not hold the master up for long. */
	if (setsockopt(sd.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		log_warn("NOTIFY_SOCKET %s: SO_SNDTIMEO", path);
	sd.pid = getpid();
}

static int
sdnotify_vsend(const char *fmt, va_list ap)
{
	char	buf[SDNOTIFY_MSG_MAX];
	int	n;

	if (sd.fd == -1 || sd.pid != getpid())
		return (0);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		log_warnx("service manager notification too long: not sent");
		return (-1);
	}
	if (sendto(sd.fd, buf, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&sd.sun, sd.len) == -1) {
		log_warn("cannot notify the service manager (%.*s)",
		    (int)strcspn(buf, "\n"), buf);
		return (-1);
	}
	return (0);
}

/* One datagram of "VAR=value" lines; 0 if sent or nobody listens. */
int
sdnotify_send(const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = sdnotify_vsend(fmt, ap);
	va_end(ap);
	return (rc);
}

/* Serving: after start-up, and after every reload, failed or not. */
void
sdnotify_ready(const char *fmt, ...)
{
	char	status[SDNOTIFY_MSG_MAX - 32];
	va_list	ap;

	if (sd.fd == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	sdnotify_send("READY=1\nSTATUS=%s", status);
}

/* The timestamp lets systemd tell this reload from an earlier one. */
void
sdnotify_reloading(void)
{
	struct timespec	ts;

	if (sd.fd == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
sdnotify_stopping(void)
{
	sdnotify_send("STOPPING=1");
}
