/*
 * What the message harnesses share: an input as a datagram sent through
 * a real SOCK_SEQPACKET socketpair and read back with msg_read(), with
 * descriptors passed along, and the checks on the reader itself.
 *
 * Input: one control byte, then the raw datagram (header and payload as
 * they travel).  Control bits 0-1: how many descriptors to pass along
 * (0 to 3); bit 2: pad the datagram with zeros beyond the largest
 * message, so that the receiver sees it truncated.
 */
#ifndef FUZZ_CHANNEL_H
#define FUZZ_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "proto.h"

extern volatile uint32_t	fuzz_sink;	/* what a side would use */

void	fuzz_die(const char *) __attribute__((noreturn));

/*
 * Send the input, read it back, hand a message msg_read() accepts to
 * accepted(), whose descriptor (if any) this closes afterwards.  Aborts
 * on a reader that misbehaves: an oversized length, a second message
 * from one datagram, a descriptor returned with a failure or leaked.
 */
void	fuzz_channel_one(const uint8_t *, size_t, void (*)(struct msg *));

/*
 * The check of the side a message goes to (what the master's
 * proto_check_worker_msg() and the worker's proto_check_master_msg()
 * run): a refusal must give a reason, what passes must be refused going
 * the other way (no type is both sides'), and it goes to side(), which
 * may trust what the check promised.
 */
void	fuzz_checked(struct msg *, enum proto_to, void (*)(const struct msg *));

#endif
