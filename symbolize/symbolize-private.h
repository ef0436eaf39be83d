/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the files of symbolize/ only. */
#ifndef PMUPROF_SYMBOLIZE_PRIVATE_H
#define PMUPROF_SYMBOLIZE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

/* FNV-1a over a C string: for the path and ELF caches. */
static inline uint32_t sym_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* NT_GNU_BUILD_ID of an ELF file into out: its length, 0 when absent (or longer than max). */
size_t elf_read_build_id(Elf *elf, unsigned char *out, size_t max);

#endif
