/*
 * Parsing a received PROXY protocol header, as HAProxy's specification
 * defines it.  Pure: the caller feeds what it has read so far, and the
 * fuzzer the same function.  What is accepted:
 *
 *	v1	"PROXY TCP4|TCP6 src dst sport dport\r\n", or "PROXY UNKNOWN"
 *		and anything up to the CRLF; at most 107 bytes.
 *	v2	the 12-byte signature, version 2, LOCAL or PROXY, and for
 *		PROXY: TCP over IPv4 or IPv6, or AF_UNSPEC (as LOCAL).  A
 *		header for UDP or AF_UNIX is refused: we relay TCP only, and
 *		a client we cannot name must not pass as the balancer.  TLVs
 *		are skipped; the length is bounded by PROXYHDR_V2_LEN_MAX.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "proxyhdr.h"

static const unsigned char v1_signature[6] = { 'P', 'R', 'O', 'X', 'Y', ' ' };
static const unsigned char v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static int
fail(const char **why, const char *reason)
{
	*why = reason;
	return (-1);
}

/* Copy the next space-separated field of [*p, end) into buf. */
static int
field(const char **p, const char *end, char *buf, size_t len)
{
	const char	*s = *p;
	size_t		 n;

	for (n = 0; s + n < end && s[n] != ' '; n++)
		;
	if (n == 0 || n >= len)
		return (-1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	*p = s + n;
	return (0);
}

static int
port_of(const char *s, uint16_t *port)
{
	unsigned long	n = 0;
	size_t		i;

	/* 0 to 65535, without a sign or a leading zero. */
	if (s[0] == '\0' || strlen(s) > 5 || (s[0] == '0' && s[1] != '\0'))
		return (-1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		n = n * 10 + (unsigned long)(s[i] - '0');
	}
	if (n > 65535)
		return (-1);
	*port = htons((uint16_t)n);
	return (0);
}

static void
set_in(struct addr *a, const unsigned char *ip, const unsigned char *port)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, ip, 4);
	memcpy(&s4->sin_port, port, 2);
	a->len = sizeof(*s4);
}

static void
set_in6(struct addr *a, const unsigned char *ip, const unsigned char *port)
{
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	s6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, ip, 16);
	memcpy(&s6->sin6_port, port, 2);
	a->len = sizeof(*s6);
}

/* The fields of a complete v1 line, from after "PROXY " to before CR. */
static int
parse_v1_line(const char *p, const char *end, struct proxyhdr *h,
    const char **why)
{
	char		 proto[8], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char		 sport[8], dport[8];
	unsigned char	 sip[16], dip[16];
	uint16_t	 sp, dp;
	int		 family;

	if (field(&p, end, proto, sizeof(proto)) == -1)
		return (fail(why, "v1 header for a protocol other than "
		    "TCP4, TCP6 or UNKNOWN"));
	if (strcmp(proto, "UNKNOWN") == 0) {
		/* Whatever follows is to be ignored. */
		h->local = 1;
		return (0);
	}
	if (strcmp(proto, "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		family = AF_INET6;
	else
		return (fail(why, "v1 header for a protocol other than "
		    "TCP4, TCP6 or UNKNOWN"));
	if (p >= end || *p++ != ' ' ||
	    field(&p, end, src, sizeof(src)) == -1 ||
	    p >= end || *p++ != ' ' ||
	    field(&p, end, dst, sizeof(dst)) == -1 ||
	    p >= end || *p++ != ' ' ||
	    field(&p, end, sport, sizeof(sport)) == -1 ||
	    p >= end || *p++ != ' ' ||
	    field(&p, end, dport, sizeof(dport)) == -1 || p != end)
		return (fail(why, "v1 header without exactly two addresses "
		    "and two ports"));
	if (inet_pton(family, src, sip) != 1 ||
	    inet_pton(family, dst, dip) != 1)
		return (fail(why, "v1 header with an address not of its "
		    "protocol"));
	if (port_of(sport, &sp) == -1 || port_of(dport, &dp) == -1)
		return (fail(why, "v1 header with an invalid port"));
	if (family == AF_INET) {
		set_in(&h->src, sip, (unsigned char *)&sp);
		set_in(&h->dst, dip, (unsigned char *)&dp);
	} else {
		set_in6(&h->src, sip, (unsigned char *)&sp);
		set_in6(&h->dst, dip, (unsigned char *)&dp);
	}
	return (0);
}

static int
parse_v1(const unsigned char *buf, size_t len, struct proxyhdr *h,
    const char **why)
{
	size_t	i;

	h->version = 1;
	for (i = sizeof(v1_signature); i < len && i < PROXYHDR_V1_MAX; i++) {
		if (buf[i] == '\n')
			break;
		/* Printable ASCII, and a CR only just before the LF. */
		if (buf[i] == '\r' && (i + 1 == len || buf[i + 1] == '\n'))
			continue;
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return (fail(why, "v1 header with a byte that is not "
			    "printable"));
	}
	if (i == PROXYHDR_V1_MAX)
		return (fail(why, "v1 header longer than 107 bytes"));
	if (i == len)
		return (0);
	if (buf[i - 1] != '\r')
		return (fail(why, "v1 header not ended by CRLF"));
	if (parse_v1_line((const char *)buf + sizeof(v1_signature),
	    (const char *)buf + i - 1, h, why) == -1)
		return (-1);
	return ((int)i + 1);
}

static int
parse_v2(const unsigned char *buf, size_t len, struct proxyhdr *h,
    const char **why)
{
	size_t	blen;

	h->version = 2;
	if (len < 16)
		return (0);
	if ((buf[12] >> 4) != 2)
		return (fail(why, "v2 signature with a version other than 2"));
	if ((buf[12] & 0x0f) > 1)
		return (fail(why, "v2 header with a command other than LOCAL "
		    "or PROXY"));
	blen = (size_t)buf[14] << 8 | buf[15];
	if (blen > PROXYHDR_V2_LEN_MAX)
		return (fail(why, "v2 header longer than we accept"));
	if (len < 16 + blen)
		return (0);
	/* LOCAL: the balancer speaks for itself (a health check). */
	if ((buf[12] & 0x0f) == 0 || buf[13] == 0x00) {
		h->local = 1;
		return ((int)(16 + blen));
	}
	switch (buf[13]) {
	case 0x11:		/* TCP over IPv4 */
		if (blen < 12)
			return (fail(why, "v2 header too short for IPv4 "
			    "addresses"));
		set_in(&h->src, buf + 16, buf + 24);
		set_in(&h->dst, buf + 20, buf + 26);
		break;
	case 0x21:		/* TCP over IPv6 */
		if (blen < 36)
			return (fail(why, "v2 header too short for IPv6 "
			    "addresses"));
		set_in6(&h->src, buf + 16, buf + 48);
		set_in6(&h->dst, buf + 32, buf + 50);
		break;
	default:
		return (fail(why, "v2 header for something other than TCP "
		    "over IPv4 or IPv6"));
	}
	return ((int)(16 + blen));
}

/*
 * Look at the first len bytes a client sent, of which only the versions
 * in the mask accept may form a header.  Returns the header's length
 * once it is complete, with h filled in; 0 while it is not, and then
 * every byte seen is part of it, so the caller may consume them all;
 * -1 when it is no header we take, with why saying what is wrong.
 */
int
proxyhdr_parse(const unsigned char *buf, size_t len, int accept,
    struct proxyhdr *h, const char **why)
{
	size_t	n;

	memset(h, 0, sizeof(*h));
	*why = NULL;
	if (len == 0)
		return (0);
	if (buf[0] == v1_signature[0]) {
		n = len < sizeof(v1_signature) ? len : sizeof(v1_signature);
		if (memcmp(buf, v1_signature, n) != 0)
			return (fail(why, "not a PROXY protocol header"));
		if (!(accept & PROXYHDR_V1))
			return (fail(why, "a v1 header where only v2 is "
			    "accepted"));
		if (len < sizeof(v1_signature))
			return (0);
		return (parse_v1(buf, len, h, why));
	}
	n = len < sizeof(v2_signature) ? len : sizeof(v2_signature);
	if (memcmp(buf, v2_signature, n) != 0)
		return (fail(why, "not a PROXY protocol header"));
	if (!(accept & PROXYHDR_V2))
		return (fail(why, "a v2 header where only v1 is accepted"));
	return (parse_v2(buf, len, h, why));
}
