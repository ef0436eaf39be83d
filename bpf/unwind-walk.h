/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user-stack walk from CFI tables, inside the sampler (included by profile.bpf.c
 * only). It mirrors the reference walker, symbolize/unwind-walk.c, step for step: keep
 * the two in step. Tables are loaded by src/unwind-loader.c; layouts in bpf/unwind.h,
 * the model in docs/unwind.md.
 *
 * Maps: one global array of rules, one row array per file (an inner array of a
 * map-in-map, sized per file), and pid -> the process's executable mappings (sorted, each
 * with its table and load bias). Every read of the user stack goes through
 * bpf_probe_read_user: a failed read ends the walk, nothing faults.
 */
#ifndef PMUPROF_BPF_UNWIND_WALK_H
#define PMUPROF_BPF_UNWIND_WALK_H

#include "unwind.h"

/* --call-graph=dwarf: walk with the tables; 0: the frame-pointer callchain. */
const volatile __u8 unwind_dwarf = 0;

struct unwind_rows_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* each file's array has its own size (BPF_F_INNER_MAP) */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct unwind_row));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, UNWIND_MAX_TABLES);
	__type(key, __u32);
	__array(values, struct unwind_rows_inner);
} unwind_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UNWIND_MAX_RULES);
	__type(key, __u32);
	__type(value, struct unwind_rule);
} unwind_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096); /* set at load from --unwind-memory */
	__type(key, __u32);
	__type(value, struct unwind_proc);
} unwind_procs SEC(".maps");

/* Preallocated: updated from the sampling path (NMI context on some events). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, UNWIND_WANTED_MAX);
	__type(key, __u32);
	__type(value, __u64);
} unwind_wanted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_scratch);
} unwind_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, UNWIND_USED_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} unwind_used SEC(".maps");

/*
 * Wakes the record loop when a walk missed a table the loader could add (a process or
 * mapping not synced yet, a file evicted or not built): the loop sleeps otherwise. At
 * most one record a UNWIND_WAKE_GAP, whatever the CPUs (the slot is shared; a race
 * costs one more wake-up).
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} unwind_wake SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unwind_woken SEC(".maps");

/* About 10 ms on the unwind_used clock (2^20 ns). */
#define UNWIND_WAKE_GAP 10

static __always_inline void uw_wake(__u64 now)
{
	__u32 zero = 0;
	__u64 *last = bpf_map_lookup_elem(&unwind_woken, &zero);

	if (!last || (now >= *last && now - *last < UNWIND_WAKE_GAP))
		return;
	*last = now;
	bpf_ringbuf_output(&unwind_wake, &now, sizeof(now), BPF_RB_FORCE_WAKEUP);
}

/* walk_step's "carry on": every other value is an enum unwind_stop. */
#define UW_GO	    (-1)
#define UW_ALL_REGS ((1u << UNWIND_NR_REGS) - 1)

static __always_inline int uw_known(const struct unwind_scratch *us, __u32 reg)
{
	return reg < UNWIND_NR_REGS && (us->known & (1u << reg));
}

/* regs[reg], the index masked where the verifier sees it (the compiler would drop a mask
 * it can prove redundant). */
static __always_inline __u64 uw_reg(const struct unwind_scratch *us, __u32 reg)
{
	asm volatile("%0 &= 31" : "+r"(reg));
	return us->regs[reg];
}

static __always_inline int uw_read(__u64 addr, __u64 *v)
{
	return bpf_probe_read_user(v, sizeof(*v), (const void *)addr) ? UNWIND_STOP_READ_FAULT : 0;
}

#define UW_LOAD(x)     (*(volatile __u32 *)&(x))
#define UW_STORE(x, v) (*(volatile __u32 *)&(x) = (v))

/* One step of a binary search for the last element <= a key: the middle index, or -1
 * when the bounds met. */
static __always_inline long uw_mid(struct unwind_scratch *us)
{
	__u32 lo = UW_LOAD(us->lo), hi = UW_LOAD(us->hi);

	if (lo >= hi)
		return -1;
	return lo + (hi - lo) / 2;
}

/* What a step of uw_row's search needs, handed over by bpf_loop(). */
struct uw_search {
	struct unwind_scratch *us;
	void *rows; /* the file's table */
	__u64 key;  /* the link-time address */
	int fail;   /* a row could not be read */
};

/* The mapping holding pc: the last one starting at or below it. */
static __always_inline struct unwind_map *uw_map(struct unwind_scratch *us, struct unwind_proc *p,
						 __u64 pc)
{
	struct unwind_map *m;
	__u32 i, lo;
	long mid;

	UW_STORE(us->lo, 0);
	UW_STORE(us->hi, p->nr < UNWIND_PROC_MAPS ? p->nr : UNWIND_PROC_MAPS);
	for (i = 0; i <= UNWIND_PROC_MAPS_LOG2; i++) {
		__u32 k;

		mid = uw_mid(us);
		if (mid < 0)
			break;
		k = mid;
		asm volatile("%0 &= %1" : "+r"(k) : "i"(UNWIND_PROC_MAPS - 1));
		if (p->maps[k].start <= pc)
			UW_STORE(us->lo, mid + 1);
		else
			UW_STORE(us->hi, mid);
	}
	lo = UW_LOAD(us->lo);
	if (!lo)
		return NULL;
	lo -= 1;
	asm volatile("%0 &= %1" : "+r"(lo) : "i"(UNWIND_PROC_MAPS - 1));
	m = &p->maps[lo];
	return pc < m->end ? m : NULL;
}

/*
 * One step of uw_row's search, a bpf_loop() body: the verifier checks it once, where the
 * unrolled loop it replaces cost it a fifth of the instructions it processed for the
 * program (21,675 -> 16,821). 1 stops.
 */
static long uw_row_step(__u32 i, struct uw_search *c)
{
	struct unwind_scratch *us = c->us;
	struct unwind_row *row;
	__u32 key;
	long mid;

	mid = uw_mid(us);
	if (mid < 0)
		return 1;
	key = mid;
	row = bpf_map_lookup_elem(c->rows, &key);
	if (!row) {
		c->fail = 1;
		return 1;
	}
	if (row->pc <= c->key)
		UW_STORE(us->lo, key + 1);
	else
		UW_STORE(us->hi, key);
	return 0;
}

/*
 * The rule index for a link-time address in the table tagged tag (of nrows rows): the
 * last row starting at or below it. Global, like the other steps taken only now and then
 * (a new mapping, a signal frame): the verifier checks it once, not once per path of the
 * frame step, and the frames that hit the caches make no call.
 */
__noinline int uw_row(struct unwind_scratch *us, __u32 tag, __u32 nrows, __u64 vaddr)
{
	__u32 table = tag & UNWIND_TABLE_SLOT_MASK, key;
	struct uw_search c = {};
	struct unwind_row *row;
	void *rows;

	if (!us || vaddr > 0xffffffffull)
		return UNWIND_RULE_FP;
	rows = bpf_map_lookup_elem(&unwind_tables, &table);
	if (!rows)
		return UNWIND_RULE_FP;
	UW_STORE(us->lo, 0);
	UW_STORE(us->hi, nrows);
	c.us = us;
	c.rows = rows;
	c.key = vaddr;
	bpf_loop(UNWIND_MAX_ROWS_LOG2 + 1, uw_row_step, &c, 0);
	if (c.fail)
		return UNWIND_RULE_FP;
	key = UW_LOAD(us->lo);
	if (!key)
		return UNWIND_RULE_FP; /* below the first row: no CFI */
	key -= 1;
	row = bpf_map_lookup_elem(rows, &key);
	return row ? row->rule : UNWIND_RULE_FP;
}

/* uw_row through the per-CPU cache: the outer frames of a program's stacks are the same
 * in sample after sample, and recursion repeats its return address. */
static __always_inline __u32 uw_row_cached(struct unwind_scratch *us, const struct unwind_map *m,
					   __u64 vaddr)
{
	struct unwind_rcache *c;
	__u32 h, rule;

	if (vaddr > 0xffffffffull)
		return UNWIND_RULE_FP;
	h = (((__u32)vaddr ^ (m->table << 7)) * 2654435761u) >> (32 - UNWIND_RCACHE_LOG2);
	asm volatile("%0 &= %1" : "+r"(h) : "i"(UNWIND_RCACHE - 1));
	c = &us->rc[h];
	if (c->table == m->table && c->vaddr == (__u32)vaddr)
		return c->rule;
	rule = uw_row(us, m->table, m->rows, vaddr);
	c->table = m->table;
	c->vaddr = vaddr;
	c->rule = rule;
	return rule;
}

/* The kernel's sigcontext: every general register, and the next pc is exact (global:
 * rare). */
__noinline int uw_signal(struct unwind_scratch *us)
{
	__u64 *s, *r;

	if (!us)
		return UNWIND_STOP_READ_FAULT;
	s = us->sig, r = us->regs;
	if (bpf_probe_read_user(s, sizeof(us->sig),
				(const void *)(r[UNWIND_REG_RSP] + UNWIND_SIGCONTEXT_OFF)))
		return UNWIND_STOP_READ_FAULT;
	/* DWARF number <- index in struct sigcontext (r8..r15, rdi, rsi, rbp, rbx, rdx, rax,
	 * rcx, rsp, rip), as in the reference walker. */
	r[0] = s[13], r[1] = s[12], r[2] = s[14], r[3] = s[11], r[4] = s[9], r[5] = s[8];
	r[6] = s[10], r[7] = s[15], r[8] = s[0], r[9] = s[1], r[10] = s[2], r[11] = s[3];
	r[12] = s[4], r[13] = s[5], r[14] = s[6], r[15] = s[7], r[16] = s[16];
	us->known = UW_ALL_REGS;
	us->exact = 1;
	return UW_GO;
}

/* Where the caller's value of a register is; 1: unknown. */
static __always_inline int uw_saved(struct unwind_scratch *us, __u8 type, __u8 reg, __s32 off,
				    __u64 cfa, __u64 *v)
{
	switch (type) {
	case UNWIND_SAVED_SAME:
	case UNWIND_SAVED_IN_REG:
		if (!uw_known(us, reg))
			return 1;
		*v = uw_reg(us, reg);
		return 0;
	case UNWIND_SAVED_AT_CFA:
		return uw_read(cfa + off, v);
	case UNWIND_SAVED_AT_REG:
		return uw_known(us, reg) ? uw_read(uw_reg(us, reg) + off, v) : 1;
	default:
		return 1;
	}
}

/* The caller's frame address per the rule (a copy: the frame-pointer rule is local). */
static __always_inline int uw_cfa(struct unwind_scratch *us, const struct unwind_rule *r,
				  __u64 *cfa)
{
	__u64 pc = us->regs[UNWIND_REG_RIP], v;

	switch (r->cfa_type) {
	case UNWIND_CFA_REG:
		if (!uw_known(us, r->cfa_reg))
			return UNWIND_STOP_NO_TABLE;
		*cfa = uw_reg(us, r->cfa_reg) + r->cfa_off;
		return 0;
	case UNWIND_CFA_DEREF:
		if (!uw_known(us, r->cfa_reg))
			return UNWIND_STOP_NO_TABLE;
		if (uw_read(uw_reg(us, r->cfa_reg) + r->cfa_off, &v))
			return UNWIND_STOP_READ_FAULT;
		*cfa = v + r->cfa_arg;
		return 0;
	case UNWIND_CFA_PLT:
		*cfa = us->regs[UNWIND_REG_RSP] + r->cfa_off +
		       ((pc & 15) >= (__u64)(__s64)r->cfa_arg ? 8 : 0);
		return 0;
	default: /* frame pointer: push %rbp; mov %rsp,%rbp */
		if (!uw_known(us, UNWIND_REG_RBP) || !us->regs[UNWIND_REG_RBP])
			return UNWIND_STOP_NO_TABLE;
		*cfa = us->regs[UNWIND_REG_RBP] + 16;
		return 0;
	}
}

/* One frame: the caller's rip, rsp and rbp from the rule at pc (walk_step). */
static __always_inline int uw_step(struct unwind_scratch *us, const struct unwind_rule *rule)
{
	struct unwind_rule r = *rule;
	__u64 cfa = 0, ra = 0, rbp = 0, sp = us->regs[UNWIND_REG_RSP];
	int err, rbp_err;
	bool fp;

	if (r.cfa_type == UNWIND_CFA_END)
		return UNWIND_STOP_END;
	if (r.cfa_type == UNWIND_CFA_SIGNAL)
		return uw_signal(us);
	fp = r.cfa_type == UNWIND_CFA_FP || r.cfa_type == UNWIND_CFA_UNSUPPORTED ||
	     r.ra_type == UNWIND_SAVED_UNSUPPORTED || r.ra_type == UNWIND_SAVED_SAME;
	if (fp) {
		r.cfa_type = UNWIND_CFA_FP;
		r.rbp_type = UNWIND_SAVED_AT_CFA;
		r.rbp_off = -16;
		r.ra_type = UNWIND_SAVED_AT_CFA;
		r.ra_off = -8;
	}
	err = uw_cfa(us, &r, &cfa);
	if (err)
		return err;
	if (r.ra_type == UNWIND_SAVED_AT_CFA && r.rbp_type == UNWIND_SAVED_AT_CFA &&
	    r.rbp_off + 8 == r.ra_off) {
		/* rbp pushed right below the return address (most frames): one read. */
		__u64 pair[2];

		if (bpf_probe_read_user(pair, sizeof(pair), (const void *)(cfa + r.rbp_off)))
			return UNWIND_STOP_READ_FAULT;
		rbp = pair[0], ra = pair[1], rbp_err = 0;
	} else {
		err = uw_saved(us, r.ra_type, r.ra_reg, r.ra_off, cfa, &ra);
		if (err)
			return err == 1 ? UNWIND_STOP_NO_TABLE : err;
		rbp_err = uw_saved(us, r.rbp_type,
				   r.rbp_type == UNWIND_SAVED_SAME ? UNWIND_REG_RBP : r.rbp_reg,
				   r.rbp_off, cfa, &rbp);
		if (rbp_err == UNWIND_STOP_READ_FAULT)
			return rbp_err;
	}
	if (!ra)
		return UNWIND_STOP_END;
	if (cfa <= sp && !fp)
		return UNWIND_STOP_BAD_FRAME;
	us->known = (1u << UNWIND_REG_RSP) | (1u << UNWIND_REG_RIP) |
		    (rbp_err ? 0 : 1u << UNWIND_REG_RBP);
	us->regs[UNWIND_REG_RSP] = cfa;
	us->regs[UNWIND_REG_RBP] = rbp;
	us->regs[UNWIND_REG_RIP] = ra;
	us->exact = 0;
	return UW_GO;
}

/* The mapping's table was used now, or its file that did not fit was needed: the
 * loader's least-recently-used order. Written once a millisecond at most. */
static __always_inline void uw_used(struct unwind_scratch *us, const struct unwind_map *m)
{
	__u32 i = m->table & UNWIND_TABLE_SLOT_MASK;
	__u64 *t;

	if (m->table == UNWIND_NO_TABLE) {
		if (!m->rows)
			return;
		i = UNWIND_MAX_TABLES + m->rows - 1;
		us->need = 1;
	}
	t = bpf_map_lookup_elem(&unwind_used, &i);
	if (t && *t != us->now)
		*t = us->now;
}

/*
 * The mapping holding pc (in neither of the last two) into us->last: 1, or 0 when the
 * process's entry does not map it (global: once or a few times a walk).
 */
__noinline int uw_remap(struct unwind_scratch *us, __u64 pc)
{
	struct unwind_proc *p;
	struct unwind_map *found;
	__u32 pid, self;
	__u64 at = pc;

	if (!us)
		return 0;
	pid = us->pid;
	self = us->self;
	p = bpf_map_lookup_elem(&unwind_procs, &pid);
	found = p ? uw_map(us, p, pc) : NULL;
	if (!found) {
		us->need = 1; /* maybe mapped since the last sync */
		/* A real pc (not a return address) the entry does not map: the loader compares
		 * it with what it knows of the process. Once per sync at most (the loader takes
		 * it out). */
		if (us->exact && p)
			bpf_map_update_elem(&unwind_wanted, &self, &at, BPF_NOEXIST);
		return 0;
	}
	us->last = *found;
	uw_used(us, &us->last);
	return 1;
}

/* The rule for the current pc and whether a loaded table covered it. */
static __always_inline const struct unwind_rule *uw_rule(struct unwind_scratch *us, bool *table)
{
	__u64 pc = us->regs[UNWIND_REG_RIP];
	struct unwind_map *m = &us->last;
	__u32 idx = UNWIND_RULE_FP;

	/* A return address points after the call, maybe past the caller's last byte. */
	if (!us->exact)
		pc--;
	*table = false;
	if (pc < m->start || pc >= m->end) {
		struct unwind_map t = us->prev;

		us->prev = *m;
		if (pc >= t.start && pc < t.end)
			*m = t;
		else if (!uw_remap(us, pc))
			return bpf_map_lookup_elem(&unwind_rules, &idx);
	}
	if (m->table != UNWIND_NO_TABLE) {
		*table = true;
		idx = uw_row_cached(us, m, pc - m->bias);
	}
	return bpf_map_lookup_elem(&unwind_rules, &idx);
}

/* bpf_loop body: record the frame at pc, then step to its caller. 1 stops the loop. */
static long uw_frame(__u32 i, void *unused)
{
	struct profile_scratch *sc;
	struct unwind_scratch *us;
	const struct unwind_rule *r;
	__u32 zero = 0;
	bool table;
	__u64 pc;
	int err;

	sc = bpf_map_lookup_elem(&scratch, &zero);
	us = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!sc || !us)
		return 1;
	if (us->n >= us->max) {
		us->stop = UNWIND_STOP_DEPTH;
		return 1;
	}
	pc = us->regs[UNWIND_REG_RIP];
	/* After a signal frame the pc is exact: + 1, as the symbolizer takes every frame but
	 * the leaf for a return address. */
	sc->key.frames[(us->base + us->n) & (2 * PROFILE_MAX_DEPTH + 1)] =
		us->exact && us->n ? pc + 1 : pc;
	us->n++;
	r = uw_rule(us, &table);
	if (!r) {
		us->stop = UNWIND_STOP_NO_TABLE;
		return 1;
	}
	/* The signal trampoline too: named at its own pc (its FDE starts a byte early). */
	if (r->cfa_type == UNWIND_CFA_SIGNAL && !us->exact)
		sc->key.frames[(us->base + us->n - 1) & (2 * PROFILE_MAX_DEPTH + 1)] = pc + 1;
	err = uw_step(us, r);
	if (err == UW_GO)
		return 0;
	/* The frame pointer failed where no table was loaded: say so, not "read fault". */
	if (!table && err == UNWIND_STOP_READ_FAULT &&
	    (r->cfa_type == UNWIND_CFA_FP || r->cfa_type == UNWIND_CFA_UNSUPPORTED))
		err = UNWIND_STOP_NO_TABLE;
	us->stop = err;
	return 1;
}

/* The user registers at the sample: its own when it hit user mode, else the task's. */
static __always_inline int uw_regs(struct bpf_perf_event_data *ctx, struct unwind_scratch *us)
{
	__u64 *r = us->regs, *s = us->sig;

	if ((ctx->regs.cs & 3) == 3) {
		r[0] = ctx->regs.rax, r[1] = ctx->regs.rdx, r[2] = ctx->regs.rcx;
		r[3] = ctx->regs.rbx, r[4] = ctx->regs.rsi, r[5] = ctx->regs.rdi;
		r[6] = ctx->regs.rbp, r[7] = ctx->regs.rsp, r[8] = ctx->regs.r8;
		r[9] = ctx->regs.r9, r[10] = ctx->regs.r10, r[11] = ctx->regs.r11;
		r[12] = ctx->regs.r12, r[13] = ctx->regs.r13, r[14] = ctx->regs.r14;
		r[15] = ctx->regs.r15, r[16] = ctx->regs.rip;
		return 0;
	}
	/* struct pt_regs: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax
	 * rip cs eflags rsp ss; 17 words fit the sigcontext buffer, cs is word 17. */
	{
		long regs = bpf_task_pt_regs(bpf_get_current_task_btf());
		__u64 cs = 0;

		if (!regs || bpf_probe_read_kernel(s, sizeof(us->sig), (const void *)regs) ||
		    bpf_probe_read_kernel(&cs, sizeof(cs), (const void *)(regs + 17 * 8)) ||
		    (cs & 3) != 3)
			return -1;
		r[0] = s[10], r[1] = s[12], r[2] = s[11], r[3] = s[5], r[4] = s[13];
		r[5] = s[14], r[6] = s[4], r[8] = s[9], r[9] = s[8], r[10] = s[7];
		r[11] = s[6], r[12] = s[3], r[13] = s[2], r[14] = s[1], r[15] = s[0];
		r[16] = s[16];
		if (bpf_probe_read_kernel(&r[7], sizeof(r[7]), (const void *)(regs + 19 * 8)))
			return -1;
	}
	return 0;
}

/* The entry of this generation of pid (its leader started at gen), or NULL. */
static __always_inline bool uw_proc(__u32 pid, __u64 gen)
{
	struct unwind_proc *p = bpf_map_lookup_elem(&unwind_procs, &pid);

	return p && p->gen_lo <= gen && gen <= p->gen_hi;
}

/*
 * A child forked since the last sync that has not exec'd since maps what its parent
 * maps: walk with the parent's tables until its own are loaded. 0: not such a child.
 */
static __always_inline __u32 uw_forked_from(void)
{
	__u64 me, parent;
	__u32 ppid;

	me = task_u64(bpf_get_current_task(), task_group_leader);
	parent = task_u64(me, task_real_parent);
	if (!parent || task_u64(me, task_self_exec_id) != task_u64(parent, task_self_exec_id))
		return 0;
	ppid = task_u32(parent, task_tgid);
	return uw_proc(ppid, task_generation(parent)) ? ppid : 0;
}

/*
 * Walk the user stack of pid into key frames [base, base + max). The number of frames
 * (a marker frame last when the walk stopped early), or -1: no tables for this process
 * (yet) or no user registers, use the frame pointers. Global, so checked once: inlined,
 * each of its ways out multiplied the paths of the rest of the sample.
 */
__noinline int uw_walk(struct bpf_perf_event_data *ctx, __u32 pid, __u32 base, __u32 max)
{
	struct profile_scratch *sc;
	struct unwind_scratch *us;
	__u32 zero = 0, n, stop;

	us = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!us || !max)
		return -1;
	if (!task_u64(bpf_get_current_task(), task_mm)) {
		us->ends[UNWIND_ENDED_NO_REGS]++; /* a kernel thread: no user stack */
		return -1;
	}
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return -1;
	us->self = pid;
	if (!uw_proc(pid, sc->key.gen)) {
		__u32 me = pid;
		__u64 none = 0;

		pid = uw_forked_from();
		if (!pid) {
			/* Full or already there: dropped, a later sample asks again. */
			bpf_map_update_elem(&unwind_wanted, &me, &none, BPF_NOEXIST);
			us->ends[UNWIND_ENDED_NO_PROC]++;
			uw_wake(bpf_ktime_get_ns() >> UNWIND_USED_SHIFT);
			return -1;
		}
	}
	if (uw_regs(ctx, us)) {
		us->ends[UNWIND_ENDED_NO_REGS]++;
		return -1;
	}
	us->known = UW_ALL_REGS;
	us->exact = 1;
	us->now = bpf_ktime_get_ns() >> UNWIND_USED_SHIFT;
	us->pid = pid;
	us->base = base;
	us->n = 0;
	us->max = max;
	us->stop = UNWIND_STOP_REASONS;
	us->last.start = 0;
	us->last.end = 0;
	us->prev.start = 0;
	us->prev.end = 0;
	us->need = 0;
	bpf_loop(max, uw_frame, NULL, 0);
	if (us->need)
		uw_wake(us->now);
	stop = us->stop < UNWIND_STOP_REASONS ? us->stop : UNWIND_STOP_DEPTH;
	us->ends[stop & 7]++;
	n = us->n;
	if (stop == UNWIND_STOP_END)
		return n;
	/* The outermost frame names why the walk stopped (the last one when no room). */
	if (n >= max)
		n = max - 1;
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return -1;
	sc->key.frames[(base + n) & (2 * PROFILE_MAX_DEPTH + 1)] = UNWIND_MARKER | stop;
	return n + 1;
}

#endif
