/*
 * The TCP options tcpproxy sets on its sockets: no Nagle delay, and
 * keepalive with the timing documented in tcpproxy(8).
 */
#ifndef TCPPROXY_SOCKOPT_H
#define TCPPROXY_SOCKOPT_H

/*
 * Where an accepted socket inherits these options from its listening
 * socket, they are set once on the listener instead of on every client.
 */
#if defined(__linux__) || defined(__OpenBSD__)
#define SOCKOPT_INHERITED	1
#else
#define SOCKOPT_INHERITED	0
#endif

void	sockopt_nodelay(int);
void	sockopt_keepalive(int, int);
void	sockopt_listener(int, int);

#endif
