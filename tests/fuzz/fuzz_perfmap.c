// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the bounded perf-map reader (/tmp/perf-PID.map), then lookups. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "symbolize/symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct jitmap_stats st;
	struct jitmap *jm;
	unsigned long addr = 0;

	if (fd < 0)
		fd = memfd_create("perf-map", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET))
		return 0;
	jm = jitmap__read(fd, &st);
	/* Look up the first bytes read as an address, and the edges. */
	memcpy(&addr, data, size < sizeof(addr) ? size : sizeof(addr));
	jitmap__lookup(jm, addr);
	jitmap__lookup(jm, 0);
	jitmap__lookup(jm, ~0UL);
	if (jitmap__count(jm) > JITMAP_MAX_ENTRIES || (!size && jitmap__count(jm)))
		__builtin_trap();
	jitmap__free(jm);
	return 0;
}
