/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address-space tracking: a dummy software event per CPU delivers the kernel's
 * mmap/comm/fork/exit records, which keep the symbolizer's model of every process
 * current, including processes that exit before the record ends.
 */
#ifndef PMUPROF_TRACKER_H
#define PMUPROF_TRACKER_H

#include <stdint.h>
#include "symbolize/symbolize.h"

struct tracker;

/* Open a tracking event on each CPU. NULL + errno on failure. */
struct tracker *tracker__new(const int *cpus, int nr_cpus, struct aspaces *as);
void tracker__free(struct tracker *t);
int tracker__enable(struct tracker *t);
/* Read and apply every pending record. Returns the number applied or a negative errno. */
int tracker__process(struct tracker *t);
/*
 * Apply only the records of pid and of the processes it forks from now on (and theirs),
 * as the per-task events of -p and of a launched command sample them: on a busy machine
 * the others' records cost more than the rest of the record. Called before the first
 * tracker__process(); 0 or -ENOMEM.
 */
int tracker__follow(struct tracker *t, pid_t pid);
/* Call fn with the pid of every record applied (mmap, exec, fork, exit). */
void tracker__on_change(struct tracker *t, void (*fn)(void *ctx, pid_t pid), void *ctx);
/* Records the kernel dropped because a ring was full: counted by the kernel as they are
 * dropped (Linux 6.0 and later), else as its LOST records come. */
uint64_t tracker__lost(const struct tracker *t);
/* For poll(): the fds of the ring buffers. */
int tracker__fds(const struct tracker *t, int *fds, int max);

#endif
