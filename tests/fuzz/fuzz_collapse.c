// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the perf script collapser, with every option on half the time. */
#include <stdint.h>
#include <stdio.h>
#include "flamegraph/flamegraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collapse_opts o = {0};
	struct collapse_stats st;
	struct stack_table *t;
	FILE *in, *out;

	if (!size)
		return 0;
	o.pid = data[0] & 1;
	o.tid = data[0] & 2;
	o.kernel = data[0] & 4;
	o.jit = data[0] & 8;
	o.addrs = data[0] & 16;
	in = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "r");
	out = fopen("/dev/null", "w");
	t = stack_table__new();
	if (in && out && t && !perf_script__collapse(in, &o, t, &st))
		folded__write(out, t);
	stack_table__free(t);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return 0;
}
