// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a debug file as the symbolizer reads it (untrusted: from a profiled
 * process's debuglink, a debug directory or a debuginfod server). The symbol table
 * through libelf, then DWARF lines and inline scopes through libdw, at addresses taken
 * from the input and inside every symbol; with the symbols in the DWARF's table (as
 * record reads a file) or without, chosen by the input's last byte; then libdw's part
 * shed and the lookups made again (sections read a second time, the table kept).
 * The seeds (scripts/fuzz.sh) are linked programs and debug files: a relocatable object
 * alone would leave the tables unbuilt (its code addresses all start at 0).
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

/* Symbols looked in at most: each lookup may build a compilation unit's table. */
#define MAX_SYMS 64

/* Lookups inside the first symbols and at addr (taken from the input); frames found. */
static int lookups(struct sym_dwarf *d, const struct elf_syms *es, unsigned long addr)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	bool mangled[SYM_MAX_FRAMES];
	unsigned long a, sz;
	uint64_t ahead[3];
	const char *sym;
	size_t i;
	int n;

	n = sym_dwarf__frames(d, addr, true, f, SYM_MAX_FRAMES, mangled);
	for (i = 0; i < MAX_SYMS && elf_syms__at(es, i, &a, &sz); i++) {
		/* Asked for ahead (as many addresses of one file are), then looked up. */
		ahead[0] = a + sz / 2;
		ahead[1] = addr + i;
		ahead[2] = a;
		sym_dwarf__prefetch(d, ahead, 3, NULL);
		n += sym_dwarf__frames_sym(d, a, 0, true, f, SYM_MAX_FRAMES, mangled, &sym);
		n += sym_dwarf__frames(d, a + sz / 2, i & 1, f, SYM_MAX_FRAMES, mangled);
		if (sz)
			n += sym_dwarf__frames(d, a + sz - 1, true, f, SYM_MAX_FRAMES, mangled);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long addr = 0;
	size_t held;
	struct elf_syms *es;
	struct sym_dwarf *d;
	int fd = memfd_create("debug", MFD_CLOEXEC), n;

	if (fd < 0)
		return 0;
	if (pwrite(fd, data, size, 0) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	es = elf_syms__load_fd(fd);
	d = sym_dwarf__open(fd); /* takes fd */
	if (size && (data[size - 1] & 1))
		sym_dwarf__set_symbols(d, es);
	memcpy(&addr, data, size < sizeof(addr) ? size : sizeof(addr));
	n = lookups(d, es, addr);
	/* What is shed was held: the budget would otherwise count memory twice. */
	held = sym_dwarf__bytes(d);
	if (sym_dwarf__shed(d) > held)
		__builtin_trap();
	n += lookups(d, es, addr);
	if (n < 0)
		__builtin_trap();
	sym_dwarf__free(d);
	elf_syms__free(es);
	return 0;
}
