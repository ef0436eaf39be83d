/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting: events opened per CPU or per task with time_enabled/time_running, read and
 * scaled for multiplexing; events the machine cannot count are kept with the reason.
 * Uncore events are counted system-wide on their PMU's cpumask (one CPU per socket).
 */
#ifndef PMUPROF_STAT_H
#define PMUPROF_STAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "pmu/pmu.h"

struct stat_opts {
	size_t sz;
	const struct pmu_event *events;
	int nr_events;
	const int *cpus; /* system-wide on these when nr_tasks is 0 */
	int nr_cpus;
	const pid_t *tasks;
	int nr_tasks;
	bool inherit;
	bool enable_on_exec;
};

/* One reading: raw value and times, and the value scaled for multiplexing. */
struct stat_count {
	uint64_t value, enabled, running;
};

/* value × enabled / running (the estimate perf prints); 0 when it never ran. */
double stat_count__scaled(const struct stat_count *c);
/* Percentage of the enabled time the counter was on the PMU (100 without multiplexing). */
double stat_count__running_pct(const struct stat_count *c);

struct stat_event {
	struct pmu_event ev;
	bool supported;
	bool user_only; /* fell back to user space (:u): the kernel is not ours to count */
	int err;	/* negative errno when not supported */
	int nr_fds;
	int *fds;
	int *cpu;		 /* per fd: the CPU (or -1 for a task) */
	struct stat_count total; /* summed over fds, raw */
	double scaled;		 /* summed scaled values × the sysfs scale */
	struct stat_count *per_fd;
};

struct stat_session {
	struct stat_event *ev;
	int nr;
	bool enable_on_exec;
};

/*
 * The CPUs a system-wide event is opened on: an uncore event's PMU cpumask (one CPU per
 * socket), else the given CPUs that the event's PMU covers (hybrid). Returns how many.
 */
int stat_event__cpus(const struct pmu_event *ev, const int *cpus, int nr, int *out, int max);

/*
 * Sum an event's scaled per-CPU values by socket (uncore: all instances of a socket add
 * up). out[socket] for sockets below max; returns the number of sockets seen (highest+1).
 */
int stat_event__per_socket(const struct stat_event *e, double *out, int max);

struct stat_session *stat__new(const struct stat_opts *o);
void stat__free(struct stat_session *s);
int stat__enable(struct stat_session *s);
int stat__disable(struct stat_session *s);
/* Read every fd: totals, per-fd values, scaled sums. */
int stat__read(struct stat_session *s);

#endif
