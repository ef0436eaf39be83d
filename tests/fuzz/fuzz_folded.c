// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the folded reader, then the SVG renderer on what it accepted. */
#include <stdint.h>
#include <stdio.h>
#include "flamegraph/flamegraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct folded_data d = {0};
	struct flamegraph_opts o;
	FILE *in, *out;

	if (!size)
		return 0;
	in = fmemopen((void *)data, size, "r");
	out = fopen("/dev/null", "w");
	if (in && out && !folded__read(in, &d) && d.nr) {
		flamegraph_opts__init(&o);
		flamegraph__write(out, &d, &o);
	}
	folded_data__free(&d);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return 0;
}
