/*
 * PROXY protocol headers, as HAProxy's specification defines them:
 * v1 is one text line, v2 a binary block with a 12-byte signature.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "proxyproto.h"

static const unsigned char v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static size_t
header_v1(const struct addr *src, const struct addr *dst, unsigned char *buf,
    size_t len)
{
	char	s[INET6_ADDRSTRLEN + 16], d[INET6_ADDRSTRLEN + 16];
	int	n;

	if (src->ss.ss_family != dst->ss.ss_family)
		n = snprintf((char *)buf, len, "PROXY UNKNOWN\r\n");
	else
		n = snprintf((char *)buf, len, "PROXY %s %s %s %u %u\r\n",
		    src->ss.ss_family == AF_INET ? "TCP4" : "TCP6",
		    addr_fmt_host(src, s, sizeof(s)),
		    addr_fmt_host(dst, d, sizeof(d)),
		    addr_port(src), addr_port(dst));
	return (n < 0 || (size_t)n >= len ? 0 : (size_t)n);
}

static size_t
header_v2(const struct addr *src, const struct addr *dst, unsigned char *buf,
    size_t len)
{
	const struct sockaddr_in	*s4, *d4;
	const struct sockaddr_in6	*s6, *d6;
	size_t				 alen;
	uint16_t			 be;

	if (len < 16 + 36)
		return (0);
	memcpy(buf, v2_signature, sizeof(v2_signature));
	buf[12] = 0x21;			/* version 2, command PROXY */
	if (src->ss.ss_family != dst->ss.ss_family) {
		buf[13] = 0x00;		/* AF_UNSPEC: the remote ignores it */
		alen = 0;
	} else if (src->ss.ss_family == AF_INET) {
		buf[13] = 0x11;		/* TCP over IPv4 */
		s4 = (const struct sockaddr_in *)&src->ss;
		d4 = (const struct sockaddr_in *)&dst->ss;
		memcpy(buf + 16, &s4->sin_addr, 4);
		memcpy(buf + 20, &d4->sin_addr, 4);
		memcpy(buf + 24, &s4->sin_port, 2);
		memcpy(buf + 26, &d4->sin_port, 2);
		alen = 12;
	} else {
		buf[13] = 0x21;		/* TCP over IPv6 */
		s6 = (const struct sockaddr_in6 *)&src->ss;
		d6 = (const struct sockaddr_in6 *)&dst->ss;
		memcpy(buf + 16, &s6->sin6_addr, 16);
		memcpy(buf + 32, &d6->sin6_addr, 16);
		memcpy(buf + 48, &s6->sin6_port, 2);
		memcpy(buf + 50, &d6->sin6_port, 2);
		alen = 36;
	}
	be = htons((uint16_t)alen);
	memcpy(buf + 14, &be, 2);
	return (16 + alen);
}

/*
 * Write the header for a client connection from src to dst (the address
 * it reached us on) into buf.  Returns its length, 0 if it did not fit.
 */
size_t
proxyproto_header(int version, const struct addr *src, const struct addr *dst,
    unsigned char *buf, size_t len)
{
	struct addr	s, d;

	addr_unmap(src, &s);
	addr_unmap(dst, &d);
	if (version == 1)
		return (header_v1(&s, &d, buf, len));
	return (header_v2(&s, &d, buf, len));
}
