/*
 * Monotonic milliseconds; see clock.h.
 */
#include <time.h>

#include "clock.h"

int64_t
clock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A poll timeout in ms as ppoll(2) takes it: NULL (for ever) if < 0. */
struct timespec *
clock_timeout(int ms, struct timespec *ts)
{
	if (ms < 0)
		return (NULL);
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
	return (ts);
}
