// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "record.h"
#include "tracker.h"
#include "profile.skel.h"

#define FRAME_NAME_MAX 256

struct record {
	struct record_opts opts;
	struct pmu_event events[PROFILE_MAX_EVENTS];
	struct profile_bpf *skel;
	struct tracker *tracker;
	struct symbolizer *sym;
	enum pmu_attach_mode mode;
	int *pfds;  /* [event][target] */
	int *lfds;  /* link fds, -1 when attached by ioctl */
	int nr_fds;
	int nr_targets;
	size_t key_size;       /* stacks_long */
	size_t short_key_size; /* stacks_short */
	size_t tiny_key_size;  /* stacks_tiny */
	unsigned int callchain_max; /* frames per callchain, both halves and markers */
	int ncpus; /* possible CPUs, for per-CPU values */
	bool stopped;
};

static const char *const counter_names[PROFILE_CNT_MAX] = {
	[PROFILE_CNT_TAKEN] = "taken",
	[PROFILE_CNT_LOST_MAP_FULL] = "map_full",
	[PROFILE_CNT_LOST_STACK] = "stack",
	[PROFILE_CNT_KSTACK_ERR] = "kernel_stack_error",
	[PROFILE_CNT_USTACK_ERR] = "user_stack_error",
	[PROFILE_CNT_TRUNCATED] = "truncated",
};

const char *record_counter__name(enum profile_counter c)
{
	return c < PROFILE_CNT_MAX ? counter_names[c] : "?";
}

static bool counter_is_loss(int c)
{
	return c == PROFILE_CNT_LOST_MAP_FULL || c == PROFILE_CNT_LOST_STACK;
}

void profile_value__sum(const struct profile_value *percpu, int ncpus, struct profile_value *out)
{
	int i;

	out->samples = 0;
	out->weight = 0;
	for (i = 0; i < ncpus; i++) {
		out->samples += percpu[i].samples;
		out->weight += percpu[i].weight;
	}
}

static void set_error(struct record_error *e, enum record_stage stage, int err, int event,
		      int cpu, pid_t pid)
{
	if (!e)
		return;
	e->stage = stage;
	e->err = err;
	e->event = event;
	e->cpu = cpu;
	e->pid = pid;
}

static pid_t tgid_of(const char *proc_root, pid_t tid)
{
	char path[256], line[256];
	pid_t tgid = tid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/*
 * The callchain holds both halves plus a context marker before each; the kernel refuses
 * (EOVERFLOW) more than kernel.perf_event_max_stack.
 */
static unsigned int callchain_limit(const struct record_opts *o)
{
	unsigned int want = o->kern_depth + o->user_depth + 2, max = 127;
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_stack", "re");

	if (f) {
		if (fscanf(f, "%u", &max) != 1)
			max = 127;
		fclose(f);
	}
	return want < max ? want : max;
}

static void close_events(struct record *r)
{
	int i;

	for (i = 0; i < r->nr_fds; i++) {
		if (r->pfds[i] >= 0)
			ioctl(r->pfds[i], PERF_EVENT_IOC_DISABLE, 0);
	}
	for (i = 0; i < r->nr_fds; i++) {
		if (r->lfds[i] >= 0)
			close(r->lfds[i]);
		if (r->pfds[i] >= 0)
			close(r->pfds[i]);
		r->lfds[i] = r->pfds[i] = -1;
	}
}

void record__free(struct record *r)
{
	if (!r)
		return;
	if (r->pfds)
		close_events(r);
	tracker__free(r->tracker);
	profile_bpf__destroy(r->skel);
	free(r->pfds);
	free(r->lfds);
	free(r);
}

enum pmu_attach_mode record__attach_mode(const struct record *r)
{
	return r->mode;
}

const struct pmu_event *record__events(const struct record *r)
{
	return r->events;
}

static struct bpf_program *event_prog(struct record *r, int event)
{
	char name[32];

	if (r->mode == PMU_ATTACH_LINK)
		return r->skel->progs.profile;
	snprintf(name, sizeof(name), "profile_ev%d", event);
	return bpf_object__find_program_by_name(r->skel->obj, name);
}

static int load_bpf(struct record *r, bool prealloc)
{
	const struct record_opts *o = &r->opts;
	unsigned int depth, short_depth, tiny_depth;
	struct bpf_program *prog;
	int err;

	r->skel = profile_bpf__open();
	if (!r->skel)
		return -errno;
	r->skel->rodata->kern_depth = o->kern_depth;
	r->skel->rodata->user_depth = o->user_depth;
	r->skel->rodata->per_thread = o->per_thread;
	r->skel->rodata->chain_max = r->callchain_max;
	/*
	 * Keys hold exactly the frames they can carry: the hash covers the whole key, so
	 * the usual shallow stack goes to the map with short keys.
	 */
	depth = o->kern_depth + o->user_depth;
	short_depth = depth < PROFILE_SHORT_DEPTH ? depth : PROFILE_SHORT_DEPTH;
	tiny_depth = depth < PROFILE_TINY_DEPTH ? depth : PROFILE_TINY_DEPTH;
	r->skel->rodata->short_depth = short_depth;
	r->skel->rodata->tiny_depth = tiny_depth;
	r->tiny_key_size = PROFILE_KEY_HDR_SIZE + tiny_depth * sizeof(__u64);
	r->short_key_size = PROFILE_KEY_HDR_SIZE + short_depth * sizeof(__u64);
	r->key_size = PROFILE_KEY_HDR_SIZE + depth * sizeof(__u64);
	err = bpf_map__set_key_size(r->skel->maps.stacks_tiny, r->tiny_key_size);
	if (!err)
		err = bpf_map__set_max_entries(r->skel->maps.stacks_tiny, o->max_stacks);
	if (!err)
		err = bpf_map__set_key_size(r->skel->maps.stacks_short, r->short_key_size);
	if (!err)
		err = bpf_map__set_max_entries(r->skel->maps.stacks_short,
					       depth > tiny_depth ? o->max_stacks : 1);
	if (!err)
		err = bpf_map__set_key_size(r->skel->maps.stacks_long, r->key_size);
	if (!err)
		err = bpf_map__set_max_entries(r->skel->maps.stacks_long,
					       depth > short_depth ? o->max_stacks : 1);
	if (!err && prealloc)
		err = bpf_map__set_map_flags(r->skel->maps.stacks_tiny, 0);
	if (!err && prealloc)
		err = bpf_map__set_map_flags(r->skel->maps.stacks_short, 0);
	if (!err && prealloc)
		err = bpf_map__set_map_flags(r->skel->maps.stacks_long, 0);
	/* Load only the programs the attach mode needs: each one costs verifier time. */
	bpf_object__for_each_program(prog, r->skel->obj) {
		bool is_link = prog == r->skel->progs.profile;

		if (r->mode == PMU_ATTACH_LINK && !is_link)
			bpf_program__set_autoload(prog, false);
		else if (r->mode == PMU_ATTACH_IOCTL && is_link)
			bpf_program__set_autoload(prog, false);
	}
	if (!err)
		err = profile_bpf__load(r->skel);
	return err;
}

static int open_bpf(struct record *r, struct record_error *e)
{
	int err;

	r->mode = r->opts.attach;
	if (r->mode == PMU_ATTACH_AUTO)
		r->mode = pmu_perf_link_supported() ? PMU_ATTACH_LINK : PMU_ATTACH_IOCTL;
	/*
	 * Maps allocate entries on demand (no 16384-entry preallocation at start); kernels
	 * before 6.1 allow only preallocated hash maps in perf_event programs: retry so.
	 */
	err = load_bpf(r, false);
	if (err && r->skel) {
		pr_debug("pmuprof: loading with on-demand maps failed (%d), preallocating\n", err);
		profile_bpf__destroy(r->skel);
		r->skel = NULL;
		err = load_bpf(r, true);
	}
	if (err) {
		set_error(e, r->skel ? RECORD_STAGE_BPF_LOAD : RECORD_STAGE_BPF_OPEN, err, -1, -1, -1);
		return err;
	}
	return 0;
}

static int open_events(struct record *r, struct record_error *e)
{
	const struct record_opts *o = &r->opts;
	int i, t, err;

	r->nr_targets = o->nr_tasks ? o->nr_tasks : o->nr_cpus;
	r->nr_fds = r->nr_targets * o->nr_events;
	r->pfds = malloc(r->nr_fds * sizeof(int));
	r->lfds = malloc(r->nr_fds * sizeof(int));
	if (!r->pfds || !r->lfds)
		return -ENOMEM;
	for (i = 0; i < r->nr_fds; i++)
		r->pfds[i] = r->lfds[i] = -1;
	for (i = 0; i < o->nr_events; i++) {
		struct bpf_program *prog = event_prog(r, i);
		struct pmu_event *ev = &r->events[i];

		if (!prog)
			return -ENOENT;
		ev->attr.inherit = o->nr_tasks && o->inherit;
		/*
		 * With PERF_SAMPLE_CALLCHAIN the kernel walks the stacks once per sample and
		 * bpf_get_stack() copies from that callchain (bpf_get_stack_pe, 5.7+) instead
		 * of walking again for the kernel and again for the user half.
		 */
		if (!o->bpf_walk) {
			ev->attr.sample_type |= PERF_SAMPLE_CALLCHAIN;
			ev->attr.sample_max_stack = r->callchain_max;
			ev->attr.exclude_callchain_kernel = !o->kern_depth;
			ev->attr.exclude_callchain_user = !o->user_depth;
		}
		ev->attr.enable_on_exec = o->enable_on_exec;
		for (t = 0; t < r->nr_targets; t++) {
			pid_t pid = o->nr_tasks ? o->tasks[t] : -1;
			int cpu = o->nr_tasks ? -1 : o->cpus[t];
			int idx = i * r->nr_targets + t, fd;

			/* Hybrid core PMUs and uncore PMUs exist on some CPUs only. */
			if (cpu >= 0 && !pmu_cpumask__has(&ev->cpumask, cpu))
				continue;
			fd = pmu_event__open_adjust(ev, pid, cpu, -1);
			if (fd < 0) {
				set_error(e, RECORD_STAGE_OPEN, fd, i, cpu, pid);
				return fd;
			}
			r->pfds[idx] = fd;
			err = pmu_attach_bpf(fd, bpf_program__fd(prog), r->mode, i);
			if (err < 0) {
				set_error(e, RECORD_STAGE_ATTACH, err, i, cpu, pid);
				return err;
			}
			if (r->mode == PMU_ATTACH_LINK)
				r->lfds[idx] = err;
		}
	}
	return 0;
}

struct record *record__new(const struct record_opts *opts, struct symbolizer *sym,
			   struct record_error *e)
{
	struct record *r;
	int err, i;

	set_error(e, RECORD_STAGE_NONE, 0, -1, -1, -1);
	if (!opts->nr_events || opts->nr_events > PROFILE_MAX_EVENTS ||
	    opts->kern_depth > PROFILE_MAX_DEPTH || opts->user_depth > PROFILE_MAX_DEPTH ||
	    (!opts->kern_depth && !opts->user_depth) || !opts->max_stacks ||
	    (!opts->nr_tasks && !opts->nr_cpus)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->opts = *opts;
	memcpy(r->events, opts->events, opts->nr_events * sizeof(*r->events));
	r->opts.events = r->events;
	if (!r->opts.proc_root)
		r->opts.proc_root = "/proc";
	r->sym = sym;
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus < 0) {
		err = r->ncpus;
		goto fail;
	}
	r->callchain_max = opts->bpf_walk ? 2 * PROFILE_MAX_DEPTH : callchain_limit(opts);
	err = open_bpf(r, e);
	if (err)
		goto fail;

	/* Track first, then snapshot: a process may map between the two, never be missed. */
	if (opts->nr_track_cpus) {
		r->tracker = tracker__new(opts->track_cpus, opts->nr_track_cpus, symbolizer__aspaces(sym));
		if (!r->tracker || (err = tracker__enable(r->tracker))) {
			err = r->tracker ? err : -errno;
			set_error(e, RECORD_STAGE_TRACK, err, -1, -1, -1);
			goto fail;
		}
	}
	if (opts->nr_tasks) {
		for (i = 0; i < opts->nr_tasks; i++)
			if (!opts->enable_on_exec)
				aspaces__load_proc(symbolizer__aspaces(sym), r->opts.proc_root,
						   tgid_of(r->opts.proc_root, opts->tasks[i]));
	} else {
		aspaces__load_all(symbolizer__aspaces(sym), r->opts.proc_root);
	}

	err = open_events(r, e);
	if (err)
		goto fail;
	return r;
fail:
	record__free(r);
	errno = -err;
	return NULL;
}

int record__enable(struct record *r, struct record_error *e)
{
	int i;

	if (r->opts.enable_on_exec)
		return 0;
	for (i = 0; i < r->nr_fds; i++) {
		if (r->pfds[i] < 0)
			continue;
		if (ioctl(r->pfds[i], PERF_EVENT_IOC_ENABLE, 0) < 0) {
			int err = -errno;

			set_error(e, RECORD_STAGE_ENABLE, err, i / r->nr_targets, -1, -1);
			return err;
		}
	}
	return 0;
}

int record__poll(struct record *r, int timeout_ms)
{
	struct pollfd pfd[1024];
	int fds[1024], n = 0, i, ret;

	if (r->tracker)
		n = tracker__fds(r->tracker, fds, 1024);
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	ret = poll(pfd, n, timeout_ms);
	if (ret < 0 && errno == EINTR)
		ret = -EINTR;
	else if (ret < 0)
		ret = -errno;
	if (r->tracker) {
		int err = tracker__process(r->tracker);

		if (err < 0 && ret >= 0)
			ret = err;
	}
	return ret < 0 ? ret : 0;
}

static int read_percpu(struct record *r, int map_fd, __u32 idx, uint64_t *sum)
{
	__u64 vals[r->ncpus];
	int i;

	*sum = 0;
	if (bpf_map_lookup_elem(map_fd, &idx, vals))
		return -errno;
	for (i = 0; i < r->ncpus; i++)
		*sum += vals[i];
	return 0;
}

/* The ledger: per-CPU counters in the scratch slots, plus the fallback counters map. */
static int read_ledger(struct record *r, __u32 idx, uint64_t *taken_or_lost, uint64_t *weight)
{
	struct profile_scratch *sc = calloc(r->ncpus, sizeof(*sc));
	__u32 zero = 0;
	int i, err;

	if (!sc)
		return -ENOMEM;
	err = read_percpu(r, bpf_map__fd(r->skel->maps.counters), idx, taken_or_lost);
	if (!err && bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.scratch), &zero, sc))
		err = -errno;
	for (i = 0; !err && i < r->ncpus; i++) {
		*taken_or_lost += sc[i].counters[idx];
		if (weight)
			*weight += sc[i].lost_weight[idx];
	}
	free(sc);
	return err;
}

static int read_counter(struct record *r, __u32 idx, uint64_t *sum)
{
	return read_ledger(r, idx, sum, NULL);
}

int record__peek(struct record *r, uint64_t *taken, uint64_t *lost)
{
	int i, c, err;
	uint64_t v;

	*taken = *lost = 0;
	for (i = 0; i < r->opts.nr_events; i++) {
		for (c = 0; c < PROFILE_CNT_MAX; c++) {
			if (c != PROFILE_CNT_TAKEN && !counter_is_loss(c))
				continue;
			err = read_counter(r, i * PROFILE_CNT_MAX + c, &v);
			if (err)
				return err;
			if (c == PROFILE_CNT_TAKEN)
				*taken += v;
			else
				*lost += v;
		}
	}
	return 0;
}

void record__stop(struct record *r)
{
	if (r->stopped)
		return;
	r->stopped = true;
	close_events(r);
	if (r->tracker)
		tracker__process(r->tracker);
}

/* perf's context markers (PERF_CONTEXT_KERNEL, _USER, ...) in a callchain. */
static bool is_marker(__u64 ip)
{
	return ip >= (__u64)-4095;
}

/* The finish was cut short (signal, time budget): name no more user frames. */
static bool finish_cut_short(const struct record *r)
{
	return r->opts.cut_short && *r->opts.cut_short;
}

static int frame_unsymbolized(char *name)
{
	snprintf(name, FRAME_NAME_MAX, "[unknown]");
	return SYM_UNKNOWN;
}

/* Build "comm;user outer..leaf;kernel outer..leaf" and add it to the table. */
static int add_stack(struct record *r, const struct profile_key *key, uint64_t count,
		     struct stack_table *table, char (*names)[FRAME_NAME_MAX], const char **frames,
		     bool *unresolved)
{
	unsigned int klen = key->kern_len, ulen = key->user_len;
	const __u64 *kf = key->frames, *uf;
	unsigned int nk = 0, nu = 0, i;
	__u64 kips[PROFILE_MAX_DEPTH], uips[PROFILE_MAX_DEPTH];
	size_t n = 0;

	if (klen > r->opts.kern_depth)
		klen = r->opts.kern_depth;
	if (ulen > r->opts.user_depth)
		ulen = r->opts.user_depth;
	/* Packed: the user frames follow the kernel frames. */
	uf = key->frames + klen;
	for (i = 0; i < klen; i++)
		if (!is_marker(kf[i]))
			kips[nk++] = kf[i];
	for (i = 0; i < ulen; i++)
		if (!is_marker(uf[i]))
			uips[nu++] = uf[i];

	snprintf(names[n], FRAME_NAME_MAX, "%.*s", PROFILE_COMM_LEN,
		 key->comm[0] ? key->comm : "[unknown]");
	frames[n] = names[n];
	n++;
	/* The outermost frames were cut at the depth limit: say so at the root. */
	if ((r->opts.user_depth && ulen >= r->opts.user_depth) ||
	    (r->opts.kern_depth && klen >= r->opts.kern_depth) ||
	    klen + ulen >= r->callchain_max) {
		snprintf(names[n], FRAME_NAME_MAX, "[truncated]");
		frames[n] = names[n];
		n++;
	}
	for (i = nu; i-- > 0;) {
		/* The user leaf is exact only when the sample hit user mode. */
		bool leaf = i == 0 && nk == 0;
		struct frame_module mod = { .path = NULL };
		int res = finish_cut_short(r) ?
				  frame_unsymbolized(names[n]) :
				  symbolizer__user_frame_mod(r->sym, key->pid, uips[i], leaf,
							     names[n], FRAME_NAME_MAX, &mod);

		if (res != SYM_RESOLVED)
			*unresolved = true;
		if (mod.path && mod.path[0] == '/' &&
		    stack_table__set_module(table, names[n], mod.path, mod.build_id))
			return -ENOMEM;
		frames[n] = names[n];
		n++;
	}
	for (i = nk; i-- > 0;) {
		symbolizer__kernel_frame(r->sym, kips[i], i == 0, names[n], FRAME_NAME_MAX);
		frames[n] = names[n];
		n++;
	}
	return stack_table__add(table, frames, n, count);
}

/* Read one stacks map (keys of key_size bytes) into the tables. */
static int drain_map(struct record *r, int map_fd, size_t key_size, struct stack_table **tables,
		     struct record_stats *st, char (*names)[FRAME_NAME_MAX], const char **frames)
{
	struct profile_value *vals = NULL, sum;
	void *key = NULL, *next = NULL, *tmp;
	bool first = true;
	int err = 0;

	/* Full-size buffers, zeroed: frames past key_size read as 0. */
	key = calloc(1, sizeof(struct profile_key));
	next = calloc(1, sizeof(struct profile_key));
	vals = calloc(r->ncpus, sizeof(*vals));
	if (!key || !next || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (bpf_map_get_next_key(map_fd, first ? NULL : key, next) == 0) {
		const struct profile_key *k = next;
		bool unresolved = false;

		first = false;
		if (bpf_map_lookup_elem(map_fd, next, vals) == 0) {
			profile_value__sum(vals, r->ncpus, &sum);
			if (k->event < (unsigned int)r->opts.nr_events && sum.samples) {
				struct record_event_stats *es = &st->ev[k->event];

				err = add_stack(r, k,
						r->opts.count_weight[k->event] ? sum.weight :
										  sum.samples,
						tables[k->event], names, frames, &unresolved);
				if (err)
					goto out;
				es->samples_in_stacks += sum.samples;
				es->weight += sum.weight;
				es->stacks++;
				st->in_stacks += sum.samples;
				if (unresolved)
					st->unresolved_user += sum.samples;
			}
		}
		tmp = key;
		key = next;
		next = tmp;
		memset(next, 0, key_size);
	}
out:
	free(vals);
	free(next);
	free(key);
	return err;
}

int record__drain(struct record *r, struct stack_table **tables, struct record_stats *st)
{
	char (*names)[FRAME_NAME_MAX] = NULL;
	const char **frames = NULL;
	int i, c, err = 0;

	memset(st, 0, sizeof(*st));
	st->attach_used = r->mode;
	record__stop(r);
	if (r->tracker)
		st->track_lost = tracker__lost(r->tracker);
	st->untracked_pids = aspaces__dropped(symbolizer__aspaces(r->sym));
	st->kernel_syms_hidden = r->opts.kern_depth && symbolizer__kernel_hidden(r->sym);

	for (i = 0; i < r->opts.nr_events; i++) {
		struct record_event_stats *es = &st->ev[i];

		for (c = 0; c < PROFILE_CNT_MAX; c++) {
			es->lost_weight[c] = 0;
			err = read_ledger(r, i * PROFILE_CNT_MAX + c, &es->counters[c],
					  &es->lost_weight[c]);
			if (err)
				goto out;
		}
		st->taken += es->counters[PROFILE_CNT_TAKEN];
	}

	names = calloc(1 + 2 * PROFILE_MAX_DEPTH, sizeof(*names));
	frames = calloc(1 + 2 * PROFILE_MAX_DEPTH, sizeof(*frames));
	if (!names || !frames) {
		err = -ENOMEM;
		goto out;
	}
	err = drain_map(r, bpf_map__fd(r->skel->maps.stacks_tiny), r->tiny_key_size, tables, st,
			names, frames);
	if (!err)
		err = drain_map(r, bpf_map__fd(r->skel->maps.stacks_short), r->short_key_size, tables, st,
			names, frames);
	if (!err)
		err = drain_map(r, bpf_map__fd(r->skel->maps.stacks_long), r->key_size, tables, st,
				names, frames);
	if (err)
		goto out;

	/* The ledger: what was taken but not stored appears as its own frame. */
	for (i = 0; i < r->opts.nr_events; i++) {
		for (c = 0; c < PROFILE_CNT_MAX; c++) {
			char frame[64];
			uint64_t v = st->ev[i].counters[c];

			if (!counter_is_loss(c) || !v)
				continue;
			st->lost += v;
			snprintf(frame, sizeof(frame), "[lost:%s]", counter_names[c]);
			err = stack_table__add_joined(tables[i], frame,
						      r->opts.count_weight[i] ? st->ev[i].lost_weight[c] : v);
			if (err)
				goto out;
		}
	}
out:
	free(frames);
	free(names);
	return err;
}
