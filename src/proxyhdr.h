/*
 * Reading the PROXY protocol header (v1 or v2) that a load balancer in
 * front of us puts ahead of a client's bytes; proxyproto.c writes one.
 */
#ifndef TCPPROXY_PROXYHDR_H
#define TCPPROXY_PROXYHDR_H

#include <stddef.h>

#include "addr.h"

#define PROXYHDR_V1		0x01	/* accept-proxy-protocol, as bits */
#define PROXYHDR_V2		0x02
#define PROXYHDR_ANY		(PROXYHDR_V1 | PROXYHDR_V2)
#define PROXYHDR_V1_MAX		107	/* the line, its CRLF included */
#define PROXYHDR_V2_LEN_MAX	1024	/* addresses and TLVs after the 16 */
#define PROXYHDR_MAX		(16 + PROXYHDR_V2_LEN_MAX)
#define PROXYHDR_TRUSTED_MAX	16	/* proxy-trusted prefixes, a listener */

struct proxyhdr {
	int		version;	/* 1 or 2 */
	int		local;		/* no client: LOCAL, UNKNOWN, AF_UNSPEC */
	struct addr	src;		/* when not local: the client */
	struct addr	dst;		/* and the address it connected to */
};

int	proxyhdr_parse(const unsigned char *, size_t, int, struct proxyhdr *,
	    const char **);

#endif
