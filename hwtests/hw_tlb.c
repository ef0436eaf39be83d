// SPDX-License-Identifier: GPL-2.0
/* One load per 4 KiB page over 16× the STLB reach misses the dTLB on ≥ 90% of loads. */
#include <stdio.h>
#include "hw.h"

/* STLB reach: 1536 entries × 4 KiB on recent Intel and AMD cores (larger ones only help). */
#define STLB_REACH (1536UL * 4096)

const char *hw_prereq(void)
{
	const char *why = hw_need_pmu();

	return why ? why : hw_need_event("dTLB-load-misses");
}

Test(hw, dtlb_misses)
{
	struct oracle_count m;
	struct chase_run r;
	double ratio;

	cr_assert_eq(chase__init(&r.c, 16 * STLB_REACH, 4096, 11), 0);
	r.loads = 2 * r.c.n;
	chase__run(&r.c, r.c.n);
	oracle_count("dTLB-load-misses", true, chase_run__fn, &r, &m);
	cr_assert_eq(m.err, 0);
	ratio = (double)m.value / r.loads;
	oracle_report("dTLB-load-misses per load, one load per page over 16x STLB reach", ratio,
		      ">= 0.90");
	cr_expect(ratio >= 0.90, "ratio %f", ratio);
}
