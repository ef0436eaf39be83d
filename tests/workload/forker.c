// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-forker [N [MS]]: forks N children (default 30), one after the other; each
 * spends about MS milliseconds (default 60) in child_work() and exits. Short-lived
 * processes that are gone before the record ends must still be symbolized.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static volatile unsigned long sink_value;

static void __attribute__((noinline)) sink(unsigned long v)
{
	sink_value = v;
}

static void (*volatile sink_fn)(unsigned long) = sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Not a leaf (it calls sink_fn), so its frame is real for the unwinder. */
void __attribute__((noinline)) child_work(double ms)
{
	double end = now() + ms / 1000;
	unsigned long x = 1, i;

	do {
		for (i = 0; i < 2000000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		sink_fn(x);
	} while (now() < end);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 30, i, status;
	double ms = argc > 2 ? atof(argv[2]) : 60;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			child_work(ms);
			_exit(0);
		}
		waitpid(pid, &status, 0);
	}
	printf("pmuprof-forker: %d children\n", n);
	return 0;
}
