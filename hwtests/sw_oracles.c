// SPDX-License-Identifier: GPL-2.0
/*
 * The hardware suite's oracle code on software events, in the default suite, so the
 * harness itself is exercised on machines without a PMU: page-faults exactness for N
 * touched pages, the task-clock sampling count of a 1 s busy loop, and sample-count
 * exactness with a software event's period.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hw.h"

const char *hw_prereq(void)
{
	if (geteuid() != 0)
		return "not root (pmuprof record needs CAP_BPF and CAP_PERFMON)";
	return NULL;
}

static void touch(void *arg)
{
	oracle_touch_pages(*(size_t *)arg);
}

Test(sw, page_faults_exact)
{
	size_t pages = 20000;
	struct oracle_count c;

	oracle_count("page-faults", true, touch, &pages, &c);
	cr_assert_eq(c.err, 0);
	oracle_report("page-faults for 20,000 touched pages", (double)c.value, "20,000..20,010");
	cr_expect(c.value >= 20000 && c.value <= 20010, "%lu", (unsigned long)c.value);
}

Test(sw, task_clock_samples_of_a_busy_second)
{
	char out[8192], folded[] = "/tmp/pmuprof-sw-XXXXXX.folded";
	const char *args[] = {"record", "-e",  "task-clock",
			      "-F",	"999", "-o",
			      folded,	"--",  getenv("PMUPROF_HWLOAD"),
			      "busy",	"1",   NULL};
	double taken;

	cr_assert_geq(mkstemps(folded, 7), 0);
	cr_assert_eq(oracle_pmuprof(out, sizeof(out), args), 0, "%s", out);
	taken = oracle_find_number(out, "samples:    ");
	oracle_report("task-clock samples at 999 Hz over 1 s of CPU", taken, "999 ±10%");
	cr_expect(taken >= 899 && taken <= 1099, "%f", taken);
	remove(folded);
}

Test(sw, page_fault_period_exact)
{
	char out[8192], folded[] = "/tmp/pmuprof-sw-XXXXXX.folded";
	const char *args[] = {"record", "-e",	  "page-faults",
			      "-c",	"100",	  "-o",
			      folded,	"--",	  getenv("PMUPROF_HWLOAD"),
			      "touch",	"100000", NULL};
	long n;

	cr_assert_geq(mkstemps(folded, 7), 0);
	cr_assert_eq(oracle_pmuprof(out, sizeof(out), args), 0, "%s", out);
	n = oracle_folded_samples(folded, ";oracle_touch_pages", false);
	oracle_report("page-faults samples in the toucher, period 100 over 100,000 faults", n,
		      "1000 ±1");
	cr_expect(n >= 999 && n <= 1001, "%ld", n);
	remove(folded);
}
