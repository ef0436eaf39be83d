// SPDX-License-Identifier: GPL-2.0
/* Two folded profiles → "stack before after" lines, difffolded.pl's semantics. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"
#include "array.h"

/*
 * 0x1f2e → 0x... so addresses that moved between runs still match. "0x1" grows into
 * "0x...": the output can be longer than the input, so a first pass (out NULL) only
 * measures. Returns the output length without the NUL.
 */
static size_t strip_hex_into(const char *s, char *out)
{
	size_t i = 0, o = 0;

	while (s[i]) {
		if (s[i] == '0' && s[i + 1] == 'x' && isxdigit((unsigned char)s[i + 2])) {
			i += 2;
			while (isxdigit((unsigned char)s[i]))
				i++;
			if (out)
				memcpy(out + o, "0x...", 5);
			o += 5;
			continue;
		}
		if (out)
			out[o] = s[i];
		o++;
		i++;
	}
	if (out)
		out[o] = 0;
	return o;
}

static char *strip_hex(const char *s)
{
	char *out = malloc(strip_hex_into(s, NULL) + 1);

	if (out)
		strip_hex_into(s, out);
	return out;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->stack,
		      ((const struct folded_line *)b)->stack);
}

int folded__diff(const struct folded_data *before, const struct folded_data *after, bool normalize,
		 bool striphex, struct folded_data *out)
{
	const struct folded_data *in[2] = {before, after};
	double total[2] = {0, 0};
	struct folded_data all = {0};
	size_t i, j;
	int k;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < 2; k++) {
		for (i = 0; i < in[k]->nr; i++) {
			struct folded_line *l;

			if (ARRAY_RESERVE(all.lines, all.cap, all.nr + 1, 1024))
				goto nomem;
			l = &all.lines[all.nr];
			l->stack = striphex ? strip_hex(in[k]->lines[i].stack)
					    : strdup(in[k]->lines[i].stack);
			if (!l->stack)
				goto nomem;
			l->before = k == 0 ? in[k]->lines[i].after : 0;
			l->after = k == 1 ? in[k]->lines[i].after : 0;
			total[k] += in[k]->lines[i].after;
			all.nr++;
		}
	}
	if (all.nr)
		qsort(all.lines, all.nr, sizeof(*all.lines), cmp_line);
	/* Merge equal stacks. */
	for (i = 0, j = 0; i < all.nr; i++) {
		if (j && !strcmp(all.lines[j - 1].stack, all.lines[i].stack)) {
			all.lines[j - 1].before += all.lines[i].before;
			all.lines[j - 1].after += all.lines[i].after;
			free(all.lines[i].stack);
			continue;
		}
		all.lines[j++] = all.lines[i];
	}
	all.nr = j;
	if (normalize && total[0] != total[1] && total[0] > 0)
		for (i = 0; i < all.nr; i++)
			all.lines[i].before = floor(all.lines[i].before * total[1] / total[0]);
	all.differential = true;
	*out = all;
	return 0;
nomem:
	folded_data__free(&all);
	return -ENOMEM;
}

static void print_num(FILE *f, double v)
{
	if (v == floor(v) && fabs(v) < 1e18)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%g", v);
}

int folded__write_diff(FILE *f, const struct folded_data *d)
{
	size_t i;

	for (i = 0; i < d->nr; i++) {
		fprintf(f, "%s ", d->lines[i].stack);
		print_num(f, d->lines[i].before);
		fputc(' ', f);
		print_num(f, d->lines[i].after);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}
