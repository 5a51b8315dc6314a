/*
 * A worker: an unprivileged process that accepts on every listener and
 * relays connections in one poll() loop.
 */
#ifndef TCPPROXY_WORKER_H
#define TCPPROXY_WORKER_H

struct proc_identity;

__attribute__((__noreturn__))
void	worker_main(int, const struct proc_identity *, int);
void	worker_set_test_hooks(char *);
void	worker_set_sandbox(int);

#endif
