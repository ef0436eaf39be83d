/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/profile.bpf.c and user space. __u32-style types only. */
#ifndef PMUPROF_BPF_PROFILE_H
#define PMUPROF_BPF_PROFILE_H

#include <linux/types.h>

/* perf's PERF_MAX_STACK_DEPTH; the real depth is a load-time knob below this. */
#define PROFILE_MAX_DEPTH 127
/* One program per event for the legacy ioctl attach, where BPF cookies don't exist. */
#define PROFILE_MAX_EVENTS 8
#define PROFILE_COMM_LEN   16

/*
 * Hash key. The frames live in the key itself (no stack ids, which collide and drop
 * stacks): kernel_len kernel frames (leaf first), then user_len user frames (leaf
 * first), packed, then zeros. Hashing cost grows with the key size, so stacks of up to
 * PROFILE_TINY_DEPTH, then PROFILE_SHORT_DEPTH frames go to maps whose keys hold only that
 * many frames; deeper ones go to a map sized for the configured depths. The key sizes are
 * set at load time.
 */
#define PROFILE_TINY_DEPTH  16
#define PROFILE_SHORT_DEPTH 32
struct profile_key {
	__u64 gen;	/* the process's generation: its leader's start time (boot clock, ns) */
	__u32 pid;	/* tgid */
	__u32 tid;	/* 0 unless per-thread keys were asked for */
	__u32 event;	/* index into the event list */
	__u16 kern_len; /* frames captured */
	__u16 user_len;
	char comm[PROFILE_COMM_LEN];
	__u64 frames[2 * PROFILE_MAX_DEPTH + 2]; /* + 2: a power of two, for index masks */
};

#define PROFILE_KEY_HDR_SIZE ((unsigned long)&((struct profile_key *)0)->frames)

/*
 * Two sets of stack maps: the program adds to the set named by active_set, user space
 * flips it, waits until no program can still be using the old set, and drains that set
 * while the other one fills. Tiers: tiny, short, long keys.
 */
#define PROFILE_SETS  2
#define PROFILE_TIERS 3

struct profile_value {
	__u64 samples;
	__u64 weight; /* sum of sample_period: events the samples stand for */
};

/* Per-CPU counters, indexed by event * PROFILE_CNT_MAX + one of these. */
enum profile_counter {
	PROFILE_CNT_TAKEN = 0,	   /* every sample the program saw */
	PROFILE_CNT_LOST_MAP_FULL, /* stack map full: sample not stored */
	PROFILE_CNT_LOST_STACK,	   /* no frame could be captured: sample not stored */
	PROFILE_CNT_KSTACK_ERR,	   /* kernel stack capture failed (sample kept) */
	PROFILE_CNT_USTACK_ERR,	   /* user stack capture failed (sample kept) */
	PROFILE_CNT_TRUNCATED,	   /* stack hit the depth limit (sample kept) */
	PROFILE_CNT_MAX,
};

/* Ledger slots: event × counter, rounded up to a power of two so an index mask bounds
 * every access for the verifier. */
#define PROFILE_LEDGER_SLOTS 64

/* The per-CPU scratch slot where keys are built. */
struct profile_scratch {
	struct profile_key key;
	__u32 dirty; /* frames at or past this index are zero */
	__u32 pad;
	/* The ledger lives here too: one map lookup per sample instead of three. */
	__u64 counters[PROFILE_LEDGER_SLOTS];
	__u64 lost_weight[PROFILE_LEDGER_SLOTS]; /* sum of the lost samples' periods */
	/* Keys added per set and tier, ever: user space reads how full the active set is. */
	__u64 new_keys[PROFILE_SETS * 4];
};

#endif
