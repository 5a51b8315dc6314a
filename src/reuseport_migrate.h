/*
 * Handing the clients queued on a closed socket of an SO_REUSEPORT group
 * to the other sockets of the group.
 */
#ifndef REUSEPORT_MIGRATE_H
#define REUSEPORT_MIGRATE_H

/*
 * Ask the kernel to move, instead of reset, the clients waiting in fd's
 * accept queue when fd closes.  fd is a listening member of a group.
 * Returns 0 when the group migrates (by this call or by the system-wide
 * setting), -1 with errno when it cannot; the caller keeps the socket.
 */
int	reuseport_migrate(int fd);

#endif
