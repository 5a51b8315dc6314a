/*
 * Entering a sandbox policy; see sandbox.h.
 *
 * Linux: PR_SET_NO_NEW_PRIVS, then a seccomp-bpf allow-list.  Every
 * system call not on the policy's list kills the whole process (SECCOMP_RET_KILL_PROCESS;
 * kernels before 4.14 kill the calling thread, the same thing for a
 * single-threaded process).
 *
 * Why hand-written BPF and not libseccomp: a filter is one short list
 * with a few argument checks, and the only dependency stays libbsd,
 * which keeps the build the same on every platform (libseccomp would be
 * one more -dev package and pkg-config probe, and a library that parses
 * a process's rules at run time).  What libseccomp would add is
 * multi-architecture support; here the syscall numbers come from the
 * <sys/syscall.h> of the architecture we are compiled for, and the
 * filter first checks that the calling convention is that one, which is
 * exactly what a single-architecture binary needs.  Supported: x86_64
 * (with x32 calls, which share its audit arch, refused) and aarch64.
 * Other Linux architectures build without a sandbox (sandbox_name()
 * says "none") rather than with an untested list: 32-bit ones need
 * socketcall(2), mmap2, the *64 time calls, and so on.
 *
 * The filter is built as a run of "nr == N ? allow" pairs, and a block
 * per checked call that ends in a return, so that every jump is short
 * and forward and no offset has to be computed by hand across the list.
 *
 * OpenBSD: unveil(NULL, NULL), which locks the (empty) unveil list, then
 * pledge() with the policy's promises; a violation is killed with
 * SIGABRT.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

#ifdef SANDBOX_SECCOMP
#include <sys/prctl.h>

#define X32_SYSCALL_BIT			0x40000000U

static size_t
filter_len(const struct sandbox_policy *p)
{
	size_t	n = 8 + 2 * (p->nallowed + p->nrefused), i;

	for (i = 0; i < p->nchecked; i++)
		n += 1 + p->checked[i].len;
	return (n);
}

static size_t
build_filter(const struct sandbox_policy *p, struct sock_filter *f)
{
	const struct sock_filter	*insns;
	size_t				 n = 0, i, j;

	/* The calling convention we were compiled for, or die. */
	f[n++] = (struct sock_filter)LD(offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)JEQ(SANDBOX_AUDIT_ARCH, 1, 0);
	f[n++] = (struct sock_filter)KILL;
	f[n++] = (struct sock_filter)LD(offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 calls come with the x86_64 audit arch: refuse them all. */
	f[n++] = (struct sock_filter)JGE(X32_SYSCALL_BIT, 0, 1);
	f[n++] = (struct sock_filter)KILL;
#endif
	for (i = 0; i < p->nallowed; i++) {
		f[n++] = (struct sock_filter)JEQ(p->allowed[i], 0, 1);
		f[n++] = (struct sock_filter)ALLOW;
	}
	for (i = 0; i < p->nrefused; i++) {
		f[n++] = (struct sock_filter)JEQ(p->refused[i], 0, 1);
		f[n++] = (struct sock_filter)RET(SECCOMP_RET_ERRNO | EPERM);
	}
	/* A check block always returns; skipping it keeps nr in A. */
	for (i = 0; i < p->nchecked; i++) {
		insns = p->checked[i].insns;
		f[n++] = (struct sock_filter)JEQ(p->checked[i].nr, 0,
		    (unsigned char)p->checked[i].len);
		for (j = 0; j < p->checked[i].len; j++)
			f[n++] = insns[j];
	}
	f[n++] = (struct sock_filter)KILL;
	return (n);
}

int
sandbox_enter(const struct sandbox_policy *p, char *err, size_t errlen)
{
	struct sock_filter	*f;
	struct sock_fprog	 prog;
	size_t			 i;

	/* A check's jump over it is 8 bits: it must be short. */
	for (i = 0; i < p->nchecked; i++)
		if (p->checked[i].len > 255) {
			snprintf(err, errlen, "sandbox: a check is too long");
			return (-1);
		}
	if ((f = calloc(filter_len(p), sizeof(*f))) == NULL) {
		snprintf(err, errlen, "sandbox: %s", strerror(errno));
		return (-1);
	}
	memset(&prog, 0, sizeof(prog));
	prog.len = (unsigned short)build_filter(p, f);
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
		free(f);
		return (-1);
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s",
		    strerror(errno));
		free(f);
		return (-1);
	}
	free(f);		/* the kernel has its copy */
	return (0);
}

const char *
sandbox_name(void)
{
#ifdef SANDBOX_SANITIZER
	return ("seccomp-bpf, widened for the sanitizers");
#else
	return ("seccomp-bpf");
#endif
}

#elif defined(__OpenBSD__)

int
sandbox_enter(const struct sandbox_policy *p, char *err, size_t errlen)
{
	/*
	 * No more unveil(2) calls, so no path can be made visible; and
	 * without rpath, wpath or cpath the pledge opens none anyway.
	 */
	if (unveil(NULL, NULL) == -1) {
		snprintf(err, errlen, "unveil: %s", strerror(errno));
		return (-1);
	}
	if (pledge(p->pledge, NULL) == -1) {
		snprintf(err, errlen, "pledge: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

const char *
sandbox_name(void)
{
	return ("pledge");
}

#else

int
sandbox_enter(const struct sandbox_policy *p, char *err, size_t errlen)
{
	(void)p;
	(void)err;
	(void)errlen;
	return (0);
}

const char *
sandbox_name(void)
{
	return ("none");
}

#endif
