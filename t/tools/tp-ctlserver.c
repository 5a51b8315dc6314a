/*
 * tp-ctlserver: a stand-in for tcpproxy's control socket, for testing
 * tcpproxyctl without the daemon.
 *
 * Listens on a unix socket; for each connection reads the request (up
 * to its newline, 512 bytes or EOF), appends it to the -o file, then
 * acts by mode:
 *
 *	reply	send the -r file as it is (re-read for every connection)
 *	trickle	the same, one byte per write, so it arrives in pieces
 *	silent	never answer, never close (until -T)
 *	close	close without a word
 *
 * A reply file that lacks its final line, or holds garbage, makes the
 * broken replies.  A request without its newline is logged with
 * " <no newline>".  Exits after -n connections (default: never) or -T
 * seconds (default 60); writes the -P file once it listens.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp-common.h"

#define REQUEST_MAX	512

enum mode { M_REPLY, M_TRICKLE, M_SILENT, M_CLOSE };

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: tp-ctlserver [-m reply|trickle|silent|close] "
	    "[-r replyfile] [-o requestlog] [-n count] [-P readyfile] "
	    "[-T seconds] socket\n");
	exit(TP_EXIT_USAGE);
}

static void
write_all(int fd, const char *buf, size_t len, size_t chunk)
{
	ssize_t	n;
	size_t	off = 0, w;

	while (off < len) {
		w = len - off < chunk ? len - off : chunk;
		n = send(fd, buf + off, w, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			warn("send");
			return;
		}
		off += (size_t)n;
	}
}

static char *
slurp(const char *path, size_t *len)
{
	char	*buf = NULL, *p;
	size_t	 size = 0;
	ssize_t	 n;
	int	 fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(TP_EXIT_FAIL, "%s", path);
	for (;;) {
		if (size - *len < 4096) {
			if ((p = realloc(buf, size + 65536)) == NULL)
				err(TP_EXIT_FAIL, "realloc");
			buf = p;
			size += 65536;
		}
		if ((n = read(fd, buf + *len, size - *len)) == -1)
			err(TP_EXIT_FAIL, "%s", path);
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return (buf);
}

/* Up to the newline, REQUEST_MAX bytes or EOF; 1 if the newline came. */
static int
read_request(int fd, char *buf, size_t *len)
{
	ssize_t	n;

	*len = 0;
	while (*len < REQUEST_MAX) {
		n = read(fd, buf + *len, REQUEST_MAX - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
		if (memchr(buf, '\n', *len) != NULL)
			return (1);
	}
	return (0);
}

static void
log_request(const char *path, const char *buf, size_t len, int newline)
{
	FILE	*fp;

	if (path == NULL)
		return;
	if ((fp = fopen(path, "a")) == NULL)
		err(TP_EXIT_FAIL, "%s", path);
	fwrite(buf, 1, len, fp);
	if (!newline)
		fputs(" <no newline>\n", fp);
	if (fclose(fp) == EOF)
		err(TP_EXIT_FAIL, "%s", path);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	enum mode		 mode = M_REPLY;
	const char		*replyfile = NULL, *logfile = NULL;
	const char		*readyfile = NULL;
	char			 req[REQUEST_MAX], *reply;
	size_t			 reqlen, replylen;
	unsigned int		 timeout = 60;
	long long		 count = -1, served = 0;
	int			 ch, lfd, fd, newline;
	FILE			*fp;

	while ((ch = getopt(argc, argv, "m:r:o:n:P:T:")) != -1) {
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "reply") == 0)
				mode = M_REPLY;
			else if (strcmp(optarg, "trickle") == 0)
				mode = M_TRICKLE;
			else if (strcmp(optarg, "silent") == 0)
				mode = M_SILENT;
			else if (strcmp(optarg, "close") == 0)
				mode = M_CLOSE;
			else
				usage();
			break;
		case 'r':
			replyfile = optarg;
			break;
		case 'o':
			logfile = optarg;
			break;
		case 'n':
			count = tp_num(optarg, 1, 1000000, "count");
			break;
		case 'P':
			readyfile = optarg;
			break;
		case 'T':
			timeout = tp_num(optarg, 1, 86400, "timeout");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || ((mode == M_REPLY || mode == M_TRICKLE) &&
	    replyfile == NULL))
		usage();
	tp_set_timeout(timeout, NULL);
	tp_ignore_sigpipe();

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, argv[0], sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(TP_EXIT_USAGE, "%s: socket path too long", argv[0]);
	unlink(argv[0]);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(TP_EXIT_FAIL, "socket");
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(TP_EXIT_FAIL, "bind %s", argv[0]);
	if (listen(lfd, 16) == -1)
		err(TP_EXIT_FAIL, "listen");
	if (readyfile != NULL) {
		if ((fp = fopen(readyfile, "w")) == NULL ||
		    fputs("ready\n", fp) == EOF || fclose(fp) == EOF)
			err(TP_EXIT_FAIL, "%s", readyfile);
	}

	while (count == -1 || served < count) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR)
				continue;
			err(TP_EXIT_FAIL, "accept");
		}
		served++;
		newline = read_request(fd, req, &reqlen);
		log_request(logfile, req, reqlen, newline);
		switch (mode) {
		case M_REPLY:
		case M_TRICKLE:
			reply = slurp(replyfile, &replylen);
			write_all(fd, reply, replylen,
			    mode == M_TRICKLE ? 1 : replylen);
			free(reply);
			break;
		case M_SILENT:
			for (;;)
				pause();	/* until -T */
		case M_CLOSE:
			break;
		}
		close(fd);
	}
	close(lfd);
	unlink(argv[0]);
	return (TP_EXIT_OK);
}
