// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a debug file as the symbolizer reads it (untrusted: from a profiled
 * process's debuglink, a debug directory or a debuginfod server). The symbol table
 * through libelf, then DWARF lines and inline scopes through libdw, at addresses taken
 * from the input and at every symbol.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create; meson defines it already */
#endif
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "symbolize/symbolize.h"
#include "symbolize/symbolize-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	bool mangled[SYM_MAX_FRAMES];
	unsigned long addr = 0, a, sz;
	uint64_t ahead[2];
	struct elf_syms *es;
	struct sym_dwarf *d;
	size_t i;
	int fd = memfd_create("debug", MFD_CLOEXEC), n;

	if (fd < 0)
		return 0;
	if (pwrite(fd, data, size, 0) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	es = elf_syms__load_fd(fd);
	d = sym_dwarf__open(fd); /* takes fd */
	memcpy(&addr, data, size < sizeof(addr) ? size : sizeof(addr));
	n = sym_dwarf__frames(d, addr, true, f, SYM_MAX_FRAMES, mangled);
	for (i = 0; i < 64 && elf_syms__at(es, i, &a, &sz); i++) {
		/* Asked for ahead (as many addresses of one file are), then looked up. */
		ahead[0] = a + sz / 2;
		ahead[1] = addr + i;
		sym_dwarf__prefetch(d, ahead, 2);
		n += sym_dwarf__frames(d, a + sz / 2, true, f, SYM_MAX_FRAMES, mangled);
	}
	if (n < 0)
		__builtin_trap();
	sym_dwarf__free(d);
	elf_syms__free(es);
	return 0;
}
