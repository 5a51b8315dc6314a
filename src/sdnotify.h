/*
 * Service manager notifications (systemd's sd_notify(3) protocol, spoken
 * by hand): READY=1, RELOADING=1, STOPPING=1 and STATUS= lines sent as
 * one datagram each to the socket named by NOTIFY_SOCKET.  The master
 * alone notifies; without NOTIFY_SOCKET every call does nothing.
 */
#ifndef TCPPROXY_SDNOTIFY_H
#define TCPPROXY_SDNOTIFY_H

void	sdnotify_init(void);
int	sdnotify_send(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	sdnotify_ready(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	sdnotify_reloading(void);
void	sdnotify_stopping(void);

#endif
