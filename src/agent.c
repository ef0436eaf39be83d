// SPDX-License-Identifier: GPL-2.0
/* The agent's engine: continuous record, windows, profile requests, collectors. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "log.h"
#include "util.h"
#include "flamegraph/flamegraph.h"

static bool is_clock(const struct pmu_event *ev)
{
	return ev->attr.type == PERF_TYPE_SOFTWARE && (ev->attr.config == PERF_COUNT_SW_CPU_CLOCK ||
						       ev->attr.config == PERF_COUNT_SW_TASK_CLOCK);
}

/* -e and -F → events, with the cpu-clock fallback of record. 0 or an exit code. */
static int agent__events(struct agent *a)
{
	struct pmu_fallback fb;
	struct pmu_event *tmp;
	char *bad = NULL, why[256], buf[512];
	int err, i;

	err = pmu_events__parse_list(a->o.events, &a->evs, &a->nr_evs, &bad, why, sizeof(why));
	if (err) {
		fprintf(stderr, "pmuprof: agent: -e %s: %s%s%s\n", a->o.events, bad ? bad : "",
			bad ? ": " : "", why[0] ? why : strerror(-err));
		free(bad);
		return 2;
	}
	free(bad);
	for (i = 0; i < a->nr_evs; i++) {
		if (a->evs[i].uncore) {
			fprintf(stderr,
				"pmuprof: agent: -e %s: %s is an uncore event: it counts but "
				"cannot sample (the uncore collector reports it)\n",
				a->o.events, a->evs[i].name);
			return 2;
		}
		pmu_event__set_sampling(&a->evs[i], a->o.freq, 0);
	}
	if (a->nr_evs > PROFILE_MAX_EVENTS) {
		fprintf(stderr, "pmuprof: agent: -e %s: at most %d events\n", a->o.events,
			PROFILE_MAX_EVENTS);
		return 2;
	}
	tmp = realloc(a->evs, (a->nr_evs + 1) * sizeof(*a->evs));
	if (!tmp)
		return 1;
	a->evs = tmp;
	err = pmu_events__fallback(a->evs, &a->nr_evs, a->o.freq, true, &fb);
	if (err) {
		fprintf(stderr, "pmuprof: agent: %s\n",
			pmu_event__open_strerror(err, &a->evs[fb.failed < 0 ? 0 : fb.failed], buf,
						 sizeof(buf)));
		return 2;
	}
	if (fb.added_cpu_clock)
		snprintf(a->fallback, sizeof(a->fallback),
			 "%s: no hardware PMU (%s, a virtual machine?); sampling cpu-clock at "
			 "%lu Hz instead",
			 fb.dropped[0], pmu_errno__name(fb.err), a->o.freq);
	else if (fb.nr_dropped)
		snprintf(a->fallback, sizeof(a->fallback), "%s: no hardware PMU (%s); dropped",
			 fb.dropped[0], pmu_errno__name(fb.err));
	if (a->fallback[0])
		fprintf(stderr, "pmuprof: agent: %s\n", a->fallback);
	for (i = 0; i < a->nr_evs; i++)
		a->count_weight[i] = a->evs[i].hardware && a->evs[i].attr.freq;
	return 0;
}

/* Processes whose container is kept: more than the tracker's live ones, the least
 * recently seen goes. */
#define PROCS_MAX     32768
#define PROC_REPORTED (1ull << 63)
/* A process reported without a container is read again at its next records while it is
 * this young (ns): a runtime moves a container's first process into its cgroup after
 * fork. */
#define PROC_YOUNG_NS 1000000000ull

/*
 * The container a process runs in: the last 64-hex-digit name in its cgroup path
 * (docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope, /docker/ID), or "".
 * /proc/PID/cgroup is the kernel's text, read within bounds. -errno: not readable (the
 * process is gone).
 */
static int container_of(pid_t pid, char *out, size_t sz)
{
	char path[64], buf[4096];
	ssize_t n, i, run = 0;
	int fd;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		run = isxdigit((unsigned char)buf[i]) && !isupper((unsigned char)buf[i]) ? run + 1
											 : 0;
		if (run == 64 && (i + 1 == n || !isxdigit((unsigned char)buf[i + 1])) && sz > 64)
			snprintf(out, sz, "%.64s", buf + i - 63);
	}
	return 0;
}

/* The entry of a process, its container "" when new; NULL without memory. */
static struct keycache_entry *proc_entry(struct agent *a, pid_t pid, uint64_t gen, bool *added)
{
	struct keycache_entry *e;

	if (!a->container && !(a->container = calloc(PROCS_MAX, sizeof(*a->container))))
		return NULL;
	e = keycache__add(&a->procs, pid, gen, added);
	if (e && *added)
		a->container[e - a->procs.e][0] = 0;
	return e;
}

/* Read an entry's container from /proc now. One found is kept: the pid may be gone, or
 * be a zombie's (whose cgroup is no longer said) or another process's by now. */
static void proc_read(struct agent *a, struct keycache_entry *e, pid_t pid)
{
	char id[65];

	e->val[0] = a->t.windows + 1;
	if (!container_of(pid, id, sizeof(id)) && id[0])
		memcpy(a->container[e - a->procs.e], id, sizeof(id));
}

/* The tracker applied a record of pid (engine thread, inside record__poll): its container
 * is read once the poll has applied them all (agent__read_reported). */
static void on_process(void *ctx, pid_t pid)
{
	struct agent *a = ctx;
	const struct aspaces *as = symbolizer__aspaces(a->sym);
	struct keycache_entry *e;
	uint64_t lo = 0, hi;
	bool added, live;

	if (pid <= 0)
		return;
	live = !aspaces__live_window(as, pid, &lo, &hi);
	/* An exit: nothing more to read (a zombie's cgroup is no longer said). */
	if (!live && aspaces__has(as, pid))
		return;
	if (!(e = proc_entry(a, pid, 0, &added)))
		return;
	/* Another process took the pid over: what was read of the last one is not its. */
	if (live && lo && lo != e->val[1]) {
		a->container[e - a->procs.e][0] = 0;
		e->val[0] &= PROC_REPORTED;
		e->val[1] = lo;
	}
	if (e->val[0] & PROC_REPORTED)
		return;
	if (a->nr_reported == a->cap_reported) {
		size_t cap = a->cap_reported ? 2 * a->cap_reported : 256;
		pid_t *tmp = realloc(a->reported, cap * sizeof(*tmp));

		if (!tmp)
			return;
		a->reported = tmp;
		a->cap_reported = cap;
	}
	e->val[0] |= PROC_REPORTED;
	a->reported[a->nr_reported++] = pid;
}

/* The containers of the processes the tracker reported: once a window, and at every
 * report while a young process has none yet. */
static void agent__read_reported(struct agent *a)
{
	struct timespec ts;
	uint64_t now;
	size_t i;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;

	for (i = 0; i < a->nr_reported; i++) {
		struct keycache_entry *e = keycache__find(&a->procs, a->reported[i], 0);

		if (!e || !(e->val[0] & PROC_REPORTED))
			continue;
		e->val[0] &= ~PROC_REPORTED;
		if (e->val[0] != a->t.windows + 1 || (!a->container[e - a->procs.e][0] &&
						      e->val[1] && now - e->val[1] < PROC_YOUNG_NS))
			proc_read(a, e, a->reported[i]);
	}
	a->nr_reported = 0;
}

/* Is pid still the process of generation gen (or one the tracker does not know)? Its
 * /proc/PID then describes it, not a process that took the pid over. */
static bool proc_current(struct agent *a, pid_t pid, uint64_t gen)
{
	uint64_t lo, hi;

	if (aspaces__live_window(symbolizer__aspaces(a->sym), pid, &lo, &hi))
		return true;
	return !gen || (lo <= gen && gen <= hi);
}

/*
 * The container of a process in a drained stack, by pid and generation: read from its
 * cgroup when first seen and once a window while it runs (it may move); one that had
 * exited when first seen has what the tracker's records of its pid found.
 */
static const char *agent__container(struct agent *a, pid_t pid, uint64_t gen)
{
	struct keycache_entry *e, *t;
	bool added;

	if (!(e = proc_entry(a, pid, gen, &added)))
		return "";
	if (e->val[0] != a->t.windows + 1 && proc_current(a, pid, gen))
		proc_read(a, e, pid);
	e->val[0] = a->t.windows + 1;
	/* The tracker's process of this pid, if it started no later than this one. */
	if (added && !a->container[e - a->procs.e][0] && (t = keycache__find(&a->procs, pid, 0)) &&
	    (!gen || t->val[1] <= gen))
		memcpy(a->container[e - a->procs.e], a->container[t - a->procs.e],
		       sizeof(*a->container));
	return a->container[e - a->procs.e];
}

/* Processes whose address space is freed: their samples are all drained. */
static void agent__forget_procs(struct agent *a)
{
	const struct aspaces *as = symbolizer__aspaces(a->sym);
	size_t i;

	for (i = 0; a->procs.e && i < a->procs.cap; i++) {
		struct keycache_entry *e = &a->procs.e[i];

		if (e->used && !aspaces__version(as, e->key[0], e->key[1]))
			keycache__del(&a->procs, e);
	}
}

/* The process frame's name (the first frame of a stack record names), or "". */
static const char *stack_comm(const struct record_stack *s)
{
	size_t nr;
	const uint32_t *ids = stack_table__ref_frames(s->table, s->ref, &nr);
	const struct stack_frame *f = ids && nr ? stack_table__frame(s->table, ids[0]) : NULL;

	return f && f->kind == STACK_FRAME_PROCESS ? f->name : "";
}

/* The first frame of an agent's stacks: "{pid=P,comm=C[,container_id=ID]}" (comm with no
 * separator of labels in it). */
static void stack_labels(struct agent *a, const struct record_stack *s, char *buf, size_t sz)
{
	const char *container = s->pid && a->o.push_url ? agent__container(a, s->pid, s->gen) : "";
	char c[64];
	size_t i;

	snprintf(c, sizeof(c), "%s", stack_comm(s));
	for (i = 0; c[i]; i++)
		if (strchr(",={}", c[i]))
			c[i] = '_';
	snprintf(buf, sz, "{pid=%d,comm=%s%s%s}", (int)s->pid, c,
		 container[0] ? ",container_id=" : "", container);
}

/*
 * A drained stack into t, frames as records (their modules added to t), under a first
 * frame of labels; -ENOSPC: a new stack beyond --max-table.
 */
static int stack_copy(struct agent *a, struct stack_table *t, const struct record_stack *s,
		      const char *labels)
{
	size_t nr, i;
	const uint32_t *ids = stack_table__ref_frames(s->table, s->ref, &nr);

	if (!ids)
		return -ENOMEM;
	if (nr + 1 > a->copy_cap) {
		struct stack_frame *tmp = realloc(a->copy, (nr + 1) * sizeof(*tmp));

		if (!tmp)
			return -ENOMEM;
		a->copy = tmp;
		a->copy_cap = nr + 1;
	}
	a->copy[0] = (struct stack_frame){.name = labels};
	for (i = 0; i < nr; i++) {
		struct stack_frame *f = &a->copy[i + 1];
		int64_t id;

		*f = *stack_table__frame(s->table, ids[i]);
		if (!f->module)
			continue;
		id = stack_table__add_module(t, stack_table__module(s->table, f->module));
		f->module = id > 0 ? id : 0;
	}
	return stack_table__add_frames(t, a->copy, nr + 1, &s->c, a->o.max_table, NULL);
}

/* Every drained stack goes to the requests of its event that are running, and to the
 * window pushed, with both of its counts; a new stack beyond --max-table to their
 * [lost:table_full]. */
static void on_stack(void *ctx, const struct record_stack *s)
{
	struct agent *a = ctx;
	struct agent_request *r;
	struct stack_table *push = a->push_tables[s->event];
	char labels[160] = "";
	int err;

	for (r = a->active; r; r = r->next) {
		if (r->event != s->event)
			continue;
		if (s->ref && !labels[0])
			stack_labels(a, s, labels, sizeof(labels));
		err = s->ref ? stack_copy(a, r->table, s, labels) : -ENOSPC;
		if (err == -ENOSPC) {
			/* Bounded like a window: a long request on a machine of many stacks. */
			r->table_full.samples += s->c.samples;
			r->table_full.weight += s->c.weight;
		} else if (err) {
			r->err = err;
		}
	}
	if (!push || !s->ref)
		return;
	if (!labels[0])
		stack_labels(a, s, labels, sizeof(labels));
	if (stack_copy(a, push, s, labels) == -ENOSPC)
		a->t.push_table_full += s->c.samples;
}

/* A debuginfod transfer ends at SIGTERM: the engine thread does it. */
static int debuginfod_stop(void *arg, const char *build_id, long done, long total)
{
	const struct agent *a = arg;

	(void)build_id;
	(void)done;
	(void)total;
	return *a->stop != 0;
}

/* The call graph as record's: CFI tables unless fp was asked for or the kernel refused. */
static void agent__call_graph(struct agent *a)
{
	int refused = record__unwind_refused(a->rec);

	if (!a->o.unwind)
		snprintf(a->call_graph, sizeof(a->call_graph), "fp");
	else if (refused)
		snprintf(a->call_graph, sizeof(a->call_graph),
			 "fp: the kernel refused the CFI stack walk (%s)", strerror(-refused));
	else
		snprintf(a->call_graph, sizeof(a->call_graph), "dwarf");
	if (refused)
		fprintf(stderr,
			"pmuprof: agent: this kernel refused the CFI stack walk (%s; -vv shows the "
			"verifier's log): user stacks follow frame pointers (--call-graph=fp)\n",
			strerror(-refused));
}

static int agent__sampler(struct agent *a)
{
	struct symbolizer_opts so = {.sz = sizeof(so)};
	struct record_opts o = {.sz = sizeof(o)};
	struct record_error e;
	int *cpus = NULL, nr = 0, err, i;

	err = pmu_cpus__online(&cpus, &nr);
	if (err)
		return err;
	so.debuginfod = !a->o.no_debuginfod;
	so.debuginfod_budget = a->o.debuginfod_budget;
	so.debuginfod_progress = debuginfod_stop;
	so.debuginfod_progress_arg = a;
	so.dwarf_budget = a->o.dwarf_memory;
	a->sym = symbolizer__new(&so);
	if (!a->sym) {
		free(cpus);
		return -ENOMEM;
	}
	o.events = a->evs;
	o.nr_events = a->nr_evs;
	o.cpus = o.track_cpus = cpus;
	o.nr_cpus = o.nr_track_cpus = nr;
	o.kern_depth = o.user_depth = PROFILE_MAX_DEPTH;
	o.max_stacks = 16384;
	o.max_table = a->o.max_table;
	o.drain_ms = a->o.drain_ms;
	/* At the agent's frequencies a new process takes a sample per CPU every 10 ms or
	 * more: waking every 50 ms rather than 10 to load its tables leaves a few of its
	 * first samples on frame pointers (still in stacks) and takes a fifth of the wake-ups. */
	o.wake_ms = a->o.freq <= 99 ? 50 : 0;
	for (i = 0; i < a->nr_evs; i++)
		o.count_weight[i] = a->count_weight[i];
	o.on_stack = on_stack;
	if (a->o.push_url)
		o.on_process = on_process;
	o.on_stack_ctx = a;
	o.unwind = a->o.unwind;
	o.unwind_memory = a->o.unwind_memory;
	o.stop = a->stop;
	a->rec = record__new(&o, a->sym, &e);
	err = a->rec ? record__enable(a->rec, &e) : -errno;
	free(cpus);
	if (a->rec)
		agent__call_graph(a);
	if (err) {
		char buf[512];

		fprintf(stderr, "pmuprof: agent: cannot start the sampler: %s\n",
			e.event >= 0 && e.event < a->nr_evs
				? pmu_event__open_strerror(e.err ? e.err : err, &a->evs[e.event],
							   buf, sizeof(buf))
				: strerror(-err));
	}
	return err;
}

/* The collectors asked for, started where the machine allows; the reason where not. */
static int agent__collectors(struct agent *a)
{
	const struct collector *const *all = collectors__all();
	struct collector_ctx ctx = {.interval_s = 1};
	static struct machine_caps caps;
	char *copy = NULL, *tok, *save = NULL;
	int i, err;

	machine_caps__probe(&caps);
	ctx.caps = &caps;
	if (a->o.collectors) {
		copy = strdup(a->o.collectors);
		if (!copy)
			return 1;
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const struct collector *c = collectors__find(tok);

			if (!c) {
				fprintf(stderr,
					"pmuprof: agent: --collectors %s: no collector named '%s' "
					"(profile, counters, uncore, cpu, memory, sched)\n",
					a->o.collectors, tok);
				free(copy);
				return 2;
			}
			if (a->nr_slots < 16)
				a->slots[a->nr_slots++].c = c;
		}
		free(copy);
	} else {
		for (i = 0; all[i] && a->nr_slots < 16; i++)
			a->slots[a->nr_slots++].c = all[i];
	}
	for (i = 0; i < a->nr_slots; i++) {
		struct agent_slot *s = &a->slots[i];

		if (collector__unmet(s->c, &caps, s->reason, sizeof(s->reason)))
			continue;
		if (!strcmp(s->c->name, "profile")) {
			a->profile_running = s->running = true;
			continue;
		}
		err = s->c->start(&s->state, &ctx, s->reason, sizeof(s->reason));
		if (err && !s->reason[0])
			snprintf(s->reason, sizeof(s->reason), "%s", strerror(-err));
		s->running = !err;
	}
	for (i = 0; i < a->nr_slots; i++)
		fprintf(stderr, "pmuprof: agent: %-9s %s%s\n", a->slots[i].c->name,
			a->slots[i].running ? "running" : "not running: ",
			a->slots[i].running ? "" : a->slots[i].reason);
	return 0;
}

int agent__init(struct agent *a, const struct agent_opts *o, const volatile sig_atomic_t *stop)
{
	int err, i;

	memset(a, 0, sizeof(*a));
	a->o = *o;
	a->stop = stop;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_mutex_init(&a->coll_lock, NULL);
	a->started = time(NULL);
	keycache__init(&a->procs, PROCS_MAX);
	if (agent_ring__init(&a->ring, o->keep_windows))
		return 1;
	if (gethostname(a->hostname, sizeof(a->hostname) - 1))
		snprintf(a->hostname, sizeof(a->hostname), "localhost");
	err = agent__collectors(a);
	if (err)
		return err;
	if (!a->profile_running)
		return 0;
	err = agent__events(a);
	if (err)
		return err;
	for (i = 0; o->push_url && i < a->nr_evs; i++)
		if (!(a->push_tables[i] = stack_table__new()))
			return 1;
	err = agent__sampler(a);
	if (err)
		return err == -EPERM || err == -EACCES ? 2 : 1;
	return 0;
}

int agent__event_index(const struct agent *a, const char *name)
{
	int i;

	if (!a->profile_running)
		return -1;
	for (i = 0; i < a->nr_evs; i++)
		if (!strcmp(a->evs[i].name, name))
			return i;
	return -1;
}

void agent_request__free(struct agent_request *r)
{
	if (!r)
		return;
	stack_table__free(r->table);
	free(r);
}

int agent__profile(struct agent *a, int event, int seconds, struct agent_request **out)
{
	struct agent_request *r;
	int err = 0;

	*out = NULL;
	pthread_mutex_lock(&a->lock);
	if (a->stopping)
		err = -ESHUTDOWN;
	else if (a->nr_requests >= a->o.max_requests)
		err = -EBUSY;
	if (err) {
		a->t.requests_rejected += err == -EBUSY;
		pthread_mutex_unlock(&a->lock);
		return err;
	}
	a->nr_requests++;
	a->t.requests++;
	pthread_mutex_unlock(&a->lock);
	r = calloc(1, sizeof(*r));
	if (r)
		r->table = stack_table__new();
	pthread_mutex_lock(&a->lock);
	if (!r || !r->table) {
		err = -ENOMEM;
	} else {
		r->event = event;
		r->seconds = seconds;
		r->next = a->pending;
		a->pending = r;
		while (!r->done)
			pthread_cond_wait(&a->cond, &a->lock);
		err = r->err;
	}
	a->nr_requests--;
	a->t.requests_failed += err != 0;
	pthread_mutex_unlock(&a->lock);
	if (err) {
		agent_request__free(r);
		return err;
	}
	*out = r;
	return 0;
}

/* Requests queued since the last loop start now: the drain before leaves earlier
 * samples out. */
static int agent__start_requests(struct agent *a, double now)
{
	struct agent_request *list, *r;
	int err;

	pthread_mutex_lock(&a->lock);
	list = a->pending;
	a->pending = NULL;
	pthread_mutex_unlock(&a->lock);
	if (!list)
		return 0;
	err = record__drain_now(a->rec);
	while ((r = list)) {
		uint64_t cnt[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];
		uint64_t w[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];

		list = r->next;
		if (!err)
			err = record__ledger(a->rec, cnt, w);
		if (!err) {
			memcpy(r->base, cnt[r->event], sizeof(r->base));
			memcpy(r->base_weight, w[r->event], sizeof(r->base_weight));
		}
		r->end = now + r->seconds;
		r->wall_start = time(NULL);
		r->err = err;
		r->next = a->active;
		a->active = r;
	}
	return err;
}

/* The request's ledger: what was taken in its time but is in no stack, samples and the
 * weight they stood for. */
static void request_ledger(struct agent_request *r, const uint64_t (*cnt)[PROFILE_CNT_MAX],
			   const uint64_t (*w)[PROFILE_CNT_MAX])
{
	char frame[64];
	int c;

	for (c = 0; c < PROFILE_CNT_MAX; c++) {
		struct stack_count n = {cnt[r->event][c] - r->base[c],
					w[r->event][c] - r->base_weight[c]};

		if (c == PROFILE_CNT_TAKEN || c == PROFILE_CNT_KSTACK_ERR ||
		    c == PROFILE_CNT_USTACK_ERR || c == PROFILE_CNT_TRUNCATED || !n.samples)
			continue;
		snprintf(frame, sizeof(frame), "[lost:%s]", record_counter__name(c));
		stack_table__add_joined_counts(r->table, frame, &n);
	}
	if (r->table_full.samples)
		stack_table__add_joined_counts(r->table, "[lost:table_full]", &r->table_full);
}

/* Requests whose time is up: drained and handed back (or all, when stopping). */
static int agent__finish_requests(struct agent *a, double now, bool all)
{
	uint64_t cnt[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX], w[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];
	struct agent_request **p, *r, *done = NULL;
	bool due = false;
	int err = 0;

	for (r = a->active; r; r = r->next)
		due |= all || now >= r->end;
	if (!due)
		return 0;
	if (!all)
		err = record__drain_now(a->rec);
	if (!err && !all)
		err = record__ledger(a->rec, cnt, w);
	for (p = &a->active; (r = *p);) {
		if (!all && now < r->end) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		if (all)
			r->err = -ESHUTDOWN;
		else if (!r->err && err)
			r->err = err;
		else if (!r->err)
			request_ledger(r, (const uint64_t(*)[PROFILE_CNT_MAX])cnt,
				       (const uint64_t(*)[PROFILE_CNT_MAX])w);
		r->next = done;
		done = r;
	}
	pthread_mutex_lock(&a->lock);
	for (r = done; r; r = done) {
		done = r->next;
		r->next = NULL;
		r->done = true;
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return err;
}

int agent__pprof(struct agent *a, int event, struct stack_table *t, time_t start, double secs,
		 bool labels, char **buf, size_t *len)
{
	const struct pmu_event *ev = &a->evs[event];
	struct pprof_opts po = {0};
	char comment[512];
	FILE *f;
	int err;

	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	snprintf(comment, sizeof(comment), "pmuprof agent: %s at %llu Hz%s%s", ev->name,
		 (unsigned long long)ev->attr.sample_freq, a->fallback[0] ? "; " : "", a->fallback);
	po.event = ev->name;
	po.clock = is_clock(ev);
	po.freq = ev->attr.freq ? ev->attr.sample_freq : 0;
	po.period = ev->attr.freq ? 0 : ev->attr.sample_period;
	po.weight_counts = a->count_weight[event];
	po.time_nanos = (int64_t)start * 1000000000LL;
	po.duration_nanos = (int64_t)(secs * 1e9);
	po.comment = comment;
	po.root_labels = labels;
	err = pprof__write(f, t, &po);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

/* Queue the window's pushed table (the ledger's lines of taken added) and start afresh. */
static void agent__push_window(struct agent *a, int event, struct stack_table *taken, time_t until,
			       double secs)
{
	struct agent_push_item it = {.event = event, .from = a->window_wall, .until = until};
	const struct stack_entry *e = stack_table__sorted(taken);
	struct stack_table *t = a->push_tables[event], *fresh = stack_table__new();
	size_t i, n = stack_table__len(taken);

	if (!fresh)
		return;
	for (i = 0; e && i < n; i++)
		if (!strncmp(e[i].stack, "[lost:", 6))
			stack_table__add_joined_counts(
				t, e[i].stack, &(struct stack_count){e[i].samples, e[i].weight});
	if (stack_table__len(t) &&
	    !agent__pprof(a, event, t, a->window_wall, secs, true, &it.body, &it.len))
		agent__queue_push(a, &it);
	stack_table__free(t);
	a->push_tables[event] = fresh;
}

/* A window ends: its stacks are pushed (when asked), its stats counted. */
static int agent__window(struct agent *a, double now)
{
	struct stack_table *fresh[PROFILE_MAX_EVENTS] = {NULL};
	struct record_stats st;
	time_t until = time(NULL);
	int i, err = 0;

	for (i = 0; i < a->nr_evs && !err; i++)
		if (!(fresh[i] = stack_table__new()))
			err = -ENOMEM;
	if (!err)
		err = record__take(a->rec, fresh, &st);
	if (err) {
		for (i = 0; i < a->nr_evs; i++)
			stack_table__free(fresh[i]);
		return err;
	}
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nr_evs; i++) {
		a->t.in_stacks[i] += st.ev[i].samples_in_stacks;
		a->t.table_full[i] += st.ev[i].table_full;
		a->t.stacks[i] = stack_table__len(fresh[i]);
	}
	a->t.drains += st.drains;
	a->t.symbolized += st.symbolized;
	a->t.cache_hits += st.cache_hits;
	a->t.reaped += st.reaped;
	a->t.unresolved_user += st.unresolved_user;
	a->t.track_lost = st.track_lost;
	a->t.untracked_pids = st.untracked_pids;
	a->t.unwind = st.unwind;
	a->t.unwind_tables = st.unwind_tables;
	memcpy(a->t.unwind_ends, st.unwind_ends, sizeof(st.unwind_ends));
	a->t.debuginfod = symbolizer__debuginfod_stats(a->sym, &a->t.dbg);
	symbolizer__dwarf_stats(a->sym, &a->t.dwarf);
	a->t.windows++;
	pthread_mutex_unlock(&a->lock);
	if (a->t.dbg.no_library && !a->debuginfod_said) {
		char why[256];

		/* Not fatal: the frames stay [module], pmuprof_debuginfod_files_total counts. */
		fprintf(stderr, "pmuprof: agent: debuginfod: %s\n",
			sym_debuginfod__lib_strerror(why, sizeof(why)));
		a->debuginfod_said = true;
	}
	agent__keep_window(a, fresh, until, now - a->window_start);
	for (i = 0; i < a->nr_evs; i++) {
		if (a->push_tables[i])
			agent__push_window(a, i, fresh[i], until, now - a->window_start);
		stack_table__free(fresh[i]);
	}
	agent__forget_procs(a);
	/* The window's tables and encodings are freed: give their pages back. */
	malloc_trim(0);
	a->window_start = now;
	a->window_wall = until;
	return 0;
}

int agent__run(struct agent *a)
{
	uint64_t cnt[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];
	double now = clock__monotonic(), last_ledger = 0;
	int err = 0;

	a->window_start = now;
	a->window_wall = time(NULL);
	pthread_mutex_lock(&a->lock);
	a->ready = true;
	a->heartbeat = now;
	pthread_mutex_unlock(&a->lock);
	if (a->o.on_loop)
		a->o.on_loop(a->o.on_loop_arg, a, now);
	while (!*a->stop) {
		if (a->rec) {
			err = record__poll(a->rec, 100);
			if (err == -EINTR)
				err = 0;
		} else {
			usleep(100000);
		}
		now = clock__monotonic();
		if (a->nr_reported)
			agent__read_reported(a);
		if (!err && a->rec)
			err = agent__start_requests(a, now);
		if (!err && a->rec)
			err = agent__finish_requests(a, now, false);
		if (!err && a->rec && now - a->window_start >= a->o.window_s)
			err = agent__window(a, now);
		if (!err && a->rec && now - last_ledger >= 0.5 && !record__counters(a->rec, cnt)) {
			pthread_mutex_lock(&a->lock);
			memcpy(a->t.counters, cnt, sizeof(cnt));
			pthread_mutex_unlock(&a->lock);
			last_ledger = now;
		}
		if (err) {
			fprintf(stderr, "pmuprof: agent: the sampler failed: %s\n", strerror(-err));
			break;
		}
		pthread_mutex_lock(&a->lock);
		a->heartbeat = now;
		pthread_mutex_unlock(&a->lock);
		if (a->o.on_loop)
			a->o.on_loop(a->o.on_loop_arg, a, now);
	}
	return err;
}

void agent__cancel(struct agent *a)
{
	struct agent_request *r;

	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	while ((r = a->pending)) {
		a->pending = r->next;
		r->err = -ESHUTDOWN;
		r->done = true;
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	agent__finish_requests(a, 0, true);
}

void agent__exit(struct agent *a)
{
	int i;

	agent__cancel(a);
	record__free(a->rec);
	a->rec = NULL;
	symbolizer__free(a->sym);
	a->sym = NULL;
	for (i = 0; i < a->nr_slots; i++) {
		char outputs[64];
		struct collector_ctx ctx = {0};

		if (a->slots[i].running && a->slots[i].state)
			a->slots[i].c->stop(a->slots[i].state, &ctx, outputs, sizeof(outputs));
		a->slots[i].state = NULL;
	}
	for (i = 0; i < PROFILE_MAX_EVENTS; i++)
		stack_table__free(a->push_tables[i]);
	keycache__exit(&a->procs);
	free(a->container);
	free(a->reported);
	free(a->copy);
	for (i = 0; i < a->queue_len; i++)
		free(a->queue[i].body);
	free(a->queue);
	agent_ring__exit(&a->ring);
	free(a->evs);
}
