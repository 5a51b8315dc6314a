/*
 * tp-freeport: print currently unused TCP ports on the loopback address.
 *
 * Ports are picked at random below the kernel's ephemeral range, so that
 * an outgoing connection can not grab one before the test binds it; the
 * kernel's own choice (bind to port 0) is the fallback.  All candidate
 * sockets stay bound until the end, which keeps the ports distinct.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

#define LOW_PORT	10000	/* stay clear of well known services */
#define TRIES		200

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-freeport [-6] [-n count] [-T seconds]\n");
	exit(TP_EXIT_USAGE);
}

/* Bound socket on loopback:port of the family, or -1 with errno set. */
static int
bind_port(int family, int port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	int fd, on = 1, save;

	if ((fd = socket(family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on)) == -1)
			goto fail;
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_loopback;
		sin6.sin6_port = htons(port);
		if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
			goto fail;
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons(port);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			goto fail;
	}
	return fd;
fail:
	save = errno;
	close(fd);
	errno = save;
	return -1;
}

static int
bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		err(TP_EXIT_FAIL, "getsockname");
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Lowest port of the ephemeral range, 0 if it can not be read. */
static int
ephemeral_low(void)
{
	FILE *fp;
	int lo, hi;

	if ((fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) ==
	    NULL)
		return 0;
	if (fscanf(fp, "%d %d", &lo, &hi) != 2)
		lo = 0;
	fclose(fp);
	return lo;
}

/*
 * Try a random port below the ephemeral range.  It must be free on the
 * requested family; the other loopback address must not be in use
 * either, so a test can listen on both.  Returns the fd or -1.
 */
static int
try_port(int family, int port, int *other)
{
	int fd, ofd;

	*other = -1;
	if ((fd = bind_port(family, port)) == -1)
		return -1;
	ofd = bind_port(family == AF_INET ? AF_INET6 : AF_INET, port);
	if (ofd == -1 && errno == EADDRINUSE) {
		close(fd);
		return -1;
	}
	*other = ofd;
	return fd;
}

int
main(int argc, char *argv[])
{
	int *fds, *ports, *others;
	unsigned int timeout = 30;
	int ch, family = AF_INET, count = 1, i, j, t, low, port, dup;

	while ((ch = getopt(argc, argv, "6n:T:")) != -1) {
		switch (ch) {
		case '6':
			family = AF_INET6;
			break;
		case 'n':
			count = tp_num(optarg, 1, 1000, "count");
			break;
		case 'T':
			timeout = tp_num(optarg, 1, 86400, "timeout");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	tp_set_timeout(timeout, NULL);

	if ((fds = calloc(count, sizeof(int))) == NULL ||
	    (others = calloc(count, sizeof(int))) == NULL ||
	    (ports = calloc(count, sizeof(int))) == NULL)
		err(TP_EXIT_FAIL, "calloc");

	low = ephemeral_low();
	for (i = 0; i < count; i++) {
		fds[i] = others[i] = -1;
		for (t = 0; low > LOW_PORT + 1000 && t < TRIES; t++) {
			port = LOW_PORT + arc4random_uniform(low - LOW_PORT);
			for (dup = 0, j = 0; j < i; j++)
				dup |= ports[j] == port;
			if (dup)
				continue;
			if ((fds[i] = try_port(family, port, &others[i])) != -1)
				break;
		}
		if (fds[i] == -1 && (fds[i] = bind_port(family, 0)) == -1)
			err(TP_EXIT_FAIL, "bind");
		ports[i] = bound_port(fds[i]);
	}
	for (i = 0; i < count; i++)
		printf("%d\n", ports[i]);
	if (fflush(stdout) == EOF)
		err(TP_EXIT_FAIL, "stdout");
	for (i = 0; i < count; i++) {
		close(fds[i]);
		if (others[i] != -1)
			close(others[i]);
	}
	return TP_EXIT_OK;
}
