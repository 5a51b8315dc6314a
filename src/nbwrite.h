/*
 * Writing a buffer to a non-blocking socket as far as it will take it.
 */
#ifndef TCPPROXY_NBWRITE_H
#define TCPPROXY_NBWRITE_H

#include <stddef.h>

int	nbwrite(int, const char *, size_t, size_t *);

#endif
