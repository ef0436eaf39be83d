// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "symbolize.h"

/* A kept symbol, 16 bytes: its name and module as offsets into the arena. */
struct ksym_rec {
	unsigned long addr;
	uint32_t name;
	uint32_t module; /* KSYM_NO_MODULE for the core kernel */
};

#define KSYM_NO_MODULE UINT32_MAX
/* In a table of names the kernel gave (ksyms__add_named()), records that are no symbol: */
#define KSYM_GAP  (UINT32_MAX - 1) /* name: the end of the symbol before it */
#define KSYM_NONE (UINT32_MAX - 2) /* name: an address the kernel has no symbol for */

struct ksyms {
	struct ksym_rec *syms;
	size_t nr, cap;
	char *arena; /* the names and module names, one after another */
	size_t arena_len, arena_cap;
	bool hidden;
	bool named; /* names the kernel gave for the addresses asked, with their ends */
};

static int ksym_cmp(const void *a, const void *b, void *arena)
{
	const struct ksym_rec *x = a, *y = b;
	const char *xn, *yn;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* A symbol starting where another ends or a bare address is asked wins. */
	if (x->name >= KSYM_NONE || y->name >= KSYM_NONE)
		return x->name < y->name ? -1 : x->name > y->name;
	xn = (const char *)arena + x->name;
	yn = (const char *)arena + y->name;
	/* Stable choice among aliases: prefer the shorter, then alphabetical. */
	if (strlen(xn) != strlen(yn))
		return strlen(xn) < strlen(yn) ? -1 : 1;
	return strcmp(xn, yn);
}

/* Merge the sorted [0, mid) and [mid, nr) of ks->syms; -ENOMEM leaves them unmerged. */
static int ksyms__merge(struct ksyms *ks, size_t mid)
{
	struct ksym_rec *out = malloc(ks->nr * sizeof(*out));
	size_t i = 0, j = mid, k = 0;

	if (!out)
		return -ENOMEM;
	while (i < mid || j < ks->nr) {
		if (j == ks->nr ||
		    (i < mid && ksym_cmp(&ks->syms[i], &ks->syms[j], ks->arena) <= 0))
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
			qsort_r(&ks->syms[i], run - i, sizeof(*ks->syms), ksym_cmp, ks->arena);
	}
	if (mid >= ks->nr)
		return;
	qsort_r(&ks->syms[mid], ks->nr - mid, sizeof(*ks->syms), ksym_cmp, ks->arena);
	if (ksyms__merge(ks, mid))
		qsort_r(ks->syms, ks->nr, sizeof(*ks->syms), ksym_cmp, ks->arena);
}

void ksyms__free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->arena);
	free(ks->syms);
	free(ks);
}

/* Room for one more symbol. */
static int ksyms__grow(struct ksyms *ks)
{
	size_t cap = ks->cap ? ks->cap * 2 : 4096;
	struct ksym_rec *tmp;

	if (ks->nr < ks->cap)
		return 0;
	tmp = realloc(ks->syms, cap * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	ks->syms = tmp;
	ks->cap = cap;
	return 0;
}

/* Append name to the arena: its offset, or -ENOMEM. */
static long ksyms__store(struct ksyms *ks, const char *name, size_t len)
{
	size_t off = ks->arena_len;

	if (off + len + 1 >= KSYM_NONE)
		return -E2BIG;
	if (off + len + 1 > ks->arena_cap) {
		size_t cap = ks->arena_cap ? ks->arena_cap * 2 : 1u << 20;
		char *a;

		while (cap < off + len + 1)
			cap *= 2;
		a = realloc(ks->arena, cap);
		if (!a)
			return -ENOMEM;
		ks->arena = a;
		ks->arena_cap = cap;
	}
	memcpy(ks->arena + off, name, len);
	ks->arena[off + len] = 0;
	ks->arena_len += len + 1;
	return (long)off;
}

/*
 * A code symbol added, its module (mod NULL: the core kernel) stored once per run of its
 * symbols: *last_mod is the run's offset (-1: none yet).
 */
static int ksyms__add(struct ksyms *ks, unsigned long addr, const char *name, size_t name_len,
		      const char *mod, size_t mod_len, long *last_mod)
{
	struct ksym_rec *sym;
	long off;

	if (mod && (*last_mod < 0 || strlen(ks->arena + *last_mod) != mod_len ||
		    memcmp(ks->arena + *last_mod, mod, mod_len))) {
		*last_mod = ksyms__store(ks, mod, mod_len);
		if (*last_mod < 0)
			return (int)*last_mod;
	}
	off = ksyms__store(ks, name, name_len);
	if (off < 0)
		return (int)off;
	if (ksyms__grow(ks))
		return -ENOMEM;
	sym = &ks->syms[ks->nr++];
	sym->addr = addr;
	sym->name = (uint32_t)off;
	sym->module = mod ? (uint32_t)*last_mod : KSYM_NO_MODULE;
	return 0;
}

/*
 * One line "ADDR TYPE NAME[\t[MODULE]]" (without its newline, NUL-terminated): a code
 * symbol is added.
 */
static int ksyms__line(struct ksyms *ks, char *line, long *last_mod, bool *nonzero)
{
	char type, *name, *mod, *end;
	unsigned long addr;

	addr = strtoul(line, &end, 16);
	if (end == line || *end != ' ')
		return 0;
	type = end[1];
	/* Only code can be on a stack. */
	if (!type || end[2] != ' ' || !strchr("tTwW", type))
		return 0;
	name = end + 3;
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
		return 0;
	*nonzero |= addr != 0;
	return ksyms__add(ks, addr, name, strlen(name), mod, mod ? strlen(mod) : 0, last_mod);
}

/*
 * The text of /proc/kallsyms read in large blocks (the kernel formats it line by line,
 * whatever the reader: that part is fixed), each name copied once into one arena.
 */
static int ksyms__read(struct ksyms *ks, FILE *f, bool *nonzero)
{
	size_t cap = 1u << 20, have = 0;
	long last_mod = -1;
	char *buf = malloc(cap + 1);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t n = fread(buf + have, 1, cap - have, f), used = 0;
		char *nl;

		have += n;
		buf[have] = 0;
		while (!err && (nl = memchr(buf + used, '\n', have - used))) {
			*nl = 0;
			err = ksyms__line(ks, buf + used, &last_mod, nonzero);
			used = nl + 1 - buf;
		}
		if (err)
			break;
		if (!n) { /* the end: a last line without its newline */
			if (used < have)
				err = ksyms__line(ks, buf + used, &last_mod, nonzero);
			break;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
		if (have == cap) /* a line longer than the buffer: not kallsyms */
			break;
	}
	free(buf);
	return err;
}

/*
 * The table read: spare room given back, hidden addresses noted, sorted; or, after an
 * error err (negative errno), freed, with errno set and NULL returned.
 */
static struct ksyms *ksyms__finish(struct ksyms *ks, int err, bool any_nonzero)
{
	if (err) {
		ksyms__free(ks);
		errno = -err;
		return NULL;
	}
	/* The arena grew by doubling: what it did not use goes back (about a third). */
	if (ks->arena_len < ks->arena_cap) {
		char *a = realloc(ks->arena, ks->arena_len ? ks->arena_len : 1);

		if (a) {
			ks->arena = a;
			ks->arena_cap = ks->arena_len;
		}
	}
	ks->hidden = ks->nr > 0 && !any_nonzero;
	ksyms__sort(ks);
	if (ks->nr && ks->nr < ks->cap) {
		struct ksym_rec *tmp = realloc(ks->syms, ks->nr * sizeof(*tmp));

		if (tmp) {
			ks->syms = tmp;
			ks->cap = ks->nr;
		}
	}
	return ks;
}

struct ksyms *ksyms__load_file(FILE *f)
{
	bool any_nonzero = false;
	struct ksyms *ks;
	int err;

	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return NULL;
	err = ksyms__read(ks, f, &any_nonzero);
	return ksyms__finish(ks, err, any_nonzero);
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

/* The record holding addr: the last at or below it, the first of equal ones; NULL: none. */
static const struct ksym_rec *ksyms__find(const struct ksyms *ks, unsigned long addr)
{
	size_t lo = 0, hi;

	if (!ks || !ks->nr || ks->hidden || addr < ks->syms[0].addr)
		return NULL;
	hi = ks->nr;
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

bool ksyms__lookup(const struct ksyms *ks, unsigned long addr, struct ksym *out)
{
	const struct ksym_rec *r = ksyms__find(ks, addr);

	if (!r || r->name >= KSYM_NONE)
		return false;
	out->addr = r->addr;
	out->name = ks->arena + r->name;
	out->module = r->module == KSYM_NO_MODULE ? NULL : ks->arena + r->module;
	return true;
}

bool ksyms__knows(const struct ksyms *ks, unsigned long addr)
{
	const struct ksym_rec *r;

	if (!ks || !ks->named)
		return ks != NULL;
	r = ksyms__find(ks, addr);
	if (!r || r->name == KSYM_GAP)
		return false;
	return r->name != KSYM_NONE || r->addr == addr;
}

struct ksyms *ksyms__new_named(void)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));

	if (ks)
		ks->named = true;
	return ks;
}

/* A record that is no symbol (KSYM_GAP, KSYM_NONE) at addr. */
static int ksyms__mark(struct ksyms *ks, unsigned long addr, uint32_t kind)
{
	if (ksyms__grow(ks))
		return -ENOMEM;
	ks->syms[ks->nr++] = (struct ksym_rec){addr, kind, KSYM_NO_MODULE};
	return 0;
}

/*
 * One line of the kernel's "ADDR NAME+0xOFF/0xSIZE [MODULE]" (or "ADDR 0x...": no symbol),
 * without its newline, NUL-terminated: the symbol and its end added.
 */
static int ksyms__named_line(struct ksyms *ks, char *line, long *last_mod)
{
	char *end, *name, *mod = NULL, *slash, *plus;
	unsigned long addr, off, size;

	addr = strtoul(line, &end, 16);
	if (end == line || *end != ' ')
		return -EBADMSG;
	name = end + 1;
	if (!strncmp(name, "0x", 2))
		return ksyms__mark(ks, addr, KSYM_NONE);
	end = name + strlen(name);
	if (end > name && end[-1] == ']' && (mod = strstr(name, " ["))) {
		end[-1] = 0;
		end = mod;
		*end = 0;
		mod += 2;
	}
	slash = memrchr(name, '/', (size_t)(end - name));
	plus = slash ? memrchr(name, '+', (size_t)(slash - name)) : NULL;
	if (!plus || plus == name || strncmp(plus, "+0x", 3) || strncmp(slash, "/0x", 3))
		return -EBADMSG;
	off = strtoul(plus + 3, &end, 16);
	if (end != slash)
		return -EBADMSG;
	size = strtoul(slash + 3, &end, 16);
	if (*end || !size || off > addr || off >= size)
		return -EBADMSG;
	*plus = 0;
	if (ksyms__add(ks, addr - off, name, (size_t)(plus - name), mod, mod ? strlen(mod) : 0,
		       last_mod))
		return -ENOMEM;
	return ksyms__mark(ks, addr - off + size, KSYM_GAP);
}

int ksyms__add_named(struct ksyms *ks, char *text, size_t len)
{
	long last_mod = -1;
	char *nl, *line = text, *stop = text + len;
	int err = 0;

	if (!ks->named)
		return -EINVAL;
	for (; !err && line < stop; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(stop - line));
		if (!nl)
			nl = stop;
		*nl = 0;
		if (nl > line)
			err = ksyms__named_line(ks, line, &last_mod);
	}
	if (ks->nr > 1)
		qsort_r(ks->syms, ks->nr, sizeof(*ks->syms), ksym_cmp, ks->arena);
	return err;
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
