// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <linux/perf_event.h>
#include "hashmap.h"
#include "tracker.h"
#include "pmu/pmu.h"
#include "array.h"

#define TRACK_PAGES 64 /* data pages per CPU (power of two) */

/* TRACK_PAGES, or PMUPROF_TEST_TRACK_PAGES (a power of two): tests make the kernel drop
 * records with a small ring. */
static unsigned int track_pages(void)
{
	const char *v = getenv("PMUPROF_TEST_TRACK_PAGES");
	unsigned long n = v ? strtoul(v, NULL, 10) : 0;

	return n && n <= TRACK_PAGES && !(n & (n - 1)) ? n : TRACK_PAGES;
}

struct track_buf {
	int fd;
	void *base;
	size_t len;
};

struct tracker {
	struct track_buf *bufs;
	int nr;
	struct aspaces *as;
	uint64_t lost;	/* the sum of the rings' PERF_RECORD_LOST */
	bool read_lost; /* the events count their losses (PERF_FORMAT_LOST, Linux 6.0) */
	char *scratch;	/* for records that wrap around the ring */
	size_t scratch_len;
	struct pending *pend;
	size_t nr_pend, cap_pend;
	struct exited *exits; /* this batch's exits, by pid (tracker__process) */
	size_t cap_exits;
	void (*on_change)(void *ctx, pid_t pid); /* after a record changed pid's mappings */
	void *on_change_ctx;
	bool following;	       /* only the processes in follow (tracker__follow) */
	struct hashmap follow; /* struct followed by pid */
	/* Following: the processes the batch being read forks from followed ones (and
	 * theirs), whatever the order the rings give them in. */
	pid_t *forked;
	size_t nr_forked, cap_forked;
};

/* A process whose records are applied, and its children's (tracker__follow). */
struct followed {
	struct hashmap_entry node;
	pid_t pid;
};

static bool followed_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	return hashmap_entry__of(e, struct followed, node)->pid == *(const pid_t *)key;
}

static struct followed *followed_find(const struct tracker *t, pid_t pid)
{
	struct hashmap_entry *e = hashmap__find(&t->follow, hash__u64(pid), &pid);

	return e ? hashmap_entry__of(e, struct followed, node) : NULL;
}

/* One record copied out of a ring, ordered by time before it is applied. */
struct pending {
	uint64_t time;
	uint32_t seq;
	uint32_t type;
	pid_t pid, ppid, tid;
	unsigned long addr, len, pgoff;
	uint64_t dev, ino; /* MMAP2: the file mapped */
	uint16_t misc;
	bool exited; /* an exec whose process exits later in the same batch */
	char *path;
};

/* A process exit in the batch being applied. */
struct exited {
	pid_t pid;
	uint64_t time;
};

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void tracker__unfollow_all(struct tracker *t)
{
	struct hashmap_entry *e;
	struct hashmap_iter it;

	hashmap_iter__init(&it, &t->follow);
	while ((e = hashmap_iter__next(&it))) {
		hashmap__del(&t->follow, e);
		free(hashmap_entry__of(e, struct followed, node));
	}
}

int tracker__follow(struct tracker *t, pid_t pid)
{
	struct followed *f;

	t->following = true;
	if (followed_find(t, pid))
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->pid = pid;
	if (hashmap__add(&t->follow, &f->node, hash__u64(pid))) {
		free(f);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Whether a record is applied when only some processes are followed: theirs, and a fork
 * of theirs (the child is followed from then on); a followed process's exit is its last.
 */
static bool tracker__wants(struct tracker *t, const struct pending *p)
{
	struct followed *f;

	if (!t->following)
		return true;
	if (p->type == PERF_RECORD_FORK)
		return followed_find(t, p->ppid) && !tracker__follow(t, p->pid);
	f = followed_find(t, p->pid);
	if (!f)
		return false;
	if (p->type == PERF_RECORD_EXIT) {
		hashmap__del(&t->follow, &f->node);
		free(f);
	}
	return true;
}

void tracker__free(struct tracker *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < t->nr; i++) {
		if (t->bufs[i].base)
			munmap(t->bufs[i].base, t->bufs[i].len);
		if (t->bufs[i].fd >= 0)
			close(t->bufs[i].fd);
	}
	for (size_t j = 0; j < t->nr_pend; j++)
		free(t->pend[j].path);
	tracker__unfollow_all(t);
	hashmap__exit(&t->follow);
	free(t->forked);
	free(t->pend);
	free(t->exits);
	free(t->bufs);
	free(t->scratch);
	free(t);
}

struct tracker *tracker__new(const int *cpus, int nr_cpus, struct aspaces *as)
{
	long page = sysconf(_SC_PAGESIZE);
	struct tracker *t;
	int i, err = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	hashmap__init(&t->follow, followed_match, NULL);
	t->as = as;
	t->bufs = calloc(nr_cpus, sizeof(*t->bufs));
	if (!t->bufs) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < nr_cpus; i++)
		t->bufs[i].fd = -1;
	t->nr = nr_cpus;
	for (i = 0; i < nr_cpus; i++) {
		unsigned int pages = track_pages();
		struct perf_event_attr attr = {
			.size = sizeof(attr),
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_DUMMY,
			.disabled = 1,
			.mmap = 1,
			.mmap2 = 1,
			.comm = 1,
			.comm_exec = 1,
			.task = 1,
			.sample_id_all = 1,
			.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
			/* The clock of the task start times the samples are keyed by. */
			.use_clockid = 1,
			.clockid = CLOCK_BOOTTIME,
			.watermark = 1,
			.wakeup_watermark = (pages * page) / 4,
		};
		int fd;

		/* The kernel writes a PERF_RECORD_LOST only once the ring has room again and
		 * the next record comes: a read() of the event counts every loss at once. */
		attr.read_format = PERF_FORMAT_LOST;
		fd = pmu_attr__open(&attr, -1, cpus[i], -1);
		if (fd == -EINVAL) {
			attr.read_format = 0;
			fd = pmu_attr__open(&attr, -1, cpus[i], -1);
		}
		t->read_lost = (i == 0 || t->read_lost) && attr.read_format;
		if (fd < 0) {
			err = fd;
			goto fail;
		}
		t->bufs[i].fd = fd;
		t->bufs[i].len = (pages + 1) * page;
		t->bufs[i].base =
			mmap(NULL, t->bufs[i].len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (t->bufs[i].base == MAP_FAILED) {
			t->bufs[i].base = NULL;
			err = -errno;
			goto fail;
		}
	}
	return t;
fail:
	tracker__free(t);
	errno = -err;
	return NULL;
}

int tracker__enable(struct tracker *t)
{
	int i;

	for (i = 0; i < t->nr; i++)
		if (ioctl(t->bufs[i].fd, PERF_EVENT_IOC_ENABLE, 0) < 0)
			return -errno;
	return 0;
}

/* Records the kernel could not write to the rings so far, from the events' counts where
 * the kernel keeps them (the LOST records of a ring come later, if ever). */
uint64_t tracker__lost(const struct tracker *t)
{
	uint64_t sum = 0, v[2];
	int i;

	for (i = 0; t->read_lost && i < t->nr; i++) {
		if (read(t->bufs[i].fd, v, sizeof(v)) != sizeof(v))
			return t->lost;
		sum += v[1];
	}
	return sum > t->lost ? sum : t->lost;
}

int tracker__fds(const struct tracker *t, int *fds, int max)
{
	int i;

	for (i = 0; i < t->nr && i < max; i++)
		fds[i] = t->bufs[i].fd;
	return i;
}

static int push(struct tracker *t, const struct pending *p)
{
	if (ARRAY_RESERVE(t->pend, t->cap_pend, t->nr_pend + 1, 256))
		return -ENOMEM;
	t->pend[t->nr_pend] = *p;
	t->pend[t->nr_pend].seq = t->nr_pend;
	t->nr_pend++;
	return 0;
}

/* The sample_id trailer (TID, TIME) sits at the end of every non-sample record. */
static uint64_t trailer_time(const struct perf_event_header *h)
{
	const uint64_t *end = (const uint64_t *)((const char *)h + h->size);

	return end[-1];
}

/* Followed now, or forked in this batch from a process that may be. */
static bool tracker__may_follow(const struct tracker *t, pid_t pid)
{
	size_t i;

	if (followed_find(t, pid))
		return true;
	for (i = 0; i < t->nr_forked; i++)
		if (t->forked[i] == pid)
			return true;
	return false;
}

/* The pid a record is about (the parent for a fork): records no followed process could
 * be behind are dropped before they are copied. -1: not a record kept anyway. */
static pid_t record_pid(const struct perf_event_header *h)
{
	const uint32_t *ids = (const uint32_t *)(h + 1);

	switch (h->type) {
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_COMM:
	case PERF_RECORD_EXIT:
		return ids[0];
	case PERF_RECORD_FORK:
		return ids[1];
	default:
		return -1;
	}
}

static int parse(struct tracker *t, const struct perf_event_header *h)
{
	const char *body = (const char *)(h + 1);
	struct pending p = {0};
	pid_t about;

	if (h->size < sizeof(*h) + 16)
		return 0;
	about = record_pid(h);
	if (t->following && about >= 0 && !tracker__may_follow(t, about))
		return 0;
	p.type = h->type;
	p.misc = h->misc;
	p.time = trailer_time(h);
	switch (h->type) {
	case PERF_RECORD_MMAP2: {
		const struct {
			uint32_t pid, tid;
			uint64_t addr, len, pgoff;
			uint32_t maj, min;
			uint64_t ino, ino_generation;
			uint32_t prot, flags;
			char filename[];
		} *m = (const void *)body;
		size_t max = h->size - sizeof(*h) - sizeof(*m) - 16;

		p.pid = m->pid;
		p.tid = m->tid;
		p.addr = m->addr;
		p.len = m->len;
		p.pgoff = m->pgoff;
		/* With a build id in their place, the file is found by opening it. */
		if (!(h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			p.dev = makedev(m->maj, m->min);
			p.ino = m->ino;
		}
		p.path = strndup(m->filename, max);
		if (!p.path)
			return -ENOMEM;
		break;
	}
	case PERF_RECORD_COMM: {
		const uint32_t *ids = (const uint32_t *)body;

		if (!(h->misc & PERF_RECORD_MISC_COMM_EXEC))
			return 0;
		p.pid = ids[0];
		p.tid = ids[1];
		break;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		const uint32_t *ids = (const uint32_t *)body;

		p.pid = ids[0];
		p.ppid = ids[1];
		p.tid = ids[2];
		/* Threads come and go inside a process: only processes matter. */
		if (h->type == PERF_RECORD_FORK ? p.pid == p.ppid : p.pid != p.tid)
			return 0;
		break;
	}
	case PERF_RECORD_LOST: {
		const uint64_t *v = (const uint64_t *)body;

		t->lost += v[1];
		return 0;
	}
	default:
		return 0;
	}
	return push(t, &p);
}

/* A fork from a process that may be followed: its child may be too. */
static int scan_fork(struct tracker *t, const struct perf_event_header *h)
{
	const uint32_t *ids = (const uint32_t *)(h + 1);

	if (h->type != PERF_RECORD_FORK || h->size < sizeof(*h) + 12 || ids[0] == ids[1] ||
	    !tracker__may_follow(t, ids[1]) || tracker__may_follow(t, ids[0]))
		return 0;
	if (ARRAY_RESERVE(t->forked, t->cap_forked, t->nr_forked + 1, 16))
		return -ENOMEM;
	t->forked[t->nr_forked++] = ids[0];
	return 0;
}

/* Each record of a ring up to head, to fn; consumed (the ring's tail moved) if asked. */
static int walk_buf(struct tracker *t, struct track_buf *b, uint64_t head, bool consume,
		    int (*fn)(struct tracker *t, const struct perf_event_header *h))
{
	struct perf_event_mmap_page *meta = b->base;
	char *data = (char *)b->base + meta->data_offset;
	uint64_t size = meta->data_size, tail;
	int err = 0;

	tail = meta->data_tail;
	while (tail < head) {
		struct perf_event_header *h = (void *)(data + (tail % size));
		size_t off = tail % size;

		if (off + sizeof(*h) > size || off + h->size > size) {
			/* Wrapped record: copy it out in two pieces. */
			struct perf_event_header hdr;
			size_t first, rec;

			first = size - off;
			if (first >= sizeof(hdr)) {
				memcpy(&hdr, data + off, sizeof(hdr));
			} else {
				memcpy(&hdr, data + off, first);
				memcpy((char *)&hdr + first, data, sizeof(hdr) - first);
			}
			rec = hdr.size;
			if (!rec)
				break;
			if (t->scratch_len < rec) {
				char *s = realloc(t->scratch, rec);

				if (!s) {
					err = -ENOMEM;
					break;
				}
				t->scratch = s;
				t->scratch_len = rec;
			}
			first = first < rec ? first : rec;
			memcpy(t->scratch, data + off, first);
			memcpy(t->scratch + first, data, rec - first);
			h = (void *)t->scratch;
		}
		if (!h->size)
			break;
		err = fn(t, h);
		tail += h->size;
		if (err)
			break;
	}
	if (consume)
		__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	return err;
}

/*
 * Copy the rings' records out. Following some processes, a first look finds the forks
 * that add to them (until none is new: the rings may give a grandchild's fork before its
 * parent's), so that the records of every other process on the machine are dropped
 * unread; both looks stop at the same heads.
 */
static int read_bufs(struct tracker *t)
{
	uint64_t heads[t->nr];
	size_t before;
	int err = 0, j, round;

	for (j = 0; j < t->nr; j++)
		heads[j] = __atomic_load_n(
			&((struct perf_event_mmap_page *)t->bufs[j].base)->data_head,
			__ATOMIC_ACQUIRE);
	t->nr_forked = 0;
	for (round = 0; t->following && round < 16 && !err; round++) {
		before = t->nr_forked;
		for (j = 0; j < t->nr && !err; j++)
			err = walk_buf(t, &t->bufs[j], heads[j], false, scan_fork);
		if (t->nr_forked == before)
			break;
	}
	for (j = 0; j < t->nr && !err; j++)
		err = walk_buf(t, &t->bufs[j], heads[j], true, parse);
	return err;
}

static int exited_cmp(const void *a, const void *b)
{
	const struct exited *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->time < y->time ? -1 : x->time > y->time;
}

/*
 * Execs whose process exits later in the batch: under a fork-heavy load (a shell running
 * short commands) most processes are gone by the time their records are read, and
 * looking for their credentials in /proc costs more than the rest of their records.
 */
static void mark_exited(struct tracker *t)
{
	struct exited key, *e;
	size_t i, n = 0, lo, hi;

	for (i = 0; i < t->nr_pend; i++)
		n += t->pend[i].type == PERF_RECORD_EXIT;
	if (!n)
		return;
	if (n > t->cap_exits) {
		e = realloc(t->exits, n * sizeof(*e));
		if (!e)
			return; /* their credentials are read, as any other's */
		t->exits = e;
		t->cap_exits = n;
	}
	for (i = 0, n = 0; i < t->nr_pend; i++)
		if (t->pend[i].type == PERF_RECORD_EXIT)
			t->exits[n++] = (struct exited){t->pend[i].pid, t->pend[i].time};
	qsort(t->exits, n, sizeof(*t->exits), exited_cmp);
	for (i = 0; i < t->nr_pend; i++) {
		struct pending *p = &t->pend[i];

		if (p->type != PERF_RECORD_COMM || p->pid != p->tid)
			continue;
		/* The last exit of the pid: a pid is reused only after its process is gone,
		 * so an exit after the exec is the exec'ing process's. */
		key = (struct exited){p->pid, UINT64_MAX};
		lo = 0;
		hi = n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (exited_cmp(&t->exits[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		e = lo ? &t->exits[lo - 1] : NULL;
		p->exited = e && e->pid == p->pid && e->time >= p->time;
	}
}

int tracker__process(struct tracker *t)
{
	size_t i, n;
	int err = 0;

	err = read_bufs(t);
	/* Apply in time order: a fork on one CPU precedes the child's mmaps on another. */
	if (t->nr_pend)
		qsort(t->pend, t->nr_pend, sizeof(*t->pend), pending_cmp);
	mark_exited(t);
	for (i = 0; i < t->nr_pend; i++) {
		struct pending *p = &t->pend[i];
		int e = 0;

		if (!tracker__wants(t, p)) {
			free(p->path);
			continue;
		}
		switch (p->type) {
		case PERF_RECORD_MMAP2:
			e = aspaces__add_file_map(t->as, p->pid, p->addr, p->len, p->pgoff, p->path,
						  p->dev, p->ino);
			break;
		case PERF_RECORD_COMM:
			if (p->pid == p->tid && p->exited)
				e = aspaces__exec_exited_at(t->as, p->pid, p->time);
			else if (p->pid == p->tid)
				e = aspaces__exec_at(t->as, p->pid, p->time);
			break;
		case PERF_RECORD_FORK:
			e = aspaces__fork_at(t->as, p->ppid, p->pid, p->time);
			break;
		case PERF_RECORD_EXIT:
			aspaces__exit(t->as, p->pid, p->time);
			break;
		}
		if (e == -ENOMEM && !err)
			err = e;
		if (t->on_change)
			t->on_change(t->on_change_ctx, p->pid);
		free(p->path);
	}
	n = t->nr_pend;
	t->nr_pend = 0;
	return err ? err : (int)n;
}

void tracker__on_change(struct tracker *t, void (*fn)(void *ctx, pid_t pid), void *ctx)
{
	t->on_change = fn;
	t->on_change_ctx = ctx;
}
