// SPDX-License-Identifier: GPL-2.0
/* Cycles sampling on the calibrated demo (60/30/10): each share within ±3 points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "hw.h"

const char *hw_prereq(void)
{
	return hw_need_pmu();
}

Test(hw, attribution_of_cycles)
{
	char out[8192], folded[] = "/tmp/pmuprof-hw-XXXXXX.folded", line[8192];
	const char *args[] = {
		"record", "-e", "cycles", "-F", "999", "-o", folded, "--", getenv("PMUPROF_DEMO"),
		"4",	  NULL};
	double share[3] = {0}, total = 0;
	const char *fn[3] = {";hot_60", ";hot_30", ";hot_10"};
	int want[3] = {60, 30, 10}, i, fd = mkstemps(folded, 7);
	FILE *f;

	cr_assert_geq(fd, 0);
	cr_assert_eq(oracle_pmuprof(out, sizeof(out), args), 0, "%s", out);
	cr_expect(strstr(out, "event:      cycles") && !strstr(out, "fallback"),
		  "the summary does not say cycles: %s", out);
	f = fopen(folded, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' ');
		double n = sp ? atof(sp + 1) : 0;

		if (strncmp(line, "pmuprof-demo;", 13))
			continue;
		total += n;
		for (i = 0; i < 3; i++)
			if (sp && strstr(line, fn[i]) &&
			    (sp - strstr(line, fn[i])) == (long)strlen(fn[i]))
				share[i] += n;
	}
	fclose(f);
	for (i = 0; i < 3; i++) {
		char name[64], exp[32];

		snprintf(name, sizeof(name), "share of%s (cycles)", fn[i]);
		snprintf(exp, sizeof(exp), "%d%% ±3", want[i]);
		oracle_report(name, total ? 100 * share[i] / total : 0, exp);
		cr_expect(total && fabs(100 * share[i] / total - want[i]) <= 3, "%s", name);
	}
	remove(folded);
}
