/*
 * The sandbox of a network relay worker; see sandbox.h.
 *
 * Linux: PR_SET_NO_NEW_PRIVS, then a seccomp-bpf allow-list.  Every
 * system call not on it kills the whole process (SECCOMP_RET_KILL_PROCESS;
 * kernels before 4.14 kill the calling thread, the same thing for a
 * single-threaded process).
 *
 * Why hand-written BPF and not libseccomp: the filter is one short list
 * with three argument checks, and the only dependency stays libbsd,
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
 * pledge("stdio inet recvfd").  recvfd is needed because a new listener
 * table arrives as descriptors over the channel at every reload; a
 * violation is killed with SIGABRT.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <netinet/in.h>

#include <endian.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS	0x80000000U
#endif
#define X32_SYSCALL_BIT			0x40000000U

/* Every call allowed whatever its arguments. */
static const unsigned int allowed[] = {
	/* the poll loop and the channel to the parent */
#ifdef __NR_poll
	__NR_poll,
#endif
	__NR_ppoll,
	__NR_epoll_ctl,		/* the set is made before the filter */
	__NR_epoll_pwait,
	__NR_read,
	__NR_write,
	__NR_readv,
	__NR_writev,
	__NR_recvfrom,
	__NR_sendto,
	__NR_recvmsg,
	__NR_sendmsg,
	__NR_close,
	/* sockets: socket(2) itself is checked below */
	__NR_accept,
	__NR_accept4,
	__NR_connect,
	__NR_bind,		/* a configured source address */
	__NR_shutdown,
	__NR_setsockopt,
	__NR_getsockopt,
	__NR_getsockname,
	__NR_getpeername,
	__NR_fcntl,
	__NR_splice,
	__NR_pipe2,
	/* time; clock_gettime and gettimeofday are in the vDSO mostly */
	__NR_clock_gettime,
	__NR_gettimeofday,
	__NR_nanosleep,
	__NR_clock_nanosleep,
	/* malloc; mmap(2) is checked below */
	__NR_brk,
	__NR_munmap,
	__NR_mremap,
	__NR_madvise,
	/* signals */
	__NR_rt_sigprocmask,
	__NR_rt_sigreturn,
	__NR_rt_sigaction,
	__NR_sigaltstack,
	__NR_restart_syscall,
	/* identity, for debug lines */
	__NR_getpid,
	__NR_getuid,
	__NR_geteuid,
	__NR_getgid,
	__NR_getegid,
#ifdef __NR_getrlimit
	__NR_getrlimit,		/* prlimit64 is checked below */
#endif
	__NR_exit,
	__NR_exit_group,
#ifdef SANDBOX_SANITIZER
	/*
	 * Sanitizer builds only (make check-asan): LeakSanitizer's check at
	 * exit stops the world with a ptrace(2)-ing clone that lists
	 * /proc/self/task, and an error report reads /proc/self/maps.
	 * Without these a worker of tcpproxy-asan dies of SIGSYS at exit.
	 */
	__NR_clone,
	__NR_ptrace,
	__NR_wait4,
	__NR_prctl,
	__NR_futex,
	__NR_sched_yield,
	__NR_getppid,
	__NR_gettid,
	__NR_tgkill,
	__NR_mprotect,
#ifdef __NR_open
	__NR_open,
#endif
	__NR_openat,
#ifdef __NR_getdents
	__NR_getdents,
#endif
	__NR_getdents64,
	__NR_lseek,
#ifdef __NR_readlink
	__NR_readlink,
#endif
	__NR_readlinkat,
#ifdef __NR_newfstatat
	__NR_newfstatat,
#endif
	__NR_fstat,
#ifdef __NR_stat
	__NR_stat,		/* looking for llvm-symbolizer */
#endif
#ifdef __NR_access
	__NR_access,
#endif
	__NR_faccessat,
	__NR_ioctl,		/* isatty(2) before a report */
#endif
};

#ifdef SANDBOX_SANITIZER
/*
 * Sanitizer builds only: refused with EPERM rather than fatal, so that
 * a report whose symbolizer (llvm-symbolizer, with clang) cannot be
 * started still comes out, unsymbolized.
 */
static const unsigned int refused[] = {
#ifdef __NR_fork
	__NR_fork,
#endif
#ifdef __NR_vfork
	__NR_vfork,
#endif
	__NR_execve,
	__NR_execveat,
};
#define NREFUSED	(sizeof(refused) / sizeof(refused[0]))
#else
#define NREFUSED	0
#endif

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

/*
 * socket(2): IPv4 or IPv6 TCP only.  The int arguments are checked in
 * their low 32 bits, which is all the kernel reads of them.
 */
static const struct sock_filter check_socket[] = {
	LD(ARG_LO(0)),				/* domain */
	JEQ(AF_INET, 1, 0),
	JEQ(AF_INET6, 0, 7),			/* -> kill */
	LD(ARG_LO(1)),				/* type, less its flags */
	AND(~(unsigned int)(SOCK_NONBLOCK | SOCK_CLOEXEC)),
	JEQ(SOCK_STREAM, 0, 4),			/* -> kill */
	LD(ARG_LO(2)),				/* protocol */
	JEQ(0, 1, 0),
	JEQ(IPPROTO_TCP, 0, 1),			/* -> kill */
	ALLOW,
	KILL,
};

/* mmap(2): memory, never code. */
static const struct sock_filter check_mmap[] = {
	LD(ARG_LO(2)),				/* prot */
	JSET(PROT_EXEC, 0, 1),
	KILL,
	ALLOW,
};

/* prlimit64(2): read our own limits (getrlimit(3)), never set any. */
static const struct sock_filter check_prlimit[] = {
	LD(ARG_LO(0)),				/* pid: 0, ourselves */
	JEQ(0, 0, 5),				/* -> kill */
	LD(ARG_LO(2)),				/* new_limit: NULL */
	JEQ(0, 0, 3),				/* -> kill */
	LD(ARG_HI(2)),
	JEQ(0, 0, 1),				/* -> kill */
	ALLOW,
	KILL,
};

static const struct {
	unsigned int			 nr;
	const struct sock_filter	*insns;
	size_t				 len;
} checked[] = {
	{ __NR_socket, check_socket,
	    sizeof(check_socket) / sizeof(check_socket[0]) },
	{ __NR_mmap, check_mmap,
	    sizeof(check_mmap) / sizeof(check_mmap[0]) },
	{ __NR_prlimit64, check_prlimit,
	    sizeof(check_prlimit) / sizeof(check_prlimit[0]) },
};

#define NALLOWED	(sizeof(allowed) / sizeof(allowed[0]))
#define NCHECKED	(sizeof(checked) / sizeof(checked[0]))
#define FILTER_MAX	(8 + 2 * (NALLOWED + NREFUSED) + NCHECKED * (1 + 16))

static size_t
build_filter(struct sock_filter *f)
{
	size_t	n = 0, i, j;

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
	for (i = 0; i < NALLOWED; i++) {
		f[n++] = (struct sock_filter)JEQ(allowed[i], 0, 1);
		f[n++] = (struct sock_filter)ALLOW;
	}
#ifdef SANDBOX_SANITIZER
	for (i = 0; i < NREFUSED; i++) {
		f[n++] = (struct sock_filter)JEQ(refused[i], 0, 1);
		f[n++] = (struct sock_filter)RET(SECCOMP_RET_ERRNO | EPERM);
	}
#endif
	/* A check block always returns; skipping it keeps nr in A. */
	for (i = 0; i < NCHECKED; i++) {
		f[n++] = (struct sock_filter)JEQ(checked[i].nr, 0,
		    (unsigned char)checked[i].len);
		for (j = 0; j < checked[i].len; j++)
			f[n++] = checked[i].insns[j];
	}
	f[n++] = (struct sock_filter)KILL;
	return (n);
}

int
sandbox_enter(char *err, size_t errlen)
{
	struct sock_filter	f[FILTER_MAX];
	struct sock_fprog	prog;

	memset(&prog, 0, sizeof(prog));
	prog.len = (unsigned short)build_filter(f);
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
		return (-1);
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s",
		    strerror(errno));
		return (-1);
	}
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
sandbox_enter(char *err, size_t errlen)
{
	/*
	 * No more unveil(2) calls, so no path can be made visible; and
	 * without rpath, wpath or cpath the pledge opens none anyway.
	 */
	if (unveil(NULL, NULL) == -1) {
		snprintf(err, errlen, "unveil: %s", strerror(errno));
		return (-1);
	}
	if (pledge("stdio inet recvfd", NULL) == -1) {
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
sandbox_enter(char *err, size_t errlen)
{
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

/*
 * A Unix socket: forbidden by the seccomp filter's check of socket(2) and
 * by pledge without "unix".  Not open(2), which a sanitizer build must
 * allow (above), and harmless outside the sandbox.
 */
void
sandbox_selftest_violation(void)
{
	int	fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1)
		close(fd);
}
