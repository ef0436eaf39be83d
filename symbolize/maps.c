// SPDX-License-Identifier: GPL-2.0
/*
 * Address spaces of processes: executable mappings per pid, built from a /proc
 * snapshot and kept current from mmap/fork/exec records, so a process that exited
 * before the end of the record is still symbolized.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize.h"
#include "symbolize-private.h"

struct aspace {
	pid_t pid; /* 0: empty slot */
	struct map_entry *maps;
	size_t nr, cap;
	struct proc_cred *cred; /* NULL: never seen alive */
};

struct interned {
	struct interned *next;
	char s[];
};

#define INTERN_BUCKETS 1024

/* Processes tracked at most: beyond, new ones are counted, not kept (memory bound). */
#define ASPACES_MAX_PIDS 65536

struct aspaces {
	struct aspace *tab; /* open addressing on pid */
	size_t cap, used;
	size_t max_pids;
	uint64_t dropped; /* processes not tracked because of the bound */
	char *proc_root;  /* NULL: /proc */
	struct interned *strs[INTERN_BUCKETS];
};

static const char *intern(struct aspaces *as, const char *s)
{
	uint32_t b = sym_hash_str(s) % INTERN_BUCKETS;
	struct interned *i;
	size_t len;

	for (i = as->strs[b]; i; i = i->next)
		if (!strcmp(i->s, s))
			return i->s;
	len = strlen(s);
	i = malloc(sizeof(*i) + len + 1);
	if (!i)
		return NULL;
	memcpy(i->s, s, len + 1);
	i->next = as->strs[b];
	as->strs[b] = i;
	return i->s;
}

struct aspaces *aspaces__new(void)
{
	struct aspaces *as = calloc(1, sizeof(*as));

	if (!as)
		return NULL;
	as->cap = 256;
	as->max_pids = ASPACES_MAX_PIDS;
	as->tab = calloc(as->cap, sizeof(*as->tab));
	if (!as->tab) {
		free(as);
		return NULL;
	}
	return as;
}

void aspaces__free(struct aspaces *as)
{
	size_t i;

	if (!as)
		return;
	for (i = 0; i < as->cap; i++) {
		free(as->tab[i].maps);
		free(as->tab[i].cred);
	}
	free(as->tab);
	free(as->proc_root);
	for (i = 0; i < INTERN_BUCKETS; i++) {
		struct interned *n, *p = as->strs[i];

		for (; p; p = n) {
			n = p->next;
			free(p);
		}
	}
	free(as);
}

static struct aspace *slot(const struct aspaces *as, pid_t pid)
{
	size_t i = ((uint32_t)pid * 2654435761u) & (as->cap - 1);

	while (as->tab[i].pid && as->tab[i].pid != pid)
		i = (i + 1) & (as->cap - 1);
	return &as->tab[i];
}

static struct aspace *get(struct aspaces *as, pid_t pid, bool create)
{
	struct aspace *a = slot(as, pid);

	if (a->pid || !create)
		return a->pid ? a : NULL;
	if (as->used >= as->max_pids) {
		as->dropped++;
		return NULL;
	}
	if ((as->used + 1) * 2 > as->cap) {
		struct aspace *old = as->tab;
		size_t i, oldcap = as->cap;

		as->tab = calloc(oldcap * 2, sizeof(*as->tab));
		if (!as->tab) {
			as->tab = old;
			return NULL;
		}
		as->cap = oldcap * 2;
		for (i = 0; i < oldcap; i++)
			if (old[i].pid)
				*slot(as, old[i].pid) = old[i];
		free(old);
		a = slot(as, pid);
	}
	a->pid = pid;
	as->used++;
	return a;
}

bool aspaces__has(const struct aspaces *as, pid_t pid)
{
	return slot(as, pid)->pid == pid;
}

size_t aspaces__nr_pids(const struct aspaces *as)
{
	return as->used;
}

uint64_t aspaces__dropped(const struct aspaces *as)
{
	return as->dropped;
}

void aspaces__set_max_pids(struct aspaces *as, size_t max)
{
	as->max_pids = max;
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
	const struct aspace *a = slot(as, pid);

	return a->pid == pid ? a->cred : NULL;
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

int aspaces__add_map(struct aspaces *as, pid_t pid, unsigned long start, unsigned long len,
		     unsigned long pgoff, const char *path)
{
	unsigned long end = start + len;
	struct aspace *a;
	struct map_entry *m, e;
	size_t i, j;

	if (!len || end < start)
		return -EINVAL;
	a = get(as, pid, true);
	if (!a)
		return -ENOMEM;
	e.start = start;
	e.end = end;
	e.pgoff = pgoff;
	e.path = intern(as, path);
	e.obj = NULL;
	if (!e.path)
		return -ENOMEM;
	/* Room for the new entry and one split. */
	if (a->nr + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;

		m = realloc(a->maps, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		a->maps = m;
		a->cap = cap;
	}
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
	struct aspace *p, *c;
	size_t i;
	int err;

	if (ppid == pid)
		return 0;
	p = get(as, ppid, false);
	if (!p)
		return 0;
	c = get(as, pid, true);
	if (!c)
		return -ENOMEM;
	/* Re-fetch: growing the table may have moved the parent. */
	p = get(as, ppid, false);
	c->nr = 0;
	/* fork() copies the credentials. */
	if (p->cred && !c->cred)
		c->cred = malloc(sizeof(*c->cred));
	if (p->cred && c->cred)
		*c->cred = *p->cred;
	for (i = 0; i < p->nr; i++) {
		const struct map_entry *m = &p->maps[i];

		err = aspaces__add_map(as, pid, m->start, m->end - m->start, m->pgoff, m->path);
		if (err)
			return err;
		p = get(as, ppid, false);
	}
	return 0;
}

int aspaces__exec(struct aspaces *as, pid_t pid)
{
	struct aspace *a = get(as, pid, true);

	if (!a)
		return -ENOMEM;
	a->nr = 0;
	/* A set-user-ID program changes them; if it is gone already, keep its parent's. */
	note_cred(as, a, NULL);
	return 0;
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

int aspaces__load_proc(struct aspaces *as, const char *proc_root, pid_t pid)
{
	char fname[256], *line = NULL;
	struct aspace *a;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	snprintf(fname, sizeof(fname), "%s/%d/maps", proc_root ? proc_root : "/proc", pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	a = get(as, pid, true);
	if (!a) {
		fclose(f);
		return -ENOMEM;
	}
	note_cred(as, a, proc_root);
	while (getline(&line, &cap, f) > 0) {
		unsigned long start, end, pgoff;
		char *path;
		int r = proc_maps__parse_line(line, &start, &end, &pgoff, &path);

		if (r <= 0)
			continue;
		err = aspaces__add_map(as, pid, start, end - start, pgoff, path);
		free(path);
		if (err)
			break;
	}
	free(line);
	fclose(f);
	return err;
}

struct map_entry *aspaces__find(const struct aspaces *as, pid_t pid, unsigned long addr)
{
	const struct aspace *a = slot(as, pid);
	size_t lo = 0, hi;

	if (a->pid != pid || !a->nr)
		return NULL;
	hi = a->nr;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->maps[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (addr >= a->maps[lo].start && addr < a->maps[lo].end)
		return &a->maps[lo];
	return NULL;
}
