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

#define PMU_EVENT_NAME_MAX 128
#define PMU_MAX_CPUS	   1024

/* CPUs an event may be opened on (hybrid core PMUs, uncore PMUs); unset = any. */
struct pmu_cpumask {
	bool set;
	unsigned long long bits[PMU_MAX_CPUS / 64];
};

bool pmu_cpumask__has(const struct pmu_cpumask *mask, int cpu);

struct pmu_event {
	char name[PMU_EVENT_NAME_MAX]; /* as given (generic names canonical), shown in output */
	char encoding[256];	       /* fully qualified form (libpfm4's, or the sysfs terms) */
	char pmu[64];		       /* sysfs PMU name when known ("cpu_core", "uncore_imc_0") */
	struct perf_event_attr attr;
	struct pmu_cpumask cpumask;
	bool hardware;		   /* needs a hardware PMU */
	bool uncore;		   /* an uncore PMU: counts, cannot sample */
	bool has_period, has_freq; /* the spec itself set the sampling */
	int precise_wanted;	   /* precise_ip asked for, when it had to be lowered */
	int group;		   /* {a,b}: members share a number (1, 2...); 0 alone */
	bool leader;		   /* first member of its group */
	double scale;		   /* sysfs NAME.scale (uncore: CAS count → MiB), else 1 */
	char unit[16];		   /* sysfs NAME.unit, "" when none */
	char family[64];	   /* "uncore_imc" for PMU uncore_imc_N: one event per instance */
};

/* The CPU package (socket) of a CPU, from sysfs topology; 0 when unknown. */
int pmu_cpu__socket(int cpu);

/*
 * Parse one event spec: a generic perf name (cycles, LLC-load-misses, cpu-clock...),
 * a raw rUMASKEVENT, PMU/terms/ (sysfs), each with optional :u :k :p :pp :ppp, or a
 * libpfm4 name with its modifiers (INST_RETIRED:ANY_P:u, icl::MEM_LOAD_RETIRED:L3_MISS,
 * MEM_LOAD_RETIRED.L3_MISS, :period= :freq= :c= :i :e :precise=). On error returns a
 * negative errno (-ENOENT unknown, -EINVAL malformed) and, when err is given, a one-line
 * reason in it.
 */
int pmu_event__parse_spec(const char *spec, struct pmu_event *ev, char *err, size_t errsz);
/* Same, without the reason. */
int pmu_event__parse(const char *spec, struct pmu_event *ev);

/* Up to max closest known event names to an unknown one, by edit distance. */
int pmu_event__suggest(const char *spec, char (*out)[PMU_EVENT_NAME_MAX], int max);

/* The generic perf event names (hardware, cache, software), NULL-terminated. */
const char *const *pmu_events__generic_names(void);

/* Is this a hybrid system (cpu_core/cpu_atom PMUs)? */
bool pmu__is_hybrid(void);

/* libpfm4: initialize once (honours LIBPFM_ENCODE_INACTIVE=1). 0 or negative errno. */
int pmu_pfm__init(void);

struct pmu_list_entry {
	char name[PMU_EVENT_NAME_MAX];
	char desc[160];
	const char *source; /* "generic", "libpfm4", "sysfs" */
	char pmu[64];
	bool present; /* the PMU is on this machine */
};

/* Every event pmuprof knows: generic, libpfm4 (PMUs present, or all with all_pmus),
 * sysfs named events. Free with free(). */
int pmu_events__list(bool all_pmus, struct pmu_list_entry **out, int *nr);

/* sysfs PMU discovery (root: $PMUPROF_SYSFS, default /sys). */
const char *pmu_sysfs__root(void);
int pmu_sysfs__list(char ***names, int *nr);
int pmu_sysfs__events(const char *pmu, char ***names, int *nr);
void pmu_names__free(char **names, int nr);

/*
 * Split a comma-separated list (commas inside /.../ or {...} belong to the event) and
 * parse each; on a hybrid system a generic hardware event becomes one event per core
 * PMU (cpu_core/cycles/, cpu_atom/cycles/). On error, *bad points at a malloc'd copy of
 * the offending item (free it) and err (if given) holds the reason.
 */
int pmu_events__parse_list(const char *list, struct pmu_event **evs, int *nr, char **bad, char *err,
			   size_t errsz);

/* Sampling: exactly one of freq (Hz) or period is non-zero. A period or frequency the
 * spec itself gave (:period=, :freq=, period= in PMU/.../) is kept. */
void pmu_event__set_sampling(struct pmu_event *ev, unsigned long freq, unsigned long period);

/* The software event used when no hardware PMU is available. */
void pmu_event__cpu_clock(struct pmu_event *ev, unsigned long freq);

/* perf_event_open() of attr (its size set), close-on-exec: an fd or a negative errno. */
int pmu_attr__open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd);

/* perf_event_open(); returns an fd or a negative errno. */
int pmu_event__open(const struct pmu_event *ev, pid_t pid, int cpu, int group_fd);

/*
 * perf_event_open() that adapts, perf-style: EINVAL with precise_ip retries with lower
 * precision (ev->precise_wanted remembers what was asked), EMFILE raises the soft
 * RLIMIT_NOFILE to the hard limit once and retries. Returns an fd or a negative errno.
 */
int pmu_event__open_adjust(struct pmu_event *ev, pid_t pid, int cpu, int group_fd);

/* "type=4 config=0xc0 config1=0x0 ..." for --details and the summary. */
const char *pmu_event__describe(const struct pmu_event *ev, char *buf, size_t sz);

/* Does this open error mean "there is no PMU for this event here"? */
bool pmu_errno__is_no_pmu(int err);

/* Try to open the event on the calling task, then close it; lowers precise_ip like
 * pmu_event__open_adjust() does. 0 or a negative errno. */
int pmu_event__probe(struct pmu_event *ev);

/* What pmu_events__fallback() did. */
struct pmu_fallback {
	int nr_dropped; /* hardware events that cannot be opened here */
	char dropped[8][PMU_EVENT_NAME_MAX];
	int err;	      /* the first such open error (negative errno) */
	bool added_cpu_clock; /* nothing was left: cpu-clock replaced them */
	int failed;	      /* index of an event that failed otherwise, or -1 */
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
const char *pmu_event__open_strerror(int err, const struct pmu_event *ev, char *buf, size_t sz);

/* The errno symbol (ENOENT, EACCES, ...) or "E?". */
const char *pmu_errno__name(int err);

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
bool pmu_perf_link__supported(void);

/*
 * Attach prog_fd to perf event pfd. With LINK, returns a link fd (cookie set) that
 * keeps the attachment; with IOCTL, returns 0 (the perf fd keeps it). Negative errno
 * on failure. The event is not enabled.
 */
int pmu_bpf__attach(int pfd, int prog_fd, enum pmu_attach_mode mode, unsigned long long cookie);

/* ---- CPUs ---- */
/* Parse "0-3,8,10-11" into a sorted, de-duplicated array. -EINVAL on bad syntax. */
int pmu_cpus__parse(const char *s, int **cpus, int *nr);
/* The online CPUs, from <sysfs>/devices/system/cpu/online. */
int pmu_cpus__online(int **cpus, int *nr);

#endif
