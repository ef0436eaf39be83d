// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the input split at its first NUL byte into two folded profiles,
 * compared with and without -n and -s, the result written and rendered.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "flamegraph/flamegraph.h"

static void read_part(const uint8_t *data, size_t size, struct folded_data *d)
{
	FILE *f;

	if (!size)
		return;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return;
	folded__read(f, d);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	size_t na = sep ? (size_t)(sep - data) : size / 2;
	struct folded_data a = {0}, b = {0}, out = {0};
	struct flamegraph_opts o;
	FILE *null = fopen("/dev/null", "w");
	int mode;

	read_part(data, na, &a);
	read_part(data + na + (sep ? 1 : 0), size - na - (sep ? 1 : 0), &b);
	for (mode = 0; mode < 4 && null; mode++) {
		if (folded__diff(&a, &b, mode & 1, mode & 2, &out))
			continue;
		folded__write_diff(null, &out);
		if (mode == 3 && out.nr) {
			flamegraph_opts__init(&o);
			flamegraph__write(null, &out, &o);
		}
		folded_data__free(&out);
	}
	folded_data__free(&a);
	folded_data__free(&b);
	if (null)
		fclose(null);
	return 0;
}
