/*
 * The epoll(7) backend of pollset.h, for pollset.c only.
 */
#ifndef TCPPROXY_POLLSET_EPOLL_H
#define TCPPROXY_POLLSET_EPOLL_H

#ifdef __linux__
#define POLLSET_HAVE_EPOLL	1

#include "pollset.h"

int	epset_init(struct pollset *);
void	epset_free(struct pollset *);
int	epset_add(struct pollset *, int, int, pollset_fn, void *, int *);
void	epset_events(struct pollset *, int, int);
void	epset_remove(struct pollset *, int, int);
int	epset_poll(struct pollset *, int, const sigset_t *);
#else
#define POLLSET_HAVE_EPOLL	0
#endif

#endif
