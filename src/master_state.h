/*
 * The master's state, shared by its files: master.c (start-up,
 * supervision, signals and the loop), master_stop.c, master_reload.c,
 * master_rounds.c (questions to every worker), master_control.c (the
 * control socket's commands), master_watchdog.c, master_resolve.c,
 * master_metrics.c and master_upgrade.c.  Nothing outside the master
 * includes this.
 */
#ifndef TCPPROXY_MASTER_STATE_H
#define TCPPROXY_MASTER_STATE_H

#include <sys/types.h>
#include <poll.h>
#include <stdint.h>

#include "control.h"
#include "listener.h"
#include "master.h"
#include "msg.h"

#define ANSWER_TIMEOUT_MS	2000	/* a worker's answer to a question */

struct worker_proc {
	int			 id;
	pid_t			 pid;		/* -1: dead, waiting to respawn */
	struct msg_channel	 ch;
	uint32_t		 acked;		/* generation it serves */
	uint32_t		 sent;		/* newest generation sent */
	uint32_t		 stats_seq;	/* newest PROTO_STATS sent */
	uint32_t		 stats_entries;	/* answers to it so far */
	int			 stats_done;
	uint64_t		 stats_connections; /* its sum in that round */
	unsigned int		 dumps_pending;	/* PROTO_DUMP not yet done */
	unsigned int		 restarts;	/* times it was replaced */
	int			 quiesced;	/* told to finish and exit */
	int64_t			 started_ms;
	int64_t			 respawn_ms;
	int			 backoff_ms;
	uint32_t		 ping_seq;	/* newest heartbeat sent */
	int64_t			 ping_sent_ms;	/* 0: none unanswered */
	int64_t			 ping_next_ms;	/* when to send the next */
};

/*
 * A control request waiting for the workers: a connection list or a
 * kill (each worker asked answers once, per_worker says how far), or a
 * show command waiting for the stats round, or a reload waiting until
 * every worker serves its generation.
 */
struct control_wait {
	uint32_t		 client;	/* 0: a free slot */
	enum control_cmd	 cmd;
	uint32_t		 arg;		/* listener, or generation */
	int64_t			 deadline_ms;
	int			 found;		/* kill: a worker had it */
	struct {
		int		 asked;
		int		 done;
		uint32_t	 batches;
	}			 per_worker[LISTENER_SOCKETS_MAX];
};

/* The metrics process, when a `metrics:` statement asks for one. */
struct metrics_proc {
	pid_t			 pid;		/* -1: none running */
	struct msg_channel	 ch;
	struct addr		 addr;		/* len 0: not configured */
	int			 fd;		/* its HTTP socket, or -1 */
	struct addr		 next_addr;	/* a reload's, until commit */
	int			 next_fd;
	int			 stopped;	/* we sent it SIGTERM */
	int64_t			 started_ms;
	int64_t			 respawn_ms;
	int			 backoff_ms;
};

struct master_state {
	struct master_setup	*setup;
	struct worker_proc	*workers;
	struct listener_table	*table;
	struct pollfd		*pfd;		/* workers, then control */
	int			 reload_waiting;
	uint64_t		 reloads;	/* completed since start */
	struct {				/* the last completed reload */
		uint32_t	 generation;
		size_t		 kept, added, removed;
	} last_reload;
	/* The table every worker served last: what a reload is told against. */
	size_t			 base_n;
	uint32_t		 base_next_id;	/* ids from here on are newer */
	int64_t			 started_ms;
	int64_t			 startup_deadline_ms;
	int			 stopping;	/* a graceful stop is under way */
	int64_t			 stop_deadline_ms;
	struct {				/* SIGUSR1, show commands */
		int		 active;
		int		 log;		/* SIGUSR1 asked: log it */
		int		 again;		/* signalled during a round */
		uint32_t	 seq;
		uint64_t	 retired;	/* through removed listeners */
		int64_t		 deadline_ms;
	} stats;
	struct {				/* SIGUSR2 */
		int		 active;
		int64_t		 deadline_ms;
	} dump;
	struct control_wait	 waits[CONTROL_CLIENTS_MAX];
	struct metrics_proc	 metrics;
};

extern struct master_state	 ms;

/* The earlier of two deadlines, -1 being none. */
static inline int64_t
deadline_earliest(int64_t a, int64_t b)
{
	if (a == -1)
		return (b);
	if (b == -1)
		return (a);
	return (a < b ? a : b);
}

int	master_worker_live(const struct worker_proc *);
int	master_worker_current(const struct worker_proc *);
void	master_worker_violation(struct worker_proc *, const char *);
void	master_worker_kill(struct worker_proc *);
struct worker_proc *master_worker_by_pid(pid_t);
void	master_worker_io(struct worker_proc *, int);
struct listener *master_listener_by_id(const struct listener_table *,
	    uint32_t);

/* master_rounds.c */
void	master_stats_start(int);
void	master_stats_message(struct worker_proc *, struct msg *);
void	master_dump_start(void);
void	master_dump_done(struct worker_proc *);
void	master_rounds_check(void);
int64_t	master_rounds_expire(int64_t);

int	master_send_table(struct worker_proc *);
void	master_all_acked_check(void);
void	master_child_log(const char *, const struct msg *);
void	master_child_last_words(struct msg_channel *, const char *);

/* master_reload.c */
int	master_reload(uint32_t);
void	master_send_generation(const char *);
void	master_log_table_changes(const struct listener_table *,
	    const struct listener_table *);

/* master_resolve.c */
int64_t	master_resolve_check(int64_t);
int	master_resolve_reaped(pid_t, int);

/* master_metrics.c */
int	master_metrics_prepare(struct conf *);
void	master_metrics_commit(void);
int	master_metrics_reaped(pid_t, int);
void	master_metrics_respawn(int64_t, int64_t *);
void	master_metrics_pollfd(struct pollfd *);
void	master_metrics_io(const struct pollfd *);
void	master_metrics_stop(void);
void	master_metrics_hand_over(void);

/* master_stop.c */
void	master_stop(int);
void	master_stop_check(int);
void	master_hand_over(const char *);

/* master_watchdog.c */
int64_t	master_watchdog_check(int64_t);
void	master_watchdog_pong(struct worker_proc *, const struct msg *);

/* master_upgrade.c */
void	master_upgrade_start(uint32_t);
int	master_upgrade_reaped(pid_t, int);
void	master_upgrade_pollfd(struct pollfd *);
void	master_upgrade_io(const struct pollfd *, int64_t);
int64_t	master_upgrade_deadline(void);

/* master_control.c */
void	master_control_request(uint32_t, const struct control_request *);
void	master_control_message(struct worker_proc *, const struct msg *);
void	master_control_stats_done(void);
void	master_control_reloaded(void);
void	master_control_worker_gone(struct worker_proc *);
void	master_control_expire(int64_t);
int64_t	master_control_deadline(void);

#endif
