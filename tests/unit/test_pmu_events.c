// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include "pmu/pmu.h"

struct event_case {
	int line;
	const char *spec;
	int err;
	const char *name;
	__u32 type;
	__u64 config;
	bool hardware;
};

static const struct event_case event_cases[] = {
	{__LINE__, "cycles", 0, "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true},
	{__LINE__, "cpu-cycles", 0, "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true},
	{__LINE__, "instructions", 0, "instructions", PERF_TYPE_HARDWARE,
	 PERF_COUNT_HW_INSTRUCTIONS, true},
	{__LINE__, "cache-references", 0, "cache-references", PERF_TYPE_HARDWARE,
	 PERF_COUNT_HW_CACHE_REFERENCES, true},
	{__LINE__, "cache-misses", 0, "cache-misses", PERF_TYPE_HARDWARE,
	 PERF_COUNT_HW_CACHE_MISSES, true},
	{__LINE__, "branches", 0, "branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS,
	 true},
	{__LINE__, "branch-misses", 0, "branch-misses", PERF_TYPE_HARDWARE,
	 PERF_COUNT_HW_BRANCH_MISSES, true},
	{__LINE__, "cpu-clock", 0, "cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, false},
	{__LINE__, "task-clock", 0, "task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK,
	 false},
	{__LINE__, "cyclez", -ENOENT},
	{__LINE__, "cycle", -ENOENT},
	{__LINE__, "", -EINVAL},
};

Test(pmu_events, parse_generic_names)
{
	size_t i;

	for (i = 0; i < sizeof(event_cases) / sizeof(event_cases[0]); i++) {
		const struct event_case *c = &event_cases[i];
		struct pmu_event ev;
		int err = pmu_event__parse(c->spec, &ev);

		cr_expect_eq(err, c->err, "line %d: '%s': err %d, want %d", c->line, c->spec, err,
			     c->err);
		if (err || c->err)
			continue;
		cr_expect_str_eq(ev.name, c->name, "line %d", c->line);
		cr_expect_eq(ev.attr.type, c->type, "line %d", c->line);
		cr_expect_eq(ev.attr.config, c->config, "line %d", c->line);
		cr_expect_eq(ev.hardware, c->hardware, "line %d", c->line);
		cr_expect_eq(ev.attr.size, sizeof(ev.attr), "line %d", c->line);
	}
}

Test(pmu_events, list_splits_and_reports_the_bad_item)
{
	struct pmu_event *evs;
	char *bad;
	int nr;

	cr_assert_eq(
		pmu_events__parse_list("cycles,instructions,cpu-clock", &evs, &nr, &bad, NULL, 0),
		0);
	cr_assert_eq(nr, 3);
	cr_expect_str_eq(evs[1].name, "instructions");
	free(evs);

	cr_assert_eq(pmu_events__parse_list("cycles,bogus,cpu-clock", &evs, &nr, &bad, NULL, 0),
		     -ENOENT);
	cr_expect_str_eq(bad, "bogus");
	cr_expect_null(evs);
	free(bad);

	cr_assert_eq(pmu_events__parse_list("cycles,", &evs, &nr, &bad, NULL, 0), -EINVAL);
	cr_expect_str_eq(bad, "");
	free(bad);
}

Test(pmu_events, sampling_frequency_or_period)
{
	struct pmu_event ev;

	pmu_event__parse("instructions", &ev);
	pmu_event__set_sampling(&ev, 999, 0);
	cr_expect_eq(ev.attr.freq, 1);
	cr_expect_eq(ev.attr.sample_freq, 999);
	pmu_event__set_sampling(&ev, 0, 100000);
	cr_expect_eq(ev.attr.freq, 0);
	cr_expect_eq(ev.attr.sample_period, 100000);
}

Test(pmu_events, no_pmu_errors)
{
	cr_expect(pmu_errno__is_no_pmu(-ENOENT));
	cr_expect(pmu_errno__is_no_pmu(-EOPNOTSUPP));
	cr_expect(pmu_errno__is_no_pmu(-ENODEV));
	cr_expect_not(pmu_errno__is_no_pmu(-EACCES));
	cr_expect_not(pmu_errno__is_no_pmu(-EINVAL));
}

Test(pmu_events, strerror_gives_advice)
{
	struct pmu_event ev;
	char buf[256];

	pmu_event__parse("cycles", &ev);
	cr_expect(strstr(pmu_event__open_strerror(-ENOENT, &ev, buf, sizeof(buf)),
			 "no hardware PMU"));
	cr_expect(strstr(pmu_event__open_strerror(-EACCES, &ev, buf, sizeof(buf)), "CAP_PERFMON"));
	cr_expect(strstr(pmu_event__open_strerror(-EACCES, &ev, buf, sizeof(buf)),
			 "perf_event_paranoid"));
	cr_expect(strstr(pmu_event__open_strerror(-EBUSY, &ev, buf, sizeof(buf)), "nmi_watchdog"));
	cr_expect(strstr(pmu_event__open_strerror(-EMFILE, &ev, buf, sizeof(buf)), "ulimit"));
}

Test(pmu_events, attach_modes)
{
	enum pmu_attach_mode m;

	cr_expect_eq(pmu_attach_mode__parse("auto", &m), 0);
	cr_expect_eq(m, PMU_ATTACH_AUTO);
	cr_expect_eq(pmu_attach_mode__parse("link", &m), 0);
	cr_expect_eq(m, PMU_ATTACH_LINK);
	cr_expect_eq(pmu_attach_mode__parse("ioctl", &m), 0);
	cr_expect_eq(m, PMU_ATTACH_IOCTL);
	cr_expect_eq(pmu_attach_mode__parse("Link", &m), -EINVAL);
	cr_expect_eq(pmu_attach_mode__parse("", &m), -EINVAL);
}

struct cpulist_case {
	int line;
	const char *s;
	int err;
	int nr;
	int cpus[8];
};

static const struct cpulist_case cpulist_cases[] = {
	{__LINE__, "0", 0, 1, {0}},
	{__LINE__, "0-3", 0, 4, {0, 1, 2, 3}},
	{__LINE__, "0-1,4,6-7", 0, 5, {0, 1, 4, 6, 7}},
	{__LINE__, "3,1,1,2", 0, 3, {1, 2, 3}},
	{__LINE__, "0-1\n", 0, 2, {0, 1}},
	{__LINE__, "", -EINVAL},
	{__LINE__, "x", -EINVAL},
	{__LINE__, "3-1", -EINVAL},
	{__LINE__, "1,", -EINVAL},
	{__LINE__, "1-", -EINVAL},
	{__LINE__, "-1", -EINVAL},
	{__LINE__, "1;2", -EINVAL},
};

Test(pmu_cpus, cpulist_parse)
{
	size_t i;

	for (i = 0; i < sizeof(cpulist_cases) / sizeof(cpulist_cases[0]); i++) {
		const struct cpulist_case *c = &cpulist_cases[i];
		int *cpus, nr, err = pmu_cpus__parse(c->s, &cpus, &nr), j;

		cr_expect_eq(err, c->err, "line %d: '%s': err %d", c->line, c->s, err);
		if (err)
			continue;
		cr_expect_eq(nr, c->nr, "line %d: nr %d", c->line, nr);
		for (j = 0; j < nr && j < c->nr; j++)
			cr_expect_eq(cpus[j], c->cpus[j], "line %d: cpu[%d]", c->line, j);
		free(cpus);
	}
}
