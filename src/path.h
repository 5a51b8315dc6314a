/*
 * File names given on the command line outlive the start-up directory:
 * the daemon runs in "/", so they are made absolute first.
 */
#ifndef TCPPROXY_PATH_H
#define TCPPROXY_PATH_H

char	*path_absolute(const char *);

#endif
