// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics: Prometheus text format 0.0.4, or OpenMetrics 1.0 when the scraper asks for
 * it. Names in base units with node_exporter's conventions (_total counters,
 * *_scrape_collector_success, process_* for the agent itself); /api/collectors as JSON.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "agent.h"
#include "util.h"

struct mw {
	FILE *f;
	bool om;
};

/* A family's HELP and TYPE lines. OpenMetrics names counters without "_total". */
static void family(struct mw *w, const char *name, const char *type, const char *help)
{
	size_t n = strlen(name);
	bool counter = !strcmp(type, "counter");

	if (w->om && counter && n > 6 && !strcmp(name + n - 6, "_total"))
		n -= 6;
	fprintf(w->f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
}

static void value(struct mw *w, double v)
{
	if (v == (double)(long long)v && v < 9e15 && v > -9e15)
		fprintf(w->f, " %lld\n", (long long)v);
	else
		fprintf(w->f, " %.15g\n", v);
}

static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* name{k="v"} value; k NULL: no labels. */
static void sample(struct mw *w, const char *name, const char *k, const char *v, double val)
{
	fputs(name, w->f);
	if (k) {
		fprintf(w->f, "{%s=\"", k);
		label_value(w->f, v);
		fputs("\"}", w->f);
	}
	value(w, val);
}

static void sample2(struct mw *w, const char *name, const char *k1, const char *v1, const char *k2,
		    const char *v2, double val)
{
	fprintf(w->f, "%s{%s=\"", name, k1);
	label_value(w->f, v1);
	fprintf(w->f, "\",%s=\"", k2);
	label_value(w->f, v2);
	fputs("\"}", w->f);
	value(w, val);
}

static void scalar(struct mw *w, const char *name, const char *type, const char *help, double v)
{
	family(w, name, type, help);
	sample(w, name, NULL, NULL, v);
}

/* The agent's own process, as client libraries export it. */
static void process_metrics(struct mw *w)
{
	unsigned long long utime = 0, stime = 0, vsize = 0, start = 0;
	long long rss = 0;
	double tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), boot = 0;
	char buf[2048], *p;
	int fds = 0;
	FILE *f = fopen("/proc/self/stat", "re");
	DIR *d;
	struct dirent *de;

	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = 0;
		fclose(f);
		/* After the comm (which may hold spaces): field 3 on. */
		p = strrchr(buf, ')');
		if (p)
			sscanf(p + 2,
			       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
			       "%*d %*d %*d %llu %llu %lld",
			       &utime, &stime, &start, &vsize, &rss);
	}
	f = fopen("/proc/stat", "re");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %lf", &boot) == 1)
			break;
	if (f)
		fclose(f);
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d)))
		fds += de->d_name[0] != '.';
	if (d)
		closedir(d);
	scalar(w, "process_cpu_seconds_total", "counter",
	       "Total user and system CPU time spent in seconds.", (utime + stime) / tick);
	scalar(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	       rss * page);
	scalar(w, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
	       (double)vsize);
	scalar(w, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.", boot + start / tick);
	scalar(w, "process_open_fds", "gauge", "Number of open file descriptors.",
	       fds > 0 ? fds - 1 : 0);
}

static const char *const lost_reasons[] = {"map_full", "stack", "table_full"};

/* --call-graph=dwarf: the CFI tables in the kernel and how the walks ended (at windows). */
static void unwind_metrics(struct mw *w, const struct agent_totals *t)
{
	const struct unwind_loader_stats *u = &t->unwind_tables;
	int c;

	scalar(w, "pmuprof_unwind_table_bytes", "gauge",
	       "Kernel memory of the CFI unwind tables loaded (0 with --call-graph=fp).", u->bytes);
	scalar(w, "pmuprof_unwind_tables", "gauge", "Files whose CFI tables are loaded.",
	       u->tables);
	scalar(w, "pmuprof_unwind_processes", "gauge", "Processes the CFI walk knows.", u->procs);
	scalar(w, "pmuprof_unwind_tables_evicted_total", "counter",
	       "Tables evicted to stay within the unwind memory budget.", u->evicted_files);
	scalar(w, "pmuprof_unwind_tables_no_fit_total", "counter",
	       "Files whose tables never fit the budget (their stacks follow frame pointers).",
	       u->no_fit_files);
	scalar(w, "pmuprof_unwind_tables_failed_total", "counter",
	       "Files whose CFI could not be read.", u->failed);
	if (!t->unwind)
		return;
	family(w, "pmuprof_unwind_stacks_total", "counter",
	       "User stacks walked with CFI tables, by how they ended.");
	for (c = 0; c < UNWIND_ENDS; c++)
		sample(w, "pmuprof_unwind_stacks_total", "end",
		       c == UNWIND_STOP_END ? "complete" : unwind_stop__name(c), t->unwind_ends[c]);
}

/* Debug files asked of DEBUGINFOD_URLS servers (per build id; at windows). */
static void debuginfod_metrics(struct mw *w, const struct agent_totals *t)
{
	const char *const results[] = {"fetched", "cached", "missing", "budget_exhausted"};
	const uint64_t v[] = {t->dbg.fetched, t->dbg.cached, t->dbg.missing, t->dbg.over_budget};
	size_t i;

	if (!t->debuginfod)
		return;
	family(w, "pmuprof_debuginfod_files_total", "counter",
	       "Debug files asked of debuginfod, by result (budget_exhausted: not asked or cut "
	       "short, the time budget spent).");
	for (i = 0; i < 4; i++)
		sample(w, "pmuprof_debuginfod_files_total", "result", results[i], v[i]);
	scalar(w, "pmuprof_debuginfod_seconds_total", "counter",
	       "Time spent in debuginfod queries.", t->dbg.spent_ns / 1e9);
}

static void sampler_metrics(struct mw *w, struct agent *a, const struct agent_totals *t)
{
	int i, r;

	if (!a->profile_running)
		return;
	family(w, "pmuprof_samples_total", "counter", "Samples the kernel took, by event.");
	for (i = 0; i < a->nr_evs; i++)
		sample(w, "pmuprof_samples_total", "event", a->evs[i].name,
		       t->counters[i][PROFILE_CNT_TAKEN]);
	family(w, "pmuprof_samples_in_stacks_total", "counter",
	       "Samples counted in a stack (updated at each window's end).");
	for (i = 0; i < a->nr_evs; i++)
		sample(w, "pmuprof_samples_in_stacks_total", "event", a->evs[i].name,
		       t->in_stacks[i]);
	family(w, "pmuprof_samples_lost_total", "counter",
	       "Samples taken but in no stack, by event and reason (table_full at window ends).");
	for (i = 0; i < a->nr_evs; i++)
		for (r = 0; r < 3; r++)
			sample2(w, "pmuprof_samples_lost_total", "event", a->evs[i].name, "reason",
				lost_reasons[r],
				r == 0	 ? t->counters[i][PROFILE_CNT_LOST_MAP_FULL]
				: r == 1 ? t->counters[i][PROFILE_CNT_LOST_STACK]
					 : t->table_full[i]);
	family(w, "pmuprof_samples_incomplete_total", "counter",
	       "Samples kept with a partial stack, by event and reason.");
	for (i = 0; i < a->nr_evs; i++) {
		sample2(w, "pmuprof_samples_incomplete_total", "event", a->evs[i].name, "reason",
			"kernel_stack_error", t->counters[i][PROFILE_CNT_KSTACK_ERR]);
		sample2(w, "pmuprof_samples_incomplete_total", "event", a->evs[i].name, "reason",
			"user_stack_error", t->counters[i][PROFILE_CNT_USTACK_ERR]);
		sample2(w, "pmuprof_samples_incomplete_total", "event", a->evs[i].name, "reason",
			"truncated", t->counters[i][PROFILE_CNT_TRUNCATED]);
	}
	family(w, "pmuprof_stacks", "gauge", "Distinct stacks in the last window, by event.");
	for (i = 0; i < a->nr_evs; i++)
		sample(w, "pmuprof_stacks", "event", a->evs[i].name, t->stacks[i]);
	family(w, "pmuprof_sampling_frequency_hertz", "gauge", "Sampling frequency, by event.");
	for (i = 0; i < a->nr_evs; i++)
		sample(w, "pmuprof_sampling_frequency_hertz", "event", a->evs[i].name,
		       a->evs[i].attr.freq ? a->evs[i].attr.sample_freq : 0);
	scalar(w, "pmuprof_drains_total", "counter", "In-kernel map sets drained.", t->drains);
	scalar(w, "pmuprof_windows_total", "counter", "Windows completed.", t->windows);
	scalar(w, "pmuprof_symbolized_stacks_total", "counter",
	       "Drained stacks symbolized (not found in the name cache).", t->symbolized);
	scalar(w, "pmuprof_stack_cache_hits_total", "counter",
	       "Drained stacks counted under a name given in an earlier drain.", t->cache_hits);
	scalar(w, "pmuprof_unresolved_user_samples_total", "counter",
	       "Samples with at least one unnamed user frame.", t->unresolved_user);
	scalar(w, "pmuprof_processes_reaped_total", "counter",
	       "Exited processes whose address spaces were freed.", t->reaped);
	scalar(w, "pmuprof_tracking_records_lost_total", "counter",
	       "mmap/fork/exit records the kernel dropped.", t->track_lost);
	scalar(w, "pmuprof_untracked_processes", "gauge",
	       "Processes beyond the tracking bound (user frames unnamed).", t->untracked_pids);
	scalar(w, "pmuprof_symbolizer_dwarf_bytes", "gauge",
	       "Memory of the DWARF read for names, lines and inline frames (at windows).",
	       t->dwarf.bytes);
	scalar(w, "pmuprof_symbolizer_dwarf_budget_bytes", "gauge",
	       "What the DWARF read is kept within.", t->dwarf.budget);
	scalar(w, "pmuprof_symbolizer_dwarf_dropped_total", "counter",
	       "Files whose DWARF was dropped to stay within the budget (read again when needed).",
	       t->dwarf.drops);
	scalar(w, "pmuprof_symbolizer_dwarf_shed_total", "counter",
	       "Files whose debug sections were freed to stay within the budget, what they named "
	       "kept.",
	       t->dwarf.sheds);
	unwind_metrics(w, t);
	debuginfod_metrics(w, t);
}

static void request_metrics(struct mw *w, const struct agent_totals *t, int in_flight)
{
	scalar(w, "pmuprof_profile_requests_total", "counter", "Profile requests accepted.",
	       t->requests);
	scalar(w, "pmuprof_profile_requests_rejected_total", "counter",
	       "Profile requests refused at the concurrency cap.", t->requests_rejected);
	scalar(w, "pmuprof_profile_requests_failed_total", "counter",
	       "Profile requests accepted that could not be answered.", t->requests_failed);
	scalar(w, "pmuprof_profile_requests_in_flight", "gauge",
	       "Profile requests being sampled now.", in_flight);
	scalar(w, "pmuprof_push_sent_total", "counter", "Windows pushed.", t->push_sent);
	scalar(w, "pmuprof_push_failures_total", "counter", "Push attempts that failed.",
	       t->push_failed);
	scalar(w, "pmuprof_push_dropped_total", "counter",
	       "Windows dropped: queue full or retries exhausted.", t->push_dropped);
	scalar(w, "pmuprof_push_queue_length", "gauge", "Windows waiting to be pushed.",
	       t->push_queued);
	scalar(w, "pmuprof_push_table_full_total", "counter",
	       "Samples left out of pushed windows: more distinct stacks than --max-table.",
	       t->push_table_full);
	scalar(w, "pmuprof_recent_windows", "gauge",
	       "Windows kept for /debug/pprof/recent (--keep-windows).", t->recent_windows);
	scalar(w, "pmuprof_recent_bytes", "gauge",
	       "Bytes of the windows kept (gzip-compressed pprof; --keep-bytes).", t->recent_bytes);
	scalar(w, "pmuprof_recent_dropped_total", "counter",
	       "Windows dropped from the ring: oldest beyond --keep-windows or --keep-bytes.",
	       t->recent_dropped);
}

/* One collector's values, gathered before printing so each family is printed once. */
struct cvals {
	char name[32][64];
	double v[32];
	int n;
};

static void cvals_emit(void *arg, const char *name, double v)
{
	struct cvals *c = arg;

	if (c->n >= 32)
		return;
	snprintf(c->name[c->n], sizeof(c->name[c->n]), "%s", name);
	c->v[c->n++] = v;
}

static void metric_name(char *out, size_t sz, const char *coll, const char *name, const char *suf)
{
	size_t n = snprintf(out, sz, "pmuprof_%s_", coll), i;

	/* snake_case: MemFree → mem_free, cache-misses → cache_misses */
	for (i = 0; name[i] && n + 2 < sz; i++) {
		unsigned char ch = name[i];

		if (isupper(ch) && i && islower((unsigned char)name[i - 1]))
			out[n++] = '_';
		out[n++] = isalnum(ch) ? tolower(ch) : '_';
	}
	out[n] = 0;
	snprintf(out + n, sz - n, "%s", suf);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

/* cpu: one seconds family by mode; memory: a gauge per field; counting: a counter each,
 * labelled by socket where the collector gives one ("socketN/NAME", uncore). */
static void collector_values(struct mw *w, const char *coll, const struct cvals *c)
{
	bool gauge = !strcmp(coll, "memory");
	char name[160], prev[160] = "", mode[64], sock[16];
	int i;

	if (c->n && ends_with(c->name[0], "_seconds")) {
		snprintf(name, sizeof(name), "pmuprof_%s_seconds_total", coll);
		family(w, name, "counter", "CPU time by mode, all CPUs together (/proc/stat).");
		for (i = 0; i < c->n; i++) {
			snprintf(mode, sizeof(mode), "%.*s", (int)(strlen(c->name[i]) - 8),
				 c->name[i]);
			sample(w, name, "mode", mode, c->v[i]);
		}
		return;
	}
	for (i = 0; i < c->n; i++) {
		const char *n = c->name[i], *slash = strchr(n, '/');

		sock[0] = 0;
		if (slash && !strncmp(n, "socket", 6)) {
			snprintf(sock, sizeof(sock), "%.*s", (int)(slash - n - 6), n + 6);
			n = slash + 1;
		}
		metric_name(name, sizeof(name), coll, n, gauge ? "" : "_total");
		if (strcmp(name, prev))
			family(w, name, gauge ? "gauge" : "counter",
			       gauge	 ? "Memory (/proc/meminfo)."
			       : sock[0] ? "Counted since the start, by socket (bytes: 64 per CAS)."
					 : "Events counted since the start.");
		snprintf(prev, sizeof(prev), "%s", name);
		sample(w, name, sock[0] ? "socket" : NULL, sock, c->v[i]);
	}
}

static double cval(const struct cvals *c, const char *name)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->name[i], name))
			return c->v[i];
	return -1;
}

/*
 * The counters collector's ratios, as gauges over the time since the previous reading
 * (a second at least; the first reading: since the start): IPC, cache and branch misses
 * per reference and per branch. Only where the counters ran.
 */
static void counter_ratios(struct mw *w, struct agent_slot *s, const struct cvals *c)
{
	static const char *const names[][2] = {{"instructions", "cycles"},
					       {"cache-misses", "cache-references"},
					       {"branch-misses", "branches"}};
	static const char *const metrics[][2] = {
		{"pmuprof_counters_ipc", "Instructions per cycle, over the last interval."},
		{"pmuprof_counters_cache_miss_ratio",
		 "Cache misses per cache reference, over the last interval."},
		{"pmuprof_counters_branch_miss_ratio",
		 "Branch misses per branch, over the last interval."}};
	double now = clock__monotonic();
	int i;

	for (i = 0; i < 3 && now - s->ratio_t >= 1; i++) {
		double num = cval(c, names[i][0]), den = cval(c, names[i][1]);

		s->ratio[i] = -1;
		if (num >= 0 && den > s->ratio_prev[i][1])
			s->ratio[i] = (num - s->ratio_prev[i][0]) / (den - s->ratio_prev[i][1]);
		s->ratio_prev[i][0] = num;
		s->ratio_prev[i][1] = den;
	}
	if (now - s->ratio_t >= 1)
		s->ratio_t = now;
	for (i = 0; i < 3; i++)
		if (s->ratio[i] >= 0)
			scalar(w, metrics[i][0], "gauge", metrics[i][1], s->ratio[i]);
}

static void collectors_metrics(struct mw *w, struct agent *a)
{
	struct cvals vals[16];
	int i;

	for (i = 0; i < a->nr_slots; i++) {
		struct agent_slot *s = &a->slots[i];
		double t0 = clock__monotonic();

		vals[i].n = 0;
		if (s->running && s->c->values)
			s->success = s->c->values(s->state, cvals_emit, &vals[i]) == 0;
		else
			s->success = s->running;
		s->duration = clock__monotonic() - t0;
	}
	family(w, "pmuprof_scrape_collector_success", "gauge",
	       "Whether a collector runs and its values could be read.");
	for (i = 0; i < a->nr_slots; i++)
		sample(w, "pmuprof_scrape_collector_success", "collector", a->slots[i].c->name,
		       a->slots[i].success);
	family(w, "pmuprof_scrape_collector_duration_seconds", "gauge",
	       "How long reading a collector's values took.");
	for (i = 0; i < a->nr_slots; i++)
		sample(w, "pmuprof_scrape_collector_duration_seconds", "collector",
		       a->slots[i].c->name, a->slots[i].duration);
	for (i = 0; i < a->nr_slots; i++) {
		if (!a->slots[i].success || !vals[i].n)
			continue;
		collector_values(w, a->slots[i].c->name, &vals[i]);
		if (!strcmp(a->slots[i].c->name, "counters"))
			counter_ratios(w, &a->slots[i], &vals[i]);
	}
}

int agent__metrics(struct agent *a, bool openmetrics, char **buf, size_t *len)
{
	struct mw w = {.om = openmetrics};
	struct agent_totals t;
	int in_flight;
	bool ready;

	w.f = open_memstream(buf, len);
	if (!w.f)
		return -errno;
	pthread_mutex_lock(&a->lock);
	t = a->t;
	in_flight = a->nr_requests;
	ready = a->ready;
	pthread_mutex_unlock(&a->lock);
	family(&w, "pmuprof_build_info", "gauge", "The pmuprof version running (always 1).");
	fprintf(w.f, "pmuprof_build_info{version=\"%s\"} 1\n", PMUPROF_VERSION);
	scalar(&w, "pmuprof_ready", "gauge", "1 once the first window is sampling.", ready);
	sampler_metrics(&w, a, &t);
	request_metrics(&w, &t, in_flight);
	/* Collectors are read by one scrape at a time. */
	pthread_mutex_lock(&a->coll_lock);
	collectors_metrics(&w, a);
	pthread_mutex_unlock(&a->coll_lock);
	process_metrics(&w);
	if (w.om)
		fputs("# EOF\n", w.f);
	if (fclose(w.f)) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *slot_json(const struct agent_slot *s)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json__add(o, "name", json__string(s->c->name));
	json__add(o, "running", json_object_new_boolean(s->running));
	json__add(o, "reason", json__string(s->running ? "" : s->reason));
	json__add(o, "mode", json__string(s->c->mode));
	json__add(o, "description", json__string(s->c->description));
	return o;
}

int agent__collectors_json(struct agent *a, char **buf, size_t *len)
{
	struct json_object *o = json_object_new_object(), *cols = json_object_new_array(),
			   *evs = json_object_new_array();
	FILE *f = open_memstream(buf, len);
	int i, err;

	if (!o || !cols || !evs || !f) {
		json_object_put(o);
		json_object_put(cols);
		json_object_put(evs);
		if (f)
			fclose(f);
		free(f ? *buf : NULL);
		return -ENOMEM;
	}
	for (i = 0; i < a->nr_slots; i++)
		json_object_array_add(cols, slot_json(&a->slots[i]));
	for (i = 0; a->profile_running && i < a->nr_evs; i++)
		json_object_array_add(evs, json__string(a->evs[i].name));
	json__add(o, "collectors", cols);
	json__add(o, "events", evs);
	json__add(o, "fallback", json__string(a->fallback));
	json__add(o, "call_graph", json__string(a->call_graph));
	err = json__write_pretty(f, o);
	if (fclose(f) || err) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}
