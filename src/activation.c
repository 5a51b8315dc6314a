/*
 * Socket activation.  A service manager that binds for us passes the
 * sockets as descriptors 3, 4, ... and says so in LISTEN_PID (our pid)
 * and LISTEN_FDS (how many).  A stanza whose address and port match a
 * passed socket takes it instead of binding, so tcpproxy need never be
 * root to serve a port below 1024.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "addr.h"
#include "log.h"

#define ACTIVATION_FD0	3
#define ACTIVATION_MAX	64

static struct {
	int		fd;	/* -1 once taken */
	struct addr	addr;
} passed[ACTIVATION_MAX];
static int	npassed;

/*
 * Look at what the service manager passed, if anything was passed to us.
 * Returns how many listening sockets were found; the variables are
 * removed so that nothing we start sees them.
 */
int
activation_collect(void)
{
	const char	*pid_s, *fds_s, *errstr;
	long long	 pid, n, i;
	int		 accepting;
	socklen_t	 len;

	pid_s = getenv("LISTEN_PID");
	fds_s = getenv("LISTEN_FDS");
	if (pid_s == NULL || fds_s == NULL)
		return (0);
	pid = strtonum(pid_s, 1, 1LL << 31, &errstr);
	n = errstr == NULL ? strtonum(fds_s, 0, ACTIVATION_MAX, &errstr) : 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (errstr != NULL || pid != getpid())
		return (0);
	for (i = 0; i < n; i++) {
		int	fd = ACTIVATION_FD0 + (int)i;

		len = sizeof(accepting);
		passed[npassed].addr.len = sizeof(passed[npassed].addr.ss);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting,
		    &len) == -1 || !accepting ||
		    getsockname(fd, (struct sockaddr *)&passed[npassed].addr.ss,
		    &passed[npassed].addr.len) == -1 ||
		    (passed[npassed].addr.ss.ss_family != AF_INET &&
		    passed[npassed].addr.ss.ss_family != AF_INET6)) {
			log_warnx("descriptor %d from the service manager is "
			    "not a listening TCP socket: ignored", fd);
			close(fd);
			continue;
		}
		/* Workers race for accepts: a loser must not block. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		passed[npassed++].fd = fd;
	}
	return (npassed);
}

/* The passed socket bound to a, now ours; -1 if there is none. */
int
activation_take(const struct addr *a)
{
	char	buf[ADDR_STRLEN];
	int	i, fd;

	for (i = 0; i < npassed; i++) {
		if (passed[i].fd == -1 || !addr_equal(&passed[i].addr, a))
			continue;
		fd = passed[i].fd;
		passed[i].fd = -1;
		log_notice("using the socket passed by the service manager for "
		    "%s", addr_fmt(a, buf, sizeof(buf)));
		return (fd);
	}
	return (-1);
}

/* Sockets no stanza asked for are closed, with a word about each. */
void
activation_close_unused(void)
{
	char	buf[ADDR_STRLEN];
	int	i;

	for (i = 0; i < npassed; i++) {
		if (passed[i].fd == -1)
			continue;
		log_msg(LOG_LVL_WARNING, "no listen stanza for %s passed by "
		    "the service manager: closing it",
		    addr_fmt(&passed[i].addr, buf, sizeof(buf)));
		close(passed[i].fd);
		passed[i].fd = -1;
	}
}
