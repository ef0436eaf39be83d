/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The record loop: perf events opened per CPU or per task, the BPF sampler loaded and
 * attached, address spaces tracked, and the in-kernel stacks drained continuously into
 * symbolized stack tables with a loss ledger. The kernel maps hold one interval; user
 * space aggregates within a bound, and address spaces of exited processes are freed once
 * their samples are drained: record__poll() can run forever in flat memory.
 */
#ifndef PMUPROF_RECORD_H
#define PMUPROF_RECORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "bpf/profile.h"
#include "flamegraph/flamegraph.h"
#include "pmu/pmu.h"
#include "symbolize/symbolize.h"
#include "unwind-loader.h"

/* A drained stack, as record_opts.on_stack is told it. */
struct record_stack {
	int event;
	pid_t pid;
	uint64_t gen;			 /* the process's generation (when it started) */
	const struct stack_table *table; /* the table the stack is counted in */
	const struct stack_ref *ref;	 /* its frames there; NULL: a new stack beyond
					  * max_table, counted as [lost:table_full] */
	struct stack_count c;
};

/* Descriptors record__watch() takes. */
#define RECORD_WATCH_MAX 64

struct record_opts {
	size_t sz;
	const struct pmu_event *events; /* copied: precise_ip may be lowered at open */
	int nr_events;
	/* System-wide on these CPUs when nr_tasks is 0. */
	const int *cpus;
	int nr_cpus;
	/* Per-task events on these threads. */
	const pid_t *tasks;
	int nr_tasks;
	bool inherit;	     /* follow children of the tasks */
	bool enable_on_exec; /* a launched command: counting starts at its exec */
	enum pmu_attach_mode attach;
	unsigned int kern_depth; /* 0..PROFILE_MAX_DEPTH; 0 leaves kernel frames out */
	unsigned int user_depth;
	unsigned int max_stacks; /* entries of the in-kernel map */
	bool per_thread;	 /* key stacks by thread too */
	bool per_pid;		 /* the root frame is COMM-PID, one per process */
	bool bpf_walk;		 /* walk stacks in the program, not through the perf callchain */
	/* CPUs for address-space tracking (all online CPUs). */
	const int *track_cpus;
	int nr_track_cpus;
	const char *proc_root;
	/* Per event: folded counts are weights (sum of periods) rather than samples. */
	bool count_weight[PROFILE_MAX_EVENTS];
	/* Draining; 0 picks the default. */
	unsigned int drain_ms;	 /* cadence (1000) */
	unsigned int drain_fill; /* drain early when a map is this % full (50) */
	unsigned int wake_ms;	 /* the loop's wake-up with CFI tables (10); without: 50 */
	size_t max_table;	 /* distinct stacks per event table (RECORD_MAX_TABLE) */
	size_t max_processes;	 /* address spaces tracked at once (65536) */
	/*
	 * Set (by a signal handler or a timer) to finish quickly: stacks drained from then
	 * on keep their counts but their user frames are not symbolized ("[unknown]").
	 */
	const volatile sig_atomic_t *cut_short;
	/* Set (by a signal handler) to stop: waits before sampling starts end early. */
	const volatile sig_atomic_t *stop;
	/* --call-graph=dwarf: walk user stacks with CFI tables in the kernel. */
	bool unwind;
	uint64_t unwind_memory;	  /* bytes of tables in the kernel; 0: UNWIND_MEMORY_DEFAULT */
	const char *command_path; /* a launched command's executable: tables built ahead */
	/*
	 * Called for every drained key counted in its event's table, with its process and the
	 * stack as the table holds it (record_stack: valid during the call) and the counts
	 * added (samples and weight both): a consumer can follow the stacks drain by drain
	 * without taking the tables. NULL: none.
	 */
	void (*on_stack)(void *ctx, const struct record_stack *s);
	/* Called (with on_stack_ctx) after a tracking record of pid (fork, exec, comm, mmap,
	 * exit) was applied, while the process may still run. NULL: none. */
	void (*on_process)(void *ctx, pid_t pid);
	void *on_stack_ctx;
};

#define RECORD_MAX_TABLE 200000

/* Where a failure happened, for the caller's message. */
enum record_stage {
	RECORD_STAGE_NONE = 0,
	RECORD_STAGE_KERNEL_BTF, /* reading the kernel's BTF (KERNEL_BTF_PATH) */
	RECORD_STAGE_BPF_OPEN,
	RECORD_STAGE_BPF_LOAD,
	RECORD_STAGE_OPEN,   /* perf_event_open of event on cpu / task */
	RECORD_STAGE_ATTACH, /* attaching the program to that event */
	RECORD_STAGE_TRACK,  /* address-space tracking events */
	RECORD_STAGE_ENABLE,
};

struct record_error {
	enum record_stage stage;
	int err;   /* negative errno */
	int event; /* index, or -1 */
	int cpu;   /* or -1 */
	pid_t pid; /* or -1 */
};

/* Why a CFI walk ended (enum unwind_stop, enum unwind_end): "[unwind:<name>]". */
const char *unwind_stop__name(unsigned int stop);

/* Ledger reasons, as they appear in output: "[lost:<name>]". */
const char *record_counter__name(enum profile_counter c);

struct record_event_stats {
	uint64_t counters[PROFILE_CNT_MAX]; /* summed over CPUs */
	uint64_t lost_weight[PROFILE_CNT_MAX];
	uint64_t samples_in_stacks;
	uint64_t weight;
	uint64_t stacks;     /* in-kernel keys drained */
	uint64_t table_full; /* samples of new stacks beyond max_table: [lost:table_full] */
	uint64_t table_full_weight;
};

struct record_stats {
	struct record_event_stats ev[PROFILE_MAX_EVENTS];
	uint64_t taken, lost, in_stacks;
	uint64_t unresolved_user; /* samples with at least one unnamed user frame */
	uint64_t track_lost;	  /* mmap records dropped by the kernel */
	uint64_t untracked_pids;  /* processes beyond the tracking bound */
	bool kernel_syms_hidden;  /* kptr_restrict */
	enum pmu_attach_mode attach_used;
	uint64_t drains;     /* map sets drained */
	double max_fill;     /* the fullest a drained map was, in % of its entries */
	uint64_t reaped;     /* exited processes' address spaces freed */
	bool sync_fallback;  /* no grace period from membarrier(): waited instead */
	uint64_t symbolized; /* drained keys named */
	uint64_t cache_hits; /* drained keys counted under a name given in an earlier drain */
	/* --call-graph=dwarf: whether the walk ran, how user stacks ended (samples, enum
	 * unwind_end), the tables loaded. */
	bool unwind;
	uint64_t unwind_ends[8];
	struct unwind_loader_stats unwind_tables;
};

struct record;

/* Open events, load and attach the sampler, start tracking. NULL + errno; *e says where. */
struct record *record__new(const struct record_opts *opts, struct symbolizer *sym,
			   struct record_error *e);
void record__free(struct record *r);
enum pmu_attach_mode record__attach_mode(const struct record *r);
/* --call-graph=dwarf asked for, and the kernel refused the walk: -errno (frame pointers
 * are used instead), else 0. */
int record__unwind_refused(const struct record *r);
/* The events as opened (precise_ip lowered where the PMU wanted less). */
const struct pmu_event *record__events(const struct record *r);
/* Enable the events (not needed with enable_on_exec). */
int record__enable(struct record *r, struct record_error *e);
/* Wait up to timeout_ms for tracking records and apply them; drain the kernel maps when
 * the cadence or a map's fill says so, and name drained stacks until the next drain is
 * due (naming never delays a drain). 0 or negative errno (-EINTR when a signal arrived). */
int record__poll(struct record *r, int timeout_ms);
/* Wake record__poll() when fd turns readable (a pidfd: the process exited); it returns 1
 * then, once per fd. The caller keeps fd open while the record lives. 0, or -ENOSPC. */
int record__watch(struct record *r, int fd);
/*
 * Drain now: flip the map set the program adds to, wait until no program can still be
 * adding to the old set (an RCU grace period), symbolize its stacks and add them to the
 * record's tables, then free the address spaces of processes that exited before the flip.
 */
int record__drain_now(struct record *r);
/*
 * A window: name what the drains left queued, give the stacks aggregated since the last
 * take (one table per event, the ledger's lines for the window included) and continue in
 * fresh tables. tables[i] are exchanged with the record's (pass empty ones).
 */
int record__take(struct record *r, struct stack_table **tables, struct record_stats *st);
/* The in-kernel ledger since the start, per event and counter (enum profile_counter). */
int record__counters(struct record *r, uint64_t (*counters)[PROFILE_CNT_MAX]);
/* record__counters, and the weight (sum of periods) of the samples each counter lost. */
int record__ledger(struct record *r, uint64_t (*counters)[PROFILE_CNT_MAX],
		   uint64_t (*weights)[PROFILE_CNT_MAX]);
/* Live totals: samples taken and lost so far. */
int record__peek(struct record *r, uint64_t *taken, uint64_t *lost);
/* Disable and detach every event (perf fds closed). Idempotent. */
void record__stop(struct record *r);
/* Stop, drain what is left and take the whole run (see record__take). */
int record__drain(struct record *r, struct stack_table **tables, struct record_stats *st);

/* Sum one per-CPU value array (as returned by a lookup on a per-CPU map). */
void profile_value__sum(const struct profile_value *percpu, int ncpus, struct profile_value *out);

#endif
