// SPDX-License-Identifier: GPL-2.0
/*
 * The zlib-compressed debug sections of a file (SHF_COMPRESSED, ELFCOMPRESS_ZLIB, as
 * Debian's debug files ship them) inflated with libdeflate before libdw reads them: libdw
 * would inflate them through libelf and zlib, which took a tenth of the instructions of
 * naming a million addresses in libc's debug file. The compression header and the
 * compressed bytes are read here with pread(), into room the next sections inflate into
 * (inflate_plan()): had libelf read them (gelf_getchdr(), elf_getdata()), it would keep
 * its copy until elf_end(), beside the inflated one (3.6 MB at a busy record's peak,
 * outside the DWARF budget). All the sections go into one block, each in a place of the
 * size its header states (libdeflate checks the stream and its Adler-32, and that it fills
 * exactly that size); the section's header then says it is not compressed, so libelf and
 * libdw take that place as the section's data. A section that does not inflate so is left
 * as it is, for libelf to try (and to refuse) as before.
 */
#include <byteswap.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gelf.h>
#include <libdeflate.h>
#include "array.h"
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

/* The file's byte order is not ours: its fields are swapped. */
static bool swapped(Elf *elf)
{
	const char *id = elf_getident(elf, NULL);

	return id && id[EI_DATA] != (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB);
}

static uint32_t u32_of(const unsigned char *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? bswap_32(v) : v;
}

static uint64_t u64_of(const unsigned char *p, bool swap)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? bswap_64(v) : v;
}

/* The file's size: no section is read past it. */
static uint64_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) || st.st_size < 0 ? 0 : (uint64_t)st.st_size;
}

size_t section_chdr(Elf *elf, int fd, const GElf_Shdr *sh, GElf_Chdr *ch)
{
	unsigned char b[sizeof(Elf64_Chdr)];
	uint64_t size = file_size(fd);
	bool swap = swapped(elf);
	size_t hdr;

	switch (gelf_getclass(elf)) {
	case ELFCLASS32:
		hdr = sizeof(Elf32_Chdr);
		break;
	case ELFCLASS64:
		hdr = sizeof(Elf64_Chdr);
		break;
	default:
		return 0;
	}
	if (!(sh->sh_flags & SHF_COMPRESSED) || sh->sh_type == SHT_NOBITS || sh->sh_size <= hdr ||
	    sh->sh_offset > size || size - sh->sh_offset < sh->sh_size ||
	    pread(fd, b, hdr, (off_t)sh->sh_offset) != (ssize_t)hdr)
		return 0;
	ch->ch_type = u32_of(b, swap);
	if (hdr == sizeof(Elf32_Chdr)) {
		ch->ch_size = u32_of(b + 4, swap);
		ch->ch_addralign = u32_of(b + 8, swap);
	} else {
		ch->ch_size = u64_of(b + 8, swap);
		ch->ch_addralign = u64_of(b + 16, swap);
	}
	return hdr;
}

/* Is the section one libdw reads (".debug_*"), compressed with zlib in the ELF way? */
static size_t section_wanted(Elf *elf, int fd, size_t shstrndx, Elf_Scn *scn, GElf_Shdr *sh,
			     GElf_Chdr *ch)
{
	const char *name;
	size_t hdr;

	if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS || !(sh->sh_flags & SHF_COMPRESSED))
		return 0;
	name = elf_strptr(elf, shstrndx, sh->sh_name);
	if (!name || strncmp(name, ".debug_", 7))
		return 0;
	hdr = section_chdr(elf, fd, sh, ch);
	return hdr && ch->ch_type == ELFCOMPRESS_ZLIB && ch->ch_size && ch->ch_size < INFLATE_MAX
		       ? hdr
		       : 0;
}

/* A section to inflate: its header, its compression header (of hdr bytes), and where it
 * goes in the block that holds all of them (inflate_plan()). */
struct zsec {
	Elf_Scn *scn;
	GElf_Shdr sh;
	GElf_Chdr ch;
	size_t hdr;
	size_t at, in_at; /* its place, and where its compressed bytes are read */
};

/* Each inflated section starts at a multiple of this in the block, as malloc() aligns. */
#define INFLATE_ALIGN 16

static size_t zsec_in(const struct zsec *s)
{
	return s->sh.sh_size - s->hdr;
}

/* Larger compressed size first, then the file's order. */
static int zsec_cmp(const void *a, const void *b)
{
	const struct zsec *x = a, *y = b;

	if (zsec_in(x) != zsec_in(y))
		return zsec_in(x) > zsec_in(y) ? -1 : 1;
	return elf_ndxscn(x->scn) < elf_ndxscn(y->scn) ? -1 : 1;
}

/* The sections to inflate, into *out (*n of them). */
static int sections_wanted(Elf *elf, int fd, struct zsec **out, size_t *n)
{
	size_t shstrndx, cap = 0;
	Elf_Scn *scn = NULL;
	struct zsec s;

	*out = NULL;
	*n = 0;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!(s.hdr = section_wanted(elf, fd, shstrndx, scn, &s.sh, &s.ch)))
			continue;
		/*
		 * Deflate expands at most 1032 times: a larger size stated is a lie (fuzz_dwarf:
		 * 4 GB allocated for a 7 kB file). libelf refuses it the same way.
		 */
		if (s.ch.ch_size / INFLATE_MAX_RATIO > zsec_in(&s))
			continue;
		s.scn = scn;
		s.at = s.in_at = 0;
		if (ARRAY_RESERVE(*out, cap, *n + 1, 8))
			return -ENOMEM;
		(*out)[(*n)++] = s;
	}
	return 0;
}

/*
 * Where each section goes in one block, in their order, and the block's size (0: too
 * large). A section's compressed bytes are read just past its own place, into the places
 * of the sections inflated after it, so the pages they fault in are those the next
 * sections fill; larger inputs first, so only the last ones' reach past the places. Read
 * into buffers of their own, then freed, they faulted in as many pages again: a fifth of
 * the page faults of opening libc's debug file.
 */
static size_t inflate_plan(struct zsec *s, size_t n)
{
	size_t i, end = 0, size = 0, top;

	for (i = 0; i < n; i++) {
		s[i].at = end;
		if (__builtin_add_overflow(end, s[i].ch.ch_size, &end) ||
		    __builtin_add_overflow(end, INFLATE_ALIGN - 1, &end))
			return 0;
		end &= ~(size_t)(INFLATE_ALIGN - 1);
		s[i].in_at = end;
		if (__builtin_add_overflow(end, zsec_in(&s[i]), &top))
			return 0;
		if (top > size)
			size = top;
	}
	return size;
}

/* The compressed bytes of a section read into in and inflated into out; false when they
 * do not inflate to exactly the size stated. */
static bool section_inflated(struct libdeflate_decompressor *dec, int fd, const struct zsec *s,
			     void *in, void *out)
{
	size_t in_size = zsec_in(s);

	return pread(fd, in, in_size, (off_t)(s->sh.sh_offset + s->hdr)) == (ssize_t)in_size &&
	       libdeflate_zlib_decompress(dec, in, in_size, out, s->ch.ch_size, NULL) ==
		       LIBDEFLATE_SUCCESS;
}

/*
 * The inflated buffer becomes the section's data: the header says the section is not
 * compressed and empty while libelf makes its data (so it reads nothing from the file),
 * then gives the buffer's size.
 */
static int section_replace(Elf_Scn *scn, GElf_Shdr *sh, const GElf_Chdr *ch, void *out)
{
	Elf_Data *data;

	sh->sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
	sh->sh_size = 0;
	sh->sh_addralign = ch->ch_addralign ? ch->ch_addralign : 1;
	if (!gelf_update_shdr(scn, sh) || !(data = elf_getdata(scn, NULL)))
		return -EINVAL;
	data->d_buf = out;
	data->d_size = ch->ch_size;
	data->d_type = ELF_T_BYTE;
	data->d_align = sh->sh_addralign;
	sh->sh_size = ch->ch_size;
	gelf_update_shdr(scn, sh);
	return 0;
}

/* The sections s[0..n) inflated into block (laid out by inflate_plan()), which z holds once
 * one of them is. */
static int sections_fill(int fd, struct zsec *s, size_t n, char *block, struct inflated *z)
{
	struct libdeflate_decompressor *dec = libdeflate_alloc_decompressor();
	bool held = false;
	int err = 0;
	size_t i;

	if (!dec) {
		free(block);
		return -ENOMEM;
	}
	for (i = 0; i < n && !err; i++) {
		char *out = block + s[i].at;

		if (!section_inflated(dec, fd, &s[i], block + s[i].in_at, out))
			continue;
		if (!held && inflated__add(z, block))
			break;
		held = true;
		/* Its header changed, the section cannot be left to libelf any more. */
		err = section_replace(s[i].scn, &s[i].sh, &s[i].ch, out);
	}
	libdeflate_free_decompressor(dec);
	if (!held)
		free(block);
	return err;
}

int sections_inflate(Elf *elf, int fd, struct inflated *z)
{
	size_t n, size;
	struct zsec *s;
	char *block;
	int err;

	err = sections_wanted(elf, fd, &s, &n);
	if (err || !n) {
		free(s);
		return err;
	}
	qsort(s, n, sizeof(*s), zsec_cmp);
	size = inflate_plan(s, n);
	/* Too large a block is left to libelf, section by section. */
	block = size ? malloc(size) : NULL;
	if (block)
		err = sections_fill(fd, s, n, block, z);
	free(s);
	return err;
}

void inflated__free(struct inflated *z)
{
	size_t i;

	for (i = 0; i < z->n; i++)
		free(z->buf[i]);
	free(z->buf);
	*z = (struct inflated){0};
}
