/*
 * The log sink of a child process: each record goes to the master over
 * the child's channel as a PROTO_LOG message.
 */
#ifndef TCPPROXY_LOGSINK_H
#define TCPPROXY_LOGSINK_H

struct msg_channel;

/* last: the process exits next; wait (bounded) until the master has it. */
void	logsink_send(struct msg_channel *, int, const char *, int);

#endif
