/*
 * Migration of queued clients in an SO_REUSEPORT group; see
 * reuseport_migrate.h.
 *
 * When a worker dies the master closes its sockets, and the kernel resets
 * every client still waiting in their accept queues unless the group
 * allows migration (Linux 5.14): either the host sets
 * net.ipv4.tcp_migrate_req, or the group carries a socket program of the
 * "select or migrate" kind.  The program here is the smallest there is:
 * it answers SK_PASS without choosing, so the kernel picks a socket by
 * its usual hash, for new clients as for migrated ones.  Loading it needs
 * CAP_BPF or CAP_SYS_ADMIN; without them the sysctl is the way.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/syscall.h>
#include <linux/bpf.h>
#endif

#include "reuseport_migrate.h"

#if defined(__linux__) && defined(SO_ATTACH_REUSEPORT_EBPF)

#define MIGRATE_SYSCTL	"/proc/sys/net/ipv4/tcp_migrate_req"

/* Whether the host already migrates every group's queued clients. */
static int
migrate_sysctl_set(void)
{
	char	c = '0';
	int	fd;

	if ((fd = open(MIGRATE_SYSCTL, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	if (read(fd, &c, 1) != 1)
		c = '0';
	close(fd);
	return (c == '1');
}

static int
migrate_prog_load(void)
{
	/* r0 = SK_PASS; exit */
	struct bpf_insn	insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr	attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
	attr.expected_attach_type = BPF_SK_REUSEPORT_SELECT_OR_MIGRATE;
	attr.insns = (__u64)(unsigned long)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (__u64)(unsigned long)"Dual BSD/GPL";
	return ((int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
}

int
reuseport_migrate(int fd)
{
	int	prog, saved;

	if ((prog = migrate_prog_load()) == -1) {
		saved = errno;
		if (migrate_sysctl_set())
			return (0);
		errno = saved;
		return (-1);
	}
	/* The group keeps its own reference to the program. */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog,
	    sizeof(prog)) == -1) {
		saved = errno;
		close(prog);
		errno = saved;
		return (migrate_sysctl_set() ? 0 : -1);
	}
	close(prog);
	return (0);
}

#else

int
reuseport_migrate(int fd)
{
	(void)fd;
	errno = EOPNOTSUPP;
	return (-1);
}

#endif
