// SPDX-License-Identifier: GPL-2.0
/*
 * Stack sampler attached to perf events. Every sample either lands in a stacks map (keyed
 * by the full frames) or is counted as lost with its reason.
 */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/errno.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include "profile.h"

/* Knobs, set through skel->rodata between open and load. */
const volatile __u32 kern_depth = PROFILE_MAX_DEPTH;
const volatile __u32 user_depth = PROFILE_MAX_DEPTH;
const volatile __u8 per_thread = 0;
/* Frames in the perf callchain (both halves and their context markers). */
const volatile __u32 chain_max = 2 * PROFILE_MAX_DEPTH;
/*
 * Precise events keep the kernel half in their callchain under -U (the kernel refuses
 * bpf_get_stack() on a precise event without the full chain): it is dropped here, but it
 * counts against chain_max.
 */
const volatile __u8 chain_has_kernel = 0;
/* Stacks of up to tiny_depth frames go to stacks_tiny, up to short_depth to stacks_short. */
const volatile __u32 tiny_depth = PROFILE_TINY_DEPTH;
const volatile __u32 short_depth = PROFILE_SHORT_DEPTH;

/*
 * Two sets of three maps (see PROFILE_SETS). Key sizes are set at load time (tiny_depth,
 * short_depth, kern + user depth frames): a size, not a BTF type, and so is the value's
 * (the kernel refuses a hash map's BTF with a value type but no key type, and libbpf then
 * created each map a second time without BTF: 6 of the 12 creations failed). Values are shared by the
 * CPUs and added to atomically, not per-CPU: an on-demand per-CPU element costs a per-CPU
 * allocation (16 bytes times every possible CPU), which made inserting a new stack in the
 * program and freeing it at every drain about ten times dearer than a plain element.
 */
#define STACK_MAP(name)                                                                            \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__uint(max_entries, 16384);                                                        \
		__uint(key_size, sizeof(struct profile_key));                                      \
		__uint(value_size, sizeof(struct profile_value));                                  \
	} name SEC(".maps")
STACK_MAP(stacks_tiny);
STACK_MAP(stacks_short);
STACK_MAP(stacks_long);
STACK_MAP(stacks_tiny1);
STACK_MAP(stacks_short1);
STACK_MAP(stacks_long1);

/* The set samples go to; user space flips it through the mmapped .bss. */
__u32 active_set;

/*
 * Byte offsets of struct task_struct's members on the running kernel, set before load from
 * its BTF (src/kernel-btf.c). Not CO-RE: relocating fields made libbpf parse all of the
 * kernel's BTF at load, which cost a record more than anything else at start.
 */
const volatile __u32 task_group_leader;
const volatile __u32 task_real_parent;
const volatile __u32 task_mm; /* NULL: a kernel thread */
const volatile __u32 task_tgid;
const volatile __u32 task_self_exec_id;	  /* 5.7+: 64 bits */
const volatile __u32 task_start_boottime; /* 5.3+ */

/* The 8 bytes at off in task: 0 when they cannot be read (task NULL), as BPF_CORE_READ. */
static __always_inline __u64 task_u64(__u64 task, __u32 off)
{
	__u64 v;

	bpf_probe_read_kernel(&v, sizeof(v), (const void *)(task + off));
	return v;
}

static __always_inline __u32 task_u32(__u64 task, __u32 off)
{
	__u32 v;

	bpf_probe_read_kernel(&v, sizeof(v), (const void *)(task + off));
	return v;
}

/*
 * The process generation: the thread-group leader's start time on the boot clock, which
 * /proc/PID/stat shows (in clock ticks) and the tracker's records are timed by.
 */
static __always_inline __u64 task_generation(__u64 task)
{
	return task_u64(task_u64(task, task_group_leader), task_start_boottime);
}

/* The BPF stack is 512 bytes: keys are built in this scratch slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profile_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROFILE_MAX_EVENTS *PROFILE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps"); /* only when the scratch slot is missing (never expected) */

/* The user-stack walk from CFI tables (--call-graph=dwarf). */
#include "unwind-walk.h"

#define ledger_slot(which)                                                                         \
	(((event % PROFILE_MAX_EVENTS) * PROFILE_CNT_MAX + (which)) & (PROFILE_LEDGER_SLOTS - 1))
#define count(which)		  (sc->counters[ledger_slot(which)]++)
#define count_lost(which, period) (sc->lost_weight[ledger_slot(which)] += (period))

_Static_assert(PROFILE_MAX_EVENTS *PROFILE_CNT_MAX <= PROFILE_LEDGER_SLOTS, "ledger slots");

/* 0: added to an existing key, 1: a new key, negative: not stored. */
static __always_inline int add(void *map, struct profile_key *key, __u64 period)
{
	struct profile_value *val, init;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val) {
		__sync_fetch_and_add(&val->samples, 1);
		__sync_fetch_and_add(&val->weight, period);
		return 0;
	}
	init.samples = 1;
	init.weight = period;
	err = bpf_map_update_elem(map, key, &init, BPF_NOEXIST);
	if (!err)
		return 1;
	if (err == -EEXIST) {
		/* Another CPU inserted the same stack in between. */
		val = bpf_map_lookup_elem(map, key);
		if (val) {
			__sync_fetch_and_add(&val->samples, 1);
			__sync_fetch_and_add(&val->weight, period);
			return 0;
		}
	}
	return err;
}

/* The map of the active set for a stack of this tier. */
static __always_inline int add_to_set(__u32 set, __u32 tier, struct profile_key *key, __u64 period)
{
	if (set)
		return add(tier == 0   ? (void *)&stacks_tiny1
			   : tier == 1 ? (void *)&stacks_short1
				       : (void *)&stacks_long1,
			   key, period);
	return add(tier == 0   ? (void *)&stacks_tiny
		   : tier == 1 ? (void *)&stacks_short
			       : (void *)&stacks_long,
		   key, period);
}

/* A source of zeros for clear_stale() (read-only: nothing writes it). */
const volatile __u64 zero_frames[PROFILE_MAX_DEPTH];

/* Zero len (at most PROFILE_MAX_DEPTH) frames from index from on. */
static __always_inline void zero_frames_at(struct profile_scratch *sc, __u32 from, __u32 len)
{
	__u64 size;

	if (len > PROFILE_MAX_DEPTH)
		len = PROFILE_MAX_DEPTH;
	size = (__u64)len * sizeof(__u64);
	/* Bounds the verifier sees (the values already are): from < 256 frames and size <
	 * 1 KiB end inside the scratch value. */
	asm volatile("%0 &= %1" : "+r"(from) : "i"(2 * PROFILE_MAX_DEPTH + 1));
	asm volatile("%0 &= %1" : "+r"(size) : "i"(1023));
	bpf_probe_read_kernel(&sc->key.frames[from], size, (const void *)zero_frames);
}

/*
 * Frames past what this sample wrote (from fresh on) may hold an earlier sample's frames:
 * clear up to the old high-water mark, so every key ends in zeros; n frames are now used.
 * Copies of zeros, not a loop: the verifier walked a loop's iterations one by one (about
 * half of the program's verification). Global, so checked once rather than on each path
 * of the sample that reaches it (one call a sample).
 */
__noinline int clear_stale(struct profile_scratch *sc, __u32 fresh, __u32 n)
{
	__u32 end, len;

	if (!sc)
		return 0;
	end = sc->dirty;

	if (fresh < kern_depth)
		fresh = kern_depth;
	if (end > 2 * PROFILE_MAX_DEPTH)
		end = 2 * PROFILE_MAX_DEPTH;
	if (fresh < end) {
		len = end - fresh;
		zero_frames_at(sc, fresh, len);
		if (len > PROFILE_MAX_DEPTH)
			zero_frames_at(sc, fresh + PROFILE_MAX_DEPTH, len - PROFILE_MAX_DEPTH);
	}
	sc->dirty = n;
	return 0;
}

static __always_inline int sample(struct bpf_perf_event_data *ctx, __u32 event)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct profile_scratch *sc;
	struct profile_key *key;
	__u32 zero = 0, kn = 0, un = 0, n, set, tier, chained = 0;
	bool failed = false;
	long len, err;
	int walked;

#ifdef PMUPROF_TEST_UNLOADABLE
	/* Test only (-Dbpf_test_unloadable=true): "may_goto +1" (BPF_JMP | BPF_JCOND, 6.9+),
	 * which older verifiers refuse ("unknown opcode e5"), to show the kernels suite fails. */
	asm volatile(".byte 0xe5, 0, 1, 0, 0, 0, 0, 0\n\t%0 = 0" : "=r"(len));
#endif
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc) {
		/* Can't happen (index 0 of an array), but never lose a sample silently. */
		__u32 idx = (event % PROFILE_MAX_EVENTS) * PROFILE_CNT_MAX;
		__u64 *c = bpf_map_lookup_elem(&counters, &idx);

		if (c)
			*c += 1;
		idx += PROFILE_CNT_LOST_STACK;
		c = bpf_map_lookup_elem(&counters, &idx);
		if (c)
			*c += 1;
		return 0;
	}
	count(PROFILE_CNT_TAKEN);
	key = &sc->key;
	key->gen = task_generation(bpf_get_current_task());
	key->pid = id >> 32;
	key->tid = per_thread ? (__u32)id : 0;
	key->event = event;
	if (bpf_get_current_comm(key->comm, sizeof(key->comm)))
		key->comm[0] = 0;

	/*
	 * bpf_get_stack() zero-fills the rest of its buffer (on error, all of it). The
	 * user frames are written right after the kernel frames. Kernel threads have no
	 * user stack: the user half comes back empty, no error.
	 */
	if (kern_depth) {
		len = bpf_get_stack(ctx, key->frames, kern_depth * sizeof(__u64), 0);
		if (len < 0) {
			count(PROFILE_CNT_KSTACK_ERR);
			failed = true;
		} else {
			kn = len / sizeof(__u64);
		}
	}
	kn &= PROFILE_MAX_DEPTH;
	if (kn > kern_depth)
		kn = kern_depth;
	walked = unwind_dwarf && user_depth ? uw_walk(ctx, key->pid, kn, user_depth) : -1;
	if (walked >= 0) {
		un = walked & PROFILE_MAX_DEPTH;
	} else if (user_depth) {
		/* Copied only to be counted: the user half overwrites it (kn is 0). */
		if (!kern_depth && chain_has_kernel) {
			len = bpf_get_stack(ctx, key->frames, user_depth * sizeof(__u64), 0);
			chained = len > 0 ? len / sizeof(__u64) : 0;
		}
		len = bpf_get_stack(ctx, &key->frames[kn], user_depth * sizeof(__u64),
				    BPF_F_USER_STACK);
		if (len < 0) {
			count(PROFILE_CNT_USTACK_ERR);
			failed = true;
		} else {
			un = len / sizeof(__u64);
		}
	}
	n = kn + un;
	clear_stale(sc, walked >= 0 ? n : kn + user_depth, n);

	if ((kern_depth && kn >= kern_depth) || (user_depth && un >= user_depth) ||
	    n + chained >= chain_max)
		count(PROFILE_CNT_TRUNCATED);
	key->kern_len = kn;
	key->user_len = un;
	/*
	 * No frame because capture failed: lost. No frame because the half that was
	 * asked for is empty (-K on a user-mode sample): kept as the process alone.
	 */
	if (n == 0 && failed) {
		count(PROFILE_CNT_LOST_STACK);
		count_lost(PROFILE_CNT_LOST_STACK, ctx->sample_period);
		return 0;
	}
	set = *(volatile __u32 *)&active_set & 1;
	tier = n <= tiny_depth ? 0 : n <= short_depth ? 1 : 2;
	err = add_to_set(set, tier, key, ctx->sample_period);
	if (err < 0) {
		count(PROFILE_CNT_LOST_MAP_FULL);
		count_lost(PROFILE_CNT_LOST_MAP_FULL, ctx->sample_period);
	} else if (err > 0) {
		__u32 slot = set * 4 + tier;

		/* Masked where older verifiers see it (the compiler drops a provable mask). */
		asm volatile("%0 &= %1" : "+r"(slot) : "i"(PROFILE_SETS * 4 - 1));
		sc->new_keys[slot]++;
	}
	return 0;
}

/* Every iterator's context starts so (no CO-RE: the context's types are the kernel's, the
 * verifier checks the accesses against them). */
struct bpf_iter_meta___pmuprof {
	struct seq_file *seq;
};

struct bpf_iter__bpf_map_elem___pmuprof {
	struct bpf_iter_meta___pmuprof *meta;
	void *map;
	void *key;
	void *value;
};

/*
 * Kernel frames named by the kernel itself (5.13+): attached to an array map of kernel
 * addresses, this writes one line per address, "ADDR NAME+0xOFF/0xSIZE [MODULE]" as the
 * kernel's %pS spells it ("ADDR 0x..." when no symbol holds it). A record names only the
 * addresses its stacks hold, instead of the kernel expanding all 100k+ of its names.
 *
 * Never loaded by libbpf (its attach point would make libbpf parse all of the kernel's BTF):
 * src/ksym-names.c loads these instructions as the ELF has them, so they must need no
 * relocation: no map, no global data, the format on the stack (bpf_seq_printf takes any
 * readable memory).
 */
SEC("iter/bpf_map_elem")
int ksym_names(struct bpf_iter__bpf_map_elem___pmuprof *ctx)
{
	char fmt[] = "%llx %pS\n";
	__u64 *addr = ctx->value, args[2];

	if (!addr)
		return 0;
	args[0] = args[1] = *addr;
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), args, sizeof(args));
	return 0;
}

/* bpf_link attach: the event index is the BPF cookie. */
SEC("perf_event")
int profile(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, (__u32)bpf_get_attach_cookie(ctx));
}

/* Legacy PERF_EVENT_IOC_SET_BPF attach: no cookies, so one program per event index. */
#define PROFILE_EV(n)                                                                              \
	SEC("perf_event")                                                                          \
	int profile_ev##n(struct bpf_perf_event_data *ctx)                                         \
	{                                                                                          \
		return sample(ctx, n);                                                             \
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
