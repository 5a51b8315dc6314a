/*
 * The metrics process (Prometheus over HTTP, for `metrics:`), a child of
 * the master like a worker; see metrics.c.
 */
#ifndef TCPPROXY_METRICS_H
#define TCPPROXY_METRICS_H

struct proc_identity;

__attribute__((__noreturn__))
void	metrics_main(const struct proc_identity *, int);

#endif
