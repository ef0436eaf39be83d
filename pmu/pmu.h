/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Event specs → perf_event_attr, opening events per CPU or per task, attaching BPF
 * programs, and turning open errors into advice.
 */
#ifndef PMUPROF_PMU_H
#define PMUPROF_PMU_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/perf_event.h>

#define PMU_EVENT_NAME_MAX 64

struct pmu_event {
	char name[PMU_EVENT_NAME_MAX]; /* canonical name, as shown in output */
	struct perf_event_attr attr;
	bool hardware;		       /* needs a hardware PMU */
};

/* Parse one event name (generic perf names). -ENOENT when unknown, -EINVAL when empty. */
int pmu_event__parse(const char *spec, struct pmu_event *ev);

/*
 * Split a comma-separated list (commas inside /.../ or {...} belong to the event) and
 * parse each. On error, *bad points at a malloc'd copy of the offending item (free it).
 */
int pmu_events__parse_list(const char *list, struct pmu_event **evs, int *nr, char **bad);

/* Sampling: exactly one of freq (Hz) or period is non-zero. */
void pmu_event__set_sampling(struct pmu_event *ev, unsigned long freq, unsigned long period);

/* The software event used when no hardware PMU is available. */
void pmu_event__cpu_clock(struct pmu_event *ev, unsigned long freq);

/* perf_event_open(); returns an fd or a negative errno. */
int pmu_event__open(const struct pmu_event *ev, pid_t pid, int cpu, int group_fd);

/* Does this open error mean "there is no PMU for this event here"? */
bool pmu_err_is_no_pmu(int err);

/* Try to open the event on the calling task, then close it. 0 or a negative errno. */
int pmu_event__probe(const struct pmu_event *ev);

/* What pmu_events__fallback() did. */
struct pmu_fallback {
	int nr_dropped;		       /* hardware events that cannot be opened here */
	char dropped[8][PMU_EVENT_NAME_MAX];
	int err;		       /* the first such open error (negative errno) */
	bool added_cpu_clock;	       /* nothing was left: cpu-clock replaced them */
	int failed;		       /* index of an event that failed otherwise, or -1 */
};

/*
 * Probe every event. Hardware events that fail because there is no PMU are dropped;
 * if none is left, one cpu-clock event at freq Hz takes their place. With allow false
 * a missing PMU is an error (-ENOENT-like errno returned, fb says which). Any other
 * probe failure returns its negative errno with fb->failed set. *nr may shrink; evs
 * must have room for at least one event.
 */
int pmu_events__fallback(struct pmu_event *evs, int *nr, unsigned long freq, bool allow,
			 struct pmu_fallback *fb);

/* Advice for a failed open, perf-style; writes into buf and returns it. */
const char *pmu_open_strerror(int err, const struct pmu_event *ev, char *buf, size_t sz);

/* The errno symbol (ENOENT, EACCES, ...) or "E?". */
const char *pmu_errno_name(int err);

/* ---- attach ---- */
enum pmu_attach_mode {
	PMU_ATTACH_AUTO = 0,
	PMU_ATTACH_LINK,
	PMU_ATTACH_IOCTL,
};

const char *pmu_attach_mode__name(enum pmu_attach_mode mode);
/* "auto", "link", "ioctl" → mode; -EINVAL otherwise. */
int pmu_attach_mode__parse(const char *s, enum pmu_attach_mode *mode);

/* Can this kernel attach BPF to perf events through a bpf_link (5.15+)? */
bool pmu_perf_link_supported(void);

/*
 * Attach prog_fd to perf event pfd. With LINK, returns a link fd (cookie set) that
 * keeps the attachment; with IOCTL, returns 0 (the perf fd keeps it). Negative errno
 * on failure. The event is not enabled.
 */
int pmu_attach_bpf(int pfd, int prog_fd, enum pmu_attach_mode mode, unsigned long long cookie);

/* ---- CPUs ---- */
/* Parse "0-3,8,10-11" into a sorted, de-duplicated array. -EINVAL on bad syntax. */
int cpulist__parse(const char *s, int **cpus, int *nr);
/* The online CPUs, from <sysfs>/devices/system/cpu/online. */
int cpus__online(int **cpus, int *nr);

#endif
