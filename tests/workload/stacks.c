// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-stacks [SECONDS [LEVELS]]: a new call stack on nearly every sample. Each round
 * picks LEVELS random bits (default 17) and descends through left() or right() for each
 * one, then spins briefly in leaf(): 2^LEVELS distinct stacks, spread evenly.
 * Built like the demo (frame pointers, no inlining, no sibling calls).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink_value;

static void __attribute__((noinline)) sink(unsigned long v)
{
	sink_value = v;
}

static void (*volatile sink_fn)(unsigned long) = sink;

/* About 20 µs of work: many rounds fall between two samples at 999 Hz. */
unsigned long __attribute__((noinline)) leaf(unsigned long x)
{
	unsigned long i;

	for (i = 0; i < 20000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink_fn(x);
	return x;
}

unsigned long left(unsigned long bits, int level);
unsigned long right(unsigned long bits, int level);

#define STEP(bits, level)                                                                          \
	unsigned long r;                                                                           \
	if (!(level))                                                                              \
		return leaf(bits);                                                                 \
	r = ((bits)&1) ? left((bits) >> 1, (level)-1) : right((bits) >> 1, (level)-1);             \
	sink_fn(r);                                                                                \
	return r;

unsigned long __attribute__((noinline)) left(unsigned long bits, int level)
{
	STEP(bits, level)
}

unsigned long __attribute__((noinline)) right(unsigned long bits, int level)
{
	STEP(bits, level)
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 5);
	int levels = argc > 2 ? atoi(argv[2]) : 17;
	unsigned long x = 88172645463325252UL, rounds = 0;

	if (levels < 1 || levels > 40) {
		fprintf(stderr, "pmuprof-stacks: LEVELS from 1 to 40\n");
		return 2;
	}
	/* The clock is read every 16 rounds: where it is a system call (under emulation)
	 * it would otherwise take a share of the samples away from main;left;... */
	while ((rounds & 15) || now() < end) {
		/* xorshift: cheap, and every path equally likely */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		left(x, levels);
		rounds++;
	}
	printf("pmuprof-stacks: %lu rounds\n", rounds);
	return 0;
}
