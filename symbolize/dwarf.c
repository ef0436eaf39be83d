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
	char path[];
};

#define JOINED_BUCKETS 256

struct sym_dwarf {
	struct joined_path *joined[JOINED_BUCKETS];
	int fd;
	Elf *elf;
	Dwarf *dw;
	Dwarf_Die last_cu; /* the CU of the previous lookup, tried first */
	bool has_last;
};

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
	close(d->fd);
	free(d);
}

/* The compilation unit holding pc: .debug_aranges, else every CU's ranges. */
static bool find_cu(struct sym_dwarf *d, Dwarf_Addr pc, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (d->has_last && dwarf_haspc(&d->last_cu, pc) > 0) {
		*cu = d->last_cu;
		return true;
	}
	if (!dwarf_addrdie(d->dw, pc, cu)) {
		while (!dwarf_nextcu(d->dw, off, &next, &hsize, NULL, NULL, NULL)) {
			if (dwarf_offdie(d->dw, off + hsize, cu) && dwarf_haspc(cu, pc) > 0)
				goto found;
			off = next;
		}
		return false;
	}
found:
	d->last_cu = *cu;
	d->has_last = true;
	return true;
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
	len = strlen(dir) + 1 + strlen(name) + 1;
	b = (sym_hash_str(dir) ^ sym_hash_str(name)) % JOINED_BUCKETS;
	for (j = d->joined[b]; j; j = j->next)
		if (!strncmp(j->path, dir, strlen(dir)) && j->path[strlen(dir)] == '/' &&
		    !strcmp(j->path + strlen(dir) + 1, name))
			return j->path;
	j = malloc(sizeof(*j) + len);
	if (!j)
		return name;
	snprintf(j->path, len, "%s/%s", dir, name);
	j->next = d->joined[b];
	d->joined[b] = j;
	return j->path;
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
	Dwarf_Die cu, *scopes = NULL;
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
	n = inline_frames ? dwarf_getscopes(&cu, pc, &scopes) : 0;
	if (n > 0) {
		/* From the innermost scope outwards through the DIE tree, as eu-addr2line -i
		 * walks it: this also finds the scopes of a split function's parent. */
		Dwarf_Die inner = scopes[0];

		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&inner, &scopes);
	}
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
	free(scopes);
	out[0].file = file;
	out[0].line = line;
	return 1 + nin;
}
