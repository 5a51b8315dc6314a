/*
 * libFuzzer harness for the PROXY protocol header parser (proxyhdr.c).
 *
 * Input: one control byte, whose low two bits are the versions the
 * listener accepts (PROXYHDR_V1, PROXYHDR_V2), then what a client sent.
 * Besides what ASan sees, the parser's promises to the relay are checked:
 * a complete header is no longer than the input or the bounds, ends in
 * CRLF for v1, names a client of a family we relay; and the verdict does
 * not depend on how the bytes were split across reads: every prefix of
 * the input is "incomplete" until the verdict, and the same verdict (and
 * the same addresses) after it.
 *
 *	make fuzz		# see GNUmakefile
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyhdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_addr(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET && a->len == sizeof(struct sockaddr_in))
		return;
	if (a->ss.ss_family == AF_INET6 &&
	    a->len == sizeof(struct sockaddr_in6))
		return;
	abort();
}

static void
check_header(const unsigned char *buf, size_t len, int accept, int rc,
    const struct proxyhdr *h, const char *why)
{
	if (rc == -1) {
		if (why == NULL)
			abort();
		return;
	}
	if (rc == 0) {
		/* Undecided with a full buffer would stall the relay. */
		if (len >= PROXYHDR_MAX || why != NULL)
			abort();
		return;
	}
	if ((size_t)rc > len || rc > PROXYHDR_MAX || why != NULL)
		abort();
	if (h->version == 1) {
		if (!(accept & PROXYHDR_V1) || rc > PROXYHDR_V1_MAX ||
		    rc < 8 || memcmp(buf, "PROXY ", 6) != 0 ||
		    buf[rc - 2] != '\r' || buf[rc - 1] != '\n')
			abort();
	} else if (h->version == 2) {
		if (!(accept & PROXYHDR_V2) || rc < 16 ||
		    (size_t)rc != 16 + ((size_t)buf[14] << 8 | buf[15]))
			abort();
	} else
		abort();
	if (!h->local) {
		check_addr(&h->src);
		check_addr(&h->dst);
		if (h->src.ss.ss_family != h->dst.ss.ss_family)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyhdr	 h, first;
	const char	*why;
	unsigned char	*buf;
	size_t		 len, k;
	int		 accept, rc, verdict = 0;

	if (size == 0)
		return (0);
	accept = data[0] & PROXYHDR_ANY;
	len = size - 1;
	/* An exact-size copy: ASan sees any read past what was received. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return (0);
	memcpy(buf, data + 1, len);
	memset(&first, 0, sizeof(first));
	for (k = 0; k <= len; k++) {
		rc = proxyhdr_parse(buf, k, accept, &h, &why);
		check_header(buf, k, accept, rc, &h, why);
		if (verdict == 0) {
			verdict = rc;
			first = h;
			continue;
		}
		/* Decided once, decided for good. */
		if (rc != verdict || (rc > 0 && memcmp(&h, &first,
		    sizeof(h)) != 0))
			abort();
	}
	free(buf);
	return (0);
}
