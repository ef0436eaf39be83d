/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What record, stat and collect look at, as perf's target: all CPUs (or some), processes,
 * threads, or a command they launch. One place validates the choice and names it.
 */
#ifndef PMUPROF_TARGET_H
#define PMUPROF_TARGET_H

#include <stdbool.h>
#include <stddef.h>

struct target_spec {
	bool all_cpus;	      /* -a */
	const char *cpu_list; /* -C: narrows -a */
	const char *pid_list; /* -p */
	const char *tid_list; /* -t */
	char **cmd;	      /* after -- */
};

/* The targets a command offers, for the message that lists them. */
enum target_kind {
	TARGET_CPUS = 1 << 0, /* -a and -C */
	TARGET_CPU_LIST = 1 << 1,
	TARGET_PIDS = 1 << 2,
	TARGET_TIDS = 1 << 3,
	TARGET_CMD = 1 << 4,
	/* -a or -C with a command: those CPUs while the command runs (perf stat -a -- CMD) */
	TARGET_CPUS_WHILE_CMD = 1 << 5,
};

/*
 * 0 when at most one target is given (-a with -C counts as one, and so does a command
 * with either when offered has TARGET_CPUS_WHILE_CMD); else -EINVAL and buf holds the
 * one-line message, naming the targets in offered.
 */
int target_spec__validate(const struct target_spec *t, unsigned int offered, char *buf, size_t sz);

/* perf stat's words: "system wide", "CPU(s) 0-3", "process id '12'", "thread id '34'",
 * or the command line. */
void target_spec__describe(const struct target_spec *t, char *buf, size_t sz);

/* True when the target is the whole system or some CPUs (no task), a command or not. */
bool target_spec__system_wide(const struct target_spec *t);

/*
 * The processes of -p (or the threads of -t), watched so that a record or a count ends
 * when all of them have exited, as perf's does. pidfds where the kernel has them (5.3+;
 * threads 6.9+): they signal an exit even while the process is a zombie, and a reused pid
 * cannot be mistaken for the process.
 */
struct target_watch {
	int *fds; /* -1: no pidfd, probed with kill(id, 0) */
	int *ids;
	int nr;
};

/* Start watching ids (threads: TIDs, else PIDs); one already gone counts as exited. */
int target_watch__init(struct target_watch *w, const int *ids, int nr, bool threads);
/* True once every watched process (thread) has exited; false when nothing is watched. */
bool target_watch__ended(const struct target_watch *w);
void target_watch__exit(struct target_watch *w);

#endif
