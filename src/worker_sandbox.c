/*
 * The sandbox policy of a worker (and of the metrics process): once set
 * up it only moves bytes between sockets it accepts or connects, talks
 * to the master over the channel it has, and gets new listening sockets
 * over it at every reload.  The mechanism is privsep/sandbox.c.
 *
 * seccomp: the list below, every other call fatal; the argument checks
 * keep socket(2) to TCP, mmap(2) from making code, prlimit64(2) to
 * reading, bpf(2) to map elements and ioctl(2) to socket queue sizes.  OpenBSD: pledge("stdio inet recvfd"); recvfd because a new
 * listener table arrives as descriptors.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#ifdef __linux__
#include <linux/bpf.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#endif

#include <stddef.h>
#include <unistd.h>

#include "sandbox.h"
#include "worker_sandbox.h"

#ifdef SANDBOX_SECCOMP

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

/*
 * bpf(2): the in-kernel data path's maps (relay_sockmap.c) are looked
 * up, added to and deleted from; nothing is loaded, created or attached.
 */
static const struct sock_filter check_bpf[] = {
	LD(ARG_LO(0)),				/* cmd */
	JEQ(BPF_MAP_LOOKUP_ELEM, 2, 0),
	JEQ(BPF_MAP_UPDATE_ELEM, 1, 0),
	JEQ(BPF_MAP_DELETE_ELEM, 0, 1),
	ALLOW,
	KILL,
};

#ifndef SANDBOX_SANITIZER
/* ioctl(2): how much waits in a socket's queues, for that same path. */
static const struct sock_filter check_ioctl[] = {
	LD(ARG_LO(1)),				/* request */
	JEQ(SIOCINQ, 1, 0),
	JEQ(SIOCOUTQ, 0, 1),
	ALLOW,
	KILL,
};
#endif

static const struct sandbox_check checked[] = {
	{ __NR_socket, check_socket,
	    sizeof(check_socket) / sizeof(check_socket[0]) },
	{ __NR_mmap, check_mmap,
	    sizeof(check_mmap) / sizeof(check_mmap[0]) },
	{ __NR_prlimit64, check_prlimit,
	    sizeof(check_prlimit) / sizeof(check_prlimit[0]) },
	{ __NR_bpf, check_bpf,
	    sizeof(check_bpf) / sizeof(check_bpf[0]) },
#ifndef SANDBOX_SANITIZER
	{ __NR_ioctl, check_ioctl,
	    sizeof(check_ioctl) / sizeof(check_ioctl[0]) },
#endif
};


const struct sandbox_policy worker_sandbox = {
	.allowed = allowed,
	.nallowed = sizeof(allowed) / sizeof(allowed[0]),
#ifdef SANDBOX_SANITIZER
	.refused = refused,
	.nrefused = sizeof(refused) / sizeof(refused[0]),
#endif
	.checked = checked,
	.nchecked = sizeof(checked) / sizeof(checked[0]),
	.pledge = "stdio inet recvfd",
};

#else

const struct sandbox_policy worker_sandbox = {
	.pledge = "stdio inet recvfd",
};

#endif

/*
 * A Unix socket: forbidden by the seccomp filter's check of socket(2) and
 * by pledge without "unix".  Not open(2), which a sanitizer build must
 * allow (above), and harmless outside the sandbox.
 */
void
worker_sandbox_violation(void)
{
	int	fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1)
		close(fd);
}
