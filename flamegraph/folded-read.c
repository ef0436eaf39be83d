// SPDX-License-Identifier: GPL-2.0
/*
 * Folded input: "frame;frame;... COUNT" or, as difffolded writes, "stack COUNT1 COUNT2".
 * Counts may be fractional (flamegraph.pl accepts \d+(\.\d*)?). Lines that do not parse
 * are skipped and counted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"
#include "array.h"

void folded_data__free(struct folded_data *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr; i++)
		free(d->lines[i].stack);
	free(d->lines);
	memset(d, 0, sizeof(*d));
}

/* A count at the end of s[0..*len): digits with an optional fraction. */
static bool take_count(const char *s, size_t *len, double *v)
{
	size_t e = *len, b;
	char tmp[64];
	bool dot = false;

	b = e;
	while (b > 0 && (isdigit((unsigned char)s[b - 1]) || (s[b - 1] == '.' && !dot))) {
		if (s[b - 1] == '.')
			dot = true;
		b--;
	}
	if (b == e || !isdigit((unsigned char)s[b]))
		return false;
	if (e - b >= sizeof(tmp)) {
		/* Absurdly long: still a number, just a huge one. */
		*v = 1e308;
	} else {
		memcpy(tmp, s + b, e - b);
		tmp[e - b] = 0;
		*v = strtod(tmp, NULL);
	}
	/* Beyond 10^18 (past 64 bits, or an absurd fraction) a count is clamped: sums stay
	 * finite, so widths do too. */
	if (!(*v <= 1e18))
		*v = 1e18;
	*len = b;
	return true;
}

int folded__read(FILE *f, struct folded_data *d)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;

	while ((n = getline(&line, &cap, f)) > 0) {
		size_t len = n, l2;
		double c1, c2 = 0;
		bool two = false;
		struct folded_line *fl;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		if (memchr(line, 0, len) || !take_count(line, &len, &c1) || len == 0 ||
		    !isspace((unsigned char)line[len - 1])) {
			d->invalid++;
			continue;
		}
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			len--;
		/* A second count: difffolded's "stack before after". */
		l2 = len;
		if (take_count(line, &l2, &c2) && l2 > 0 && isspace((unsigned char)line[l2 - 1])) {
			two = true;
			len = l2;
			while (len > 0 && isspace((unsigned char)line[len - 1]))
				len--;
		}
		if (!len) {
			d->invalid++;
			continue;
		}
		if (ARRAY_RESERVE(d->lines, d->cap, d->nr + 1, 1024)) {
			err = -ENOMEM;
			break;
		}
		fl = &d->lines[d->nr];
		fl->stack = strndup(line, len);
		if (!fl->stack) {
			err = -ENOMEM;
			break;
		}
		if (two) {
			fl->before = c2;
			fl->after = c1;
			d->differential = true;
		} else {
			fl->before = 0;
			fl->after = c1;
		}
		d->nr++;
	}
	free(line);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}

static int line_add(const char *stack, uint64_t count, void *arg)
{
	struct folded_data *d = arg;

	d->lines[d->nr].stack = strdup(stack);
	if (!d->lines[d->nr].stack)
		return -ENOMEM;
	d->lines[d->nr++].after = count;
	return 0;
}

int folded_data__from_table(struct folded_data *d, struct stack_table *st)
{
	size_t n = stack_table__len(st);
	int err;

	memset(d, 0, sizeof(*d));
	d->lines = calloc(n ? n : 1, sizeof(*d->lines));
	if (!d->lines)
		return -ENOMEM;
	d->cap = n;
	err = stack_table__each_folded(st, line_add, d);
	if (err)
		folded_data__free(d);
	return err;
}
