/*
 * Spawning children and dropping privileges; see proc.h.
 */
#include <sys/types.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "msg.h"
#include "proc.h"

static pid_t	proc_parent;	/* in a child: who must outlive it */

/*
 * Look up the user and group and check, while still in the parent, that
 * the child will be able to become them: errors then reach the admin's
 * terminal instead of a dying child's log line.
 */
int
proc_identity_resolve(struct proc_identity *id, char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;
	struct stat	 st;
	int		 may_setid = caps_effective(CAPS_SETID);
	int		 may_chroot = caps_effective(CAPS_CHROOT);

	id->change_uid = id->change_gid = 0;
	id->uid = geteuid();
	id->gid = getegid();
	if (id->user != NULL) {
		if ((pw = getpwnam(id->user)) == NULL) {
			snprintf(err, errlen, "unknown user '%s'", id->user);
			return (-1);
		}
		id->uid = pw->pw_uid;
		id->gid = pw->pw_gid;
		id->change_uid = id->change_gid = 1;
		/* A user is asked for to shed root; root is no answer. */
		if (id->uid == 0) {
			snprintf(err, errlen, "refusing to run %s as "
			    "'%s': uid 0 is root", id->role != NULL ?
			    id->role : "children", id->user);
			return (-1);
		}
	}
	if (id->group != NULL) {
		if ((gr = getgrnam(id->group)) == NULL) {
			snprintf(err, errlen, "unknown group '%s'", id->group);
			return (-1);
		}
		id->gid = gr->gr_gid;
		id->change_gid = 1;
	}
	if (!may_setid) {
		/* Becoming oneself needs no privilege and changes nothing. */
		if (id->change_uid && id->uid != geteuid()) {
			snprintf(err, errlen, "cannot switch to user '%s': "
			    "not running as root", id->user);
			return (-1);
		}
		if (id->change_gid && id->gid != getegid()) {
			snprintf(err, errlen, "cannot switch to group '%s': "
			    "not running as root", id->group ? id->group :
			    id->user);
			return (-1);
		}
		id->change_uid = id->change_gid = 0;
	}
	if (id->chroot != NULL) {
		if (!may_chroot) {
			snprintf(err, errlen, "cannot chroot to '%s': "
			    "not running as root", id->chroot);
			return (-1);
		}
		if (stat(id->chroot, &st) == -1) {
			snprintf(err, errlen, "cannot chroot to '%s': %s",
			    id->chroot, strerror(errno));
			return (-1);
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "cannot chroot to '%s': "
			    "not a directory", id->chroot);
			return (-1);
		}
		/* A jail its prisoner could write to is no jail. */
		if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
			snprintf(err, errlen, "refusing to chroot to '%s': "
			    "it must be owned by root and not writable by "
			    "group or others", id->chroot);
			return (-1);
		}
	}
	return (0);
}

/*
 * chroot, then group, then user, then shed any capabilities left, then
 * prove there is no way back.
 * Runs in the child, before it touches the network.
 */
int
proc_drop_privileges(const struct proc_identity *id, char *err, size_t errlen)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid, groups[2];
	int	ngroups;

	if (id->chroot != NULL) {
		if (chroot(id->chroot) == -1 || chdir("/") == -1) {
			snprintf(err, errlen, "chroot to '%s': %s", id->chroot,
			    strerror(errno));
			return (-1);
		}
	}
	if (id->change_gid) {
		if (setgroups(1, &id->gid) == -1 ||
		    setresgid(id->gid, id->gid, id->gid) == -1) {
			snprintf(err, errlen, "cannot set group %lu: %s",
			    (unsigned long)id->gid, strerror(errno));
			return (-1);
		}
	}
	if (id->change_uid) {
		if (setresuid(id->uid, id->uid, id->uid) == -1) {
			snprintf(err, errlen, "cannot set user %lu: %s",
			    (unsigned long)id->uid, strerror(errno));
			return (-1);
		}
	}
#ifdef __linux__
	/*
	 * A change of credentials clears the parent-death signal: ask
	 * again, and die if the parent went while it was unset.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1) {
		snprintf(err, errlen, "parent-death signal: %s",
		    strerror(errno));
		return (-1);
	}
	if (proc_parent != 0 && getppid() != proc_parent) {
		snprintf(err, errlen, "the parent is gone");
		return (-1);
	}
#endif
	/* Capabilities are root's powers: none may outlive the drop. */
	if (geteuid() != 0 && caps_shed(err, errlen) == -1)
		return (-1);
	if (id->change_uid && id->uid != 0 &&
	    (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errlen, "could regain root after the drop");
		return (-1);
	}
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1) {
		snprintf(err, errlen, "getresuid: %s", strerror(errno));
		return (-1);
	}
	if (id->change_uid && (ruid != id->uid || euid != id->uid ||
	    suid != id->uid)) {
		snprintf(err, errlen, "user ids are not all %lu",
		    (unsigned long)id->uid);
		return (-1);
	}
	if (id->change_gid) {
		ngroups = getgroups(2, groups);
		if (rgid != id->gid || egid != id->gid || sgid != id->gid ||
		    ngroups != 1 || groups[0] != id->gid) {
			snprintf(err, errlen, "group ids are not all %lu",
			    (unsigned long)id->gid);
			return (-1);
		}
	}
	return (0);
}

/*
 * Fork a child joined to us by a message channel.  In the parent it
 * returns the child's pid and stores our end in *parent_end; in the child
 * it returns 0 with the child's end at PROC_CHANNEL_FD and every other
 * descriptor above stderr closed.  setup, if not NULL, runs in the child
 * first, while it still has the parent's descriptors; the child exits
 * with status 1 if it fails.
 */
pid_t
proc_spawn(int *parent_end, int (*setup)(int), int arg, char *err,
    size_t errlen)
{
	int	sv[2];
	pid_t	pid, parent = getpid();

	if (msg_socketpair(sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return (-1);
	}
	switch ((pid = fork())) {
	case -1:
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return (-1);
	case 0:
#ifdef __linux__
		/* No child may outlive the parent, even after a SIGKILL. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		if (getppid() != parent)
			_exit(1);
		proc_parent = parent;
		if (setup != NULL && setup(arg) == -1)
			_exit(1);
		if (dup2(sv[1], PROC_CHANNEL_FD) == -1)
			_exit(1);
		closefrom(PROC_CHANNEL_FD + 1);
		return (0);
	default:
		close(sv[1]);
		*parent_end = sv[0];
		return (pid);
	}
}

/*
 * Standard input, and with all standard output and error as well, from
 * and to /dev/null: a process that has left its terminal.  -1 if
 * /dev/null cannot be opened, and nothing changed.
 */
int
proc_stdio_null(int all)
{
	int	fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return (-1);
	dup2(fd, STDIN_FILENO);
	if (all) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return (0);
}
