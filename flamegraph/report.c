// SPDX-License-Identifier: GPL-2.0
/*
 * The report model: per function, the self count (stacks it is the leaf of) and the total
 * count (stacks it is on, once per stack however deep the recursion), as perf report's
 * Self and Children columns; and for one function, who calls it and what it calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"

/* One frame of one stack: a slice of the stack string. */
struct frame_ref {
	const char *name;
	size_t len;
	double self, total;
};

static int frame_ref__cmp(const void *a, const void *b)
{
	const struct frame_ref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static bool frame_eq(const struct frame_ref *a, const struct frame_ref *b)
{
	return a->len == b->len && !memcmp(a->name, b->name, a->len);
}

/* Split a stack into frames (refs into the string). Returns how many. */
static size_t split(const char *stack, struct frame_ref *out, size_t max)
{
	size_t n = 0;

	while (n < max) {
		size_t len = strcspn(stack, ";");

		out[n].name = stack;
		out[n].len = len;
		out[n].self = out[n].total = 0;
		n++;
		if (!stack[len])
			break;
		stack += len + 1;
	}
	return n;
}

static size_t count_frames(const char *stack)
{
	size_t n = 1;

	for (; *stack; stack++)
		n += *stack == ';';
	return n;
}

void report__exit(struct report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nr; i++)
		free(r->entries[i].name);
	free(r->entries);
	memset(r, 0, sizeof(*r));
}

/* Sorted refs → one entry per name, self and total summed. */
static int merge(struct report *r, struct frame_ref *refs, size_t nr)
{
	size_t i, j;

	qsort(refs, nr, sizeof(*refs), frame_ref__cmp);
	r->entries = calloc(nr ? nr : 1, sizeof(*r->entries));
	if (!r->entries)
		return -ENOMEM;
	for (i = 0; i < nr; i = j) {
		struct report_entry *e = &r->entries[r->nr];

		e->name = strndup(refs[i].name, refs[i].len);
		if (!e->name)
			return -ENOMEM;
		r->nr++;
		for (j = i; j < nr && frame_eq(&refs[i], &refs[j]); j++) {
			e->self += refs[j].self;
			e->total += refs[j].total;
		}
	}
	return 0;
}

int report__build(struct report *r, const struct folded_data *d)
{
	struct frame_ref *refs = NULL;
	size_t i, k, nr = 0, cap = 0;
	int err = 0;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < d->nr; i++)
		cap += count_frames(d->lines[i].stack);
	refs = malloc((cap ? cap : 1) * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (i = 0; i < d->nr; i++) {
		double count = d->lines[i].after;
		size_t n = split(d->lines[i].stack, refs + nr, cap - nr), first = nr;

		r->total += count;
		refs[nr + n - 1].self = count;
		for (k = 0; k < n; k++) {
			size_t j;
			bool seen = false;

			/* Recursion: a function is on a stack once, however often it appears. */
			for (j = first; j < nr + k && !seen; j++)
				seen = frame_eq(&refs[j], &refs[nr + k]);
			refs[nr + k].total = seen ? 0 : count;
		}
		nr += n;
	}
	err = merge(r, refs, nr);
	free(refs);
	if (err)
		report__exit(r);
	return err;
}

static int by_self(const void *a, const void *b)
{
	const struct report_entry *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int by_total(const void *a, const void *b)
{
	const struct report_entry *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	return strcmp(x->name, y->name);
}

void report__sort(struct report *r, enum report_sort by)
{
	if (r->nr < 2)
		return; /* entries may be NULL: qsort wants an array */
	qsort(r->entries, r->nr, sizeof(*r->entries), by == REPORT_SORT_TOTAL ? by_total : by_self);
}

/* Add count to name's entry in r (appended when new). */
static int add_named(struct report *r, const char *name, size_t len, double count)
{
	struct report_entry *e;
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (strlen(r->entries[i].name) == len && !memcmp(r->entries[i].name, name, len)) {
			r->entries[i].total += count;
			return 0;
		}
	e = realloc(r->entries, (r->nr + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	r->entries = e;
	e = &r->entries[r->nr];
	memset(e, 0, sizeof(*e));
	e->name = strndup(name, len);
	if (!e->name)
		return -ENOMEM;
	e->total = count;
	r->nr++;
	return 0;
}

int report__focus(const struct folded_data *d, const char *name, struct report_focus *f)
{
	size_t i, len = strlen(name);
	int err = 0;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < d->nr && !err; i++) {
		const char *s = d->lines[i].stack, *caller = REPORT_ROOT, *p = s;
		double count = d->lines[i].after;
		size_t clen = strlen(REPORT_ROOT);

		f->grand_total += count;
		if (strlen(s) >= len && !strcmp(s + strlen(s) - len, name) &&
		    (strlen(s) == len || s[strlen(s) - len - 1] == ';'))
			f->self += count;
		/* The outermost call: callers and callees each add up to the total. */
		while (1) {
			size_t flen = strcspn(p, ";");

			if (flen == len && !memcmp(p, name, len)) {
				const char *next = p[flen] ? p + flen + 1 : NULL;

				f->total += count;
				err = add_named(&f->callers, caller, clen, count);
				if (!err && next)
					err = add_named(&f->callees, next, strcspn(next, ";"),
							count);
				else if (!err)
					f->outer_self += count;
				break;
			}
			if (!p[flen])
				break;
			caller = p;
			clen = flen;
			p += flen + 1;
		}
	}
	if (!err) {
		f->callers.total = f->callees.total = f->total;
		report__sort(&f->callers, REPORT_SORT_TOTAL);
		report__sort(&f->callees, REPORT_SORT_TOTAL);
	}
	if (err)
		report_focus__exit(f);
	return err;
}

void report_focus__exit(struct report_focus *f)
{
	if (!f)
		return;
	report__exit(&f->callers);
	report__exit(&f->callees);
	memset(f, 0, sizeof(*f));
}
