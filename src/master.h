/*
 * The master process: supervises the workers, owns the listener table,
 * the log targets and the signals.  It never touches client data.
 */
#ifndef TCPPROXY_MASTER_H
#define TCPPROXY_MASTER_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "listener.h"
#include "proc.h"

struct pidfh;

struct master_setup {
	struct proc_identity	 ident;
	int			 nworkers;
	const char		*config_path;	/* NULL: -p, nothing to reload */
	size_t			 bufsize;	/* -b */
	struct listener_table	*table;		/* bound already */
	uint32_t		 next_id;
	struct pidfh		*pidfh;
	int			 notify_fd;	/* daemon's parent, or -1 */
	int			 detach;	/* workers close stdio */
	const struct conf_policy *defaults;	/* from the command line */
	int64_t			 shutdown_timeout_ms;	/* --shutdown-timeout */
	int64_t			 watchdog_ms;	/* --watchdog-timeout, 0: off */
	const char		*pidfile_path;	/* -P, absolute, or NULL */
};

#define WATCHDOG_DEFAULT_MS	3000

__attribute__((__noreturn__))
void	master_run(struct master_setup *);
int	master_metrics_setup(struct conf *);

#endif
