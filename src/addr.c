/*
 * Socket addresses; see addr.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

/* "ipv4", "4", "ipv6", "6" (any case) to AF_INET or AF_INET6. */
int
addr_parse_family(const char *s, int *family)
{
	if (strcasecmp(s, "ipv4") == 0 || strcmp(s, "4") == 0)
		*family = AF_INET;
	else if (strcasecmp(s, "ipv6") == 0 || strcmp(s, "6") == 0)
		*family = AF_INET6;
	else
		return (-1);
	return (0);
}

static const char *
addr_family_name(int family)
{
	switch (family) {
	case AF_INET:
		return ("IPv4");
	case AF_INET6:
		return ("IPv6");
	default:
		return ("any");
	}
}

/*
 * A port is a number from 1 to 65535 or a TCP service name.  Unlike the
 * original, 99999 is an error and not port 34463.
 */
int
addr_parse_port(const char *s, unsigned short *port, char *err,
    size_t errlen)
{
	struct servent	*se;
	const char	*errstr;
	long long	 n;

	if (*s != '\0' && isdigit((unsigned char)*s)) {
		n = strtonum(s, 1, 65535, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "invalid port '%s': must be a "
			    "number from 1 to 65535 or a service name", s);
			return (-1);
		}
		*port = (unsigned short)n;
		return (0);
	}
	if (*s == '\0' || (se = getservbyname(s, "tcp")) == NULL) {
		snprintf(err, errlen, "unknown service '%s'", s);
		return (-1);
	}
	*port = ntohs((unsigned short)se->s_port);
	return (0);
}

/*
 * Resolve host (NULL or "*" for any address when passive) to every
 * address getaddrinfo returns for the family, in its order, without
 * duplicates.  "[::1]" is taken as "::1".
 */
int
addr_resolve(const char *host, unsigned short port, int family, int passive,
    struct addr_list *out, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 service[8], hostbuf[NI_MAXHOST];
	size_t		 i, len;
	int		 rc;

	out->n = 0;
	if (host != NULL && strcmp(host, "*") == 0)
		host = NULL;
	if (host != NULL && host[0] == '[' &&
	    (len = strlen(host)) > 2 && host[len - 1] == ']' &&
	    len - 2 < sizeof(hostbuf)) {
		memcpy(hostbuf, host + 1, len - 2);
		hostbuf[len - 2] = '\0';
		host = hostbuf;
	}
	if (host == NULL && !passive) {
		snprintf(err, errlen, "no address given");
		return (-1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	snprintf(service, sizeof(service), "%u", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s%s%s: %s",
		    family == AF_UNSPEC ? "" : addr_family_name(family),
		    family == AF_UNSPEC ? "" : " address of ",
		    host ? host : "*", gai_strerror(rc));
		return (-1);
	}
	for (ai = res; ai != NULL && out->n < ADDR_MAX; ai = ai->ai_next) {
		struct addr	a;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(a.ss))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		for (i = 0; i < out->n; i++)
			if (addr_equal(&out->a[i], &a))
				break;
		if (i == out->n)
			out->a[out->n++] = a;
	}
	freeaddrinfo(res);
	if (out->n == 0) {
		snprintf(err, errlen, "cannot resolve %s: no IPv4 or IPv6 "
		    "address", host ? host : "*");
		return (-1);
	}
	return (0);
}

/*
 * The address's own bytes only, into a dst the caller zeroed: the rest
 * of a sockaddr_storage that accept() or getsockname() filled is
 * whatever the stack held, which must not leave the process.
 */
void
addr_copy(struct addr *dst, const struct addr *src)
{
	dst->len = src->len <= sizeof(dst->ss) ? src->len : sizeof(dst->ss);
	memcpy(&dst->ss, &src->ss, dst->len);
}

int
addr_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss.ss_family != b->ss.ss_family)
		return (0);
	switch (a->ss.ss_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)&a->ss;
		b6 = (const struct sockaddr_in6 *)&b->ss;
		return (a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0);
	}
	return (0);
}

unsigned short
addr_port(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (ntohs(((const struct sockaddr_in *)&a->ss)->sin_port));
	if (a->ss.ss_family == AF_INET6)
		return (ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port));
	return (0);
}

/* The address alone: "127.0.0.1", "::1", "fe80::1%lo". */
const char *
addr_fmt_host(const struct addr *a, char *buf, size_t len)
{
	if (getnameinfo((const struct sockaddr *)&a->ss, a->len, buf,
	    (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(buf, "?", len);
	return (buf);
}

/* Address and port, unambiguous for IPv6: "127.0.0.1:80", "[::1]:80". */
const char *
addr_fmt(const struct addr *a, char *buf, size_t len)
{
	char	host[NI_MAXHOST];

	addr_fmt_host(a, host, sizeof(host));
	if (a->ss.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, addr_port(a));
	else
		snprintf(buf, len, "%s:%u", host, addr_port(a));
	return (buf);
}

/*
 * The host part of an address as bytes into out (16 of them), an
 * IPv4-mapped IPv6 address as the IPv4 address it carries: the family
 * that says how many count, AF_INET (4) or AF_INET6 (16).
 */
int
addr_host_bytes(const struct addr *a, uint8_t *out)
{
	struct addr	u;

	memset(out, 0, 16);
	if (addr_unmap(a, &u) == AF_INET) {
		memcpy(out, &((struct sockaddr_in *)&u.ss)->sin_addr, 4);
		return (AF_INET);
	}
	memcpy(out, &((struct sockaddr_in6 *)&u.ss)->sin6_addr, 16);
	return (AF_INET6);
}

/* Byte i of the mask of a prefix of so many bits. */
uint8_t
addr_prefix_mask(int bits, int i)
{
	int	keep = bits - i * 8;

	return (keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep)));
}

/*
 * out is in, an IPv4-mapped IPv6 address made the IPv4 address (and
 * port) it carries; the family of out.
 */
int
addr_unmap(const struct addr *in, struct addr *out)
{
	const struct sockaddr_in6	*s6;
	struct sockaddr_in		*s4;

	*out = *in;
	if (in->ss.ss_family != AF_INET6)
		return (in->ss.ss_family);
	s6 = (const struct sockaddr_in6 *)&in->ss;
	if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return (AF_INET6);
	memset(out, 0, sizeof(*out));
	s4 = (struct sockaddr_in *)&out->ss;
	s4->sin_family = AF_INET;
	s4->sin_port = s6->sin6_port;
	memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	out->len = sizeof(*s4);
	return (AF_INET);
}
