// SPDX-License-Identifier: GPL-2.0
/*
 * Counting arithmetic: multiplex scaling, and uncore events against a fake sysfs tree
 * (two sockets × two IMCs): which CPUs and PMU types are opened, per-socket sums with
 * the sysfs scale and unit.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "src/stat.h"

static void fake_sysfs(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/sysfs", getenv("PMUPROF_TEST_DATA"));
	setenv("PMUPROF_SYSFS", path, 1);
}

struct scale_case {
	int line;
	uint64_t value, enabled, running;
	double scaled, pct;
};

static const struct scale_case scale_cases[] = {
	{__LINE__, 1000, 2000, 2000, 1000, 100}, /* never multiplexed */
	{__LINE__, 1000, 2000, 1000, 2000, 50},	 /* on the PMU half the time */
	{__LINE__, 300, 1000, 250, 1200, 25},
	{__LINE__, 5, 1000, 0, 0, 0}, /* never scheduled: no estimate */
	{__LINE__, 0, 0, 0, 0, 0},
	{__LINE__, 7, 100, 120, 7, 120}, /* running > enabled (rounding): as is */
};

Test(stat, multiplex_scaling)
{
	size_t i;

	for (i = 0; i < sizeof(scale_cases) / sizeof(scale_cases[0]); i++) {
		const struct scale_case *c = &scale_cases[i];
		struct stat_count cnt = {c->value, c->enabled, c->running};

		cr_expect_float_eq(stat_count__scaled(&cnt), c->scaled, 1e-9, "line %d: %f",
				   c->line, stat_count__scaled(&cnt));
		cr_expect_float_eq(stat_count__running_pct(&cnt), c->pct, 1e-9, "line %d", c->line);
	}
}

Test(stat, uncore_instances_cpus_and_types, .init = fake_sysfs)
{
	struct pmu_event *evs;
	int nr, cpus[64], n, all[32], k;
	char *bad = NULL, why[256];

	for (k = 0; k < 32; k++)
		all[k] = k;
	cr_assert_eq(pmu_events__parse_list("uncore_imc/cas_count_read/", &evs, &nr, &bad, why,
					    sizeof(why)),
		     0, "%s", why);
	/* one event per IMC instance, each with its own PMU type */
	cr_assert_eq(nr, 2);
	cr_expect_eq(evs[0].attr.type, 20);
	cr_expect_eq(evs[1].attr.type, 21);
	cr_expect_eq(evs[0].attr.config, 0x304);
	cr_expect_str_eq(evs[0].name, "uncore_imc/cas_count_read/");
	cr_expect(evs[0].uncore);
	cr_expect_float_eq(evs[0].scale, 6.103515625e-5, 1e-15);
	cr_expect_str_eq(evs[0].unit, "MiB");
	/* opened on the cpumask's CPUs only: one per socket */
	n = stat_event__cpus(&evs[0], all, 32, cpus, 64);
	cr_assert_eq(n, 2);
	cr_expect_eq(cpus[0], 0);
	cr_expect_eq(cpus[1], 16);
	free(evs);
	/* a core event system-wide: every CPU given */
	cr_assert_eq(pmu_events__parse_list("cpu/event=0x3c/", &evs, &nr, &bad, why, sizeof(why)),
		     0);
	cr_expect_eq(stat_event__cpus(&evs[0], all, 32, cpus, 64), 32);
	free(evs);
}

Test(stat, per_socket_sums_with_scale, .init = fake_sysfs)
{
	struct stat_event e = {0};
	int cpu[2] = {0, 16};
	struct stat_count per_fd[2] = {
		{16777216, 1000, 1000}, /* socket 0: 16 Mi CAS reads × 64 B = 1024 MiB */
		{8388608, 1000, 500},	/* socket 1: half the time on the PMU → × 2 */
	};
	double out[4];
	int n;

	cr_assert_eq(pmu_event__parse("uncore_imc_0/cas_count_read/", &e.ev), 0);
	e.nr_fds = 2;
	e.cpu = cpu;
	e.per_fd = per_fd;
	e.supported = true;
	n = stat_event__per_socket(&e, out, 4);
	cr_expect_eq(n, 2);
	cr_expect_float_eq(out[0], 1024.0, 1e-9, "socket 0: %f MiB", out[0]);
	cr_expect_float_eq(out[1], 1024.0, 1e-9, "socket 1: %f MiB", out[1]);
}

Test(stat, groups_are_marked, .init = fake_sysfs)
{
	struct pmu_event *evs;
	char *bad = NULL;
	int nr;

	cr_assert_eq(pmu_events__parse_list("{cpu-clock,task-clock},page-faults", &evs, &nr, &bad,
					    NULL, 0),
		     0);
	cr_assert_eq(nr, 3);
	cr_expect(evs[0].group == 1 && evs[0].leader);
	cr_expect(evs[1].group == 1 && !evs[1].leader);
	cr_expect_eq(evs[2].group, 0);
	free(evs);
}

/*
 * Uncore events have no task context: with a task target they are still opened on the
 * PMU's cpumask, never inherited or enabled at exec; a core event beside them follows the
 * task. (The fake uncore PMU does not exist in the kernel, so it is not supported; what
 * matters is which way it was opened.)
 */
Test(stat, uncore_with_a_task_stays_system_wide, .init = fake_sysfs)
{
	struct stat_opts o = {.sz = sizeof(o)};
	struct stat_session *s;
	struct pmu_event *evs;
	pid_t self = getpid();
	int nr, cpus[1] = {0};
	char *bad = NULL, why[256];

	cr_assert_eq(pmu_events__parse_list("uncore_imc_0/cas_count_read/,page-faults", &evs, &nr,
					    &bad, why, sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(nr, 2);
	o.events = evs;
	o.nr_events = nr;
	o.cpus = cpus;
	o.nr_cpus = 1;
	o.tasks = &self;
	o.nr_tasks = 1;
	o.inherit = true;
	o.enable_on_exec = true;
	s = stat__new(&o);
	cr_assert_not_null(s);
	cr_expect(s->ev[0].ev.uncore);
	cr_expect_eq(s->ev[0].ev.attr.inherit, 0, "an uncore event is never inherited");
	cr_expect_eq(s->ev[0].ev.attr.enable_on_exec, 0, "an uncore event is not a task's");
	cr_expect_eq(s->ev[1].ev.attr.inherit, 1, "page-faults follows the task's children");
	cr_expect_eq(s->ev[1].ev.attr.enable_on_exec, 1);
	stat__free(s);
	free(evs);
}
