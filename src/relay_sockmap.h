/*
 * The in-kernel data path of a worker's relays: a direction that only
 * ever moves small messages is handed to the kernel (a BPF sockmap
 * program passes each segment from one socket to the other without
 * waking the worker) and comes back to the worker when it ends or
 * falls behind.  Linux only; elsewhere, and with --no-sockmap or when
 * the master could not load the program, every call here does nothing.
 */
#ifndef TCPPROXY_RELAY_SOCKMAP_H
#define TCPPROXY_RELAY_SOCKMAP_H

#include <stdint.h>

struct relay;
struct relay_set;
struct flow;

#define SOCKMAP_AFTER_READS	4	/* small reads in a row, then kernel */
#define SOCKMAP_TRIES		32	/* handed over at most, per direction */
#define SOCKMAP_BOUND		(256 * 1024)	/* waiting in it, at most */

int	relay_sockmap_take(struct relay_set *, uint32_t, uint32_t, int);
int	relay_sockmap_ready(void);
void	relay_sockmap_test_refuse(void);
void	relay_sockmap_consider(struct relay *);
int	relay_sockmap_source_event(struct relay *, struct flow *, int);
int	relay_sockmap_timeout(const struct relay_set *, int64_t, int);
void	relay_sockmap_run(struct relay_set *, int64_t);
int	relay_sockmap_sweep(struct relay *);
void	relay_sockmap_sync(struct relay *);
void	relay_sockmap_forget(struct relay *);

#endif
