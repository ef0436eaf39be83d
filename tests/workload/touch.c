// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-touch [PAGES [SPIN_MS [EXIT]]]: touch PAGES fresh anonymous pages (default
 * 20000), one fault each, then compute for SPIN_MS milliseconds of CPU time, then exit
 * with EXIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	long pages = argc > 1 ? atol(argv[1]) : 20000, page = sysconf(_SC_PAGESIZE), i;
	volatile char *p;

	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* No huge pages: one fault per 4 KiB page. */
	madvise((void *)p, pages * page, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		p[i * page] = 1;
	if (argc > 2) {
		struct timespec ts;
		double end, t;
		volatile unsigned long x = 1;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		end = ts.tv_sec + ts.tv_nsec / 1e9 + atof(argv[2]) / 1000;
		do {
			for (i = 0; i < 100000; i++)
				x = x * 6364136223846793005UL + 1;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
			t = ts.tv_sec + ts.tv_nsec / 1e9;
		} while (t < end);
	}
	return argc > 3 ? atoi(argv[3]) : 0;
}
