/*
 * tp-notify: play the service manager's end of NOTIFY_SOCKET.
 *
 *	tp-notify [-n count] [-r readyfile] [-T seconds] socket
 *
 * Binds an AF_UNIX datagram socket at the path (or, with a leading '@',
 * at the abstract name), creates readyfile once bound, and prints each
 * datagram received as one line, its newlines turned into spaces.
 * Exits 0 after count datagrams (default: never) and 2 after -T
 * seconds (default 60).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-notify [-n count] [-r readyfile] "
	    "[-T seconds] socket\n");
	exit(TP_EXIT_USAGE);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	socklen_t len;
	const char *path, *ready = NULL, *errstr;
	char buf[4096];
	long long count = 0, got;
	unsigned int secs = 60;
	ssize_t n, i;
	size_t plen;
	int ch, fd;

	while ((ch = getopt(argc, argv, "n:r:T:")) != -1) {
		switch (ch) {
		case 'n':
			count = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'r':
			ready = optarg;
			break;
		case 'T':
			secs = (unsigned int)strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	path = argv[optind];
	plen = strlen(path);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (plen < 2 || plen >= sizeof(sun.sun_path))
		errx(TP_EXIT_USAGE, "%s: bad socket name", path);
	memcpy(sun.sun_path, path, plen);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		err(TP_EXIT_FAIL, "socket");
	if (path[0] != '@')
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, len) == -1)
		err(TP_EXIT_FAIL, "bind %s", path);
	/* The daemon under test may run as another user: let it send. */
	if (path[0] != '@')
		chmod(path, 0666);
	tp_set_timeout(secs, NULL);
	if (ready != NULL) {
		int rfd;

		if ((rfd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644))
		    == -1)
			err(TP_EXIT_FAIL, "%s", ready);
		close(rfd);
	}

	for (got = 0; count == 0 || got < count; got++) {
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) == -1)
			err(TP_EXIT_FAIL, "recv");
		for (i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
	}
	if (path[0] != '@')
		unlink(path);
	return TP_EXIT_OK;
}
