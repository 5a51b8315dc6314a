/*
 * Linux capabilities: what a master started without root but with
 * ambient capabilities (a systemd unit's User= with AmbientCapabilities=)
 * may do, and shedding them all in a child.  Elsewhere only root is
 * privileged, and these say so.
 */
#ifndef PRIVSEP_CAPS_H
#define PRIVSEP_CAPS_H

#include <stddef.h>

enum caps_power {
	CAPS_SETID,		/* setuid, setgid and setgroups */
	CAPS_CHROOT,
};

int	caps_effective(enum caps_power);
int	caps_shed(char *, size_t);

#endif
