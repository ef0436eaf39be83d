// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-demo: a workload with known hot functions and calibrated shares.
 *
 *   pmuprof-demo [SECONDS [DEPTH]]   (default 5 s, depth 0)
 *
 * main → demo_loop → hot_60 / hot_30 / hot_10, which spend 60%, 30% and 10% of the CPU
 * time (the same inner loop, run 6, 3 and 1 units per round). With DEPTH, demo_loop is
 * reached through DEPTH recursive calls of descend(), for deep-stack tests.
 *
 * A unit's length varies from round to round (0.5 to 1.5 times UNIT, the same for the
 * three functions of a round). With a fixed length, a round took close to two periods of
 * a 999 Hz sampler on some machines, so the samples kept landing at the same points of
 * the round and the shares drifted several points away from 60/30/10.
 *
 * Frames must be real for frame-pointer unwinding: GCC 12 omits the frame setup in
 * leaf functions even with -mno-omit-leaf-frame-pointer, which would hide the caller of
 * a sampled leaf. So every hot function makes one call (through a volatile pointer, so
 * it is neither inlined nor turned into a tail call) and is therefore not a leaf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define UNIT 200000UL

static volatile unsigned long sink_value;

static void __attribute__((noinline)) sink(unsigned long v)
{
	sink_value = v;
}

static void (*volatile sink_fn)(unsigned long) = sink;

static unsigned long __attribute__((noinline)) spin_units(unsigned long units, unsigned long seed)
{
	unsigned long x = seed, i;

	for (i = 0; i < units * UNIT; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

/* Each hot function runs the loop inline (spin_units is only a reference copy). */
#define HOT_BODY(units)                                                                            \
	unsigned long x = seed, i;                                                                 \
	for (i = 0; i < (units)*unit; i++)                                                         \
		x = x * 6364136223846793005UL + 1442695040888963407UL;                             \
	sink_fn(x);                                                                                \
	return x;

unsigned long __attribute__((noinline)) hot_60(unsigned long seed, unsigned long unit)
{
	HOT_BODY(6)
}

unsigned long __attribute__((noinline)) hot_30(unsigned long seed, unsigned long unit)
{
	HOT_BODY(3)
}

unsigned long __attribute__((noinline)) hot_10(unsigned long seed, unsigned long unit)
{
	HOT_BODY(1)
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

unsigned long __attribute__((noinline)) demo_loop(double seconds)
{
	double end = now() + seconds;
	unsigned long seed = 1, rounds = 0, state = 88172645463325252UL, unit;

	while (now() < end) {
		/* xorshift64: a unit of UNIT / 2 up to 3 * UNIT / 2 iterations this round. */
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		unit = UNIT / 2 + state % UNIT;
		seed = hot_60(seed, unit);
		seed = hot_30(seed, unit);
		seed = hot_10(seed, unit);
		rounds++;
	}
	sink_fn(seed);
	return rounds;
}

unsigned long __attribute__((noinline)) descend(int depth, double seconds)
{
	unsigned long r;

	if (depth <= 0)
		return demo_loop(seconds);
	r = descend(depth - 1, seconds);
	/* Work after the call keeps it from being a tail call. */
	sink_fn(r);
	return r;
}

int main(int argc, char **argv)
{
	double seconds = 5;
	long depth = 0;
	char *end;

	if (argc > 1) {
		seconds = strtod(argv[1], &end);
		if (*end || seconds <= 0) {
			fprintf(stderr, "usage: %s [SECONDS [DEPTH]]\n", argv[0]);
			return 2;
		}
	}
	if (argc > 2) {
		depth = strtol(argv[2], &end, 10);
		if (*end || depth < 0 || depth > 10000) {
			fprintf(stderr, "usage: %s [SECONDS [DEPTH]]\n", argv[0]);
			return 2;
		}
	}
	(void)spin_units;
	printf("pmuprof-demo: %lu rounds\n", descend(depth, seconds));
	return 0;
}
