// SPDX-License-Identifier: GPL-2.0
/* Reading a 2 GiB buffer moves CAS-read bytes within ±20% of 2 GiB (IMC counters). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw.h"

const char *hw_prereq(void)
{
	struct pmu_event ev;
	const char *why = hw_need_pmu();

	if (!why && pmu_event__parse("uncore_imc/cas_count_read/", &ev))
		why = "no IMC uncore PMU (uncore_imc_N with cas_count_read)";
	return why;
}

Test(hw, imc_read_bandwidth)
{
	char out[16384];
	const char *args[] = {"stat",
			      "--json",
			      "-a",
			      "-e",
			      "uncore_imc/cas_count_read/",
			      "--",
			      getenv("PMUPROF_HWLOAD"),
			      "read",
			      "2048",
			      NULL};
	const char *v;
	double mib;

	/* stdout carries the JSON: run through the shell to keep it */
	{
		char cmd[4096];
		FILE *p;
		size_t n;

		snprintf(cmd, sizeof(cmd), "'%s' %s %s %s %s %s %s '%s' %s %s",
			 getenv("PMUPROF_BIN"), args[0], args[1], args[2], args[3], args[4],
			 args[5], args[6], args[7], args[8]);
		p = popen(cmd, "r");
		cr_assert_not_null(p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = 0;
		pclose(p);
	}
	v = strstr(out, "\"value\": ");
	cr_assert_not_null(v, "no value in %s", out);
	/* the event's total (after per_socket) is the last "value" of the event */
	while (strstr(v + 1, "\"value\": "))
		v = strstr(v + 1, "\"value\": ");
	mib = strtod(v + 9, NULL);
	oracle_report("CAS-read MiB while reading 2 GiB", mib, "2048 ±20%");
	cr_expect(mib >= 2048 * 0.8 && mib <= 2048 * 1.2 + 256, "%f MiB", mib);
}
