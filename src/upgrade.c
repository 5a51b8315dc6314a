/*
 * The hitless upgrade.
 *
 * The old master forks a child that execs the binary the daemon was
 * started from (its path as resolved at start-up, so the file a package
 * upgrade put there), with the same arguments and UPGRADE_ENV naming
 * the sockets it keeps open across exec:
 *
 *	TCPPROXY_UPGRADE="1 ready=R control=C metrics=M sockets=F:I,F:I,..."
 *
 * 1 is UPGRADE_VERSION; R the write end of a pipe; C, M the control and
 * metrics sockets (-1: none); each F:I a listening socket and the index
 * of the worker that accepts from it (-1: shared by all).  The new
 * master reads its configuration as usual and takes these sockets for
 * the addresses it finds in it instead of binding them: the very same
 * sockets, accept queues and all, so no client is refused or reset.
 * Once its workers all serve, it writes one byte on R; the old master
 * then has its workers finish their connections and exits.  A new
 * master that does not know the version refuses to start, and the old
 * one carries on.  The new master never gets the old workers' channels
 * (they do not survive exec): each master talks to its own workers only,
 * and they check each other's PROTO_VERSION.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "listener.h"
#include "log.h"
#include "upgrade.h"

#define UPGRADE_SOCKETS_MAX	4096

static char	**saved_argv;
static char	 *binary;		/* absolute */

/* What the new master was handed. */
static struct handed {
	int		 fd;
	int		 index;
	struct addr	 addr;
}		 handed[UPGRADE_SOCKETS_MAX];
static int	 nhanded;
static int	 active, ready_fd = -1, control_fd = -1, metrics_fd = -1;

/*
 * Keep argv (setproctitle may write over it) and the binary's absolute
 * path: found the way the shell found it, before any chdir.
 */
void
upgrade_save_argv(int argc, char **argv)
{
	char	 path[PATH_MAX], *p, *dirs, *dir;
	int	 i;

	if ((saved_argv = calloc((size_t)argc + 1, sizeof(*saved_argv))) ==
	    NULL)
		return;
	for (i = 0; i < argc; i++)
		if ((saved_argv[i] = strdup(argv[i])) == NULL)
			return;
	if (strchr(argv[0], '/') != NULL) {
		binary = realpath(argv[0], NULL);
		return;
	}
	if ((p = getenv("PATH")) == NULL || (dirs = strdup(p)) == NULL)
		return;
	for (p = dirs; (dir = strsep(&p, ":")) != NULL;) {
		snprintf(path, sizeof(path), "%s/%s", *dir ? dir : ".",
		    argv[0]);
		if (access(path, X_OK) == 0) {
			binary = realpath(path, NULL);
			break;
		}
	}
	free(dirs);
}

static int
keep(int fd, int *kept, int *nkept)
{
	if (fd == -1)
		return (0);
	if (*nkept == UPGRADE_SOCKETS_MAX)
		return (-1);
	kept[(*nkept)++] = fd;
	return (0);
}

static int
is_kept(int fd, const int *kept, int nkept)
{
	int	i;

	for (i = 0; i < nkept; i++)
		if (kept[i] == fd)
			return (1);
	return (0);
}

/* In the child: every other descriptor closed, these kept over exec. */
static void
child_exec(const int *kept, int nkept, const char *env)
{
	struct rlimit	rl;
	sigset_t	none;
	int		fd, max = 65536;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = (int)rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		if (is_kept(fd, kept, nkept))
			fcntl(fd, F_SETFD, 0);
		else
			close(fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setenv(UPGRADE_ENV, env, 1);
	execv(binary, saved_argv);
	_exit(127);
}

/*
 * Start the new master.  Returns its pid, with *readp the end of the
 * pipe on which it says it is ready; -1 with the reason in err.
 */
pid_t
upgrade_exec(const struct listener_table *t, int control, int metrics,
    int *readp, char *err, size_t errlen)
{
	const struct listener	*l;
	char			*env;
	size_t			 envlen = 128 + 24 * UPGRADE_SOCKETS_MAX;
	int			 kept[UPGRADE_SOCKETS_MAX], nkept = 0;
	int			 pfd[2], i;
	pid_t			 pid;

	if (binary == NULL || saved_argv == NULL) {
		snprintf(err, errlen, "the path of the binary is not known");
		return (-1);
	}
	if (access(binary, X_OK) == -1) {
		snprintf(err, errlen, "%s: %s", binary, strerror(errno));
		return (-1);
	}
	if ((env = malloc(envlen)) == NULL || pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(env);
		return (-1);
	}
	snprintf(env, envlen, "%d ready=%d control=%d metrics=%d sockets=",
	    UPGRADE_VERSION, pfd[1], control, metrics);
	keep(pfd[1], kept, &nkept);
	keep(control, kept, &nkept);
	keep(metrics, kept, &nkept);
	TAILQ_FOREACH(l, &t->list, entry)
		for (i = 0; i < l->nfds; i++) {
			char	one[32];

			if (l->fds[i] == -1 || keep(l->fds[i], kept, &nkept))
				continue;
			snprintf(one, sizeof(one), "%s%d:%d", env[strlen(env) -
			    1] == '=' ? "" : ",", l->fds[i], l->nfds > 1 ? i :
			    -1);
			strlcat(env, one, envlen);
		}
	switch ((pid = fork())) {
	case -1:
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(env);
		return (-1);
	case 0:
		child_exec(kept, nkept, env);
	}
	free(env);
	close(pfd[1]);
	*readp = pfd[0];
	return (pid);
}

static int
env_number(const char *env, const char *key, int *out)
{
	const char	*p, *errstr;
	char		 num[16];
	size_t		 n;

	if ((p = strstr(env, key)) == NULL)
		return (-1);
	p += strlen(key);
	n = strspn(p, "-0123456789");
	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, p, n);
	num[n] = '\0';
	*out = (int)strtonum(num, -1, INT_MAX, &errstr);
	return (errstr != NULL ? -1 : 0);
}

/*
 * The new master, at start-up: read UPGRADE_ENV, if any, and learn each
 * socket's address.  0 when there is nothing or all is well; -1 with
 * the reason in err when the hand-over cannot be understood.
 */
int
upgrade_collect(char *err, size_t errlen)
{
	const char	*env = getenv(UPGRADE_ENV), *p, *errstr = NULL;
	char		*list, *item, *colon, *s;
	int		 version;

	if (env == NULL)
		return (0);
	active = 1;
	version = atoi(env);
	if (version != UPGRADE_VERSION || strchr(env, ' ') == NULL) {
		snprintf(err, errlen, "a hand-over of version %d: this binary "
		    "speaks version %d", version, UPGRADE_VERSION);
		return (-1);
	}
	if (env_number(env, "ready=", &ready_fd) == -1 ||
	    env_number(env, "control=", &control_fd) == -1 ||
	    env_number(env, "metrics=", &metrics_fd) == -1 ||
	    (p = strstr(env, "sockets=")) == NULL ||
	    (list = strdup(p + 8)) == NULL) {
		snprintf(err, errlen, "a hand-over it cannot read: %s", env);
		return (-1);
	}
	for (s = list; (item = strsep(&s, ",")) != NULL && *item != '\0';) {
		struct handed	*h = &handed[nhanded];

		if (nhanded == UPGRADE_SOCKETS_MAX ||
		    (colon = strchr(item, ':')) == NULL) {
			snprintf(err, errlen, "a hand-over it cannot read");
			free(list);
			return (-1);
		}
		*colon = '\0';
		h->fd = (int)strtonum(item, 3, INT_MAX, &errstr);
		if (errstr == NULL)
			h->index = (int)strtonum(colon + 1, -1,
			    LISTENER_SOCKETS_MAX - 1, &errstr);
		h->addr.len = sizeof(h->addr.ss);
		if (errstr != NULL || getsockname(h->fd,
		    (struct sockaddr *)&h->addr.ss, &h->addr.len) == -1) {
			snprintf(err, errlen, "a handed-over socket it cannot "
			    "use: %s", item);
			free(list);
			return (-1);
		}
		fcntl(h->fd, F_SETFD, FD_CLOEXEC);
		nhanded++;
	}
	free(list);
	if (control_fd != -1)
		fcntl(control_fd, F_SETFD, FD_CLOEXEC);
	if (metrics_fd != -1)
		fcntl(metrics_fd, F_SETFD, FD_CLOEXEC);
	fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
	unsetenv(UPGRADE_ENV);
	return (0);
}

int
upgrade_active(void)
{
	return (active);
}

/*
 * The handed-over sockets of address a: into fds (by worker index, or
 * fds[0] when shared), their count in *nfds.  0 if there were none.
 */
int
upgrade_take(const struct addr *a, int *fds, int *nfds)
{
	int	i, n = 0, shared = 0;

	for (i = 0; i < nhanded; i++) {
		if (handed[i].fd == -1 || !addr_equal(&handed[i].addr, a))
			continue;
		if (handed[i].index == -1) {
			fds[0] = handed[i].fd;
			shared = 1;
		} else {
			fds[handed[i].index] = handed[i].fd;
			if (handed[i].index + 1 > n)
				n = handed[i].index + 1;
		}
		handed[i].fd = -1;
	}
	if (shared)
		return (*nfds = 1);
	*nfds = n;
	return (n > 0);
}

int
upgrade_take_control(void)
{
	int	fd = control_fd;

	control_fd = -1;
	return (fd);
}

/* The metrics socket, if it listens on a. */
int
upgrade_take_metrics(const struct addr *a)
{
	struct addr	mine;
	int		fd = metrics_fd;

	if (fd == -1)
		return (-1);
	mine.len = sizeof(mine.ss);
	if (getsockname(fd, (struct sockaddr *)&mine.ss, &mine.len) == -1 ||
	    !addr_equal(&mine, a))
		return (-1);
	metrics_fd = -1;
	return (fd);
}

/* Sockets of listeners the new configuration dropped. */
void
upgrade_close_unused(void)
{
	int	i;

	for (i = 0; i < nhanded; i++)
		if (handed[i].fd != -1) {
			close(handed[i].fd);
			handed[i].fd = -1;
		}
	if (metrics_fd != -1)
		close(metrics_fd);
	if (control_fd != -1)
		close(control_fd);
	metrics_fd = control_fd = -1;
}

/* Every worker serves: the old master may go. */
void
upgrade_ready(void)
{
	if (ready_fd == -1)
		return;
	if (write(ready_fd, "1", 1) != 1)
		log_warn("upgrade: cannot tell the old master");
	close(ready_fd);
	ready_fd = -1;
}
