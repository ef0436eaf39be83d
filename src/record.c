// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "ksym-names.h"
#include "kernel-btf.h"
#include "record.h"
#include "stackcache.h"
#include "tracker.h"
#include "util.h"
#include "profile.skel.h"

#define FRAME_NAME_MAX 256
/* Names of one stack: comm, [truncated], the frames, and inlined functions (up to as
 * many as the frames). */
#define NAMES_MAX (2 + 4 * PROFILE_MAX_DEPTH)
/* Process generations whose named keys a sweep checks instead of every key. */
#define NAMED_IN_MAX 64

struct record {
	struct record_opts opts;
	struct pmu_event events[PROFILE_MAX_EVENTS];
	struct profile_bpf *skel;
	struct tracker *tracker;
	struct unwind_loader *uw; /* --call-graph=dwarf */
	int unwind_refused;	  /* the kernel refused the walk: -errno */
	bool ksym_names;	  /* the kernel names kernel frames (ksym_fd loaded) */
	int ksym_fd;		  /* ksym_names, loaded by ksym_names__load(); -1 */
	struct kernel_btf_facts kbtf;
	struct symbolizer *sym;
	enum pmu_attach_mode mode;
	int *pfds; /* [event][target] */
	int *lfds; /* link fds, -1 when attached by ioctl */
	int nr_fds;
	int nr_targets;
	size_t key_size[PROFILE_TIERS]; /* tiny, short, long */
	unsigned int max_entries[PROFILE_TIERS];
	int map_fd[PROFILE_SETS][PROFILE_TIERS];
	unsigned int callchain_max; /* frames per callchain, both halves and markers */
	int ncpus;		    /* possible CPUs, for per-CPU values */
	bool stopped;
	/* Waking: the walk's "a table is missing" ring, descriptors the caller watches
	 * (each polled until it fires), the longest sleep that still sees a map fill. */
	struct ring_buffer *wake_rb;
	int watch_fd[RECORD_WATCH_MAX];
	bool watch_fired[RECORD_WATCH_MAX];
	int nr_watch;
	unsigned int fill_ms;
	/* Draining. */
	unsigned int active;			  /* the set the program adds to */
	uint64_t new_keys_base[PROFILE_SETS * 4]; /* new_keys when the set was last emptied */
	double last_drain;			  /* monotonic seconds */
	struct profile_scratch *sc;		  /* ncpus slots, read back */
	struct drain_buf {
		void *keys, *vals, *batch;
		unsigned int cap;
	} buf;
	struct profile_key *one; /* a whole key to name from */
	/* Keys copied out and not named yet (struct pending_key, back to back). */
	struct pending_queue {
		char *buf;
		size_t len, cap, done; /* bytes queued, allocated, named */
		size_t asked;	       /* bytes whose kernel frames were asked for */
	} pend;
	int64_t reap_before; /* the latest flip (boot clock): queued keys were all taken before */
	bool reap_due;
	unsigned int name_delay_us; /* tests: naming made this much slower per key */
	char (*names)[FRAME_NAME_MAX];
	struct stack_frame *frames; /* the stack being named: names[] and what else is known */
	/* The aggregate of the current window. */
	struct stack_table *agg[PROFILE_MAX_EVENTS];
	/* Keys named in this window's tables: counted again without symbolizing. */
	struct stack_cache *named;
	/* The process generations and versions of their mappings the keys were named in
	 * (over: more than fit), so that a sweep with none of them stale is skipped. */
	struct named_in {
		struct named_gen {
			pid_t pid;
			uint64_t gen, version;
		} v[NAMED_IN_MAX];
		size_t nr;
		bool over;
	} named_in;
	/* Frames of user addresses, by file and offset. */
	struct frame_cache *frames_named;
	/* ... and by process and address, with their modules. */
	struct frame_memo *memo;
	struct record_stats win;
	uint64_t ledger_base[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX]; /* at the last take */
	uint64_t lost_weight_base[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];
};

#define DRAIN_BATCH 1024
/* Bytes of drained keys remembered with their stacks (keys of deep stacks run to a
 * kilobyte): beyond it the cache starts over. */
#define STACK_CACHE_BYTES (8u << 20)
/* Distinct user frames whose names are kept (about 200 bytes each). */
#define FRAME_CACHE_MAX 16384
/* Keys queued beyond this are named before the next flip (and the address spaces of exited
 * processes freed with them); an empty queue keeps this much. */
#define PENDING_MAX_BYTES  (8u << 20)
#define PENDING_KEEP_BYTES (1u << 20)

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

static void set_error(struct record_error *e, enum record_stage stage, int err, int event, int cpu,
		      pid_t pid)
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
 * Precise events (cycles:pp) carry the full callchain whatever the halves asked for: the
 * kernel refuses (EPROTO) a program calling bpf_get_stack() on a precise event without it,
 * since walking the stack again from a precise sample's registers is unsafe. The program
 * copies only the half it wants from that chain.
 */
static bool full_chain(const struct pmu_event *ev)
{
	return ev->attr.precise_ip > 0;
}

/*
 * The callchain holds both halves plus a context marker before each; the kernel refuses
 * (EOVERFLOW) more than kernel.perf_event_max_stack. A full chain has room for both
 * halves whatever was asked.
 */
static unsigned int callchain_limit(const struct record_opts *o)
{
	unsigned int want = o->kern_depth + o->user_depth + 2, max = 127;
	int i;

	for (i = 0; i < o->nr_events; i++)
		if (full_chain(&o->events[i]))
			want = 2 * PROFILE_MAX_DEPTH + 2;
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
	if (r->ksym_names && r->sym)
		symbolizer__set_kernel_namer(r->sym, NULL);
	tracker__free(r->tracker);
	ring_buffer__free(r->wake_rb);
	unwind_loader__free(r->uw);
	if (r->ksym_fd >= 0)
		close(r->ksym_fd);
	profile_bpf__destroy(r->skel);
	for (int i = 0; i < PROFILE_MAX_EVENTS; i++)
		stack_table__free(r->agg[i]);
	stack_cache__free(r->named);
	frame_cache__free(r->frames_named);
	frame_memo__free(r->memo);
	free(r->buf.keys);
	free(r->buf.vals);
	free(r->buf.batch);
	free(r->one);
	free(r->pend.buf);
	free(r->names);
	free(r->frames);
	free(r->sc);
	free(r->pfds);
	free(r->lfds);
	free(r);
}

int record__unwind_refused(const struct record *r)
{
	return r->unwind_refused;
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

static struct bpf_map *stack_map(struct record *r, int set, int tier)
{
	struct bpf_map *maps[PROFILE_SETS][PROFILE_TIERS] = {
		{r->skel->maps.stacks_tiny, r->skel->maps.stacks_short, r->skel->maps.stacks_long},
		{r->skel->maps.stacks_tiny1, r->skel->maps.stacks_short1,
		 r->skel->maps.stacks_long1},
	};

	return maps[set][tier];
}

/* Both sets of the three key-size tiers: key sizes, entries, preallocation. */
static int size_maps(struct record *r, bool prealloc)
{
	const struct record_opts *o = &r->opts;
	unsigned int depth, short_depth, tiny_depth;
	int set, tier, err = 0;

	/*
	 * Keys hold exactly the frames they can carry: the hash covers the whole key, so
	 * the usual shallow stack goes to the map with short keys.
	 */
	depth = o->kern_depth + o->user_depth;
	short_depth = depth < PROFILE_SHORT_DEPTH ? depth : PROFILE_SHORT_DEPTH;
	tiny_depth = depth < PROFILE_TINY_DEPTH ? depth : PROFILE_TINY_DEPTH;
	r->skel->rodata->short_depth = short_depth;
	r->skel->rodata->tiny_depth = tiny_depth;
	r->key_size[0] = PROFILE_KEY_HDR_SIZE + tiny_depth * sizeof(__u64);
	r->key_size[1] = PROFILE_KEY_HDR_SIZE + short_depth * sizeof(__u64);
	r->key_size[2] = PROFILE_KEY_HDR_SIZE + depth * sizeof(__u64);
	r->max_entries[0] = o->max_stacks;
	r->max_entries[1] = depth > tiny_depth ? o->max_stacks : 1;
	r->max_entries[2] = depth > short_depth ? o->max_stacks : 1;
	for (set = 0; set < PROFILE_SETS; set++) {
		for (tier = 0; tier < PROFILE_TIERS && !err; tier++) {
			struct bpf_map *m = stack_map(r, set, tier);

			err = bpf_map__set_key_size(m, r->key_size[tier]);
			if (!err)
				err = bpf_map__set_max_entries(m, r->max_entries[tier]);
			if (!err && prealloc)
				err = bpf_map__set_map_flags(m, 0);
		}
	}
	return err;
}

/*
 * Without the walk (--call-graph=fp) its maps stay unused: one entry each, not the rules'
 * 1.5 MiB nor the preallocated wanted list (a ring buffer has a minimum size).
 */
static int unwind_shrink_maps(struct record *r)
{
	struct bpf_map *maps[] = {r->skel->maps.unwind_tables, r->skel->maps.unwind_rules,
				  r->skel->maps.unwind_procs, r->skel->maps.unwind_wanted,
				  r->skel->maps.unwind_used};
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (bpf_map__set_max_entries(maps[i], 1))
			return -EINVAL;
	return 0;
}

/* The walk's maps: a process entry per profiled process, within the memory budget. */
static int unwind_size_maps(struct record *r, bool prealloc)
{
	uint64_t procs = r->opts.unwind_memory / sizeof(struct unwind_proc);
	struct bpf_map *m = r->skel->maps.unwind_procs;

	r->skel->rodata->unwind_dwarf = r->opts.unwind;
	if (!r->opts.unwind && unwind_shrink_maps(r))
		return -EINVAL;
	if (!r->opts.unwind)
		procs = 1;
	/* Preallocated (kernels before 6.1) the entries cost memory up front: few of them. */
	if (prealloc && procs > 256)
		procs = 256;
	if (procs > 65536)
		procs = 65536;
	if (prealloc && bpf_map__set_map_flags(m, 0))
		return -EINVAL;
	return bpf_map__set_max_entries(m, procs ? procs : 1);
}

/* Where the program reads task_struct: the running kernel's offsets. */
static void set_task_offsets(struct record *r)
{
	const struct kernel_btf_facts *k = &r->kbtf;

	r->skel->rodata->task_group_leader = k->group_leader;
	r->skel->rodata->task_real_parent = k->real_parent;
	r->skel->rodata->task_mm = k->mm;
	r->skel->rodata->task_tgid = k->tgid;
	r->skel->rodata->task_self_exec_id = k->self_exec_id;
	r->skel->rodata->task_start_boottime = k->start_boottime;
}

/*
 * ksym_names (kernel 5.13+), loaded apart from the object when kernel frames are named,
 * with the ELF's instructions (before the object's load). A kernel that refuses it
 * records all the same: the symbolizer reads /proc/kallsyms.
 */
static void load_ksym_names(struct record *r)
{
	char log[4096];

	r->ksym_fd = ksym_names__load(r->skel->progs.ksym_names, r->kbtf.iter_map_elem, log,
				      sizeof(log));
	if (r->ksym_fd >= 0)
		return;
	pr_debug("pmuprof: loading with the kernel's names failed (%d)%s%s\n", r->ksym_fd,
		 log[0] ? ":\n" : "", log);
	r->ksym_fd = -1;
	r->ksym_names = false;
}

static int load_bpf(struct record *r, bool prealloc)
{
	const struct record_opts *o = &r->opts;
	struct bpf_program *prog;
	int err, set, tier, i;

	r->skel = profile_bpf__open();
	if (!r->skel)
		return -errno;
	r->skel->rodata->kern_depth = o->kern_depth;
	r->skel->rodata->user_depth = o->user_depth;
	r->skel->rodata->per_thread = o->per_thread;
	r->skel->rodata->chain_max = r->callchain_max;
	set_task_offsets(r);
	for (i = 0; !o->bpf_walk && !o->kern_depth && i < o->nr_events; i++)
		r->skel->rodata->chain_has_kernel |= full_chain(&o->events[i]);
	err = size_maps(r, prealloc);
	if (!err)
		err = unwind_size_maps(r, prealloc);
	if (r->ksym_names && r->ksym_fd < 0)
		load_ksym_names(r);
	/* Load only the programs the attach mode needs: each one costs verifier time. */
	bpf_object__for_each_program (prog, r->skel->obj) {
		bool is_link = prog == r->skel->progs.profile;

		if (prog == r->skel->progs.ksym_names)
			bpf_program__set_autoload(prog, false);
		else if (r->mode == PMU_ATTACH_LINK && !is_link)
			bpf_program__set_autoload(prog, false);
		else if (r->mode == PMU_ATTACH_IOCTL && is_link)
			bpf_program__set_autoload(prog, false);
	}
	if (!err)
		err = profile_bpf__load(r->skel);
	for (set = 0; !err && set < PROFILE_SETS; set++)
		for (tier = 0; tier < PROFILE_TIERS; tier++)
			r->map_fd[set][tier] = bpf_map__fd(stack_map(r, set, tier));
	return err;
}

/* The symbolizer's kernel namer: the kernel's own names for the frames' addresses. */
static int ksym_namer(void *arg, const uint64_t *addrs, size_t n, char **text, size_t *len)
{
	struct record *r = arg;
	struct sym_kernel_stats ks;
	int err = ksym_names__read(r->ksym_fd, addrs, n, text, len);

	symbolizer__kernel_stats(r->sym, &ks);
	if (err)
		pr_debug("pmuprof: the kernel could not name kernel frames (%d): reading "
			 "/proc/kallsyms\n",
			 err);
	else if (!ks.batches)
		pr_debug("pmuprof: kernel frames named by the kernel, %zu addresses at first\n", n);
	return err;
}

static int open_bpf(struct record *r, struct record_error *e)
{
	int err;

	r->mode = r->opts.attach;
	if (r->mode == PMU_ATTACH_AUTO)
		r->mode = pmu_perf_link__supported() ? PMU_ATTACH_LINK : PMU_ATTACH_IOCTL;
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
	/* A kernel that refuses the CFI walk still records, with frame pointers. */
	if (err && r->skel && r->opts.unwind) {
		pr_debug("pmuprof: loading the CFI walk failed (%d)\n", err);
		r->unwind_refused = err;
		profile_bpf__destroy(r->skel);
		r->skel = NULL;
		r->opts.unwind = false;
		return open_bpf(r, e);
	}
	if (err) {
		set_error(e, r->skel ? RECORD_STAGE_BPF_LOAD : RECORD_STAGE_BPF_OPEN, err, -1, -1,
			  -1);
		return err;
	}
	return 0;
}

/* A launched command maps its executable, then most likely the C library and dynamic
 * linker this process maps too: build their tables before it runs. */
static void unwind_prewarm(struct record *r)
{
	char line[4096], *path;
	FILE *f;

	if (r->opts.command_path)
		unwind_loader__prewarm(r->uw, r->opts.command_path);
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		path = strchr(line, '/');
		if (path && strstr(line, " r-xp ") &&
		    (strstr(path, "/libc.so.") || strstr(path, "/ld-linux")))
			unwind_loader__prewarm(r->uw, path);
	}
	fclose(f);
}

/* A tracking record of pid applied: the CFI loader and the caller are told. */
static void process_changed(void *ctx, pid_t pid)
{
	struct record *r = ctx;

	if (r->uw)
		unwind_loader__touch(r->uw, pid);
	if (r->opts.on_process)
		r->opts.on_process(r->opts.on_stack_ctx, pid);
}

/* A walk missed a table: being awake is all it asks (the loop syncs the loader). */
static int wake_seen(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* The loader of CFI tables, fed by the tracker; the profiled processes synced now. */
static int unwind_start(struct record *r)
{
	struct unwind_loader_opts o = {
		.rules_fd = bpf_map__fd(r->skel->maps.unwind_rules),
		.tables_fd = bpf_map__fd(r->skel->maps.unwind_tables),
		.procs_fd = bpf_map__fd(r->skel->maps.unwind_procs),
		.used_fd = bpf_map__fd(r->skel->maps.unwind_used),
		.wanted_fd = bpf_map__fd(r->skel->maps.unwind_wanted),
		.memory = r->opts.unwind_memory,
		.proc_root = r->opts.proc_root,
		.as = symbolizer__aspaces(r->sym),
	};
	int i, err = 0;

	if (!r->opts.unwind || !r->tracker)
		return 0;
	r->uw = unwind_loader__new(&o);
	if (!r->uw)
		return -errno;
	/* Without it the loop wakes every few milliseconds to load tables in time. */
	r->wake_rb =
		ring_buffer__new(bpf_map__fd(r->skel->maps.unwind_wake), wake_seen, NULL, NULL);
	if (!r->wake_rb)
		pr_debug("pmuprof: the walk's wake-up ring: %s\n", strerror(errno));
	/* -a: nearly every process maps the C library; built now, not behind smaller files. */
	if (r->opts.enable_on_exec || !r->opts.nr_tasks)
		unwind_prewarm(r);
	if (!r->opts.nr_tasks)
		err = unwind_loader__touch_all(r->uw);
	for (i = 0; i < r->opts.nr_tasks && !err; i++) {
		pid_t tgid = tgid_of(r->opts.proc_root, r->opts.tasks[i]);

		err = unwind_loader__restrict(r->uw, tgid);
		if (!err)
			err = unwind_loader__touch(r->uw, tgid);
	}
	if (err)
		return err;
	/* A running process's tables are built before its first sample (a few files). */
	return r->opts.nr_tasks ? unwind_loader__settle(r->uw, 10.0, r->opts.stop)
				: unwind_loader__sync(r->uw);
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
		if (!o->bpf_walk || full_chain(ev)) {
			ev->attr.sample_type |= PERF_SAMPLE_CALLCHAIN;
			ev->attr.sample_max_stack =
				o->bpf_walk ? callchain_limit(o) : r->callchain_max;
			ev->attr.exclude_callchain_kernel = !o->kern_depth && !full_chain(ev);
			ev->attr.exclude_callchain_user = !o->user_depth && !full_chain(ev);
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
			err = pmu_bpf__attach(fd, bpf_program__fd(prog), r->mode, i);
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

/* Buffers for draining and the window's tables. */
static int alloc_drain(struct record *r)
{
	int i;

	r->buf.cap = DRAIN_BATCH;
	r->buf.keys = calloc(DRAIN_BATCH, sizeof(struct profile_key));
	r->buf.vals = calloc(DRAIN_BATCH, sizeof(struct profile_value));
	r->buf.batch = calloc(1, sizeof(struct profile_key));
	r->one = calloc(1, sizeof(*r->one));
	r->sc = calloc(r->ncpus, sizeof(*r->sc));
	r->names = calloc(NAMES_MAX, sizeof(*r->names));
	r->frames = calloc(NAMES_MAX, sizeof(*r->frames));
	r->named = stack_cache__new();
	r->frames_named = frame_cache__new(FRAME_CACHE_MAX);
	r->memo = frame_memo__new();
	if (!r->buf.keys || !r->buf.vals || !r->buf.batch || !r->one || !r->sc || !r->names ||
	    !r->frames || !r->named || !r->frames_named || !r->memo)
		return -ENOMEM;
	for (i = 0; i < r->opts.nr_events; i++) {
		r->agg[i] = stack_table__new();
		if (!r->agg[i])
			return -ENOMEM;
		stack_table__set_weighted(r->agg[i], r->opts.count_weight[i]);
	}
	if (!r->opts.drain_ms)
		r->opts.drain_ms = 1000;
	if (!r->opts.drain_fill || r->opts.drain_fill > 100)
		r->opts.drain_fill = 50;
	if (!r->opts.max_table)
		r->opts.max_table = RECORD_MAX_TABLE;
	/*
	 * The loop runs as long as the record: large buffers (the sections of files loaded
	 * and unloaded, the tables as they grow) are mapped, so that freeing them gives the
	 * memory back instead of leaving holes in the heap.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* One arena for the loader's thread too: what it frees is reused by the main loop
	 * (soak: peak RSS 91.5 -> 81.4 MB). */
	mallopt(M_ARENA_MAX, 1);
	/* A test knob: slow symbolization down to show that drains keep their cadence. */
	if (getenv("PMUPROF_TEST_NAME_DELAY_US"))
		r->name_delay_us = strtoul(getenv("PMUPROF_TEST_NAME_DELAY_US"), NULL, 10);
	r->last_drain = clock__monotonic();
	return 0;
}

static unsigned int fill_check_ms(const struct record *r);

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
	r->ksym_fd = -1;
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
	if (!r->opts.unwind_memory)
		r->opts.unwind_memory = UNWIND_MEMORY_DEFAULT;
	r->ksym_names = opts->kern_depth > 0 && !getenv("PMUPROF_TEST_KALLSYMS_TEXT");
	err = kernel_btf__read(KERNEL_BTF_PATH, &r->kbtf);
	if (err)
		set_error(e, RECORD_STAGE_KERNEL_BTF, err, -1, -1, -1);
	else
		err = open_bpf(r, e);
	if (!err)
		err = alloc_drain(r);
	if (err)
		goto fail;
	if (r->ksym_names) {
		struct kernel_namer namer = {ksym_namer, r};

		symbolizer__set_kernel_namer(sym, &namer);
	}
	if (opts->max_processes)
		aspaces__set_max_pids(symbolizer__aspaces(sym), opts->max_processes);

	/* Track first, then snapshot: a process may map between the two, never be missed. */
	if (opts->nr_track_cpus) {
		r->tracker = tracker__new(opts->track_cpus, opts->nr_track_cpus,
					  symbolizer__aspaces(sym));
		if (r->tracker)
			tracker__on_change(r->tracker, process_changed, r);
		/* -p, -t, a command: their processes and children only, as sampled. */
		for (i = 0, err = 0; r->tracker && i < opts->nr_tasks && !err; i++)
			err = tracker__follow(r->tracker,
					      tgid_of(r->opts.proc_root, opts->tasks[i]));
		if (!r->tracker || err || (err = tracker__enable(r->tracker))) {
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

	err = unwind_start(r);
	if (err) {
		set_error(e, RECORD_STAGE_TRACK, err, -1, -1, -1);
		goto fail;
	}
	err = open_events(r, e);
	if (err)
		goto fail;
	r->fill_ms = fill_check_ms(r);
	pr_debug("pmuprof: the loop sleeps up to %u ms between looks at the maps\n", r->fill_ms);
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

/* The per-CPU scratch slots (ledger and fill counters), read back in one lookup. */
static int read_scratch(struct record *r)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.scratch), &zero, r->sc))
		return -errno;
	return 0;
}

static uint64_t new_keys(const struct record *r, int slot)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < r->ncpus; i++)
		n += r->sc[i].new_keys[slot];
	return n;
}

/* The fullest map of a set, in % of its entries, from the new-key counters. */
static double set_fill(const struct record *r, int set)
{
	double fill = 0, f;
	int tier;

	for (tier = 0; tier < PROFILE_TIERS; tier++) {
		int slot = set * 4 + tier;

		if (r->max_entries[tier] <= 1)
			continue;
		f = 100.0 * (new_keys(r, slot) - r->new_keys_base[slot]) / r->max_entries[tier];
		fill = f > fill ? f : fill;
	}
	return fill;
}

static int drain_flip(struct record *r);
static int pending_run(struct record *r, double deadline);

int record__watch(struct record *r, int fd)
{
	if (r->nr_watch >= RECORD_WATCH_MAX)
		return -ENOSPC;
	r->watch_fired[r->nr_watch] = false;
	r->watch_fd[r->nr_watch++] = fd;
	return 0;
}

/* The wake-up of the loop without the walk's ring, and the slice of naming between two
 * looks at the maps: 10 ms with CFI tables, 50 without (or the caller's). */
static unsigned int wake_floor_ms(const struct record *r)
{
	return r->opts.wake_ms ? r->opts.wake_ms : r->uw ? 10 : 50;
}

/*
 * The longest sleep that still drains a map before it is drain_fill % full: a sample
 * adds one key at most, so at the highest rate the events may sample (frequency mode,
 * on every CPU) the time to fill that much, with a margin of four. A fixed period says
 * nothing about the rate: the floor then.
 */
static unsigned int fill_check_ms(const struct record *r)
{
	unsigned int floor = wake_floor_ms(r), cpus = r->opts.nr_tasks ? r->ncpus : r->opts.nr_cpus;
	double rate = 0, ms;
	int i;

	for (i = 0; i < r->opts.nr_events; i++) {
		const struct perf_event_attr *a = &r->events[i].attr;

		if (!a->freq || !a->sample_freq)
			return floor;
		rate += (double)a->sample_freq * cpus;
	}
	ms = 1000.0 * r->opts.max_stacks * r->opts.drain_fill / 100.0 / rate / 4;
	if (ms > r->opts.drain_ms)
		ms = r->opts.drain_ms;
	return ms > floor ? (unsigned int)ms : floor;
}

/* How long the loop may sleep: nothing left to name, the next drain and fill check
 * ahead; the walk's ring, a finished build and the tracker's rings wake it earlier. */
static int poll_wait_ms(struct record *r, int timeout_ms)
{
	double left = (r->last_drain + r->opts.drain_ms / 1000.0 - clock__monotonic()) * 1000;
	int ms = r->fill_ms ? (int)r->fill_ms : (int)wake_floor_ms(r);

	if (r->pend.done < r->pend.len || r->reap_due)
		return 0;
	if (r->uw && (!r->wake_rb || unwind_loader__busy(r->uw)) && ms > (int)wake_floor_ms(r))
		ms = wake_floor_ms(r);
	if (left < ms)
		ms = left > 0 ? (int)left + 1 : 0;
	return timeout_ms < ms ? timeout_ms : ms;
}

/* Wait for the rings, the walk's wake-up, a build or a watched fd: 1 when a watched fd
 * fired, 0, or -errno. */
static int poll_wait(struct record *r, int timeout_ms)
{
	struct pollfd pfd[1024 + 2 + RECORD_WATCH_MAX];
	int fds[1024], idx[RECORD_WATCH_MAX], n = 0, nt = 0, nw, i, ret, fired = 0;

	if (r->tracker)
		nt = n = tracker__fds(r->tracker, fds, 1024);
	for (i = 0; i < nt; i++)
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	if (r->wake_rb)
		pfd[n++] =
			(struct pollfd){.fd = ring_buffer__epoll_fd(r->wake_rb), .events = POLLIN};
	if (r->uw && unwind_loader__wake_fd(r->uw) >= 0)
		pfd[n++] = (struct pollfd){.fd = unwind_loader__wake_fd(r->uw), .events = POLLIN};
	for (i = 0, nw = n; i < r->nr_watch; i++) {
		if (r->watch_fired[i])
			continue;
		idx[n - nw] = i;
		pfd[n++] = (struct pollfd){.fd = r->watch_fd[i], .events = POLLIN};
	}
	ret = poll(pfd, n, poll_wait_ms(r, timeout_ms));
	if (ret < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (r->wake_rb)
		ring_buffer__consume(r->wake_rb);
	for (i = nw; i < n; i++) {
		int w = idx[i - nw];

		if (!pfd[i].revents)
			continue;
		r->watch_fired[w] = true;
		fired = 1;
	}
	return fired;
}

int record__poll(struct record *r, int timeout_ms)
{
	int ret = poll_wait(r, timeout_ms);
	unsigned int slice_ms = wake_floor_ms(r);
	double now;

	if (r->tracker) {
		int err = tracker__process(r->tracker);

		if (err >= 0 && r->uw)
			err = unwind_loader__sync(r->uw);
		if (err < 0 && ret >= 0)
			ret = err;
	}
	if (r->stopped || ret < 0)
		return ret < 0 ? ret : 0;
	now = clock__monotonic();
	if (now - r->last_drain >= r->opts.drain_ms / 1000.0 ||
	    (!read_scratch(r) && set_fill(r, r->active) >= r->opts.drain_fill)) {
		int err = drain_flip(r);

		if (err < 0)
			return err;
	}
	/* Name what the drains queued until the next one is due, in slices so the caller's
	 * loop and the fill check keep their pace. */
	if (r->reap_due || r->pend.done < r->pend.len) {
		double next = r->last_drain + r->opts.drain_ms / 1000.0;
		double slice = clock__monotonic() + slice_ms / 1000.0;
		int err = pending_run(r, next < slice ? next : slice);

		if (err < 0)
			return err;
	}
	return ret;
}

/* The ledger: per-CPU counters in the scratch slots, plus the fallback counters map. */
static int read_ledger(struct record *r, uint64_t (*counters)[PROFILE_CNT_MAX],
		       uint64_t (*weights)[PROFILE_CNT_MAX])
{
	__u64 vals[r->ncpus];
	int ev, c, i, err;

	err = read_scratch(r);
	for (ev = 0; !err && ev < r->opts.nr_events; ev++) {
		for (c = 0; c < PROFILE_CNT_MAX; c++) {
			__u32 idx = ev * PROFILE_CNT_MAX + c;

			if (bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.counters), &idx, vals))
				return -errno;
			counters[ev][c] = weights[ev][c] = 0;
			for (i = 0; i < r->ncpus; i++) {
				counters[ev][c] += vals[i] + r->sc[i].counters[idx];
				weights[ev][c] += r->sc[i].lost_weight[idx];
			}
		}
	}
	return err;
}

int record__counters(struct record *r, uint64_t (*counters)[PROFILE_CNT_MAX])
{
	uint64_t w[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];

	return read_ledger(r, counters, w);
}

int record__ledger(struct record *r, uint64_t (*counters)[PROFILE_CNT_MAX],
		   uint64_t (*weights)[PROFILE_CNT_MAX])
{
	return read_ledger(r, counters, weights);
}

int record__peek(struct record *r, uint64_t *taken, uint64_t *lost)
{
	uint64_t cnt[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX], w[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];
	int i, c, err;

	*taken = *lost = 0;
	err = read_ledger(r, cnt, w);
	if (err)
		return err;
	for (i = 0; i < r->opts.nr_events; i++) {
		*taken += cnt[i][PROFILE_CNT_TAKEN];
		for (c = 0; c < PROFILE_CNT_MAX; c++)
			if (counter_is_loss(c))
				*lost += cnt[i][c];
		*lost += r->win.ev[i].table_full;
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

/* A frame known by its name only ("[truncated]", "[unwind:...]", "[unknown]"). */
static void frame_named(struct record *r, size_t n)
{
	r->frames[n] = (struct stack_frame){.name = r->names[n]};
}

/*
 * The table's module of the file a user address is in (0: none), placed at the file's
 * link-time addresses (those its symbols have): the same in every process, and the
 * addresses pprof's readers disassemble and name. me: the mapping of the address.
 */
static int64_t user_module(struct stack_table *table, const struct frame_names *fn,
			   const struct map_entry *me)
{
	struct stack_module sm = {.path = fn->module, .build_id = fn->build_id};
	/* frames[0].address: the address's offset in the file */
	uint64_t off = fn->frames[0].address;

	if (!fn->n || !fn->module || !me)
		return 0;
	sm.offset = me->pgoff;
	sm.start = sm.offset + (fn->module[0] != '[' ? fn->link_addr - off : 0);
	sm.limit = sm.start + (me->end - me->start);
	return stack_table__add_module(table, &sm);
}

static enum stack_frame_kind user_kind(enum sym_frame_kind k)
{
	return k == SYM_FRAME_JIT	? STACK_FRAME_JIT
	       : k == SYM_FRAME_UNKNOWN ? STACK_FRAME_UNKNOWN
					: STACK_FRAME_USER;
}

/* A kernel frame: the symbolizer's record; folded stacks mark it "_[k]", as perf does. */
static void kernel_frame(struct record *r, struct stack_table *table, size_t n, __u64 ip, bool leaf)
{
	static const struct stack_module kernel = {.path = "[kernel.kallsyms]"};
	struct stack_module m = kernel;
	struct sym_frame f;
	int64_t id;

	symbolizer__kernel_sym_frame(r->sym, ip, leaf, &f);
	snprintf(r->names[n], FRAME_NAME_MAX, "%s_[k]", f.function ? f.function : "[unknown]");
	m.start = m.offset = ip;
	m.limit = ip + 1;
	id = stack_table__add_module(table, &m);
	r->frames[n] = (struct stack_frame){.name = r->names[n],
					    .function = f.function,
					    .kind = STACK_FRAME_KERNEL,
					    .module = id > 0 ? id : 0,
					    .address = ip};
}

/* A frame the CFI walk put where it stopped early (bpf/unwind.h). */
static bool unwind_marker(__u64 ip)
{
	return (ip & UNWIND_MARKER_MASK) == UNWIND_MARKER;
}

const char *unwind_stop__name(unsigned int stop)
{
	static const char *const names[] = {
		[UNWIND_STOP_END] = "end",
		[UNWIND_STOP_DEPTH] = "depth",
		[UNWIND_STOP_NO_TABLE] = "no-table",
		[UNWIND_STOP_READ_FAULT] = "read-fault",
		[UNWIND_STOP_BAD_FRAME] = "bad-frame",
		[UNWIND_ENDED_NO_PROC] = "no-process-table",
		[UNWIND_ENDED_NO_REGS] = "no-user-registers",
	};

	return stop < sizeof(names) / sizeof(names[0]) && names[stop] ? names[stop] : "unknown";
}

/* The file (resolved now if it was not yet: found by device and inode when it was loaded
 * for another process) and offset of a user address: the key of its frames in the frame
 * cache. NULL: not a file's code. */
static const struct map_entry *frame_file(struct record *r, pid_t pid, __u64 ip, bool leaf,
					  uint64_t *off)
{
	unsigned long a = leaf ? ip : ip - 1;
	const struct map_entry *m = symbolizer__user_map(r->sym, pid, a);

	/* memfd code is named per process, from its perf map. */
	if (!m || !m->obj || m->path[0] != '/' || !strncmp(m->path, "/memfd:", 7))
		return NULL;
	*off = a - m->start + m->pgoff;
	return m;
}

/* Look one user address up in the symbolizer: its frames (names spelt into buf) into *fn,
 * its file into *mod (fn points into it), its mapping into *me. */
static void frame_lookup(struct record *r, pid_t pid, __u64 ip, bool leaf,
			 char (*buf)[FRAME_NAME_MAX], struct frame_names *fn,
			 struct frame_module *mod, const struct map_entry **me)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	int nf = symbolizer__user_frames(r->sym, pid, ip, leaf, f, SYM_MAX_FRAMES, mod), j;

	*me = mod->path ? aspaces__find(symbolizer__aspaces(r->sym), pid, f[0].address) : NULL;
	fn->n = nf < FRAME_CACHE_FRAMES ? nf : FRAME_CACHE_FRAMES;
	fn->unresolved = 0;
	fn->module = *me ? mod->path : NULL;
	fn->build_id = mod->build_id;
	fn->link_addr = f[0].offset;
	for (j = 0; j < (int)fn->n; j++) {
		if (symbolizer__format(r->sym, &f[j], buf[j], FRAME_NAME_MAX) != SYM_RESOLVED)
			fn->unresolved |= 1u << j;
		fn->frames[j] = (struct stack_frame){
			.name = buf[j],
			.function = f[j].kind == SYM_FRAME_FUNCTION || f[j].kind == SYM_FRAME_JIT
					    ? f[j].function
					    : NULL,
			.file = f[j].file,
			.line = f[j].line,
			.inlined = j > 0 && f[j].inlined,
			.kind = user_kind(f[j].kind),
			/* the offset in the file: the same code in every process */
			.address = *me ? f[j].address - (*me)->start + (*me)->pgoff : f[j].address,
		};
	}
}

/* The key being named: its process, the version of its mappings, its table. */
struct name_ctx {
	pid_t pid;
	uint64_t gen, version;
	unsigned int event;
	struct stack_table *table;
};

/*
 * The frames of a user address the memo does not hold, *module their module: from the
 * frame cache (then remembered in the memo), else looked up into *fn (names spelt into
 * buf, which the caller keeps).
 */
static const struct frame_names *frame_find(struct record *r, const struct name_ctx *c, __u64 ip,
					    bool leaf, char (*buf)[FRAME_NAME_MAX],
					    struct frame_names *fn, uint32_t *module)
{
	struct frame_module mod = {.path = NULL};
	const struct frame_names *known;
	const struct map_entry *m, *me;
	uint64_t off = 0;
	int64_t id;

	m = frame_file(r, c->pid, ip, leaf, &off);
	known = m ? frame_cache__find(r->frames_named, m->obj, m->path, off, leaf) : NULL;
	if (known) {
		id = user_module(c->table, known, m);
		*module = id > 0 ? id : 0;
		/* Version 0: no generation, nothing that stays put. */
		if (id >= 0 && c->version)
			frame_memo__add(r->memo, c->version, ip, leaf, c->event, known, *module);
		return known;
	}
	frame_lookup(r, c->pid, ip, leaf, buf, fn, &mod, &me);
	if (m)
		frame_cache__add(r->frames_named, m->obj, m->path, off, leaf, fn);
	id = user_module(c->table, fn, me);
	*module = id > 0 ? id : 0;
	return fn;
}

/*
 * The frames of one user address into frames[n...]: its function, then the functions
 * inlined there while room is left (room: names that may still be used, the frames
 * after this one included). Returns the next free index. A file's frame named before
 * (in any process) comes from the frame cache, whose strings the frames point to: it is
 * cleared only between stacks.
 */
static size_t name_user_frame(struct record *r, struct name_ctx *c, __u64 ip, bool leaf, size_t n,
			      size_t room, bool *unresolved)
{
	char buf[FRAME_CACHE_FRAMES][FRAME_NAME_MAX];
	struct stack_frame frames[FRAME_CACHE_FRAMES];
	struct frame_names fn = {.frames = frames};
	const struct frame_names *known = NULL;
	unsigned int j, nf;
	uint32_t module = 0;

	if (c->version)
		known = frame_memo__find(r->memo, c->version, ip, leaf, c->event, &module);
	if (!known)
		known = frame_find(r, c, ip, leaf, buf, &fn, &module);
	/* A lookup may have read /proc/PID/maps again (an address not covered): the frames
	 * after it are remembered, and looked for, under the new version. */
	if (known == &fn && c->version)
		c->version = aspaces__version(symbolizer__aspaces(r->sym), c->pid, c->gen);
	nf = known->n;
	if (nf > room)
		nf = room > 0 ? room : 1;
	for (j = 0; j < nf; j++, n++) {
		if (known->unresolved & (1u << j))
			*unresolved = true;
		r->frames[n] = known->frames[j];
		r->frames[n].module = module;
		/* Looked up now: buf goes with this call. */
		if (known == &fn) {
			snprintf(r->names[n], FRAME_NAME_MAX, "%s", known->frames[j].name);
			r->frames[n].name = r->names[n];
		}
	}
	return n;
}

/* Name the frames of a key: "comm;user outer..leaf;kernel outer..leaf". */
static size_t name_stack(struct record *r, const struct profile_key *key, uint64_t version,
			 struct stack_table *table, bool *unresolved)
{
	struct name_ctx ctx = {key->pid, key->gen, version, key->event, table};
	char(*names)[FRAME_NAME_MAX] = r->names;
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

	if (r->opts.per_pid)
		snprintf(names[n], FRAME_NAME_MAX, "%.*s-%u", PROFILE_COMM_LEN,
			 key->comm[0] ? key->comm : "[unknown]", key->pid);
	else
		snprintf(names[n], FRAME_NAME_MAX, "%.*s", PROFILE_COMM_LEN,
			 key->comm[0] ? key->comm : "[unknown]");
	r->frames[n] = (struct stack_frame){
		.name = names[n], .kind = STACK_FRAME_PROCESS, .address = key->tid};
	n++;
	/* The outermost frames were cut at the depth limit: say so at the root (the CFI
	 * walk says so in its marker frame). */
	if (nu && unwind_marker(uips[nu - 1]))
		;
	else if ((r->opts.user_depth && ulen >= r->opts.user_depth) ||
		 (r->opts.kern_depth && klen >= r->opts.kern_depth) ||
		 klen + ulen >= r->callchain_max) {
		snprintf(names[n], FRAME_NAME_MAX, "[truncated]");
		frame_named(r, n++);
	}
	/* This process, not another one that had its pid before or after. */
	aspaces__select(symbolizer__aspaces(r->sym), key->pid, key->gen);
	for (i = nu; i-- > 0; n++) {
		/* The user leaf is exact only when the sample hit user mode. */
		bool leaf = i == 0 && nk == 0;

		if (unwind_marker(uips[i])) {
			snprintf(names[n], FRAME_NAME_MAX, "[unwind:%s]",
				 unwind_stop__name(uips[i] & ~UNWIND_MARKER_MASK));
			frame_named(r, n);
			continue;
		}
		if (finish_cut_short(r)) {
			frame_unsymbolized(names[n]);
			frame_named(r, n);
			*unresolved = true;
			continue;
		}
		n = name_user_frame(r, &ctx, uips[i], leaf, n, NAMES_MAX - n - nk - i, unresolved) -
		    1;
	}
	aspaces__select(symbolizer__aspaces(r->sym), 0, 0);
	for (i = nk; i-- > 0; n++)
		kernel_frame(r, table, n, kips[i], i == 0);
	return n;
}

/* A key named in this generation and version of its process's mappings is cached. */
static void named_in__note(struct named_in *in, pid_t pid, uint64_t gen, uint64_t version)
{
	size_t i;

	/* Keys come by process: the last one noted, mostly. */
	for (i = in->nr; i-- > 0;)
		if (in->v[i].version == version && in->v[i].pid == pid && in->v[i].gen == gen)
			return;
	if (in->nr < NAMED_IN_MAX)
		in->v[in->nr++] = (struct named_gen){pid, gen, version};
	else
		in->over = true;
}

static void named_forget(struct record *r)
{
	stack_cache__clear(r->named);
	r->named_in.nr = 0;
	r->named_in.over = false;
}

/* The named frames go (the memo points into them). */
static void frames_forget(struct record *r)
{
	frame_cache__clear(r->frames_named);
	frame_memo__reset(r->memo);
}

/* The bytes of a key that name its stack: the header and the frames captured. */
static size_t key_len(const struct profile_key *k)
{
	size_t nf = (size_t)k->kern_len + k->user_len, max = 2 * PROFILE_MAX_DEPTH + 2;

	return PROFILE_KEY_HDR_SIZE + (nf < max ? nf : max) * sizeof(__u64);
}

/* A stack counted in its table (ref NULL: a new one beyond max_table), told to on_stack. */
static void stack_told(struct record *r, const struct profile_key *k, const struct stack_ref *ref,
		       const struct stack_count *c)
{
	struct record_stack s = {k->event, k->pid, k->gen, r->agg[k->event], ref, *c};

	if (r->opts.on_stack)
		r->opts.on_stack(r->opts.on_stack_ctx, &s);
}

/*
 * Name a key's stack and add it to its table, remembering the name for the next drains
 * while the mappings it was named in do not change (a perf map is read once per generation, and
 * re-reading /proc/PID/maps changes the version). Not when the finish was cut short:
 * its "[unknown]" frames say nothing about the key.
 */
static int add_named(struct record *r, const struct profile_key *k, uint64_t hash, uint64_t version,
		     const struct stack_count *c, bool *unresolved)
{
	struct stack_table *t = r->agg[k->event];
	const struct stack_ref *stored = NULL;
	size_t n;
	int err;

	/* Full: starts over, now that no frame being named points into it. */
	if (frame_cache__len(r->frames_named) >= FRAME_CACHE_MAX)
		frames_forget(r);
	n = name_stack(r, k, version, t, unresolved);

	r->win.symbolized++;
	err = stack_table__add_frames(t, r->frames, n, c, r->opts.max_table, &stored);
	/* The table has its strings: files' DWARF may go for the budget at the next load. */
	symbolizer__frames_copied(r->sym);
	if (!err)
		stack_told(r, k, stored, c);
	if (err || finish_cut_short(r))
		return err;
	/* Bounded like the tables (entries name stacks in them), and in memory: keys of deep
	 * stacks run to a kilobyte. */
	if (stack_cache__len(r->named) >= r->opts.max_table * r->opts.nr_events ||
	    stack_cache__bytes(r->named) >= STACK_CACHE_BYTES)
		named_forget(r);
	err = stack_cache__add(r->named, k, key_len(k), hash, version, stored, *unresolved);
	if (!err)
		named_in__note(&r->named_in, k->pid, k->gen, version);
	return err;
}

/* A drained key's samples, in stacks. */
static void count_key(struct record *r, const struct profile_key *k,
		      const struct profile_value *sum, bool unresolved)
{
	struct record_event_stats *es = &r->win.ev[k->event];

	es->samples_in_stacks += sum->samples;
	es->weight += sum->weight;
	es->stacks++;
	r->win.in_stacks += sum->samples;
	if (unresolved)
		r->win.unresolved_user += sum->samples;
}

/* A key named in an earlier drain, its mappings unchanged: counted under that name. */
static bool add_known(struct record *r, const struct profile_key *k, uint64_t hash,
		      const struct profile_value *sum)
{
	uint64_t version = aspaces__version(symbolizer__aspaces(r->sym), k->pid, k->gen);
	bool unresolved = false;
	const struct stack_ref *known =
		stack_cache__find(r->named, k, key_len(k), hash, version, &unresolved);
	struct stack_count c = {sum->samples, sum->weight};

	if (!known || stack_table__add_ref(r->agg[k->event], known, &c))
		return false;
	stack_told(r, k, known, &c);
	r->win.cache_hits++;
	count_key(r, k, sum, unresolved);
	return true;
}

/* A key to name: symbolized and added to its table, or counted in table_full. */
static int add_new(struct record *r, const struct profile_key *k, uint64_t hash,
		   const struct profile_value *sum)
{
	uint64_t version = aspaces__version(symbolizer__aspaces(r->sym), k->pid, k->gen);
	struct record_event_stats *es = &r->win.ev[k->event];
	struct stack_count c = {sum->samples, sum->weight};
	bool unresolved = false;
	int err;

	if (r->name_delay_us)
		usleep(r->name_delay_us);
	err = add_named(r, k, hash, version, &c, &unresolved);

	if (err == -ENOSPC) {
		stack_told(r, k, NULL, &c);
		es->table_full += sum->samples;
		es->table_full_weight += sum->weight;
		return 0;
	}
	if (!err)
		count_key(r, k, sum, unresolved);
	return err;
}

/* A cached key whose mappings changed (or whose process is gone) names nothing any more.
 * The keys still good are noted in r->named_in anew. */
static bool key_stale(const void *key, size_t len, uint64_t version, void *arg)
{
	const struct profile_key *k = key;
	struct record *r = arg;

	(void)len;
	if (aspaces__version(symbolizer__aspaces(r->sym), k->pid, k->gen) != version)
		return true;
	named_in__note(&r->named_in, k->pid, k->gen, version);
	return false;
}

/* The cached keys that name nothing any more go: none when none of the generations they
 * were named in changed (the usual drain: a sweep of every key costs a lookup each). */
static void named_sweep(struct record *r)
{
	struct named_in *in = &r->named_in;
	size_t i;

	for (i = 0; i < in->nr && !in->over; i++)
		if (aspaces__version(symbolizer__aspaces(r->sym), in->v[i].pid, in->v[i].gen) !=
		    in->v[i].version)
			break;
	if (i == in->nr && !in->over)
		return;
	in->nr = 0;
	in->over = false;
	stack_cache__sweep(r->named, key_stale, r);
}

/* A drained key waiting to be named: its summed value and its key_len() bytes. */
struct pending_key {
	struct profile_value sum;
	uint64_t len;
	uint64_t hash;	/* stack_cache__hash() */
	uint64_t key[]; /* 8-byte aligned: read back as struct profile_key */
};

static size_t pending_size(size_t key_bytes)
{
	return sizeof(struct pending_key) + ((key_bytes + 7) & ~(size_t)7);
}

/*
 * One key copied out of an idle map: counted now when it was named before, else queued
 * to be named once the maps are emptied, so that the next flip does not wait for
 * symbolization.
 */
static int take_key(struct record *r, const struct profile_key *k, const struct profile_value *sum)
{
	struct pending_queue *q = &r->pend;
	size_t len = key_len(k), need;
	struct pending_key *e;
	uint64_t hash;

	if (k->event >= (unsigned int)r->opts.nr_events || !sum->samples)
		return 0;
	hash = stack_cache__hash(k, len);
	if (add_known(r, k, hash, sum))
		return 0;
	need = pending_size(len);
	/* What was named makes room. */
	if (q->done && q->len + need > q->cap) {
		memmove(q->buf, q->buf + q->done, q->len - q->done);
		q->len -= q->done;
		q->asked -= q->done;
		q->done = 0;
	}
	if (q->len + need > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 65536;
		char *buf;

		while (cap < q->len + need)
			cap *= 2;
		buf = realloc(q->buf, cap);
		if (!buf)
			return -ENOMEM;
		q->buf = buf;
		q->cap = cap;
	}
	e = (struct pending_key *)(q->buf + q->len);
	e->sum = *sum;
	e->len = len;
	e->hash = hash;
	memcpy(e->key, k, len);
	q->len += need;
	return 0;
}

/*
 * Every queued key is named: the address spaces of processes that exited before the
 * latest flip may go (all their samples are drained), and cached names that no longer
 * hold. A large queue's memory is given back.
 */
static void pending_done(struct record *r)
{
	struct pending_queue *q = &r->pend;

	q->len = q->done = q->asked = 0;
	if (q->cap > PENDING_KEEP_BYTES) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
	if (!r->reap_due)
		return;
	r->reap_due = false;
	r->win.reaped += aspaces__reap(symbolizer__aspaces(r->sym), r->reap_before);
	named_sweep(r);
	/* Files unloaded: the pages they held go back to the system, and their addresses
	 * may name other files from now on. */
	if (symbolizer__sweep(r->sym)) {
		frames_forget(r);
		malloc_trim(0);
	}
}

/* The kernel frames of the keys queued since the last time, named in one go. */
static void pending_ask_kernel(struct record *r)
{
	struct pending_queue *q = &r->pend;

	for (; q->asked < q->len;
	     q->asked += pending_size(((struct pending_key *)(q->buf + q->asked))->len)) {
		const struct pending_key *e = (const struct pending_key *)(q->buf + q->asked);
		const struct profile_key *k = (const struct profile_key *)e->key;
		unsigned int i, klen = k->kern_len, first = 1;

		if (klen > r->opts.kern_depth)
			klen = r->opts.kern_depth;
		/* The leaf is the first frame that is no marker, as name_stack() counts. */
		for (i = 0; i < klen && (size_t)i * 8 + PROFILE_KEY_HDR_SIZE < e->len; i++) {
			if (is_marker(k->frames[i]))
				continue;
			symbolizer__kernel_want(r->sym, k->frames[i], first);
			first = 0;
		}
	}
	symbolizer__kernel_name(r->sym);
}

/* Name queued keys until deadline (monotonic seconds); all of them with a negative one. */
static int pending_run(struct record *r, double deadline)
{
	struct pending_queue *q = &r->pend;
	int err = 0;

	if (r->ksym_names)
		pending_ask_kernel(r);
	while (q->done < q->len && !err) {
		struct pending_key *e = (struct pending_key *)(q->buf + q->done);

		/* The clock costs far less than naming a key. */
		if (deadline >= 0 && clock__monotonic() >= deadline)
			return 0;
		/* A whole key: frames past the captured ones read as zero. */
		memset(r->one, 0, sizeof(*r->one));
		memcpy(r->one, e->key, e->len);
		if (!add_known(r, r->one, e->hash, &e->sum))
			err = add_new(r, r->one, e->hash, &e->sum);
		q->done += pending_size(e->len);
	}
	if (!err)
		pending_done(r);
	return err;
}

/* Kernels without batch operations (before 5.6): one key at a time. */
static int copy_map_slow(struct record *r, int fd, size_t key_size)
{
	struct profile_key *key = r->buf.keys;
	int err;

	memset(key, 0, sizeof(*key));
	while (bpf_map_get_next_key(fd, NULL, key) == 0) {
		if (bpf_map_lookup_elem(fd, key, r->buf.vals) == 0) {
			err = take_key(r, key, r->buf.vals);
			if (err)
				return err;
		}
		if (bpf_map_delete_elem(fd, key))
			return -errno;
		memset(key, 0, key_size);
	}
	return 0;
}

/* Empty one idle map (batch lookup-and-delete): keys named before are counted, the
 * others queued. */
static int copy_map(struct record *r, int fd, size_t key_size)
{
	const struct profile_value *vals = r->buf.vals;
	bool first = true;
	int err = 0, e = 0;
	__u32 i, count;

	while (!err && e != -ENOENT) {
		count = r->buf.cap;
		e = bpf_map_lookup_and_delete_batch(fd, first ? NULL : r->buf.batch, r->buf.batch,
						    r->buf.keys, r->buf.vals, &count, NULL);
		if (e && e != -ENOENT) {
			if (first && (e == -EINVAL || e == -ENOTSUP || e == -EOPNOTSUPP))
				return copy_map_slow(r, fd, key_size);
			return e;
		}
		first = false;
		/* The batch packs keys key_size apart; key_len() never passes it. */
		for (i = 0; i < count && !err; i++)
			err = take_key(r, (void *)((char *)r->buf.keys + i * key_size), &vals[i]);
	}
	return err;
}

static int64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Wait until no program still runs with the old set: perf_event programs run inside RCU
 * read-side sections (NMI or hard interrupt, under rcu_read_lock), and
 * membarrier(MEMBARRIER_CMD_GLOBAL) returns after a grace period (synchronize_rcu). It
 * fails on nohz_full kernels: then wait far longer than a program runs.
 */
static void wait_for_programs(struct record *r)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return;
	r->win.sync_fallback = true;
	usleep(20000);
}

/*
 * Flip the set the program adds to, wait for the programs still using the old one, and
 * copy the old set out: keys named before are counted, the others queued for
 * pending_run(). Nothing is symbolized here, so the next flip keeps its cadence.
 */
static int drain_flip(struct record *r)
{
	int old = r->active, tier, err = 0;
	int64_t flip = boottime_ns();
	double fill;

	/* Symbolization far behind: catch up before queueing more. */
	if (r->pend.len - r->pend.done > PENDING_MAX_BYTES)
		err = pending_run(r, -1);
	if (err)
		return err;
	r->active ^= 1;
	__atomic_store_n(&r->skel->bss->active_set, r->active, __ATOMIC_SEQ_CST);
	wait_for_programs(r);
	r->last_drain = clock__monotonic();
	/* The mappings of every sample in the old set are in the rings by now. */
	if (r->tracker) {
		err = tracker__process(r->tracker);
		if (err > 0)
			err = 0;
	}
	if (!err)
		err = read_scratch(r);
	if (err)
		return err;
	fill = set_fill(r, old);
	r->win.max_fill = fill > r->win.max_fill ? fill : r->win.max_fill;
	for (tier = 0; tier < PROFILE_TIERS && !err; tier++)
		err = copy_map(r, r->map_fd[old][tier], r->key_size[tier]);
	if (err)
		return err;
	for (tier = 0; tier < PROFILE_TIERS; tier++)
		r->new_keys_base[old * 4 + tier] = new_keys(r, old * 4 + tier);
	r->win.drains++;
	/* Once every key queued so far is named, who exited before this flip may go. */
	r->reap_before = flip;
	r->reap_due = true;
	return 0;
}

int record__drain_now(struct record *r)
{
	int err = drain_flip(r);

	return err ? err : pending_run(r, -1);
}

/* The ledger of the window: what was taken but not stored appears as its own frame. */
static int add_ledger(struct record *r, struct stack_table **tables, struct record_stats *st)
{
	uint64_t cnt[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX], w[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX];
	int i, c, err = read_ledger(r, cnt, w);

	for (i = 0; !err && i < r->opts.nr_events; i++) {
		struct record_event_stats *es = &st->ev[i];

		for (c = 0; c < PROFILE_CNT_MAX; c++) {
			es->counters[c] = cnt[i][c] - r->ledger_base[i][c];
			es->lost_weight[c] = w[i][c] - r->lost_weight_base[i][c];
			r->ledger_base[i][c] = cnt[i][c];
			r->lost_weight_base[i][c] = w[i][c];
		}
		st->taken += es->counters[PROFILE_CNT_TAKEN];
		for (c = 0; c <= PROFILE_CNT_MAX && !err; c++) {
			bool table_full = c == PROFILE_CNT_MAX;
			uint64_t v = table_full ? es->table_full : es->counters[c];
			uint64_t wt = table_full ? es->table_full_weight : es->lost_weight[c];
			char frame[64];

			if ((!table_full && !counter_is_loss(c)) || !v)
				continue;
			st->lost += v;
			snprintf(frame, sizeof(frame), "[lost:%s]",
				 table_full ? "table_full" : counter_names[c]);
			err = stack_table__add_joined_counts(tables[i], frame,
							     &(struct stack_count){v, wt});
		}
	}
	return err;
}

/* How user stacks ended since the start (per-CPU counters of the walk), tables loaded. */
static void unwind_take(struct record *r, struct record_stats *st)
{
	struct unwind_scratch *us;
	__u32 zero = 0;
	int i, c;

	st->unwind = r->opts.unwind;
	if (!r->opts.unwind)
		return;
	if (r->uw)
		unwind_loader__stats(r->uw, &st->unwind_tables);
	us = calloc(r->ncpus, sizeof(*us));
	if (us && !bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.unwind_scratch), &zero, us))
		for (i = 0; i < r->ncpus; i++)
			for (c = 0; c < 8; c++)
				st->unwind_ends[c] += us[i].ends[c];
	free(us);
}

int record__take(struct record *r, struct stack_table **tables, struct record_stats *st)
{
	int i, err = pending_run(r, -1);

	if (err)
		return err;
	*st = r->win;
	memset(&r->win, 0, sizeof(r->win));
	/* The cached names point into the tables handed over now, and the memo has their
	 * modules' ids. */
	named_forget(r);
	frame_memo__reset(r->memo);
	st->attach_used = r->mode;
	if (r->tracker)
		st->track_lost = tracker__lost(r->tracker);
	st->untracked_pids = aspaces__dropped(symbolizer__aspaces(r->sym));
	st->kernel_syms_hidden = r->opts.kern_depth && symbolizer__kernel_hidden(r->sym);
	unwind_take(r, st);
	for (i = 0; i < r->opts.nr_events; i++) {
		struct stack_table *t = tables[i];

		tables[i] = r->agg[i];
		r->agg[i] = t;
		stack_table__set_weighted(tables[i], r->opts.count_weight[i]);
		stack_table__set_weighted(r->agg[i], r->opts.count_weight[i]);
	}
	return add_ledger(r, tables, st);
}

int record__drain(struct record *r, struct stack_table **tables, struct record_stats *st)
{
	int err, set;

	record__stop(r);
	/* Both sets: the active one and the one a failed earlier drain may have left. */
	for (set = 0; set < PROFILE_SETS; set++) {
		err = record__drain_now(r);
		if (err)
			return err;
	}
	return record__take(r, tables, st);
}
