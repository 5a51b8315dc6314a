/*
 * tp-unix: a raw client of a unix stream socket, for the control socket
 * tests that tcpproxyctl cannot make (an oversized or broken request, a
 * client that says nothing).  Copies stdin to the socket and the socket
 * to stdout until the socket is closed; -w half-closes the socket once
 * stdin ends.
 * Exit: 0 when the peer closed, 1 I/O error, 2 timeout (-T), 3 connect
 * failed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

static void
usage(void)
{
	fprintf(stderr, "usage: tp-unix [-w] [-T seconds] path\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd[2];
	char			 buf[4096];
	const char		*errstr;
	ssize_t			 n;
	int			 ch, fd, in_open = 1, halfclose = 0;
	int			 timeout_ms = 30000;

	while ((ch = getopt(argc, argv, "wT:")) != -1) {
		switch (ch) {
		case 'w':
			halfclose = 1;
			break;
		case 'T':
			timeout_ms = (int)strtonum(optarg, 1, 3600, &errstr) *
			    1000;
			if (errstr != NULL)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, argv[optind], sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		usage();
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "tp-unix: connect %s: %s\n", argv[optind],
		    strerror(errno));
		return (3);
	}
	for (;;) {
		pfd[0].fd = in_open ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		if ((n = poll(pfd, 2, timeout_ms)) == 0) {
			fprintf(stderr, "tp-unix: timeout\n");
			return (2);
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (1);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = read(fd, buf, sizeof(buf))) == 0)
				return (0);
			if (n == -1)
				return (errno == ECONNRESET ? 0 : 1);
			if (write(STDOUT_FILENO, buf, (size_t)n) != n)
				return (1);
		}
		if (in_open && (pfd[0].revents & (POLLIN | POLLHUP))) {
			if ((n = read(STDIN_FILENO, buf, sizeof(buf))) <= 0) {
				in_open = 0;
				if (halfclose)
					shutdown(fd, SHUT_WR);
			} else if (write(fd, buf, (size_t)n) != n)
				return (errno == EPIPE ? 0 : 1);
		}
	}
}
