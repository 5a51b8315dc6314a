/*
 * Listening sockets handed over by a service manager (systemd's
 * LISTEN_FDS protocol), adopted in place of binding our own.
 */
#ifndef TCPPROXY_ACTIVATION_H
#define TCPPROXY_ACTIVATION_H

#include "addr.h"

int	activation_collect(void);
int	activation_take(const struct addr *);
void	activation_close_unused(void);

#endif
