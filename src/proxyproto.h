/*
 * The PROXY protocol header (versions 1 and 2) that tells a remote
 * which client a connection is for.
 */
#ifndef TCPPROXY_PROXYPROTO_H
#define TCPPROXY_PROXYPROTO_H

#include <stddef.h>

#include "addr.h"

#define PROXYPROTO_MAX	108	/* the longest v1 line; v2 needs at most 52 */

size_t	proxyproto_header(int, const struct addr *, const struct addr *,
	    unsigned char *, size_t);

#endif
