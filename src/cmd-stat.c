// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof stat: count events (perf stat's output, derived metrics, intervals, per-CPU,
 * JSON lines) for a command, processes or CPUs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include "cmd.h"
#include "stat.h"
#include "target.h"
#include "util.h"

static const char stat_usage[] =
	"Usage: pmuprof stat [-e LIST] [-a | -C CPUS | -p PIDS] [-- COMMAND [ARGS]]\n"
	"                    [-I MS] [-A] [-d SECONDS] [--json]\n"
	"\n"
	"Count events and print them with derived metrics (IPC, cache-miss %, branch-miss %,\n"
	"L1/LLC miss rates, TLB misses per 1k instructions). Counts are scaled when the PMU\n"
	"multiplexed them, with the share of time they ran in parentheses. Events this machine\n"
	"cannot count are listed as not supported, with the reason; the rest are counted.\n"
	"\n"
	"  -e, --event LIST   events (default: task-clock,context-switches,cpu-migrations,\n"
	"                     page-faults,cycles,instructions,branches,branch-misses);\n"
	"                     {a,b} counts a group together; uncore events (uncore_imc/\n"
	"                     cas_count_read/, skx_unc_imc0::UNC_M_CAS_COUNT:RD) per socket\n"
	"  -a, --all-cpus     system-wide (the default without a command or -p); with a\n"
	"                     command, every CPU while it runs\n"
	"  -C, --cpu LIST     these CPUs\n"
	"  -p, --pid PIDS     these processes\n"
	"  -I, --interval MS  print counts every MS milliseconds\n"
	"  -A, --no-aggr      one line per CPU\n"
	"  -d, --duration S   stop after S seconds (system-wide default: until Ctrl-C)\n"
	"      --json         JSON lines: one object per interval (docs/stat.md)\n"
	"  -h, --help         this help\n"
	"\n"
	"The exit code of COMMAND is passed through.\n"
	"\n"
	"Examples:\n"
	"  pmuprof stat -- make -j8\n"
	"  pmuprof stat -e '{cycles,instructions}',LLC-load-misses,LLC-loads -a -I 1000\n"
	"  pmuprof stat -e uncore_imc/cas_count_read/,uncore_imc/cas_count_write/ -a -d 10\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void on_child(int sig)
{
	(void)sig;
}

static bool is_clock(const struct pmu_event *e)
{
	return e->attr.type == PERF_TYPE_SOFTWARE && (e->attr.config == PERF_COUNT_SW_CPU_CLOCK ||
						      e->attr.config == PERF_COUNT_SW_TASK_CLOCK);
}

static const char *reason(const struct stat_event *e)
{
	int err = -e->err;

	if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV)
		return e->ev.hardware ? "no hardware PMU" : "not supported by this kernel";
	if (err == EACCES || err == EPERM)
		return "not permitted: root or CAP_PERFMON";
	if (err == EINVAL)
		return "rejected by the kernel (EINVAL)";
	if (err == EBUSY)
		return "counter busy";
	return strerror(err);
}

/* Combined value of the events named name (hybrid and uncore instances add up). */
static bool value_of(struct stat_session *s, const char *name, const double *vals, double *out)
{
	bool found = false;
	int i;

	*out = 0;
	for (i = 0; i < s->nr; i++) {
		const char *n = s->ev[i].ev.name, *slash;
		size_t len = strlen(name);

		/* cpu_core/cycles/ counts as cycles */
		slash = strchr(n, '/');
		if (slash && !strncmp(slash + 1, name, len) && slash[1 + len] == '/')
			n = name;
		if (!strcmp(n, name) && s->ev[i].supported) {
			*out += vals[i];
			found = true;
		}
	}
	return found;
}

struct metric {
	const char *name, *num, *den;
	double mul;
	const char *unit;
};

static const struct metric metrics[] = {
	{"ipc", "instructions", "cycles", 1, "insn per cycle"},
	{"cache_miss_pct", "cache-misses", "cache-references", 100, "% of all cache refs"},
	{"branch_miss_pct", "branch-misses", "branches", 100, "% of all branches"},
	{"l1d_miss_pct", "L1-dcache-load-misses", "L1-dcache-loads", 100,
	 "% of all L1-dcache accesses"},
	{"llc_miss_pct", "LLC-load-misses", "LLC-loads", 100, "% of all LL-cache accesses"},
	{"dtlb_mpki", "dTLB-load-misses", "instructions", 1000, "dTLB misses per 1k instructions"},
	{"itlb_mpki", "iTLB-load-misses", "instructions", 1000, "iTLB misses per 1k instructions"},
};

#define NR_METRICS (sizeof(metrics) / sizeof(metrics[0]))

static void commify(double v, char *buf, size_t sz)
{
	char tmp[64];
	int len, i, j = 0, lead;

	if (!(fabs(v) < 1e18)) {
		snprintf(buf, sz, "%.4g", v);
		return;
	}
	len = snprintf(tmp, sizeof(tmp), "%.0f", v);
	lead = len % 3;
	for (i = 0; i < len && (size_t)j + 2 < sz; i++) {
		if (i && (i - lead) % 3 == 0 && tmp[i - 1] != '-')
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = 0;
}

#define MAX_SOCKETS 64

/* Uncore: the instances of one event (uncore_imc_0..N) summed per socket. */
static int socket_sums(struct stat_session *s, int idx, double *sums)
{
	double part[MAX_SOCKETS];
	int i, k, n = 0;

	for (k = 0; k < MAX_SOCKETS; k++)
		sums[k] = 0;
	for (i = 0; i < s->nr; i++) {
		if (strcmp(s->ev[i].ev.name, s->ev[idx].ev.name) || !s->ev[i].supported)
			continue;
		k = stat_event__per_socket(&s->ev[i], part, MAX_SOCKETS);
		if (k > n)
			n = k;
		for (k = 0; k < MAX_SOCKETS; k++)
			sums[k] += part[k];
	}
	return n;
}

/* An instance after the first of its family: printed with the first. */
static bool later_instance(struct stat_session *s, int idx)
{
	int i;

	if (!s->ev[idx].ev.family[0])
		return false;
	for (i = 0; i < idx; i++)
		if (!strcmp(s->ev[i].ev.name, s->ev[idx].ev.name))
			return true;
	return false;
}

struct printer {
	bool json, per_cpu, interval;
	double elapsed; /* seconds covered by the values */
	double t;	/* interval timestamp */
	const char *target;
};

/* A rate per second as perf prints it: "106.169 /sec", "1.616 K/sec", "2.1 M/sec". */
static void print_rate(FILE *f, double per_s)
{
	static const char *const units[] = {"/sec", "K/sec", "M/sec", "G/sec"};
	size_t u = 0;

	while (fabs(per_s) >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
		per_s /= 1000;
		u++;
	}
	fprintf(f, " # %8.3f %s", per_s, units[u]);
}

/* CPU time in ms the rates are taken over: task-clock, else cpu-clock (system-wide). */
static bool clock_ms_of(struct stat_session *s, const double *vals, double *ms)
{
	unsigned long long want[] = {PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_CPU_CLOCK};
	size_t k;
	int i;

	for (k = 0; k < 2; k++) {
		bool found = false;

		*ms = 0;
		for (i = 0; i < s->nr; i++)
			if (s->ev[i].supported && s->ev[i].ev.attr.type == PERF_TYPE_SOFTWARE &&
			    s->ev[i].ev.attr.config == want[k]) {
				*ms += vals[i] / 1e6;
				found = true;
			}
		if (found)
			return true;
	}
	return false;
}

/* The name as printed: EVENT:u when it fell back to user space, as perf prints it. */
static const char *shown_name(const struct stat_event *e, char *buf, size_t sz)
{
	if (!e->user_only)
		return e->ev.name;
	snprintf(buf, sz, "%s:u", e->ev.name);
	return buf;
}

/* One event of a JSON line: value, unit, share of time counted, per socket or CPU. */
static struct json_object *event_json(struct stat_session *s, int i, const double *vals,
				      const double *pct, const struct printer *p,
				      double **per_cpu_vals)
{
	const struct stat_event *e = &s->ev[i];
	struct json_object *o = json_object_new_object(), *m;
	char name[PMU_EVENT_NAME_MAX + 4], key[16];
	int j;

	if (!o)
		return NULL;
	json__add(o, "event", json__string(shown_name(e, name, sizeof(name))));
	json__add(o, "supported", json_object_new_boolean(e->supported));
	if (!e->supported) {
		json__add(o, "reason", json__string(reason(e)));
		return o;
	}
	json__add(o, "value", json__number(vals[i], "%.6g"));
	json__add(o, "unit",
		  json__string(is_clock(&e->ev) ? "ns"
			       : e->ev.unit[0]	? e->ev.unit
						: "count"));
	json__add(o, "running_pct", json__number(pct[i], "%.2f"));
	if (e->ev.uncore) {
		double sums[MAX_SOCKETS], total = 0;
		int ns = socket_sums(s, i, sums);

		m = json_object_new_object();
		for (j = 0; m && j < ns; j++) {
			snprintf(key, sizeof(key), "%d", j);
			json__add(m, key, json__number(sums[j], "%.6g"));
			total += sums[j];
		}
		json__add(o, "per_socket", m);
		json__add(o, "value", json__number(total, "%.6g"));
	}
	if (p->per_cpu && per_cpu_vals) {
		m = json_object_new_object();
		for (j = 0; m && j < e->nr_fds; j++) {
			snprintf(key, sizeof(key), "%d", e->cpu[j]);
			json__add(m, key, json__number(per_cpu_vals[i][j], "%.6g"));
		}
		json__add(o, "per_cpu", m);
	}
	return o;
}

/* One JSON line (docs/stat.md): the interval, every event, the derived metrics. */
static void print_values_json(FILE *f, struct stat_session *s, const double *vals,
			      const double *pct, const struct printer *p, double **per_cpu_vals)
{
	struct json_object *o = json_object_new_object(), *evs, *mets;
	double n, d;
	size_t m;
	int i;

	if (!o)
		return;
	json__add(o, "interval", json__number(p->t, "%.3f"));
	json__add(o, "elapsed", json__number(p->elapsed, "%.6f"));
	json__add(o, "target", json__string(p->target));
	evs = json_object_new_array();
	for (i = 0; evs && i < s->nr; i++)
		if (!later_instance(s, i))
			json_object_array_add(evs, event_json(s, i, vals, pct, p, per_cpu_vals));
	json__add(o, "events", evs);
	mets = json_object_new_object();
	for (m = 0; mets && m < NR_METRICS; m++)
		if (value_of(s, metrics[m].num, vals, &n) &&
		    value_of(s, metrics[m].den, vals, &d) && d > 0)
			json__add(mets, metrics[m].name,
				  json__number(metrics[m].mul * n / d, "%.6g"));
	json__add(o, "metrics", mets);
	json__write_line(f, o);
}

/* Print one set of values (deltas for intervals). vals[i] are scaled values. */
static void print_values(FILE *f, struct stat_session *s, const double *vals, const double *pct,
			 const struct printer *p, double **per_cpu_vals)
{
	char num[64];
	double clock_ms = 0, v, n, d;
	bool have_clock;
	size_t m;
	int i, j;

	have_clock = clock_ms_of(s, vals, &clock_ms);
	if (p->json) {
		print_values_json(f, s, vals, pct, p, per_cpu_vals);
		return;
	}
	for (i = 0; i < s->nr; i++) {
		const struct stat_event *e = &s->ev[i];
		char prefix[32] = "", name[PMU_EVENT_NAME_MAX + 4];

		if (p->interval)
			snprintf(prefix, sizeof(prefix), "%14.6f ", p->t);
		if (later_instance(s, i))
			continue;
		if (!e->supported) {
			fprintf(f, "%s%18s      %-28s (%s)\n", prefix, "<not supported>",
				shown_name(e, name, sizeof(name)), reason(e));
			continue;
		}
		if (e->ev.uncore) {
			double sums[MAX_SOCKETS];
			int ns = socket_sums(s, i, sums), k;
			const char *unit = e->ev.unit[0] ? e->ev.unit : "";

			for (k = 0; k < ns; k++) {
				fprintf(f, "%sS%-3d %18.2f %-4s %-28s", prefix, k, sums[k], unit,
					shown_name(e, name, sizeof(name)));
				if (p->elapsed > 0)
					fprintf(f, " # %10.2f %s/s", sums[k] / p->elapsed,
						unit[0] ? unit : "");
				if (pct[i] < 99.995)
					fprintf(f, "  (%.2f%%)", pct[i]);
				fputc('\n', f);
			}
			continue;
		}
		for (j = 0; j < (p->per_cpu ? e->nr_fds : 1); j++) {
			char cpu[16] = "";

			v = p->per_cpu && per_cpu_vals ? per_cpu_vals[i][j] : vals[i];
			if (p->per_cpu && e->cpu[j] >= 0)
				snprintf(cpu, sizeof(cpu), "CPU%-4d ", e->cpu[j]);
			if (is_clock(&e->ev)) {
				fprintf(f, "%s%s%18.2f msec %-28s", prefix, cpu, v / 1e6,
					shown_name(e, name, sizeof(name)));
				if (p->elapsed > 0)
					fprintf(f, " # %8.3f CPUs utilized", v / 1e9 / p->elapsed);
			} else if (e->ev.unit[0]) {
				fprintf(f, "%s%s%18.2f %-4s %-28s", prefix, cpu, v, e->ev.unit,
					shown_name(e, name, sizeof(name)));
				if (p->elapsed > 0)
					fprintf(f, " # %10.2f %s/s", v / p->elapsed, e->ev.unit);
			} else {
				commify(v, num, sizeof(num));
				fprintf(f, "%s%s%18s      %-28s", prefix, cpu, num,
					shown_name(e, name, sizeof(name)));
				if (have_clock && clock_ms > 0 && !p->per_cpu)
					print_rate(f, v / clock_ms * 1e3);
			}
			if (pct[i] < 99.995)
				fprintf(f, "  (%.2f%%)", pct[i]);
			fputc('\n', f);
		}
	}
	for (m = 0; m < NR_METRICS; m++)
		if (value_of(s, metrics[m].num, vals, &n) &&
		    value_of(s, metrics[m].den, vals, &d) && d > 0)
			fprintf(f, "%s%18.2f      %s (%s / %s)\n",
				p->interval ? "               " : "", metrics[m].mul * n / d,
				metrics[m].unit, metrics[m].num, metrics[m].den);
}

static int parse_pid_list(const char *opt, const char *list, int **out, int *nr)
{
	char bad[64];
	int err = pid_list__parse(list, out, nr, bad, sizeof(bad));

	if (err == -EINVAL)
		fprintf(stderr, "pmuprof: stat: %s %s: '%s' is not a process ID\n", opt, list, bad);
	return err;
}

/* Every thread of each process. */
static int threads_of_all(const int *pids, int nr, int **tasks, int *nr_tasks)
{
	int i, err;

	for (i = 0; i < nr; i++) {
		err = process__threads(pids[i], tasks, nr_tasks);
		if (err == -ESRCH)
			fprintf(stderr,
				"pmuprof: stat: -p %d: no such process; check it with 'ps'\n",
				pids[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Say once that the kernel is not counted, and why (as perf's fallback to :u does). */
static void note_user_only(const struct stat_session *s)
{
	FILE *f;
	int i, paranoid = -9;

	for (i = 0; i < s->nr && !s->ev[i].user_only; i++)
		;
	if (i == s->nr)
		return;
	f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
	if (f) {
		if (fscanf(f, "%d", &paranoid) != 1)
			paranoid = -9;
		fclose(f);
	}
	fprintf(stderr, "pmuprof: stat: counting user space only (events shown as EVENT:u): the "
			"kernel is not permitted here");
	if (paranoid != -9)
		fprintf(stderr, " (kernel.perf_event_paranoid=%d)", paranoid);
	fprintf(stderr, "; run as root or with CAP_PERFMON to count it too\n");
}

/* Everything one pmuprof stat holds. */
struct stat_run {
	const char *events, *cpu_list, *pid_list;
	double interval_ms, duration, start, last;
	bool all, per_cpu, json, child_done;
	struct target_spec ts;
	char target[512];
	struct stat_session *s;
	struct pmu_event *evs;
	int *cpus, *tasks, *pids;
	int nr_cpus, nr_tasks, nr_pids, nr_evs;
	int go_fd, status;
	char *bad;
	pid_t child;
	struct rusage ru;
	/* per event: the values printed, the last reading, time running; per CPU too */
	double *vals, *prev, *pct, **pcpu, **pprev;
	struct printer pr;
};

static const struct option stat_options[] = {
	{"event", required_argument, NULL, 'e'},    {"all-cpus", no_argument, NULL, 'a'},
	{"cpu", required_argument, NULL, 'C'},	    {"pid", required_argument, NULL, 'p'},
	{"interval", required_argument, NULL, 'I'}, {"no-aggr", no_argument, NULL, 'A'},
	{"duration", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
};

/* The options and the target; -1 to go on, or the exit code. */
static int stat_run__parse(struct stat_run *r, int argc, char **argv)
{
	char why[256], *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:e:aC:p:I:Ad:h", stat_options, NULL)) != -1) {
		switch (c) {
		case 'e':
			r->events = optarg;
			break;
		case 'a':
			r->all = true;
			break;
		case 'C':
			r->cpu_list = optarg;
			break;
		case 'p':
			r->pid_list = optarg;
			break;
		case 'A':
			r->per_cpu = true;
			break;
		case 'j':
			r->json = true;
			break;
		case 'I':
			r->interval_ms = strtod(optarg, &end);
			if (*end || !(r->interval_ms >= 10) || r->interval_ms > 3600000) {
				fprintf(stderr,
					"pmuprof: stat: -I %s: give milliseconds, at least 10\n",
					optarg);
				return EXIT_BAD_INPUT;
			}
			break;
		case 'd':
			r->duration = strtod(optarg, &end);
			if (*end || !(r->duration > 0)) {
				fprintf(stderr,
					"pmuprof: stat: -d %s: give a positive number of seconds\n",
					optarg);
				return EXIT_BAD_INPUT;
			}
			break;
		case 'h':
			fputs(stat_usage, stdout);
			return 0;
		default:
			return cmd_option_error("stat", c, argv, stat_options);
		}
	}
	r->ts.all_cpus = r->all;
	r->ts.cpu_list = r->cpu_list;
	r->ts.pid_list = r->pid_list;
	r->ts.cmd = optind < argc ? &argv[optind] : NULL;
	if (target_spec__validate(&r->ts,
				  TARGET_CPUS | TARGET_CPU_LIST | TARGET_PIDS | TARGET_CMD |
					  TARGET_CPUS_WHILE_CMD,
				  why, sizeof(why))) {
		fprintf(stderr, "pmuprof: stat: %s\n", why);
		return EXIT_BAD_INPUT;
	}
	target_spec__describe(&r->ts, r->target, sizeof(r->target));
	return -1;
}

/* Events, CPUs and processes; 0 or an exit code. */
static int stat_run__targets(struct stat_run *r)
{
	char why[256];

	if (pmu_events__parse_list(r->events, &r->evs, &r->nr_evs, &r->bad, why, sizeof(why))) {
		fprintf(stderr, "pmuprof: stat: -e %s: '%s': %s; see 'pmuprof list'\n", r->events,
			r->bad ? r->bad : "", why);
		return EXIT_BAD_INPUT;
	}
	if (r->cpu_list) {
		if (pmu_cpus__parse(r->cpu_list, &r->cpus, &r->nr_cpus)) {
			fprintf(stderr, "pmuprof: stat: -C %s: not a CPU list (e.g. -C 0-3,8)\n",
				r->cpu_list);
			return EXIT_BAD_INPUT;
		}
	} else if (pmu_cpus__online(&r->cpus, &r->nr_cpus)) {
		fprintf(stderr, "pmuprof: stat: cannot read the online CPUs\n");
		return 1;
	}
	if (r->pid_list) {
		if (parse_pid_list("-p", r->pid_list, &r->pids, &r->nr_pids) ||
		    threads_of_all(r->pids, r->nr_pids, &r->tasks, &r->nr_tasks))
			return EXIT_BAD_INPUT;
	}
	return 0;
}

/* -- COMMAND: started paused, counted itself unless CPUs are; 0 or an exit code. */
static int stat_run__launch(struct stat_run *r, char **cmd)
{
	char *path = command__find(cmd[0]);

	if (!path) {
		fprintf(stderr, "pmuprof: stat: %s: command not found\n", cmd[0]);
		return EXIT_BAD_INPUT;
	}
	r->child = command__launch_paused(cmd, path, &r->go_fd, false);
	free(path);
	if (r->child < 0) {
		fprintf(stderr, "pmuprof: stat: %s: cannot start: %s\n", cmd[0],
			strerror(-r->child));
		return 1;
	}
	/* With -a or -C the command only sets how long: the CPUs are counted while it runs. */
	if (!target_spec__system_wide(&r->ts)) {
		r->tasks = malloc(sizeof(int));
		if (!r->tasks)
			return 1;
		r->tasks[0] = r->child;
		r->nr_tasks = 1;
	}
	return 0;
}

static double *zeros(size_t n)
{
	return calloc(n ? n : 1, sizeof(double));
}

/* The counters opened (at least one countable) and the value arrays; 0 or an exit code. */
static int stat_run__open(struct stat_run *r)
{
	struct stat_opts so = {.sz = sizeof(so)};
	struct stat_session *s;
	int i, nr_supported = 0;

	so.events = r->evs;
	so.nr_events = r->nr_evs;
	so.cpus = r->cpus;
	so.nr_cpus = r->nr_cpus;
	so.tasks = r->tasks;
	so.nr_tasks = r->nr_tasks;
	so.inherit = true;
	so.enable_on_exec = r->child > 0;
	s = r->s = stat__new(&so);
	if (!s) {
		fprintf(stderr, "pmuprof: stat: cannot open the events: %s\n", strerror(errno));
		return 1;
	}
	note_user_only(s);
	for (i = 0; i < s->nr; i++)
		nr_supported += s->ev[i].supported;
	if (!nr_supported && s->nr) {
		fprintf(stderr, "pmuprof: stat: none of the events can be counted here (%s: %s)\n",
			s->ev[0].ev.name, reason(&s->ev[0]));
		return EXIT_BAD_INPUT;
	}
	r->vals = calloc(s->nr, sizeof(double));
	r->prev = calloc(s->nr, sizeof(double));
	r->pct = calloc(s->nr, sizeof(double));
	r->pcpu = calloc(s->nr, sizeof(double *));
	r->pprev = calloc(s->nr, sizeof(double *));
	if (!r->vals || !r->prev || !r->pct || !r->pcpu || !r->pprev)
		return 1;
	for (i = 0; i < s->nr; i++) {
		r->pcpu[i] = zeros(s->ev[i].nr_fds);
		r->pprev[i] = zeros(s->ev[i].nr_fds);
		if (!r->pcpu[i] || !r->pprev[i])
			return 1;
	}
	return 0;
}

/* -I: the deltas since the last interval, printed. */
static void stat_run__interval(struct stat_run *r, double t)
{
	struct stat_session *s = r->s;
	int i, j;

	if (stat__read(s))
		return;
	for (i = 0; i < s->nr; i++) {
		double cur = s->ev[i].scaled;

		r->vals[i] = cur - r->prev[i];
		r->prev[i] = cur;
		r->pct[i] = stat_count__running_pct(&s->ev[i].total);
		for (j = 0; j < s->ev[i].nr_fds; j++) {
			double cur_fd = stat_count__scaled(&s->ev[i].per_fd[j]) * s->ev[i].ev.scale;

			r->pcpu[i][j] = cur_fd - r->pprev[i][j];
			r->pprev[i][j] = cur_fd;
		}
	}
	r->pr.interval = true;
	r->pr.t = t - r->start;
	r->pr.elapsed = t - r->last;
	print_values(stdout, s, r->vals, r->pct, &r->pr, r->pcpu);
	fflush(stdout);
}

/* Until a signal, -d or the command's exit; intervals printed on the way. */
static void stat_run__loop(struct stat_run *r)
{
	double interval_s = r->interval_ms / 1000;

	while (!stop) {
		double t, wait = r->interval_ms ? interval_s : 0.05;

		if (r->child > 0 && !r->child_done) {
			if (wait4(r->child, &r->status, WNOHANG, &r->ru) == r->child)
				r->child_done = true;
		}
		t = clock__monotonic();
		if (r->child_done || (r->duration && t - r->start >= r->duration))
			break;
		if (r->interval_ms && t - r->last >= interval_s - 1e-3) {
			stat_run__interval(r, t);
			r->last = t;
		}
		usleep((useconds_t)(fmin(wait, 0.05) * 1e6));
	}
}

/* The totals (or the last, partial interval) and the times; 0 or an exit code. */
static int stat_run__print_final(struct stat_run *r)
{
	struct stat_session *s = r->s;
	int i, j;

	stat__disable(s);
	if (stat__read(s)) {
		fprintf(stderr, "pmuprof: stat: reading the counters failed: %s\n",
			strerror(errno));
		return 1;
	}
	for (i = 0; i < s->nr; i++) {
		r->vals[i] = r->interval_ms ? s->ev[i].scaled - r->prev[i] : s->ev[i].scaled;
		r->pct[i] = stat_count__running_pct(&s->ev[i].total);
		for (j = 0; j < s->ev[i].nr_fds; j++)
			r->pcpu[i][j] =
				stat_count__scaled(&s->ev[i].per_fd[j]) * s->ev[i].ev.scale -
				(r->interval_ms ? r->pprev[i][j] : 0);
	}
	r->pr.elapsed = clock__monotonic() - (r->interval_ms ? r->last : r->start);
	r->pr.t = clock__monotonic() - r->start;
	if (!r->json && !r->interval_ms)
		printf("\n Performance counter stats for '%s':\n\n", r->target);
	r->pr.interval = r->interval_ms > 0;
	print_values(stdout, s, r->vals, r->pct, &r->pr, r->pcpu);
	if (!r->json) {
		printf("\n%18.9f seconds time elapsed\n", clock__monotonic() - r->start);
		if (r->child_done)
			printf("\n%18.9f seconds user\n%18.9f seconds sys\n",
			       r->ru.ru_utime.tv_sec + r->ru.ru_utime.tv_usec / 1e6,
			       r->ru.ru_stime.tv_sec + r->ru.ru_stime.tv_usec / 1e6);
		printf("\n");
	}
	fflush(stdout);
	return 0;
}

/* Enable, release the command, count until the end, print; 0 or an exit code. */
static int stat_run__count(struct stat_run *r)
{
	if (stat__enable(r->s)) {
		fprintf(stderr, "pmuprof: stat: cannot enable the events: %s\n", strerror(errno));
		return 1;
	}
	r->start = r->last = clock__monotonic();
	if (r->child > 0) {
		if (write(r->go_fd, "x", 1) != 1)
			return 1;
		close(r->go_fd);
		r->go_fd = -1;
	}
	r->pr.json = r->json;
	r->pr.per_cpu = r->per_cpu;
	r->pr.target = r->target;
	stat_run__loop(r);
	return stat_run__print_final(r);
}

static void stat_run__exit(struct stat_run *r)
{
	int i;

	if (r->go_fd >= 0)
		close(r->go_fd);
	if (r->child > 0 && !r->child_done)
		command__stop(r->child, SIGTERM, 2.0, &r->status);
	for (i = 0; r->pcpu && r->s && i < r->s->nr; i++)
		free(r->pcpu[i]);
	for (i = 0; r->pprev && r->s && i < r->s->nr; i++)
		free(r->pprev[i]);
	free(r->pcpu);
	free(r->pprev);
	free(r->pct);
	free(r->prev);
	free(r->vals);
	stat__free(r->s);
	free(r->bad);
	free(r->evs);
	free(r->cpus);
	free(r->pids);
	free(r->tasks);
}

int cmd_stat(int argc, char **argv)
{
	struct stat_run r = {
		.events = "task-clock,context-switches,cpu-migrations,page-faults,cycles,"
			  "instructions,branches,branch-misses",
		.go_fd = -1,
		.child = -1,
	};
	int ret = stat_run__parse(&r, argc, argv);

	if (ret >= 0)
		return ret;
	ret = stat_run__targets(&r);
	if (ret)
		goto out;
	signals__install(on_signal, on_child);
	if (r.ts.cmd)
		ret = stat_run__launch(&r, r.ts.cmd);
	if (!ret)
		ret = stat_run__open(&r);
	if (!ret)
		ret = stat_run__count(&r);
	if (!ret && r.child_done)
		ret = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
out:
	stat_run__exit(&r);
	return ret;
}
