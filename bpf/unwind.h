/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CFI unwind tables shared by user space (which compiles them from .eh_frame /
 * .debug_frame, symbolize/unwind.c) and the BPF program (which walks user stacks with
 * them). __u32-style types only. Layout and rule model: docs/unwind.md.
 *
 * One global array of unique rules (struct unwind_rule; a few thousand system-wide), and
 * per executable file one array of rows sorted by pc. A row covers [pc, next row's pc);
 * the last row of a file is an UNWIND_RULE_FP row at the end of its last FDE, so every
 * address of the file has exactly one rule. The walker finds the row by a binary search
 * of at most UNWIND_MAX_ROWS_LOG2 + 1 steps, each a bpf_loop() call (the verifier checks
 * the step once rather than once per step of an unrolled loop).
 */
#ifndef PMUPROF_BPF_UNWIND_H
#define PMUPROF_BPF_UNWIND_H

#include <linux/types.h>

/* Rule 0 of every rule table: no CFI covers the pc, follow the frame pointer. */
#define UNWIND_RULE_FP 0
/* Rule indices fit in 16 bits (the system-wide count is ~3,800). */
#define UNWIND_MAX_RULES 65536
/* Rows per file: 2^24 (libLLVM, the largest Debian library, has 887k). */
#define UNWIND_MAX_ROWS_LOG2 24
#define UNWIND_MAX_ROWS	     (1u << UNWIND_MAX_ROWS_LOG2)

/* DWARF register numbers on x86-64. */
#define UNWIND_REG_RBP 6
#define UNWIND_REG_RSP 7
#define UNWIND_REG_RIP 16
#define UNWIND_NR_REGS 17

/* How the canonical frame address (the caller's rsp) is found. */
enum unwind_cfa_type {
	UNWIND_CFA_FP = 0,	/* no CFI: CFA = rbp + 16, rbp saved at CFA - 16 */
	UNWIND_CFA_REG,		/* CFA = reg + cfa_off */
	UNWIND_CFA_DEREF,	/* CFA = *(reg + cfa_off) + cfa_arg (GCC's DRAP realignment) */
	UNWIND_CFA_PLT,		/* CFA = rsp + cfa_off + ((rip & 15) >= cfa_arg ? 8 : 0) */
	UNWIND_CFA_SIGNAL,	/* signal trampoline: registers from the ucontext at rsp */
	UNWIND_CFA_END,		/* outermost frame (rip undefined): _start, clone, clone3 */
	UNWIND_CFA_UNSUPPORTED, /* CFI the model cannot express: frame pointer, counted */
	UNWIND_CFA_TYPES,
};

/* Where the caller's rbp (or return address) is. */
enum unwind_reg_type {
	UNWIND_SAVED_SAME = 0,	  /* unchanged (rbp only) */
	UNWIND_SAVED_AT_CFA,	  /* at *(CFA + off) */
	UNWIND_SAVED_AT_REG,	  /* at *(reg + off): DRAP realignment saves rbp at *(rbp) */
	UNWIND_SAVED_IN_REG,	  /* the value of reg (__vfork keeps its return address in rdi) */
	UNWIND_SAVED_UNDEFINED,	  /* lost: callers cannot use it */
	UNWIND_SAVED_UNSUPPORTED, /* an expression the model cannot express */
	UNWIND_SAVED_TYPES,
};

struct unwind_rule {
	__u8 cfa_type; /* enum unwind_cfa_type */
	__u8 cfa_reg;  /* DWARF register of UNWIND_CFA_REG / _DEREF */
	__u8 rbp_type; /* enum unwind_reg_type */
	__u8 rbp_reg;  /* register of UNWIND_SAVED_AT_REG */
	__u8 ra_type;  /* enum unwind_reg_type: UNWIND_SAVED_AT_CFA (-8) nearly always */
	__u8 ra_reg;   /* register of UNWIND_SAVED_IN_REG */
	__u16 pad;
	__s32 cfa_off;
	__s32 cfa_arg;
	__s32 rbp_off;
	__s32 ra_off;
};

/* pc: the link-time address (ELF p_vaddr space) where the row starts; pc - load bias
 * at run time. rule: index into the rule array. */
struct unwind_row {
	__u32 pc;
	__u32 rule;
};

/*
 * The sigcontext inside the ucontext that the kernel pushed below a signal handler's
 * frame: at the trampoline (__restore_rt) rsp points at the ucontext. Offsets from rsp.
 */
#define UNWIND_SIGCONTEXT_OFF 40
#define UNWIND_SIGCONTEXT_RBP (UNWIND_SIGCONTEXT_OFF + 80)
#define UNWIND_SIGCONTEXT_RSP (UNWIND_SIGCONTEXT_OFF + 120)
#define UNWIND_SIGCONTEXT_RIP (UNWIND_SIGCONTEXT_OFF + 128)

/* Why a walk ended. */
enum unwind_stop {
	UNWIND_STOP_END = 0,	/* reached the outermost frame */
	UNWIND_STOP_DEPTH,	/* the frame limit */
	UNWIND_STOP_NO_TABLE,	/* no rule and no frame pointer to follow */
	UNWIND_STOP_READ_FAULT, /* a stack read failed */
	UNWIND_STOP_BAD_FRAME,	/* the stack did not grow toward its base, or pc 0 */
	UNWIND_STOP_REASONS,
};

/* ---- The tables in the kernel (bpf/unwind-walk.h, src/unwind-loader.c) ---- */

/* Slots of the outer map of per-file row arrays (one inner array per loaded file). */
#define UNWIND_MAX_TABLES 8192
/* Executable mappings of one process that the walk can find (binary search, 2^8). */
#define UNWIND_PROC_MAPS_LOG2 8
#define UNWIND_PROC_MAPS      (1u << UNWIND_PROC_MAPS_LOG2)
/* No table for a mapping (no file, no CFI, not loaded): the frame pointer. */
#define UNWIND_NO_TABLE 0xffffffffu
/* A mapping's table tag: its slot in the low bits, above them a serial the loader
 * changes every time it fills a slot (never 0, never all ones), so the walk's per-CPU
 * cache of rows never answers for a table that left its slot. */
#define UNWIND_TABLE_SLOT_BITS 13
#define UNWIND_TABLE_SLOT_MASK (UNWIND_MAX_TABLES - 1)
#define UNWIND_TABLE_SERIALS   (1u << 18)

/* One executable mapping of a process, sorted by start. */
struct unwind_map {
	__u64 start, end;
	__u64 bias;  /* run-time minus link-time address */
	__u32 table; /* slot in the outer map | serial << 13 (a tag), or UNWIND_NO_TABLE */
	/* Rows of that table. Without a table: 1 + the file's miss clock (a file with CFI
	 * that did not fit the budget; its use asks for it to be loaded), or 0. */
	__u32 rows;
};

/* unwind_used: when each slot's table was last used, then when each file that did not
 * fit was last needed (UNWIND_MAX_TABLES + miss clock), in bpf_ktime_get_ns() >> 20
 * (about a millisecond): the loader evicts the least recently used tables. */
#define UNWIND_USED_SHIFT 20
#define UNWIND_USED_SLOTS (2 * UNWIND_MAX_TABLES)

/* unwind_wanted: processes sampled without an entry in unwind_procs (their tracking
 * records lost on a busy machine, or not synced yet), read first at the next sync. The
 * value: 0, or the exact pc (a leaf's) the walk found outside every mapping of the entry
 * (an exec and its mmaps lost while the fork came through: the parent's mappings). */
#define UNWIND_WANTED_MAX 1024

/* The value of the pid -> mappings hash. */
struct unwind_proc {
	__u32 nr;
	__u32 pad;
	/* The generation these mappings belong to: its leader's start time (the sample key's
	 * gen) lies in [gen_lo, gen_hi]. A pid reused before the loader saw the exit does
	 * not walk with the old process's tables. */
	__u64 gen_lo, gen_hi;
	struct unwind_map maps[UNWIND_PROC_MAPS];
};

/*
 * A user frame that is not an address: the walk stopped early, for this reason (enum
 * unwind_stop). Non-canonical, so never a real pc; symbolized as "[unwind:REASON]".
 */
#define UNWIND_MARKER	   0x8000000000000000ull
#define UNWIND_MARKER_MASK 0xffffffffffffff00ull

/* How stacks ended, per CPU (the walk's scratch slot): by enum unwind_stop, then these. */
enum unwind_end {
	UNWIND_ENDED_NO_PROC =
		UNWIND_STOP_REASONS, /* no tables for the process yet: frame pointers */
	UNWIND_ENDED_NO_REGS,	     /* no user registers (kernel thread) */
	UNWIND_ENDS,
};

/* The walk's per-CPU cache of rules found: a table tag and a link-time address (a
 * return address recurs in sample after sample) -> rule, direct-mapped. */
#define UNWIND_RCACHE_LOG2 11
#define UNWIND_RCACHE	   (1u << UNWIND_RCACHE_LOG2)

struct unwind_rcache {
	__u32 table; /* tag, 0: empty */
	__u32 vaddr;
	__u32 rule;
};

/* The walk's per-CPU scratch slot (the BPF stack is 512 bytes). */
struct unwind_scratch {
	__u64 regs[32]; /* by DWARF number; 32 so a masked index stays inside */
	__u64 sig[17];	/* a sigcontext's general registers, as the kernel lays them out */
	__u32 known;	/* bit i: regs[i] holds the caller's value */
	__u32 exact;	/* the pc is exact (leaf, after a signal frame), not a return address */
	__u32 pid;
	__u32 base; /* index in the key of the first user frame */
	__u32 n;    /* user frames written */
	__u32 max;  /* user frames allowed, the marker included */
	__u32 stop; /* enum unwind_stop, or UNWIND_STOP_REASONS while walking */
	__u32 need; /* a table the loader could add was missing: wake it (uw_wake) */
	__u32 self; /* the sampled process (pid is its parent while it walks with theirs) */
	__u32 pad;
	/* A binary search's bounds, kept in memory: the verifier does not track them, so the
	 * states of its two branches are equal at the next step and prune (in registers,
	 * every path through 25 steps is a state of its own). */
	__u32 lo, hi;
	__u64 now;     /* bpf_ktime_get_ns() >> UNWIND_USED_SHIFT at the sample */
	__u64 ends[8]; /* stacks by how they ended (enum unwind_end), ever */
	/* The mapping of the previous frame (end 0: none yet): a caller in the same file
	 * needs no process lookup. */
	struct unwind_map last;
	/* The one before it in the walk: stacks go back and forth between two files (a
	 * program and its library, an interpreter and its extension), so its frames need no
	 * lookup either, and its use is recorded already. */
	struct unwind_map prev;
	struct unwind_rcache rc[UNWIND_RCACHE];
};

#endif
