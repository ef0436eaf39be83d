// SPDX-License-Identifier: GPL-2.0
/*
 * Event specs beyond the generic names: libpfm4 names (encoded for PMUs that are not
 * here, LIBPFM_ENCODE_INACTIVE=1), raw codes, the sysfs syntax against a fake tree,
 * hybrid expansion, and the errors a user gets for bad modifiers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pmu/pmu.h"

static void use_tree(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", getenv("PMUPROF_TEST_DATA"), name);
	setenv("PMUPROF_SYSFS", path, 1);
}

static void inactive_pmus(void)
{
	/* Read by libpfm4 at initialization; each test runs in its own process. */
	setenv("LIBPFM_ENCODE_INACTIVE", "1", 1);
	use_tree("sysfs");
}

struct spec_case {
	int line;
	const char *spec;
	int err;
	__u32 type;
	__u64 config, config1;
	int exclude_user, exclude_kernel, precise;
	__u64 period; /* 0: not set by the spec */
	int freq;
};

static const struct spec_case spec_cases[] = {
	/* libpfm4, three models */
	{__LINE__, "skl::INST_RETIRED:ANY_P:u", 0, 4, 0xc0, 0, 0, 1, 0},
	{__LINE__, "skl::INST_RETIRED:ANY_P:k", 0, 4, 0xc0, 0, 1, 0, 0},
	{__LINE__, "skl::MEM_LOAD_RETIRED:L3_MISS", 0, 4, 0x20d1, 0, 0, 0, 0},
	{__LINE__, "skl::BR_MISP_RETIRED:ALL_BRANCHES:c=1:i", 0, 4, 0x18000c5, 0, 0, 0, 0},
	{__LINE__, "icl::MEM_LOAD_RETIRED:L3_MISS:precise=2", 0, 4, 0x20d1, 0, 0, 0, 2},
	{__LINE__, "icl::INST_RETIRED:ANY_P:period=100000", 0, 4, 0xc0, 0, 0, 0, 0, 100000, 0},
	{__LINE__, "icl::INST_RETIRED:ANY_P:freq=999", 0, 4, 0xc0, 0, 0, 0, 0, 999, 1},
	{__LINE__, "amd64_fam19h_zen3::RETIRED_INSTRUCTIONS", 0, 4, 0xc0, 0, 0, 0, 0},
	{__LINE__, "amd64_fam19h_zen3::RETIRED_INSTRUCTIONS:u", 0, 4, 0xc0, 0, 0, 1, 0},
	/* perf's EVENT.UMASK spelling */
	{__LINE__, "skl::MEM_LOAD_RETIRED.L3_MISS", 0, 4, 0x20d1, 0, 0, 0, 0},
	/* raw */
	{__LINE__, "r01c2", 0, PERF_TYPE_RAW, 0x1c2, 0, 0, 0, 0},
	{__LINE__, "r01c2:u", 0, PERF_TYPE_RAW, 0x1c2, 0, 0, 1, 0},
	{__LINE__, "r01c2:ppp", 0, PERF_TYPE_RAW, 0x1c2, 0, 0, 0, 3},
	{__LINE__, "rC0:k", 0, PERF_TYPE_RAW, 0xc0, 0, 1, 0, 0},
	/* perf suffixes on generic events */
	{__LINE__, "cycles:u", 0, PERF_TYPE_HARDWARE, 0, 0, 0, 1, 0},
	{__LINE__, "instructions:pp", 0, PERF_TYPE_HARDWARE, 1, 0, 0, 0, 2},
	{__LINE__, "LLC-load-misses", 0, PERF_TYPE_HW_CACHE, 0x10002, 0, 0, 0, 0},
	{__LINE__, "L1-dcache-load-misses", 0, PERF_TYPE_HW_CACHE, 0x10000, 0, 0, 0, 0},
	{__LINE__, "dTLB-load-misses", 0, PERF_TYPE_HW_CACHE, 0x10003, 0, 0, 0, 0},
	{__LINE__, "iTLB-load-misses", 0, PERF_TYPE_HW_CACHE, 0x10004, 0, 0, 0, 0},
	{__LINE__, "L1-dcache-stores", 0, PERF_TYPE_HW_CACHE, 0x100, 0, 0, 0, 0},
	{__LINE__, "branch-load-misses", 0, PERF_TYPE_HW_CACHE, 0x10005, 0, 0, 0, 0},
	{__LINE__, "page-faults", 0, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, 0, 0, 0, 0},
	{__LINE__, "context-switches", 0, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, 0, 0,
	 0, 0},
	/* sysfs syntax against tests/data/sysfs */
	{__LINE__, "cpu/event=0x3c,umask=0x00/", 0, 4, 0x3c, 0, 0, 0, 0},
	{__LINE__, "cpu/event=0xc5,umask=0x1,cmask=1,inv/", 0, 4, 0x18001c5, 0, 0, 0, 0},
	{__LINE__, "cpu/cpu-cycles/", 0, 4, 0x3c, 0, 0, 0, 0},
	{__LINE__, "cpu/mem-loads/:pp", 0, 4, 0x1cd, 3, 0, 0, 2},
	{__LINE__, "cpu/event=0x3c,period=20000/", 0, 4, 0x3c, 0, 0, 0, 0, 20000, 0},
	{__LINE__, "cpu/event=0x3c/u", -EINVAL},
	/* errors */
	{__LINE__, "cpu/event=0x1ff/", -ERANGE},
	{__LINE__, "cpu/bogus=1/", -ENOENT},
	{__LINE__, "nopmu/event=1/", -ENOENT},
	{__LINE__, "cpu/event=zz/", -EINVAL},
	{__LINE__, "cycles:x", -EINVAL},
	{__LINE__, "cycles:pppp", -EINVAL},
	{__LINE__, "skl::INST_RETIRED:ANY_P:period=10:freq=10", -EINVAL},
	{__LINE__, "skl::INST_RETIRED:BOGUS_UMASK", -EINVAL},
	{__LINE__, "skl::INST_RETIRED:ANY_P:precise=7", -EINVAL},
	{__LINE__, "skl::NO_SUCH_EVENT", -ENOENT},
	{__LINE__, "no-such-event", -ENOENT},
};

Test(pmu_specs, table, .init = inactive_pmus)
{
	size_t i;

	for (i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++) {
		const struct spec_case *c = &spec_cases[i];
		struct pmu_event ev;
		char why[256];
		int err = pmu_event__parse_spec(c->spec, &ev, why, sizeof(why));

		cr_expect_eq(err, c->err, "line %d: '%s': err %d (%s), want %d", c->line, c->spec,
			     err, why, c->err);
		if (err || c->err) {
			if (err)
				cr_expect(why[0], "line %d: no reason given", c->line);
			continue;
		}
		cr_expect_eq(ev.attr.type, c->type, "line %d: type %u", c->line, ev.attr.type);
		cr_expect_eq(ev.attr.config, c->config, "line %d: config %#llx", c->line,
			     (unsigned long long)ev.attr.config);
		cr_expect_eq(ev.attr.config1, c->config1, "line %d: config1", c->line);
		cr_expect_eq(ev.attr.exclude_user, c->exclude_user, "line %d: exclude_user",
			     c->line);
		cr_expect_eq(ev.attr.exclude_kernel, c->exclude_kernel, "line %d: exclude_kernel",
			     c->line);
		cr_expect_eq(ev.attr.precise_ip, c->precise, "line %d: precise_ip %u", c->line,
			     ev.attr.precise_ip);
		cr_expect_eq(ev.attr.size, sizeof(ev.attr), "line %d: attr.size", c->line);
		if (c->period) {
			cr_expect_eq(ev.attr.sample_period, c->period, "line %d: period", c->line);
			cr_expect_eq(ev.attr.freq, c->freq, "line %d: freq", c->line);
			cr_expect(ev.has_period || ev.has_freq, "line %d: sampling not kept",
				  c->line);
		}
	}
}

Test(pmu_specs, spec_sampling_wins_over_the_command_line, .init = inactive_pmus)
{
	struct pmu_event ev;

	cr_assert_eq(pmu_event__parse("skl::INST_RETIRED:ANY_P:period=5000", &ev), 0);
	pmu_event__set_sampling(&ev, 99, 0);
	cr_expect_eq(ev.attr.freq, 0);
	cr_expect_eq(ev.attr.sample_period, 5000);
	cr_assert_eq(pmu_event__parse("skl::INST_RETIRED:ANY_P", &ev), 0);
	pmu_event__set_sampling(&ev, 99, 0);
	cr_expect_eq(ev.attr.freq, 1);
	cr_expect_eq(ev.attr.sample_freq, 99);
}

Test(pmu_specs, uncore_pmu_has_its_cpumask, .init = inactive_pmus)
{
	struct pmu_event ev;

	cr_assert_eq(pmu_event__parse("uncore_imc_0/cas_count_read/", &ev), 0);
	cr_expect_eq(ev.attr.type, 20);
	cr_expect_eq(ev.attr.config, 0x304);
	cr_expect(ev.uncore);
	cr_expect(pmu_cpumask__has(&ev.cpumask, 0));
	cr_expect(pmu_cpumask__has(&ev.cpumask, 16));
	cr_expect_not(pmu_cpumask__has(&ev.cpumask, 1));
	cr_assert_eq(pmu_event__parse("cpu/event=0x3c/", &ev), 0);
	cr_expect_not(ev.uncore);
}

Test(pmu_specs, hybrid_expands_generic_hardware_events)
{
	struct pmu_event *evs;
	char *bad;
	int nr;

	use_tree("sysfs-hybrid");
	cr_assert(pmu__is_hybrid());
	cr_assert_eq(pmu_events__parse_list("cycles,cpu-clock", &evs, &nr, &bad, NULL, 0), 0);
	cr_assert_eq(nr, 3);
	cr_expect_str_eq(evs[0].name, "cpu_core/cycles/");
	cr_expect_eq(evs[0].attr.type, PERF_TYPE_HARDWARE);
	cr_expect_eq(evs[0].attr.config, (4ULL << 32) | PERF_COUNT_HW_CPU_CYCLES);
	cr_expect(pmu_cpumask__has(&evs[0].cpumask, 7));
	cr_expect_not(pmu_cpumask__has(&evs[0].cpumask, 8));
	cr_expect_str_eq(evs[1].name, "cpu_atom/cycles/");
	cr_expect_eq(evs[1].attr.config, (10ULL << 32) | PERF_COUNT_HW_CPU_CYCLES);
	cr_expect(pmu_cpumask__has(&evs[1].cpumask, 8));
	cr_expect_not(pmu_cpumask__has(&evs[1].cpumask, 0));
	/* Software events are not per core PMU. */
	cr_expect_str_eq(evs[2].name, "cpu-clock");
	cr_expect_not(evs[2].cpumask.set);
	free(evs);
}

Test(pmu_specs, not_hybrid_without_both_core_pmus, .init = inactive_pmus)
{
	cr_expect_not(pmu__is_hybrid());
}

Test(pmu_specs, list_splits_on_commas_outside_slashes, .init = inactive_pmus)
{
	struct pmu_event *evs;
	char *bad, why[256];
	int nr;

	cr_assert_eq(
		pmu_events__parse_list("cpu/event=0x3c,umask=0x0/,cycles:u,{cpu-clock,task-clock}",
				       &evs, &nr, &bad, why, sizeof(why)),
		0, "%s", why);
	cr_assert_eq(nr, 4);
	cr_expect_str_eq(evs[0].name, "cpu/event=0x3c,umask=0x0/");
	cr_expect_str_eq(evs[1].name, "cycles:u");
	cr_expect_str_eq(evs[2].name, "cpu-clock");
	cr_expect_str_eq(evs[3].name, "task-clock");
	free(evs);
	cr_assert_eq(pmu_events__parse_list("cycles,cpu/bogus/", &evs, &nr, &bad, why, sizeof(why)),
		     -ENOENT);
	cr_expect_str_eq(bad, "cpu/bogus/");
	cr_expect(strstr(why, "bogus"), "reason: %s", why);
	free(bad);
}

Test(pmu_specs, suggestions_for_typos, .init = inactive_pmus)
{
	char out[3][PMU_EVENT_NAME_MAX];
	int n;

	n = pmu_event__suggest("cyclse", out, 3);
	cr_assert_geq(n, 1);
	cr_expect_str_eq(out[0], "cycles");
	n = pmu_event__suggest("LLC-load-mises", out, 3);
	cr_assert_geq(n, 1);
	cr_expect_str_eq(out[0], "LLC-load-misses");
	cr_expect_eq(pmu_event__suggest("zzzzzzzzzzzzzzzzzzzz", out, 3), 0);
}

Test(pmu_specs, details_line, .init = inactive_pmus)
{
	struct pmu_event ev;
	char buf[512];

	cr_assert_eq(pmu_event__parse("skl::INST_RETIRED:ANY_P:u", &ev), 0);
	pmu_event__describe(&ev, buf, sizeof(buf));
	cr_expect(!strncmp(buf,
			   "type=4 config=0xc0 config1=0x0 config2=0x0 exclude_user=0 "
			   "exclude_kernel=1 exclude_hv=0 precise_ip=0",
			   strlen("type=4 config=0xc0 config1=0x0 config2=0x0 exclude_user=0 "
				  "exclude_kernel=1 exclude_hv=0 precise_ip=0")),
		  "%s", buf);
}
