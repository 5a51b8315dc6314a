/*
 * The in-kernel data path: a stream verdict program on every socket in
 * the sources map.  Each segment that arrives on a source is handed to
 * its destination's send side, without waking the worker; only every
 * 64 KB does it tell the worker, which then checks how much waits to
 * be sent (relay_sockmap.c holds the rest of the story).
 *
 * Built with clang -target bpf; embedded as a libbpf skeleton.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../sockmap.h"

/* Sizes are set by the master before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct sockmap_info);
} info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SOCKMAP_EVENTS_SIZE);
} events SEC(".maps");

SEC("sk_skb/stream_verdict")
int
sockmap_verdict(struct __sk_buff *skb)
{
	struct sockmap_info	*in;
	struct sockmap_event	 ev = { 0, 0 };
	__u64			 cookie, before;
	__u32			 len = skb->len;

	/*
	 * A bare FIN arrives as an empty segment; sent on, it would be a
	 * zero-length write, which the kernel takes for a broken pipe.
	 * The FIN itself is the worker's to pass on.
	 */
	if (len == 0)
		return (SK_DROP);
	cookie = bpf_get_socket_cookie(skb);
	in = bpf_map_lookup_elem(&info, &cookie);
	if (in == NULL)
		return (SK_PASS);	/* never happens: kept, not lost */
	before = __sync_fetch_and_add(&in->moved, len);
	if (((before + len) >> SOCKMAP_EVENT_SHIFT) !=
	    (before >> SOCKMAP_EVENT_SHIFT)) {
		ev.token = in->token;
		bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
	}
	return (bpf_sk_redirect_map(skb, &targets, in->peer, 0));
}

char LICENSE[] SEC("license") = "GPL";
