/*
 * The one clock of master and workers: monotonic milliseconds, for
 * deadlines and durations (never for dates, which log.c writes).
 */
#ifndef TCPPROXY_CLOCK_H
#define TCPPROXY_CLOCK_H

#include <stdint.h>

struct timespec;

int64_t	clock_now_ms(void);
struct timespec *clock_timeout(int, struct timespec *);

#endif
