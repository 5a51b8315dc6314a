/*
 * A kernel-enforced sandbox for a child that, once set up, only moves
 * bytes between sockets it accepts or connects (a network relay worker):
 * seccomp-bpf on Linux, pledge(2) and unveil(2) on OpenBSD, nothing
 * elsewhere.  Enter it after dropping privileges and before reading
 * anything a peer sent; there is no way out.
 */
#ifndef PRIVSEP_SANDBOX_H
#define PRIVSEP_SANDBOX_H

#include <stddef.h>

/*
 * Enter the sandbox.  0 on success (or when this platform has none: see
 * sandbox_name()); -1 with the reason in err otherwise.
 */
int		 sandbox_enter(char *, size_t);

/* "seccomp-bpf", "pledge" or "none" (and more words): for a log line. */
const char	*sandbox_name(void);

/*
 * Tests only: make a call the sandbox forbids (socket(AF_UNIX, ...)).
 * Inside the sandbox this does not return: the kernel kills the process,
 * with SIGSYS on Linux and SIGABRT on OpenBSD.  Outside it returns.
 */
void		 sandbox_selftest_violation(void);

#endif
