// SPDX-License-Identifier: GPL-2.0
/*
 * Sampling exactness through pmuprof's BPF maps: instructions with period 100,000 over
 * 100,000,000 loop instructions gives 1000 samples (±1) in the loop; cycles at 999 Hz on
 * a 1 s busy loop gives 999 ±10%.
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

Test(hw, instructions_period_exact)
{
	char out[8192], folded[] = "/tmp/pmuprof-hw-XXXXXX.folded";
	const char *args[] = {"record",
			      "-e",
			      "instructions:u",
			      "-c",
			      "100000",
			      "--count=samples",
			      "-o",
			      folded,
			      "--",
			      getenv("PMUPROF_HWLOAD"),
			      "loop",
			      "50000000",
			      NULL};
	long n;
	int fd = mkstemps(folded, 7);

	cr_assert_geq(fd, 0);
	cr_assert_eq(oracle_pmuprof(out, sizeof(out), args), 0, "%s", out);
	n = oracle_folded_samples(folded, "oracle_loop", true);
	oracle_report("samples in the loop, instructions:u every 100,000 of 100,000,000", n,
		      "1000 ±1");
	cr_expect(n >= 999 && n <= 1001, "%ld samples", n);
	cr_expect(strstr(out, "event:      instructions:u") != NULL, "the event sampled: %s", out);
	remove(folded);
}

Test(hw, cycles_at_999_hz)
{
	char out[8192], folded[] = "/tmp/pmuprof-hw-XXXXXX.folded";
	const char *args[] = {
		"record", "-e", "cycles", "-F", "999", "-o", folded, "--", getenv("PMUPROF_HWLOAD"),
		"busy",	  "1",	NULL};
	double taken;
	int fd = mkstemps(folded, 7);

	cr_assert_geq(fd, 0);
	cr_assert_eq(oracle_pmuprof(out, sizeof(out), args), 0, "%s", out);
	taken = oracle_find_number(out, "samples:    ");
	oracle_report("cycles samples at 999 Hz over 1 s of CPU", taken, "999 ±10%");
	cr_expect(taken >= 899 && taken <= 1099, "%f samples", taken);
	cr_expect(strstr(out, "fallback") == NULL, "fell back: %s", out);
	remove(folded);
}
