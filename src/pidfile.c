/*
 * pidfile_open(3) and friends where the system has none; see pidfile.h.
 *
 * The file stays open and locked (flock) for the daemon's life, so a
 * second daemon given the same file learns the first one's pid and
 * stops, and a file left by a crash is simply taken over.
 */
#include "pidfile.h"

#ifdef TCPPROXY_OWN_PIDFILE

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_TRIES	5	/* the holder may not have written it yet */
#define READ_PAUSE_NS	5000000L

struct pidfh {
	int	 fd;
	char	*path;
};

/* The pid in the file the other daemon holds, or -1. */
static pid_t
holder_pid(const char *path)
{
	struct timespec	 pause = { 0, READ_PAUSE_NS };
	char		 buf[32];
	const char	*errstr;
	long long	 pid;
	ssize_t		 n;
	int		 fd, i;

	for (i = 0; i < READ_TRIES; i++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			return (-1);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			pid = strtonum(buf, 1, 0x7fffffff, &errstr);
			if (errstr == NULL)
				return ((pid_t)pid);
		}
		nanosleep(&pause, NULL);
	}
	return (-1);
}

struct pidfh *
pidfile_open(const char *path, mode_t mode, pid_t *otherpid)
{
	struct pidfh	*pfh;
	int		 fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd == -1)
		return (NULL);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		close(fd);
		if (saved == EWOULDBLOCK) {
			if (otherpid != NULL)
				*otherpid = holder_pid(path);
			saved = EEXIST;
		}
		errno = saved;
		return (NULL);
	}
	if ((pfh = malloc(sizeof(*pfh))) == NULL ||
	    (pfh->path = strdup(path)) == NULL) {
		saved = errno;
		free(pfh);
		close(fd);
		errno = saved;
		return (NULL);
	}
	pfh->fd = fd;
	return (pfh);
}

int
pidfile_write(struct pidfh *pfh)
{
	char	buf[32];
	int	len;

	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pfh->fd, 0) == -1 ||
	    pwrite(pfh->fd, buf, (size_t)len, 0) != (ssize_t)len)
		return (-1);
	return (0);
}

int
pidfile_remove(struct pidfh *pfh)
{
	int	rc = unlink(pfh->path);

	close(pfh->fd);
	free(pfh->path);
	free(pfh);
	return (rc);
}

/* Let go of the file and its lock, leaving it in place. */
int
pidfile_close(struct pidfh *pfh)
{
	close(pfh->fd);
	free(pfh->path);
	free(pfh);
	return (0);
}

#endif /* TCPPROXY_OWN_PIDFILE */
