/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collectors: the profiler is one of several things that can run together. Each declares
 * what it needs; the registry checks the needs against the machine and says why a
 * collector cannot run without stopping the others.
 */
#ifndef PMUPROF_COLLECTOR_H
#define PMUPROF_COLLECTOR_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

enum collector_need {
	NEED_PERF = 1 << 0,	  /* root or CAP_PERFMON (perf events) */
	NEED_BPF = 1 << 1,	  /* root or CAP_BPF */
	NEED_CORE_PMU = 1 << 2,	  /* a hardware PMU on the cores */
	NEED_UNCORE_PMU = 1 << 3, /* an uncore memory-controller PMU */
	NEED_BTF = 1 << 4,	  /* kernel BTF */
};

/* What this machine can do, probed once. */
struct machine_caps {
	bool perf, bpf, btf, perf_link;
	bool core_pmu;
	char core_pmu_name[128]; /* "cpu", "cpu_core,cpu_atom", "armv8_pmuv3_0" or "" */
	bool uncore_pmu;
	char uncore_pmus[512]; /* comma-separated sysfs uncore PMUs */
	char imc_event[128];   /* a memory-bandwidth event, when there is one */
	int paranoid, kptr_restrict, nmi_watchdog;
	unsigned long long cap_eff;
	char kernel[128];
};

int machine_caps__probe(struct machine_caps *mc);

struct collector_ctx {
	const char *dir;   /* output directory; NULL: no files (values() only) */
	double interval_s; /* sampling interval of the counting collectors */
	const struct machine_caps *caps;
	/* The profile and the per-task counters follow these threads (and their children)
	 * when nr_tasks > 0; system-wide otherwise. */
	const pid_t *tasks;
	int nr_tasks;
};

struct collector {
	const char *name;
	const char *description;
	unsigned int needs;
	const char *mode; /* how it collects, for doctor and index.json */
	/* start: open what is needed; collect: one interval at time t (s since start);
	 * stop: finish and write the outputs. Negative errno on failure; errbuf says why. */
	int (*start)(void **state, const struct collector_ctx *ctx, char *errbuf, size_t sz);
	int (*collect)(void *state, double t);
	int (*stop)(void *state, const struct collector_ctx *ctx, char *outputs, size_t sz);
	/*
	 * The values now, cumulative where they count (events, CPU time) or current (memory),
	 * in base units; name says the unit ("user_seconds", "MemFree_bytes", "cycles").
	 * A name "socketN/NAME" is NAME on socket N (uncore). NULL for the profile. Negative
	 * errno when reading failed.
	 */
	int (*values)(void *state, void (*emit)(void *arg, const char *name, double value),
		      void *arg);
};

/* Every collector, NULL-terminated. */
const struct collector *const *collectors__all(void);
const struct collector *collectors__find(const char *name);
/* NULL when the collector can run here, else the reason. */
const char *collector__unmet(const struct collector *c, const struct machine_caps *mc, char *buf,
			     size_t sz);

#endif
