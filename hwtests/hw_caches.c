// SPDX-License-Identifier: GPL-2.0
/*
 * Random pointer chases: over 8× the L1d size, ≥ 7/8 of loads miss L1d (−5 points);
 * over 8× the LLC, likewise for the LLC. Sizes from the sysfs cache topology.
 */
#include <stdio.h>
#include "hw.h"

const char *hw_prereq(void)
{
	const char *why = hw_need_pmu();

	if (!why)
		why = hw_need_event("L1-dcache-load-misses");
	if (!why && !oracle_cache_size(1, "Data"))
		why = "no L1d size in sysfs cache topology";
	return why;
}

static void miss_ratio(int level, const char *type, const char *misses)
{
	size_t size = oracle_cache_size(level, type);
	struct oracle_count m;
	struct chase_run r;
	char name[128];
	double ratio;

	cr_assert(size, "no level %d cache size", level);
	cr_assert_eq(chase__init(&r.c, 8 * size, 64, 7), 0);
	r.loads = 4 * r.c.n;
	chase__run(&r.c, r.c.n); /* warm: page faults out of the way */
	oracle_count(misses, true, chase_run__fn, &r, &m);
	if (m.err)
		cr_skip_test("%s cannot be opened", misses);
	ratio = (double)m.value / r.loads;
	snprintf(name, sizeof(name), "%s per load, chase over 8x L%d (%zu KiB)", misses, level,
		 size >> 10);
	oracle_report(name, ratio, ">= 0.875 - 0.05");
	cr_expect(ratio >= 0.825, "%s", name);
}

Test(hw, l1d_misses)
{
	miss_ratio(1, "Data", "L1-dcache-load-misses");
}

Test(hw, llc_misses)
{
	size_t llc = oracle_cache_size(3, "Unified");

	if (!llc)
		llc = oracle_cache_size(2, "Unified");
	if (!llc || hw_need_event("LLC-load-misses"))
		cr_skip_test("no LLC size or LLC-load-misses here");
	miss_ratio(oracle_cache_size(3, "Unified") ? 3 : 2, "Unified", "LLC-load-misses");
}
