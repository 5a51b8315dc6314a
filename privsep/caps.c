/*
 * Linux capabilities; see caps.h.  The two system calls are used
 * directly: two calls do not justify libcap.
 */
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"

#ifdef __linux__

/* This process, in the 64-bit format. */
#define CAPS_SELF	{ .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 }

static int
caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct	hdr = CAPS_SELF;

	memset(data, 0, 2 * sizeof(*data));
	return ((int)syscall(SYS_capget, &hdr, data));
}

static int
caps_has(const struct __user_cap_data_struct data[2], int cap)
{
	return ((data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap)) != 0);
}

/* Whether the effective set allows what is asked, as root always does. */
int
caps_effective(enum caps_power power)
{
	struct __user_cap_data_struct	data[2];

	if (caps_get(data) == -1)
		return (geteuid() == 0);
	switch (power) {
	case CAPS_SETID:
		return (caps_has(data, CAP_SETUID) &&
		    caps_has(data, CAP_SETGID));
	case CAPS_CHROOT:
		return (caps_has(data, CAP_SYS_CHROOT));
	}
	return (0);
}

/*
 * Empty the effective, permitted, inheritable and ambient sets and
 * check that they stay empty (the ambient set cannot outgrow the
 * permitted one, so checking that is enough).  A uid change from root clears them by
 * itself; one between two other users does not, and without this a
 * child of a parent that holds CAP_SETUID could become root again.
 */
int
caps_shed(char *err, size_t errlen)
{
	struct __user_cap_header_struct	hdr = CAPS_SELF;
	struct __user_cap_data_struct	data[2];

	/* EINVAL: a kernel without ambient capabilities has none to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "clearing ambient capabilities: %s",
		    strerror(errno));
		return (-1);
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) == -1) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return (-1);
	}
	if (caps_get(data) == -1) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return (-1);
	}
	if ((data[0].permitted | data[1].permitted | data[0].effective |
	    data[1].effective | data[0].inheritable | data[1].inheritable)
	    != 0) {
		snprintf(err, errlen, "capabilities are left after the drop");
		return (-1);
	}
	return (0);
}

#else

int
caps_effective(enum caps_power power)
{
	(void)power;
	return (geteuid() == 0);
}

int
caps_shed(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return (0);
}

#endif
