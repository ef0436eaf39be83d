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

#endif
