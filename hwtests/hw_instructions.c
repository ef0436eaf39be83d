// SPDX-License-Identifier: GPL-2.0
/* A loop of exactly 1,000,000 user instructions counts 1,000,000 ±1%. */
#include <stdio.h>
#include "hw.h"

const char *hw_prereq(void)
{
	const char *why = hw_need_pmu();

	if (!why && !oracle_loop_exact())
		why = "no exact instruction loop for this architecture";
	return why ? why : hw_need_event("instructions");
}

static void run(void *arg)
{
	oracle_loop(*(uint64_t *)arg);
}

Test(hw, instructions_exact)
{
	uint64_t n = 500000;
	struct oracle_count c;

	oracle_count("instructions", true, run, &n, &c);
	cr_assert_eq(c.err, 0);
	oracle_report("instructions:u for 1,000,000", (double)c.value, "1,000,000 ±1%");
	cr_expect(c.value >= 990000 && c.value <= 1010000, "counted %lu", (unsigned long)c.value);
	cr_expect_eq(c.enabled, c.running, "multiplexed: the count is an estimate");
}
