// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-hwload: workloads with known counts for pmuprof record in the tests.
 *   loop N        exactly 2N instructions and N branches in oracle_loop
 *   busy SECONDS  CPU-bound for SECONDS in oracle_busy
 *   touch PAGES   PAGES page faults in oracle_touch_pages
 *   read MIB      read MIB of fresh memory once (memory bandwidth)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "oracle.h"

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "loop")) {
		oracle_loop(strtoull(argv[2], NULL, 10));
	} else if (argc == 3 && !strcmp(argv[1], "busy")) {
		oracle_busy(atof(argv[2]));
	} else if (argc == 3 && !strcmp(argv[1], "touch")) {
		return oracle_touch_pages(strtoull(argv[2], NULL, 10)) ? 1 : 0;
	} else if (argc == 3 && !strcmp(argv[1], "read")) {
		size_t bytes = strtoull(argv[2], NULL, 10) << 20, i;
		volatile unsigned long *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		unsigned long sum = 0;

		if (p == MAP_FAILED)
			return 1;
		for (i = 0; i < bytes / sizeof(*p); i += 8)
			sum += p[i];
		printf("%lu\n", sum);
	} else {
		fprintf(stderr, "usage: %s loop N | busy SECONDS | touch PAGES | read MIB\n",
			argv[0]);
		return 2;
	}
	return 0;
}
