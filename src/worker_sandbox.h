/*
 * What a worker may do once it serves; see worker_sandbox.c.
 */
#ifndef TCPPROXY_WORKER_SANDBOX_H
#define TCPPROXY_WORKER_SANDBOX_H

struct sandbox_policy;

extern const struct sandbox_policy worker_sandbox;

/*
 * Tests only: make a call the policy forbids (socket(AF_UNIX, ...)).
 * Inside the sandbox this does not return: the kernel kills the process,
 * with SIGSYS on Linux and SIGABRT on OpenBSD.  Outside it returns.
 */
void	worker_sandbox_violation(void);

#endif
