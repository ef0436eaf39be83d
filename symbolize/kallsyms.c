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
	if (ks->nr)
		qsort(ks->syms, ks->nr, sizeof(*ks->syms), ksym_cmp);
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
