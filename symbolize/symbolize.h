/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Symbolization: kernel symbols (kallsyms), ELF symbol tables (libelf), the address
 * spaces of processes (snapshot from /proc plus live mmap/fork/exec tracking) and the
 * symbolizer that names a frame.
 */
#ifndef PMUPROF_SYMBOLIZE_H
#define PMUPROF_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <libelf.h>
#include "bpf/unwind.h"

/* ---- kernel symbols ---- */
struct ksym {
	unsigned long addr;
	const char *name;
	const char *module; /* NULL for the core kernel */
};

struct ksyms;

/* Parse a kallsyms file (text symbols only). NULL + errno on failure. */
struct ksyms *ksyms__load(const char *path);
/* Same, from an open stream. */
struct ksyms *ksyms__load_file(FILE *f);
void ksyms__free(struct ksyms *ks);
size_t ksyms__count(const struct ksyms *ks);
/* kptr_restrict hid the addresses (every address read as 0). */
bool ksyms__hidden(const struct ksyms *ks);
/*
 * The symbol containing addr (greatest address <= addr) into out, its strings valid while
 * ks is; false: none.
 */
bool ksyms__lookup(const struct ksyms *ks, unsigned long addr, struct ksym *out);
/* Whether kernel addresses are hidden, from the file's first code symbol (no full parse). */
bool ksyms__probe_hidden(const char *path);
/*
 * A table of the names the kernel gives for the addresses asked (its %pS): empty at first;
 * ksyms__add_named() adds the lines "ADDR NAME+0xOFF/0xSIZE [MODULE]" (the module part
 * only for modules) or "ADDR 0x..." (no symbol holds ADDR) in text[0, len), which must be
 * followed by a NUL and is modified. Each symbol is known from its start to its end: the
 * lookups above answer for those only. 0 or -errno (EBADMSG: a malformed line; the lines
 * before it are kept).
 */
struct ksyms *ksyms__new_named(void);
int ksyms__add_named(struct ksyms *ks, char *text, size_t len);
/* Whether the table answers for addr: always for a whole table; for a table of names, when
 * a symbol it holds covers addr or addr itself was asked and had none; never for NULL. */
bool ksyms__knows(const struct ksyms *ks, unsigned long addr);

/* ---- ELF symbol tables ---- */
struct elf_syms;

/* Load .symtab (else .dynsym) function symbols and the PT_LOAD segments. NULL + errno. */
struct elf_syms *elf_syms__load(const char *path);
struct elf_syms *elf_syms__load_fd(int fd);
/* From an image in memory (the vDSO). */
struct elf_syms *elf_syms__load_mem(const void *image, size_t size);
void elf_syms__free(struct elf_syms *es);
/* Has a .debug_info section (DWARF: lines, inline frames)? */
bool elf_syms__has_dwarf(const struct elf_syms *es);
/* Had a .symtab (or MiniDebugInfo), not only .dynsym? */
bool elf_syms__has_symtab(const struct elf_syms *es);
/* NT_GNU_BUILD_ID; returns its length (0 when absent). */
size_t elf_syms__build_id(const struct elf_syms *es, unsigned char *out, size_t max);
/* .gnu_debuglink file name (and its CRC32), or NULL. */
const char *elf_syms__debuglink(const struct elf_syms *es, uint32_t *crc);
/* What an x86-64 binary's functions do with frame pointers (symbolize/framecensus.c). */
struct frame_census {
	int functions;	     /* examined (the toolchain's start-up code and cold parts left out) */
	int callers;	     /* call others: a frame-pointer walk needs their frames */
	int callers_with_fp; /* of those, set up one (push %rbp; mov %rsp,%rbp) */
	int leaves;	     /* call nothing: found from the sample's registers, no frame needed */
	bool from_fdes;	     /* no symbol table: functions are the FDEs of .eh_frame_hdr */
	bool go;	     /* a Go binary (Go keeps frame pointers on amd64) */
};

/*
 * -EOPNOTSUPP on other machines, -ENODATA when nothing says where functions start,
 * -ELIBACC or -ELIBBAD when capstone cannot be loaded (frame_census__lib_strerror says why).
 */
int frame_census__read(const char *path, struct frame_census *c);
const char *frame_census__lib_strerror(char *buf, size_t sz);
/* Adopt the symbols of a separate debug file; segments stay es's own. */
int elf_syms__merge(struct elf_syms *es, const struct elf_syms *debug);
size_t elf_syms__count(const struct elf_syms *es);
/* File offset → link-time virtual address through the PT_LOAD segments. -ENOENT if none. */
int elf_syms__offset_to_vaddr(const struct elf_syms *es, unsigned long off, unsigned long *vaddr);
/* The i-th function (sorted by address): its name, start and size; NULL past the end. */
const char *elf_syms__at(const struct elf_syms *es, size_t i, unsigned long *addr,
			 unsigned long *size);
/* Address of the function named name (exact, mangled). -ENOENT if absent. */
int elf_syms__find(const struct elf_syms *es, const char *name, unsigned long *vaddr);
/* Name of the function containing vaddr, or NULL; *delta = vaddr - symbol start. */
const char *elf_syms__lookup(const struct elf_syms *es, unsigned long vaddr, unsigned long *delta);

/* ---- JIT symbol maps (/tmp/perf-PID.map: "START SIZE name" in hex) ---- */
struct jitmap;

/* Bounds of the reader: longer lines are skipped, bytes beyond the size are not read,
 * entries beyond the limit are dropped; each is counted. */
#define JITMAP_MAX_LINE	   4096
#define JITMAP_MAX_BYTES   (64ULL << 20)
#define JITMAP_MAX_ENTRIES (1U << 20)

struct jitmap_stats {
	uint64_t long_lines;	  /* over JITMAP_MAX_LINE bytes, skipped */
	uint64_t dropped_entries; /* beyond JITMAP_MAX_ENTRIES */
	bool truncated;		  /* the file had more than JITMAP_MAX_BYTES */
};

/* Read a perf map from a regular file (never more than the bounds). NULL + errno. */
struct jitmap *jitmap__read(int fd, struct jitmap_stats *st);
/* Open path (a regular file, without blocking) and read it. NULL + errno. */
struct jitmap *jitmap__load(const char *path);
void jitmap__free(struct jitmap *jm);
size_t jitmap__count(const struct jitmap *jm);
/* The name of the entry containing addr, or NULL. */
const char *jitmap__lookup(const struct jitmap *jm, unsigned long addr);

/* ---- process address spaces ---- */
struct map_entry {
	unsigned long start, end, pgoff;
	const char *path; /* interned; "[vdso]", "//anon", "/usr/lib/..." */
	void *obj;	  /* the symbolizer's resolved object, cached */
	/* The file as the kernel named it when it was mapped (st_dev, st_ino; ino 0: not
	 * known): a file loaded before is found without opening anything. */
	uint64_t dev, ino;
};

/* Parse one /proc/PID/maps line. Only executable mappings are kept: returns 1 for
 * those, 0 for a valid line to skip, -EINVAL for garbage. path is malloc'd. */
int proc_maps__parse_line(const char *line, unsigned long *start, unsigned long *end,
			  unsigned long *pgoff, char **path);

struct aspaces;

struct aspaces *aspaces__new(void);
void aspaces__free(struct aspaces *as);
/* A new executable mapping; replaces whatever it overlaps. */
int aspaces__add_map(struct aspaces *as, pid_t pid, unsigned long start, unsigned long len,
		     unsigned long pgoff, const char *path);
/* The same, for a file the kernel named by device (makedev()) and inode (0: not known). */
int aspaces__add_file_map(struct aspaces *as, pid_t pid, unsigned long start, unsigned long len,
			  unsigned long pgoff, const char *path, uint64_t dev, uint64_t ino);
/*
 * Processes are kept by generation: a pid from fork (or the /proc snapshot) to exit,
 * told apart by the start time of the thread-group leader (boot clock, ns), the one
 * /proc/PID/stat shows and the tracker's records are timed by. Records (mappings, exec,
 * exit) apply to the live generation of their pid.
 *
 * fork(): a new generation of pid, started about time (0: unknown), with a copy of the
 * parent's mappings.
 */
int aspaces__fork_at(struct aspaces *as, pid_t ppid, pid_t pid, uint64_t time);
int aspaces__fork(struct aspaces *as, pid_t ppid, pid_t pid);
/* The live generation of pid exited at time. */
void aspaces__exit(struct aspaces *as, pid_t pid, uint64_t time);
/* Free the generations that exited before time: their samples are all symbolized. */
size_t aspaces__reap(struct aspaces *as, uint64_t before);
uint64_t aspaces__reaped(const struct aspaces *as);
/* Until the next call, aspaces__find() for pid looks in the generation that started at
 * gen (the nearest one); gen 0: the live generation, as for every other pid. */
void aspaces__select(struct aspaces *as, pid_t pid, uint64_t gen);
/*
 * The version of the mappings aspaces__select(pid, gen) would look in: it changes with
 * every mapping, exec or dropped old image, and no two generations ever share one (0: no
 * generation). Symbolized user frames stay valid while it stays the same.
 */
uint64_t aspaces__version(const struct aspaces *as, pid_t pid, uint64_t gen);
/* exec(): the old mappings are gone. With a time, they are still looked in (for addresses
 * the new image does not map) until aspaces__reap() passes that time. */
int aspaces__exec(struct aspaces *as, pid_t pid);
int aspaces__exec_at(struct aspaces *as, pid_t pid, uint64_t time);
/* aspaces__exec_at() of a process known to have exited since (its exit record is at
 * hand): its credentials are not read again from /proc (the pid is gone, or a zombie's);
 * what its parent ran as stays its own. */
int aspaces__exec_exited_at(struct aspaces *as, pid_t pid, uint64_t time);
/* Is anything known about pid? */
bool aspaces__has(const struct aspaces *as, pid_t pid);
/* Read <proc_root>/PID/maps (executable mappings) into the generation PID is now. */
int aspaces__load_proc(struct aspaces *as, const char *proc_root, pid_t pid);
/* Snapshot the executable mappings of every process under proc_root. */
int aspaces__load_all(struct aspaces *as, const char *proc_root);
/* The mapping of pid containing addr, or NULL. */
struct map_entry *aspaces__find(const struct aspaces *as, pid_t pid, unsigned long addr);
size_t aspaces__nr_pids(const struct aspaces *as);
/* The executable mappings of pid's live generation, sorted by start; NULL when it has
 * none or exited. Valid until the next change to as. */
const struct map_entry *aspaces__live_maps(const struct aspaces *as, pid_t pid, size_t *nr);
/* The mappings of the generation lookups of pid use now (aspaces__select), dead or alive
 * (NULL, *nr 0: none). */
const struct map_entry *aspaces__maps(const struct aspaces *as, pid_t pid, size_t *nr);
/* The start-time window of pid's live generation (0, UINT64_MAX when unknown), as
 * samples' generation keys are matched; -ENOENT when it has none. */
int aspaces__live_window(const struct aspaces *as, pid_t pid, uint64_t *lo, uint64_t *hi);
/* Generations beyond the bound (65536 by default, alive or exited and not yet reaped)
 * are not tracked: how many were not. */
uint64_t aspaces__dropped(const struct aspaces *as);
void aspaces__set_max_pids(struct aspaces *as, size_t max);

/* ---- the symbolizer ---- */
struct symbolizer_opts {
	size_t sz;
	const char *proc_root;	   /* default "/proc" */
	const char *kallsyms_path; /* default "/proc/kallsyms" */
	const char *debug_dirs;	   /* ':'-separated; default "/usr/lib/debug" */
	bool no_demangle;	   /* keep mangled C++/Rust names */
	bool module_offsets;	   /* unnamed frames as [module+0xoff], not [module] */
	bool no_inline;		   /* no frames for inlined functions */
	bool no_dwarf;		   /* no DWARF at all: neither inline frames nor lines */
	bool debuginfod;	   /* ask DEBUGINFOD_URLS for missing debug files */
	double debuginfod_budget;  /* seconds for all queries together (0: 10) */
	/* Called while a debug file is transferred (bytes done, expected or -1); non-zero
	 * stops the transfer (a signal during the finish). */
	int (*debuginfod_progress)(void *arg, const char *build_id, long done, long total);
	void *debuginfod_progress_arg;
	/* Bytes of DWARF (sections, line tables, indexes) kept for all files together; past
	 * it, the least recently used files' are dropped, at loads (see
	 * symbolizer__frames_copied()) and at sweeps (0: SYM_DWARF_BUDGET); at sweeps, those
	 * looked in since the previous sweep only past twice it. */
	size_t dwarf_budget;
	/* Sweeps a file's libdw (its sections read) stays after the last lookup that needed
	 * it, whatever the budget (0: SYM_LIB_IDLE_SWEEPS). A unit read later reads the
	 * sections again (libc's debug file: ~15 ms and 2,300 page faults). */
	unsigned int lib_idle_sweeps;
};

#define SYM_DWARF_BUDGET    (32u << 20)
#define SYM_LIB_IDLE_SWEEPS 5

enum sym_result {
	SYM_RESOLVED = 0, /* a function name (JIT frames end in "_[j]") */
	SYM_MODULE,	  /* "[module]" (or "[module+0xoff]"): mapping known, symbol not */
	SYM_UNKNOWN,	  /* "[unknown]" */
};

struct symbolizer;

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);
void symbolizer__free(struct symbolizer *s);
struct aspaces *symbolizer__aspaces(struct symbolizer *s);

/* C++ (Itanium) and Rust (legacy, v0) names through libiberty; NULL if not mangled.
 * The result is malloc'd. */
char *symbol__demangle(const char *name);
/* kallsyms could not be read or kptr_restrict hid the addresses. */
bool symbolizer__kernel_hidden(struct symbolizer *s);
/*
 * Kernel frames named by the kernel itself: name() writes the kernel's names of addrs[0, n)
 * into *text (malloc'd; see ksyms__add_named()) or returns -errno. Without a namer, or
 * once it failed, kernel frames are named from kallsyms_path's whole table.
 */
struct kernel_namer {
	int (*name)(void *arg, const uint64_t *addrs, size_t n, char **text, size_t *len);
	void *arg;
};

/* NULL takes the namer away (before its arg goes). */
void symbolizer__set_kernel_namer(struct symbolizer *s, const struct kernel_namer *namer);
/*
 * A kernel frame about to be named (leaf: the sample's own address, else a return
 * address): asked for at the next symbolizer__kernel_name(), with the others, in one
 * call of the namer. A frame not asked for first is named alone when it comes.
 */
void symbolizer__kernel_want(struct symbolizer *s, unsigned long addr, bool leaf);
/* The kernel frames wanted, named: 0 or the namer's -errno (kallsyms_path from now on). */
int symbolizer__kernel_name(struct symbolizer *s);

struct sym_kernel_stats {
	uint64_t batches;   /* calls of the namer */
	uint64_t addresses; /* addresses it named */
	uint64_t resets;    /* times the names were forgotten (symbolizer__sweep()) */
	int namer_err;	    /* its failure, when it failed: kallsyms_path named the rest */
};

void symbolizer__kernel_stats(const struct symbolizer *s, struct sym_kernel_stats *out);
/*
 * Free the files (symbol tables) no mapping of a tracked process has used for the last
 * 30 sweeps: a long record meets every binary a build machine runs. Call it after
 * aspaces__reap(), e.g. once per drain. Returns how many went.
 */
size_t symbolizer__sweep(struct symbolizer *s);
/* Whether the sweeps dropped DWARF for the budget is in symbolizer__dwarf_stats(); strings
 * of frames handed out before a sweep are not valid after it. */
/*
 * The caller has copied the strings of every frame handed out so far: from now on, when
 * a file's DWARF is read (a file opened, a compilation unit indexed) and the budget is
 * passed, the files least recently used are dropped then and there, not only at the next
 * sweep; files that gave frames since this call are kept until the next one. Without
 * this call, the budget is kept at sweeps only.
 */
void symbolizer__frames_copied(struct symbolizer *s);

/*
 * Files of profiled processes that were not read, or read in part, because of the
 * rules of docs/security.md. For the record summary.
 */
struct symbolizer_file_stats {
	uint64_t perf_map_long_lines;	   /* lines over JITMAP_MAX_LINE, skipped */
	uint64_t perf_map_dropped_entries; /* beyond JITMAP_MAX_ENTRIES */
	uint64_t perf_maps_truncated;	   /* read up to JITMAP_MAX_BYTES only */
	uint64_t perf_maps_not_owned;	   /* owner neither the process's user nor root */
	uint64_t perf_maps_symlinked;	   /* a symbolic link: never followed */
	uint64_t not_regular;		   /* FIFOs, devices, directories: never read */
	uint64_t too_large;		   /* ELF or debug files over the size limit */
	uint64_t denied;		   /* the process's user may not read them */
	uint64_t links_refused;		   /* magic links (/proc/PID/root...), link loops */
	uint64_t bad_debuglinks;	   /* .gnu_debuglink names with a '/' */
};

void symbolizer__file_stats(const struct symbolizer *s, struct symbolizer_file_stats *out);

/* The DWARF kept for source lines and inline frames, against its budget. */
struct symbolizer_dwarf_stats {
	uint64_t bytes;	 /* held now (roughly: sections, line tables, indexes) */
	uint64_t budget; /* opts.dwarf_budget */
	uint64_t drops;	 /* files whose DWARF was dropped for it (read again when needed) */
	uint64_t sheds;	 /* files whose libdw (sections, line tables) was freed for it, their
			  * table of what was named kept (libdw read again for new units) */
};

void symbolizer__dwarf_stats(const struct symbolizer *s, struct symbolizer_dwarf_stats *out);

/* Debug files asked of debuginfod servers, per build id (each asked once). */
struct sym_debuginfod_stats {
	uint64_t fetched;     /* transferred from a server */
	uint64_t cached;      /* already in the cache */
	uint64_t missing;     /* no server had it, or none answered */
	uint64_t over_budget; /* not asked, or cut short: the time budget was spent */
	uint64_t spent_ns;    /* time in queries */
	bool no_library;      /* libdebuginfod could not be loaded: nothing was asked
			       * (sym_debuginfod__lib_strerror says why) */
};

/* false when no client runs (no DEBUGINFOD_URLS, or turned off). */
bool symbolizer__debuginfod_stats(const struct symbolizer *s, struct sym_debuginfod_stats *out);
/* After stats with no_library: one line naming the library and its package. */
const char *sym_debuginfod__lib_strerror(char *buf, size_t sz);

/*
 * Name a frame into buf. Kernel frames get the "_[k]" suffix. Return addresses (all
 * frames but the leaf) are looked up at addr - 1 so a call at the end of a function is
 * not attributed to the next one. Returns an enum sym_result.
 */
int symbolizer__kernel_frame(struct symbolizer *s, unsigned long addr, bool leaf, char *buf,
			     size_t sz);
int symbolizer__user_frame(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			   char *buf, size_t sz);

/*
 * Where a user frame's code comes from: the mapped file, its build id, and the mapping the
 * address is in (what pprof's Mapping holds: memory [start, limit) maps the file from
 * pgoff). Filled whenever the address is in a known mapping, named or not.
 */
struct frame_module {
	const char *path;   /* as mapped ("/usr/lib/...", "[vdso]"), interned; NULL: none, or JIT */
	char build_id[129]; /* hex, "" when the file has none or could not be read */
	unsigned long start, limit, pgoff; /* the mapping; 0 when path is NULL */
};

/* symbolizer__user_frame() that also says which file the frame is in. */
int symbolizer__user_frame_mod(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			       char *buf, size_t sz, struct frame_module *mod);

/*
 * A frame as the symbolizer found it: what it knows, not how an output spells it (see
 * symbolizer__format()). One address gives several frames when code was inlined there:
 * the function of the symbol table first, then each function inlined into the one before
 * it (inner last). These records are the symbolizer's API for every format (folded and
 * SVG through symbolizer__format(), pprof from the fields):
 *
 *   function  the name (demangled unless no_demangle); NULL for SYM_FRAME_MODULE/UNKNOWN
 *   file/line where the frame is: the innermost frame at the address's line, each outer
 *             frame at the call site of the function inlined into it (DW_AT_call_file,
 *             DW_AT_call_line), as addr2line -i prints them; NULL/0 without DWARF lines
 *             (also for every frame with no_dwarf)
 *   inlined   true for frames 1.. of an address (inlined into the frame before)
 *   module    the file's base name ("libc.so.6") or the region ("[vdso]"); the full path,
 *             build id and mapping bounds are in struct frame_module
 *   address   the address looked up (return addresses minus 1), the same in all frames
 *   offset    link-time address in the file (named frames), else the offset in it
 */
enum sym_frame_kind {
	SYM_FRAME_FUNCTION, /* named from the symbol table or the debug info */
	SYM_FRAME_JIT,	    /* named from perf-PID.map */
	SYM_FRAME_MODULE,   /* in a known mapping, not named */
	SYM_FRAME_UNKNOWN,  /* no mapping */
};

struct sym_frame {
	enum sym_frame_kind kind;
	const char *function;  /* demangled unless no_demangle; NULL unless named */
	const char *file;      /* source file, NULL when the debug info has none */
	unsigned int line;     /* 0: unknown */
	bool inlined;	       /* inlined into the frame before it */
	const char *module;    /* the mapped file's base name, a region ("[vdso]"), or NULL */
	unsigned long address; /* the address looked up: addr - 1 for return addresses */
	unsigned long offset;  /* in the module: link-time address, or offset in the region */
};

/* Frames one address can give: its function and the functions inlined into it. */
#define SYM_MAX_FRAMES 16

/*
 * The frames of a user address (1 to max, at most SYM_MAX_FRAMES) into out, and its module
 * and mapping into *mod (may be NULL). The strings stay valid until the symbolizer's
 * address spaces change (reap, exec) or it is freed.
 */
int symbolizer__user_frames(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			    struct sym_frame *out, int max, struct frame_module *mod);

/*
 * The mapping holding a user address (addr itself: leaf or not is the caller's), its file
 * resolved into obj as symbolizer__user_frames() would (a file loaded before is found
 * without reading it again). NULL when the process maps nothing there.
 */
const struct map_entry *symbolizer__user_map(struct symbolizer *s, pid_t pid, unsigned long addr);

/*
 * A kernel frame as a record (symbolizer__kernel_frame() spells it for folded stacks):
 * SYM_FRAME_FUNCTION with its function and module (the kernel module's name, NULL for the
 * kernel itself), or SYM_FRAME_UNKNOWN. address and offset: the address looked up (addr - 1
 * for return addresses). The strings live as long as the symbolizer. Returns an enum
 * sym_result.
 */
int symbolizer__kernel_sym_frame(struct symbolizer *s, unsigned long addr, bool leaf,
				 struct sym_frame *out);

/*
 * A frame as folded stacks, SVG and pprof name it: the function ("_[j]" after JIT
 * names), "[module]" when not named ("[module+0xoffset]" with module_offsets), or
 * "[unknown]". Returns an enum sym_result.
 */
int symbolizer__format(const struct symbolizer *s, const struct sym_frame *f, char *buf, size_t sz);

/*
 * Name the function at a link-time address of an ELF file, as frames are named: debug
 * files looked up (build id, debuglink), demangled. For tools and tests.
 */
int symbolizer__file_symbol(struct symbolizer *s, const char *path, unsigned long vaddr, char *buf,
			    size_t sz);
/* The same as frame records, inlined functions and source lines included (1 to max). */
int symbolizer__file_frames(struct symbolizer *s, const char *path, unsigned long vaddr,
			    struct sym_frame *out, int max);
/*
 * The same for n addresses of one file: the frames of vaddrs[i] into out[i *
 * SYM_MAX_FRAMES...], their number into nframes[i]. Faster than one by one: the tables'
 * memory is asked for ahead, a group of addresses at a time.
 */
void symbolizer__file_frames_many(struct symbolizer *s, const char *path,
				  const unsigned long *vaddrs, size_t n, struct sym_frame *out,
				  int *nframes);

/* ---- CFI unwind tables (layouts shared with BPF in bpf/unwind.h; docs/unwind.md) ---- */

/* The global table of unique rules that rows point into (rule 0: frame pointer). */
struct unwind_rules;

struct unwind_rules *unwind_rules__new(void);
void unwind_rules__free(struct unwind_rules *r);
size_t unwind_rules__count(const struct unwind_rules *r);
/* The rule at idx, or NULL past the end. */
const struct unwind_rule *unwind_rules__get(const struct unwind_rules *r, uint32_t idx);
/* Index of rule, added when new. -ENOSPC beyond UNWIND_MAX_RULES. */
int unwind_rules__intern(struct unwind_rules *r, const struct unwind_rule *rule);

/* What one file's CFI held. Rows are counted as read from the CFI, before neighbours with
 * the same rule are merged. */
struct unwind_stats {
	const char *source; /* ".eh_frame", ".debug_frame", or NULL: no CFI */
	uint64_t fdes;
	uint64_t cfi_rows;
	uint64_t by_cfa[UNWIND_CFA_TYPES];
	uint64_t cfa_rsp, cfa_rbp; /* UNWIND_CFA_REG rows by register; the rest: others */
	uint64_t by_rbp[UNWIND_SAVED_TYPES];
	uint64_t ra_not_cfa8;	/* return address anywhere but CFA - 8 */
	uint64_t text_bytes;	/* bytes of the executable sections */
	uint64_t covered_bytes; /* of those, covered by an FDE */
	uint64_t build_ns;	/* CPU time spent compiling */
};

struct unwind_table;

/*
 * Compile the CFI of an ELF file: its .eh_frame, else its .debug_frame, else the
 * .debug_frame of debug (a separate debug file, may be NULL). A file without CFI gives a
 * table of no rows (every address: frame pointer). NULL + errno on failure.
 */
struct unwind_table *unwind_table__build(struct unwind_rules *rules, Elf *elf, Elf *debug);
void unwind_table__free(struct unwind_table *t);
/* The sorted rows (bpf/unwind.h); each covers [pc, next pc). */
size_t unwind_table__rows(const struct unwind_table *t, const struct unwind_row **rows);
const struct unwind_stats *unwind_table__stats(const struct unwind_table *t);
/* Bytes the rows take. */
size_t unwind_table__memory(const struct unwind_table *t);
/* The rule index for a link-time address (UNWIND_RULE_FP outside every FDE). */
uint32_t unwind_table__lookup(const struct unwind_table *t, uint64_t vaddr);
/* Load bias of a mapping of this file at start from file offset pgoff: run-time address
 * minus link-time address. -ENOENT when no PT_LOAD segment holds pgoff. */
int unwind_table__load_bias(const struct unwind_table *t, uint64_t start, uint64_t pgoff,
			    uint64_t *bias);

/* Tables shared between processes: one per file, found by build id or device+inode. */
struct unwind_cache;

struct unwind_cache *unwind_cache__new(void);
void unwind_cache__free(struct unwind_cache *c);
struct unwind_rules *unwind_cache__rules(struct unwind_cache *c);
/*
 * The table of the file open at fd (opened as the symbolizer opens mapped files);
 * debug_fd: its separate debug file or -1. The same file (by build id, else device and
 * inode) gives the same table, with one more reference. NULL + errno.
 */
struct unwind_table *unwind_cache__get(struct unwind_cache *c, int fd, int debug_fd);
/* The table of the vDSO (this process's image: the kernel maps the same one everywhere). */
struct unwind_table *unwind_cache__get_vdso(struct unwind_cache *c);
/* Drop a reference; the last one frees the table. */
void unwind_cache__put(struct unwind_cache *c, struct unwind_table *t);
/* The cached table of the file open at fd (same device and inode), with one more
 * reference, or NULL: nothing is built. */
struct unwind_table *unwind_cache__find(struct unwind_cache *c, int fd);
/*
 * Building in another thread: the table of the file open at fd, outside any cache, its
 * rows indexing a rule table of its own (*rules). unwind_cache__adopt() then brings it
 * into the cache (rules interned, or the cache's table of the same file taken instead),
 * freeing t and rules either way: the cache's table with one more reference, or NULL.
 */
struct unwind_table *unwind_table__build_fd(int fd, struct unwind_rules **rules);
struct unwind_table *unwind_cache__adopt(struct unwind_cache *c, struct unwind_table *t,
					 struct unwind_rules *rules);
size_t unwind_cache__nr_tables(const struct unwind_cache *c);
/* Bytes of rows (all tables) and rules. */
size_t unwind_cache__memory(const struct unwind_cache *c);

/*
 * The reference walker: the algorithm the BPF program runs, over the same tables. Registers
 * are indexed by DWARF number; known has bit i set when r[i] is valid (every register at
 * the leaf, rsp/rbp/rip after a call frame, all of them after a signal frame).
 */
struct unwind_regs {
	uint64_t r[UNWIND_NR_REGS];
	uint32_t known;
};

struct unwind_walk_ops {
	/* The table of the file mapped at pc and its load bias, or NULL (no file, no CFI). */
	const struct unwind_table *(*find)(void *ctx, uint64_t pc, uint64_t *bias);
	/* Read 8 bytes of the stack; non-zero when unreadable. */
	int (*read)(void *ctx, uint64_t addr, uint64_t *val);
};

struct unwind_frame {
	uint64_t pc;
	uint8_t cfa_type; /* the rule that unwound this frame: enum unwind_cfa_type */
};

/* Walk from regs: frames[0] is the leaf. Returns the number of frames; *stop says why the
 * walk ended (enum unwind_stop). */
int unwind_rules__walk(const struct unwind_rules *rules, const struct unwind_walk_ops *ops,
		       void *ctx, const struct unwind_regs *regs, struct unwind_frame *frames,
		       int max, int *stop);

#endif
