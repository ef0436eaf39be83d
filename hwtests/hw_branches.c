// SPDX-License-Identifier: GPL-2.0
/* Branch counts of a known loop; mispredictions of random and of predictable branches. */
#include <stdio.h>
#include "hw.h"

const char *hw_prereq(void)
{
	const char *why = hw_need_pmu();

	if (!why)
		why = hw_need_event("branches");
	return why ? why : hw_need_event("branch-misses");
}

struct br {
	uint64_t n;
	bool predictable;
};

static void loop(void *arg)
{
	oracle_loop(*(uint64_t *)arg);
}

static void branches(void *arg)
{
	struct br *b = arg;

	oracle_branches(b->n, 42, b->predictable);
}

Test(hw, branches_of_a_loop)
{
	uint64_t n = 1000000;
	struct oracle_count c;

	oracle_count("branches", true, loop, &n, &c);
	cr_assert_eq(c.err, 0);
	oracle_report("branches:u of a 1,000,000-iteration loop", (double)c.value, "1,000,000 ±1%");
	cr_expect(c.value >= 990000 && c.value <= 1010000, "counted %lu", (unsigned long)c.value);
}

Test(hw, branch_misses_random_and_predictable)
{
	struct br random = {1000000, false}, steady = {1000000, true};
	struct oracle_count r, p;

	oracle_count("branch-misses", true, branches, &random, &r);
	oracle_count("branch-misses", true, branches, &steady, &p);
	cr_assert_eq(r.err, 0);
	oracle_report("branch-misses:u, 1,000,000 random branches", (double)r.value,
		      "250,000..750,000");
	oracle_report("branch-misses:u, 1,000,000 predictable branches", (double)p.value,
		      "< 50,000");
	cr_expect(r.value >= 250000 && r.value <= 750000, "random: %lu", (unsigned long)r.value);
	cr_expect(p.value < 50000, "predictable: %lu", (unsigned long)p.value);
}
