// SPDX-License-Identifier: GPL-2.0
/*
 * What pmuprof's BPF program accumulates (the weight: sum of sample periods) agrees with
 * a plain read() of the same event on the same workload within ±2%.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw.h"

const char *hw_prereq(void)
{
	const char *why = hw_need_pmu();

	return why ? why : hw_need_event("instructions");
}

static void loop(void *arg)
{
	oracle_loop(*(uint64_t *)arg);
}

Test(hw, bpf_weight_matches_read)
{
	char out[8192], folded[] = "/tmp/pmuprof-hw-XXXXXX.folded";
	const char *args[] = {"record", "-e", "instructions:u",		"-c",	"10000",    "-o",
			      folded,	"--", getenv("PMUPROF_HWLOAD"), "loop", "25000000", NULL};
	uint64_t n = 25000000;
	struct oracle_count c;
	double weight;
	int fd = mkstemps(folded, 7);

	cr_assert_geq(fd, 0);
	oracle_count("instructions", true, loop, &n, &c);
	cr_assert_eq(c.err, 0);
	cr_assert_eq(oracle_pmuprof(out, sizeof(out), args), 0, "%s", out);
	weight = oracle_find_number(out, "weight:     ");
	oracle_report("BPF weight (instructions:u) vs read() of the loop", weight / c.value,
		      "1.00 ±0.02");
	/* the recorded process also runs its start-up code: a little more, never less */
	cr_expect(weight >= c.value * 0.98 && weight <= c.value * 1.02 + 200000, "%f vs %lu",
		  weight, (unsigned long)c.value);
	remove(folded);
}
