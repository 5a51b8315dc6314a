/*
 * The old master's side of an upgrade (tcpproxyctl upgrade, SIGURG):
 * start the new master with every socket (upgrade.c), wait for it to
 * say its workers serve, then hand over: our workers finish their
 * connections and we exit.  If it fails, nothing has changed.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "log.h"
#include "master_state.h"
#include "pidfile.h"
#include "sdnotify.h"
#include "upgrade.h"

#define UPGRADE_READY_MS	15000	/* for the new master to serve */

static struct {
	pid_t		 pid;		/* the new master; -1: none */
	int		 ready_fd;
	uint32_t	 client;	/* who asked, or 0 (SIGURG) */
	int64_t		 deadline_ms;
} up = { -1, -1, 0, 0 };

/* The pid file goes with the lock: the new master takes both. */
static void
pidfile_let_go(void)
{
	if (ms.setup->pidfh != NULL)
		pidfile_close(ms.setup->pidfh);
	ms.setup->pidfh = NULL;
}

static void
pidfile_take_back(void)
{
	pid_t	other;

	if (ms.setup->pidfile_path == NULL)
		return;
	if ((ms.setup->pidfh = pidfile_open(ms.setup->pidfile_path, 0644,
	    &other)) == NULL || pidfile_write(ms.setup->pidfh) == -1)
		log_warn("cannot write pid file %s again",
		    ms.setup->pidfile_path);
}

static void
upgrade_failed(const char *why)
{
	log_warnx("upgrade failed: %s; still serving", why);
	if (up.client != 0)
		control_finish(up.client, 0, "upgrade failed: %s", why);
	if (up.ready_fd != -1)
		close(up.ready_fd);
	up.ready_fd = -1;
	up.pid = -1;
	pidfile_take_back();
}

void
master_upgrade_start(uint32_t client)
{
	char	err[256];

	if (up.pid != -1) {
		if (client != 0)
			control_finish(client, 0, "an upgrade is under way");
		return;
	}
	if (ms.stopping) {
		if (client != 0)
			control_finish(client, 0, "stopping");
		return;
	}
	log_notice("upgrade: starting the new master");
	up.client = client;
	pidfile_let_go();
	if ((up.pid = upgrade_exec(ms.table, control_fd(), ms.metrics.fd,
	    &up.ready_fd, err, sizeof(err))) == -1) {
		upgrade_failed(err);
		return;
	}
	up.deadline_ms = clock_now_ms() + UPGRADE_READY_MS;
}

/* The new master serves: it is the daemon now. */
static void
hand_over(void)
{
	char	why[64];
	pid_t	pid = up.pid;

	close(up.ready_fd);
	up.ready_fd = -1;
	up.pid = -1;
	log_notice("upgrade: pid %ld serves; handing over", (long)pid);
	if (up.client != 0)
		control_finish(up.client, 1, "upgraded: pid %ld -> pid %ld",
		    (long)getpid(), (long)pid);
	sdnotify_send("MAINPID=%ld\nREADY=1\nSTATUS=upgraded to pid %ld",
	    (long)pid, (long)pid);
	control_hand_over();
	master_metrics_hand_over();
	snprintf(why, sizeof(why), "upgraded to pid %ld", (long)pid);
	master_hand_over(why);
}

int
master_upgrade_reaped(pid_t pid, int status)
{
	char	why[64];

	if (pid != up.pid || pid == -1)
		return (0);
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "the new master was killed by "
		    "signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) == 127)
		snprintf(why, sizeof(why), "the new binary could not be run");
	else
		snprintf(why, sizeof(why), "the new master exited with status "
		    "%d (see its log lines)", WEXITSTATUS(status));
	upgrade_failed(why);
	return (1);
}

void
master_upgrade_pollfd(struct pollfd *pfd)
{
	pfd->fd = up.ready_fd;
	pfd->events = POLLIN;
	pfd->revents = 0;
}

int64_t
master_upgrade_deadline(void)
{
	return (up.pid != -1 ? up.deadline_ms : -1);
}

void
master_upgrade_io(const struct pollfd *pfd, int64_t now)
{
	char	c;

	if (up.pid == -1)
		return;
	if (pfd->fd == up.ready_fd && (pfd->revents & (POLLIN | POLLHUP))) {
		if (read(up.ready_fd, &c, 1) == 1) {
			hand_over();
			return;
		}
		/* Closed without a word: it died; reap() says how. */
		close(up.ready_fd);
		up.ready_fd = -1;
	}
	if (now >= up.deadline_ms) {
		kill(up.pid, SIGKILL);
		waitpid(up.pid, NULL, 0);
		upgrade_failed("the new master was not ready in time");
	}
}
