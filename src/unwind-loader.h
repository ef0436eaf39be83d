/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loads the CFI unwind tables of the files processes map into the sampler's maps
 * (bpf/unwind-walk.h), off the sampling path: processes whose mappings changed are
 * synced at the record loop's cadence; a file's table is unloaded when no live process
 * maps it any more. Kernel memory is bounded by a budget: beyond it, the tables no sample
 * used for a while are evicted, least recently used first, and loaded again when needed;
 * what did not fit is counted.
 */
#ifndef PMUPROF_UNWIND_LOADER_H
#define PMUPROF_UNWIND_LOADER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "symbolize/symbolize.h"

/* Default --unwind-memory: rows of a few hundred distinct files plus thousands of
 * processes' mapping lists. */
#define UNWIND_MEMORY_DEFAULT (256ull << 20)

struct unwind_loader_opts {
	int rules_fd, tables_fd, procs_fd; /* the sampler's maps */
	int used_fd;			   /* unwind_used (mmapped), or -1: no eviction */
	int wanted_fd;			   /* unwind_wanted, or 0 or -1: none */
	uint64_t memory;		   /* budget in bytes (rows and process entries) */
	const char *proc_root;
	struct aspaces *as;
};

struct unwind_loader_stats {
	uint64_t tables, bytes, procs; /* loaded now */
	uint64_t peak_bytes;
	uint64_t loaded_files, loaded_bytes;   /* loads over the record (reloads too) */
	uint64_t evicted_files, evicted_bytes; /* unused tables evicted to make room */
	uint64_t reloaded_files;	       /* evicted, then loaded again */
	uint64_t no_fit_files, no_fit_bytes;   /* files that never found room */
	uint64_t no_fit_procs;		       /* processes over the budget (ever) */
	uint64_t failed;		       /* files whose CFI could not be read (ever) */
	uint64_t wanted;		       /* processes sampled without an entry */
	uint64_t recovered; /* of them, unknown to the tracker: read from /proc */
	/* Walks that met a pc outside every mapping of their process's entry (at most one
	 * a process and sync counted; stale: the exec and mmap records lost, the fork not),
	 * the processes read again from /proc for them (pc unknown to the tracker too), and
	 * the times the rate bound put one off. */
	uint64_t stale, reread, reread_held;
};

struct unwind_loader;

struct unwind_loader *unwind_loader__new(const struct unwind_loader_opts *opts);
void unwind_loader__free(struct unwind_loader *l);
/* Per-task records: tables only for pid (call once per profiled process) and the
 * processes it forks. Without a call, every process gets tables. */
int unwind_loader__restrict(struct unwind_loader *l, pid_t pid);
/* pid's mappings changed (mmap, exec, fork) or it exited: sync it at the next sync. */
int unwind_loader__touch(struct unwind_loader *l, pid_t pid);
/* Touch every process under proc_root (a system-wide record's snapshot). */
int unwind_loader__touch_all(struct unwind_loader *l);
/* Build the table of a file a process is about to map (a launched command's executable,
 * its C library) so the process's first sync only finds it. Held until freed. */
int unwind_loader__prewarm(struct unwind_loader *l, const char *path);
/* Bring the kernel's tables up to date for the touched processes. Files seen for the
 * first time are built in a thread of the loader's: their processes get them at a later
 * sync. */
int unwind_loader__sync(struct unwind_loader *l);
/* Sync, wait up to timeout_s for the builds it started, sync again (a per-task record's
 * start: its processes walk with tables from the first sample). */
int unwind_loader__settle(struct unwind_loader *l, double timeout_s,
			  const volatile sig_atomic_t *stop);
/* Readable (poll) once a build finished in the loader's thread: sync then. -1: none. */
int unwind_loader__wake_fd(const struct unwind_loader *l);
/* Processes left to sync (a sync's time budget ran out): sync again soon. */
bool unwind_loader__busy(const struct unwind_loader *l);
void unwind_loader__stats(const struct unwind_loader *l, struct unwind_loader_stats *st);

#endif
