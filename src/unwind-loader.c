// SPDX-License-Identifier: GPL-2.0
/*
 * CFI unwind tables into the sampler's maps (bpf/unwind-walk.h). For every process whose
 * mappings changed, the tables of the files it maps are compiled (shared through the
 * unwind cache, by build id or inode), each file's rows go into an inner array of the
 * map-in-map once, and the process's sorted mapping list (table slot and load bias per
 * mapping) into the pid hash. Order: rules, rows, slot, then the process, so the walk
 * never sees a half-loaded table. A file is unloaded with the last process mapping it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "hashmap.h"
#include "keycache.h"
#include "log.h"
#include "symbolize/unwind-table.h"
#include "unwind-loader.h"
#include "array.h"

#define PROC_BYTES	sizeof(struct unwind_proc)
#define UNWIND_WARM_MAX 8
/* A table no sample used for this long (unwind_used clock) may be evicted: about 1 s. */
#define UNWIND_IDLE (1000000000ull >> UNWIND_USED_SHIFT)
/* Table building per sync before the rest waits for the next one. */
#define UNWIND_SYNC_BUDGET_S 0.05
/* A table no process maps any more is kept this long (seconds), for the next process
 * that maps the file (a program run again and again), and at most this many. */
#define UNWIND_HOLD_S	5
#define UNWIND_HOLD_MAX 256
/* Files up to this size, sampled before they were built, are built in the record loop. */
#define UNWIND_INLINE_BYTES (2u << 20)

/*
 * One file's table, in the kernel unless slot is UNWIND_NO_TABLE (no rows, no room, or not
 * built yet). Its rows stay in user space only until they are in the kernel: the inner
 * array (fd) is what is kept, and a file evicted is built again when a walk needs it.
 */
struct loaded {
	struct loaded *next;	   /* every file, for the sweeps */
	struct hashmap_entry node; /* by device and inode */
	struct unwind_table *t;	   /* NULL: not built yet (system-wide: built once sampled) */
	dev_t dev;
	ino_t ino;
	/* A mapping of the file (the last one seen): where it is opened to be built again. */
	pid_t loc_pid;
	unsigned long loc_start, loc_end;
	int fd; /* its inner array while it has a slot, or -1 */
	uint32_t slot, rows;
	uint32_t tag; /* slot | serial << UNWIND_TABLE_SLOT_BITS: what process entries hold */
	uint64_t bytes;
	unsigned int refs; /* mappings of live processes */
	uint64_t since;	   /* loaded, or last tried, on the unwind_used clock */
	int miss;	   /* without a slot: its miss clock (unwind_used), or -1 */
	bool no_fit;	   /* counted in no_fit_files until it finds room */
	bool evicted;	   /* since its last load */
	char *path;	   /* as the first process mapped it (for -v) */
};

struct proc {
	struct hashmap_entry node; /* by pid */
	pid_t pid;
	uint64_t sig; /* fingerprint of the mapping list last synced */
	struct loaded **files;
	size_t nr;
	/* Prepared by a sync, written once the outer map holds its tables. */
	struct unwind_proc *next_entry;
	struct loaded **next_files;
	size_t next_nr;
	uint64_t next_sig;
	bool in_kernel;
};

/*
 * A file's table built in the builder thread, so that compiling a large binary's CFI (a
 * compiler: seconds) never holds up the record loop. The thread only reads the file and
 * fills t and rules; the record loop adopts the result into the cache and syncs the
 * processes that waited for it.
 */
struct build {
	struct build *next;
	int fd;
	dev_t dev;
	ino_t ino;
	off_t size;
	bool done; /* under the mutex; then t, rules are the thread's result */
	struct unwind_table *t;
	struct unwind_rules *rules;
	pid_t *waiters;
	size_t nr_waiters, cap_waiters;
};

/* The builder thread and its queue, shared with the loader: a record that ends while a
 * large file is being built does not wait for it (the last of the two frees this). */
struct builder {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool on, quit;
	int refs;
	struct build *builds; /* outstanding, oldest first */
	int done_fd;	      /* an eventfd: readable once a build is done (-1: none) */
};

/* A reference to a table no process maps now, kept a while (UNWIND_HOLD_S), with its
 * inner array (fd, or -1): the next process that maps the file needs no build. */
struct hold {
	struct unwind_table *t;
	double until;
	int fd;
};

/* A change to the outer map, applied in one batch per sync (each update of a map-in-map
 * from user space waits for an RCU grace period: one wait per sync, not per file). */
struct slot_change {
	uint32_t slot;
	int fd; /* the new inner array, or -1: empty the slot (the file was unloaded) */
};

/*
 * A process found outside the profiled ones, remembered a while: on a busy machine the
 * tracker reports every process's mappings, and reading each one's /proc/PID/stat again
 * on every report costs more than the whole walk. Short-lived, as pids are reused.
 */
#define DENIED_MAX     512
#define DENIED_HOLD_US 1000000

/*
 * A process whose walk met a pc outside every mapping the tracker knows for it is read
 * again from /proc: at most once per REREAD_HOLD_US each, and REREAD_PER_S in all per
 * second, so that no process (one jumping into memory it maps and unmaps, a storm of
 * them) keeps the record loop reading /proc.
 */
#define REREAD_MAX     512
#define REREAD_HOLD_US 1000000
#define REREAD_PER_S   16

struct unwind_loader {
	struct unwind_loader_opts o;
	struct unwind_cache *cache;
	struct loaded *loaded;
	struct hashmap files; /* struct loaded by device and inode */
	struct hashmap procs; /* struct proc by pid */
	pid_t *touched;
	size_t nr_touched, cap_touched;
	pid_t last_prepared; /* where the next sync's slice starts (round robin) */
	unsigned char slots[UNWIND_MAX_TABLES / 8];
	unsigned char misses[UNWIND_MAX_TABLES / 8];
	uint64_t *used_clock; /* unwind_used, mmapped; NULL: no eviction */
	uint32_t *retired;    /* slots of evicted tables, free after this sync's flush */
	size_t nr_retired, cap_retired;
	size_t rules_loaded;
	uint32_t serial; /* of the last slot filled (bpf/unwind.h: a table's tag) */
	uint64_t used;
	struct unwind_loader_stats st;
	struct unwind_table *warm[UNWIND_WARM_MAX]; /* built ahead, held until freed */
	int nr_warm;
	struct slot_change *changes;
	size_t nr_changes, cap_changes;
	int empty_fd;	     /* a one-row inner array put where a file was unloaded */
	struct proc **ready; /* procs prepared in this sync */
	size_t nr_ready, cap_ready;
	struct builder *bt;
	struct hold holds[UNWIND_HOLD_MAX];
	size_t nr_holds;
	/* Per-task records: only these processes and their descendants get tables. */
	bool restricted;
	pid_t *allowed;
	size_t nr_allowed, cap_allowed;
	struct keycache denied; /* pid → until when (val[0], monotonic µs) */
	/* pid → not read again before (val[0], monotonic µs), the sync its unknown pc was
	 * first met in (val[1], 0: none) */
	struct keycache reread;
	uint64_t syncs;	  /* syncs so far, from 1 */
	double reread_t0; /* the second the rate bound counts in, and its reads */
	unsigned int reread_n;
};

struct file_key {
	dev_t dev;
	ino_t ino;
};

static uint64_t file_hash(dev_t dev, ino_t ino)
{
	return hash__u64(((uint64_t)dev << 32) ^ ino);
}

static bool file_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	const struct loaded *f = hashmap_entry__of(e, struct loaded, node);
	const struct file_key *k = key;

	return f->dev == k->dev && f->ino == k->ino;
}

static struct loaded *file_find(const struct unwind_loader *l, dev_t dev, ino_t ino)
{
	struct file_key k = {dev, ino};
	struct hashmap_entry *e = hashmap__find(&l->files, file_hash(dev, ino), &k);

	return e ? hashmap_entry__of(e, struct loaded, node) : NULL;
}

static bool proc_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	return hashmap_entry__of(e, struct proc, node)->pid == *(const pid_t *)key;
}

static struct proc *proc_find(const struct unwind_loader *l, pid_t pid)
{
	struct hashmap_entry *e = hashmap__find(&l->procs, hash__u64(pid), &pid);

	return e ? hashmap_entry__of(e, struct proc, node) : NULL;
}

/* The next process of an iteration over all of them, or NULL. */
static struct proc *proc_next(struct hashmap_iter *it)
{
	struct hashmap_entry *e = hashmap_iter__next(it);

	return e ? hashmap_entry__of(e, struct proc, node) : NULL;
}

struct unwind_loader *unwind_loader__new(const struct unwind_loader_opts *opts)
{
	struct unwind_loader *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->o = *opts;
	l->empty_fd = -1;
	hashmap__init(&l->files, file_match, NULL);
	hashmap__init(&l->procs, proc_match, NULL);
	keycache__init(&l->denied, DENIED_MAX);
	keycache__init(&l->reread, REREAD_MAX);
	l->bt = calloc(1, sizeof(*l->bt));
	if (!l->bt) {
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->bt->mu, NULL);
	pthread_cond_init(&l->bt->cv, NULL);
	l->bt->refs = 1;
	l->bt->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!l->o.proc_root)
		l->o.proc_root = "/proc";
	l->cache = unwind_cache__new();
	if (!l->cache) {
		free(l);
		return NULL;
	}
	if (l->o.used_fd >= 0) {
		void *m = mmap(NULL, UNWIND_USED_SLOTS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			       MAP_SHARED, l->o.used_fd, 0);

		l->used_clock = m == MAP_FAILED ? NULL : m;
	}
	return l;
}

static int slot_change(struct unwind_loader *l, uint32_t slot, int fd)
{
	size_t i;

	for (i = 0; i < l->nr_changes; i++)
		if (l->changes[i].slot == slot) {
			if (l->changes[i].fd >= 0)
				close(l->changes[i].fd);
			l->changes[i].fd = fd;
			return 0;
		}
	if (ARRAY_RESERVE(l->changes, l->cap_changes, l->nr_changes + 1, 64))
		return -ENOMEM;
	l->changes[l->nr_changes++] = (struct slot_change){.slot = slot, .fd = fd};
	return 0;
}

/* Apply the queued outer-map changes: one batch (one by one where batches are missing). */
static int slot_flush(struct unwind_loader *l)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	uint32_t *keys, count;
	int *fds, err = 0;
	size_t i;

	if (!l->nr_changes)
		return 0;
	if (l->empty_fd < 0)
		l->empty_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pmuprof_uwnone", sizeof(uint32_t),
					     sizeof(struct unwind_row), 1, &o);
	keys = calloc(l->nr_changes, sizeof(*keys));
	fds = calloc(l->nr_changes, sizeof(*fds));
	if (!keys || !fds || l->empty_fd < 0) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l->nr_changes; i++) {
		keys[i] = l->changes[i].slot;
		fds[i] = l->changes[i].fd >= 0 ? l->changes[i].fd : l->empty_fd;
	}
	count = l->nr_changes;
	if (bpf_map_update_batch(l->o.tables_fd, keys, fds, &count, NULL))
		for (i = 0; i < l->nr_changes && !err; i++)
			if (bpf_map_update_elem(l->o.tables_fd, &keys[i], &fds[i], 0))
				err = -errno;
out:
	for (i = 0; i < l->nr_changes; i++)
		if (l->changes[i].fd >= 0)
			close(l->changes[i].fd);
	l->nr_changes = 0;
	free(keys);
	free(fds);
	return err;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bit_alloc(unsigned char *bits)
{
	int i;

	for (i = 0; i < UNWIND_MAX_TABLES; i++)
		if (!(bits[i / 8] & (1u << (i % 8)))) {
			bits[i / 8] |= 1u << (i % 8);
			return i;
		}
	return -ENOSPC;
}

static void bit_clear(unsigned char *bits, uint32_t i)
{
	bits[i / 8] &= ~(1u << (i % 8));
}

static uint64_t clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec) >> UNWIND_USED_SHIFT;
}

/* A file without a table gets a miss clock: the walk marks it when it needs the file. */
static void miss_set(struct unwind_loader *l, struct loaded *f)
{
	if (f->miss >= 0 || !l->used_clock)
		return;
	f->miss = bit_alloc(l->misses);
	if (f->miss >= 0)
		l->used_clock[UNWIND_MAX_TABLES + f->miss] = 0;
}

static void miss_clear(struct unwind_loader *l, struct loaded *f)
{
	if (f->miss >= 0)
		bit_clear(l->misses, f->miss);
	f->miss = -1;
}

static void hold_drop(struct unwind_loader *l, struct hold *h)
{
	unwind_cache__put(l->cache, h->t);
	if (h->fd >= 0)
		close(h->fd);
}

/* Keep a reference to t a while (passed in, with its inner array fd or -1), for the next
 * process that maps its file. */
static void hold(struct unwind_loader *l, struct unwind_table *t, int fd)
{
	if (l->nr_holds == UNWIND_HOLD_MAX) {
		hold_drop(l, &l->holds[0]);
		memmove(l->holds, l->holds + 1, --l->nr_holds * sizeof(*l->holds));
	}
	l->holds[l->nr_holds++] =
		(struct hold){.t = t, .until = mono_now() + UNWIND_HOLD_S, .fd = fd};
}

/* The inner array held for t, taken over, or -1. */
static int hold_take_fd(struct unwind_loader *l, const struct unwind_table *t)
{
	size_t i;
	int fd;

	for (i = 0; i < l->nr_holds; i++)
		if (l->holds[i].t == t && l->holds[i].fd >= 0) {
			fd = l->holds[i].fd;
			l->holds[i].fd = -1;
			return fd;
		}
	return -1;
}

static void holds_expire(struct unwind_loader *l, bool all)
{
	double now = mono_now();
	size_t n = 0;

	while (n < l->nr_holds && (all || l->holds[n].until <= now))
		hold_drop(l, &l->holds[n++]);
	memmove(l->holds, l->holds + n, (l->nr_holds - n) * sizeof(*l->holds));
	l->nr_holds -= n;
}

static void file_put(struct unwind_loader *l, struct loaded *f)
{
	struct loaded **pp;

	if (!f || --f->refs)
		return;
	for (pp = &l->loaded; *pp != f; pp = &(*pp)->next)
		;
	*pp = f->next;
	if (file_find(l, f->dev, f->ino) == f)
		hashmap__del(&l->files, &f->node);
	if (f->slot != UNWIND_NO_TABLE) {
		slot_change(l, f->slot, -1);
		bit_clear(l->slots, f->slot);
		l->used -= f->bytes;
		l->st.tables--;
		l->st.bytes -= f->bytes;
	}
	miss_clear(l, f);
	if (f->t)
		hold(l, f->t, f->fd);
	else if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

static void proc_free(struct unwind_loader *l, struct proc *p)
{
	size_t i;

	for (i = 0; i < p->nr; i++)
		file_put(l, p->files[i]);
	free(p->files);
	free(p);
}

static void build_free(struct build *b)
{
	unwind_table__free(b->t);
	unwind_rules__free(b->rules);
	close(b->fd);
	free(b->waiters);
	free(b);
}

/* The loader's or the thread's reference; the loader's stops the thread (a build under
 * way finishes first, unwaited for). */
static void builder_put(struct builder *bt)
{
	bool last;

	pthread_mutex_lock(&bt->mu);
	bt->quit = true;
	pthread_cond_signal(&bt->cv);
	last = !--bt->refs;
	pthread_mutex_unlock(&bt->mu);
	if (!last)
		return;
	while (bt->builds) {
		struct build *n = bt->builds->next;

		build_free(bt->builds);
		bt->builds = n;
	}
	pthread_mutex_destroy(&bt->mu);
	pthread_cond_destroy(&bt->cv);
	if (bt->done_fd >= 0)
		close(bt->done_fd);
	free(bt);
}

void unwind_loader__free(struct unwind_loader *l)
{
	struct hashmap_iter it;
	struct proc *p;

	if (!l)
		return;
	builder_put(l->bt);
	hashmap_iter__init(&it, &l->procs);
	while ((p = proc_next(&it))) {
		hashmap__del(&l->procs, &p->node);
		proc_free(l, p);
	}
	while (l->nr_warm)
		unwind_cache__put(l->cache, l->warm[--l->nr_warm]);
	holds_expire(l, true);
	while (l->nr_changes)
		if (l->changes[--l->nr_changes].fd >= 0)
			close(l->changes[l->nr_changes].fd);
	if (l->empty_fd >= 0)
		close(l->empty_fd);
	if (l->used_clock)
		munmap(l->used_clock, UNWIND_USED_SLOTS * sizeof(uint64_t));
	free(l->retired);
	free(l->changes);
	free(l->ready);
	free(l->allowed);
	hashmap__exit(&l->procs);
	keycache__exit(&l->denied);
	keycache__exit(&l->reread);
	hashmap__exit(&l->files);
	unwind_cache__free(l->cache);
	free(l->touched);
	free(l);
}

static int allow(struct unwind_loader *l, pid_t pid)
{
	if (ARRAY_RESERVE(l->allowed, l->cap_allowed, l->nr_allowed + 1, 16))
		return -ENOMEM;
	l->allowed[l->nr_allowed++] = pid;
	return 0;
}

int unwind_loader__restrict(struct unwind_loader *l, pid_t pid)
{
	l->restricted = true;
	return allow(l, pid);
}

static bool is_allowed(const struct unwind_loader *l, pid_t pid)
{
	size_t i;

	for (i = 0; i < l->nr_allowed; i++)
		if (l->allowed[i] == pid)
			return true;
	return false;
}

/* The parent of pid from <proc_root>/PID/stat (field 4, after the command in parens). */
static pid_t parent_of(const struct unwind_loader *l, pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/stat", l->o.proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

int unwind_loader__touch(struct unwind_loader *l, pid_t pid)
{
	if (pid <= 0)
		return 0;
	/* A child of a profiled process (fork, then exec) is profiled too (inherit). */
	if (l->restricted && !is_allowed(l, pid)) {
		struct keycache_entry *d = keycache__find(&l->denied, pid, 0);
		uint64_t now_us = mono_now() * 1e6;
		pid_t ppid;

		if (d && now_us < d->val[0])
			return 0;
		ppid = parent_of(l, pid);
		if (ppid <= 0 || !is_allowed(l, ppid)) {
			d = keycache__add(&l->denied, pid, 0, NULL);
			if (d)
				d->val[0] = now_us + DENIED_HOLD_US;
			return 0;
		}
		if (allow(l, pid))
			return 0;
	}
	if (ARRAY_RESERVE(l->touched, l->cap_touched, l->nr_touched + 1, 256))
		return -ENOMEM;
	l->touched[l->nr_touched++] = pid;
	return 0;
}

int unwind_loader__touch_all(struct unwind_loader *l)
{
	DIR *d = opendir(l->o.proc_root);
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && !err) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!*end && pid > 0)
			err = unwind_loader__touch(l, pid);
	}
	closedir(d);
	return err;
}

/* An open file's table, if it is a regular file (not a FIFO or device a path names). */
static struct unwind_table *table_of_fd(struct unwind_loader *l, int fd)
{
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return NULL;
	return unwind_cache__get(l->cache, fd, -1);
}

int unwind_loader__prewarm(struct unwind_loader *l, const char *path)
{
	struct unwind_table *t;
	int fd;

	if (l->nr_warm == UNWIND_WARM_MAX)
		return -ENOSPC;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	t = table_of_fd(l, fd);
	close(fd);
	if (!t)
		return -errno;
	l->warm[l->nr_warm++] = t;
	return 0;
}

/* The new rules in one batch (5.6+): a syscall each cost a record ~1 ms for ~300 rules. */
static int rules_batch(struct unwind_loader *l, const struct unwind_rules *rules, size_t n)
{
	size_t i, todo = n - l->rules_loaded;
	struct unwind_rule *vals = calloc(todo, sizeof(*vals));
	uint32_t *keys = calloc(todo, sizeof(*keys)), count = todo;
	int err = -ENOMEM;

	if (keys && vals) {
		for (i = 0; i < todo; i++) {
			keys[i] = l->rules_loaded + i;
			vals[i] = *unwind_rules__get(rules, keys[i]);
		}
		err = bpf_map_update_batch(l->o.rules_fd, keys, vals, &count, NULL) ? -errno : 0;
		if (!err)
			l->rules_loaded = n;
	}
	free(keys);
	free(vals);
	return err;
}

/* Rules are global and only grow: push the ones the kernel does not have yet. */
static int rules_sync(struct unwind_loader *l)
{
	struct unwind_rules *rules = unwind_cache__rules(l->cache);
	size_t n = unwind_rules__count(rules);

	if (l->rules_loaded + 1 < n && !rules_batch(l, rules, n))
		return 0;
	/* One at a time: a single rule, or a kernel without batches. */
	for (; l->rules_loaded < n; l->rules_loaded++) {
		uint32_t idx = l->rules_loaded;

		if (bpf_map_update_elem(l->o.rules_fd, &idx, unwind_rules__get(rules, idx), 0))
			return -errno;
	}
	return 0;
}

/* The rows in an mmapped inner array (one copy, no syscall per row): its fd. */
static int rows_new(const struct unwind_row *rows, size_t n, size_t bytes)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	int fd, err;
	void *mem;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pmuprof_uwrows", sizeof(uint32_t),
			    sizeof(struct unwind_row), n, &o);
	if (fd < 0)
		return -errno;
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	memcpy(mem, rows, n * sizeof(*rows));
	munmap(mem, bytes);
	return fd;
}

/* The inner array of f goes into slot at the next flush; f keeps one of its own. */
static int rows_load(struct unwind_loader *l, struct loaded *f, const struct unwind_row *rows,
		     size_t n, size_t bytes, int slot)
{
	int fd;

	if (f->fd < 0)
		f->fd = rows_new(rows, n, bytes);
	if (f->fd < 0)
		return f->fd;
	fd = dup(f->fd);
	if (fd < 0)
		return -errno;
	return slot_change(l, slot, fd);
}

/* The mappings of slot in a process entry now have no table (the file's miss clock). */
static void entry_unref(struct unwind_proc *e, uint32_t slot, uint32_t miss)
{
	uint32_t i;

	for (i = 0; i < e->nr && i < UNWIND_PROC_MAPS; i++)
		if (e->maps[i].table != UNWIND_NO_TABLE &&
		    (e->maps[i].table & UNWIND_TABLE_SLOT_MASK) == slot) {
			e->maps[i].table = UNWIND_NO_TABLE;
			e->maps[i].rows = miss;
		}
}

static bool holds(const struct proc *p, const struct loaded *f)
{
	size_t i;

	for (i = 0; i < p->nr; i++)
		if (p->files[i] == f)
			return true;
	return false;
}

/* Every process entry that maps f's slot stops using it: the ones in the kernel now (the
 * slot is emptied only at the next flush), the ones this sync prepares in place. */
static void procs_unref(struct unwind_loader *l, const struct loaded *f, uint32_t slot)
{
	uint32_t miss = f->miss >= 0 ? f->miss + 1 : 0;
	struct unwind_proc *e = malloc(sizeof(*e));
	struct hashmap_iter it;
	struct proc *p;

	hashmap_iter__init(&it, &l->procs);
	while ((p = proc_next(&it))) {
		if (p->next_entry)
			entry_unref(p->next_entry, slot, miss);
		if (!e || !p->in_kernel || !holds(p, f) ||
		    bpf_map_lookup_elem(l->o.procs_fd, &p->pid, e))
			continue;
		entry_unref(e, slot, miss);
		bpf_map_update_elem(l->o.procs_fd, &p->pid, e, BPF_EXIST);
	}
	free(e);
}

static uint64_t last_use(const struct unwind_loader *l, const struct loaded *f)
{
	uint64_t t = l->used_clock[f->slot];

	return t > f->since ? t : f->since;
}

static bool idle(const struct unwind_loader *l, const struct loaded *f, uint64_t now)
{
	return f->slot != UNWIND_NO_TABLE && last_use(l, f) + UNWIND_IDLE < now;
}

static void evict(struct unwind_loader *l, struct loaded *f)
{
	uint32_t slot = f->slot;

	if (ARRAY_RESERVE(l->retired, l->cap_retired, l->nr_retired + 1, 16))
		return;
	f->slot = UNWIND_NO_TABLE;
	/* Its rows are gone from user space: built again when a walk needs the file. */
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	miss_set(l, f);
	procs_unref(l, f, slot);
	slot_change(l, slot, -1);
	l->retired[l->nr_retired++] = slot;
	l->used -= f->bytes;
	l->st.tables--;
	l->st.bytes -= f->bytes;
	l->st.evicted_files++;
	l->st.evicted_bytes += f->bytes;
	f->evicted = true;
	pr_info("unwind: evicted the unused table of %s (%" PRIu64 " KiB)\n",
		f->path ? f->path : "?", f->bytes / 1024);
}

/* Room for need bytes: evict the tables no sample used for a while, least recently used
 * first, only if that makes enough room (tables in use are never evicted: no thrashing). */
static void evict_for(struct unwind_loader *l, uint64_t need)
{
	uint64_t now = clock_now(), idle_bytes = 0;
	struct loaded *f, *lru;

	if (!l->used_clock)
		return;
	for (f = l->loaded; f; f = f->next)
		if (idle(l, f, now))
			idle_bytes += f->bytes;
	if (l->used - idle_bytes + need > l->o.memory)
		return;
	while (l->used + need > l->o.memory) {
		lru = NULL;
		for (f = l->loaded; f; f = f->next)
			if (idle(l, f, now) && (!lru || last_use(l, f) < last_use(l, lru)))
				lru = f;
		if (!lru)
			return;
		evict(l, lru);
	}
}

static void file_rebuild(struct unwind_loader *l, struct loaded *f);
static void file_attach(struct unwind_loader *l, struct loaded *f, struct unwind_table *t);

static void table_load(struct unwind_loader *l, struct loaded *f)
{
	size_t page = sysconf(_SC_PAGESIZE), n, bytes;
	const struct unwind_row *rows;
	int slot = -1;

	f->slot = UNWIND_NO_TABLE;
	n = unwind_table__rows(f->t, &rows);
	if (!n || n > UNWIND_MAX_ROWS)
		return;
	/* Rows dropped once loaded: the array a hold kept, else the file built again. */
	if (!rows && f->fd < 0)
		f->fd = hold_take_fd(l, f->t);
	if (!rows && f->fd < 0) {
		miss_set(l, f);
		file_rebuild(l, f);
		return;
	}
	bytes = (n * sizeof(*rows) + page - 1) / page * page;
	if (l->used + bytes > l->o.memory)
		evict_for(l, bytes);
	if (l->used + bytes > l->o.memory || (slot = bit_alloc(l->slots)) < 0) {
		if (!f->no_fit) {
			f->no_fit = true;
			l->st.no_fit_files++;
			l->st.no_fit_bytes += bytes;
		}
		if (f->fd >= 0 && !rows)
			close(f->fd); /* outside the budget: built again when it fits */
		if (!rows)
			f->fd = -1;
		miss_set(l, f);
		return;
	}
	if (rules_sync(l) || rows_load(l, f, rows, n, bytes, slot)) {
		bit_clear(l->slots, slot);
		l->st.failed++;
		return;
	}
	unwind_table__drop_rows(f->t);
	if (f->no_fit) {
		f->no_fit = false;
		l->st.no_fit_files--;
		l->st.no_fit_bytes -= bytes;
	}
	miss_clear(l, f);
	if (l->used_clock)
		l->used_clock[slot] = 0;
	f->since = clock_now();
	/* A new tag for the slot: rules the walk cached for its previous table never
	 * answer for this one. */
	l->serial = l->serial % (UNWIND_TABLE_SERIALS - 1) + 1;
	f->slot = slot;
	f->tag = slot | l->serial << UNWIND_TABLE_SLOT_BITS;
	f->rows = n;
	f->bytes = bytes;
	l->used += bytes;
	l->st.tables++;
	l->st.bytes += bytes;
	l->st.loaded_files++;
	l->st.loaded_bytes += bytes;
	if (f->evicted) {
		f->evicted = false;
		l->st.reloaded_files++;
		pr_info("unwind: loaded the table of %s again (needed since its eviction)\n",
			f->path ? f->path : "?");
	}
	if (l->st.bytes > l->st.peak_bytes)
		l->st.peak_bytes = l->st.bytes;
}

/* The smallest file waiting: on a busy machine (-a) the queue holds every file every
 * process maps, compilers of tens of MiB among them; small programs and libraries, built
 * in milliseconds, must not wait seconds behind them. */
static struct build *build_next(struct builder *bt)
{
	struct build *b, *best = NULL;

	for (b = bt->builds; b; b = b->next)
		if (!b->done && (!best || b->size < best->size))
			best = b;
	return best;
}

static void *builder_main(void *arg)
{
	struct builder *bt = arg;
	struct build *b;

	pthread_mutex_lock(&bt->mu);
	while (!bt->quit) {
		b = build_next(bt);
		if (!b) {
			pthread_cond_wait(&bt->cv, &bt->mu);
			continue;
		}
		pthread_mutex_unlock(&bt->mu);
		b->t = unwind_table__build_fd(b->fd, &b->rules);
		pthread_mutex_lock(&bt->mu);
		b->done = true;
		/* The record loop sleeps until something happens: this did. */
		if (bt->done_fd >= 0 && eventfd_write(bt->done_fd, 1))
			pr_debug("pmuprof: waking the record loop failed\n");
	}
	pthread_mutex_unlock(&bt->mu);
	builder_put(bt);
	return NULL;
}

static int waiter_add(struct build *b, pid_t pid)
{
	size_t i;

	for (i = 0; i < b->nr_waiters; i++)
		if (b->waiters[i] == pid)
			return 0;
	if (ARRAY_RESERVE(b->waiters, b->cap_waiters, b->nr_waiters + 1, 4))
		return -ENOMEM;
	b->waiters[b->nr_waiters++] = pid;
	return 0;
}

/* Queue the build of the file open at fd (taken over) for pid, once per file. */
static void build_queue(struct unwind_loader *l, int fd, const struct stat *st, pid_t pid)
{
	struct build *b, **pp;

	pthread_mutex_lock(&l->bt->mu);
	for (pp = &l->bt->builds; (b = *pp); pp = &b->next)
		if (b->dev == st->st_dev && b->ino == st->st_ino)
			break;
	if (!b && (b = calloc(1, sizeof(*b)))) {
		b->fd = fd;
		fd = -1;
		b->dev = st->st_dev;
		b->ino = st->st_ino;
		b->size = st->st_size;
		*pp = b;
		pthread_cond_signal(&l->bt->cv);
	}
	if (b)
		waiter_add(b, pid);
	if (!l->bt->on) {
		sigset_t all, old;
		pthread_t th;

		/* Signals stay with the record loop (a SIGTERM must interrupt its finish). */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		l->bt->refs++;
		l->bt->on = !pthread_create(&th, NULL, builder_main, l->bt) && !pthread_detach(th);
		if (!l->bt->on)
			l->bt->refs--;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&l->bt->mu);
	if (fd >= 0)
		close(fd);
}

/* The file behind a mapping, as the symbolizer opens it: the very file mapped. Its table
 * from the cache, else NULL with the file open at *fd (-1: no file) and its *st. */
static struct unwind_table *table_of(struct unwind_loader *l, pid_t pid, const struct map_entry *m,
				     struct stat *st, int *fd)
{
	struct unwind_table *t;
	char path[128];

	*fd = -1;
	memset(st, 0, sizeof(*st));
	if (!strcmp(m->path, "[vdso]"))
		return unwind_cache__get_vdso(l->cache);
	if (m->path[0] != '/')
		return NULL;
	snprintf(path, sizeof(path), "%s/%d/map_files/%lx-%lx", l->o.proc_root, pid, m->start,
		 m->end);
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0)
		return NULL;
	if (fstat(*fd, st) || !S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		return NULL;
	}
	t = unwind_cache__find(l->cache, *fd);
	if (t) {
		close(*fd);
		*fd = -1;
	}
	return t;
}

static void procs_resync(struct unwind_loader *l, const struct loaded *f);

/* f's table, built (one reference, taken): loaded, and its processes synced again. */
static void file_attach(struct unwind_loader *l, struct loaded *f, struct unwind_table *t)
{
	if (!f->t)
		f->t = t;
	else
		hold(l, t, -1); /* f->t is t, its rows filled again */
	if (f->slot == UNWIND_NO_TABLE) {
		table_load(l, f);
		if (f->slot != UNWIND_NO_TABLE)
			procs_resync(l, f);
	}
}

/* Build f's file again (its rows were dropped and its array is gone), opened through the
 * last mapping seen; its processes are synced again once it is built. */
static void file_rebuild(struct unwind_loader *l, struct loaded *f)
{
	char path[128];
	struct stat st;
	int fd;

	if (f->loc_pid <= 0)
		return;
	snprintf(path, sizeof(path), "%s/%d/map_files/%lx-%lx", l->o.proc_root, f->loc_pid,
		 f->loc_start, f->loc_end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	/* The pid may name another process by now: the same file or nothing. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_dev != f->dev || st.st_ino != f->ino) {
		close(fd);
		return;
	}
	/* A small file never built, sampled now: built here in a few milliseconds rather than
	 * behind a large one in the builder thread. */
	if (!f->t && st.st_size <= UNWIND_INLINE_BYTES) {
		struct unwind_table *t = unwind_cache__get(l->cache, fd, -1);

		close(fd);
		if (t)
			file_attach(l, f, t);
		else
			l->st.failed++;
		return;
	}
	build_queue(l, fd, &st, f->loc_pid);
}

static struct loaded *file_by_table(const struct unwind_loader *l, const struct unwind_table *t)
{
	struct loaded *f;

	for (f = l->loaded; f && f->t != t; f = f->next)
		;
	return f;
}

static struct loaded *file_new(struct unwind_loader *l, struct unwind_table *t,
			       const struct stat *st, const struct map_entry *m)
{
	struct loaded *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->t = t;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->refs = 1;
	f->miss = -1;
	f->fd = -1;
	f->slot = UNWIND_NO_TABLE;
	f->path = strdup(m->path ? m->path : "?");
	if (!file_find(l, f->dev, f->ino) &&
	    hashmap__add(&l->files, &f->node, file_hash(f->dev, f->ino))) {
		free(f->path);
		free(f);
		return NULL;
	}
	f->next = l->loaded;
	l->loaded = f;
	return f;
}

/*
 * A reference to the loaded table of a mapping's file (loading it once), or NULL. A file
 * not built yet is built in the builder thread: at once for a per-task record (its
 * processes' first samples are whole), and in a system-wide one only once a walk needed
 * it (its miss clock moved): most files every process maps are never sampled.
 */
static struct loaded *file_get(struct unwind_loader *l, pid_t pid, const struct map_entry *m)
{
	struct stat st;
	int fd;
	struct unwind_table *t;
	/* A file the kernel named at mmap time whose table is built, or waits for a sample to
	 * be built (system-wide): nothing to open (most mappings of a new process). */
	struct loaded *f = m->ino ? file_find(l, m->dev, m->ino) : NULL;

	if (f && (f->t || f->miss >= 0)) {
		f->refs++;
		f->loc_pid = pid;
		f->loc_start = m->start;
		f->loc_end = m->end;
		return f;
	}
	t = table_of(l, pid, m, &st, &fd);
	if (!t && fd < 0)
		return NULL;
	f = file_find(l, st.st_dev, st.st_ino);
	if (f && t && f->t && f->t != t)
		f = NULL; /* another table for this inode: looked for by table below */
	if (!f && t)
		f = file_by_table(l, t); /* the same file under another inode (build id) */
	if (f) {
		if (t && !f->t)
			file_attach(l, f, t); /* built meanwhile (a prewarmed file) */
		else if (t)
			unwind_cache__put(l->cache, t); /* one cache reference per loaded file */
		if (fd >= 0)
			close(fd);
		f->refs++;
	} else {
		f = file_new(l, t, &st, m);
		if (!f) {
			unwind_cache__put(l->cache, t);
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		if (t)
			table_load(l, f);
		else if (!l->restricted)
			miss_set(l, f);
		if (fd >= 0 && (l->restricted || f->miss < 0))
			build_queue(l, fd, &st, pid);
		else if (fd >= 0)
			close(fd);
	}
	f->loc_pid = pid;
	f->loc_start = m->start;
	f->loc_end = m->end;
	return f;
}

static uint64_t fingerprint(const struct map_entry *maps, size_t nr)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < nr; i++) {
		h = (h ^ maps[i].start) * 1099511628211ull;
		h = (h ^ maps[i].end) * 1099511628211ull;
		h = (h ^ maps[i].pgoff) * 1099511628211ull;
		h = (h ^ (uintptr_t)maps[i].path) * 1099511628211ull;
	}
	return h ^ nr;
}

static void proc_drop(struct unwind_loader *l, struct proc *p)
{
	hashmap__del(&l->procs, &p->node);
	bpf_map_delete_elem(l->o.procs_fd, &p->pid);
	l->used -= PROC_BYTES;
	l->st.procs--;
	proc_free(l, p);
}

/* The mapping list for the kernel, taking a reference on every file it maps. */
static size_t proc_build(struct unwind_loader *l, pid_t pid, const struct map_entry *maps,
			 size_t nr, struct loaded **files, struct unwind_proc *e)
{
	size_t i;

	if (nr > UNWIND_PROC_MAPS)
		nr = UNWIND_PROC_MAPS;
	memset(e, 0, sizeof(*e));
	for (i = 0; i < nr; i++) {
		struct unwind_map *um = &e->maps[i];
		uint64_t bias = 0;

		files[i] = file_get(l, pid, &maps[i]);
		um->start = maps[i].start;
		um->end = maps[i].end;
		um->table = UNWIND_NO_TABLE;
		if (files[i] && !files[i]->t) {
			um->rows = files[i]->miss >= 0 ? files[i]->miss + 1 : 0;
		} else if (files[i] && !unwind_table__load_bias(files[i]->t, maps[i].start,
								maps[i].pgoff, &bias)) {
			um->bias = bias;
			if (files[i]->slot != UNWIND_NO_TABLE) {
				um->table = files[i]->tag;
				um->rows = files[i]->rows;
			} else if (files[i]->miss >= 0) {
				um->rows = files[i]->miss + 1;
			}
		}
		e->nr = i + 1; /* an eviction while building finds the entries so far */
	}
	e->nr = nr;
	return nr;
}

static int ready_add(struct unwind_loader *l, struct proc *p)
{
	if (ARRAY_RESERVE(l->ready, l->cap_ready, l->nr_ready + 1, 64))
		return -ENOMEM;
	l->ready[l->nr_ready++] = p;
	return 0;
}

/* First half of a sync: the process's new entry, its files' tables loaded and their
 * slots queued. An exited process is dropped here. */
static int sync_prepare(struct unwind_loader *l, pid_t pid)
{
	struct proc *p = proc_find(l, pid);
	const struct map_entry *maps;
	uint64_t sig, lo, hi;
	size_t nr, cap;

	if (p && p->next_entry)
		return 0; /* prepared already in this sync (asked for by the walk) */
	maps = aspaces__live_maps(l->o.as, pid, &nr);
	if (!maps) {
		if (p)
			proc_drop(l, p);
		return 0;
	}
	if (aspaces__live_window(l->o.as, pid, &lo, &hi))
		lo = 0, hi = UINT64_MAX;
	/* A new generation of the pid (a reused pid) with the same mappings: a new entry. */
	sig = fingerprint(maps, nr) ^ (lo * 1099511628211ull) ^ hi;
	if (p && p->sig == sig)
		return 0;
	if (!p) {
		if (l->used + PROC_BYTES > l->o.memory) {
			l->st.no_fit_procs++;
			return 0;
		}
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->pid = pid;
		if (hashmap__add(&l->procs, &p->node, hash__u64(pid))) {
			free(p);
			return -ENOMEM;
		}
		l->used += PROC_BYTES;
		l->st.procs++;
	}
	cap = nr < UNWIND_PROC_MAPS ? nr : UNWIND_PROC_MAPS;
	p->next_entry = malloc(sizeof(*p->next_entry));
	p->next_files = calloc(cap, sizeof(*p->next_files));
	if (!p->next_entry || !p->next_files || ready_add(l, p)) {
		free(p->next_entry);
		free(p->next_files);
		p->next_entry = NULL;
		p->next_files = NULL;
		return -ENOMEM;
	}
	p->next_nr = proc_build(l, pid, maps, nr, p->next_files, p->next_entry);
	p->next_entry->gen_lo = lo;
	p->next_entry->gen_hi = hi;
	p->next_sig = sig;
	return 0;
}

/* Second half, once the outer map holds the tables: the entry into the kernel, the
 * references of the mappings it replaces dropped. */
static void sync_commit(struct unwind_loader *l, struct proc *p)
{
	bool ok = !bpf_map_update_elem(l->o.procs_fd, &p->pid, p->next_entry, 0);
	struct loaded **drop = ok ? p->files : p->next_files;
	size_t i, n = ok ? p->nr : p->next_nr;

	for (i = 0; i < n; i++)
		file_put(l, drop[i]);
	free(drop);
	free(p->next_entry);
	p->next_entry = NULL;
	if (ok) {
		p->files = p->next_files;
		p->nr = p->next_nr;
		p->sig = p->next_sig;
		p->in_kernel = true;
	} else if (!p->in_kernel) {
		/* The hash is full: not profiled with tables (counted), tried again if it maps
		 * something new. */
		l->st.no_fit_procs++;
		p->files = NULL;
		p->nr = 0;
		hashmap__del(&l->procs, &p->node);
		l->used -= PROC_BYTES;
		l->st.procs--;
		free(p);
		return;
	}
	p->next_files = NULL;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

static void pids_reverse(pid_t *a, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		pid_t t = a[i];

		a[i] = a[n - 1 - i];
		a[n - 1 - i] = t;
	}
}

/* Each touched pid once, in pid order from the one after the last pid prepared: when
 * more processes change than a sync's slice prepares (a busy server forking hundreds a
 * second), every process gets its turn; starting from the lowest pid each time, a steady
 * stream of new processes on low pids (pid numbers wrap) would starve the others. */
static void touched_order(struct unwind_loader *l)
{
	size_t i, n = 0, k = 0;

	qsort(l->touched, l->nr_touched, sizeof(*l->touched), pid_cmp);
	for (i = 0; i < l->nr_touched; i++)
		if (!n || l->touched[i] != l->touched[n - 1])
			l->touched[n++] = l->touched[i];
	l->nr_touched = n;
	while (k < n && l->touched[k] <= l->last_prepared)
		k++;
	/* Rotate left by k. */
	pids_reverse(l->touched, k);
	pids_reverse(l->touched + k, n - k);
	pids_reverse(l->touched, n);
}

/* The slots of evicted tables are free once the flush emptied them. */
static int retire_flush(struct unwind_loader *l, int err)
{
	if (!err)
		while (l->nr_retired)
			bit_clear(l->slots, l->retired[--l->nr_retired]);
	return err;
}

/* A table built (one reference): the file waiting for it takes it and loads it. */
static void build_attach(struct unwind_loader *l, const struct build *b, struct unwind_table *t)
{
	struct loaded *f;

	f = file_find(l, b->dev, b->ino);
	if (f && (!f->t || f->t == t))
		file_attach(l, f, t);
	else
		hold(l, t, -1);
}

/* Finished builds into the cache (held a while), their processes synced again. */
static void builds_collect(struct unwind_loader *l)
{
	struct build **pp = &l->bt->builds, *b;
	size_t i;

	pthread_mutex_lock(&l->bt->mu);
	while ((b = *pp)) {
		if (!b->done) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		pthread_mutex_unlock(&l->bt->mu);
		if (b->t) {
			struct unwind_table *t = unwind_cache__adopt(l->cache, b->t, b->rules);

			if (t)
				build_attach(l, b, t);
		} else {
			l->st.failed++;
		}
		for (i = 0; i < b->nr_waiters; i++) {
			struct proc *p = proc_find(l, b->waiters[i]);

			if (p)
				p->sig = 0; /* same mappings, a table more */
			unwind_loader__touch(l, b->waiters[i]);
		}
		b->t = NULL;
		b->rules = NULL;
		build_free(b);
		pthread_mutex_lock(&l->bt->mu);
	}
	pthread_mutex_unlock(&l->bt->mu);
}

int unwind_loader__settle(struct unwind_loader *l, double timeout_s,
			  const volatile sig_atomic_t *stop)
{
	double until = mono_now() + timeout_s;
	int err = unwind_loader__sync(l);
	bool busy = true;

	while (!err && busy && mono_now() < until && !(stop && *stop)) {
		struct build *b;

		pthread_mutex_lock(&l->bt->mu);
		for (b = l->bt->builds, busy = false; b; b = b->next)
			busy |= !b->done;
		pthread_mutex_unlock(&l->bt->mu);
		if (busy)
			usleep(2000);
	}
	return err ? err : unwind_loader__sync(l);
}

/* The processes mapping f take its new table at this sync. */
static void procs_resync(struct unwind_loader *l, const struct loaded *f)
{
	struct hashmap_iter it;
	struct proc *p;

	hashmap_iter__init(&it, &l->procs);
	while ((p = proc_next(&it)))
		if (holds(p, f)) {
			p->sig = 0;
			unwind_loader__touch(l, p->pid);
		}
}

/* Files without a table that a walk needed since they were last tried: load them, making
 * room from tables no longer used. */
static void reload_missed(struct unwind_loader *l)
{
	struct loaded *f;

	if (!l->used_clock)
		return;
	for (f = l->loaded; f; f = f->next) {
		if (f->slot != UNWIND_NO_TABLE || f->miss < 0 ||
		    l->used_clock[UNWIND_MAX_TABLES + f->miss] <= f->since)
			continue;
		f->since = clock_now();
		if (!f->t) {
			file_rebuild(l, f); /* sampled in a file not built yet: build it now */
			continue;
		}
		table_load(l, f);
		if (f->slot != UNWIND_NO_TABLE)
			procs_resync(l, f);
	}
}

static bool maps_cover(const struct map_entry *maps, size_t nr, uint64_t pc)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps[mid].end <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nr && maps[lo].start <= pc;
}

/*
 * Whether pid is read again now. At its first sighting only noted: the tracker reads its
 * rings before every sync, so a pc still unknown at a later sync was not only mapped
 * (or exec'd) after the rings were last read. Then the rate bound: once per
 * REREAD_HOLD_US per process, REREAD_PER_S processes a second in all.
 */
static bool reread_due(struct unwind_loader *l, pid_t pid)
{
	double now = mono_now();
	uint64_t now_us = now * 1e6;
	struct keycache_entry *e = keycache__add(&l->reread, pid, 0, NULL);

	if (!e)
		return false;
	if (!e->val[1]) {
		e->val[1] = l->syncs;
		return false;
	}
	if (e->val[1] == l->syncs)
		return false;
	if (now - l->reread_t0 >= 1.0) {
		l->reread_t0 = now;
		l->reread_n = 0;
	}
	if (now_us < e->val[0] || l->reread_n >= REREAD_PER_S) {
		l->st.reread_held++;
		return false;
	}
	e->val[0] = now_us + REREAD_HOLD_US;
	e->val[1] = 0;
	l->reread_n++;
	return true;
}

/*
 * The walk of pid met pc, a real one, outside every mapping of its entry. Mapped since
 * the last sync, the tracker knows it: the sync below takes it. Otherwise the records
 * that would have told were lost (the kernel dropped its exec and mmaps but not its fork:
 * its entry holds its parent's mappings): its mappings are read again from /proc, the
 * ones known so far looked in only for samples taken before now.
 */
static void stale_reread(struct unwind_loader *l, pid_t pid, uint64_t pc)
{
	const struct map_entry *maps;
	struct timespec ts;
	char path[64];
	size_t nr;

	l->st.stale++;
	maps = aspaces__live_maps(l->o.as, pid, &nr);
	if (maps && maps_cover(maps, nr, pc)) {
		struct keycache_entry *e = keycache__find(&l->reread, pid, 0);

		if (e)
			e->val[1] = 0; /* the tracker caught up: a later pc starts afresh */
		return;
	}
	/* Gone: its last samples are named with what is known. */
	snprintf(path, sizeof(path), "%s/%d/maps", l->o.proc_root, pid);
	if (access(path, R_OK) || !reread_due(l, pid))
		return;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	if (aspaces__exec_at(l->o.as, pid, ts.tv_sec * 1000000000ull + ts.tv_nsec) ||
	    aspaces__load_proc(l->o.as, l->o.proc_root, pid))
		return;
	l->st.reread++;
	pr_info("unwind: process %d read again from /proc (pc %#" PRIx64 " unknown)\n", pid, pc);
}

/*
 * Processes the walk found without an entry, first: one whose tracking records the
 * kernel dropped (a busy machine) is read from /proc, one not synced yet goes before the
 * touched processes (a system-wide start syncs hundreds, a slice at a time). Then those
 * whose entry did not map a pc of theirs (stale_reread).
 */
static int wanted_prepare(struct unwind_loader *l)
{
	uint64_t pc, lo, hi;
	uint32_t pid;
	int n, err = 0;

	for (n = 0; n < UNWIND_WANTED_MAX && !err; n++) {
		if (bpf_map_get_next_key(l->o.wanted_fd, NULL, &pid) ||
		    bpf_map_lookup_elem(l->o.wanted_fd, &pid, &pc) ||
		    bpf_map_delete_elem(l->o.wanted_fd, &pid))
			break;
		if (pc) {
			if (!l->restricted || is_allowed(l, pid)) {
				stale_reread(l, pid, pc);
				err = sync_prepare(l, pid);
			}
			continue;
		}
		l->st.wanted++;
		/* A child whose fork record was lost: allowed if its parent is. */
		if (l->restricted && !is_allowed(l, pid) &&
		    ((err = unwind_loader__touch(l, pid)) || !is_allowed(l, pid)))
			continue;
		/* No live generation: none, or that of an exited process whose pid this one
		 * took (its own fork record lost), kept until its samples are named. A live
		 * one without mappings yet (exec'd, its mmaps on the way) waits for them. */
		if (aspaces__live_window(l->o.as, pid, &lo, &hi) &&
		    !aspaces__load_proc(l->o.as, l->o.proc_root, pid)) {
			l->st.recovered++;
			pr_info("unwind: process %d read from /proc (no entry)\n", pid);
		}
		if (!proc_find(l, pid))
			err = sync_prepare(l, pid);
	}
	return err;
}

int unwind_loader__wake_fd(const struct unwind_loader *l)
{
	return l->bt->done_fd;
}

bool unwind_loader__busy(const struct unwind_loader *l)
{
	return l->nr_touched > 0;
}

int unwind_loader__sync(struct unwind_loader *l)
{
	double until = mono_now() + UNWIND_SYNC_BUDGET_S;
	eventfd_t done;
	size_t i;
	int err = 0;

	l->syncs++;
	/* Woken for the builds done so far: all collected now. */
	if (l->bt->done_fd >= 0)
		eventfd_read(l->bt->done_fd, &done);
	builds_collect(l);
	holds_expire(l, false);
	reload_missed(l);
	if (l->o.wanted_fd > 0)
		err = wanted_prepare(l);
	if (!l->nr_touched && !l->nr_ready)
		return retire_flush(l, err ? err : slot_flush(l));
	touched_order(l);
	/* Many processes to compile (a system-wide start): a slice per sync, the record
	 * loop keeps draining meanwhile. */
	for (i = 0; i < l->nr_touched && !err && (!i || mono_now() < until); i++) {
		err = sync_prepare(l, l->touched[i]);
		l->last_prepared = l->touched[i];
	}
	memmove(l->touched, l->touched + i, (l->nr_touched - i) * sizeof(*l->touched));
	l->nr_touched -= i;
	/* Rules, then rows and slots, then the processes: the walk never sees a slot that
	 * is not filled; then the slots these commits emptied. */
	if (!err)
		err = slot_flush(l);
	for (i = 0; i < l->nr_ready; i++)
		sync_commit(l, l->ready[i]);
	l->nr_ready = 0;
	return retire_flush(l, err ? err : slot_flush(l));
}

void unwind_loader__stats(const struct unwind_loader *l, struct unwind_loader_stats *st)
{
	*st = l->st;
}
