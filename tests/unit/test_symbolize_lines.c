// SPDX-License-Identifier: GPL-2.0
/*
 * The symbolizer's own readers of DWARF against libdw on the same files: every unit's line
 * table (dwarf-line.c: rows, their order, files named as libdw names them) and every
 * unit's functions and inlined scopes (dwarf-scan.c: the DIEs a walk with libdw finds), on
 * the fixtures (DWARF 5 and 4, C and C++, zlib-compressed sections inflated by
 * dwarf-inflate.c) and on libc's debug file when libc6-dbg is installed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include "symbolize/symbolize.h"
#include "symbolize/symbolize-private.h"

/* A file open with libdw, its sections inflated as the symbolizer does. */
struct dw_file {
	int fd;
	Elf *elf;
	Dwarf *dw;
	struct inflated z;
};

static bool dw_open(struct dw_file *f, const char *path)
{
	*f = (struct dw_file){0};
	f->fd = open(path, O_RDONLY);
	if (f->fd < 0)
		return false;
	f->elf = sym_elf__read(f->fd);
	cr_assert_not_null(f->elf, "%s", path);
	cr_assert_eq(sections_inflate(f->elf, f->fd, &f->z), 0);
	f->dw = dwarf_begin_elf(f->elf, DWARF_C_READ, NULL);
	cr_assert_not_null(f->dw, "%s: %s", path, dwarf_errmsg(-1));
	return true;
}

static void dw_close(struct dw_file *f)
{
	dwarf_end(f->dw);
	elf_end(f->elf);
	inflated__free(&f->z);
	close(f->fd);
}

static Elf_Data *section(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    !strcmp(elf_strptr(elf, shstrndx, sh.sh_name), name))
			return elf_getdata(scn, NULL);
	return NULL;
}

static const uint8_t *bytes(Elf_Data *d, size_t *size)
{
	*size = d ? d->d_size : 0;
	return d ? d->d_buf : NULL;
}

/* One unit's table read both ways: the same rows and files. Returns 1 if it had one. */
static int unit_lines(struct dw_file *f, Dwarf_Die *cu, const char *path)
{
	Dwarf_Attribute attr;
	Dwarf_Word off;
	Dwarf_Lines *lines;
	Dwarf_Files *files;
	size_t n, nfiles, i;
	struct line_program p = {0};
	struct line_rows t;
	uint8_t addr_size, off_size;
	Dwarf_Half version;
	Dwarf_Off abbrev_off;
	Dwarf_Die die;

	if (dwarf_formudata(dwarf_attr(cu, DW_AT_stmt_list, &attr), &off))
		return 0;
	cr_assert_not_null(dwarf_cu_die(cu->cu, &die, &version, &abbrev_off, &addr_size, &off_size,
					NULL, NULL));
	p.line = bytes(section(f->elf, ".debug_line"), &p.size);
	p.str = bytes(section(f->elf, ".debug_str"), &p.str_size);
	p.line_str = bytes(section(f->elf, ".debug_line_str"), &p.line_str_size);
	p.off = off;
	p.addr_size = addr_size;
	p.comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	cr_assert_eq(dwarf_getsrclines(cu, &lines, &n), 0);
	cr_assert_eq(dwarf_getsrcfiles(cu, &files, &nfiles), 0);
	cr_assert_eq(line_rows__read(&t, &p), 0, "%s: unit at %#lx not read", path,
		     (unsigned long)dwarf_dieoffset(cu));
	cr_assert_eq(t.n, n, "%s: %zu rows, libdw %zu", path, t.n, n);
	cr_assert_eq(t.nfiles, nfiles, "%s: %zu files, libdw %zu", path, t.nfiles, nfiles);
	for (i = 0; i < nfiles; i++)
		cr_assert_str_eq(t.files[i], dwarf_filesrc(files, i, NULL, NULL));
	for (i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		const char *name = dwarf_linesrc(l, NULL, NULL);
		Dwarf_Addr a;
		bool end;
		int line;

		cr_assert_eq(dwarf_lineaddr(l, &a), 0);
		cr_assert_eq(dwarf_lineendsequence(l, &end), 0);
		cr_assert_eq(dwarf_lineno(l, &line), 0);
		cr_assert_eq(t.rows[i].addr, a, "%s: row %zu at %#lx, libdw %#lx", path, i,
			     (unsigned long)t.rows[i].addr, (unsigned long)a);
		cr_assert_eq(t.rows[i].end, end, "%s: row %zu at %#lx", path, i, (unsigned long)a);
		cr_assert_eq(t.rows[i].line, line, "%s: row %zu at %#lx", path, i,
			     (unsigned long)a);
		if (!name)
			cr_assert_geq(t.rows[i].file, t.nfiles);
		else
			cr_assert_str_eq(t.files[t.rows[i].file], name);
	}
	line_rows__free(&t);
	return 1;
}

/* The walk dwarf.c made with libdw before the scan: functions under the unit and its
 * namespaces (and, but in C, types), their inlined scopes and blocks in order. */
static void walk_scopes(Dwarf_Die *die, int parent, int depth, struct die_scan *out)
{
	Dwarf_Die c;

	if (depth >= DIE_SCAN_MAX_DEPTH || dwarf_child(die, &c))
		return;
	do {
		int tag = dwarf_tag(&c);

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block)
			continue;
		cr_assert_lt(out->n, out->cap);
		out->nodes[out->n] =
			(struct die_node){dwarf_dieoffset(&c), parent, depth, (unsigned int)tag};
		walk_scopes(&c, (int)out->n++, depth + 1, out);
	} while (dwarf_siblingof(&c, &c) == 0);
}

static bool has_pc(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

static void walk_functions(Dwarf_Die *parent, int depth, bool c_lang, struct die_scan *out)
{
	Dwarf_Die ch;

	if (depth > 16 || dwarf_child(parent, &ch))
		return;
	do {
		switch (dwarf_tag(&ch)) {
		case DW_TAG_subprogram:
			if (!has_pc(&ch))
				break;
			cr_assert_lt(out->n, out->cap);
			out->nodes[out->n++] =
				(struct die_node){dwarf_dieoffset(&ch), -1, 0, DW_TAG_subprogram};
			walk_scopes(&ch, (int)out->n - 1, 1, out);
			break;
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			if (c_lang)
				break;
			/* fall through */
		case DW_TAG_namespace:
		case DW_TAG_module:
			walk_functions(&ch, depth + 1, c_lang, out);
			break;
		}
	} while (dwarf_siblingof(&ch, &ch) == 0);
}

/* CUs' and scopes' DW_AT_ranges dwarf-ranges.c read, in the last file_units. */
static size_t ranges_read, scope_ranges_read;

struct range_list {
	uint64_t lo[256], hi[256];
	size_t n;
};

static int range_keep(void *arg, uint64_t lo, uint64_t hi)
{
	struct range_list *l = arg;

	if (l->n == 256)
		return -1;
	l->lo[l->n] = lo;
	l->hi[l->n++] = hi;
	return 0;
}

/*
 * The range list at off of die's unit read by dwarf-ranges.c: libdw's ranges of die, in
 * order. False when left to libdw.
 */
static bool ranges_as_libdw(struct dw_file *f, Dwarf_Die *die, Dwarf_Word off, const char *path)
{
	Dwarf_Addr base = 0, b, lo, hi;
	struct range_list l = {.n = 0};
	uint8_t addr_size, off_size;
	Dwarf_Half version;
	ptrdiff_t o = 0;
	size_t size, i = 0;
	const uint8_t *sec;
	unsigned long at = (unsigned long)dwarf_dieoffset(die);
	Dwarf_Die cu;
	int n;

	cr_assert_not_null(
		dwarf_cu_die(die->cu, &cu, &version, NULL, &addr_size, &off_size, NULL, NULL));
	sec = bytes(section(f->elf, version >= 5 ? ".debug_rnglists" : ".debug_ranges"), &size);
	if (dwarf_hasattr(&cu, DW_AT_low_pc))
		cr_assert_eq(dwarf_lowpc(&cu, &base), 0);
	n = dwarf_ranges__read(sec, size, off, version >= 5, addr_size, base, range_keep, &l);
	if (n == -EINVAL)
		return false;
	cr_assert_eq(n, (int)l.n, "%s: DIE at %#lx", path, at);
	while ((o = dwarf_ranges(die, o, &b, &lo, &hi)) > 0) {
		cr_assert_lt(i, l.n, "%s: DIE at %#lx: libdw has more ranges", path, at);
		cr_assert(l.lo[i] == lo && l.hi[i] == hi, "%s: DIE at %#lx: range %zu", path, at,
			  i);
		i++;
	}
	cr_assert_eq(i, l.n, "%s: DIE at %#lx: libdw has fewer ranges", path, at);
	return true;
}

/* A scanned DIE's range, when the scan read it, is dwarf_ranges' one range. */
static int node_pc(struct dw_file *f, const struct die_node *n, const char *path)
{
	Dwarf_Addr base, lo, hi;
	Dwarf_Attribute attr;
	Dwarf_Word off;
	Dwarf_Die die;

	cr_assert_not_null(dwarf_offdie(f->dw, n->off, &die));
	if (n->ranges) {
		/* a scope's DW_AT_ranges offset, and its list read as libdw reads it */
		cr_assert_eq(dwarf_formudata(dwarf_attr(&die, DW_AT_ranges, &attr), &off), 0);
		cr_assert_eq(off, n->ranges - 1, "%s: DIE at %#lx", path, (unsigned long)n->off);
		scope_ranges_read += ranges_as_libdw(f, &die, off, path);
	}
	if (!n->pc)
		return 0;
	cr_assert_gt(dwarf_ranges(&die, 0, &base, &lo, &hi), 0);
	cr_assert(lo == n->lo && hi == n->hi, "%s: DIE at %#lx: [%#lx, %#lx), libdw [%#lx, %#lx)",
		  path, (unsigned long)n->off, (unsigned long)n->lo, (unsigned long)n->hi,
		  (unsigned long)lo, (unsigned long)hi);
	cr_assert_leq(dwarf_ranges(&die, 1, &base, &lo, &hi), 0);
	return 1;
}

/* Two strings both absent or equal. */
static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The scope's name as the symbolizer names it with libdw: its linkage name (mangled), else
 * its MIPS linkage name, else its name, each through origins and specifications. */
static const char *libdw_inline_name(Dwarf_Die *die, bool *mangled)
{
	Dwarf_Attribute a;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	*mangled = name != NULL;
	return name ? name : dwarf_diename(die);
}

/* The origin's name the scan read, when it did, is libdw's; 1 when it did. */
static int node_origin_name(struct dw_file *f, const struct die_node *n, Dwarf_Die *die,
			    const char *path)
{
	bool mangled;
	const char *name = libdw_inline_name(die, &mangled);

	(void)f;
	if (!n->named)
		return 0;
	cr_assert(str_same(n->name, name) && n->mangled == mangled,
		  "%s: DIE at %#lx: %s%s, libdw's %s%s", path, (unsigned long)n->off,
		  n->name ? n->name : "-", n->mangled ? " (mangled)" : "", name ? name : "-",
		  mangled ? " (mangled)" : "");
	return 1;
}

/* A scanned inlined scope's origin, when the scan found it, has the names libdw finds from
 * the scope itself (following DW_AT_abstract_origin). */
static int node_origin(struct dw_file *f, const struct die_node *n, const char *path)
{
	static const unsigned int names[] = {DW_AT_linkage_name, DW_AT_MIPS_linkage_name,
					     DW_AT_name};
	Dwarf_Attribute a, b;
	Dwarf_Die die, o;
	size_t i;

	if (!n->origin)
		return 0;
	cr_assert_eq(n->tag, DW_TAG_inlined_subroutine);
	cr_assert_not_null(dwarf_offdie(f->dw, n->off, &die));
	cr_assert_not_null(dwarf_offdie(f->dw, n->origin, &o));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *x = dwarf_formstring(dwarf_attr_integrate(&die, names[i], &a));
		const char *y = dwarf_formstring(dwarf_attr_integrate(&o, names[i], &b));

		cr_assert(str_same(x, y), "%s: DIE at %#lx: %s, origin's %s", path,
			  (unsigned long)n->off, x ? x : "-", y ? y : "-");
	}
	return node_origin_name(f, n, &die, path);
}

/* A scanned inlined scope's call site, when the scan read it, is what libdw reads. */
static int node_call(struct dw_file *f, const struct die_node *n, const char *path)
{
	Dwarf_Word file = 0, line = 0;
	Dwarf_Attribute attr;
	Dwarf_Die die;
	bool has_file;

	cr_assert(!n->call || n->tag == DW_TAG_inlined_subroutine, "%s: %#lx", path,
		  (unsigned long)n->off);
	if (!n->call)
		return 0;
	cr_assert_not_null(dwarf_offdie(f->dw, n->off, &die));
	if (dwarf_formudata(dwarf_attr(&die, DW_AT_call_line, &attr), &line))
		line = 0;
	has_file = dwarf_formudata(dwarf_attr(&die, DW_AT_call_file, &attr), &file) == 0;
	cr_assert(n->call_line == line && n->has_file == has_file &&
			  (!has_file || n->call_file == file),
		  "%s: DIE at %#lx: call %lu:%lu (%d), libdw %lu:%lu (%d)", path,
		  (unsigned long)n->off, (unsigned long)n->call_file, (unsigned long)n->call_line,
		  n->has_file, (unsigned long)file, (unsigned long)line, has_file);
	return 1;
}

/* One unit scanned and walked: the same DIEs, parents, depths and ranges. */
static void unit_scan(struct dw_file *f, Dwarf_Off unit, Dwarf_Off next, Dwarf_Die *cu,
		      const char *path, size_t nodes[5])
{
	Elf_Data *info = section(f->elf, ".debug_info"), *abbrev = section(f->elf, ".debug_abbrev");
	struct die_scan s = {0}, w = {0};
	uint8_t addr_size, off_size;
	Dwarf_Half version;
	Dwarf_Off abbrev_off;
	int lang = dwarf_srclang(cu);
	struct die_scan_unit u;
	Dwarf_Die die;
	size_t i, pcs = 0;

	cr_assert_not_null(dwarf_cu_die(cu->cu, &die, &version, &abbrev_off, &addr_size, &off_size,
					NULL, NULL));
	u = (struct die_scan_unit){info->d_buf,
				   abbrev->d_buf,
				   info->d_size,
				   abbrev->d_size,
				   unit,
				   dwarf_dieoffset(cu),
				   next,
				   abbrev_off,
				   addr_size,
				   off_size,
				   version,
				   lang == DW_LANG_C89 || lang == DW_LANG_C ||
					   lang == DW_LANG_C99 || lang == DW_LANG_C11};
	u.str = bytes(section(f->elf, ".debug_str"), &u.str_size);
	u.line_str = bytes(section(f->elf, ".debug_line_str"), &u.line_str_size);
	cr_assert_eq(die_scan__unit(&s, &u), 0, "%s: unit at %#lx not scanned", path,
		     (unsigned long)unit);
	w.cap = s.n + 1;
	w.nodes = calloc(w.cap, sizeof(*w.nodes));
	walk_functions(cu, 0, u.c_lang, &w);
	cr_assert_eq(s.n, w.n, "%s: unit at %#lx: %zu DIEs, libdw %zu", path, (unsigned long)unit,
		     s.n, w.n);
	for (i = 0; i < s.n; i++) {
		cr_assert(s.nodes[i].off == w.nodes[i].off &&
				  s.nodes[i].parent == w.nodes[i].parent &&
				  s.nodes[i].depth == w.nodes[i].depth &&
				  s.nodes[i].tag == w.nodes[i].tag,
			  "%s: node %zu at %#lx, libdw's at %#lx", path, i,
			  (unsigned long)s.nodes[i].off, (unsigned long)w.nodes[i].off);
		pcs += node_pc(f, &s.nodes[i], path);
		nodes[2] += s.nodes[i].tag == DW_TAG_inlined_subroutine;
		nodes[3] += (size_t)node_call(f, &s.nodes[i], path);
		nodes[4] += (size_t)node_origin(f, &s.nodes[i], path);
	}
	nodes[0] += s.n;
	nodes[1] += pcs;
	die_scan__free(&s);
	free(w.nodes);
}

/* A CU's DW_AT_ranges, when an offset, read by dwarf-ranges.c as libdw reads it. */
static void unit_ranges(struct dw_file *f, Dwarf_Die *cu, const char *path)
{
	Dwarf_Attribute attr, *at = dwarf_attr(cu, DW_AT_ranges, &attr);
	Dwarf_Word off;

	if (at && dwarf_whatform(at) == DW_FORM_sec_offset && !dwarf_formudata(at, &off))
		ranges_read += ranges_as_libdw(f, cu, off, path);
}

static const char *libdw_str(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute attr;

	return dwarf_formstring(dwarf_attr(die, name, &attr));
}

/* Read again where its abbreviation was found, or from hints that do not hold (the
 * table's first entry, past the section): the same DIE. */
static void unit_die_hints(struct cu_die_in *in, const struct cu_die *k, const char *path)
{
	const uint64_t hints[] = {k->found + 1, k->abbrev_off + 1, in->abbrev_size + 1};
	struct cu_die h;
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		in->hint = hints[i];
		memset(&h, 0, sizeof(h));
		cr_assert_eq(cu_die__read(&h, in), 0);
		cr_assert(!memcmp(&h, k, sizeof(h)), "%s: unit at %#lx, hint %zu", path,
			  (unsigned long)in->unit_off, i);
	}
	in->hint = 0;
}

/*
 * A unit's own DIE read by cu_die__read as libdw reads it: its header, name, compilation
 * directory, code (low_pc, high_pc, DW_AT_ranges), line program, language. Returns 1 when
 * every attribute the symbolizer asks was read without libdw.
 */
static int unit_die(struct dw_file *f, Dwarf_Off unit, Dwarf_Off next, Dwarf_Die *cu,
		    const char *path)
{
	struct cu_die_in in = {0};
	struct cu_die k;
	Dwarf_Attribute attr;
	Dwarf_Half version;
	Dwarf_Off abbrev_off;
	Dwarf_Word w;
	Dwarf_Addr a;
	Dwarf_Die die;
	uint8_t addr_size, off_size, unit_type;

	in.info = bytes(section(f->elf, ".debug_info"), &in.info_size);
	in.abbrev = bytes(section(f->elf, ".debug_abbrev"), &in.abbrev_size);
	in.str = bytes(section(f->elf, ".debug_str"), &in.str_size);
	in.line_str = bytes(section(f->elf, ".debug_line_str"), &in.line_str_size);
	in.unit_off = unit;
	cr_assert_not_null(dwarf_cu_die(cu->cu, &die, &version, &abbrev_off, &addr_size, &off_size,
					NULL, NULL));
	cr_assert_eq(dwarf_cu_info(cu->cu, NULL, &unit_type, NULL, NULL, NULL, NULL, NULL), 0);
	memset(&k, 0, sizeof(k));
	cr_assert_eq(cu_die__read(&k, &in), 0, "%s: unit at %#lx", path, (unsigned long)unit);
	cr_assert(k.version == version && k.unit_type == unit_type && k.addr_size == addr_size &&
			  k.off_size == off_size && k.abbrev_off == abbrev_off &&
			  k.die_off == dwarf_dieoffset(cu) && k.end_off == next &&
			  k.tag == (unsigned int)dwarf_tag(cu),
		  "%s: unit at %#lx: header", path, (unsigned long)unit);
	cr_assert(str_same(k.name, libdw_str(cu, DW_AT_name)), "%s: %#lx name %s", path,
		  (unsigned long)unit, k.name);
	cr_assert(str_same(k.comp_dir, libdw_str(cu, DW_AT_comp_dir)), "%s: %#lx dir", path,
		  (unsigned long)unit);
	cr_assert_eq(k.has_low_pc, dwarf_lowpc(cu, &a) == 0, "%s: %#lx", path, (unsigned long)unit);
	cr_assert(!k.has_low_pc || a == k.low_pc);
	cr_assert_eq(k.has_high_pc, dwarf_highpc(cu, &a) == 0, "%s: %#lx", path,
		     (unsigned long)unit);
	cr_assert(!k.has_high_pc || a == k.high_pc);
	cr_assert_eq(k.has_ranges, !dwarf_formudata(dwarf_attr(cu, DW_AT_ranges, &attr), &w) &&
					   dwarf_whatform(&attr) == DW_FORM_sec_offset);
	cr_assert(!k.has_ranges || w == k.ranges);
	cr_assert_eq(k.has_stmt_list, !dwarf_formudata(dwarf_attr(cu, DW_AT_stmt_list, &attr), &w));
	cr_assert(!k.has_stmt_list || w == k.stmt_list);
	cr_assert_eq(k.has_language, dwarf_srclang(cu) >= 0);
	cr_assert(!k.has_language || (int)k.language == dwarf_srclang(cu));
	cr_assert_eq(k.dwo, dwarf_hasattr(cu, DW_AT_GNU_dwo_id) != 0);
	unit_die_hints(&in, &k, path);
	return !k.unread;
}

/* Every unit of path; how many had a line table. */
static size_t file_units(const char *path)
{
	Dwarf_Off off = 0, next;
	size_t hsize, n = 0, units = 0, dies = 0, nodes[5] = {0, 0, 0, 0, 0};
	struct dw_file f;
	Dwarf_Die cu;

	cr_assert(dw_open(&f, path), "%s", path);
	ranges_read = scope_ranges_read = 0;
	while (!dwarf_nextcu(f.dw, off, &next, &hsize, NULL, NULL, NULL)) {
		cr_assert_not_null(dwarf_offdie(f.dw, off + hsize, &cu));
		n += (size_t)unit_lines(&f, &cu, path);
		unit_scan(&f, off, next, &cu, path, nodes);
		unit_ranges(&f, &cu, path);
		dies += (size_t)unit_die(&f, off, next, &cu, path);
		units++;
		off = next;
	}
	dw_close(&f);
	cr_log_info("%s: %zu units, %zu line tables, %zu DIEs kept, %zu ranges read, %zu of %zu "
		    "call sites read, %zu origins, %zu CUs' range lists read",
		    path, units, n, nodes[0], nodes[1], nodes[3], nodes[2], nodes[4], ranges_read);
	/* Many kept DIEs of GCC's output have one range the scan reads itself (libc: 47%). */
	cr_assert_geq(3 * nodes[1], nodes[0], "%s", path);
	/* GCC's units' DIEs are read whole without libdw */
	cr_assert_eq(dies, units, "%s: %zu of %zu units' DIEs read", path, dies, units);
	/* GCC's call sites are constants: the scan reads them all. */
	cr_assert_eq(nodes[3], nodes[2], "%s", path);
	/* and their scopes name nothing themselves: their origins, in the unit, are found and
	 * their names read */
	cr_assert_eq(nodes[4], nodes[2], "%s", path);
	return n;
}

/* The fixtures' debug file with zlib-compressed sections (the only file of its directory). */
static void zlib_fixture(char *path, size_t size)
{
	FILE *p;

	snprintf(path, size, "sh -c 'ls \"%s\"/zlib-root/.build-id/*/*.debug' 2>/dev/null",
		 getenv("PMUPROF_DEBUG_FIXTURES"));
	p = popen(path, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(path, size, p));
	pclose(p);
	path[strcspn(path, "\n")] = 0;
}

Test(dwarf_readers, fixtures_as_libdw)
{
	const char *env[] = {"PMUPROF_FIXTURE_DEBUGPROG", "PMUPROF_FIXTURE_CPP",
			     "PMUPROF_FIXTURE_DWARF4"};
	char zlib[1024];
	size_t i;

	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		cr_assert_not_null(getenv(env[i]), "%s", env[i]);
		cr_assert_gt(file_units(getenv(env[i])), 0, "%s", getenv(env[i]));
		/* main in .text.startup: the CU's code is in two ranges (DWARF 5, DWARF 4) */
		if (i > 0)
			cr_assert_gt(ranges_read, 0, "%s", getenv(env[i]));
	}
	/* zlib-compressed sections */
	zlib_fixture(zlib, sizeof(zlib));
	cr_assert_gt(file_units(zlib), 0, "%s", zlib);
}

/* The path of libc's separate debug file (libc6-dbg), named by libc's build id; the test
 * is skipped without it. */
static void libc_debug(char *path, size_t size)
{
	unsigned char id[64];
	size_t n, i, len;
	int fd = open("/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
	Elf *elf;

	if (fd < 0)
		cr_skip_test("no /lib/x86_64-linux-gnu/libc.so.6");
	elf = sym_elf__read(fd);
	cr_assert_not_null(elf);
	n = elf_read_build_id(elf, id, sizeof(id));
	elf_end(elf);
	close(fd);
	cr_assert_gt(n, 1);
	len = (size_t)snprintf(path, size, "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (i = 1; i < n; i++)
		len += (size_t)snprintf(path + len, size - len, "%02x", id[i]);
	snprintf(path + len, size - len, ".debug");
	if (access(path, R_OK))
		cr_skip_test("%s missing (libc6-dbg)", path);
}

/* libc's separate debug file. */
Test(dwarf_readers, libc_debug_as_libdw, .timeout = 120)
{
	char path[256];

	libc_debug(path, sizeof(path));
	cr_assert_gt(file_units(path), 1000);
	/* GCC gives most of libc's CUs (several sections) a range list, and its scopes split
	 * by the optimizer theirs */
	cr_assert_gt(ranges_read, 100);
	cr_assert_gt(scope_ranges_read, 1000);
}

/* The value of symbol name in elf's .symtab, 0 when it has none. */
static GElf_Addr symbol_value(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !data || !sh.sh_entsize)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			const char *n;

			if (gelf_getsym(data, (int)i, &sym) &&
			    (n = elf_strptr(elf, sh.sh_link, sym.st_name)) && !strcmp(n, name))
				return sym.st_value;
		}
	}
	return 0;
}

/* The heap's bytes in use, mapped chunks included; 0 in the sanitizer build, whose
 * allocator is not glibc's. */
static size_t heap_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 0;
#else
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
#endif
}

/*
 * What the DWARF lookups never read is never inflated nor counted: libc's debug file has
 * 1.4 MB of location lists and 0.1 MB of address ranges' table (zlib-compressed), which
 * name no function or line. Opening it inflates the other .debug_* sections, the DWARF
 * budget is told their size, and a lookup names its frames with a file and a line.
 */
/* What libc's debug file's compressed .debug_* sections hold: inflated, those libdw reads
 * (*used) and those never inflated (*unused: location lists, address ranges); compressed,
 * the read ones (*packed). */
struct debug_sizes {
	size_t used, unused, packed;
};

static struct debug_sizes debug_sizes_of(Elf *elf)
{
	struct debug_sizes z = {0};
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;
		GElf_Chdr ch;

		cr_assert(gelf_getshdr(scn, &sh));
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".debug_", 7) || !(sh.sh_flags & SHF_COMPRESSED))
			continue;
		cr_assert_not_null(gelf_getchdr(scn, &ch), "%s", name);
		if (!strcmp(name, ".debug_loclists") || !strcmp(name, ".debug_aranges")) {
			z.unused += ch.ch_size;
		} else {
			z.used += ch.ch_size;
			z.packed += sh.sh_size;
		}
	}
	return z;
}

/* libc's debug file opened (*fd) and read (the Elf returned): the sizes of its sections
 * into *z. */
static Elf *libc_debug_open(char *path, size_t len, int *fd, struct debug_sizes *z)
{
	Elf *elf;

	libc_debug(path, len);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(*fd, 0, "%s", path);
	elf = sym_elf__read(*fd);
	cr_assert_not_null(elf);
	*z = debug_sizes_of(elf);
	return elf;
}

Test(dwarf_readers, unused_sections_not_inflated, .timeout = 60)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	bool mangled[SYM_MAX_FRAMES];
	size_t used, unused, before, grew;
	struct debug_sizes z;
	struct sym_dwarf *d;
	GElf_Addr pc;
	char path[256];
	Elf *elf;
	int fd;

	elf = libc_debug_open(path, sizeof(path), &fd, &z);
	used = z.used;
	unused = z.unused;
	pc = symbol_value(elf, "__libc_start_call_main");
	elf_end(elf);
	cr_assert_gt(unused, 1000000, "%s: its location lists", path);
	cr_assert_gt(pc, 0, "%s: __libc_start_call_main", path);

	before = heap_bytes();
	d = sym_dwarf__open(fd);
	cr_assert_not_null(d, "%s", path);
	grew = heap_bytes() - before;
	cr_expect_eq(sym_dwarf__lib_bytes(d), used);
	if (before) {
		cr_expect_geq(grew, used, "%zu bytes for %zu of sections", grew, used);
		cr_expect_lt(grew, used + unused / 2, "%zu bytes for %zu of sections (%zu unused)",
			     grew, used, unused);
	}
	cr_assert_geq(sym_dwarf__frames(d, pc + 0x10, true, f, SYM_MAX_FRAMES, mangled), 1);
	cr_expect_not_null(f[0].file);
	cr_expect_gt(f[0].line, 0);
	sym_dwarf__free(d);
}

/*
 * Opening libc's debug file faults in the pages of its inflated sections, not those of
 * their compressed bytes besides: each section's are read into the room of the sections
 * inflated after it (a buffer of their own was a fifth of the open's page faults, each
 * fault 2 to 3 us in a virtual machine).
 */
Test(dwarf_readers, inflate_faults_in_sections_only, .timeout = 60)
{
	size_t used, packed, page = (size_t)sysconf(_SC_PAGESIZE), faults;
	struct rusage before, after;
	struct debug_sizes z;
	struct sym_dwarf *d;
	char path[256];
	Elf *elf;
	int fd;

	elf = libc_debug_open(path, sizeof(path), &fd, &z);
	used = z.used;
	packed = z.packed;
	elf_end(elf);
	cr_assert_gt(packed, 1000000, "%s: its compressed sections", path);
	/* Large blocks mapped afresh, as at a record's first open (malloc raises the
	 * threshold as mapped blocks are freed, then reuses its heap's pages). */
	if (!mallopt(M_MMAP_THRESHOLD, 128 * 1024)) {
		close(fd);
		cr_skip_test("malloc is not glibc's (a sanitizer's): its pages are not these");
	}
	getrusage(RUSAGE_SELF, &before);
	d = sym_dwarf__open(fd);
	getrusage(RUSAGE_SELF, &after);
	cr_assert_not_null(d, "%s", path);
	faults = (size_t)(after.ru_minflt - before.ru_minflt);
	cr_expect_lt(faults * page, used + packed / 4,
		     "%zu page faults for %zu bytes inflated from %zu compressed", faults, used,
		     packed);
	sym_dwarf__free(d);
}

/* The most this process's address space has been, in kB (VmPeak). */
static long vm_peak_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPeak: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * A compressed section whose header states 4 GB for 7 kB of stream (found by fuzz_dwarf):
 * no deflate stream expands that much, so nothing is allocated for it (before, 4 GB
 * were), and the file is read as libelf leaves it.
 */
Test(dwarf_readers, inflate_size_lie)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	bool mangled[SYM_MAX_FRAMES];
	struct sym_dwarf *d;
	char path[1024];
	long before;
	int fd;

	snprintf(path, sizeof(path), "%s/inflate-size-lie.elf", getenv("PMUPROF_DWARF_DATA"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", path);
	before = vm_peak_kb();
	d = sym_dwarf__open(fd);
	if (d)
		cr_assert_geq(sym_dwarf__frames(d, 0x1139, true, f, SYM_MAX_FRAMES, mangled), 0);
	sym_dwarf__free(d);
	cr_assert_lt(vm_peak_kb() - before, 256 * 1024, "address space grew by %ld kB",
		     vm_peak_kb() - before);
}

/*
 * Compressed sections are inflated from bytes read from the file, not through libelf:
 * libelf holds no copy of the compressed bytes (it kept one until elf_end() beside the
 * inflated section), and each section is the size libelf's own header reader states.
 */
Test(dwarf_readers, inflated_without_libelf_copy)
{
	struct dw_file f;
	Elf_Scn *scn = NULL;
	size_t shstrndx, n = 0;
	char path[1024];
	Elf *ref;

	zlib_fixture(path, sizeof(path));
	cr_assert(dw_open(&f, path), "%s", path);
	ref = sym_elf__read(f.fd);
	cr_assert_not_null(ref);
	cr_assert_eq(elf_getshdrstrndx(f.elf, &shstrndx), 0);
	while ((scn = elf_nextscn(f.elf, scn))) {
		Elf_Scn *rscn = elf_getscn(ref, elf_ndxscn(scn));
		GElf_Shdr sh, rsh;
		GElf_Chdr ch;
		const char *name;

		cr_assert(gelf_getshdr(scn, &sh) && gelf_getshdr(rscn, &rsh));
		name = elf_strptr(f.elf, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".debug_", 7) || !(rsh.sh_flags & SHF_COMPRESSED))
			continue;
		cr_assert_not_null(gelf_getchdr(rscn, &ch), "%s", name);
		cr_expect_eq(sh.sh_flags & SHF_COMPRESSED, 0u, "%s left compressed", name);
		cr_expect_eq(elf_getdata(scn, NULL)->d_size, ch.ch_size, "%s", name);
		cr_expect_null(elf_rawdata(scn, NULL)->d_buf, "%s: libelf read its bytes", name);
		n++;
	}
	cr_expect_geq(n, 3u, "compressed .debug_ sections in %s", path);
	elf_end(ref);
	dw_close(&f);
}

/*
 * A unit made by hand: an inlined scope with an origin, then a call file of a form the scan
 * does not read (DW_FORM_strp), then a name of its own keeps libdw's path for both; one
 * with constant call sites (one an implicit constant) and no name gets them and its origin.
 */
Test(dwarf_readers, scan_call_sites_and_origins)
{
	static const uint8_t abbrev[] = {
		0x01, 0x11, 0x01, 0x00, 0x00,					  /* unit */
		0x02, 0x2e, 0x01, 0x11, 0x01, 0x12, 0x06, 0x00, 0x00,		  /* function */
		0x03, 0x2e, 0x00, 0x03, 0x08, 0x00, 0x00,			  /* origin */
		0x04, 0x1d, 0x00, 0x31, 0x13, 0x58, 0x0e, 0x03, 0x08, 0x11, 0x01, /* scope */
		0x12, 0x06, 0x00, 0x00, 0x05, 0x1d, 0x00, 0x59, 0x0b, 0x58, 0x21, /* scope */
		0x03, 0x31, 0x13, 0x11, 0x01, 0x12, 0x06, 0x00, 0x00, 0x00};
	static const uint8_t info
		[] = {0x44, 0,	  0,	0, 5, 0, 1, 8, 0, 0,	0, 0, /* header: 68 bytes, DWARF 5 */
		      0x01,					      /* 12: unit */
		      0x03, 'f',  0,				      /* 13: origin "f" */
		      0x02, 0,	  0x10, 0, 0, 0, 0, 0, 0, 0x40, 0, 0,	 0, /* 16: [0x1000, 0x1040) */
		      0x04, 13,	  0,	0, 0, 1, 0, 0, 0, 'g',	0, 0x10, 0x10, 0,
		      0,    0,	  0,	0, 0, 8, 0, 0, 0, 0x05, 7, 13,	 0,    0,
		      0,    0x20, 0x10, 0, 0, 0, 0, 0, 0, 8,	0, 0,	 0, /* 52 */
		      0,    0};
	struct die_scan_unit u = {
		info, abbrev, sizeof(info), sizeof(abbrev), 0, 12, sizeof(info), 0, 8, 4, 5, true};
	struct die_scan s = {0};

	cr_assert_eq(die_scan__unit(&s, &u), 0);
	cr_assert_eq(s.n, 3);
	cr_assert(s.nodes[0].off == 16 && s.nodes[0].pc && s.nodes[0].lo == 0x1000 &&
		  s.nodes[0].hi == 0x1040);
	cr_assert(s.nodes[1].off == 29 && s.nodes[1].pc && s.nodes[1].lo == 0x1010);
	cr_assert(!s.nodes[1].call && !s.nodes[1].origin, "named scope: origin %lu",
		  (unsigned long)s.nodes[1].origin);
	cr_assert(s.nodes[2].off == 52 && s.nodes[2].call && s.nodes[2].has_file &&
		  s.nodes[2].call_file == 3 && s.nodes[2].call_line == 7 &&
		  s.nodes[2].origin == 13);
	die_scan__free(&s);
}

/* Each kind of entry GCC and clang write, and the lists left to libdw. */
Test(dwarf_readers, range_lists)
{
	/* DWARF 5: base_address 0x1000, offset_pair 0x10 0x20, start_end, start_length, end */
	static const uint8_t v5[] = {0x05, 0x00, 0x10, 0,    0,	   0, 0, 0, 0,	  0x04,
				     0x10, 0x20, 0x06, 0x00, 0x20, 0, 0, 0, 0,	  0,
				     0,	   0x10, 0x20, 0,    0,	   0, 0, 0, 0,	  0x07,
				     0x00, 0x30, 0,    0,    0,	   0, 0, 0, 0x08, 0x00};
	/* DWARF 4: a pair from the CU's base, a base selection, a pair from it, the end */
	static const uint8_t v4[] = {0x01, 0,	 0,    0, 0x02, 0,    0, 0, 0xff, 0xff, 0xff,
				     0xff, 0x00, 0x50, 0, 0,	0x03, 0, 0, 0,	  0x04, 0,
				     0,	   0,	 0,    0, 0,	0,    0, 0, 0,	  0};
	static const uint8_t startx[] = {0x03, 0x00, 0x10, 0x00};
	struct range_list l = {.n = 0};

	cr_assert_eq(dwarf_ranges__read(v5, sizeof(v5), 0, true, 8, 0, range_keep, &l), 3);
	cr_assert(l.lo[0] == 0x1010 && l.hi[0] == 0x1020);
	cr_assert(l.lo[1] == 0x2000 && l.hi[1] == 0x2010);
	cr_assert(l.lo[2] == 0x3000 && l.hi[2] == 0x3008);
	l.n = 0;
	cr_assert_eq(dwarf_ranges__read(v4, sizeof(v4), 0, false, 4, 0x100, range_keep, &l), 2);
	cr_assert(l.lo[0] == 0x101 && l.hi[0] == 0x102);
	cr_assert(l.lo[1] == 0x5003 && l.hi[1] == 0x5004);
	/* indexed addresses (.debug_addr) are libdw's */
	cr_assert_eq(dwarf_ranges__read(startx, sizeof(startx), 0, true, 8, 0, range_keep, &l),
		     -EINVAL);
	/* a list without its end, or past the section, is not read */
	cr_assert_eq(dwarf_ranges__read(v5, sizeof(v5) - 1, 0, true, 8, 0, range_keep, &l),
		     -EINVAL);
	cr_assert_eq(dwarf_ranges__read(v4, sizeof(v4) - 4, 0, false, 4, 0, range_keep, &l),
		     -EINVAL);
	cr_assert_eq(dwarf_ranges__read(v4, sizeof(v4), sizeof(v4), false, 4, 0, range_keep, &l),
		     -EINVAL);
	cr_assert_eq(dwarf_ranges__read(v4, sizeof(v4), 0, false, 2, 0, range_keep, &l), -EINVAL);
}
