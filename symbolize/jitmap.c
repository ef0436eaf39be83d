// SPDX-License-Identifier: GPL-2.0
/* perf's JIT map files: one "START SIZE name" line (hex, no 0x) per function. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize.h"

struct jit_entry {
	unsigned long start, end;
	char *name;
};

struct jitmap {
	struct jit_entry *e;
	size_t nr;
};

static int jit_cmp(const void *a, const void *b)
{
	const struct jit_entry *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void jitmap__free(struct jitmap *jm)
{
	size_t i;

	if (!jm)
		return;
	for (i = 0; i < jm->nr; i++)
		free(jm->e[i].name);
	free(jm->e);
	free(jm);
}

struct jitmap *jitmap__load(const char *path)
{
	struct jitmap *jm;
	char *line = NULL;
	size_t cap = 0, ecap = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	jm = calloc(1, sizeof(*jm));
	if (!jm)
		goto out;
	while (getline(&line, &cap, f) > 0) {
		unsigned long start, size;
		char *p = line, *end, *nl;

		start = strtoul(p, &end, 16);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		size = strtoul(p, &end, 16);
		if (end == p || *end != ' ' || !size)
			continue;
		p = end + 1;
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (!*p)
			continue;
		if (jm->nr == ecap) {
			struct jit_entry *tmp;

			ecap = ecap ? ecap * 2 : 64;
			tmp = realloc(jm->e, ecap * sizeof(*tmp));
			if (!tmp)
				break;
			jm->e = tmp;
		}
		jm->e[jm->nr].start = start;
		jm->e[jm->nr].end = start + size;
		jm->e[jm->nr].name = strdup(p);
		if (jm->e[jm->nr].name)
			jm->nr++;
	}
	if (jm->nr)
		qsort(jm->e, jm->nr, sizeof(*jm->e), jit_cmp);
out:
	free(line);
	fclose(f);
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
