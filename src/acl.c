/*
 * allow/deny rules.  The first rule that matches decides; with no match
 * a client is let in unless there is any allow rule.  An IPv4-mapped
 * IPv6 client (::ffff:a.b.c.d) is matched as the IPv4 address it is.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

/* "10.0.0.0/8", "2001:db8::/32", or a single address. */
int
acl_parse(const char *s, int allow, struct acl_rule *r, char *err,
    size_t errlen)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash;
	const char	*errstr;
	int		 bits;

	memset(r, 0, sizeof(*r));
	r->allow = allow ? 1 : 0;
	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		goto bad;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = AF_INET6;
		bits = 128;
	} else
		goto bad;
	if (slash != NULL) {
		bits = (int)strtonum(slash, 0, bits, &errstr);
		if (errstr != NULL)
			goto bad;
	}
	r->prefix = (uint8_t)bits;
	/* Host bits set (10.1.2.3/8) are a typo more often than not. */
	if (!acl_rule_valid(r)) {
		snprintf(err, errlen, "'%s' has bits set beyond its /%d prefix",
		    s, bits);
		return (-1);
	}
	return (0);
bad:
	snprintf(err, errlen, "invalid address or prefix '%s': expected "
	    "an IPv4 or IPv6 address with an optional /bits", s);
	return (-1);
}

/*
 * A rule as acl_parse() makes them: a family, a prefix it can have, no
 * bit set past the prefix.  The worker checks the master's rules so.
 */
int
acl_rule_valid(const struct acl_rule *r)
{
	int	bits = r->prefix, i;

	if (r->allow > 1 || r->pad != 0 ||
	    !((r->family == AF_INET && bits <= 32) ||
	    (r->family == AF_INET6 && bits <= 128)))
		return (0);
	for (i = 0; i < 16; i++)
		if (r->addr[i] & ~addr_prefix_mask(bits, i))
			return (0);
	return (1);
}

static int
prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
	int	full = bits / 8, rest = bits % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	return (((a[full] ^ net[full]) & addr_prefix_mask(bits, full)) == 0);
}

/*
 * 1 when the client may connect, 0 when not.  *which is the index of the
 * rule that decided, or n when none matched.
 */
int
acl_check(const struct acl_rule *rules, size_t n, const struct addr *client,
    size_t *which)
{
	uint8_t				 a[16];
	int				 family, any_allow = 0;
	size_t				 i;

	family = addr_host_bytes(client, a);
	for (i = 0; i < n; i++) {
		if (rules[i].allow)
			any_allow = 1;
		if (rules[i].family == family &&
		    prefix_match(a, rules[i].addr, rules[i].prefix)) {
			*which = i;
			return (rules[i].allow);
		}
	}
	*which = n;
	return (!any_allow);
}

/* "allow 10.0.0.0/8" */
const char *
acl_fmt(const struct acl_rule *r, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	inet_ntop(r->family, r->addr, a, sizeof(a));
	snprintf(buf, len, "%s %s/%u", r->allow ? "allow" : "deny", a,
	    r->prefix);
	return (buf);
}
