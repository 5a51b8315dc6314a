/*
 * Pid files, with the pidfile_open(3) interface: from the C library
 * (FreeBSD) or libbsd (Linux).  OpenBSD has only pidfile(3), which
 * always writes /var/run/NAME.pid, so pidfile.c supplies the interface
 * there (and anywhere TCPPROXY_OWN_PIDFILE is defined, which is how
 * `make check-portable` tests it on Linux).
 */
#ifndef TCPPROXY_PIDFILE_H
#define TCPPROXY_PIDFILE_H

#include <sys/types.h>

#if defined(__OpenBSD__) && !defined(TCPPROXY_OWN_PIDFILE)
#define TCPPROXY_OWN_PIDFILE	1
#endif

#ifdef TCPPROXY_OWN_PIDFILE
/* Our names, so that a libutil.h pulled in by another header is no clash. */
#define pidfile_open	tp_pidfile_open
#define pidfile_write	tp_pidfile_write
#define pidfile_remove	tp_pidfile_remove
#define pidfile_close	tp_pidfile_close

struct pidfh;

struct pidfh	*pidfile_open(const char *, mode_t, pid_t *);
int		 pidfile_write(struct pidfh *);
int		 pidfile_remove(struct pidfh *);
int		 pidfile_close(struct pidfh *);
#else
#include <libutil.h>
#endif

#endif
