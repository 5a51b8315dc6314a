/*
 * What the in-kernel data path's BPF program (src/bpf/sockmap.bpf.c)
 * and the daemon share: the per-socket record the program reads and
 * counts into, and the event it raises.  See relay_sockmap.c.
 */
#ifndef TCPPROXY_SOCKMAP_H
#define TCPPROXY_SOCKMAP_H

/* The program sees the kernel's types, the daemon the C library's. */
#ifdef __bpf__
typedef __u32	sockmap_u32;
typedef __u64	sockmap_u64;
#else
#include <stdint.h>
typedef uint32_t sockmap_u32;
typedef uint64_t sockmap_u64;
#endif

/*
 * Keyed by a source socket's cookie (SO_COOKIE): where its bytes go
 * (the destination's index in the target map, its descriptor in the
 * worker), what to tell the worker (token: the source's descriptor),
 * and how many bytes the program has handed to the destination.
 */
struct sockmap_info {
	sockmap_u32	peer;
	sockmap_u32	token;
	sockmap_u64	moved;
};

/* Raised each time a source's moved crosses a multiple of this. */
#define SOCKMAP_EVENT_SHIFT	16	/* 64 KB */

#define SOCKMAP_EVENTS_SIZE	(64 * 1024)	/* ring buffer bytes */

struct sockmap_event {
	sockmap_u32	token;
	sockmap_u32	pad;
};

#define SOCKMAP_ENTRIES_MAX	65536	/* sockets a worker's maps hold */

/* The maps a worker is given, in the order the master sends them. */
enum sockmap_map {
	SOCKMAP_SOURCES,	/* sockmap with the program: read by it */
	SOCKMAP_TARGETS,	/* sockmap without: written by it */
	SOCKMAP_INFO,		/* hash: cookie -> struct sockmap_info */
	SOCKMAP_EVENTS,		/* ring buffer of struct sockmap_event */
	SOCKMAP_NMAPS
};

#endif
