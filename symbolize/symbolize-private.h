/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the files of symbolize/ only. */
#ifndef PMUPROF_SYMBOLIZE_PRIVATE_H
#define PMUPROF_SYMBOLIZE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>
#include <sys/stat.h>
#include <sys/types.h>

/* FNV-1a over a C string: for the path and ELF caches. */
static inline uint32_t sym_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/*
 * Sorted addresses searched through every ADDR_INDEX_STRIDE-th of them first: a lookup
 * reads a few cache lines (the sparse keys stay cached), not one per step of a binary
 * search over large records. keys[] is the caller's, filled in order before the build.
 */
#define ADDR_INDEX_STRIDE 16

struct addr_index {
	uint64_t *keys, *top;
	size_t n, ntop;
};

/* Room for n keys; then fill keys[0..n) (sorted) and call addr_index__build(). */
int addr_index__alloc(struct addr_index *ix, size_t n);
int addr_index__build(struct addr_index *ix);
void addr_index__free(struct addr_index *ix);

/* The last i with keys[i] <= addr, or -1 when addr is below every key. */
static inline long addr_index__find(const struct addr_index *ix, uint64_t addr)
{
	size_t lo = 0, hi = ix->ntop, i, end;

	if (!ix->n || addr < ix->keys[0])
		return -1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->top[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	i = lo * ADDR_INDEX_STRIDE;
	end = i + ADDR_INDEX_STRIDE < ix->n ? i + ADDR_INDEX_STRIDE : ix->n;
	while (i + 1 < end && ix->keys[i + 1] <= addr)
		i++;
	return (long)i;
}

/* A function symbol of an ELF file. */
struct elf_sym {
	unsigned long addr, size;
	const char *name;
	unsigned char bind; /* STB_GLOBAL, STB_WEAK, STB_LOCAL */
};

/* The last function symbol at or before vaddr (as elf_syms__at numbers them), -1: none. */
struct elf_syms;
long elf_syms__index(const struct elf_syms *es, unsigned long vaddr);

/* Which of two symbols at one address names it (negative: a); elf.c documents the rule. */
int elf_sym__alias_cmp(const struct elf_sym *a, const struct elf_sym *b);

/* NT_GNU_BUILD_ID of an ELF file into out: its length, 0 when absent (or longer than max). */
size_t elf_read_build_id(Elf *elf, unsigned char *out, size_t max);
/* libelf on fd, read rather than mapped (a profiled process may truncate its files). NULL
 * + errno. */
Elf *sym_elf__read(int fd);

/* Buffers that hold inflated sections of an Elf: freed after its elf_end. */
struct inflated {
	void **buf;
	size_t n, cap;
};
/*
 * The zlib-compressed .debug_* sections inflated (dwarf-inflate.c) into one block that z
 * holds, for libdw to read as they are; those that do not inflate are left compressed.
 * Their compressed bytes are read from fd (elf's file), never held by libelf. -ENOMEM or
 * -EINVAL (a section's data could not be replaced), else 0.
 */
int sections_inflate(Elf *elf, int fd, struct inflated *z);
/*
 * The compression header of a SHF_COMPRESSED section, read from fd (elf's file), not
 * through libelf (which would keep the whole section's bytes until elf_end()): the section
 * must lie within the file and hold more than the header. Returns the header's size, 0
 * when there is none to read.
 */
size_t section_chdr(Elf *elf, int fd, const GElf_Shdr *sh, GElf_Chdr *ch);
void inflated__free(struct inflated *z);

/* ---- where a DWARF unit's functions and inlined scopes are (dwarf-scan.c) ---- */

/* Nesting of inlined scopes and blocks followed under a function (as dwarf.c does). */
#define DIE_SCAN_MAX_DEPTH 64

/*
 * A DIE kept: a function (parent -1, depth 0) or an inlined subroutine or lexical block
 * under one (parent: the node it is in; depth from the function). Nodes are in the
 * order of the unit: a function's scopes follow it.
 */
struct die_node {
	uint64_t off; /* in .debug_info */
	int parent, depth;
	unsigned int tag;
	bool pc; /* its code is [lo, hi), as dwarf_ranges gives it; false: ask libdw */
	uint64_t lo, hi;
	uint64_t ranges; /* its DW_AT_ranges as a DW_FORM_sec_offset, plus 1; 0: none */
	/* An inlined scope's call site as dwarf_formudata reads it (call_line 0 and !has_file
	 * when absent); false: ask libdw */
	bool call, has_file;
	uint64_t call_file, call_line;
	uint64_t origin; /* an inlined scope without names of its own: its DW_AT_abstract_origin
			  * in the unit, where its names are (0: ask libdw) */
	/* With origin: its name as dwarf.c's inline_name gives it through libdw (the linkage
	 * name, else the MIPS one, else DW_AT_name, each through abstract origins and
	 * specifications in the unit); mangled: a linkage name. false: ask libdw. */
	bool named, mangled;
	const char *name; /* NULL: none */
};

struct die_scan {
	struct die_node *nodes;
	size_t n, cap;
};

/* A unit to read: .debug_info and .debug_abbrev, the unit's place and header fields. */
struct die_scan_unit {
	const uint8_t *info, *abbrev;
	size_t info_size, abbrev_size;
	uint64_t unit_off, die_off, end_off; /* its header, its DIE, its end */
	uint64_t abbrev_off;
	unsigned int addr_size, off_size, version;
	bool c_lang; /* C: structures and unions hold no functions, are not entered */
	const uint8_t *str, *line_str; /* for the origins' names (NULL: libdw reads them) */
	size_t str_size, line_str_size;
};

/* The unit's functions and their scopes into out (emptied first); -EINVAL when the unit
 * cannot be read so (for libdw to walk instead), -ENOMEM. */
int die_scan__unit(struct die_scan *out, const struct die_scan_unit *in);
void die_scan__free(struct die_scan *s);

/*
 * A unit's own DIE (DW_TAG_compile_unit or partial_unit) read straight from its bytes
 * (dwarf-scan.c): its header and the attributes dwarf.c asks of it, as libdw reads them.
 * What is not read here (an attribute whose form it does not read) is marked unread, for
 * dwarf.c to ask libdw.
 */
struct cu_die_in {
	const uint8_t *info, *abbrev, *str,
		*line_str; /* the sections (str, line_str: may be NULL) */
	size_t info_size, abbrev_size, str_size, line_str_size;
	uint64_t unit_off; /* the unit's header in .debug_info */
	uint64_t hint;	   /* cu_die.found + 1 of an earlier read of this unit; 0: none */
};

enum cu_die_unread {
	CU_UNREAD_PC = 1,	 /* DW_AT_low_pc, DW_AT_high_pc or DW_AT_ranges */
	CU_UNREAD_COMP_DIR = 2,	 /* DW_AT_comp_dir */
	CU_UNREAD_STMT_LIST = 4, /* DW_AT_stmt_list */
	CU_UNREAD_LANGUAGE = 8,	 /* DW_AT_language */
	CU_UNREAD_NAME = 16,	 /* DW_AT_name */
};

struct cu_die {
	unsigned int version, unit_type, addr_size, off_size;
	uint64_t die_off, end_off, abbrev_off; /* in .debug_info, .debug_abbrev */
	unsigned int tag;
	unsigned int unread; /* enum cu_die_unread */
	bool has_low_pc, has_high_pc, has_ranges, has_stmt_list, has_language, dwo;
	uint64_t low_pc, high_pc; /* high_pc: the address (a constant's added to low_pc) */
	uint64_t ranges;	  /* DW_AT_ranges, a DW_FORM_sec_offset or data4 */
	uint64_t stmt_list, language;
	const char *name, *comp_dir; /* NULL: none */
	uint64_t found; /* where its abbreviation is in .debug_abbrev (for cu_die_in.hint) */
};

/* The unit's header and DIE into out; -EINVAL when the header or DIE cannot be read
 * here (a split, skeleton or type unit, a damaged one: libdw then). */
int cu_die__read(struct cu_die *out, const struct cu_die_in *in);

/* ---- a unit's line table (dwarf-line.c) ---- */

/* Where a unit's line program is: .debug_line, the strings its header may name. */
struct line_program {
	const uint8_t *line, *str, *line_str;
	size_t size, str_size, line_str_size;
	uint64_t off;		/* the unit's DW_AT_stmt_list */
	unsigned int addr_size; /* the unit's */
	const char *comp_dir;	/* the unit's DW_AT_comp_dir, NULL: none */
};

/* A row: its address, its file (an index into files), line, end of a sequence. */
struct line_rec {
	uint64_t addr;
	uint32_t file;
	int32_t line;
	bool end;
};

/* The rows of a unit sorted as libdw sorts them, and its files named as libdw names them. */
struct line_rows {
	struct line_rec *rows;
	size_t n, cap;
	char **files;
	size_t nfiles, cap_files;
};

/* -EINVAL when the table is invalid, -ENOTSUP when it uses what is not read here: libdw
 * reads it then. -ENOMEM. */
int line_rows__read(struct line_rows *t, const struct line_program *in);

/* A range [lo, hi) of a range list; nonzero stops the list (no memory). */
typedef int (*dwarf_range_fn)(void *arg, uint64_t lo, uint64_t hi);
/*
 * The range list at off of .debug_rnglists (rnglists) or .debug_ranges, from base, each
 * range given to add (dwarf-ranges.c). Returns how many, -EINVAL for a list not read here
 * (indexed addresses, cut short, out of the section: libdw reads it), -ENOMEM.
 */
int dwarf_ranges__read(const uint8_t *sec, size_t size, uint64_t off, bool rnglists,
		       unsigned int addr_size, uint64_t base, dwarf_range_fn add, void *arg);
void line_rows__free(struct line_rows *t);

/* ---- opening files that profiled processes control (fileopen.c, docs/security.md) ---- */

/* Supplementary groups kept per process; more are cut (fewer groups, less access). */
#define PROC_CRED_MAX_GROUPS 32
/* The overflow uid/gid ("nobody"): the credentials of a process that is not known. */
#define PROC_CRED_NOBODY 65534

/* The file-system credentials of a profiled process (from /proc/PID/status). */
struct proc_cred {
	uid_t ruid, euid, fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[PROC_CRED_MAX_GROUPS];
};

/* Read pid's credentials and, if nspid is not NULL, its pid in its own namespace. */
int proc_cred__read(struct proc_cred *c, const char *proc_root, pid_t pid, pid_t *nspid);
/* The credentials of a process that is gone and was never seen: nobody, no groups. */
void proc_cred__nobody(struct proc_cred *c);
/* Does the file's owner pass perf's rule for perf maps: the process's user or root? */
bool proc_cred__owns(const struct proc_cred *c, uid_t owner);

enum sym_open_flags {
	SYM_OPEN_NOFOLLOW = 1 << 0,  /* the last component must not be a symbolic link */
	SYM_OPEN_MAGICLINK = 1 << 1, /* the path is a /proc magic link (map_files) */
};

/*
 * Open a regular file for reading without blocking. rootfd >= 0: path is resolved
 * inside that directory as its root (openat2 RESOLVE_IN_ROOT, no magic links);
 * rootfd < 0: from our own root, magic links refused unless SYM_OPEN_MAGICLINK.
 * cred: open with these file-system credentials (NULL: our own). *st is filled.
 * Returns the fd, or -ELOOP (a symbolic link where none is allowed, a magic link),
 * -EINVAL (not a regular file), -EFBIG (over max_size), another negative errno.
 */
int sym_file__open(int rootfd, const char *path, const struct proc_cred *cred, unsigned flags,
		   uint64_t max_size, struct stat *st);
/* Is openat2() missing (Linux < 5.6)? Then see the fallback in docs/security.md. */
bool sym_file__no_openat2(void);
/* Take the fallback as if openat2() were missing (for tests). */
void sym_file__set_no_openat2(bool no);

/* Size limit for ELF and debug files (the CRC reads at most this much). */
#define SYM_MAX_ELF_SIZE (4ULL << 30)

/* ---- source lines and inline frames (dwarf.c) ---- */
struct sym_dwarf;
struct sym_frame;

/* The DWARF of an ELF file (takes fd, read with pread). NULL when it has none. */
struct sym_dwarf *sym_dwarf__open(int fd);
/* Same, and before its sections are read, room(arg, bytes) with what they will take: the
 * caller's budget makes room for them. */
struct sym_dwarf *sym_dwarf__open_room(int fd, void (*room)(void *arg, size_t bytes), void *arg);
void sym_dwarf__free(struct sym_dwarf *d);
/*
 * The file's symbols (which live longer than d): its table then also holds the symbol
 * table's name of each address, given by sym_dwarf__frames_sym. Before the first lookup.
 */
void sym_dwarf__set_symbols(struct sym_dwarf *d, const struct elf_syms *syms);
/* Free d but keep its file open: the fd to open it again with (-1 when d is NULL). */
int sym_dwarf__drop(struct sym_dwarf *d);
/* What d holds in memory, roughly (sections read, line tables, indexes). */
size_t sym_dwarf__bytes(const struct sym_dwarf *d);
/* Of which libdw's (the sections and libdw's line tables): 0 once shed. */
size_t sym_dwarf__lib_bytes(const struct sym_dwarf *d);
/*
 * Free libdw's part, keep the table (what lookups in the compilation units read so far
 * need, names and paths included): frames handed out stay valid. A lookup that needs
 * libdw again (a unit not yet read) reads the sections again. Returns the bytes freed.
 */
size_t sym_dwarf__shed(struct sym_dwarf *d);
/* How many lookups so far needed libdw (a unit read, a unit's scopes searched): when it
 * stops growing, libdw's part only holds memory. */
uint64_t sym_dwarf__lib_uses(const struct sym_dwarf *d);
/* Of sym_dwarf__lib_bytes(), libdw's line tables of the units read (libdw keeps each one
 * until it is shed, though the table holds what they gave). */
size_t sym_dwarf__lines_bytes(const struct sym_dwarf *d);
/* Give back the room the table keeps for its growth; the bytes given back. */
size_t sym_dwarf__trim(struct sym_dwarf *d);
/*
 * At link-time address pc: out[0].file/line, and with inline_frames out[1..] the functions
 * inlined there, outermost first (mangled[i]: out[i].function is a linkage name). Returns
 * the frames filled, 0 when the DWARF does not cover pc (or d is NULL).
 */
int sym_dwarf__frames(struct sym_dwarf *d, uint64_t pc, bool inline_frames, struct sym_frame *out,
		      int max, bool *mangled);
/*
 * Same, and *sym: the symbol table's name at pc (NULL: none) when frames were filled.
 * found: what sym_dwarf__prefetch gave for pc on this d (0: look pc up).
 */
int sym_dwarf__frames_sym(struct sym_dwarf *d, uint64_t pc, uint32_t found, bool inline_frames,
			  struct sym_frame *out, int max, bool *mangled, const char **sym);
/* Addresses sym_dwarf__prefetch takes at most: the first of a longer list. */
#define SYM_DWARF_PREFETCH 64
/*
 * Ask ahead for what the lookups of pcs will read (no effect on their answers); found
 * (NULL or n entries) gets for each pc what its lookup on d may start from instead of
 * searching again (0: nothing yet), valid while d is not freed or dropped.
 */
void sym_dwarf__prefetch(const struct sym_dwarf *d, const uint64_t *pcs, size_t n, uint32_t *found);

/* ---- debuginfod (debuginfod.c) ---- */
struct sym_debuginfod;

/* A client when DEBUGINFOD_URLS names servers (NULL otherwise); queries share budget_ns. */
struct sym_debuginfod *sym_debuginfod__new(uint64_t budget_ns);
void sym_debuginfod__free(struct sym_debuginfod *d);
/* Called while a transfer runs (build id in hex, bytes done and expected, -1 unknown);
 * non-zero stops it. */
void sym_debuginfod__set_progress(struct sym_debuginfod *d,
				  int (*fn)(void *arg, const char *build_id, long done, long total),
				  void *arg);
/* The debug file of a build id (from the cache or a server), opened as an untrusted file:
 * an fd, or a negative errno (-ETIME: the budget is spent). */
int sym_debuginfod__find(struct sym_debuginfod *d, const unsigned char *id, size_t len);
const struct sym_debuginfod_stats *sym_debuginfod__stats(const struct sym_debuginfod *d);
uint64_t sym_debuginfod__spent_ns(const struct sym_debuginfod *d);

struct aspaces;
/* The credentials seen for pid (at its first snapshot, fork or exec), or NULL. */
const struct proc_cred *aspaces__cred(const struct aspaces *as, pid_t pid);
/* Where aspaces__exec() reads the credentials of a process that just exec'd. */
int aspaces__set_proc_root(struct aspaces *as, const char *proc_root);
/*
 * May /proc/PID/maps be read again for pid's generation (the selected one, else the
 * latest)? 1 once per live generation, 0 after that or once it exited (the pid may name
 * another process by now), -ENOENT when pid has no generation.
 */
int aspaces__claim_reload(struct aspaces *as, pid_t pid);
/*
 * Where the perf map of pid's generation is kept (freed with the generation), NULL when
 * pid has none; *read: whether it was read already (from now on it counts as read).
 */
struct jitmap **aspaces__jit_slot(struct aspaces *as, pid_t pid, bool *read);
/* fn(obj) for the resolved object of every mapping kept (old images included). */
void aspaces__for_each_obj(const struct aspaces *as, void (*fn)(void *obj, void *arg), void *arg);

#endif
