/*
 * A kernel-enforced sandbox, the mechanism: seccomp-bpf on Linux,
 * pledge(2) and unveil(2) on OpenBSD, nothing elsewhere.  What a process
 * may do is its caller's policy (for tcpproxy's workers, see
 * src/worker_sandbox.c).  Enter it after dropping privileges and before
 * reading anything a peer sent; there is no way out.
 */
#ifndef PRIVSEP_SANDBOX_H
#define PRIVSEP_SANDBOX_H

#include <stddef.h>

#if defined(__linux__) && defined(__x86_64__) && !defined(__ILP32__)
#define SANDBOX_SECCOMP
#define SANDBOX_AUDIT_ARCH	AUDIT_ARCH_X86_64
#elif defined(__linux__) && defined(__aarch64__) && !defined(__ILP32__)
#define SANDBOX_SECCOMP
#define SANDBOX_AUDIT_ARCH	AUDIT_ARCH_AARCH64
#endif

/* Built with AddressSanitizer or LeakSanitizer (gcc or clang)? */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_LEAK__)
#define SANDBOX_SANITIZER
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANDBOX_SANITIZER
#endif
#endif

#ifdef SANDBOX_SECCOMP
#include <sys/syscall.h>

#include <endian.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS	0x80000000U
#endif

/* For a policy's argument checks. */
/* The low and high 32 bits of argument i. */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define ARG_LO(i)	(offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i)	(ARG_LO(i) + 4)
#else
#define ARG_HI(i)	(offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_LO(i)	(ARG_HI(i) + 4)
#endif

#define LD(off)		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define JSET(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f))
#define AND(k)		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, (k))
#define RET(k)		BPF_STMT(BPF_RET | BPF_K, (k))
#define ALLOW		RET(SECCOMP_RET_ALLOW)
#ifdef SANDBOX_LOG_ONLY
/* Debugging the list: allow, and have the kernel log, what it misses. */
#define KILL		RET(SECCOMP_RET_LOG)
#else
#define KILL		RET(SECCOMP_RET_KILL_PROCESS)
#endif

#endif	/* SANDBOX_SECCOMP */

/* A call allowed only as its filter says: struct sock_filter[len]. */
struct sandbox_check {
	unsigned int		 nr;
	const void		*insns;	/* every path ends in a return */
	size_t			 len;
};

struct sandbox_policy {
	/* seccomp: system call numbers */
	const unsigned int		*allowed;	/* whatever the arguments */
	size_t				 nallowed;
	const unsigned int		*refused;	/* EPERM, not death */
	size_t				 nrefused;
	const struct sandbox_check	*checked;
	size_t				 nchecked;
	/* OpenBSD */
	const char			*pledge;	/* the promises */
};

/*
 * Enter the sandbox of the policy.  0 on success (or when this platform
 * has none: see sandbox_name()); -1 with the reason in err otherwise.
 */
int		 sandbox_enter(const struct sandbox_policy *, char *, size_t);

/* "seccomp-bpf", "pledge" or "none" (and more words): for a log line. */
const char	*sandbox_name(void);

#endif
