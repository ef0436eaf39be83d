// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-jit [SECONDS [keep|append]]: runs machine code it wrote into anonymous executable
 * memory and names it in /tmp/perf-PID.map, as JIT compilers do (x86-64 only). "keep"
 * leaves the map as the caller made it (a FIFO, a link: the tests of docs/security.md);
 * "append" adds the entry after what the caller wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
#if defined(__x86_64__)
	/* mov rcx, 5000000; 1: dec rcx; jnz 1b; ret */
	static const unsigned char code[] = {0x48, 0xb9, 0x40, 0x4b, 0x4c, 0x00, 0x00, 0x00,
					     0x00, 0x00, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0xc3};
	double seconds = argc > 1 ? atof(argv[1]) : 2, end;
	struct timespec ts;
	const char *mode;
	char path[64];
	void *mem;
	FILE *f;

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(mem, code, sizeof(code));
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	mode = argc > 2 ? argv[2] : "";
	if (strcmp(mode, "keep")) {
		f = fopen(path, strcmp(mode, "append") ? "w" : "a");
		if (!f) {
			perror(path);
			return 1;
		}
		fprintf(f, "%lx %zx jit_spin_loop\n", (unsigned long)mem, sizeof(code));
		fclose(f);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = ts.tv_sec + ts.tv_nsec / 1e9 + seconds;
	do {
		((void (*)(void))mem)();
		clock_gettime(CLOCK_MONOTONIC, &ts);
	} while (ts.tv_sec + ts.tv_nsec / 1e9 < end);
	printf("pmuprof-jit: %s\n", path);
	return 0;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "pmuprof-jit: x86-64 only\n");
	return 77;
#endif
}
