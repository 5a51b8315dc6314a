/*
 * The master's part of the in-kernel data path: it alone may load BPF,
 * so it loads the program and makes one set of maps per worker, then
 * passes the maps on (PROTO_SOCKMAP) and keeps nothing.
 */
#ifndef TCPPROXY_SOCKMAP_LOAD_H
#define TCPPROXY_SOCKMAP_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "sockmap.h"

extern int	sockmap_enabled;	/* --no-sockmap clears it */

int	sockmap_built(void);
int	sockmap_load(uint32_t, int [SOCKMAP_NMAPS], char *, size_t);

#endif
