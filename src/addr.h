/*
 * Socket addresses: parsing ports, resolving names, printing.
 */
#ifndef TCPPROXY_ADDR_H
#define TCPPROXY_ADDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <netinet/in.h>
#include <stddef.h>

#define ADDR_MAX	16	/* resolved addresses kept per name */
#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 32)

struct addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

struct addr_list {
	struct addr	a[ADDR_MAX];
	size_t		n;
};

int	 addr_parse_family(const char *, int *);
int	 addr_parse_port(const char *, unsigned short *, char *, size_t);
int	 addr_resolve(const char *, unsigned short, int, int,
	    struct addr_list *, char *, size_t);
int	 addr_equal(const struct addr *, const struct addr *);
void	 addr_copy(struct addr *, const struct addr *);
unsigned short addr_port(const struct addr *);
int	 addr_host_bytes(const struct addr *, uint8_t *);
uint8_t	 addr_prefix_mask(int, int);
int	 addr_unmap(const struct addr *, struct addr *);
const char *addr_fmt(const struct addr *, char *, size_t);
const char *addr_fmt_host(const struct addr *, char *, size_t);

#endif
