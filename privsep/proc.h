/*
 * Child processes: spawning with a message channel, and the one place
 * where a child gives up its privileges.
 */
#ifndef PRIVSEP_PROC_H
#define PRIVSEP_PROC_H

#include <sys/types.h>
#include <stddef.h>

#define PROC_CHANNEL_FD	3	/* where a child finds its channel */

struct proc_identity {
	const char	*role;		/* what the children are, for errors */
	const char	*user;		/* NULL: keep the current user */
	const char	*group;		/* NULL: the user's primary group */
	const char	*chroot;	/* NULL: no chroot */
	uid_t		 uid;
	gid_t		 gid;
	int		 change_uid;
	int		 change_gid;
};

int	proc_identity_resolve(struct proc_identity *, char *, size_t);
int	proc_drop_privileges(const struct proc_identity *, char *, size_t);
pid_t	proc_spawn(int *, int (*)(int), int, char *, size_t);
int	proc_stdio_null(int);

#endif
