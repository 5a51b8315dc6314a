/*
 * The control socket: a unix stream socket in the master that takes one
 * request line per connection from tcpproxyctl(8) and answers it with
 * record lines and one final "ok" or "error" line; see tcpproxyctl(8).
 * This module owns the socket, the clients and the request grammar; what
 * a request does is the master's (control_handler_fn).
 */
#ifndef TCPPROXY_CONTROL_H
#define TCPPROXY_CONTROL_H

#include <sys/types.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_SOCKET_DEFAULT	"/run/tcpproxy.sock"
#define CONTROL_CLIENTS_MAX	16
#define CONTROL_LINE_MAX	512	/* a request, its newline included */
#define CONTROL_POLLFDS		(1 + CONTROL_CLIENTS_MAX)

enum control_cmd {
	CONTROL_SHOW_LISTENERS,
	CONTROL_SHOW_CONNECTIONS,
	CONTROL_SHOW_STATS,
	CONTROL_SHOW_WORKERS,
	CONTROL_RELOAD,
	CONTROL_KILL,
	CONTROL_DRAIN,
	CONTROL_ENABLE,
	CONTROL_LOG_REOPEN,
	CONTROL_STOP,
	CONTROL_UPGRADE,
};

struct control_request {
	enum control_cmd	 cmd;
	uint32_t		 listener;	/* show connections; 0: all */
	int			 worker;	/* kill: W of W.N */
	uint64_t		 relay;		/* kill: N of W.N */
	const char		*host;		/* drain, enable */
	const char		*port;
	int			 drain_seconds;	/* stop; -1: the configured */
};

/* A control client stays valid while control_client() finds its id. */
typedef void (*control_handler_fn)(uint32_t, const struct control_request *);

/* A record line under construction: "record KIND key=value ...". */
struct control_record {
	char	buf[1024];
	size_t	len;
};

int	control_open(const char *, gid_t, char *, size_t);
void	control_set_handler(control_handler_fn);
int	control_attach(int, int);
void	control_close(void);
void	control_hand_over(void);
int	control_fd(void);
void	control_adopt(int, const char *);
int	control_pollfds(struct pollfd *);
void	control_io(const struct pollfd *, int);
int64_t	control_deadline(void);
void	control_expire(int64_t);
int	control_alive(uint32_t);

void	control_record_begin(struct control_record *, const char *);
void	control_record_str(struct control_record *, const char *,
	    const char *);
void	control_record_u64(struct control_record *, const char *, uint64_t);
void	control_record_send(uint32_t, const struct control_record *);
void	control_info(uint32_t, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	control_finish(uint32_t, int, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));

#endif
