// SPDX-License-Identifier: GPL-2.0
/* The target model shared by record, stat and collect: which combinations are one target,
 * the message that lists what a command offers, and the words that name a target. */
#include <criterion/criterion.h>
#include <errno.h>
#include "src/target.h"

static char *cmd[] = {"make", "-j8", NULL};

static const struct {
	int line;
	struct target_spec t;
	int err;
	const char *describe;
} cases[] = {
	{__LINE__, {0}, 0, "system wide"},
	{__LINE__, {.all_cpus = true}, 0, "system wide"},
	{__LINE__, {.all_cpus = true, .cpu_list = "0-3"}, 0, "CPU(s) 0-3"}, /* -C narrows -a */
	{__LINE__, {.cpu_list = "1"}, 0, "CPU(s) 1"},
	{__LINE__, {.pid_list = "12,34"}, 0, "process id '12,34'"},
	{__LINE__, {.tid_list = "56"}, 0, "thread id '56'"},
	{__LINE__, {.cmd = cmd}, 0, "make -j8"},
	{__LINE__, {.all_cpus = true, .pid_list = "1"}, -EINVAL, NULL},
	{__LINE__, {.cpu_list = "0", .cmd = cmd}, -EINVAL, NULL},
	{__LINE__, {.pid_list = "1", .tid_list = "2"}, -EINVAL, NULL},
	{__LINE__, {.tid_list = "2", .cmd = cmd}, -EINVAL, NULL},
};

Test(target, validate_and_describe)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256] = "";
		int err = target_spec__validate(&cases[i].t, ~0u & ~TARGET_CPUS_WHILE_CMD, buf,
						sizeof(buf));

		cr_expect_eq(err, cases[i].err, "line %d: %d", cases[i].line, err);
		if (err) {
			cr_expect_str_eq(buf,
					 "give one target: -a, -C CPUS, -p PIDS, -t TIDS or "
					 "-- COMMAND",
					 "line %d", cases[i].line);
			continue;
		}
		target_spec__describe(&cases[i].t, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].describe, "line %d", cases[i].line);
		cr_expect_eq(target_spec__system_wide(&cases[i].t),
			     !cases[i].t.pid_list && !cases[i].t.tid_list && !cases[i].t.cmd,
			     "line %d", cases[i].line);
	}
}

Test(target, message_lists_what_a_command_offers)
{
	struct target_spec t = {.all_cpus = true, .pid_list = "1"};
	char buf[256];

	cr_assert_eq(
		target_spec__validate(&t, TARGET_CPUS | TARGET_PIDS | TARGET_CMD, buf, sizeof(buf)),
		-EINVAL);
	cr_expect_str_eq(buf, "give one target: -a, -p PIDS or -- COMMAND");
	cr_assert_eq(target_spec__validate(&t, TARGET_CPUS | TARGET_PIDS, buf, sizeof(buf)),
		     -EINVAL);
	cr_expect_str_eq(buf, "give one target: -a or -p PIDS");

	/* perf stat -a -- CMD: the CPUs while the command runs, where a command offers it. */
	t = (struct target_spec){.all_cpus = true, .cmd = cmd};
	cr_expect_eq(target_spec__validate(&t, TARGET_CPUS | TARGET_CMD, buf, sizeof(buf)),
		     -EINVAL);
	cr_expect_eq(target_spec__validate(&t, TARGET_CPUS | TARGET_CMD | TARGET_CPUS_WHILE_CMD,
					   buf, sizeof(buf)),
		     0);
	target_spec__describe(&t, buf, sizeof(buf));
	cr_expect_str_eq(buf, "system wide");
	cr_expect(target_spec__system_wide(&t));
	t = (struct target_spec){.cpu_list = "1", .cmd = cmd};
	target_spec__describe(&t, buf, sizeof(buf));
	cr_expect_str_eq(buf, "CPU(s) 1");
	t = (struct target_spec){.pid_list = "1", .cmd = cmd};
	cr_expect_eq(target_spec__validate(&t, ~0u, buf, sizeof(buf)), -EINVAL);
}
