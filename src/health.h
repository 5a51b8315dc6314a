/*
 * Passive health of remote addresses, shared by all workers: so many
 * failed connects in a row and an address is held down for a while.
 */
#ifndef TCPPROXY_HEALTH_H
#define TCPPROXY_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

int	health_init(char *, size_t);
int	health_is_down(const struct addr *, int64_t);
int	health_failed(const struct addr *, uint32_t, uint32_t, int64_t);
int	health_succeeded(const struct addr *);
int64_t	health_down_left(const struct addr *, int64_t, uint32_t *);

#endif
