// SPDX-License-Identifier: GPL-2.0
/*
 * Source lines and inline frames from DWARF, with elfutils' libdw: the file and line of an
 * address, and the chain of functions inlined there (DW_TAG_inlined_subroutine scopes),
 * as `addr2line -i` prints them. The ELF file is read through libelf with pread (never
 * mapped): debug files are untrusted input (docs/security.md), fuzzed by fuzz_dwarf.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "symbolize.h"
#include "symbolize-private.h"
#include "strset.h"

/* Nesting of inlined scopes and blocks followed under one function. */
#define MAX_SCOPE_DEPTH DIE_SCAN_MAX_DEPTH

/*
 * What a frame needs of an inlined scope, read once: its name, where it was called from,
 * and the nearest inlined scope it is in (-1: none; lexical blocks are skipped).
 */
struct scope_info {
	const char *name;
	const char *call_file;
	unsigned int call_line;
	bool mangled;
	int outer;
};

/* An inlined scope or block of a function while it is read: its DIE, its scope, depth. */
struct scope_node {
	Dwarf_Off die;
	int parent, depth;
};

struct scope_range {
	Dwarf_Addr lo, hi;
	int node;
};

/* From lo to the next span's lo, the innermost inlined scope is node (-1: none). */
struct scope_span {
	Dwarf_Addr lo;
	int node;
};

/* A row of a CU's line table (libdw's order), its file joined once. */
struct line_row {
	Dwarf_Addr addr;
	const char *file;
	unsigned int line;
	bool end;
};

/*
 * From a point's address to the next one's: the line and the innermost inlined scope, an
 * index into the file's scopes once in its table (during a function's build, into the
 * function's), or one of these; in the file's table, the symbol table's name too.
 */
struct fn_point {
	const char *file;
	unsigned int line;
	int node;
	const char *sym;
};

enum {
	POINT_NO_SCOPE = -1, /* no inlined scope */
	POINT_SEARCH = -2,   /* outside the indexed functions: libdw's search of the CU */
	POINT_END = -3,	     /* past the CU's code */
};

/*
 * The scopes and lines of one function range while its CU's run of the table is built:
 * its points are searched (point_at) at each address where the run may change.
 */
struct fn_scopes {
	struct scope_info *info; /* by node */
	struct scope_span *spans;
	size_t nspans;
	struct fn_point *points;
	size_t npoints;
	/* The points' offsets from base, and every POINTS_BLOCK-th of them. */
	Dwarf_Addr base;
	uint32_t *keys, *top;
	size_t ntop;
	size_t ninfo; /* scopes in info */
};

#define POINTS_BLOCK 16

/* Where a function's code is: one range of a DW_TAG_subprogram. */
struct fn_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
	struct fn_scopes *scopes; /* NULL: could not be read, libdw's search instead */
	size_t info_off;	  /* where its scopes start in the file's */
	long node;		  /* its function in the CU's scan, -1: walked with libdw */
};

/* A CU while its points are made: its functions by address and its line table. */
struct cu_read {
	struct fn_range *r;
	size_t nr;
	struct addr_index r_index; /* the functions' starts */
	struct line_row *lines;
	size_t nlines;
	struct die_scan scan; /* its functions and their scopes, when scanned */
	const char **files;   /* its line table's files joined, when dwarf-line.c read it */
	size_t nfiles;
	const struct cu_die *die; /* its DIE read by dwarf-scan.c, NULL: libdw reads it */
};

/* One compilation unit: its points in the file's table once looked in. */
struct cu_data {
	Dwarf_Off unit, die, unit_end; /* its header, its DIE, its end in .debug_info */
	bool built;
	uint32_t abbrev_hint; /* cu_die_in.hint for its DIE (0: none) */
	size_t first, end;    /* its points: [first, end) */
	long first_range;     /* its first range in cu_ranges, -1: none */
};

/* A range of a CU's code; next: the CU's next range (sorted by lo), -1: none. */
struct cu_range {
	Dwarf_Addr lo, hi;
	size_t cu;
	long next;
};

/*
 * Points whose offsets a slot of the directory holds itself: with them a slot is 32 bytes
 * (half a cache line), and 64 bytes of libc's code have at most 26 points (99.9% of its
 * slots; with 10, one in six needed a search of the table's keys, another miss).
 */
#define DIR_OFFS 26

/*
 * A slot of the directory: the points [first, first + n) of the one CU whose code the
 * slot's addresses are in; n == 0 when the slot is not filled (that CU not yet built, or
 * several CUs there). Up to DIR_OFFS points, their offsets from the slot's start (the
 * first one's 0 when it starts before), so a lookup reads the slot and its point only.
 */
struct dir_slot {
	uint32_t first;
	uint16_t n;
	uint8_t off[DIR_OFFS];
};
_Static_assert(DIR_OFFS >= 16 && DIR_OFFS < 32, "slot_count reads the offsets as 2 x 16 bytes");

/* Slots of the directory at most: a file's code span is cut into that many or fewer. */
#define DIR_MAX_SLOTS (1u << 17)
/* The smallest slot: 64 bytes of code; offsets in a slot fit a byte up to 256. */
#define DIR_MIN_SHIFT 6
#define DIR_OFF_SHIFT 8

struct sym_dwarf {
	struct strset *paths;	     /* source paths joined to their directory, each once */
	const struct elf_syms *syms; /* the file's symbols, NULL: none in the table */
	int fd;
	Elf *elf;
	Dwarf *dw;
	/* libdw's sections: .debug_info and .debug_abbrev for dwarf-scan.c, the others for
	 * dwarf-line.c */
	Elf_Data *info_sec, *abbrev_sec;
	Elf_Data *line_sec, *str_sec, *line_str_sec;
	Elf_Data *ranges_sec, *rnglists_sec; /* for dwarf-ranges.c */
	struct inflated inflated;	     /* elf's sections inflated before libdw read them */
	struct cu_range *cu_ranges;	     /* every CU's ranges, sorted */
	size_t ncu_ranges;
	struct addr_index cu_index; /* their starts */
	bool cu_ranges_built;
	struct cu_data *cus; /* in the order of the file */
	size_t ncus;
	/*
	 * The table: where the line or the inlined scope changes, sorted within each CU's
	 * run; each CU's run is made at its first lookup and ends at POINT_END points.
	 */
	uint64_t *keys;
	struct fn_point *points;
	size_t npoints, cap_points;
	struct scope_info *info; /* every built CU's inlined scopes */
	size_t ninfo, cap_info;
	/* The directory over the code span [dir_lo, dir_lo + (ndir << dir_shift)): an
	 * address's slot gives its few points, so most lookups are one short search. */
	struct dir_slot *dir;
	size_t ndir;
	Dwarf_Addr dir_lo;
	unsigned int dir_shift;
	size_t bytes;	    /* what it holds, roughly: sections read, libdw's tables, indexes */
	size_t lib_bytes;   /* of which libdw's: the sections and line tables, until shed */
	uint64_t lib_uses;  /* lookups that needed libdw (a unit built, a search) */
	size_t lines_bytes; /* of lib_bytes, libdw's line tables of the units built */
	/* Called before the sections are read, at the open and after a shed. */
	void (*room)(void *arg, size_t bytes);
	void *room_arg;
};

/* libdw's own record of one line row (Dwarf_Line and its share of the table), roughly. */
#define LIBDW_LINE_BYTES 48

static void fn_scopes__free(struct fn_scopes *f)
{
	if (!f)
		return;
	free(f->info);
	free(f->spans);
	free(f->points);
	free(f->keys);
	free(f->top);
	free(f);
}

/*
 * libdw reads the strings of .debug_str and .debug_line_str up to their NUL: a section
 * that does not end in one (a damaged or hostile debug file) would be read past its end.
 * Such a file's DWARF is not used.
 */
static bool strings_terminated(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strncmp(name, ".zdebug", 7)) {
			if (strcmp(name, ".zdebug_str") && strcmp(name, ".zdebug_line_str"))
				continue;
			if (elf_compress_gnu(scn, 0, 0) < 0)
				return false;
		} else if (strcmp(name, ".debug_str") && strcmp(name, ".debug_line_str")) {
			continue;
		} else if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0) {
			return false;
		}
		data = elf_getdata(scn, NULL);
		if (data && data->d_size &&
		    (!data->d_buf || ((const char *)data->d_buf)[data->d_size - 1]))
			return false;
	}
	return true;
}

/*
 * Location lists (where variables live) name no function or line: marked empty here, so
 * libdw neither reads nor inflates them (libc's debug file: 1.4 of its 10 MB, python's
 * libpython: 3.6 of 17 MB). Nor the address ranges' table: the CUs' ranges are read from
 * their DIEs (index_cus), libdw's lookups by address (dwarf_addrdie) are not used.
 * libdw skips SHT_NOBITS sections.
 */
static void skip_unused(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		/* ".debug_x" or ".zdebug_x"; an empty name (the table's last byte) is left */
		if (name[0] == '.')
			name += name[1] == 'z' ? 2 : 1;
		if (strcmp(name, "debug_loclists") && strcmp(name, "debug_loc") &&
		    strcmp(name, "debug_aranges"))
			continue;
		sh.sh_type = SHT_NOBITS;
		gelf_update_shdr(scn, &sh);
	}
}

/* What a section takes once read: compressed ones are kept uncompressed. */
static size_t section_size(Elf *elf, int fd, const GElf_Shdr *sh)
{
	GElf_Chdr ch;

	if ((sh->sh_flags & SHF_COMPRESSED) && section_chdr(elf, fd, sh, &ch) &&
	    ch.ch_size < SIZE_MAX)
		return ch.ch_size;
	return sh->sh_size;
}

/* The debug sections' sizes: libdw reads each of them into memory and keeps it. */
static size_t debug_sections_size(Elf *elf, int fd)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, n = 0;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (!strncmp(name, ".debug_", 7) || !strncmp(name, ".zdebug_", 8)))
			n += section_size(elf, fd, &sh);
	}
	return n;
}

/* The data of section .debug_NAME (or .zdebug_NAME), as libdw reads it; NULL if none. */
static Elf_Data *debug_section(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(n = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strncmp(n, ".debug_", 7) ? !strcmp(n + 7, name)
					      : !strncmp(n, ".zdebug_", 8) && !strcmp(n + 8, name))
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

struct sym_dwarf *sym_dwarf__open(int fd)
{
	return sym_dwarf__open_room(fd, NULL, NULL);
}

/*
 * libdw on the file: its sections read (room made for them first: only the headers are
 * read before). -1 when the file has no usable DWARF (any more).
 */
static int lib_open(struct sym_dwarf *d)
{
	size_t size;

	d->lib_uses++;
	if (d->dw)
		return 0;
	d->elf = sym_elf__read(d->fd);
	if (!d->elf)
		return -1;
	skip_unused(d->elf);
	size = debug_sections_size(d->elf, d->fd);
	if (d->room)
		d->room(d->room_arg, size);
	d->dw = !sections_inflate(d->elf, d->fd, &d->inflated) && strings_terminated(d->elf)
			? dwarf_begin_elf(d->elf, DWARF_C_READ, NULL)
			: NULL;
	if (!d->dw) {
		elf_end(d->elf);
		d->elf = NULL;
		inflated__free(&d->inflated);
		return -1;
	}
	d->info_sec = debug_section(d->elf, "info");
	d->abbrev_sec = debug_section(d->elf, "abbrev");
	d->line_sec = debug_section(d->elf, "line");
	d->str_sec = debug_section(d->elf, "str");
	d->line_str_sec = debug_section(d->elf, "line_str");
	d->ranges_sec = debug_section(d->elf, "ranges");
	d->rnglists_sec = debug_section(d->elf, "rnglists");
	d->lib_bytes = size;
	d->bytes += size;
	return 0;
}

struct sym_dwarf *sym_dwarf__open_room(int fd, void (*room)(void *arg, size_t bytes), void *arg)
{
	struct sym_dwarf *d = calloc(1, sizeof(*d));

	if (!d) {
		close(fd);
		return NULL;
	}
	d->fd = fd;
	d->room = room;
	d->room_arg = arg;
	d->bytes = sizeof(*d);
	if (lib_open(d) || !(d->paths = strset__new())) {
		sym_dwarf__free(d);
		return NULL;
	}
	return d;
}

size_t sym_dwarf__lib_bytes(const struct sym_dwarf *d)
{
	return d ? d->lib_bytes : 0;
}

uint64_t sym_dwarf__lib_uses(const struct sym_dwarf *d)
{
	return d ? d->lib_uses : 0;
}

size_t sym_dwarf__lines_bytes(const struct sym_dwarf *d)
{
	return d ? d->lines_bytes : 0;
}

static size_t table_bytes(const struct sym_dwarf *d);

size_t sym_dwarf__trim(struct sym_dwarf *d)
{
	size_t before, n;
	void *p;

	if (!d || (d->cap_points == d->npoints && d->cap_info == d->ninfo))
		return 0;
	before = table_bytes(d);
	n = d->npoints ? d->npoints : 1;
	/* Shrinking keeps the first n of each; one that fails stays larger. */
	if (d->npoints < d->cap_points && (p = realloc(d->keys, n * sizeof(*d->keys)))) {
		d->keys = p;
		if ((p = realloc(d->points, n * sizeof(*d->points))))
			d->points = p;
		d->cap_points = d->npoints;
	}
	n = d->ninfo ? d->ninfo : 1;
	if (d->ninfo < d->cap_info && (p = realloc(d->info, n * sizeof(*d->info)))) {
		d->info = p;
		d->cap_info = d->ninfo;
	}
	d->bytes -= before - table_bytes(d);
	return before - table_bytes(d);
}

size_t sym_dwarf__shed(struct sym_dwarf *d)
{
	size_t freed;

	if (!d || !d->dw)
		return 0;
	dwarf_end(d->dw);
	elf_end(d->elf);
	inflated__free(&d->inflated);
	d->dw = NULL;
	d->elf = NULL;
	d->info_sec = d->abbrev_sec = d->line_sec = d->str_sec = d->line_str_sec = NULL;
	d->ranges_sec = d->rnglists_sec = NULL;
	freed = d->lib_bytes;
	d->bytes -= freed;
	d->lib_bytes = 0;
	d->lines_bytes = 0;
	return freed;
}

size_t sym_dwarf__bytes(const struct sym_dwarf *d)
{
	return d ? d->bytes : 0;
}

/* Everything but the fd. */
static void sym_dwarf__release(struct sym_dwarf *d)
{
	strset__free(d->paths);
	if (d->dw)
		dwarf_end(d->dw);
	if (d->elf)
		elf_end(d->elf);
	inflated__free(&d->inflated);
	free(d->keys);
	free(d->points);
	free(d->info);
	free(d->dir);
	free(d->cus);
	free(d->cu_ranges);
	addr_index__free(&d->cu_index);
	free(d);
}

void sym_dwarf__free(struct sym_dwarf *d)
{
	if (!d)
		return;
	close(d->fd);
	sym_dwarf__release(d);
}

int sym_dwarf__drop(struct sym_dwarf *d)
{
	int fd;

	if (!d)
		return -1;
	fd = d->fd;
	sym_dwarf__release(d);
	return fd;
}

/* Grow *p (elements of size sz) to hold one more than *n. */
static int grow(void *p, size_t *cap, size_t n, size_t sz)
{
	void *q;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	q = realloc(*(void **)p, c * sz);
	if (!q)
		return -ENOMEM;
	*(void **)p = q;
	*cap = c;
	return 0;
}

static int cu_range_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Each CU's ranges in address order: its first, and each one's next. */
static void cu_ranges_link(struct sym_dwarf *d)
{
	size_t i;

	for (i = 0; i < d->ncus; i++)
		d->cus[i].first_range = -1;
	for (i = d->ncu_ranges; i-- > 0;) {
		struct cu_data *c = &d->cus[d->cu_ranges[i].cu];

		d->cu_ranges[i].next = c->first_range;
		c->first_range = (long)i;
	}
}

/* The directory over the code of every CU: slots of 64 bytes, larger for a large span. */
static int dir_alloc(struct sym_dwarf *d)
{
	Dwarf_Addr lo = UINT64_MAX, hi = 0, span;
	size_t i;

	for (i = 0; i < d->ncu_ranges; i++) {
		lo = d->cu_ranges[i].lo < lo ? d->cu_ranges[i].lo : lo;
		hi = d->cu_ranges[i].hi > hi ? d->cu_ranges[i].hi : hi;
	}
	if (hi <= lo)
		return 0;
	span = hi - lo;
	d->dir_lo = lo;
	d->dir_shift = DIR_MIN_SHIFT;
	while (d->dir_shift < 63 && (span >> d->dir_shift) >= DIR_MAX_SLOTS)
		d->dir_shift++;
	d->ndir = (size_t)(span >> d->dir_shift) + 1;
	d->dir = calloc(d->ndir, sizeof(*d->dir));
	if (!d->dir)
		return -ENOMEM;
	d->bytes += d->ndir * sizeof(*d->dir);
	return 0;
}

/* A section's bytes and size (none: NULL, 0). */
static const uint8_t *sec_bytes(const Elf_Data *sec, size_t *size)
{
	*size = sec && sec->d_buf ? sec->d_size : 0;
	return *size ? sec->d_buf : NULL;
}

struct cu_ranges_add {
	struct sym_dwarf *d;
	size_t *cap;
};

/* One range of the CU being indexed (d->ncus). */
static int cu_range_add(void *arg, uint64_t lo, uint64_t hi)
{
	struct cu_ranges_add *a = arg;
	struct sym_dwarf *d = a->d;

	if (grow(&d->cu_ranges, a->cap, d->ncu_ranges, sizeof(*d->cu_ranges)))
		return -ENOMEM;
	d->cu_ranges[d->ncu_ranges++] = (struct cu_range){lo, hi, d->ncus, -1};
	return 0;
}

/*
 * The CU's DW_AT_ranges read by dwarf-ranges.c when it is an offset in a plain unit:
 * -EINVAL (nothing added) for libdw to read it, -ENOMEM.
 */
static int cu_ranges_own(struct sym_dwarf *d, Dwarf_Die *cu, Dwarf_Half version, uint8_t unit_type,
			 uint8_t addr_size, struct cu_ranges_add *a)
{
	Dwarf_Attribute attr, *at = dwarf_attr(cu, DW_AT_ranges, &attr);
	Elf_Data *sec = version >= 5 ? d->rnglists_sec : d->ranges_sec;
	size_t before = d->ncu_ranges, size;
	const uint8_t *bytes = sec_bytes(sec, &size);
	Dwarf_Addr base = 0;
	Dwarf_Word roff;
	int n;

	if (!at || (unit_type != DW_UT_compile && unit_type != DW_UT_partial) ||
	    (dwarf_whatform(at) != DW_FORM_sec_offset && dwarf_whatform(at) != DW_FORM_data4) ||
	    dwarf_formudata(at, &roff) || dwarf_hasattr(cu, DW_AT_GNU_dwo_id) ||
	    (dwarf_hasattr(cu, DW_AT_low_pc) && dwarf_lowpc(cu, &base)))
		return -EINVAL;
	n = dwarf_ranges__read(bytes, size, roff, version >= 5, addr_size, base, cu_range_add, a);
	if (n == -EINVAL)
		d->ncu_ranges = before;
	return n < 0 ? n : 0;
}

/* The CU's ranges: its own reading of DW_AT_ranges, else libdw's. */
static int cu_ranges_read(struct sym_dwarf *d, Dwarf_Die *cu, Dwarf_Half version, uint8_t unit_type,
			  uint8_t addr_size, struct cu_ranges_add *a)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t roff = 0;
	int err = cu_ranges_own(d, cu, version, unit_type, addr_size, a);

	if (err != -EINVAL)
		return err;
	while ((roff = dwarf_ranges(cu, roff, &base, &lo, &hi)) > 0)
		if (cu_range_add(a, lo, hi))
			return -ENOMEM;
	return 0;
}

/*
 * The unit at unit's own DIE read by dwarf-scan.c (die: where libdw says it is); -EINVAL
 * when it is not read so, for libdw to read.
 */
static int cu_die_of(const struct sym_dwarf *d, Dwarf_Off unit, Dwarf_Off die, uint32_t hint,
		     struct cu_die *k)
{
	struct cu_die_in in = {.unit_off = unit, .hint = hint};

	in.info = sec_bytes(d->info_sec, &in.info_size);
	in.abbrev = sec_bytes(d->abbrev_sec, &in.abbrev_size);
	in.str = sec_bytes(d->str_sec, &in.str_size);
	in.line_str = sec_bytes(d->line_str_sec, &in.line_str_size);
	if (!in.info || !in.abbrev || cu_die__read(k, &in) || k->die_off != die)
		return -EINVAL;
	return 0;
}

/*
 * The CU's ranges from its DIE as dwarf-scan.c read it, as cu_ranges_read reads them
 * (DW_AT_ranges by dwarf-ranges.c, else one low_pc/high_pc pair); -EINVAL (nothing added)
 * for libdw to read them, -ENOMEM.
 */
static int cu_ranges_scanned(struct sym_dwarf *d, const struct cu_die *k, struct cu_ranges_add *a)
{
	Elf_Data *sec = k->version >= 5 ? d->rnglists_sec : d->ranges_sec;
	size_t before = d->ncu_ranges, size;
	const uint8_t *bytes;
	int n;

	if ((k->unread & CU_UNREAD_PC) || k->dwo)
		return -EINVAL;
	if (!k->has_ranges)
		return k->has_low_pc && k->has_high_pc ? cu_range_add(a, k->low_pc, k->high_pc)
		       : k->has_low_pc		       ? -EINVAL
						       : 0;
	bytes = sec_bytes(sec, &size);
	n = dwarf_ranges__read(bytes, size, k->ranges, k->version >= 5, k->addr_size,
			       k->has_low_pc ? k->low_pc : 0, cu_range_add, a);
	if (n == -EINVAL)
		d->ncu_ranges = before;
	return n < 0 ? n : 0;
}

/* A unit's header as dwarf_next_unit reads it. */
struct unit_head {
	Dwarf_Off off, next;
	size_t hsize;
	Dwarf_Half version;
	uint8_t addr_size;
};

/* One unit of index_cus: its ranges, read from its DIE without libdw when it can be. */
static int index_cu(struct sym_dwarf *d, const struct unit_head *h, size_t *cucap,
		    struct cu_ranges_add *a)
{
	Dwarf_Off off = h->off, next = h->next;
	size_t hsize = h->hsize;
	uint8_t unit_type;
	uint32_t hint = 0;
	struct cu_die k;
	Dwarf_Die cu;
	int err = -EINVAL;

	if (!cu_die_of(d, off, off + hsize, 0, &k)) {
		err = cu_ranges_scanned(d, &k, a);
		hint = k.found < UINT32_MAX ? (uint32_t)k.found + 1 : 0;
	}
	if (err == -EINVAL && !dwarf_offdie(d->dw, off + hsize, &cu))
		return 0;
	if (err == -EINVAL) {
		if (dwarf_cu_info(cu.cu, NULL, &unit_type, NULL, NULL, NULL, NULL, NULL))
			unit_type = 0;
		err = cu_ranges_read(d, &cu, h->version, unit_type, h->addr_size, a);
	}
	if (err || grow(&d->cus, cucap, d->ncus, sizeof(*d->cus)))
		return -ENOMEM;
	d->cus[d->ncus++] = (struct cu_data){
		.unit = off, .die = off + hsize, .unit_end = next, .abbrev_hint = hint};
	return 0;
}

/* The ranges of every CU, sorted: one pass over the CU headers at the first lookup. */
static int index_cus(struct sym_dwarf *d)
{
	struct unit_head h = {0};
	size_t cap = 0, cucap = 0, i;
	struct cu_ranges_add a = {d, &cap};

	d->cu_ranges_built = true;
	while (!dwarf_next_unit(d->dw, h.off, &h.next, &h.hsize, &h.version, NULL, &h.addr_size,
				NULL, NULL, NULL)) {
		if (index_cu(d, &h, &cucap, &a))
			return -ENOMEM;
		h.off = h.next;
	}
	if (d->ncu_ranges)
		qsort(d->cu_ranges, d->ncu_ranges, sizeof(*d->cu_ranges), cu_range_cmp);
	if (addr_index__alloc(&d->cu_index, d->ncu_ranges))
		return -ENOMEM;
	d->bytes += cucap * sizeof(*d->cus) + cap * sizeof(*d->cu_ranges) +
		    d->ncu_ranges * sizeof(uint64_t) * 2;
	cu_ranges_link(d);
	for (i = 0; i < d->ncu_ranges; i++)
		d->cu_index.keys[i] = d->cu_ranges[i].lo;
	return addr_index__build(&d->cu_index) || dir_alloc(d) ? -ENOMEM : 0;
}

/* The compilation unit holding pc, through the index of CU ranges. */
static struct cu_data *find_cu(struct sym_dwarf *d, Dwarf_Addr pc)
{
	size_t i, back;
	long lo;

	if (!d->cu_ranges_built && (lib_open(d) || index_cus(d)))
		return NULL;
	lo = addr_index__find(&d->cu_index, pc);
	if (lo < 0)
		return NULL;
	/* CU ranges rarely overlap; a few entries back covers those that do. */
	for (i = lo + 1, back = 0; i-- > 0 && back < 8; back++)
		if (pc >= d->cu_ranges[i].lo && pc < d->cu_ranges[i].hi)
			return &d->cus[d->cu_ranges[i].cu];
	return NULL;
}

/* The CU's compilation directory, NULL when it has none. */
static const char *comp_dir(Dwarf_Die *cu)
{
	Dwarf_Attribute attr;
	const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));

	return dir && *dir ? dir : NULL;
}

/* comp_dir() from the CU's DIE as dwarf-scan.c read it, when it did. */
static const char *cu_comp_dir(const struct cu_read *c, Dwarf_Die *cu)
{
	if (!c->die || (c->die->unread & CU_UNREAD_COMP_DIR))
		return comp_dir(cu);
	return c->die->comp_dir && *c->die->comp_dir ? c->die->comp_dir : NULL;
}

/*
 * The table's own copy of a string of libdw's (a name, a path): the table outlives libdw
 * (sym_dwarf__shed). NULL stays NULL, and without memory the string is not named.
 */
static const char *keep_str(struct sym_dwarf *d, const char *s, size_t len)
{
	size_t before = strset__count(d->paths);
	const char *kept = s ? strset__intern(d->paths, s, len) : NULL;

	/* the copy and the set's entry for it, roughly */
	if (strset__count(d->paths) > before)
		d->bytes += len + 1 + 32;
	return kept;
}

/*
 * A relative source path under the CU's compilation directory, as addr2line prints it
 * (not normalized: "/build/dir/../src/x.c"), kept once per file whichever CUs name it.
 * NULL stays NULL; absolute paths are kept as they are.
 */
static const char *full_path(struct sym_dwarf *d, const char *dir, const char *name)
{
	char stack[1024], *buf;
	const char *path;
	size_t ld, ln;

	if (!name || name[0] == '/' || !dir)
		return keep_str(d, name, name ? strlen(name) : 0);
	ld = strlen(dir);
	ln = strlen(name);
	buf = ld + ln + 1 <= sizeof(stack) ? stack : malloc(ld + ln + 1);
	if (!buf)
		return NULL;
	memcpy(buf, dir, ld);
	buf[ld] = '/';
	memcpy(buf + ld + 1, name, ln);
	path = keep_str(d, buf, ld + 1 + ln);
	if (buf != stack)
		free(buf);
	return path;
}

static int fn_range_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The ranges of a concrete function (declarations have none). */
static int fn_range_add(struct cu_read *c, size_t *cap, Dwarf_Addr lo, Dwarf_Addr hi, Dwarf_Off die,
			long node)
{
	if (grow(&c->r, cap, c->nr, sizeof(*c->r)))
		return -ENOMEM;
	c->r[c->nr++] = (struct fn_range){lo, hi, die, NULL, 0, node};
	return 0;
}

static int index_function(struct cu_read *c, size_t *cap, Dwarf_Die *die, long node)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0)
		if (fn_range_add(c, cap, lo, hi, dwarf_dieoffset(die), node))
			return -ENOMEM;
	return 0;
}

/*
 * C has no functions inside types: its structures and unions are not walked (libc's CUs
 * hold thousands of them, a third of the walk of their top-level DIEs).
 */
static bool cu_is_c(const struct cu_read *c, Dwarf_Die *cu)
{
	int lang = !c->die || (c->die->unread & CU_UNREAD_LANGUAGE) ? dwarf_srclang(cu)
		   : c->die->has_language			    ? (int)c->die->language
								    : -1;

	switch (lang) {
	case DW_LANG_C89:
	case DW_LANG_C:
	case DW_LANG_C99:
	case DW_LANG_C11:
	case 0x2c: /* DW_LANG_C17 (DWARF 6), newer than some dwarf.h */
		return true;
	}
	return false;
}

/* Functions at the top of a CU and inside namespaces and classes (C++). */
static int index_children(struct cu_read *c, size_t *cap, Dwarf_Die *parent, int depth, bool c_lang)
{
	Dwarf_Die ch;
	int err = 0;

	if (depth > 16 || dwarf_child(parent, &ch))
		return 0;
	do {
		switch (dwarf_tag(&ch)) {
		case DW_TAG_subprogram:
			err = index_function(c, cap, &ch, -1);
			break;
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			if (c_lang)
				break;
			/* fall through */
		case DW_TAG_namespace:
		case DW_TAG_module:
			err = index_children(c, cap, &ch, depth + 1, c_lang);
			break;
		}
	} while (!err && dwarf_siblingof(&ch, &ch) == 0);
	return err;
}

/*
 * The CU's functions from dwarf-scan.c's pass over its bytes (their scopes then come from
 * it too); 1 when it cannot read the CU so.
 */
static int index_scanned(struct sym_dwarf *d, const struct cu_data *cd, struct cu_read *t,
			 size_t *cap, Dwarf_Die *cu)
{
	struct die_scan_unit u;
	Dwarf_Half version;
	Dwarf_Off abbrev_off;
	uint8_t addr_size, off_size;
	Dwarf_Die die;
	size_t i;
	int err;

	if (!d->info_sec || !d->abbrev_sec || !d->info_sec->d_buf || !d->abbrev_sec->d_buf ||
	    cd->die >= d->info_sec->d_size)
		return 1;
	if (t->die) {
		version = (Dwarf_Half)t->die->version;
		abbrev_off = t->die->abbrev_off;
		addr_size = (uint8_t)t->die->addr_size;
		off_size = (uint8_t)t->die->off_size;
	} else if (!cu->cu || cu->addr != (char *)d->info_sec->d_buf + cd->die ||
		   !dwarf_cu_die(cu->cu, &die, &version, &abbrev_off, &addr_size, &off_size, NULL,
				 NULL)) {
		return 1;
	}
	u = (struct die_scan_unit){d->info_sec->d_buf,
				   d->abbrev_sec->d_buf,
				   d->info_sec->d_size,
				   d->abbrev_sec->d_size,
				   cd->unit,
				   cd->die,
				   cd->unit_end < d->info_sec->d_size ? cd->unit_end
								      : d->info_sec->d_size,
				   abbrev_off,
				   addr_size,
				   off_size,
				   version,
				   cu_is_c(t, cu)};
	u.str = sec_bytes(d->str_sec, &u.str_size);
	u.line_str = sec_bytes(d->line_str_sec, &u.line_str_size);
	err = die_scan__unit(&t->scan, &u);
	for (i = 0; !err && i < t->scan.n; i++) {
		const struct die_node *n = &t->scan.nodes[i];

		if (n->parent >= 0)
			continue;
		if (n->pc)
			err = fn_range_add(t, cap, n->lo, n->hi, n->off, (long)i);
		else
			err = dwarf_offdie(d->dw, n->off, &die)
				      ? index_function(t, cap, &die, (long)i)
				      : -EINVAL;
	}
	if (err == -ENOMEM)
		return err;
	if (err) {
		t->nr = 0;
		die_scan__free(&t->scan);
		return 1;
	}
	return 0;
}

/* The CU's functions: scanned, else walked with libdw. */
static int index_functions(struct sym_dwarf *d, const struct cu_data *cd, struct cu_read *t,
			   size_t *cap, Dwarf_Die *cu)
{
	int err = index_scanned(d, cd, t, cap, cu);

	return err <= 0 ? err : index_children(t, cap, cu, 0, cu_is_c(t, cu));
}

/* line_program_of() from the CU's DIE as dwarf-scan.c read it. */
static bool line_program_scanned(struct sym_dwarf *d, const struct cu_die *k,
				 struct line_program *p)
{
	if (!k->has_stmt_list)
		return false;
	p->line = sec_bytes(d->line_sec, &p->size);
	p->str = sec_bytes(d->str_sec, &p->str_size);
	p->line_str = sec_bytes(d->line_str_sec, &p->line_str_size);
	p->off = k->stmt_list;
	p->addr_size = k->addr_size;
	p->comp_dir = k->comp_dir;
	return p->line != NULL;
}

/* Where the CU's line program is, for dwarf-line.c; false when it has none it reads. */
static bool line_program_of(struct sym_dwarf *d, const struct cu_read *c, Dwarf_Die *cu,
			    struct line_program *p)
{
	Dwarf_Attribute attr, *a;
	uint8_t unit_type = 0, addr_size = 0, off_size;
	Dwarf_Half version;
	Dwarf_Off abbrev_off;
	Dwarf_Word off;
	Dwarf_Die die;

	if (c->die && !(c->die->unread & (CU_UNREAD_STMT_LIST | CU_UNREAD_COMP_DIR)) &&
	    !c->die->dwo)
		return line_program_scanned(d, c->die, p);
	a = dwarf_attr(cu, DW_AT_stmt_list, &attr);
	if (!a ||
	    (dwarf_whatform(a) != DW_FORM_sec_offset && dwarf_whatform(a) != DW_FORM_data4 &&
	     dwarf_whatform(a) != DW_FORM_data8) ||
	    dwarf_formudata(a, &off) || !cu->cu ||
	    dwarf_cu_info(cu->cu, NULL, &unit_type, NULL, NULL, NULL, NULL, NULL) ||
	    (unit_type != DW_UT_compile && unit_type != DW_UT_partial) ||
	    !dwarf_cu_die(cu->cu, &die, &version, &abbrev_off, &addr_size, &off_size, NULL, NULL))
		return false;
	p->line = sec_bytes(d->line_sec, &p->size);
	p->str = sec_bytes(d->str_sec, &p->str_size);
	p->line_str = sec_bytes(d->line_str_sec, &p->line_str_size);
	p->off = off;
	p->addr_size = addr_size;
	p->comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	return p->line != NULL;
}

/*
 * The CU's line table decoded by dwarf-line.c, each file joined once; 1 when it cannot
 * read it (libdw does then).
 */
static int lines_decoded(struct sym_dwarf *d, struct cu_read *c, Dwarf_Die *cu)
{
	const char *dir = cu_comp_dir(c, cu), **joined;
	struct line_program p;
	struct line_rows t;
	size_t i;
	int err;

	if (!line_program_of(d, c, cu, &p))
		return 1;
	err = line_rows__read(&t, &p);
	if (err)
		return err == -ENOMEM ? err : 1;
	joined = calloc(t.nfiles ? t.nfiles : 1, sizeof(*joined));
	c->lines = malloc((t.n ? t.n : 1) * sizeof(*c->lines));
	if (!joined || !c->lines) {
		free(joined);
		line_rows__free(&t);
		return -ENOMEM;
	}
	for (i = 0; i < t.nfiles; i++)
		joined[i] = full_path(d, dir, t.files[i]);
	for (i = 0; i < t.n; i++) {
		const struct line_rec *r = &t.rows[i];

		c->lines[i] =
			(struct line_row){r->addr, r->file < t.nfiles ? joined[r->file] : NULL,
					  r->line > 0 ? (unsigned int)r->line : 0, r->end};
	}
	c->nlines = t.n;
	c->files = joined;
	c->nfiles = t.nfiles;
	line_rows__free(&t);
	return 0;
}

/*
 * The CU's line table as libdw sorts it, each row's file joined once: a lookup is then
 * dwarf_getsrc_die's binary search over rows a quarter of the size.
 */
static int index_lines(struct sym_dwarf *d, struct cu_read *c, Dwarf_Die *cu)
{
	const char *dir = cu_comp_dir(c, cu), *last = NULL, *joined = NULL;
	Dwarf_Lines *lines;
	size_t n, i;
	int err = lines_decoded(d, c, cu);

	if (err <= 0)
		return err;
	if (dwarf_getsrclines(cu, &lines, &n) || !n)
		return 0;
	c->lines = malloc(n * sizeof(*c->lines));
	if (!c->lines)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		struct line_row *row = &c->lines[c->nlines];
		const char *name;
		int lineno = 0;

		if (!l || dwarf_lineaddr(l, &row->addr) || dwarf_lineendsequence(l, &row->end))
			continue;
		dwarf_lineno(l, &lineno);
		row->line = lineno > 0 ? (unsigned int)lineno : 0;
		name = dwarf_linesrc(l, NULL, NULL);
		if (name != last) {
			last = name;
			joined = full_path(d, dir, name);
		}
		row->file = joined;
		c->nlines++;
	}
	d->bytes += n * LIBDW_LINE_BYTES;
	d->lib_bytes += n * LIBDW_LINE_BYTES;
	d->lines_bytes += n * LIBDW_LINE_BYTES;
	return 0;
}

/* The line row of pc: the last row at or before it, unless that ends a sequence (as
 * libdw's dwarf_getsrc_die picks it). */
static const struct line_row *line_at(const struct cu_read *c, Dwarf_Addr pc)
{
	size_t l = 0, u;

	if (!c->nlines)
		return NULL;
	u = c->nlines - 1;
	while (l < u) {
		size_t idx = u - (u - l) / 2;

		if (pc < c->lines[idx].addr)
			u = idx - 1;
		else
			l = idx;
	}
	return !c->lines[l].end && c->lines[l].addr <= pc ? &c->lines[l] : NULL;
}

/* The function range that holds pc, through the CU's index; NULL if none. */
static const struct fn_range *function_at(const struct cu_read *c, Dwarf_Addr pc)
{
	size_t i, back;
	long lo = addr_index__find(&c->r_index, pc);

	if (lo < 0)
		return NULL;
	/* Ranges of functions do not nest; a few entries back covers odd overlaps. */
	for (i = lo + 1, back = 0; i-- > 0 && back < 8; back++)
		if (pc >= c->r[i].lo && pc < c->r[i].hi)
			return &c->r[i];
	return NULL;
}

/* An inlined function's name: its linkage name (to demangle) if any, else its name. */
static const char *inline_name(Dwarf_Die *die, bool *mangled)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	*mangled = name != NULL;
	if (!name)
		name = dwarf_diename(die);
	return name;
}

/* An inlined scope's call file: index idx of the unit's line table files. */
static const char *call_file(struct sym_dwarf *d, Dwarf_Die *cu, const struct cu_read *c,
			     Dwarf_Word idx)
{
	Dwarf_Files *files;
	size_t nfiles;

	/* The files of the line table read (with dwarf-line.c), else libdw's. */
	if (c && c->files)
		return idx < c->nfiles ? c->files[idx] : NULL;
	if (dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles)
		return full_path(d, comp_dir(cu), dwarf_filesrc(files, idx, NULL, NULL));
	return NULL;
}

/*
 * An inlined scope as a frame needs it: its name, its DW_AT_call_file and DW_AT_call_line
 * (from the scan's node n when it read them, else from libdw).
 */
static void scope_read(struct sym_dwarf *d, Dwarf_Die *cu, const struct cu_read *c,
		       Dwarf_Die *scope, const struct die_node *n, struct scope_info *out)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx = 0, ln = 0;
	Dwarf_Die origin;

	if (n && n->named) {
		out->name = n->name;
		out->mangled = n->mangled;
	} else if (n && n->origin && dwarf_offdie(d->dw, n->origin, &origin)) {
		out->name = inline_name(&origin, &out->mangled);
	} else {
		out->name = inline_name(scope, &out->mangled);
	}
	out->name = keep_str(d, out->name, out->name ? strlen(out->name) : 0);
	out->call_file = NULL;
	out->call_line = 0;
	if (n && n->call) {
		out->call_line = (unsigned int)n->call_line;
		if (n->has_file)
			out->call_file = call_file(d, cu, c, n->call_file);
		return;
	}
	if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attr), &ln) == 0)
		out->call_line = (unsigned int)ln;
	if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attr), &idx) == 0)
		out->call_file = call_file(d, cu, c, idx);
}

/* A function's scopes while they are read. */
struct scope_build {
	struct scope_node *nodes;
	struct scope_range *ranges;
	bool *inlined;
	size_t nnodes, nranges, cap_nodes, cap_ranges, cap_inlined;
};

/* A scope's node (its ranges to add next); its number, -1 without memory. */
static int scope_node_add(struct scope_build *f, Dwarf_Off die, bool inlined, int parent, int depth)
{
	if (grow(&f->nodes, &f->cap_nodes, f->nnodes, sizeof(*f->nodes)) ||
	    grow(&f->inlined, &f->cap_inlined, f->nnodes, sizeof(*f->inlined)))
		return -1;
	f->inlined[f->nnodes] = inlined;
	f->nodes[f->nnodes] = (struct scope_node){die, parent, depth};
	return (int)f->nnodes++;
}

/* A range of node's code (an empty one is left out). */
static int scope_range_add(struct scope_build *f, int node, Dwarf_Addr lo, Dwarf_Addr hi)
{
	if (hi <= lo)
		return 0;
	if (grow(&f->ranges, &f->cap_ranges, f->nranges, sizeof(*f->ranges)))
		return -1;
	f->ranges[f->nranges++] = (struct scope_range){lo, hi, node};
	return 0;
}

static int scope_add(struct scope_build *f, Dwarf_Die *die, int parent, int depth)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	int node = scope_node_add(f, dwarf_dieoffset(die),
				  dwarf_tag(die) == DW_TAG_inlined_subroutine, parent, depth);

	if (node < 0)
		return -1;
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0)
		if (scope_range_add(f, node, lo, hi))
			return -1;
	return node;
}

/* Every inlined scope and block under die, with the scope each is in. */
static int scope_walk(struct scope_build *f, Dwarf_Die *die, int parent, int depth)
{
	Dwarf_Die c;
	int tag, node;

	if (depth >= MAX_SCOPE_DEPTH || dwarf_child(die, &c))
		return 0;
	do {
		tag = dwarf_tag(&c);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block)
			continue;
		node = scope_add(f, &c, parent, depth);
		if (node < 0 || scope_walk(f, &c, node, depth + 1))
			return -1;
	} while (dwarf_siblingof(&c, &c) == 0);
	return 0;
}

/* The scopes of the function at node of the CU's scan (in its order, as scope_walk). */
/* What dwarf-ranges.c needs of a CU to read its scopes' range lists (ok: known). */
struct scope_unit {
	const uint8_t *sec;
	size_t size;
	Dwarf_Addr base;
	uint8_t addr_size;
	bool rnglists, ok, tried;
	const struct cu_die *die; /* the CU's DIE read by dwarf-scan.c, NULL: libdw reads it */
};

static void scope_unit_of(struct sym_dwarf *d, Dwarf_Die *cu, struct scope_unit *u)
{
	uint8_t unit_type;
	Dwarf_Half version;
	Dwarf_Die top;

	u->tried = true;
	if (u->die && !(u->die->unread & CU_UNREAD_PC) && !u->die->dwo) {
		/* unit types other than compile and partial are not read by dwarf-scan.c */
		u->base = u->die->has_low_pc ? u->die->low_pc : 0;
		u->addr_size = (uint8_t)u->die->addr_size;
		version = (Dwarf_Half)u->die->version;
	} else if (!dwarf_cu_die(cu->cu, &top, &version, NULL, &u->addr_size, NULL, NULL, NULL) ||
		   dwarf_cu_info(cu->cu, NULL, &unit_type, NULL, NULL, NULL, NULL, NULL) ||
		   (unit_type != DW_UT_compile && unit_type != DW_UT_partial) ||
		   (dwarf_hasattr(cu, DW_AT_low_pc) && dwarf_lowpc(cu, &u->base))) {
		return;
	}
	u->rnglists = version >= 5;
	u->sec = sec_bytes(u->rnglists ? d->rnglists_sec : d->ranges_sec, &u->size);
	u->ok = true;
}

struct scope_ranges_add {
	struct scope_build *f;
	int node;
};

static int scope_range_keep(void *arg, uint64_t lo, uint64_t hi)
{
	struct scope_ranges_add *a = arg;

	return scope_range_add(a->f, a->node, lo, hi);
}

/*
 * A scanned scope's DW_AT_ranges read by dwarf-ranges.c, from the CU's base address:
 * 0 the node added, -EINVAL (nothing added) for libdw to read it, -1 without memory.
 */
static int scope_ranges_own(struct sym_dwarf *d, Dwarf_Die *cu, struct scope_unit *u,
			    struct scope_build *f, const struct die_node *n, int parent)
{
	size_t nodes = f->nnodes, ranges = f->nranges;
	struct scope_ranges_add a = {f, 0};
	int r;

	if (!n->ranges)
		return -EINVAL;
	if (!u->tried)
		scope_unit_of(d, cu, u);
	if (!u->ok)
		return -EINVAL;
	a.node = scope_node_add(f, n->off, n->tag == DW_TAG_inlined_subroutine, parent, n->depth);
	if (a.node < 0)
		return -1;
	r = dwarf_ranges__read(u->sec, u->size, n->ranges - 1, u->rnglists, u->addr_size, u->base,
			       scope_range_keep, &a);
	if (r == -EINVAL) {
		f->nnodes = nodes;
		f->nranges = ranges;
	}
	return r < 0 ? r : 0;
}

static int scope_scanned(struct sym_dwarf *d, Dwarf_Die *cu, struct scope_build *f,
			 const struct cu_read *c, size_t node)
{
	struct scope_unit u = {.tried = false, .die = c->die};
	const struct die_scan *s = &c->scan;
	size_t i;

	for (i = node + 1; i < s->n && s->nodes[i].parent >= 0; i++) {
		const struct die_node *n = &s->nodes[i];
		int parent = n->parent - (int)node, k;
		Dwarf_Die die;

		if (!n->pc) {
			k = scope_ranges_own(d, cu, &u, f, n, parent);
			if (k != -EINVAL) {
				if (k < 0)
					return -1;
				continue;
			}
			if (!dwarf_offdie(d->dw, n->off, &die) ||
			    scope_add(f, &die, parent, n->depth) < 0)
				return -1;
			continue;
		}
		k = scope_node_add(f, n->off, n->tag == DW_TAG_inlined_subroutine, parent,
				   n->depth);
		if (k < 0 || scope_range_add(f, k, n->lo, n->hi))
			return -1;
	}
	return 0;
}

/* Of two ranges holding an address, the deeper scope is inner; the first read wins a tie. */
static bool range_before(const struct scope_build *f, int a, int b)
{
	int da = f->nodes[f->ranges[a].node].depth, db = f->nodes[f->ranges[b].node].depth;

	return da != db ? da > db : a < b;
}

/* A heap of ranges (indexes), the innermost on top. */
static void heap_push(const struct scope_build *f, int *heap, size_t *n, int r)
{
	size_t i = (*n)++;

	while (i && range_before(f, r, heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = r;
}

static void heap_pop(const struct scope_build *f, int *heap, size_t *n)
{
	int last = heap[--(*n)];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < *n) {
		if (c + 1 < *n && range_before(f, heap[c + 1], heap[c]))
			c++;
		if (!range_before(f, heap[c], last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = last;
}

static int range_lo_cmp(const void *a, const void *b, void *arg)
{
	const struct scope_range *r = arg;
	Dwarf_Addr x = r[*(const int *)a].lo, y = r[*(const int *)b].lo;

	return x < y ? -1 : x > y;
}

/*
 * Addresses sorted in place: quicksort (median of three) down to short runs, then
 * insertion. The lists built here are sorted runs put end to end, where qsort's calls
 * through a pointer per comparison cost more than the sorting itself.
 */
static void addrs_sort(Dwarf_Addr *a, size_t n)
{
	while (n > 16) {
		Dwarf_Addr x = a[0], y = a[n / 2], z = a[n - 1], pivot, t;
		size_t i = 0, j = n - 1;

		pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
		for (;;) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			t = a[i];
			a[i++] = a[j];
			a[j--] = t;
		}
		/* [0, j] <= pivot <= [j + 1, n): recurse into the shorter side. */
		if (j + 1 < n - j - 1) {
			addrs_sort(a, j + 1);
			a += j + 1;
			n -= j + 1;
		} else {
			addrs_sort(a + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		Dwarf_Addr v = a[i];
		size_t k = i;

		for (; k > 0 && a[k - 1] > v; k--)
			a[k] = a[k - 1];
		a[k] = v;
	}
}

/*
 * The innermost inlined scope between each two range boundaries, in one sweep over the
 * sorted ranges (n log n however many scopes a function has): a lookup is then one binary
 * search. The innermost scope at an address is the deepest one holding it, as eu-addr2line
 * -i follows the DIE tree.
 */
static int scope_spans(const struct scope_build *b, struct fn_scopes *f)
{
	size_t nr = b->nranges, nb = 0, i, next = 0, nheap = 0;
	int *order = malloc((nr + 1) * sizeof(int)), *heap = malloc((nr + 1) * sizeof(int));
	Dwarf_Addr *bounds = malloc((2 * nr + 1) * sizeof(*bounds));
	int err = -ENOMEM;

	f->spans = malloc((2 * nr + 1) * sizeof(*f->spans));
	if (!order || !heap || !bounds || !f->spans)
		goto out;
	for (i = 0; i < nr; i++) {
		order[i] = (int)i;
		bounds[nb++] = b->ranges[i].lo;
		bounds[nb++] = b->ranges[i].hi;
	}
	qsort_r(order, nr, sizeof(*order), range_lo_cmp, b->ranges);
	addrs_sort(bounds, nb);
	for (i = 0; i < nb; i++) {
		int node;

		if (i && bounds[i] == bounds[i - 1])
			continue;
		while (next < nr && b->ranges[order[next]].lo <= bounds[i])
			heap_push(b, heap, &nheap, order[next++]);
		while (nheap && b->ranges[heap[0]].hi <= bounds[i])
			heap_pop(b, heap, &nheap);
		node = nheap ? b->ranges[heap[0]].node : 0;
		node = b->inlined[node] ? node : f->info[node].outer;
		if (!f->nspans || f->spans[f->nspans - 1].node != node)
			f->spans[f->nspans++] = (struct scope_span){bounds[i], node};
	}
	err = 0;
out:
	free(order);
	free(heap);
	free(bounds);
	return err;
}

/* Each node's name, call site and nearest inlined scope (parents come before children). */
static int scope_infos(struct sym_dwarf *d, Dwarf_Die *cu, const struct cu_read *c,
		       const struct scope_build *b, const struct die_node *scan,
		       struct fn_scopes *f)
{
	size_t i;

	f->info = calloc(b->nnodes, sizeof(*f->info));
	if (!f->info)
		return -ENOMEM;
	for (i = 0; i < b->nnodes; i++) {
		int p = b->nodes[i].parent;
		Dwarf_Die die;

		f->info[i].outer = p < 0 ? -1 : b->inlined[p] ? p : f->info[p].outer;
		if (b->inlined[i] && dwarf_offdie(d->dw, b->nodes[i].die, &die))
			scope_read(d, cu, c, &die,
				   scan && scan[i].off == b->nodes[i].die ? &scan[i] : NULL,
				   &f->info[i]);
	}
	return 0;
}

/* Every POINTS_BLOCK-th key, searched first. */
static int fn_top(struct fn_scopes *f)
{
	size_t i;

	f->ntop = (f->npoints + POINTS_BLOCK - 1) / POINTS_BLOCK;
	f->top = malloc(f->ntop * sizeof(*f->top));
	if (!f->top)
		return -ENOMEM;
	for (i = 0; i < f->ntop; i++)
		f->top[i] = f->keys[i * POINTS_BLOCK];
	return 0;
}

/* The first line row after addr (rows are sorted by address). */
static size_t row_after(const struct cu_read *c, Dwarf_Addr addr)
{
	size_t lo = 0, hi = c->nlines;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->lines[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The points of a function range: where its line or its innermost inlined scope changes
 * (at its start, and at each row and span start inside it): the line of the last row at
 * or before (none after a sequence's end) and the span's scope there, in one merge of its rows and its spans (both sorted). Ranges over 4 GiB
 * are left to libdw's search.
 */
static int fn_points(const struct cu_read *c, const struct fn_range *r, struct fn_scopes *f)
{
	size_t k = row_after(c, r->lo), sp = 0, n = 1 + f->nspans, last;
	Dwarf_Addr a = r->lo, next;

	if (r->hi - r->lo > UINT32_MAX)
		return -ERANGE;
	/* The rows inside (an empty range, as a damaged file may give, has none). */
	last = r->hi > r->lo ? row_after(c, r->hi - 1) : k;
	n += last > k ? last - k : 0;
	f->points = malloc(n * sizeof(*f->points));
	f->keys = malloc(n * sizeof(*f->keys));
	if (!f->points || !f->keys)
		return -ENOMEM;
	f->base = r->lo;
	for (;;) {
		const struct line_row *row;
		struct fn_point p;

		while (k < c->nlines && c->lines[k].addr <= a)
			k++;
		while (sp < f->nspans && f->spans[sp].lo <= a)
			sp++;
		row = k && !c->lines[k - 1].end ? &c->lines[k - 1] : NULL;
		p = (struct fn_point){row ? row->file : NULL, row ? row->line : 0,
				      sp ? f->spans[sp - 1].node : -1};
		if (!f->npoints || p.file != f->points[f->npoints - 1].file ||
		    p.line != f->points[f->npoints - 1].line ||
		    p.node != f->points[f->npoints - 1].node) {
			f->keys[f->npoints] = (uint32_t)(a - f->base);
			f->points[f->npoints++] = p;
		}
		next = r->hi;
		if (k < c->nlines && c->lines[k].addr < next)
			next = c->lines[k].addr;
		if (sp < f->nspans && f->spans[sp].lo < next)
			next = f->spans[sp].lo;
		if (next >= r->hi)
			break;
		a = next;
	}
	free(f->spans);
	f->spans = NULL;
	f->nspans = 0;
	return fn_top(f);
}

/* The point of f at pc (pc is in the function's range): the last one at or before it. */
static const struct fn_point *point_at(const struct fn_scopes *f, Dwarf_Addr pc)
{
	uint32_t off = (uint32_t)(pc - f->base);
	size_t lo = 0, hi = f->ntop, i, end;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->top[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	i = lo * POINTS_BLOCK;
	end = i + POINTS_BLOCK < f->npoints ? i + POINTS_BLOCK : f->npoints;
	while (i + 1 < end && f->keys[i + 1] <= off)
		i++;
	return &f->points[i];
}

/* The scopes of a function: read once (one walk of its DIEs) while its CU is built. */
/* The function's own node (node 0) and ranges: from the scan, else from its DIE (fn). */
static int scope_root(struct sym_dwarf *d, const struct cu_read *c, const struct fn_range *r,
		      struct scope_build *b, Dwarf_Die *fn)
{
	const struct die_node *n = r->node >= 0 ? &c->scan.nodes[r->node] : NULL;

	if (n && n->pc)
		return scope_node_add(b, r->die, false, -1, 0) < 0 ||
				       scope_range_add(b, 0, n->lo, n->hi)
			       ? -1
			       : 0;
	return dwarf_offdie(d->dw, r->die, fn) && scope_add(b, fn, -1, 0) == 0 ? 0 : -1;
}

static struct fn_scopes *fn_scopes(struct sym_dwarf *d, Dwarf_Die *cu, const struct cu_read *c,
				   const struct fn_range *r)
{
	struct fn_scopes *f = calloc(1, sizeof(*f));
	struct scope_build b = {0};
	Dwarf_Die fn;
	int err = -1;

	if (f && scope_root(d, c, r, &b, &fn) == 0 &&
	    !(r->node >= 0 ? scope_scanned(d, cu, &b, c, (size_t)r->node)
			   : scope_walk(&b, &fn, 0, 1)))
		err = scope_infos(d, cu, c, &b, r->node >= 0 ? &c->scan.nodes[r->node] : NULL, f) ||
		      scope_spans(&b, f) || fn_points(c, r, f);
	free(b.nodes);
	free(b.ranges);
	free(b.inlined);
	if (err) {
		fn_scopes__free(f);
		return NULL;
	}
	f->ninfo = b.nnodes;
	return f;
}

/* Grow *p (elements of size sz) to hold at least n. */
static int grow_to(void *p, size_t *cap, size_t n, size_t sz)
{
	size_t c = *cap ? *cap : 16;
	void *q;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	q = realloc(*(void **)p, c * sz);
	if (!q)
		return -ENOMEM;
	*(void **)p = q;
	*cap = c;
	return 0;
}

/*
 * Every function's scopes, read and moved to the file's (their outer links with them). A
 * function whose scopes cannot be read is left to libdw's search, as before.
 */
static int cu_scopes(struct sym_dwarf *d, Dwarf_Die *cu, struct cu_read *c)
{
	size_t i, j;

	for (i = 0; i < c->nr; i++) {
		struct fn_range *r = &c->r[i];
		struct fn_scopes *f = fn_scopes(d, cu, c, r);

		if (f && d->ninfo + f->ninfo > INT32_MAX) {
			fn_scopes__free(f);
			f = NULL;
		}
		r->scopes = f;
		if (!f)
			continue;
		if (grow_to(&d->info, &d->cap_info, d->ninfo + f->ninfo, sizeof(*d->info)))
			return -ENOMEM;
		r->info_off = d->ninfo;
		for (j = 0; j < f->ninfo; j++) {
			struct scope_info si = f->info[j];

			if (si.outer >= 0)
				si.outer += (int)d->ninfo;
			d->info[d->ninfo + j] = si;
		}
		d->ninfo += f->ninfo;
	}
	return 0;
}

/*
 * Where the symbol table's answer may change in [lo, hi): the starts there, and the ends
 * of sized symbols from the one holding lo on. Into out when not NULL; their number.
 */
static size_t sym_bounds(const struct sym_dwarf *d, Dwarf_Addr lo, Dwarf_Addr hi, Dwarf_Addr *out)
{
	unsigned long addr, size;
	long i = elf_syms__index(d->syms, lo);
	size_t n = 0;

	if (!d->syms)
		return 0;
	for (i = i < 0 ? 0 : i; elf_syms__at(d->syms, (size_t)i, &addr, &size) && addr < hi; i++) {
		if (addr >= lo && out)
			out[n] = addr;
		n += addr >= lo;
		if (size && addr + size > lo && addr + size < hi && out)
			out[n] = addr + size;
		n += size && addr + size > lo && addr + size < hi;
	}
	return n;
}

/* Sort a[0..n) unless it is already (one pass). */
static void addrs_sort_run(Dwarf_Addr *a, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (a[i] < a[i - 1]) {
			addrs_sort(a, n);
			return;
		}
}

/* The sorted runs a[0..na) and b[0..nb) merged into out (which may be where b ends). */
static void addrs_merge(const Dwarf_Addr *a, size_t na, const Dwarf_Addr *b, size_t nb,
			Dwarf_Addr *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na && j < nb)
		out[k++] = b[j] < a[i] ? b[j++] : a[i++];
	while (i < na)
		out[k++] = a[i++];
	while (j < nb)
		out[k++] = b[j++];
}

/*
 * Where a CU's lookup may answer differently: its ranges' ends and the symbols' bounds
 * there, its line rows, its functions' ends and points; sorted, each once. Each of the
 * three is sorted as read (or sorted alone), then they are merged.
 */
static int cu_bounds(const struct sym_dwarf *d, const struct cu_data *cd, const struct cu_read *c,
		     Dwarf_Addr **out, size_t *nout)
{
	size_t n = c->nlines, i, j, k = 0, k1, k2;
	Dwarf_Addr *b, *m;
	long ri;

	for (ri = cd->first_range; ri >= 0; ri = d->cu_ranges[ri].next)
		n += 2 + sym_bounds(d, d->cu_ranges[ri].lo, d->cu_ranges[ri].hi, NULL);
	for (i = 0; i < c->nr; i++)
		n += 2 + (c->r[i].scopes ? c->r[i].scopes->npoints : 0);
	b = malloc((n ? n : 1) * sizeof(*b));
	m = malloc((n ? n : 1) * sizeof(*m));
	if (!b || !m) {
		free(b);
		free(m);
		return -ENOMEM;
	}
	for (ri = cd->first_range; ri >= 0; ri = d->cu_ranges[ri].next) {
		b[k++] = d->cu_ranges[ri].lo;
		b[k++] = d->cu_ranges[ri].hi;
		k += sym_bounds(d, d->cu_ranges[ri].lo, d->cu_ranges[ri].hi, b + k);
	}
	k1 = k;
	for (i = 0; i < c->nlines; i++)
		b[k++] = c->lines[i].addr;
	k2 = k;
	for (i = 0; i < c->nr; i++) {
		const struct fn_scopes *f = c->r[i].scopes;

		b[k++] = c->r[i].lo;
		for (j = 0; f && j < f->npoints; j++)
			b[k++] = f->base + f->keys[j];
		b[k++] = c->r[i].hi;
	}
	addrs_sort_run(b, k1);
	addrs_sort_run(b + k1, k2 - k1);
	addrs_sort_run(b + k2, k - k2);
	addrs_merge(b, k1, b + k1, k2 - k1, m);
	/* Into b: each write is at or before the next unread entry of b's own run. */
	addrs_merge(m, k2, b + k2, k - k2, b);
	free(m);
	for (i = 0, n = 0; i < k; i++)
		if (!n || b[i] != b[n - 1])
			b[n++] = b[i];
	*out = b;
	*nout = n;
	return 0;
}

/* Append a point to the table. */
static int table_add(struct sym_dwarf *d, Dwarf_Addr key, struct fn_point p)
{
	if (d->npoints == d->cap_points) {
		/* By a quarter: past malloc's mmap threshold, realloc remaps, copies nothing. */
		size_t cap = d->cap_points ? d->cap_points + d->cap_points / 4 : 1024;
		uint64_t *k = realloc(d->keys, cap * sizeof(*k));
		struct fn_point *q;

		if (!k)
			return -ENOMEM;
		d->keys = k;
		q = realloc(d->points, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		d->points = q;
		d->cap_points = cap;
	}
	d->keys[d->npoints] = key;
	d->points[d->npoints++] = p;
	return 0;
}

/* No symbol followed yet: sym_ascending searches. */
#define SYM_CURSOR_NONE LONG_MIN

/*
 * elf_syms__lookup's answer at a, for addresses that ascend: *i, the last symbol at or
 * before the previous address, is moved on to the last at or before a, as
 * elf_syms__index finds it (which is called the first time, and for a jump).
 */
static const char *sym_ascending(const struct elf_syms *es, Dwarf_Addr a, long *i)
{
	unsigned long addr, size;
	const char *name;

	int steps = 0;

	if (!es)
		return NULL;
	if (*i == SYM_CURSOR_NONE)
		*i = elf_syms__index(es, a);
	while (elf_syms__at(es, (size_t)(*i + 1), &addr, &size) && addr <= a) {
		/* Far ahead (a unit's code elsewhere, as its cold part): searched again. */
		if (++steps > 8) {
			*i = elf_syms__index(es, a);
			break;
		}
		(*i)++;
	}
	if (*i < 0 || !(name = elf_syms__at(es, (size_t)*i, &addr, &size)))
		return NULL;
	return size && a >= addr + size ? NULL : name;
}

/*
 * What a lookup by function answers at a: the line and innermost inlined scope of the
 * function holding a, else the line and libdw's search.
 */
static struct fn_point point_eval(const struct sym_dwarf *d, const struct cu_read *c, Dwarf_Addr a,
				  long *sym_i)
{
	const struct fn_range *r = function_at(c, a);
	const char *sym = sym_ascending(d->syms, a, sym_i);
	const struct line_row *row;

	if (r && r->scopes) {
		const struct fn_point *p = point_at(r->scopes, a);

		return (struct fn_point){
			p->file, p->line,
			p->node >= 0 ? (int)(r->info_off + p->node) : POINT_NO_SCOPE, sym};
	}
	row = line_at(c, a);
	return (struct fn_point){row ? row->file : NULL, row ? row->line : 0, POINT_SEARCH, sym};
}

static bool point_same(const struct fn_point *a, const struct fn_point *b)
{
	return a->file == b->file && a->line == b->line && a->node == b->node && a->sym == b->sym;
}

/*
 * The CU's run of the table: over each stretch of its code (ranges that overlap or touch
 * joined), a point wherever the answer changes, and POINT_END at the stretch's end.
 */
static int cu_points(struct sym_dwarf *d, struct cu_data *cd, const struct cu_read *c)
{
	size_t nb, k = 0, start;
	Dwarf_Addr *bounds, lo, hi;
	long ri = cd->first_range, sym_i = SYM_CURSOR_NONE;
	int err = 0;

	if (cu_bounds(d, cd, c, &bounds, &nb))
		return -ENOMEM;
	while (ri >= 0 && !err) {
		lo = d->cu_ranges[ri].lo;
		hi = d->cu_ranges[ri].hi;
		for (ri = d->cu_ranges[ri].next; ri >= 0 && d->cu_ranges[ri].lo <= hi;
		     ri = d->cu_ranges[ri].next)
			hi = d->cu_ranges[ri].hi > hi ? d->cu_ranges[ri].hi : hi;
		if (hi <= lo)
			continue;
		while (k < nb && bounds[k] < lo)
			k++;
		for (start = d->npoints; k < nb && bounds[k] < hi && !err; k++) {
			struct fn_point p = point_eval(d, c, bounds[k], &sym_i);

			if (d->npoints == start || !point_same(&p, &d->points[d->npoints - 1]))
				err = table_add(d, bounds[k], p);
		}
		if (!err)
			err = table_add(d, hi, (struct fn_point){NULL, 0, POINT_END});
	}
	free(bounds);
	cd->end = d->npoints;
	return err;
}

/* The first point of [from, to) after pc (to when none). */
static size_t run_upper(const struct sym_dwarf *d, size_t from, size_t to, Dwarf_Addr pc)
{
	while (from < to) {
		size_t mid = from + (to - from) / 2;

		if (d->keys[mid] <= pc)
			from = mid + 1;
		else
			to = mid;
	}
	return from;
}

/* Does only CU ci have code in [bs, last]? (Ranges are searched as find_cu does.) */
static bool slot_owned(const struct sym_dwarf *d, size_t ci, Dwarf_Addr bs, Dwarf_Addr last)
{
	long i = addr_index__find(&d->cu_index, last);
	int back = 0;

	for (; i >= 0; i--) {
		const struct cu_range *r = &d->cu_ranges[i];

		if (r->lo < bs && ++back > 8)
			break;
		if (r->hi > bs && r->hi > r->lo && r->cu != ci)
			return false;
	}
	return true;
}

/* Slot b starting at bs holds the points [first, end) (the first at or before bs). */
static void dir_slot_set(struct sym_dwarf *d, size_t b, Dwarf_Addr bs, size_t first, size_t end)
{
	size_t i;

	d->dir[b] = (struct dir_slot){(uint32_t)first, (uint16_t)(end - first), {0}};
	for (i = 0; d->dir_shift <= DIR_OFF_SHIFT && i < end - first && i < DIR_OFFS; i++)
		d->dir[b].off[i] = d->keys[first + i] > bs ? (uint8_t)(d->keys[first + i] - bs) : 0;
}

/* Where the CU ranges find_cu may pick for an address in [bs, last] start or end inside
 * (bs, last], into cut (up to max); their number, -1 when one of their CUs is not built
 * yet or there are more. */
static int slot_cuts(const struct sym_dwarf *d, Dwarf_Addr bs, Dwarf_Addr last, Dwarf_Addr *cut,
		     int max)
{
	long i = addr_index__find(&d->cu_index, last);
	int back = 0, n = 0;

	for (; i >= 0; i--) {
		const struct cu_range *r = &d->cu_ranges[i];

		if (r->lo < bs && ++back > 8)
			break;
		if (r->hi <= bs || r->hi <= r->lo)
			continue;
		if (!d->cus[r->cu].built || n + 2 > max)
			return -1;
		if (r->lo > bs)
			cut[n++] = r->lo;
		if (r->hi <= last)
			cut[n++] = r->hi;
	}
	return n;
}

/*
 * A slot that several CUs' code is in, once they are all built: what a lookup through
 * find_cu and the run of its CU answers at each address of the slot where that may change
 * (the slot's start, its CUs' range bounds, the chosen run's next point), copied to the
 * end of the table as the slot's own run; a gap between CUs is a POINT_END point.
 */
static void dir_slot_fill_shared(struct sym_dwarf *d, size_t b, Dwarf_Addr bs, Dwarf_Addr last)
{
	Dwarf_Addr cut[32], a = bs, next;
	int ncut = slot_cuts(d, bs, last, cut, 32), i;
	size_t first = d->npoints;

	if (ncut < 0 || first > UINT32_MAX)
		return;
	for (;;) {
		struct cu_data *c = find_cu(d, a);
		struct fn_point p = {NULL, 0, POINT_END, NULL};
		bool more = false;
		size_t up;

		next = last;
		if (c) {
			up = run_upper(d, c->first, c->end, a);
			if (up > c->first)
				p = d->points[up - 1];
			if (up < c->end && d->keys[up] <= last)
				next = d->keys[up], more = true;
		}
		for (i = 0; i < ncut; i++)
			if (cut[i] > a && cut[i] <= next)
				next = cut[i], more = true;
		if ((d->npoints == first || !point_same(&p, &d->points[d->npoints - 1])) &&
		    (d->npoints - first == UINT16_MAX || table_add(d, a, p))) {
			d->npoints = first;
			return;
		}
		if (!more)
			break;
		a = next;
	}
	dir_slot_set(d, b, bs, first, d->npoints);
}

static void dir_slot_fill(struct sym_dwarf *d, size_t ci, size_t b)
{
	const struct cu_data *cd = &d->cus[ci];
	Dwarf_Addr bs = d->dir_lo + ((Dwarf_Addr)b << d->dir_shift);
	Dwarf_Addr last = bs + (((Dwarf_Addr)1 << d->dir_shift) - 1);
	size_t first, end;

	if (last < bs)
		last = UINT64_MAX;
	if (!slot_owned(d, ci, bs, last)) {
		dir_slot_fill_shared(d, b, bs, last);
		return;
	}
	first = run_upper(d, cd->first, cd->end, bs);
	first = first > cd->first ? first - 1 : cd->first;
	end = run_upper(d, cd->first, cd->end, last);
	if (end <= first || end - first > UINT16_MAX)
		return;
	dir_slot_set(d, b, bs, first, end);
}

/* The slots of the directory that only CU ci's code is in now point into its run. */
static void dir_fill(struct sym_dwarf *d, size_t ci)
{
	const struct cu_data *cd = &d->cus[ci];
	long ri;

	if (!d->dir || cd->end > UINT32_MAX)
		return;
	for (ri = cd->first_range; ri >= 0; ri = d->cu_ranges[ri].next) {
		const struct cu_range *r = &d->cu_ranges[ri];
		size_t b, last;

		if (r->hi <= r->lo)
			continue;
		b = (size_t)((r->lo - d->dir_lo) >> d->dir_shift);
		last = (size_t)((r->hi - 1 - d->dir_lo) >> d->dir_shift);
		for (; b <= last && b < d->ndir; b++)
			if (!d->dir[b].n)
				dir_slot_fill(d, ci, b);
	}
}

static void cu_read__exit(struct cu_read *c)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		fn_scopes__free(c->r[i].scopes);
	free(c->r);
	addr_index__free(&c->r_index);
	free(c->lines);
	free(c->files);
	die_scan__free(&c->scan);
}

/* What the table and the scopes hold. */
static size_t table_bytes(const struct sym_dwarf *d)
{
	return d->cap_points * (sizeof(*d->keys) + sizeof(*d->points)) +
	       d->cap_info * sizeof(*d->info);
}

/*
 * A CU's run of the table, at its first lookup: one pass over its top-level DIEs (no
 * walk of the whole CU per lookup: dwarf_getscopes does, and costs 10 times addr2line),
 * its line table and every function's inlined scopes, then what the lookup by function
 * answers at each address where that may change. Its rows and functions are not kept.
 */
static int cu_build(struct sym_dwarf *d, struct cu_data *c, Dwarf_Die *cu)
{
	size_t cap = 0, i, before = table_bytes(d);
	struct cu_read t = {0};
	struct cu_die k;
	int err = 0;

	c->built = true;
	if (!cu_die_of(d, c->unit, c->die, c->abbrev_hint, &k))
		t.die = &k;
	c->first = c->end = d->npoints;
	if (index_functions(d, c, &t, &cap, cu) || index_lines(d, &t, cu) ||
	    addr_index__alloc(&t.r_index, t.nr))
		err = -ENOMEM;
	if (!err && t.nr)
		qsort(t.r, t.nr, sizeof(*t.r), fn_range_cmp);
	for (i = 0; !err && i < t.nr; i++)
		t.r_index.keys[i] = t.r[i].lo;
	if (!err)
		err = addr_index__build(&t.r_index);
	if (!err)
		err = cu_scopes(d, cu, &t);
	if (!err)
		err = cu_points(d, c, &t);
	if (err)
		d->npoints = c->end = c->first;
	else
		dir_fill(d, (size_t)(c - d->cus));
	cu_read__exit(&t);
	d->bytes += table_bytes(d) - before;
	return err;
}

/* The directory's slot of pc, NULL outside it. */
static const struct dir_slot *dir_slot_of(const struct sym_dwarf *d, Dwarf_Addr pc)
{
	if (!d->dir || pc < d->dir_lo || ((pc - d->dir_lo) >> d->dir_shift) >= d->ndir)
		return NULL;
	return &d->dir[(pc - d->dir_lo) >> d->dir_shift];
}

/*
 * How many of the slot's offsets are at or before off (they are sorted; past n they are
 * 0): the point's index. With SSE2 two compares of 16 bytes, not a loop whose exit
 * mispredicts.
 */
static inline unsigned int slot_count(const struct dir_slot *s, unsigned int off)
{
#ifdef __SSE2__
	__m128i x = _mm_set1_epi8((char)off);
	__m128i lo = _mm_loadu_si128((const __m128i *)s->off);
	__m128i hi = _mm_loadu_si128((const __m128i *)(s->off + DIR_OFFS - 16));
	/* o <= off exactly when max(o, off) == off (unsigned bytes) */
	uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(lo, x), x)) |
		     (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(hi, x), x))
			     << (DIR_OFFS - 16);

	/* Sorted, so the bits set start at bit 0; past n they are set too (offsets 0 there),
	 * bits 26 to 31 are clear: the count is the run of ones, cut at n. */
	m = (uint32_t)__builtin_ctz(~m);
	return m < s->n ? m : s->n;
#else
	unsigned int i = s->n;

	while (i > 0 && s->off[i - 1] > off)
		i--;
	return i;
#endif
}

/* The point at pc in a filled slot of the directory; NULL before its first point. */
static const struct fn_point *slot_find(const struct sym_dwarf *d, const struct dir_slot *s,
					Dwarf_Addr pc)
{
	size_t up;

	if (s->n <= DIR_OFFS && d->dir_shift <= DIR_OFF_SHIFT) {
		unsigned int off, i;

		off = (unsigned int)((pc - d->dir_lo) & (((Dwarf_Addr)1 << d->dir_shift) - 1));
		i = slot_count(s, off);
		return i ? &d->points[s->first + i - 1] : NULL;
	}
	up = run_upper(d, s->first, (size_t)s->first + s->n, pc);
	return up > s->first ? &d->points[up - 1] : NULL;
}

/* The point at pc: through its slot of the directory, else its CU (built if new). */
static const struct fn_point *point_find(struct sym_dwarf *d, Dwarf_Addr pc)
{
	const struct dir_slot *s = dir_slot_of(d, pc);
	struct cu_data *c;
	Dwarf_Die cu;
	size_t up;

	if (s && s->n)
		return slot_find(d, s, pc);
	c = find_cu(d, pc);
	if (!c || (!c->built &&
		   (lib_open(d) || !dwarf_offdie(d->dw, c->die, &cu) || cu_build(d, c, &cu))))
		return NULL;
	up = run_upper(d, c->first, c->end, pc);
	return up > c->first ? &d->points[up - 1] : NULL;
}

/* Links of an inline chain followed ahead (most chains are shorter). */
#define PREFETCH_HOPS 3

/*
 * The memory the next lookups of pcs will read, asked for ahead: their slots, then their
 * points, then what those name (symbol, innermost inlined scope). A lookup is a chain of
 * dependent reads that each miss the cache when addresses are scattered; asked for
 * together, the misses of many addresses overlap instead of following each other.
 */
void sym_dwarf__prefetch(const struct sym_dwarf *d, const uint64_t *pcs, size_t n, uint32_t *found)
{
	const struct fn_point *p[SYM_DWARF_PREFETCH];
	int node[SYM_DWARF_PREFETCH], hop;
	size_t i;

	n = n < SYM_DWARF_PREFETCH ? n : SYM_DWARF_PREFETCH;
	if (found)
		memset(found, 0, n * sizeof(*found));
	if (!d || !d->dir)
		return;
	for (i = 0; i < n; i++) {
		const struct dir_slot *s = dir_slot_of(d, pcs[i]);

		if (s)
			__builtin_prefetch(s);
	}
	for (i = 0; i < n; i++) {
		const struct dir_slot *s = dir_slot_of(d, pcs[i]);

		p[i] = s && s->n ? slot_find(d, s, pcs[i]) : NULL;
		if (p[i])
			__builtin_prefetch(p[i]);
		/* A filled slot is final: its point is the lookup's answer from now on. */
		if (p[i] && found)
			found[i] = (uint32_t)(p[i] - d->points) + 1;
	}
	for (i = 0; i < n; i++) {
		node[i] = p[i] ? p[i]->node : -1;
		if (p[i] && p[i]->sym)
			__builtin_prefetch(p[i]->sym);
		if (node[i] >= 0)
			__builtin_prefetch(&d->info[node[i]]);
	}
	/* The inline chains, a link at a time for all of them: their names, their outer scopes. */
	for (hop = 0; hop < PREFETCH_HOPS; hop++) {
		for (i = 0; i < n; i++) {
			if (node[i] < 0)
				continue;
			if (d->info[node[i]].name)
				__builtin_prefetch(d->info[node[i]].name);
			node[i] = d->info[node[i]].outer;
			if (node[i] >= 0)
				__builtin_prefetch(&d->info[node[i]]);
		}
	}
}

void sym_dwarf__set_symbols(struct sym_dwarf *d, const struct elf_syms *syms)
{
	if (d && !d->npoints)
		d->syms = syms;
}

/*
 * The DIEs from below die to the innermost scope holding pc (a function, an inlined
 * scope, a block; through namespaces and types as index_children goes), outermost first
 * into path from path[depth]; returns where the path ends. The same path as libdw's
 * dwarf_getscopes then dwarf_getscopes_die, without their allocations: libdw 0.188's
 * dwarf_getscopes keeps its answer's memory when it finds no abstract origin (a damaged
 * file, fuzz_dwarf found it), which a hostile debug file would repeat at every sample.
 */
static int scope_path(Dwarf_Die *die, Dwarf_Addr pc, Dwarf_Die path[MAX_SCOPE_DEPTH], int depth,
		      int nest)
{
	Dwarf_Die c;
	int end;

	if (depth >= MAX_SCOPE_DEPTH || nest >= 2 * MAX_SCOPE_DEPTH || dwarf_child(die, &c))
		return depth;
	do {
		switch (dwarf_tag(&c)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_lexical_block:
			if (dwarf_haspc(&c, pc) <= 0)
				break;
			path[depth] = c;
			return scope_path(&c, pc, path, depth + 1, nest + 1);
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_module:
			end = scope_path(&c, pc, path, depth, nest + 1);
			if (end > depth)
				return end;
			break;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return depth;
}

/* The inlined scopes at pc by a search of the CU's DIEs (functions outside the index). */
static int scopes_searched(struct sym_dwarf *d, Dwarf_Off cu_die, Dwarf_Addr pc,
			   struct scope_info tmp[MAX_SCOPE_DEPTH],
			   const struct scope_info *chain[MAX_SCOPE_DEPTH])
{
	Dwarf_Die path[MAX_SCOPE_DEPTH], cu;
	int n, nin = 0;

	if (!dwarf_offdie(d->dw, cu_die, &cu))
		return 0;
	for (n = scope_path(&cu, pc, path, 0, 0); n-- > 0;) {
		if (dwarf_tag(&path[n]) != DW_TAG_inlined_subroutine)
			continue;
		scope_read(d, &cu, NULL, &path[n], NULL, &tmp[nin]);
		chain[nin] = &tmp[nin];
		nin++;
	}
	return nin;
}

/*
 * The inlined scopes at pc, innermost first: the deepest inlined scope or block holding
 * pc and every inlined scope it is in (an outer one need not hold pc itself). Every
 * inlined scope is a frame, also past a subprogram scope (GCC's split functions nest that
 * way), as addr2line -i and eu-addr2line -i count them.
 */
static int scopes_at(struct sym_dwarf *d, const struct fn_point *p, Dwarf_Addr pc,
		     struct scope_info tmp[MAX_SCOPE_DEPTH],
		     const struct scope_info *chain[MAX_SCOPE_DEPTH])
{
	struct cu_data *c;
	int n = 0, node;

	if (p->node == POINT_SEARCH) {
		c = find_cu(d, pc);
		return c && !lib_open(d) ? scopes_searched(d, c->die, pc, tmp, chain) : 0;
	}
	for (node = p->node; node >= 0 && n < MAX_SCOPE_DEPTH; node = d->info[node].outer)
		chain[n++] = &d->info[node];
	return n;
}

/*
 * out[0] (the function of the symbol table, named by the caller: the table has it when
 * sym_dwarf__set_symbols gave the symbols) gets its file and line;
 * with inline_frames, out[1..] get the functions inlined at pc, outermost first, each
 * with the line it is at. Returns the number of frames filled (1 + inlined), 0 when the
 * DWARF does not cover pc.
 */
int sym_dwarf__frames(struct sym_dwarf *d, uint64_t pc, bool inline_frames, struct sym_frame *out,
		      int max, bool *mangled)
{
	const char *sym;

	return sym_dwarf__frames_sym(d, pc, 0, inline_frames, out, max, mangled, &sym);
}

int sym_dwarf__frames_sym(struct sym_dwarf *d, uint64_t pc, uint32_t found, bool inline_frames,
			  struct sym_frame *out, int max, bool *mangled, const char **sym)
{
	struct scope_info tmp[MAX_SCOPE_DEPTH];
	const struct scope_info *chain[MAX_SCOPE_DEPTH];
	const struct fn_point *p;
	const char *file;
	unsigned int line;
	int n, nin, k;

	if (!d || max < 1)
		return 0;
	p = found && found <= d->npoints ? &d->points[found - 1] : point_find(d, pc);
	if (!p || p->node == POINT_END)
		return 0;
	*sym = p->sym;
	/* No symbol there: the caller names no frame, so no scope is looked for. */
	if (d->syms && !p->sym)
		return 1;
	file = p->file;
	line = p->line;
	n = inline_frames ? scopes_at(d, p, pc, tmp, chain) : 0;
	nin = n < max - 1 ? n : max - 1;
	/* chain[0] is the innermost: frame k holds the line it is at, then its call site. */
	for (k = nin; k > 0; k--) {
		const struct scope_info *si = chain[nin - k];

		out[k].kind = SYM_FRAME_FUNCTION;
		out[k].function = si->name ? si->name : "[inlined]";
		mangled[k] = si->name && si->mangled;
		out[k].inlined = true;
		out[k].file = file;
		out[k].line = line;
		file = si->call_file;
		line = si->call_line;
	}
	out[0].file = file;
	out[0].line = line;
	return 1 + nin;
}
