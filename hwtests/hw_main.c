// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hw.h"

const char *hw_need_pmu(void)
{
	if (geteuid() != 0)
		return "not root (the hardware tests need root)";
	if (!oracle_have_pmu())
		return "no hardware PMU";
	return NULL;
}

const char *hw_need_event(const char *event)
{
	static char why[256];
	struct pmu_event ev;
	int err = pmu_event__parse(event, &ev);

	if (!err)
		err = pmu_event__probe(&ev);
	if (!err)
		return NULL;
	snprintf(why, sizeof(why), "this CPU model lacks %s (%s)", event, pmu_errno__name(err));
	return why;
}

int main(int argc, char **argv)
{
	struct criterion_test_set *tests = criterion_initialize();
	const char *why = hw_prereq();
	int result = 0;

	if (why) {
		fprintf(stderr, "SKIP: %s\n", why);
		criterion_finalize(tests);
		return 77;
	}
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
