/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Oracles for counter tests: workloads whose event counts are known in advance (loops in
 * assembly where exactness matters), and helpers to count a workload with perf_event_open.
 * Shared by the hardware suite (hwtests/) and the default suite, which runs the same code
 * on software events.
 */
#ifndef PMUPROF_ORACLE_H
#define PMUPROF_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "pmu/pmu.h"

/* Exactly 2 × iterations user instructions and iterations conditional branches
 * (x86-64: dec + jnz; aarch64: subs + b.ne). */
void oracle_loop(uint64_t iterations);
bool oracle_loop_exact(void); /* false on machines without the assembly loop */

/* n conditional branches decided by the bits of seed-driven random numbers (taken or not
 * with probability 1/2), or always taken when predictable. Returns a checksum. */
uint64_t oracle_branches(uint64_t n, uint64_t seed, bool predictable);

/* One load per element of a random cyclic permutation over bytes/stride slots. */
struct chase {
	void **slots;
	size_t n;
};
int chase__init(struct chase *c, size_t bytes, size_t stride, uint64_t seed);
void *chase__run(const struct chase *c, size_t loads);
void chase__free(struct chase *c);

/* A chase and its number of loads, for oracle_count(): chase_run__fn(&run). */
struct chase_run {
	struct chase c;
	size_t loads;
};
void chase_run__fn(void *run);

/* Touch pages fresh anonymous pages: one fault each. */
int oracle_touch_pages(size_t pages);

/* Spin for seconds of CPU time in a function of its own. */
void oracle_busy(double seconds);

/* Count ev (user-space only when user_only) around fn(arg) on this thread. */
struct oracle_count {
	uint64_t value, enabled, running;
	int err; /* negative errno when the event could not be opened */
};
void oracle_count(const char *event, bool user_only, void (*fn)(void *), void *arg,
		  struct oracle_count *out);

/* Cache sizes from sysfs (<root>/devices/system/cpu/cpu0/cache/index*): bytes, 0 unknown. */
size_t oracle_cache_size(int level, const char *type);

/* Is there a hardware PMU (cycles opens)? */
bool oracle_have_pmu(void);

/* Print "name: measured X, expected Y (tolerance)" for the report. */
void oracle_report(const char *name, double measured, const char *expected);

#endif

#if defined(__x86_64__)
void *oracle_chase_asm(void **p, size_t loads);
extern const char oracle_chase_load[]; /* address of the chase's load instruction */
#endif

/* Run "pmuprof ARGS..." (PMUPROF_BIN), capture stderr into buf; returns the exit code. */
int oracle_pmuprof(char *buf, size_t sz, const char *const *args);
/* Samples of a folded file's stacks whose leaf is frame (or that contain it). */
long oracle_folded_samples(const char *path, const char *frame, bool leaf);
/* A number after "label" in text (e.g. "samples:    "), or -1. */
double oracle_find_number(const char *text, const char *label);
