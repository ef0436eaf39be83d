// SPDX-License-Identifier: GPL-2.0
/*
 * Source lines and inline frames from DWARF, with elfutils' libdw: the file and line of an
 * address, and the chain of functions inlined there (DW_TAG_inlined_subroutine scopes),
 * as `addr2line -i` prints them. The ELF file is read through libelf with pread (never
 * mapped): debug files are untrusted input (docs/security.md), fuzzed by fuzz_dwarf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "symbolize.h"
#include "symbolize-private.h"

/* Source paths made absolute (comp_dir + "/" + name), kept as long as the DWARF. */
struct joined_path {
	struct joined_path *next;
	const char *dir, *name; /* the key: strings of the DWARF, stable while it is open */
	char path[];
};

#define JOINED_BUCKETS 4096
/* Nesting of inlined scopes and blocks followed under one function. */
#define MAX_SCOPE_DEPTH 64

/* An inlined scope or block of a function: its DIE and the scope it is in (-1: none). */
struct scope_node {
	Dwarf_Off die;
	int parent, depth;
};

struct scope_range {
	Dwarf_Addr lo, hi;
	int node;
};

/* The scopes of one function, read at its first lookup. */
struct fn_scopes {
	struct scope_node *nodes;
	struct scope_range *ranges;
	size_t nnodes, nranges, cap_nodes, cap_ranges;
};

/* Where a function's code is: one range of a DW_TAG_subprogram. */
struct fn_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
	struct fn_scopes *scopes; /* NULL until first looked in */
};

/* The functions of one compilation unit by address, built at its first lookup. */
struct cu_index {
	Dwarf_Off cu;
	struct fn_range *r;
	size_t nr;
};

struct sym_dwarf {
	struct joined_path *joined[JOINED_BUCKETS];
	int fd;
	Elf *elf;
	Dwarf *dw;
	struct fn_range *cu_ranges; /* every CU's ranges (die: the CU), sorted */
	size_t ncu_ranges;
	bool cu_ranges_built;
	struct cu_index *cus; /* sorted by CU offset */
	size_t ncus, cap;
};

static void fn_scopes__free(struct fn_scopes *f)
{
	if (!f)
		return;
	free(f->nodes);
	free(f->ranges);
	free(f);
}

struct sym_dwarf *sym_dwarf__open(int fd)
{
	struct sym_dwarf *d = calloc(1, sizeof(*d));

	if (!d) {
		close(fd);
		return NULL;
	}
	d->fd = fd;
	d->elf = sym_elf__read(fd);
	d->dw = d->elf ? dwarf_begin_elf(d->elf, DWARF_C_READ, NULL) : NULL;
	if (!d->dw) {
		sym_dwarf__free(d);
		return NULL;
	}
	return d;
}

void sym_dwarf__free(struct sym_dwarf *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < JOINED_BUCKETS; i++) {
		while (d->joined[i]) {
			struct joined_path *n = d->joined[i]->next;

			free(d->joined[i]);
			d->joined[i] = n;
		}
	}
	if (d->dw)
		dwarf_end(d->dw);
	if (d->elf)
		elf_end(d->elf);
	for (i = 0; i < d->ncus; i++) {
		size_t j;

		for (j = 0; j < d->cus[i].nr; j++)
			fn_scopes__free(d->cus[i].r[j].scopes);
		free(d->cus[i].r);
	}
	free(d->cus);
	free(d->cu_ranges);
	close(d->fd);
	free(d);
}

static int index_function(struct cu_index *ci, size_t *cap, Dwarf_Die *die);

static int cu_range_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The ranges of every CU, sorted: one pass over the CU headers at the first lookup. */
static int index_cus(struct sym_dwarf *d)
{
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0;
	Dwarf_Die cu;

	d->cu_ranges_built = true;
	while (!dwarf_nextcu(d->dw, off, &next, &hsize, NULL, NULL, NULL)) {
		struct cu_index ci = {0, d->cu_ranges, d->ncu_ranges};

		if (dwarf_offdie(d->dw, off + hsize, &cu) && index_function(&ci, &cap, &cu))
			return -ENOMEM;
		d->cu_ranges = ci.r;
		d->ncu_ranges = ci.nr;
		off = next;
	}
	if (d->ncu_ranges)
		qsort(d->cu_ranges, d->ncu_ranges, sizeof(*d->cu_ranges), cu_range_cmp);
	return 0;
}

/* The compilation unit holding pc, through the index of CU ranges. */
static bool find_cu(struct sym_dwarf *d, Dwarf_Addr pc, Dwarf_Die *cu)
{
	size_t lo = 0, hi, i, back;

	if (!d->cu_ranges_built)
		index_cus(d);
	if (!d->ncu_ranges || pc < d->cu_ranges[0].lo)
		return false;
	hi = d->ncu_ranges;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->cu_ranges[mid].lo <= pc)
			lo = mid;
		else
			hi = mid;
	}
	/* CU ranges rarely overlap; a few entries back covers those that do. */
	for (i = lo + 1, back = 0; i-- > 0 && back < 8; back++)
		if (pc >= d->cu_ranges[i].lo && pc < d->cu_ranges[i].hi)
			return dwarf_offdie(d->dw, d->cu_ranges[i].die, cu) != NULL;
	return false;
}

/*
 * A relative source path under the CU's compilation directory, as addr2line prints it
 * (not normalized: "/build/dir/../src/x.c"). NULL stays NULL; absolute paths stay.
 */
static const char *full_path(struct sym_dwarf *d, Dwarf_Die *cu, const char *name)
{
	Dwarf_Attribute attr;
	const char *dir;
	struct joined_path *j;
	size_t len;
	uint32_t b;

	if (!name || name[0] == '/')
		return name;
	dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	if (!dir || !*dir)
		return name;
	b = (uint32_t)((((uintptr_t)dir >> 3) * 31 + ((uintptr_t)name >> 3)) % JOINED_BUCKETS);
	for (j = d->joined[b]; j; j = j->next)
		if (j->dir == dir && j->name == name)
			return j->path;
	len = strlen(dir) + 1 + strlen(name) + 1;
	j = malloc(sizeof(*j) + len);
	if (!j)
		return name;
	j->dir = dir;
	j->name = name;
	snprintf(j->path, len, "%s/%s", dir, name);
	j->next = d->joined[b];
	d->joined[b] = j;
	return j->path;
}

static int fn_range_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The ranges of a concrete function (declarations have none). */
static int index_function(struct cu_index *ci, size_t *cap, Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (ci->nr == *cap) {
			size_t n = *cap ? *cap * 2 : 64;
			struct fn_range *r = realloc(ci->r, n * sizeof(*r));

			if (!r)
				return -ENOMEM;
			ci->r = r;
			*cap = n;
		}
		ci->r[ci->nr++] = (struct fn_range){lo, hi, dwarf_dieoffset(die), NULL};
	}
	return 0;
}

/* Functions at the top of a CU and inside namespaces and classes (C++). */
static int index_children(struct cu_index *ci, size_t *cap, Dwarf_Die *parent, int depth)
{
	Dwarf_Die c;
	int err = 0;

	if (depth > 16 || dwarf_child(parent, &c))
		return 0;
	do {
		switch (dwarf_tag(&c)) {
		case DW_TAG_subprogram:
			err = index_function(ci, cap, &c);
			break;
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_module:
			err = index_children(ci, cap, &c, depth + 1);
			break;
		}
	} while (!err && dwarf_siblingof(&c, &c) == 0);
	return err;
}

/*
 * The index of a CU, built at its first lookup: one pass over its top-level DIEs, so a
 * lookup does not walk the whole CU (dwarf_getscopes does, and costs 10 times addr2line).
 */
static struct cu_index *cu_index(struct sym_dwarf *d, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	size_t lo = 0, hi = d->ncus, cap = 0;
	struct cu_index ci = {off, NULL, 0};

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->cus[mid].cu == off)
			return &d->cus[mid];
		if (d->cus[mid].cu < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (d->ncus == d->cap) {
		size_t n = d->cap ? d->cap * 2 : 16;
		struct cu_index *c = realloc(d->cus, n * sizeof(*c));

		if (!c)
			return NULL;
		d->cus = c;
		d->cap = n;
	}
	if (index_children(&ci, &cap, cu, 0)) {
		free(ci.r);
		return NULL;
	}
	if (ci.nr)
		qsort(ci.r, ci.nr, sizeof(*ci.r), fn_range_cmp);
	memmove(&d->cus[lo + 1], &d->cus[lo], (d->ncus - lo) * sizeof(*d->cus));
	d->cus[lo] = ci;
	d->ncus++;
	return &d->cus[lo];
}

/* The function range that holds pc, through the CU's index; NULL if none. */
static struct fn_range *function_at(struct sym_dwarf *d, Dwarf_Die *cu, Dwarf_Addr pc)
{
	struct cu_index *ci = cu_index(d, cu);
	size_t lo = 0, hi, i, back;

	if (!ci || !ci->nr || pc < ci->r[0].lo)
		return NULL;
	hi = ci->nr;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ci->r[mid].lo <= pc)
			lo = mid;
		else
			hi = mid;
	}
	/* Ranges of functions do not nest; a few entries back covers odd overlaps. */
	for (i = lo + 1, back = 0; i-- > 0 && back < 8; back++)
		if (pc >= ci->r[i].lo && pc < ci->r[i].hi)
			return &ci->r[i];
	return NULL;
}

static int scope_add(struct fn_scopes *f, Dwarf_Die *die, int parent, int depth)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	int node = (int)f->nnodes;

	if (f->nnodes == f->cap_nodes) {
		size_t n = f->cap_nodes ? f->cap_nodes * 2 : 16;
		struct scope_node *p = realloc(f->nodes, n * sizeof(*p));

		if (!p)
			return -1;
		f->nodes = p;
		f->cap_nodes = n;
	}
	f->nodes[f->nnodes++] = (struct scope_node){dwarf_dieoffset(die), parent, depth};
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (f->nranges == f->cap_ranges) {
			size_t n = f->cap_ranges ? f->cap_ranges * 2 : 16;
			struct scope_range *p = realloc(f->ranges, n * sizeof(*p));

			if (!p)
				return -1;
			f->ranges = p;
			f->cap_ranges = n;
		}
		f->ranges[f->nranges++] = (struct scope_range){lo, hi, node};
	}
	return node;
}

/* Every inlined scope and block under die, with the scope each is in. */
static int scope_walk(struct fn_scopes *f, Dwarf_Die *die, int parent, int depth)
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

/* The scopes of a function: read once (one walk of its DIEs), then only ranges. */
static struct fn_scopes *fn_scopes(struct sym_dwarf *d, struct fn_range *r)
{
	Dwarf_Die fn;

	if (r->scopes)
		return r->scopes;
	r->scopes = calloc(1, sizeof(*r->scopes));
	if (!r->scopes || !dwarf_offdie(d->dw, r->die, &fn) ||
	    scope_add(r->scopes, &fn, -1, 0) != 0 || scope_walk(r->scopes, &fn, 0, 1)) {
		fn_scopes__free(r->scopes);
		r->scopes = NULL;
	}
	return r->scopes;
}

/*
 * The scopes at pc, innermost first, ending with the function: the deepest inlined scope
 * or block holding pc and every scope it is in, as eu-addr2line -i follows the DIE tree
 * (an outer inlined scope need not hold pc itself). Through the CU's index of functions,
 * else as libdw's dwarf_getscopes finds them.
 */
static int scopes_at(struct sym_dwarf *d, Dwarf_Die *cu, Dwarf_Addr pc,
		     Dwarf_Die scopes[MAX_SCOPE_DEPTH])
{
	Dwarf_Die *found = NULL;
	struct fn_range *r = function_at(d, cu, pc);
	struct fn_scopes *f = r ? fn_scopes(d, r) : NULL;
	int best = 0, n = 0, i;
	Dwarf_Die inner;

	if (f) {
		for (i = 0; i < (int)f->nranges; i++) {
			const struct scope_range *sr = &f->ranges[i];

			if (pc >= sr->lo && pc < sr->hi &&
			    f->nodes[sr->node].depth > f->nodes[best].depth)
				best = sr->node;
		}
		/* Only the function: nothing inlined here (no scope needed). */
		if (!best)
			return 0;
		for (i = best; i >= 0 && n < MAX_SCOPE_DEPTH; i = f->nodes[i].parent)
			if (dwarf_offdie(d->dw, f->nodes[i].die, &scopes[n]))
				n++;
		return n;
	}
	n = dwarf_getscopes(cu, pc, &found);
	if (n > 0) {
		inner = found[0];
		free(found);
		found = NULL;
		n = dwarf_getscopes_die(&inner, &found);
	}
	for (i = 0; i < n && i < MAX_SCOPE_DEPTH; i++)
		scopes[i] = found[i];
	free(found);
	return n < MAX_SCOPE_DEPTH ? n : MAX_SCOPE_DEPTH;
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

/* Where an inlined function was called from: its DW_AT_call_file and DW_AT_call_line. */
static void call_site(struct sym_dwarf *d, Dwarf_Die *cu, Dwarf_Die *scope, const char **file,
		      unsigned int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word idx = 0, ln = 0;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attr), &ln) == 0)
		*line = (unsigned int)ln;
	if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attr), &idx) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles)
		*file = full_path(d, cu, dwarf_filesrc(files, idx, NULL, NULL));
}

/*
 * out[0] (the function of the symbol table, named by the caller) gets its file and line;
 * with inline_frames, out[1..] get the functions inlined at pc, outermost first, each
 * with the line it is at. Returns the number of frames filled (1 + inlined), 0 when the
 * DWARF does not cover pc.
 */
int sym_dwarf__frames(struct sym_dwarf *d, uint64_t pc, bool inline_frames, struct sym_frame *out,
		      int max, bool *mangled)
{
	Dwarf_Die cu, scopes[MAX_SCOPE_DEPTH];
	Dwarf_Line *dl;
	const char *file = NULL;
	unsigned int line = 0;
	int lineno = 0, n, i, nin = 0, k;

	if (!d || max < 1 || !find_cu(d, pc, &cu))
		return 0;
	dl = dwarf_getsrc_die(&cu, pc);
	if (dl && dwarf_lineno(dl, &lineno) == 0) {
		file = full_path(d, &cu, dwarf_linesrc(dl, NULL, NULL));
		line = lineno > 0 ? (unsigned int)lineno : 0;
	}
	n = inline_frames ? scopes_at(d, &cu, pc, scopes) : 0;
	/*
	 * scopes[0] is the innermost. Every inlined scope is a frame, also past a subprogram
	 * scope (GCC's split functions nest that way), as addr2line -i and eu-addr2line -i
	 * count them.
	 */
	for (i = 0; i < n && nin < max - 1; i++)
		if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine)
			nin++;
	/* Fill from the innermost outwards: frame k holds the line it is at. */
	k = nin;
	for (i = 0; i < n && k > 0; i++) {
		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		out[k].kind = SYM_FRAME_FUNCTION;
		out[k].function = inline_name(&scopes[i], &mangled[k]);
		out[k].inlined = true;
		out[k].file = file;
		out[k].line = line;
		if (!out[k].function)
			out[k].function = "[inlined]";
		call_site(d, &cu, &scopes[i], &file, &line);
		k--;
	}
	out[0].file = file;
	out[0].line = line;
	return 1 + nin;
}
