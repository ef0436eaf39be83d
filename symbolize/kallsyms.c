// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize.h"
#include "strset.h"

struct ksyms {
	struct ksym *syms;
	size_t nr, cap;
	struct strset *strs; /* names and modules, each stored once */
	bool hidden;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Stable choice among aliases: prefer the shorter, then alphabetical. */
	if (strlen(x->name) != strlen(y->name))
		return strlen(x->name) < strlen(y->name) ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Merge the sorted [0, mid) and [mid, nr) of ks->syms; -ENOMEM leaves them unmerged. */
static int ksyms__merge(struct ksyms *ks, size_t mid)
{
	struct ksym *out = malloc(ks->nr * sizeof(*out));
	size_t i = 0, j = mid, k = 0;

	if (!out)
		return -ENOMEM;
	while (i < mid || j < ks->nr) {
		if (j == ks->nr || (i < mid && ksym_cmp(&ks->syms[i], &ks->syms[j]) <= 0))
			out[k++] = ks->syms[i++];
		else
			out[k++] = ks->syms[j++];
	}
	free(ks->syms);
	ks->syms = out;
	ks->cap = ks->nr;
	return 0;
}

/*
 * The core kernel's and modules' lines come sorted by address; only a short tail (BPF
 * programs, trampolines) may not. Ordering the runs of aliases, sorting the tail and
 * merging spares sorting 100k+ symbols on every record.
 */
static void ksyms__sort(struct ksyms *ks)
{
	size_t i, run, mid;

	for (mid = 1; mid < ks->nr; mid++)
		if (ks->syms[mid].addr < ks->syms[mid - 1].addr)
			break;
	for (i = 0; i < mid && i < ks->nr; i = run) {
		for (run = i + 1; run < mid && ks->syms[run].addr == ks->syms[i].addr; run++)
			;
		if (run - i > 1)
			qsort(&ks->syms[i], run - i, sizeof(*ks->syms), ksym_cmp);
	}
	if (mid >= ks->nr)
		return;
	qsort(&ks->syms[mid], ks->nr - mid, sizeof(*ks->syms), ksym_cmp);
	if (ksyms__merge(ks, mid))
		qsort(ks->syms, ks->nr, sizeof(*ks->syms), ksym_cmp);
}

void ksyms__free(struct ksyms *ks)
{
	if (!ks)
		return;
	strset__free(ks->strs);
	free(ks->syms);
	free(ks);
}

struct ksyms *ksyms__load_file(FILE *f)
{
	const char *last_mod = NULL;
	struct ksyms *ks;
	char *line = NULL;
	size_t lcap = 0;
	bool any_nonzero = false;
	int err = 0;

	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return NULL;
	ks->strs = strset__new();
	if (!ks->strs) {
		free(ks);
		return NULL;
	}
	while (getline(&line, &lcap, f) > 0) {
		unsigned long addr;
		char type, *name, *mod, *end, *nl;
		struct ksym *sym;

		addr = strtoul(line, &end, 16);
		if (end == line || *end != ' ')
			continue;
		type = end[1];
		if (!type || end[2] != ' ')
			continue;
		/* Only code can be on a stack. */
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		name = end + 3;
		nl = strchr(name, '\n');
		if (nl)
			*nl = 0;
		mod = strchr(name, '\t');
		if (mod) {
			*mod++ = 0;
			if (*mod == '[') {
				char *close = strchr(mod, ']');

				mod++;
				if (close)
					*close = 0;
			}
		}
		if (!*name)
			continue;
		if (addr)
			any_nonzero = true;
		if (ks->nr == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 4096;
			struct ksym *tmp = realloc(ks->syms, cap * sizeof(*tmp));

			if (!tmp) {
				err = -ENOMEM;
				goto out;
			}
			ks->syms = tmp;
			ks->cap = cap;
		}
		sym = &ks->syms[ks->nr];
		sym->addr = addr;
		sym->name = strset__intern(ks->strs, name, strlen(name));
		sym->module = NULL;
		if (mod) {
			if (!last_mod || strcmp(last_mod, mod))
				last_mod = strset__intern(ks->strs, mod, strlen(mod));
			sym->module = last_mod;
		}
		if (!sym->name || (mod && !sym->module)) {
			err = -ENOMEM;
			goto out;
		}
		ks->nr++;
	}
	ks->hidden = ks->nr > 0 && !any_nonzero;
	ksyms__sort(ks);
out:
	free(line);
	if (err) {
		ksyms__free(ks);
		errno = -err;
		return NULL;
	}
	return ks;
}

struct ksyms *ksyms__load(const char *path)
{
	struct ksyms *ks;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	ks = ksyms__load_file(f);
	fclose(f);
	return ks;
}

size_t ksyms__count(const struct ksyms *ks)
{
	return ks ? ks->nr : 0;
}

bool ksyms__hidden(const struct ksyms *ks)
{
	return !ks || ks->hidden || ks->nr == 0;
}

const struct ksym *ksyms__lookup(const struct ksyms *ks, unsigned long addr)
{
	size_t lo = 0, hi;

	if (!ks || !ks->nr || ks->hidden)
		return NULL;
	hi = ks->nr;
	if (addr < ks->syms[0].addr)
		return NULL;
	/* Find the last symbol with address <= addr; the first of equal ones wins. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	while (lo > 0 && ks->syms[lo - 1].addr == ks->syms[lo].addr)
		lo--;
	return &ks->syms[lo];
}

bool ksyms__probe_hidden(const char *path)
{
	char line[256];
	bool hidden = true;
	FILE *f = fopen(path, "re");

	if (!f)
		return true;
	/* kptr_restrict shows every address as zeros: the first code symbol tells. */
	while (fgets(line, sizeof(line), f)) {
		char *end;
		unsigned long addr = strtoul(line, &end, 16);

		if (end == line || *end != ' ' || !strchr("tTwW", end[1]) || !end[1])
			continue;
		hidden = addr == 0;
		break;
	}
	fclose(f);
	return hidden;
}
