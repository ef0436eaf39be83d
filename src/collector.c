// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <json-c/json.h>
#include "collector.h"
#include "flamegraph/flamegraph.h"
#include "record.h"
#include "stat.h"
#include "util.h"
#include "atomic-file.h"

/* ---- machine capabilities ---- */

static int read_int(const char *path, int dflt)
{
	FILE *f = fopen(path, "re");
	int v = dflt;

	if (!f)
		return dflt;
	if (fscanf(f, "%d", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

int machine_caps__probe(struct machine_caps *mc)
{
	struct pmu_event ev;
	struct utsname u;
	char **pmus = NULL, line[256];
	int nr = 0, i;
	FILE *f;

	memset(mc, 0, sizeof(*mc));
	if (!uname(&u))
		snprintf(mc->kernel, sizeof(mc->kernel), "%.40s %.80s", u.sysname, u.release);
	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapEff: %llx", &mc->cap_eff) == 1)
				break;
		fclose(f);
	}
	/* CAP_SYS_ADMIN 21, CAP_PERFMON 38, CAP_BPF 39 */
	mc->perf = mc->cap_eff & ((1ULL << 21) | (1ULL << 38));
	mc->bpf = mc->cap_eff & ((1ULL << 21) | (1ULL << 39));
	mc->paranoid = read_int("/proc/sys/kernel/perf_event_paranoid", 2);
	mc->kptr_restrict = read_int("/proc/sys/kernel/kptr_restrict", 1);
	mc->nmi_watchdog = read_int("/proc/sys/kernel/nmi_watchdog", 0);
	mc->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	mc->perf_link = mc->bpf && pmu_perf_link__supported();
	if (!pmu_sysfs__list(&pmus, &nr)) {
		for (i = 0; i < nr; i++) {
			const char *p = pmus[i];
			char *dst = NULL;
			size_t cap = 0;

			if (!strcmp(p, "cpu") || !strcmp(p, "cpu_core") || !strcmp(p, "cpu_atom") ||
			    !strncmp(p, "armv8_", 6) || !strncmp(p, "armv7_", 6)) {
				dst = mc->core_pmu_name;
				cap = sizeof(mc->core_pmu_name);
			} else if (!strncmp(p, "uncore", 6) || !strncmp(p, "amd_df", 6) ||
				   !strncmp(p, "amd_umc", 7)) {
				dst = mc->uncore_pmus;
				cap = sizeof(mc->uncore_pmus);
				if (!mc->imc_event[0] && !strncmp(p, "uncore_imc", 10)) {
					char probe[160];

					snprintf(probe, sizeof(probe), "%s/cas_count_read/", p);
					if (!pmu_event__parse(probe, &ev))
						snprintf(mc->imc_event, sizeof(mc->imc_event),
							 "uncore_imc/cas_count_read/,uncore_imc/"
							 "cas_count_write/");
				}
			}
			if (dst && strlen(dst) + strlen(p) + 2 < cap)
				snprintf(dst + strlen(dst), cap - strlen(dst), "%s%s",
					 *dst ? "," : "", p);
		}
		pmu_names__free(pmus, nr);
	}
	mc->uncore_pmu = mc->uncore_pmus[0] != 0;
	/* A core PMU in sysfs is not enough (some VMs show one): cycles must open. */
	pmu_event__parse("cycles", &ev);
	mc->core_pmu = pmu_event__probe(&ev) == 0;
	return 0;
}

const char *collector__unmet(const struct collector *c, const struct machine_caps *mc, char *buf,
			     size_t sz)
{
	if ((c->needs & NEED_PERF) && !mc->perf && mc->paranoid > 1)
		snprintf(buf, sz, "needs root or CAP_PERFMON (perf_event_paranoid is %d)",
			 mc->paranoid);
	else if ((c->needs & NEED_BPF) && !mc->bpf)
		snprintf(buf, sz, "needs root or CAP_BPF");
	else if ((c->needs & NEED_CORE_PMU) && !mc->core_pmu)
		snprintf(buf, sz, "no hardware PMU (virtual machine?)");
	else if ((c->needs & NEED_UNCORE_PMU) && !mc->imc_event[0])
		snprintf(buf, sz,
			 mc->uncore_pmu ? "no memory-controller (IMC) uncore PMU"
					: "no uncore PMU");
	else if ((c->needs & NEED_BTF) && !mc->btf)
		snprintf(buf, sz, "no kernel BTF (/sys/kernel/btf/vmlinux)");
	else
		return NULL;
	return buf;
}

/* ---- JSON-lines output shared by the counting collectors ---- */

struct series {
	FILE *f;
	char path[4096];
};

static int series_open(struct series *s, const struct collector_ctx *ctx, const char *name,
		       char *errbuf, size_t sz)
{
	if (!ctx->dir) {
		s->f = NULL;
		snprintf(s->path, sizeof(s->path), "%s.jsonl", name);
		return 0;
	}
	snprintf(s->path, sizeof(s->path), "%s/%s.jsonl", ctx->dir, name);
	s->f = fopen(s->path, "we");
	if (!s->f) {
		snprintf(errbuf, sz, "%s: %s", s->path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int series_close(struct series *s, char *outputs, size_t sz)
{
	const char *base = strrchr(s->path, '/');
	int err = 0;

	if (s->f && fclose(s->f))
		err = -errno;
	s->f = NULL;
	snprintf(outputs, sz, "%s", base ? base + 1 : s->path);
	return err;
}

/* ---- cpu: /proc/stat utilization ---- */

struct cpu_state {
	struct series out;
	unsigned long long prev[10];
	bool have;
};

static int read_proc_stat(unsigned long long v[10])
{
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return -errno;
	memset(v, 0, 10 * sizeof(*v));
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	return n >= 4 ? 0 : -EINVAL;
}

static int cpu_start(void **state, const struct collector_ctx *ctx, char *errbuf, size_t sz)
{
	struct cpu_state *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = series_open(&s->out, ctx, "cpu", errbuf, sz);
	if (err) {
		free(s);
		return err;
	}
	s->have = read_proc_stat(s->prev) == 0;
	*state = s;
	return 0;
}

static int cpu_collect(void *state, double t)
{
	static const char *const names[10] = {"user", "nice",	 "system", "idle",  "iowait",
					      "irq",  "softirq", "steal",  "guest", "guest_nice"};
	struct cpu_state *s = state;
	unsigned long long v[10], total = 0;
	struct json_object *row;
	int i;

	if (read_proc_stat(v))
		return 0;
	for (i = 0; i < 8; i++)
		total += v[i] - s->prev[i];
	row = json_object_new_object();
	if (!row)
		return -ENOMEM;
	json__add(row, "t", json__number(t, "%.3f"));
	for (i = 0; i < 8; i++) {
		char key[32];

		snprintf(key, sizeof(key), "%s_pct", names[i]);
		json__add(row, key,
			  json__number(total ? 100.0 * (v[i] - s->prev[i]) / total : 0.0, "%.2f"));
	}
	memcpy(s->prev, v, sizeof(v));
	return json__write_line(s->out.f, row);
}

static int cpu_values(void *state, void (*emit)(void *, const char *, double), void *arg)
{
	static const char *const names[8] = {"user",   "nice", "system",  "idle",
					     "iowait", "irq",  "softirq", "steal"};
	double tick = sysconf(_SC_CLK_TCK) > 0 ? (double)sysconf(_SC_CLK_TCK) : 100;
	unsigned long long v[10];
	char name[32];
	int i, err = read_proc_stat(v);

	(void)state;
	for (i = 0; !err && i < 8; i++) {
		snprintf(name, sizeof(name), "%s_seconds", names[i]);
		emit(arg, name, v[i] / tick);
	}
	return err;
}

static int cpu_stop(void *state, const struct collector_ctx *ctx, char *outputs, size_t sz)
{
	struct cpu_state *s = state;
	int err = series_close(&s->out, outputs, sz);

	free(s);
	return err;
}

/* ---- memory: /proc/meminfo ---- */

static int mem_start(void **state, const struct collector_ctx *ctx, char *errbuf, size_t sz)
{
	struct series *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = series_open(s, ctx, "memory", errbuf, sz);
	if (err) {
		free(s);
		return err;
	}
	*state = s;
	return 0;
}

static int mem_collect(void *state, double t)
{
	static const char *const keys[] = {"MemTotal",	"MemFree",   "MemAvailable", "Buffers",
					   "Cached",	"SwapTotal", "SwapFree",     "Dirty",
					   "AnonPages", NULL};
	struct series *s = state;
	char line[256], key[64];
	unsigned long long v;
	FILE *f = fopen("/proc/meminfo", "re");
	struct json_object *row;
	int i;

	if (!f)
		return 0;
	row = json_object_new_object();
	if (!row) {
		fclose(f);
		return -ENOMEM;
	}
	json__add(row, "t", json__number(t, "%.3f"));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %llu", key, &v) != 2)
			continue;
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], key)) {
				char name[80];

				snprintf(name, sizeof(name), "%s_kb", key);
				json__add(row, name, json_object_new_uint64(v));
			}
	}
	fclose(f);
	return json__write_line(s->f, row);
}

static int mem_values(void *state, void (*emit)(void *, const char *, double), void *arg)
{
	static const char *const keys[] = {"MemTotal",	"MemFree",   "MemAvailable", "Buffers",
					   "Cached",	"SwapTotal", "SwapFree",     "Dirty",
					   "AnonPages", NULL};
	char line[256], key[64], name[80];
	unsigned long long v;
	FILE *f = fopen("/proc/meminfo", "re");
	int i;

	(void)state;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %llu", key, &v) != 2)
			continue;
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], key)) {
				snprintf(name, sizeof(name), "%s_bytes", key);
				emit(arg, name, v * 1024.0);
			}
	}
	fclose(f);
	return 0;
}

static int mem_stop(void *state, const struct collector_ctx *ctx, char *outputs, size_t sz)
{
	struct series *s = state;
	int err = series_close(s, outputs, sz);

	free(s);
	return err;
}

/* ---- counting collectors on top of stat: sched, counters, uncore ---- */

struct count_state {
	struct series out;
	struct stat_session *st;
	struct pmu_event *evs;
	int *cpus;
	double *prev;
	double last_t;
	bool metrics;
};

static int count_start(void **state, const struct collector_ctx *ctx, const char *name,
		       const char *events, bool metrics, char *errbuf, size_t sz)
{
	struct stat_opts o = {.sz = sizeof(o)};
	struct count_state *s = calloc(1, sizeof(*s));
	int nr_evs = 0, nr_cpus = 0, err, i;
	char *bad = NULL;

	if (!s)
		return -ENOMEM;
	err = pmu_events__parse_list(events, &s->evs, &nr_evs, &bad, errbuf, sz);
	free(bad);
	if (!err)
		err = pmu_cpus__online(&s->cpus, &nr_cpus);
	if (err)
		goto fail;
	o.events = s->evs;
	o.nr_events = nr_evs;
	o.cpus = s->cpus;
	o.nr_cpus = nr_cpus;
	/* Uncore events stay system-wide in stat__new whatever the target. */
	o.tasks = ctx->tasks;
	o.nr_tasks = ctx->nr_tasks;
	o.inherit = true;
	s->st = stat__new(&o);
	if (!s->st) {
		err = -errno;
		snprintf(errbuf, sz, "cannot open %s: %s", events, strerror(errno));
		goto fail;
	}
	for (i = 0; i < s->st->nr; i++)
		if (!s->st->ev[i].supported) {
			err = s->st->ev[i].err;
			snprintf(errbuf, sz, "%s: %s", s->st->ev[i].ev.name, strerror(-err));
			goto fail;
		}
	s->prev = calloc(nr_evs, sizeof(double));
	err = s->prev ? series_open(&s->out, ctx, name, errbuf, sz) : -ENOMEM;
	if (err)
		goto fail;
	err = stat__enable(s->st);
	if (err)
		goto fail;
	s->metrics = metrics;
	*state = s;
	return 0;
fail:
	stat__free(s->st);
	free(s->prev);
	free(s->evs);
	free(s->cpus);
	free(s);
	return err ? err : -EINVAL;
}

static double value_named(struct count_state *s, const char *name, const double *d)
{
	double v = 0;
	int i;

	for (i = 0; i < s->st->nr; i++)
		if (!strcmp(s->st->ev[i].ev.name, name))
			v += d[i];
	return v;
}

/* ipc and miss ratios, where their events were counted. */
static void count_metrics(struct count_state *s, const double *d, struct json_object *row)
{
	double cyc = value_named(s, "cycles", d), ins = value_named(s, "instructions", d);
	double br = value_named(s, "branches", d), brm = value_named(s, "branch-misses", d);
	double cr = value_named(s, "cache-references", d), cm = value_named(s, "cache-misses", d);

	if (cyc > 0)
		json__add(row, "ipc", json__number(ins / cyc, "%.4f"));
	if (br > 0)
		json__add(row, "branch_miss_pct", json__number(100 * brm / br, "%.4f"));
	if (cr > 0)
		json__add(row, "cache_miss_pct", json__number(100 * cm / cr, "%.4f"));
}

static int count_collect(void *state, double t)
{
	struct count_state *s = state;
	double d[64], dt = t - s->last_t;
	struct json_object *row;
	int i;

	if (stat__read(s->st) || s->st->nr > 64)
		return 0;
	row = json_object_new_object();
	if (!row)
		return -ENOMEM;
	json__add(row, "t", json__number(t, "%.3f"));
	for (i = 0; i < s->st->nr; i++) {
		d[i] = s->st->ev[i].scaled - s->prev[i];
		s->prev[i] = s->st->ev[i].scaled;
	}
	for (i = 0; i < s->st->nr; i++) {
		const char *name = s->st->ev[i].ev.name;
		char key[PMU_EVENT_NAME_MAX + 8];
		double v;
		int j;
		bool dup = false;

		/* instances of one uncore event add up */
		for (j = 0; j < i; j++)
			dup |= !strcmp(s->st->ev[j].ev.name, name);
		if (dup)
			continue;
		v = value_named(s, name, d);
		json__add(row, name, json__number(v, "%.6g"));
		if (dt > 0) {
			snprintf(key, sizeof(key), "%s_per_s", name);
			json__add(row, key, json__number(v / dt, "%.6g"));
		}
	}
	if (s->metrics)
		count_metrics(s, d, row);
	s->last_t = t;
	return json__write_line(s->out.f, row);
}

static int count_values(void *state, void (*emit)(void *, const char *, double), void *arg)
{
	struct count_state *s = state;
	double d[64];
	int i, j, err = stat__read(s->st);

	if (err || s->st->nr > 64)
		return err ? err : -E2BIG;
	for (i = 0; i < s->st->nr; i++)
		d[i] = s->st->ev[i].scaled;
	for (i = 0; i < s->st->nr; i++) {
		bool dup = false;

		/* instances of one uncore event add up */
		for (j = 0; j < i; j++)
			dup |= !strcmp(s->st->ev[j].ev.name, s->st->ev[i].ev.name);
		if (!dup)
			emit(arg, s->st->ev[i].ev.name, value_named(s, s->st->ev[i].ev.name, d));
	}
	return 0;
}

#define MAX_SOCKETS 16

/* "uncore_imc/cas_count_read/" → "cas_count_read": the event of a PMU/event/ spelling. */
static void event_term(const char *name, char *out, size_t sz)
{
	const char *p = strchr(name, '/');
	size_t n;

	p = p ? p + 1 : name;
	n = strcspn(p, "/,");
	snprintf(out, sz, "%.*s", (int)n, p);
}

/* Uncore: each event's instances summed per socket, in bytes where sysfs says MiB. */
static int uncore_values(void *state, void (*emit)(void *, const char *, double), void *arg)
{
	struct count_state *s = state;
	int i, j, k, n, err = stat__read(s->st);

	if (err)
		return err;
	for (i = 0; i < s->st->nr; i++) {
		const struct stat_event *e = &s->st->ev[i];
		double sum[MAX_SOCKETS] = {0}, one[MAX_SOCKETS];
		bool mib = !strcmp(e->ev.unit, "MiB"), dup = false;
		char term[PMU_EVENT_NAME_MAX], name[PMU_EVENT_NAME_MAX + 32];
		int sockets = 0;

		for (j = 0; j < i; j++)
			dup |= !strcmp(s->st->ev[j].ev.name, e->ev.name);
		if (dup)
			continue;
		for (j = i; j < s->st->nr; j++) {
			if (strcmp(s->st->ev[j].ev.name, e->ev.name))
				continue;
			n = stat_event__per_socket(&s->st->ev[j], one, MAX_SOCKETS);
			for (k = 0; k < n && k < MAX_SOCKETS; k++)
				sum[k] += one[k];
			sockets = n > sockets ? n : sockets;
		}
		event_term(e->ev.name, term, sizeof(term));
		for (k = 0; k < sockets && k < MAX_SOCKETS; k++) {
			snprintf(name, sizeof(name), "socket%d/%s%s", k, term, mib ? "_bytes" : "");
			emit(arg, name, mib ? sum[k] * 1048576.0 : sum[k]);
		}
	}
	return 0;
}

static int count_stop(void *state, const struct collector_ctx *ctx, char *outputs, size_t sz)
{
	struct count_state *s = state;
	int err;

	stat__disable(s->st);
	err = series_close(&s->out, outputs, sz);
	stat__free(s->st);
	free(s->prev);
	free(s->evs);
	free(s->cpus);
	free(s);
	return err;
}

static int sched_start(void **state, const struct collector_ctx *ctx, char *errbuf, size_t sz)
{
	return count_start(state, ctx, "sched", "context-switches,cpu-migrations", false, errbuf,
			   sz);
}

static int counters_start(void **state, const struct collector_ctx *ctx, char *errbuf, size_t sz)
{
	return count_start(state, ctx, "counters",
			   "{cycles,instructions},{cache-references,cache-misses},"
			   "{branches,branch-misses}",
			   true, errbuf, sz);
}

static int uncore_start(void **state, const struct collector_ctx *ctx, char *errbuf, size_t sz)
{
	return count_start(state, ctx, "uncore", ctx->caps->imc_event, false, errbuf, sz);
}

/* ---- profile: the BPF sampler ---- */

struct profile_state {
	struct symbolizer *sym;
	struct record *rec;
	struct pmu_event ev;
	int *cpus;
	int nr_cpus;
	char fallback[128];
};

static int profile_start(void **state, const struct collector_ctx *ctx, char *errbuf, size_t sz)
{
	struct record_opts o = {.sz = sizeof(o)};
	struct profile_state *s = calloc(1, sizeof(*s));
	struct record_error re;
	struct pmu_fallback fb;
	int nr = 1, err;

	if (!s)
		return -ENOMEM;
	pmu_event__parse("cycles", &s->ev);
	pmu_event__set_sampling(&s->ev, 99, 0);
	err = pmu_events__fallback(&s->ev, &nr, 99, true, &fb);
	if (!err && fb.added_cpu_clock)
		snprintf(s->fallback, sizeof(s->fallback),
			 " (fallback: no hardware PMU for cycles)");
	if (!err)
		err = pmu_cpus__online(&s->cpus, &s->nr_cpus);
	if (err)
		goto fail;
	s->sym = symbolizer__new(NULL);
	if (!s->sym) {
		err = -ENOMEM;
		goto fail;
	}
	o.events = &s->ev;
	o.nr_events = 1;
	o.cpus = s->cpus;
	o.nr_cpus = s->nr_cpus;
	o.kern_depth = o.user_depth = PROFILE_MAX_DEPTH;
	o.max_stacks = 16384;
	o.track_cpus = s->cpus;
	o.nr_track_cpus = s->nr_cpus;
	o.tasks = ctx->tasks;
	o.nr_tasks = ctx->nr_tasks;
	o.inherit = ctx->nr_tasks > 0;
	s->rec = record__new(&o, s->sym, &re);
	if (!s->rec) {
		err = -errno;
		snprintf(errbuf, sz, "cannot start the sampler: %s", strerror(errno));
		goto fail;
	}
	err = record__enable(s->rec, &re);
	if (err) {
		snprintf(errbuf, sz, "cannot enable the sampler: %s", strerror(-err));
		goto fail;
	}
	*state = s;
	return 0;
fail:
	record__free(s->rec);
	symbolizer__free(s->sym);
	free(s->cpus);
	free(s);
	return err ? err : -EINVAL;
}

static int profile_collect(void *state, double t)
{
	struct profile_state *s = state;

	(void)t;
	return record__poll(s->rec, 0) == -EINTR ? 0 : 0;
}

static int profile_stop(void *state, const struct collector_ctx *ctx, char *outputs, size_t sz)
{
	struct profile_state *s = state;
	struct stack_table *table = stack_table__new();
	struct record_stats st;
	struct flamegraph_opts fo;
	struct folded_data d = {0};
	struct atomic_file af;
	char path[4096], subtitle[512];
	int err;

	if (!table)
		return -ENOMEM;
	err = record__drain(s->rec, &table, &st);
	snprintf(path, sizeof(path), "%s/profile.folded", ctx->dir);
	if (!err)
		err = folded__write_file(path, table);
	if (!err && !(err = folded_data__from_table(&d, table)) && d.nr) {
		snprintf(path, sizeof(path), "%s/profile.svg", ctx->dir);
		flamegraph_opts__init(&fo);
		snprintf(subtitle, sizeof(subtitle), "%s at 99 Hz%s, %llu samples", s->ev.name,
			 s->fallback, (unsigned long long)st.taken);
		fo.title = "pmuprof collect: profile";
		fo.subtitle = subtitle;
		err = atomic_file__open(&af, path);
		if (!err) {
			err = flamegraph__write(af.f, &d, &fo);
			if (err)
				atomic_file__abort(&af);
			else
				err = atomic_file__commit(&af);
		}
	}
	snprintf(outputs, sz, "profile.folded%s", d.nr ? ",profile.svg" : "");
	folded_data__free(&d);
	stack_table__free(table);
	record__free(s->rec);
	symbolizer__free(s->sym);
	free(s->cpus);
	free(s);
	return err;
}

static const struct collector collectors[] = {
	{"profile", "call stacks sampled by BPF on cycles (cpu-clock without a PMU)",
	 NEED_PERF | NEED_BPF, "perf_event BPF sampler, 99 Hz, system-wide or the target's tasks",
	 profile_start, profile_collect, profile_stop, NULL},
	{"counters", "per-CPU hardware counters with IPC, cache-miss and branch-miss rates",
	 NEED_PERF | NEED_CORE_PMU, "counting, grouped, system-wide or the target's tasks",
	 counters_start, count_collect, count_stop, count_values},
	{"uncore", "memory bandwidth per socket from the IMC uncore PMUs",
	 NEED_PERF | NEED_UNCORE_PMU, "counting on one CPU per socket", uncore_start, count_collect,
	 count_stop, uncore_values},
	{"cpu", "CPU utilization from /proc/stat", 0, "/proc/stat deltas", cpu_start, cpu_collect,
	 cpu_stop, cpu_values},
	{"memory", "memory use from /proc/meminfo", 0, "/proc/meminfo", mem_start, mem_collect,
	 mem_stop, mem_values},
	{"sched", "context switches and migrations per second (kernel software counters)",
	 NEED_PERF, "software events, system-wide or the target's tasks", sched_start,
	 count_collect, count_stop, count_values},
};

const struct collector *const *collectors__all(void)
{
	static const struct collector *all[sizeof(collectors) / sizeof(collectors[0]) + 1];
	size_t i;

	for (i = 0; i < sizeof(collectors) / sizeof(collectors[0]); i++)
		all[i] = &collectors[i];
	return all;
}

const struct collector *collectors__find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(collectors) / sizeof(collectors[0]); i++)
		if (!strcmp(collectors[i].name, name))
			return &collectors[i];
	return NULL;
}
