// SPDX-License-Identifier: GPL-2.0
/*
 * Address spaces of processes: executable mappings per pid, built from a /proc
 * snapshot and kept current from mmap/fork/exec records, so a process that exited
 * before the end of the record is still symbolized.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "hashmap.h"
#include "strset.h"
#include "symbolize.h"
#include "symbolize-private.h"
#include "array.h"

/*
 * One generation of a process: a pid from its fork (or from the snapshot) to its exit.
 * Its start time is known within [lo, hi] on the boot clock: a FORK record comes
 * microseconds after the kernel stamps the start time, /proc/PID/stat rounds it down to
 * a clock tick. Samples carry the exact start time and pick the generation it falls in.
 */
struct aspace {
	struct hashmap_entry node; /* keyed by pid: the generations of a pid share a key */
	pid_t pid;
	bool dead, wild; /* exited; start time unknown */
	uint64_t lo, hi; /* start time window */
	uint64_t died;	 /* exit time, when dead */
	uint64_t seq;	 /* creation order: the latest generation of a pid is the live one */
	struct map_entry *maps;
	size_t nr, cap;
	/* The image before the last exec, kept until its samples are drained. */
	struct map_entry *old_maps;
	size_t old_nr;
	uint64_t exec_time;
	struct proc_cred *cred; /* NULL: never seen alive */
	uint64_t version;	/* unique to this generation's mappings as they are now */
	/* The symbolizer's reads for this process, not for whoever has its pid later. */
	struct jitmap *jit;
	bool jit_read; /* perf-PID.map read (jit may still be NULL: none) */
	bool reloaded; /* /proc/PID/maps read again for an address it did not map */
};

/* Generations kept at most: beyond, new ones are counted, not kept (memory bound). */
#define ASPACES_MAX_PIDS 65536
/* A FORK record follows the start time it reports by far less than this. */
#define FORK_SLACK_NS 20000000ull
/* A generation whose start time is unknown matches only when nothing else does. */
#define WILD_DISTANCE_NS 1000000000ull

struct aspaces {
	struct hashmap by_pid; /* every generation */
	size_t max_pids;
	uint64_t seq;
	uint64_t dropped; /* generations not tracked because of the bound */
	uint64_t reaped;
	uint64_t versions; /* the last version handed out */
	pid_t sel_pid;	   /* aspaces__select(): lookups of sel_pid use generation sel_gen */
	uint64_t sel_gen;
	char *proc_root;      /* NULL: /proc */
	struct strset *paths; /* of mappings, shared by every generation */
};

static const char *intern(struct aspaces *as, const char *s)
{
	return strset__intern(as->paths, s, strlen(s));
}

static bool pid_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	(void)ctx;
	return hashmap_entry__of(e, struct aspace, node)->pid == *(const pid_t *)key;
}

struct aspaces *aspaces__new(void)
{
	struct aspaces *as = calloc(1, sizeof(*as));

	if (!as)
		return NULL;
	as->max_pids = ASPACES_MAX_PIDS;
	as->sel_pid = -1;
	hashmap__init(&as->by_pid, pid_match, NULL);
	as->paths = strset__new();
	if (!as->paths) {
		free(as);
		return NULL;
	}
	return as;
}

static void aspace__free(struct aspace *a)
{
	jitmap__free(a->jit);
	free(a->cred);
	free(a->old_maps);
	free(a->maps);
	free(a);
}

void aspaces__free(struct aspaces *as)
{
	struct hashmap_iter it;
	struct hashmap_entry *e;

	if (!as)
		return;
	hashmap_iter__init(&it, &as->by_pid);
	while ((e = hashmap_iter__next(&it)))
		aspace__free(hashmap_entry__of(e, struct aspace, node));
	hashmap__exit(&as->by_pid);
	free(as->proc_root);
	strset__free(as->paths);
	free(as);
}

/* The generations of pid: the first, then each next one (NULL at the end). */
static struct aspace *gen_first(const struct aspaces *as, pid_t pid)
{
	struct hashmap_entry *e = hashmap__find(&as->by_pid, hash__u64(pid), &pid);

	return e ? hashmap_entry__of(e, struct aspace, node) : NULL;
}

static struct aspace *gen_next(const struct aspaces *as, const struct aspace *a)
{
	struct hashmap_entry *e = hashmap__find_next(&as->by_pid, &a->node, &a->pid);

	return e ? hashmap_entry__of(e, struct aspace, node) : NULL;
}

/* The newest generation of pid, alive or not. */
static struct aspace *latest(const struct aspaces *as, pid_t pid)
{
	struct aspace *a, *best = NULL;

	for (a = gen_first(as, pid); a; a = gen_next(as, a))
		if (!best || a->seq > best->seq)
			best = a;
	return best;
}

static uint64_t distance(const struct aspace *a, uint64_t gen)
{
	if (a->wild)
		return WILD_DISTANCE_NS;
	if (gen < a->lo)
		return a->lo - gen;
	return gen > a->hi ? gen - a->hi : 0;
}

/* The generation of pid whose start window holds gen (or comes nearest). */
static struct aspace *by_gen(const struct aspaces *as, pid_t pid, uint64_t gen)
{
	struct aspace *a, *best = NULL;
	uint64_t d, bd = 0;

	for (a = gen_first(as, pid); a; a = gen_next(as, a)) {
		d = distance(a, gen);
		if (!best || d < bd || (d == bd && a->seq > best->seq)) {
			best = a;
			bd = d;
		}
	}
	return best;
}

/* A new generation of pid. -ENOSPC beyond the bound (counted), -ENOMEM. */
static int gen_new(struct aspaces *as, pid_t pid, uint64_t lo, uint64_t hi, bool wild,
		   struct aspace **out)
{
	struct aspace *a;

	if (hashmap__count(&as->by_pid) >= as->max_pids) {
		as->dropped++;
		return -ENOSPC;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->pid = pid;
	a->lo = lo;
	a->hi = hi;
	a->wild = wild;
	a->seq = ++as->seq;
	a->version = ++as->versions;
	if (hashmap__add(&as->by_pid, &a->node, hash__u64(pid))) {
		free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

/* The live generation of pid for a record about it; one of unknown start if none. */
static int live(struct aspaces *as, pid_t pid, struct aspace **out)
{
	struct aspace *a = latest(as, pid);

	if (a && !a->dead) {
		*out = a;
		return 0;
	}
	return gen_new(as, pid, 0, UINT64_MAX, true, out);
}

bool aspaces__has(const struct aspaces *as, pid_t pid)
{
	return latest(as, pid) != NULL;
}

size_t aspaces__nr_pids(const struct aspaces *as)
{
	return hashmap__count(&as->by_pid);
}

uint64_t aspaces__dropped(const struct aspaces *as)
{
	return as->dropped;
}

uint64_t aspaces__reaped(const struct aspaces *as)
{
	return as->reaped;
}

void aspaces__set_max_pids(struct aspaces *as, size_t max)
{
	as->max_pids = max;
}

uint64_t aspaces__version(const struct aspaces *as, pid_t pid, uint64_t gen)
{
	const struct aspace *a = gen ? by_gen(as, pid, gen) : latest(as, pid);

	return a ? a->version : 0;
}

void aspaces__select(struct aspaces *as, pid_t pid, uint64_t gen)
{
	as->sel_pid = gen ? pid : -1;
	as->sel_gen = gen;
}

int aspaces__set_proc_root(struct aspaces *as, const char *proc_root)
{
	char *copy = strdup(proc_root);

	if (!copy)
		return -ENOMEM;
	free(as->proc_root);
	as->proc_root = copy;
	return 0;
}

const struct proc_cred *aspaces__cred(const struct aspaces *as, pid_t pid)
{
	const struct aspace *a =
		pid == as->sel_pid ? by_gen(as, pid, as->sel_gen) : latest(as, pid);

	return a ? a->cred : NULL;
}

/*
 * Remember who the process runs as while it is alive: its files are opened with these
 * credentials after it is gone. Not readable (gone already): keep what was known.
 */
static void note_cred(struct aspaces *as, struct aspace *a, const char *proc_root)
{
	struct proc_cred c;

	if (proc_cred__read(&c, proc_root ? proc_root : as->proc_root, a->pid, NULL))
		return;
	if (!a->cred)
		a->cred = malloc(sizeof(*a->cred));
	if (a->cred)
		*a->cred = c;
}

static int add_map(struct aspaces *as, struct aspace *a, const struct map_entry *in);

int aspaces__add_file_map(struct aspaces *as, pid_t pid, unsigned long start, unsigned long len,
			  unsigned long pgoff, const char *path, uint64_t dev, uint64_t ino)
{
	struct map_entry e = {start, start + len, pgoff, path, NULL, dev, ino};
	struct aspace *a;
	int err;

	if (!len || start + len < start)
		return -EINVAL;
	err = live(as, pid, &a);
	return err ? err : add_map(as, a, &e);
}

int aspaces__add_map(struct aspaces *as, pid_t pid, unsigned long start, unsigned long len,
		     unsigned long pgoff, const char *path)
{
	return aspaces__add_file_map(as, pid, start, len, pgoff, path, 0, 0);
}

/* in: the mapping, its path not yet interned. */
static int add_map(struct aspaces *as, struct aspace *a, const struct map_entry *in)
{
	unsigned long start = in->start, end = in->end;
	struct map_entry e = *in;
	size_t i, j;

	e.path = intern(as, in->path);
	e.obj = NULL;
	if (!e.path)
		return -ENOMEM;
	a->version = ++as->versions;
	/* Room for the new entry and one split. */
	if (ARRAY_RESERVE(a->maps, a->cap, a->nr + 2, 16))
		return -ENOMEM;
	/* A new mapping replaces what it overlaps: trim, split or drop old entries. */
	for (i = 0, j = 0; i < a->nr; i++) {
		struct map_entry o = a->maps[i];

		if (o.end <= start || o.start >= end) {
			a->maps[j++] = o;
			continue;
		}
		if (o.start < start && o.end > end) {
			struct map_entry tail = o;

			tail.pgoff += end - o.start;
			tail.start = end;
			o.end = start;
			a->maps[j++] = o;
			/* The tail goes at the end; the insertion pass below sorts it. */
			a->maps[a->nr] = tail;
			a->nr++;
			continue;
		}
		if (o.start < start) {
			o.end = start;
			a->maps[j++] = o;
		} else if (o.end > end) {
			o.pgoff += end - o.start;
			o.start = end;
			a->maps[j++] = o;
		}
	}
	a->nr = j;
	/* Insert sorted by start. */
	for (i = a->nr; i > 0 && a->maps[i - 1].start > start; i--)
		a->maps[i] = a->maps[i - 1];
	a->maps[i] = e;
	a->nr++;
	/* The split tail may be out of order: one insertion pass fixes it. */
	for (i = 1; i < a->nr; i++) {
		struct map_entry x = a->maps[i];

		for (j = i; j > 0 && a->maps[j - 1].start > x.start; j--)
			a->maps[j] = a->maps[j - 1];
		a->maps[j] = x;
	}
	return 0;
}

int aspaces__fork(struct aspaces *as, pid_t ppid, pid_t pid)
{
	return aspaces__fork_at(as, ppid, pid, 0);
}

static bool windows_overlap(const struct aspace *a, uint64_t lo, uint64_t hi)
{
	return !a->wild && a->lo <= hi && lo <= a->hi;
}

int aspaces__fork_at(struct aspaces *as, pid_t ppid, pid_t pid, uint64_t time)
{
	uint64_t lo = time > FORK_SLACK_NS ? time - FORK_SLACK_NS : 0;
	struct aspace *p, *c = latest(as, pid);
	size_t i;
	int err;

	if (ppid == pid)
		return 0;
	/* Already read from /proc between the start of tracking and this record. */
	if (time && c && !c->dead && windows_overlap(c, lo, time))
		return 0;
	/* A live generation whose exit was not seen is over now. */
	if (c && !c->dead) {
		c->dead = true;
		c->died = time;
	}
	err = gen_new(as, pid, lo, time ? time : UINT64_MAX, !time, &c);
	if (err)
		return err;
	p = latest(as, ppid);
	/* fork() copies the credentials. */
	if (p && p->cred && !c->cred)
		c->cred = malloc(sizeof(*c->cred));
	if (p && p->cred && c->cred)
		*c->cred = *p->cred;
	for (i = 0; p && i < p->nr; i++) {
		const struct map_entry *m = &p->maps[i];

		err = add_map(as, c, m);
		if (err)
			return err;
	}
	/* The same files at the same addresses, in the same order: what the parent's were
	 * resolved to, the child's are (a child that forks and exits costs no file opens). */
	for (i = 0; p && i < p->nr && p->nr == c->nr; i++)
		c->maps[i].obj = p->maps[i].obj;
	return 0;
}

int aspaces__exec(struct aspaces *as, pid_t pid)
{
	return aspaces__exec_at(as, pid, 0);
}

static int exec_at(struct aspaces *as, pid_t pid, uint64_t time, bool read_cred)
{
	struct aspace *a;
	int err = live(as, pid, &a);

	if (err)
		return err;
	free(a->old_maps);
	a->old_maps = NULL;
	a->old_nr = 0;
	/* Samples taken before the exec may still wait in the kernel maps. */
	if (time && a->nr) {
		a->old_maps = a->maps;
		a->old_nr = a->nr;
		a->exec_time = time;
		a->maps = NULL;
		a->cap = 0;
	}
	a->nr = 0;
	a->version = ++as->versions;
	/* A set-user-ID program changes them; if it is gone already, keep its parent's. */
	if (read_cred)
		note_cred(as, a, NULL);
	return 0;
}

int aspaces__exec_at(struct aspaces *as, pid_t pid, uint64_t time)
{
	return exec_at(as, pid, time, true);
}

int aspaces__exec_exited_at(struct aspaces *as, pid_t pid, uint64_t time)
{
	return exec_at(as, pid, time, false);
}

void aspaces__exit(struct aspaces *as, pid_t pid, uint64_t time)
{
	struct aspace *a = latest(as, pid);

	if (a && !a->dead) {
		a->dead = true;
		a->died = time;
	}
}

size_t aspaces__reap(struct aspaces *as, uint64_t before)
{
	struct hashmap_iter it;
	struct hashmap_entry *e;
	size_t n = 0;

	hashmap_iter__init(&it, &as->by_pid);
	while ((e = hashmap_iter__next(&it))) {
		struct aspace *a = hashmap_entry__of(e, struct aspace, node);

		if (a->old_maps && a->exec_time < before) {
			free(a->old_maps);
			a->old_maps = NULL;
			a->old_nr = 0;
			a->version = ++as->versions;
		}
		if (!a->dead || a->died >= before)
			continue;
		hashmap__del(&as->by_pid, e);
		aspace__free(a);
		n++;
	}
	as->reaped += n;
	return n;
}

int proc_maps__parse_line(const char *line, unsigned long *start, unsigned long *end,
			  unsigned long *pgoff, char **path)
{
	char perms[8], dev[32];
	unsigned long ino;
	int n = 0, len;
	const char *p;
	char *nl;

	*path = NULL;
	if (sscanf(line, "%lx-%lx %7s %lx %31s %lu %n", start, end, perms, pgoff, dev, &ino, &n) <
	    6)
		return -EINVAL;
	if (strlen(perms) != 4 || *end < *start)
		return -EINVAL;
	if (perms[2] != 'x')
		return 0;
	p = line + n;
	while (*p == ' ')
		p++;
	if (!*p || *p == '\n')
		p = "//anon";
	*path = strdup(p);
	if (!*path)
		return -ENOMEM;
	nl = strchr(*path, '\n');
	if (nl)
		*nl = 0;
	/* A binary replaced or removed since it was mapped. */
	len = strlen(*path);
	if (len > 10 && !strcmp(*path + len - 10, " (deleted)"))
		(*path)[len - 10] = 0;
	return 1;
}

/* The device and inode of a /proc/PID/maps line, as the kernel stamps MMAP2 records. */
static void map_file_id(const char *line, struct map_entry *m)
{
	unsigned int maj, min;
	unsigned long ino;

	if (sscanf(line, "%*x-%*x %*s %*x %x:%x %lu", &maj, &min, &ino) == 3) {
		m->dev = makedev(maj, min);
		m->ino = ino;
	}
}

/* The start time in /proc/PID/stat (field 22, clock ticks on the boot clock), in ns. */
static int proc_start_time(const char *proc_root, pid_t pid, uint64_t *ns)
{
	unsigned long long ticks;
	char fname[256], buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n;
	FILE *f;
	int i;

	snprintf(fname, sizeof(fname), "%s/%d/stat", proc_root, pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The name in parentheses may hold spaces and parentheses: skip to the last ')'. */
	p = strrchr(buf, ')');
	for (i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &ticks) != 1 || hz <= 0)
		return -EINVAL;
	*ns = ticks * (1000000000ull / hz);
	return 0;
}

/* The generation /proc/PID is now: the live one if its start window agrees, else new. */
static int proc_gen(struct aspaces *as, const char *proc_root, pid_t pid, struct aspace **out)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t lo = 0, tick = 1000000000ull / (hz > 0 ? hz : 100);
	struct aspace *a = latest(as, pid);

	if (proc_start_time(proc_root, pid, &lo))
		return live(as, pid, out);
	/*
	 * Its exit seen, its /proc entry still there, started before it died: the process
	 * that died itself, a zombie its parent has not reaped (a launched command), whose
	 * maps file is empty. A new generation of nothing would shadow the mappings its
	 * samples need; a pid reused starts after the death.
	 */
	if (a && a->dead && a->died && lo <= a->died)
		return -ESRCH;
	if (a && !a->dead && (a->wild || windows_overlap(a, lo, lo + tick))) {
		if (a->wild) {
			a->wild = false;
			a->lo = lo;
			a->hi = lo + tick;
		}
		*out = a;
		return 0;
	}
	if (a && !a->dead) {
		a->dead = true;
		a->died = lo;
	}
	return gen_new(as, pid, lo, lo + tick, false, out);
}

int aspaces__load_proc(struct aspaces *as, const char *proc_root, pid_t pid)
{
	char fname[256], *line = NULL;
	struct aspace *a;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	proc_root = proc_root ? proc_root : "/proc";
	snprintf(fname, sizeof(fname), "%s/%d/maps", proc_root, pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	err = proc_gen(as, proc_root, pid, &a);
	if (err) {
		fclose(f);
		return err;
	}
	note_cred(as, a, proc_root);
	while (getline(&line, &cap, f) > 0) {
		struct map_entry m = {0};
		char *path;
		int r = proc_maps__parse_line(line, &m.start, &m.end, &m.pgoff, &path);

		if (r <= 0)
			continue;
		m.path = path;
		map_file_id(line, &m);
		err = add_map(as, a, &m);
		free(path);
		if (err)
			break;
	}
	free(line);
	fclose(f);
	return err;
}

static struct map_entry *maps_find(struct map_entry *maps, size_t nr, unsigned long addr)
{
	size_t lo = 0, hi = nr;

	if (!nr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (addr >= maps[lo].start && addr < maps[lo].end)
		return &maps[lo];
	return NULL;
}

struct map_entry *aspaces__find(const struct aspaces *as, pid_t pid, unsigned long addr)
{
	const struct aspace *a =
		pid == as->sel_pid ? by_gen(as, pid, as->sel_gen) : latest(as, pid);
	struct map_entry *m;

	if (!a)
		return NULL;
	m = maps_find(a->maps, a->nr, addr);
	/* An address the new image does not map: a sample from before the exec. */
	return m ? m : maps_find(a->old_maps, a->old_nr, addr);
}

int aspaces__live_window(const struct aspaces *as, pid_t pid, uint64_t *lo, uint64_t *hi)
{
	const struct aspace *a = latest(as, pid);

	if (!a || a->dead)
		return -ENOENT;
	*lo = a->wild ? 0 : a->lo;
	*hi = a->wild ? UINT64_MAX : a->hi;
	return 0;
}

const struct map_entry *aspaces__live_maps(const struct aspaces *as, pid_t pid, size_t *nr)
{
	const struct aspace *a = latest(as, pid);

	*nr = a && !a->dead ? a->nr : 0;
	return *nr ? a->maps : NULL;
}

/* The generation lookups of pid use now: the selected one (aspaces__select), else the
 * latest. */
static struct aspace *current(const struct aspaces *as, pid_t pid)
{
	return pid == as->sel_pid ? by_gen(as, pid, as->sel_gen) : latest(as, pid);
}

const struct map_entry *aspaces__maps(const struct aspaces *as, pid_t pid, size_t *nr)
{
	const struct aspace *a = current(as, pid);

	*nr = a ? a->nr : 0;
	return *nr ? a->maps : NULL;
}

int aspaces__claim_reload(struct aspaces *as, pid_t pid)
{
	struct aspace *a = current(as, pid);

	if (!a)
		return -ENOENT;
	if (a->dead || a->reloaded)
		return 0;
	a->reloaded = true;
	return 1;
}

struct jitmap **aspaces__jit_slot(struct aspaces *as, pid_t pid, bool *read)
{
	struct aspace *a = current(as, pid);

	if (!a)
		return NULL;
	*read = a->jit_read;
	a->jit_read = true;
	return &a->jit;
}

void aspaces__for_each_obj(const struct aspaces *as, void (*fn)(void *obj, void *arg), void *arg)
{
	struct hashmap_iter it;
	struct hashmap_entry *e;
	size_t j;

	hashmap_iter__init(&it, &as->by_pid);
	while ((e = hashmap_iter__next(&it))) {
		const struct aspace *a = hashmap_entry__of(e, struct aspace, node);

		for (j = 0; j < a->nr; j++)
			if (a->maps[j].obj)
				fn(a->maps[j].obj, arg);
		for (j = 0; j < a->old_nr; j++)
			if (a->old_maps[j].obj)
				fn(a->old_maps[j].obj, arg);
	}
}

int aspaces__load_all(struct aspaces *as, const char *proc_root)
{
	DIR *d = opendir(proc_root);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		/* Kernel threads and vanished processes have nothing to read: fine. */
		aspaces__load_proc(as, proc_root, pid);
	}
	closedir(d);
	return 0;
}
