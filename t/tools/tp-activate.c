/*
 * tp-activate: pass listening sockets the way systemd does, then exec a
 * program.
 *
 *	tp-activate [-d] [-u user] -l addr:port [-l addr:port ...] [--] prog args
 *
 * Binds and listens on each address (IPv6 as [addr]:port; with -d an
 * IPv6 socket is dual-stack, so IPv4 clients arrive as ::ffff:a.b.c.d,
 * as a service manager's socket may), puts the
 * sockets at descriptors 3, 4, ..., sets LISTEN_FDS and LISTEN_PID (our
 * pid, which the program keeps across exec), optionally drops to user
 * (so the program never runs as root), and execs the program.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

#define MAXL	16

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-activate [-d] [-u user] -l addr:port ... "
	    "-- prog [args]\n");
	exit(TP_EXIT_USAGE);
}

static int dualstack;

static int
listen_on(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char host[128], *port;
	int fd, on = 1;

	if (strlcpy(host, spec, sizeof(host)) >= sizeof(host) ||
	    (port = strrchr(host, ':')) == NULL)
		usage();
	*port++ = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (tp_sockaddr(host, port, 1, &ss, &sslen) == -1)
		exit(TP_EXIT_USAGE);
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		err(TP_EXIT_FAIL, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6) {
		int v6only = !dualstack;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only));
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		err(TP_EXIT_FAIL, "bind %s", spec);
	if (listen(fd, 128) == -1)
		err(TP_EXIT_FAIL, "listen");
	return fd;
}

int
main(int argc, char *argv[])
{
	struct passwd *pw = NULL;
	int fds[MAXL], n = 0, ch, i;
	char buf[32];

	while ((ch = getopt(argc, argv, "+dl:u:")) != -1) {
		switch (ch) {
		case 'd':
			dualstack = 1;
			break;
		case 'l':
			if (n == MAXL)
				usage();
			fds[n++] = listen_on(optarg);
			break;
		case 'u':
			if ((pw = getpwnam(optarg)) == NULL)
				errx(TP_EXIT_USAGE, "no user %s", optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || n == 0)
		usage();
	/* Move them out of the way first, then into 3, 4, ... */
	for (i = 0; i < n; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD, 100)) == -1)
			err(TP_EXIT_FAIL, "dup");
	for (i = 0; i < n; i++) {
		if (dup2(fds[i], 3 + i) == -1)
			err(TP_EXIT_FAIL, "dup2");
		close(fds[i]);
	}
	if (pw != NULL && (setgroups(1, &pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1))
		err(TP_EXIT_FAIL, "drop to %s", pw->pw_name);
	snprintf(buf, sizeof(buf), "%d", n);
	setenv("LISTEN_FDS", buf, 1);
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	setenv("LISTEN_PID", buf, 1);
	execvp(argv[0], argv);
	err(TP_EXIT_FAIL, "exec %s", argv[0]);
}
