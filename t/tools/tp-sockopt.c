/*
 * tp-sockopt: show the TCP options of another process's sockets, or the
 * capacity of its pipes.
 *
 *	tp-sockopt PID
 *	tp-sockopt -p PID
 *
 * For every TCP socket PID holds, one line:
 *
 *	local=ADDR PORT peer=ADDR PORT nodelay=N keepalive=N idle=N intvl=N cnt=N
 *	    cc=NAME
 *
 * with "peer=- -" for a listening socket.  With -p, for every pipe
 * descriptor PID holds (both ends of a pipe count), one line:
 *
 *	pipe=BYTES
 *
 * Each descriptor is borrowed with pidfd_getfd(2) (Linux 5.6 and later,
 * needs the right to ptrace PID), which duplicates it: the options read
 * are the socket's or pipe's own, whoever set them.  Keepalive timing and
 * pipe sizes are invisible to ss(8) and /proc, so this is how the suite
 * checks them.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd	438
#endif

static int
opt(int fd, int level, int name)
{
	int		v = -1;
	socklen_t	len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len) == -1)
		return -1;
	return v;
}

static void
show(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	char			local[NI_MAXHOST + NI_MAXSERV + 2];
	char			peer[sizeof(local)];
	char			cc[32];		/* TCP_CA_NAME_MAX is 16 */
	int			type, proto;

	type = opt(fd, SOL_SOCKET, SO_TYPE);
	proto = opt(fd, SOL_SOCKET, SO_PROTOCOL);
	if (type != SOCK_STREAM || proto != IPPROTO_TCP)
		return;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	tp_fmt_addr((struct sockaddr *)&ss, len, local, sizeof(local));
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		snprintf(peer, sizeof(peer), "- -");
	else
		tp_fmt_addr((struct sockaddr *)&ss, len, peer, sizeof(peer));
	len = sizeof(cc) - 1;
	memset(cc, 0, sizeof(cc));
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len) == -1)
		snprintf(cc, sizeof(cc), "?");
	printf("local=%s peer=%s nodelay=%d keepalive=%d idle=%d intvl=%d "
	    "cnt=%d cc=%s\n", local, peer, opt(fd, IPPROTO_TCP, TCP_NODELAY),
	    opt(fd, SOL_SOCKET, SO_KEEPALIVE),
	    opt(fd, IPPROTO_TCP, TCP_KEEPIDLE),
	    opt(fd, IPPROTO_TCP, TCP_KEEPINTVL),
	    opt(fd, IPPROTO_TCP, TCP_KEEPCNT), cc);
}

static void
show_pipe(int fd)
{
	printf("pipe=%d\n", fcntl(fd, F_GETPIPE_SZ));
}

int
main(int argc, char **argv)
{
	char		 dir[64], link[320], target[64];
	struct dirent	*de;
	DIR		*d;
	long		 pid;
	const char	*kind = "socket:";
	int		 pidfd, fd;
	ssize_t		 n;

	if (argc == 3 && strcmp(argv[1], "-p") == 0) {
		kind = "pipe:";
		argv++;
		argc--;
	}
	if (argc != 2)
		errx(TP_EXIT_USAGE, "usage: tp-sockopt [-p] pid");
	pid = tp_num(argv[1], 1, 1L << 30, "pid");
	if ((pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) == -1)
		err(TP_EXIT_FAIL, "pidfd_open %ld", pid);
	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	if ((d = opendir(dir)) == NULL)
		err(TP_EXIT_FAIL, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, kind, strlen(kind)) != 0)
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd,
		    atoi(de->d_name), 0);
		if (fd == -1) {
			if (errno == EBADF)	/* closed meanwhile */
				continue;
			err(TP_EXIT_FAIL, "pidfd_getfd %ld %s", pid,
			    de->d_name);
		}
		if (kind[1] == 'i')
			show_pipe(fd);
		else
			show(fd);
		close(fd);
	}
	closedir(d);
	return TP_EXIT_OK;
}
