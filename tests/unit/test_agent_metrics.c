// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics of the collectors a machine without PMUs cannot run: the counters collector's
 * ratios and the uncore collector's bytes per socket, from collectors that give known
 * values through the registry's interface.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "src/agent.h"

/* The counters collector's readings: cycles, instructions, cache refs/misses, branches/misses. */
static double readings[2][6] = {{1000, 2000, 100, 10, 400, 4}, {3000, 3000, 300, 70, 400, 8}};
static int reading;

static int counters_values(void *state, void (*emit)(void *, const char *, double), void *arg)
{
	static const char *const names[] = {"cycles",	    "instructions", "cache-references",
					    "cache-misses", "branches",	    "branch-misses"};
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		emit(arg, names[i], readings[reading][i]);
	return 0;
}

static int uncore_values(void *state, void (*emit)(void *, const char *, double), void *arg)
{
	(void)state;
	emit(arg, "socket0/cas_count_read_bytes", 6400);
	emit(arg, "socket1/cas_count_read_bytes", 640);
	emit(arg, "socket0/cas_count_write_bytes", 128);
	emit(arg, "socket1/cas_count_write_bytes", 64);
	return 0;
}

static const struct collector counters = {.name = "counters", .values = counters_values};
static const struct collector uncore = {.name = "uncore", .values = uncore_values};

static struct agent a;

static char *metrics(void)
{
	char *buf = NULL;
	size_t len = 0;

	cr_assert_eq(agent__metrics(&a, false, &buf, &len), 0);
	cr_assert_eq(strlen(buf), len);
	return buf;
}

static void setup(void)
{
	memset(&a, 0, sizeof(a));
	pthread_mutex_init(&a.lock, NULL);
	pthread_mutex_init(&a.coll_lock, NULL);
	a.slots[0].c = &counters;
	a.slots[1].c = &uncore;
	a.nr_slots = 2;
	reading = 0;
}

Test(agent_metrics, counter_ratios_over_the_last_interval, .init = setup)
{
	char *m;

	a.slots[0].running = a.slots[1].running = true;
	m = metrics();
	/* The first reading: since the start. */
	cr_expect(strstr(m, "\npmuprof_counters_ipc 2\n"), "%s", m);
	cr_expect(strstr(m, "\npmuprof_counters_cache_miss_ratio 0.1\n"), "%s", m);
	cr_expect(strstr(m, "\npmuprof_counters_branch_miss_ratio 0.01\n"), "%s", m);
	cr_expect(strstr(m, "# TYPE pmuprof_counters_ipc gauge\n"), "%s", m);
	cr_expect(strstr(m, "\npmuprof_counters_cycles_total 1000\n"), "%s", m);
	free(m);
	/* A second later: the deltas. No branch in between: no branch ratio. */
	a.slots[0].ratio_t -= 2;
	reading = 1;
	m = metrics();
	cr_expect(strstr(m, "\npmuprof_counters_ipc 0.5\n"), "%s", m);
	cr_expect(strstr(m, "\npmuprof_counters_cache_miss_ratio 0.3\n"), "%s", m);
	cr_expect(!strstr(m, "pmuprof_counters_branch_miss_ratio"), "%s", m);
	free(m);
	/* Within the second: the same ratios, not a ratio of nothing. */
	m = metrics();
	cr_expect(strstr(m, "\npmuprof_counters_ipc 0.5\n"), "%s", m);
	free(m);
}

Test(agent_metrics, uncore_bytes_by_socket, .init = setup)
{
	char *m, *p;
	int families = 0;

	a.slots[1].running = true;
	m = metrics();
	cr_expect(strstr(m, "\npmuprof_uncore_cas_count_read_bytes_total{socket=\"0\"} 6400\n"
			    "pmuprof_uncore_cas_count_read_bytes_total{socket=\"1\"} 640\n"),
		  "%s", m);
	cr_expect(strstr(m, "\npmuprof_uncore_cas_count_write_bytes_total{socket=\"1\"} 64\n"),
		  "%s", m);
	for (p = m; (p = strstr(p, "# TYPE pmuprof_uncore_cas_count_read_bytes_total counter"));
	     p++)
		families++;
	cr_expect_eq(families, 1, "%s", m);
	free(m);
}

Test(agent_metrics, collectors_not_running_give_no_values, .init = setup)
{
	char *m = metrics();

	cr_expect(strstr(m, "pmuprof_scrape_collector_success{collector=\"counters\"} 0\n"), "%s",
		  m);
	cr_expect(strstr(m, "pmuprof_scrape_collector_success{collector=\"uncore\"} 0\n"), "%s", m);
	cr_expect(!strstr(m, "pmuprof_counters_"), "%s", m);
	cr_expect(!strstr(m, "pmuprof_uncore_"), "%s", m);
	free(m);
}
