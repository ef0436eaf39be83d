// SPDX-License-Identifier: GPL-2.0
/*
 * The zlib-compressed debug sections of a file (SHF_COMPRESSED, ELFCOMPRESS_ZLIB, as
 * Debian's debug files ship them) inflated with libdeflate before libdw reads them: libdw
 * would inflate them through libelf and zlib, which took a tenth of the instructions of
 * naming a million addresses in libc's debug file. Each section becomes one plain
 * buffer of the size its header states (libdeflate checks the stream and its Adler-32,
 * and that it fills exactly that size); the section's header then says it is not
 * compressed, so libelf and libdw take the buffer as the section's data. A section that
 * does not inflate so is left as it is, for libelf to try (and to refuse) as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include <libdeflate.h>
#include "symbolize-private.h"

/* Sections over this are left to libelf (as are all sections of 32-bit builds' sizes). */
#define INFLATE_MAX ((size_t)1 << 32)
/* The most a deflate stream expands: 258 bytes per 2 bits, about 1032 to 1. */
#define INFLATE_MAX_RATIO 1032

static int inflated__add(struct inflated *z, void *buf)
{
	void **p;

	if (z->n == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 16;

		p = realloc(z->buf, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		z->buf = p;
		z->cap = cap;
	}
	z->buf[z->n++] = buf;
	return 0;
}

/* Is the section one libdw reads (".debug_*"), compressed with zlib in the ELF way? */
static bool section_wanted(Elf *elf, size_t shstrndx, Elf_Scn *scn, GElf_Shdr *sh, GElf_Chdr *ch)
{
	const char *name;

	if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS || !(sh->sh_flags & SHF_COMPRESSED))
		return false;
	name = elf_strptr(elf, shstrndx, sh->sh_name);
	if (!name || strncmp(name, ".debug_", 7))
		return false;
	return gelf_getchdr(scn, ch) && ch->ch_type == ELFCOMPRESS_ZLIB && ch->ch_size &&
	       ch->ch_size < INFLATE_MAX;
}

/* One section inflated into a new buffer, which becomes its data; 0 when it did. */
static int section_inflate(struct libdeflate_decompressor *dec, Elf *elf, Elf_Scn *scn,
			   GElf_Shdr *sh, const GElf_Chdr *ch, struct inflated *z)
{
	size_t hdr = gelf_fsize(elf, ELF_T_CHDR, 1, EV_CURRENT);
	Elf_Data *data = elf_getdata(scn, NULL);
	void *out;

	if (!hdr || !data || !data->d_buf || data->d_size <= hdr)
		return -EINVAL;
	/*
	 * Deflate expands at most 1032 times: a larger size stated is a lie (fuzz_dwarf: 4 GB
	 * allocated for a 7 kB file). libelf refuses it the same way.
	 */
	if (ch->ch_size / INFLATE_MAX_RATIO > data->d_size - hdr)
		return -EINVAL;
	out = malloc(ch->ch_size);
	if (!out)
		return -ENOMEM;
	if (libdeflate_zlib_decompress(dec, (const char *)data->d_buf + hdr, data->d_size - hdr,
				       out, ch->ch_size, NULL) != LIBDEFLATE_SUCCESS ||
	    inflated__add(z, out)) {
		free(out);
		return -EINVAL;
	}
	data->d_buf = out;
	data->d_size = ch->ch_size;
	data->d_type = ELF_T_BYTE;
	data->d_align = ch->ch_addralign ? ch->ch_addralign : 1;
	sh->sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
	sh->sh_size = ch->ch_size;
	sh->sh_addralign = data->d_align;
	gelf_update_shdr(scn, sh);
	return 0;
}

int sections_inflate(Elf *elf, struct inflated *z)
{
	struct libdeflate_decompressor *dec = NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	GElf_Chdr ch;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!section_wanted(elf, shstrndx, scn, &sh, &ch))
			continue;
		if (!dec && !(dec = libdeflate_alloc_decompressor()))
			return -ENOMEM;
		section_inflate(dec, elf, scn, &sh, &ch, z);
	}
	if (dec)
		libdeflate_free_decompressor(dec);
	return 0;
}

void inflated__free(struct inflated *z)
{
	size_t i;

	for (i = 0; i < z->n; i++)
		free(z->buf[i]);
	free(z->buf);
	*z = (struct inflated){0};
}
