/*
 * Access control: allow and deny rules with CIDR prefixes.
 */
#ifndef TCPPROXY_ACL_H
#define TCPPROXY_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define ACL_MAX		32	/* rules per listener, the global ones included */

struct acl_rule {
	uint8_t		allow;		/* 1 allow, 0 deny */
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		prefix;		/* bits */
	uint8_t		pad;
	uint8_t		addr[16];	/* network byte order, host bits zero */
};

int	acl_parse(const char *, int, struct acl_rule *, char *, size_t);
int	acl_rule_valid(const struct acl_rule *);
int	acl_check(const struct acl_rule *, size_t, const struct addr *,
	    size_t *);
const char *acl_fmt(const struct acl_rule *, char *, size_t);

#endif
