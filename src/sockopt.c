/*
 * Socket options; see sockopt.h.  Failures are ignored: each option only
 * tunes a connection that works without it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sockopt.h"

#define KEEPALIVE_IDLE_S	60	/* probe a silent peer after a minute */
#define KEEPALIVE_INTVL_S	15
#define KEEPALIVE_CNT		4

void
sockopt_keepalive(int fd, int on)
{
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
#ifdef TCP_KEEPIDLE
	if (on) {
		int	idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S;
		int	cnt = KEEPALIVE_CNT;

		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
		    sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
#endif
}

void
sockopt_nodelay(int fd)
{
	int	one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * A listening socket, new or kept across a reload (whose keepalive may
 * have been turned off), or passed by a service manager.
 */
void
sockopt_listener(int fd, int keepalive)
{
	sockopt_nodelay(fd);
	sockopt_keepalive(fd, keepalive);
}
