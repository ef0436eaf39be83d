// SPDX-License-Identifier: GPL-2.0
/* perf's JIT map files: one "START SIZE name" line (hex, no 0x) per function. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "symbolize.h"
#include "symbolize-private.h"
#include "strset.h"
#include "array.h"

struct jit_entry {
	unsigned long start, end;
	const char *name; /* in names */
};

struct jitmap {
	struct jit_entry *e;
	size_t nr;
	struct strset *names; /* a JIT may map one name many times (recompiled functions) */
};

static int jit_cmp(const void *a, const void *b)
{
	const struct jit_entry *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void jitmap__free(struct jitmap *jm)
{
	if (!jm)
		return;
	strset__free(jm->names);
	free(jm->e);
	free(jm);
}

/* One "START SIZE name" line (without its newline); others are ignored. */
static int jitmap__add_line(struct jitmap *jm, char *p, size_t *cap, struct jitmap_stats *st)
{
	unsigned long start, size;
	char *end;

	start = strtoul(p, &end, 16);
	if (end == p || *end != ' ')
		return 0;
	p = end + 1;
	size = strtoul(p, &end, 16);
	if (end == p || *end != ' ' || !size || start + size < start)
		return 0;
	p = end + 1;
	if (!*p)
		return 0;
	if (jm->nr >= JITMAP_MAX_ENTRIES) {
		st->dropped_entries++;
		return 0;
	}
	if (ARRAY_RESERVE(jm->e, *cap, jm->nr + 1, 64))
		return -ENOMEM;
	jm->e[jm->nr].start = start;
	jm->e[jm->nr].end = start + size;
	jm->e[jm->nr].name = strset__intern(jm->names, p, strlen(p));
	if (!jm->e[jm->nr].name)
		return -ENOMEM;
	jm->nr++;
	return 0;
}

/* Line assembly across reads: a line longer than JITMAP_MAX_LINE is skipped whole. */
struct line_buf {
	char s[JITMAP_MAX_LINE + 1];
	size_t len;
	bool skipping;
};

static int feed(struct jitmap *jm, struct line_buf *lb, const char *p, size_t n, size_t *cap,
		struct jitmap_stats *st)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t piece = nl ? (size_t)(nl - p) : n;
		int err = 0;

		if (!lb->skipping && lb->len + piece > JITMAP_MAX_LINE) {
			lb->skipping = true;
			st->long_lines++;
		}
		if (!lb->skipping) {
			memcpy(lb->s + lb->len, p, piece);
			lb->len += piece;
		}
		if (!nl)
			return 0;
		if (!lb->skipping) {
			lb->s[lb->len] = 0;
			err = jitmap__add_line(jm, lb->s, cap, st);
		}
		lb->len = 0;
		lb->skipping = false;
		if (err)
			return err;
		p = nl + 1;
		n -= piece + 1;
	}
	return 0;
}

static int read_all(int fd, struct jitmap *jm, struct jitmap_stats *st)
{
	struct line_buf *lb = calloc(1, sizeof(*lb));
	char buf[65536];
	uint64_t total = 0;
	size_t cap = 0;
	int err = lb ? 0 : -ENOMEM;

	while (!err) {
		size_t want = sizeof(buf);
		ssize_t n;

		if (total == JITMAP_MAX_BYTES) {
			/* Anything more is not read: the last, maybe cut, line is dropped. */
			st->truncated = read(fd, buf, 1) > 0;
			if (st->truncated)
				lb->len = 0;
			break;
		}
		if (want > JITMAP_MAX_BYTES - total)
			want = JITMAP_MAX_BYTES - total;
		n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		total += n;
		err = feed(jm, lb, buf, n, &cap, st);
	}
	/* A last line without its newline still counts. */
	if (!err && lb->len && !lb->skipping) {
		lb->s[lb->len] = 0;
		err = jitmap__add_line(jm, lb->s, &cap, st);
	}
	free(lb);
	return err;
}

struct jitmap *jitmap__read(int fd, struct jitmap_stats *st)
{
	struct jitmap_stats ignored;
	struct jitmap *jm;
	int err;

	if (!st)
		st = &ignored;
	memset(st, 0, sizeof(*st));
	jm = calloc(1, sizeof(*jm));
	if (!jm)
		return NULL;
	jm->names = strset__new();
	if (!jm->names) {
		free(jm);
		return NULL;
	}
	err = read_all(fd, jm, st);
	if (err == -ENOMEM) {
		jitmap__free(jm);
		errno = ENOMEM;
		return NULL;
	}
	if (jm->nr)
		qsort(jm->e, jm->nr, sizeof(*jm->e), jit_cmp);
	return jm;
}

struct jitmap *jitmap__load(const char *path)
{
	struct jitmap *jm;
	struct stat st;
	int fd = sym_file__open(-1, path, NULL, 0, UINT64_MAX, &st), err;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	jm = jitmap__read(fd, NULL);
	err = errno;
	close(fd);
	errno = err;
	return jm;
}

size_t jitmap__count(const struct jitmap *jm)
{
	return jm ? jm->nr : 0;
}

const char *jitmap__lookup(const struct jitmap *jm, unsigned long addr)
{
	size_t lo = 0, hi;

	if (!jm || !jm->nr || addr < jm->e[0].start)
		return NULL;
	hi = jm->nr;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (jm->e[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return addr < jm->e[lo].end ? jm->e[lo].name : NULL;
}
