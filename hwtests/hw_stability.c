// SPDX-License-Identifier: GPL-2.0
/*
 * 5 minutes (PMUPROF_HW_STABILITY_SECONDS) of 4 events at 999 Hz on all CPUs: RSS grows
 * by less than 10 MB, and samples are only lost where the loss ledger says why.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "hw.h"

const char *hw_prereq(void)
{
	const char *why = hw_need_pmu();

	if (!why)
		why = hw_need_event("branches");
	return why ? why : hw_need_event("cache-misses");
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

Test(hw, four_events_for_minutes, .timeout = 900)
{
	const char *env = getenv("PMUPROF_HW_STABILITY_SECONDS");
	int secs = env ? atoi(env) : 300, pipefd[2], status;
	char dur[16], out[16384] = "", folded[] = "/tmp/pmuprof-hw-XXXXXX.folded";
	long first, last;
	ssize_t n, len = 0;
	pid_t pid;
	double taken, in_stacks, lost;

	cr_assert_geq(mkstemps(folded, 7), 0);
	snprintf(dur, sizeof(dur), "%d", secs);
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execl(getenv("PMUPROF_BIN"), "pmuprof", "record", "-a", "-F", "999", "-e",
		      "cycles,instructions,branches,cache-misses", "-d", dur, "-o", folded,
		      (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	sleep(secs > 20 ? 10 : 2);
	first = rss_kb(pid);
	sleep(secs > 20 ? secs - 12 : 1);
	last = rss_kb(pid);
	while ((n = read(pipefd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	waitpid(pid, &status, 0);
	puts(out);
	oracle_report("RSS growth (KiB) during the record", last - first, "< 10240");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	cr_expect(last - first < 10240, "RSS grew %ld KiB", last - first);
	/* every event's ledger adds up */
	{
		const char *p = out;
		int events = 0;

		while ((p = strstr(p, "samples:    "))) {
			taken = oracle_find_number(p, "samples:    ");
			in_stacks = oracle_find_number(p, "taken, ");
			lost = oracle_find_number(p, "in stacks, ");
			cr_expect(taken == in_stacks + lost, "ledger: %f != %f + %f", taken,
				  in_stacks, lost);
			p += 12;
			events++;
		}
		cr_expect_eq(events, 4);
	}
	remove(folded);
	kill(pid, SIGKILL);
}
