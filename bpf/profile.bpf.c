// SPDX-License-Identifier: GPL-2.0
/*
 * Stack sampler attached to perf events. Every sample either lands in the per-CPU
 * stacks map (keyed by the full frames) or is counted as lost with its reason.
 */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include "profile.h"

/* Knobs, set through skel->rodata between open and load. */
const volatile __u32 kern_depth = PROFILE_MAX_DEPTH;
const volatile __u32 user_depth = PROFILE_MAX_DEPTH;
const volatile __u8 per_thread = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct profile_key); /* resized at load time to the configured depths */
	__type(value, struct profile_value);
} stacks SEC(".maps");

/* The BPF stack is 512 bytes: keys are built in this scratch slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profile_key);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROFILE_MAX_EVENTS * PROFILE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#define count(which) count_event(event, which)

static __always_inline void count_event(__u32 event, __u32 which)
{
	__u32 idx = (event % PROFILE_MAX_EVENTS) * PROFILE_CNT_MAX + which;
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline int sample(struct bpf_perf_event_data *ctx, __u32 event)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct profile_value *val, init;
	struct profile_key *key;
	__u32 zero = 0;
	long klen = 0, ulen = 0;
	long err;

	count(PROFILE_CNT_TAKEN);

	key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key) {
		count(PROFILE_CNT_LOST_STACK);
		return 0;
	}
	key->pid = id >> 32;
	key->tid = per_thread ? (__u32)id : 0;
	key->event = event;
	if (bpf_get_current_comm(key->comm, sizeof(key->comm)))
		key->comm[0] = 0;

	/*
	 * bpf_get_stack() zero-fills the rest of its buffer, on success and on error, so
	 * frames left in the scratch slot by an earlier sample never leak into this key.
	 * A depth of 0 leaves that half out of the key (the key size is set to match).
	 * Kernel threads have no user stack: the user half comes back empty, no error.
	 */
	if (kern_depth) {
		klen = bpf_get_stack(ctx, key->frames, kern_depth * sizeof(__u64), 0);
		if (klen < 0) {
			count(PROFILE_CNT_KSTACK_ERR);
			klen = 0;
		}
	}
	if (user_depth) {
		ulen = bpf_get_stack(ctx, &key->frames[kern_depth & PROFILE_MAX_DEPTH],
				     user_depth * sizeof(__u64), BPF_F_USER_STACK);
		if (ulen < 0) {
			count(PROFILE_CNT_USTACK_ERR);
			ulen = 0;
		}
	}
	klen /= sizeof(__u64);
	ulen /= sizeof(__u64);
	if ((kern_depth && klen >= kern_depth) || (user_depth && ulen >= user_depth))
		count(PROFILE_CNT_TRUNCATED);
	key->kern_len = klen;
	key->user_len = ulen;
	if (klen == 0 && ulen == 0) {
		count(PROFILE_CNT_LOST_STACK);
		return 0;
	}

	val = bpf_map_lookup_elem(&stacks, key);
	if (val) {
		val->samples += 1;
		val->weight += ctx->sample_period;
		return 0;
	}
	init.samples = 1;
	init.weight = ctx->sample_period;
	err = bpf_map_update_elem(&stacks, key, &init, BPF_NOEXIST);
	if (err == -EEXIST) {
		val = bpf_map_lookup_elem(&stacks, key);
		if (val) {
			val->samples += 1;
			val->weight += ctx->sample_period;
			return 0;
		}
	}
	if (err)
		count(PROFILE_CNT_LOST_MAP_FULL);
	return 0;
}

/* bpf_link attach: the event index is the BPF cookie. */
SEC("perf_event")
int profile(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, (__u32)bpf_get_attach_cookie(ctx));
}

/* Legacy PERF_EVENT_IOC_SET_BPF attach: no cookies, so one program per event index. */
#define PROFILE_EV(n)                                   \
	SEC("perf_event")                               \
	int profile_ev##n(struct bpf_perf_event_data *ctx) \
	{                                               \
		return sample(ctx, n);                  \
	}
PROFILE_EV(0)
PROFILE_EV(1)
PROFILE_EV(2)
PROFILE_EV(3)
PROFILE_EV(4)
PROFILE_EV(5)
PROFILE_EV(6)
PROFILE_EV(7)

char LICENSE[] SEC("license") = "GPL";
