/*
 * The hitless upgrade: a running master starts the binary on disk as a
 * new master that takes over every listening socket, the control socket
 * and the metrics socket without any of them closing; see upgrade.c.
 */
#ifndef TCPPROXY_UPGRADE_H
#define TCPPROXY_UPGRADE_H

#include <sys/types.h>

#include "addr.h"

#define UPGRADE_ENV	"TCPPROXY_UPGRADE"
#define UPGRADE_VERSION	1	/* of what UPGRADE_ENV says */

struct listener_table;

/* The old master. */
void	upgrade_save_argv(int, char **);
pid_t	upgrade_exec(const struct listener_table *, int, int, int *, char *,
	    size_t);

/* The new master. */
int	upgrade_collect(char *, size_t);
int	upgrade_active(void);
int	upgrade_take(const struct addr *, int *, int *);
int	upgrade_take_control(void);
int	upgrade_take_metrics(const struct addr *);
void	upgrade_close_unused(void);
void	upgrade_ready(void);

#endif
