// SPDX-License-Identifier: GPL-2.0
/*
 * The symbolizer: names a kernel or user frame. User frames go through the process's
 * mapping to the file actually mapped (also when deleted, replaced or in another mount
 * namespace), its symbols (or those of its debug file), demangled; JIT code through
 * perf-PID.map; the vDSO through this process's own image of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <elf.h>
#include <zlib.h>
#include "hashmap.h"
#include "keycache.h"
#include "log.h"
#include "symbolize.h"
#include "symbolize-private.h"

/* One loaded object file: found by (dev, ino) of what was opened, or by build id. */
struct dso {
	struct dso *next;
	struct elf_syms *syms; /* NULL: could not be read */
	int dwarf_fd;	       /* the file with its DWARF, not yet opened; -1: none */
	struct sym_dwarf *dwarf;
	dev_t dev;
	ino_t ino;
	unsigned char build_id[64];
	size_t build_id_len;
	uint64_t seen;	     /* the last sweep that found it in use */
	uint64_t dwarf_used; /* the symbolizer's dwarf_tick at its last DWARF lookup */
	size_t dwarf_bytes;  /* what its DWARF held at that lookup */
	uint64_t lib_uses;   /* sym_dwarf__lib_uses() at the last sweep */
	uint64_t lib_seen;   /* the last sweep that found libdw used since the one before */
};

/* A name demangled, found by the address of the mangled one. */
struct demangled {
	struct hashmap_entry node;
	const char *mangled; /* the pointer is the key: names live as long as their dso */
	const struct dso *dso;
	char *name; /* NULL: not mangled */
};

#define DWARF_MAX_FILES 256
/* Sweeps (drains) a file stays loaded after the last mapping of it is gone. */
#define DSO_IDLE_SWEEPS 30
/* libdw's line tables of a file in use kept at most, unless its sections are larger. */
#define LIB_LINES_MIN (2u << 20)
/* pids without a generation whose /proc/PID/maps was tried: bounded (a pid forgotten
 * costs one more try). */
#define UNKNOWN_TRIED_MAX 1024
/* The kernel's names are forgotten every so many sweeps (about a minute of drains), or
 * at so many records. */
#define KERNEL_NAMES_SWEEPS 64
#define KERNEL_NAMES_MAX    65536

struct symbolizer {
	char *proc_root;
	char *kallsyms_path;
	char *debug_dirs;
	bool no_demangle;
	bool module_offsets;
	bool no_inline;			   /* no inline frames (lines still) */
	bool no_dwarf;			   /* neither: DWARF is not read */
	int debug_dwarf_fd;		   /* the debug file just found, when it has DWARF */
	size_t dwarf_files;		   /* files kept open for their DWARF */
	struct sym_debuginfod *debuginfod; /* NULL: no servers, or turned off */
	struct ksyms *ksyms;
	bool ksyms_tried;
	struct kernel_namer namer; /* names the kernel gives, instead of kallsyms_path's */
	struct ksyms *knamed;	   /* those names */
	uint64_t *kwant;	   /* addresses to ask for next */
	size_t kwant_nr, kwant_cap;
	struct sym_kernel_stats kstats;
	struct aspaces *aspaces;
	struct dso *dsos;
	struct dso *vdso;
	bool vdso_tried;
	struct keycache unknown_tried;
	struct hashmap demangled; /* struct demangled by mangled name's address */
	uint64_t sweeps;
	char *last_path; /* symbolizer__file_symbol's last file */
	struct dso *last_dso;
	struct symbolizer_file_stats fstats;
	size_t dwarf_budget; /* bytes of DWARF kept for all files together */
	unsigned int lib_idle_sweeps;
	size_t dwarf_bytes;    /* what they hold now */
	uint64_t dwarf_tick;   /* DWARF lookups so far: the LRU's clock */
	uint64_t swept_tick;   /* dwarf_tick at the last sweep */
	uint64_t dwarf_drops;  /* files whose DWARF went for the budget */
	uint64_t dwarf_copied; /* dwarf_tick when the caller last had its frames copied */
	uint64_t dwarf_sheds;  /* files whose libdw went for the budget, their table kept */
};

/* Whose file is opened: in which root (-1: ours), with which credentials (NULL: ours). */
struct open_ctx {
	int rootfd;
	const struct proc_cred *cred;
};

static bool demangled_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	return hashmap_entry__of(e, struct demangled, node)->mangled == key;
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->proc_root = strdup(opts && opts->proc_root ? opts->proc_root : "/proc");
	s->kallsyms_path =
		strdup(opts && opts->kallsyms_path ? opts->kallsyms_path : "/proc/kallsyms");
	s->debug_dirs = strdup(opts && opts->debug_dirs ? opts->debug_dirs : "/usr/lib/debug");
	s->no_demangle = opts && opts->no_demangle;
	s->module_offsets = opts && opts->module_offsets;
	s->no_inline = opts && opts->no_inline;
	s->no_dwarf = opts && opts->no_dwarf;
	s->debug_dwarf_fd = -1;
	hashmap__init(&s->demangled, demangled_match, NULL);
	keycache__init(&s->unknown_tried, UNKNOWN_TRIED_MAX);
	s->dwarf_budget = opts && opts->dwarf_budget ? opts->dwarf_budget : SYM_DWARF_BUDGET;
	s->lib_idle_sweeps =
		opts && opts->lib_idle_sweeps ? opts->lib_idle_sweeps : SYM_LIB_IDLE_SWEEPS;
	if (opts && opts->debuginfod) {
		double budget = opts->debuginfod_budget > 0 ? opts->debuginfod_budget : 10;

		s->debuginfod = sym_debuginfod__new((uint64_t)(budget * 1e9));
		if (s->debuginfod && opts->debuginfod_progress)
			sym_debuginfod__set_progress(s->debuginfod, opts->debuginfod_progress,
						     opts->debuginfod_progress_arg);
	}
	s->aspaces = aspaces__new();
	if (!s->proc_root || !s->kallsyms_path || !s->debug_dirs || !s->aspaces ||
	    aspaces__set_proc_root(s->aspaces, s->proc_root)) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static void dso__free(struct dso *d)
{
	if (!d)
		return;
	if (d->dwarf_fd >= 0)
		close(d->dwarf_fd);
	sym_dwarf__free(d->dwarf);
	elf_syms__free(d->syms);
	free(d);
}

/* Demangled names of dso (of every file when dso is NULL): their keys point into it. */
static void demangled_forget(struct symbolizer *s, const struct dso *dso)
{
	struct hashmap_entry *e;
	struct hashmap_iter it;

	hashmap_iter__init(&it, &s->demangled);
	while ((e = hashmap_iter__next(&it))) {
		struct demangled *d = hashmap_entry__of(e, struct demangled, node);

		if (dso && d->dso != dso)
			continue;
		hashmap__del(&s->demangled, e);
		free(d->name);
		free(d);
	}
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	while (s->dsos) {
		struct dso *n = s->dsos->next;

		dso__free(s->dsos);
		s->dsos = n;
	}
	dso__free(s->vdso);
	demangled_forget(s, NULL);
	hashmap__exit(&s->demangled);
	keycache__exit(&s->unknown_tried);
	aspaces__free(s->aspaces);
	sym_debuginfod__free(s->debuginfod);
	ksyms__free(s->ksyms);
	ksyms__free(s->knamed);
	free(s->kwant);
	free(s->last_path);
	free(s->debug_dirs);
	free(s->kallsyms_path);
	free(s->proc_root);
	free(s);
}

struct aspaces *symbolizer__aspaces(struct symbolizer *s)
{
	return s->aspaces;
}

static struct ksyms *get_ksyms(struct symbolizer *s)
{
	if (s->ksyms_tried)
		return s->ksyms;
	s->ksyms_tried = true;
	s->ksyms = ksyms__load(s->kallsyms_path);
	return s->ksyms;
}

void symbolizer__set_kernel_namer(struct symbolizer *s, const struct kernel_namer *namer)
{
	s->namer = namer ? *namer : (struct kernel_namer){0};
}

void symbolizer__kernel_stats(const struct symbolizer *s, struct sym_kernel_stats *out)
{
	*out = s->kstats;
}

/* Whether kernel frames are named by the namer (still working). */
static bool kernel_named(struct symbolizer *s)
{
	return s->namer.name && !s->kstats.namer_err;
}

void symbolizer__kernel_want(struct symbolizer *s, unsigned long addr, bool leaf)
{
	uint64_t *tmp;

	if (!leaf)
		addr--;
	if (!kernel_named(s) || ksyms__knows(s->knamed, addr))
		return;
	if (s->kwant_nr == s->kwant_cap) {
		size_t cap = s->kwant_cap ? s->kwant_cap * 2 : 256;

		tmp = realloc(s->kwant, cap * sizeof(*tmp));
		if (!tmp)
			return; /* named one at a time, then */
		s->kwant = tmp;
		s->kwant_cap = cap;
	}
	s->kwant[s->kwant_nr++] = addr;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The addresses wanted, each once, without those a symbol named since covers. */
static size_t kernel_wanted(struct symbolizer *s)
{
	size_t i, n = 0;

	if (!s->kwant_nr)
		return 0;
	qsort(s->kwant, s->kwant_nr, sizeof(*s->kwant), u64_cmp);
	for (i = 0; i < s->kwant_nr; i++)
		if ((!n || s->kwant[n - 1] != s->kwant[i]) &&
		    !ksyms__knows(s->knamed, (unsigned long)s->kwant[i]))
			s->kwant[n++] = s->kwant[i];
	s->kwant_nr = 0;
	return n;
}

int symbolizer__kernel_name(struct symbolizer *s)
{
	size_t n, len;
	char *text;
	int err;

	if (!kernel_named(s) || !(n = kernel_wanted(s)))
		return 0;
	if (!s->knamed && !(s->knamed = ksyms__new_named()))
		return -ENOMEM;
	err = s->namer.name(s->namer.arg, s->kwant, n, &text, &len);
	if (!err) {
		err = ksyms__add_named(s->knamed, text, len);
		free(text);
	}
	if (err) {
		/* From now on, the whole table (kallsyms_path). */
		s->kstats.namer_err = err;
		return err;
	}
	s->kstats.batches++;
	s->kstats.addresses += n;
	return 0;
}

/* The table naming addr (already adjusted for a return address). */
static struct ksyms *kernel_table(struct symbolizer *s, unsigned long addr)
{
	if (kernel_named(s) && !ksyms__knows(s->knamed, addr)) {
		symbolizer__kernel_want(s, addr, true);
		symbolizer__kernel_name(s);
	}
	return kernel_named(s) ? s->knamed : get_ksyms(s);
}

bool symbolizer__kernel_hidden(struct symbolizer *s)
{
	if (kernel_named(s))
		return false;
	/* No kernel frame named yet: a probe answers without parsing all of kallsyms. */
	if (!s->ksyms_tried)
		return ksyms__probe_hidden(s->kallsyms_path);
	return ksyms__hidden(get_ksyms(s));
}

int symbolizer__kernel_frame(struct symbolizer *s, unsigned long addr, bool leaf, char *buf,
			     size_t sz)
{
	unsigned long at = leaf ? addr : addr - 1;
	struct ksym k;

	if (!ksyms__lookup(kernel_table(s, at), at, &k)) {
		snprintf(buf, sz, "[unknown]_[k]");
		return SYM_UNKNOWN;
	}
	snprintf(buf, sz, "%s_[k]", k.name);
	return SYM_RESOLVED;
}

int symbolizer__kernel_sym_frame(struct symbolizer *s, unsigned long addr, bool leaf,
				 struct sym_frame *out)
{
	unsigned long at = leaf ? addr : addr - 1;
	struct ksym k;
	bool found = ksyms__lookup(kernel_table(s, at), at, &k);

	memset(out, 0, sizeof(*out));
	out->address = out->offset = leaf ? addr : addr - 1;
	out->kind = found ? SYM_FRAME_FUNCTION : SYM_FRAME_UNKNOWN;
	if (!found)
		return SYM_UNKNOWN;
	out->function = k.name;
	out->module = k.module;
	return SYM_RESOLVED;
}

/* ---- files of profiled processes ---- */

void symbolizer__file_stats(const struct symbolizer *s, struct symbolizer_file_stats *out)
{
	*out = s->fstats;
}

bool symbolizer__debuginfod_stats(const struct symbolizer *s, struct sym_debuginfod_stats *out)
{
	if (!s->debuginfod)
		return false;
	*out = *sym_debuginfod__stats(s->debuginfod);
	out->spent_ns = sym_debuginfod__spent_ns(s->debuginfod);
	return true;
}

/* Count (and say with -v) why a file of a profiled process was not read. */
static void file_refused(struct symbolizer *s, const char *what, const char *path, int err)
{
	const char *why;

	switch (err) {
	case -EINVAL:
		s->fstats.not_regular++;
		why = "not a regular file";
		break;
	case -EFBIG:
		s->fstats.too_large++;
		why = "over the size limit";
		break;
	case -EACCES:
		s->fstats.denied++;
		why = "the process's user may not read it";
		break;
	case -ELOOP:
	case -EXDEV:
		s->fstats.links_refused++;
		why = "a magic link or a link loop on the path";
		break;
	default:
		return;
	}
	log__printf(LOG_INFO, "pmuprof: %s %s: not read: %s\n", what, path, why);
}

static int ctx_open(struct symbolizer *s, const struct open_ctx *ctx, const char *what,
		    const char *path, struct stat *st)
{
	int fd = sym_file__open(ctx->rootfd, path, ctx->cred, 0, SYM_MAX_ELF_SIZE, st);

	if (fd < 0)
		file_refused(s, what, path, fd);
	return fd;
}

/* The CRC of the first size bytes (the size fstat saw: a growing file stops there). */
static uint32_t file_crc32(int fd, off_t size)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	off_t off = 0;
	ssize_t n;

	while (off < size) {
		size_t want = size - off < (off_t)sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		n = pread(fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		crc = crc32(crc, buf, n);
		off += n;
	}
	return (uint32_t)crc;
}

static struct elf_syms *debug_from_fd(struct symbolizer *s, int fd, const struct stat *st,
				      const struct elf_syms *es, bool check_crc, uint32_t crc);

/* A debug file for es if its build id (when both have one) matches. */
static struct elf_syms *try_debug_file(struct symbolizer *s, const struct open_ctx *ctx,
				       const struct elf_syms *es, const char *path, bool check_crc,
				       uint32_t crc)
{
	struct stat st;
	int fd = ctx_open(s, ctx, "debug file", path, &st);

	if (fd < 0)
		return NULL;
	return debug_from_fd(s, fd, &st, es, check_crc, crc);
}

/*
 * Debug file candidates: its build id must match es's, and its CRC when asked. Takes fd;
 * a debug file with DWARF stays open for it (s->debug_dwarf_fd).
 */
static struct elf_syms *debug_from_fd(struct symbolizer *s, int fd, const struct stat *st,
				      const struct elf_syms *es, bool check_crc, uint32_t crc)
{
	unsigned char a[64], b[64];
	struct elf_syms *dbg;
	size_t la, lb;

	/* Not even an ELF header (a sparse file of zeros, say): no CRC over gigabytes. */
	if (pread(fd, a, SELFMAG, 0) != SELFMAG || memcmp(a, ELFMAG, SELFMAG) ||
	    (check_crc && file_crc32(fd, st->st_size) != crc)) {
		close(fd);
		return NULL;
	}
	dbg = elf_syms__load_fd(fd);
	la = elf_syms__build_id(es, a, sizeof(a));
	lb = dbg ? elf_syms__build_id(dbg, b, sizeof(b)) : 0;
	if (dbg && (!elf_syms__has_symtab(dbg) || (la && lb && (la != lb || memcmp(a, b, la))))) {
		elf_syms__free(dbg);
		dbg = NULL;
	}
	if (dbg && elf_syms__has_dwarf(dbg) && s->debug_dwarf_fd < 0)
		s->debug_dwarf_fd = fd;
	else
		close(fd);
	return dbg;
}

/* <debug dir>/.build-id/xx/rest.debug, in each debug directory. */
static struct elf_syms *find_by_build_id(struct symbolizer *s, const struct open_ctx *ctx,
					 const struct elf_syms *es)
{
	char *dirs = strdup(s->debug_dirs), *dir, *save = NULL, path[4096], hex[130];
	struct open_ctx host = {-1, ctx->cred};
	struct elf_syms *dbg = NULL;
	unsigned char id[64];
	size_t len, i;

	if (!dirs)
		return NULL;
	len = elf_syms__build_id(es, id, sizeof(id));
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	for (dir = strtok_r(dirs, ":", &save); dir && !dbg && len >= 2;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
		dbg = try_debug_file(s, &host, es, path, false, 0);
	}
	free(dirs);
	return dbg;
}

/*
 * The debuglink name next to the binary and in its .debug/ directory (inside the
 * process's root), then under <debug dir>/<binary's dir>/. The name is a file name:
 * one with a '/' would reach elsewhere and is refused.
 */
static struct elf_syms *find_by_debuglink(struct symbolizer *s, const struct open_ctx *ctx,
					  const struct elf_syms *es, const char *bin_path)
{
	char *dirs, *dir, *save = NULL, path[4096], bindir[2048];
	struct open_ctx host = {-1, ctx->cred};
	struct elf_syms *dbg = NULL;
	const char *link, *slash;
	uint32_t crc = 0;

	link = elf_syms__debuglink(es, &crc);
	if (!link)
		return NULL;
	if (strchr(link, '/') || !strcmp(link, "..") || !strcmp(link, ".")) {
		s->fstats.bad_debuglinks++;
		log__printf(LOG_INFO, "pmuprof: %s: debuglink '%s' is not a file name\n", bin_path,
			    link);
		return NULL;
	}
	slash = strrchr(bin_path, '/');
	snprintf(bindir, sizeof(bindir), "%.*s", slash ? (int)(slash - bin_path) : 0, bin_path);
	snprintf(path, sizeof(path), "%s/%s", bindir, link);
	dbg = try_debug_file(s, ctx, es, path, true, crc);
	if (!dbg) {
		snprintf(path, sizeof(path), "%s/.debug/%s", bindir, link);
		dbg = try_debug_file(s, ctx, es, path, true, crc);
	}
	dirs = dbg ? NULL : strdup(s->debug_dirs);
	for (dir = dirs ? strtok_r(dirs, ":", &save) : NULL; dir && !dbg;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s%s/%s", dir, bindir, link);
		dbg = try_debug_file(s, &host, es, path, true, crc);
	}
	free(dirs);
	return dbg;
}

/* Where gdb and perf look: build id first, then the debuglink. */
static struct elf_syms *find_debug_file(struct symbolizer *s, const struct elf_syms *es,
					const char *bin_path, const struct open_ctx *ctx)
{
	struct elf_syms *dbg = find_by_build_id(s, ctx, es);

	return dbg ? dbg : find_by_debuglink(s, ctx, es, bin_path);
}

/*
 * The debug file from a debuginfod server (or its cache), once per build id: the dsos are
 * cached by build id, so a file seen through several paths asks once. The file is
 * untrusted like any other (debuginfod.c reopens it by our rules).
 */
static struct elf_syms *fetch_debug_file(struct symbolizer *s, const struct elf_syms *es,
					 const unsigned char *id, size_t id_len)
{
	struct stat st;
	int fd;

	if (!s->debuginfod)
		return NULL;
	fd = sym_debuginfod__find(s->debuginfod, id, id_len);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st)) {
		close(fd);
		return NULL;
	}
	return debug_from_fd(s, fd, &st, es, false, 0);
}

/* ---- objects ---- */

static struct dso *dso_by_id(struct symbolizer *s, dev_t dev, ino_t ino, const unsigned char *id,
			     size_t id_len)
{
	struct dso *d;

	for (d = s->dsos; d; d = d->next) {
		if (id_len && d->build_id_len == id_len && !memcmp(d->build_id, id, id_len))
			return d;
		if (!id_len && d->dev == dev && d->ino == ino)
			return d;
	}
	return NULL;
}

/* A failed resolution is cached too, so one bad mapping costs one try. */
static struct dso failed_dso = {.dwarf_fd = -1};

/*
 * The file whose DWARF names lines and inline frames, kept open until first used: the
 * debug file found for it, else the file itself when it has .debug_info. At most
 * DWARF_MAX_FILES are kept (descriptors are a bounded resource); others go without.
 */
static int keep_dwarf_fd(struct symbolizer *s, int fd, const struct elf_syms *es)
{
	int keep = s->debug_dwarf_fd;

	s->debug_dwarf_fd = -1;
	if (keep < 0 && elf_syms__has_dwarf(es))
		keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (keep >= 0 && (s->no_dwarf || s->dwarf_files >= DWARF_MAX_FILES)) {
		close(keep);
		keep = -1;
	}
	s->dwarf_files += keep >= 0;
	return keep;
}

static struct dso *load_dso(struct symbolizer *s, int fd, const char *path,
			    const struct open_ctx *ctx)
{
	struct elf_syms *es, *dbg;
	unsigned char id[64];
	struct stat st;
	struct dso *d;
	size_t id_len;

	if (fstat(fd, &st))
		return &failed_dso;
	for (d = s->dsos; d; d = d->next)
		if (d->dev == st.st_dev && d->ino == st.st_ino) {
			d->seen = s->sweeps;
			return d;
		}
	es = elf_syms__load_fd(fd);
	if (!es)
		return &failed_dso;
	/* The same binary through another path or mount namespace: one copy. */
	id_len = elf_syms__build_id(es, id, sizeof(id));
	d = id_len ? dso_by_id(s, 0, 0, id, id_len) : NULL;
	if (d) {
		elf_syms__free(es);
		d->seen = s->sweeps;
		return d;
	}
	s->debug_dwarf_fd = -1;
	if (!elf_syms__has_symtab(es)) {
		dbg = find_debug_file(s, es, path, ctx);
		if (!dbg && id_len)
			dbg = fetch_debug_file(s, es, id, id_len);
		if (dbg) {
			elf_syms__merge(es, dbg);
			elf_syms__free(dbg);
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		if (s->debug_dwarf_fd >= 0)
			close(s->debug_dwarf_fd);
		s->debug_dwarf_fd = -1;
		elf_syms__free(es);
		return &failed_dso;
	}
	d->syms = es;
	d->dwarf_fd = keep_dwarf_fd(s, fd, es);
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	memcpy(d->build_id, id, id_len);
	d->build_id_len = id_len;
	d->seen = s->sweeps;
	d->next = s->dsos;
	s->dsos = d;
	return d;
}

/* The process's credentials: now if it is alive, else as last seen, else nobody's. */
static const struct proc_cred *cred_of(struct symbolizer *s, pid_t pid, struct proc_cred *buf,
				       pid_t *nspid)
{
	const struct proc_cred *seen;

	if (!proc_cred__read(buf, s->proc_root, pid, nspid))
		return buf;
	seen = aspaces__cred(s->aspaces, pid);
	if (seen)
		return seen;
	proc_cred__nobody(buf);
	return buf;
}

/* The process's root directory (in its mount namespace), or -1 when it is gone. */
static int open_root(struct symbolizer *s, pid_t pid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%d/root", s->proc_root, pid);
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/*
 * The file behind a mapping: /proc/PID/map_files/START-END is the very file mapped
 * (deleted, replaced, or in another mount namespace); for a process that is gone,
 * the path inside its root, then the path as recorded. Only map_files is opened with
 * our own credentials: the kernel names the file, no path of the process's is followed.
 */
static struct dso *resolve(struct symbolizer *s, pid_t pid, struct map_entry *m)
{
	struct open_ctx ctx = {-1, NULL};
	struct proc_cred cbuf;
	char path[4096];
	struct stat st;
	struct dso *d;
	int fd;

	if (m->obj)
		return m->obj;
	/* The kernel named the file at mmap time: one loaded already needs no open (most
	 * mappings of a new process). */
	d = m->ino ? dso_by_id(s, m->dev, m->ino, NULL, 0) : NULL;
	if (d) {
		d->seen = s->sweeps;
		m->obj = d;
		return d;
	}
	snprintf(path, sizeof(path), "%s/%d/map_files/%lx-%lx", s->proc_root, pid, m->start,
		 m->end);
	/* A file that is there but refused stops the search: no other file by its name. */
	fd = sym_file__open(-1, path, NULL, SYM_OPEN_MAGICLINK, SYM_MAX_ELF_SIZE, &st);
	/* A file loaded already (most mappings of a new process): nothing else to read. */
	for (d = s->dsos; fd >= 0 && d; d = d->next)
		if (d->dev == st.st_dev && d->ino == st.st_ino) {
			close(fd);
			d->seen = s->sweeps;
			m->obj = d;
			return d;
		}
	ctx.cred = cred_of(s, pid, &cbuf, NULL);
	ctx.rootfd = open_root(s, pid);
	if (fd == -EINVAL || fd == -EFBIG)
		file_refused(s, "mapped file", m->path, fd);
	else if (fd < 0 && ctx.rootfd >= 0)
		fd = ctx_open(s, &ctx, "binary", m->path, &st);
	if (fd == -ENOENT || fd == -ENOTDIR || fd == -EPERM || fd == -ESRCH) {
		struct open_ctx host = {-1, ctx.cred};

		fd = ctx_open(s, &host, "binary", m->path, &st);
	}
	d = fd < 0 ? &failed_dso : load_dso(s, fd, m->path, &ctx);
	if (fd >= 0)
		close(fd);
	if (ctx.rootfd >= 0)
		close(ctx.rootfd);
	m->obj = d;
	return d;
}

/* This process's vDSO: the kernel gives every 64-bit process the same image. */
static struct dso *vdso(struct symbolizer *s)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR), start, end;
	char line[512];
	FILE *f;

	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = true;
	if (!base)
		return NULL;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]") || sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		s->vdso = calloc(1, sizeof(*s->vdso));
		if (s->vdso)
			s->vdso->dwarf_fd = -1;
		if (s->vdso)
			s->vdso->syms = elf_syms__load_mem((void *)start, end - start);
		break;
	}
	fclose(f);
	return s->vdso;
}

/*
 * Open a perf map as perf would let its owner: not a symbolic link, owned by the
 * process's user or root (perf's rule), with the process's credentials.
 */
static int open_perf_map(struct symbolizer *s, int rootfd, const char *path,
			 const struct proc_cred *cred)
{
	struct stat st;
	int fd = sym_file__open(rootfd, path, cred, SYM_OPEN_NOFOLLOW, UINT64_MAX, &st);

	if (fd == -ELOOP) {
		s->fstats.perf_maps_symlinked++;
		log__printf(LOG_INFO, "pmuprof: perf map %s: ignored: a symbolic link\n", path);
	} else if (fd < 0) {
		file_refused(s, "perf map", path, fd);
	} else if (!proc_cred__owns(cred, st.st_uid)) {
		s->fstats.perf_maps_not_owned++;
		log__printf(LOG_INFO,
			    "pmuprof: perf map %s: ignored: owned by uid %u, not by the process's "
			    "user (%u) or root\n",
			    path, (unsigned)st.st_uid, (unsigned)cred->euid);
		close(fd);
		fd = -EPERM;
	}
	return fd;
}

static struct jitmap *read_perf_map(struct symbolizer *s, int fd)
{
	struct jitmap_stats st;
	struct jitmap *jm = jitmap__read(fd, &st);

	close(fd);
	s->fstats.perf_map_long_lines += st.long_lines;
	s->fstats.perf_map_dropped_entries += st.dropped_entries;
	s->fstats.perf_maps_truncated += st.truncated;
	return jm;
}

/* The perf map of the process (its generation, not the pid's next owner), read once. */
static struct jitmap *jitmap_of(struct symbolizer *s, pid_t pid)
{
	const struct proc_cred *cred;
	struct proc_cred cbuf;
	struct jitmap **slot;
	char path[512];
	pid_t nspid = pid;
	int rootfd, fd = -ENOENT;
	bool read;

	slot = aspaces__jit_slot(s->aspaces, pid, &read);
	if (!slot || read)
		return slot ? *slot : NULL;
	/* In a container the file is named after the pid the process sees (NSpid). */
	cred = cred_of(s, pid, &cbuf, &nspid);
	rootfd = open_root(s, pid);
	if (rootfd >= 0) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", nspid);
		fd = open_perf_map(s, rootfd, path, cred);
		close(rootfd);
	}
	/* Gone, or no map inside its root: where perf looks, by the pid we know. */
	if (fd == -ENOENT) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
		fd = open_perf_map(s, -1, path, cred);
	}
	if (fd >= 0)
		*slot = read_perf_map(s, fd);
	return *slot;
}

/* A mangled name's demangled one, from the symbolizer's map (added at its first use). */
static __attribute__((noinline)) const char *
demangle_mapped(struct symbolizer *s, const struct dso *dso, const char *name)
{
	uint64_t hash = hash__u64((uintptr_t)name);
	struct hashmap_entry *e;
	struct demangled *d;

	e = hashmap__find(&s->demangled, hash, name);
	if (e) {
		d = hashmap_entry__of(e, struct demangled, node);
		return d->name ? d->name : name;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return name;
	d->mangled = name;
	d->dso = dso;
	d->name = symbol__demangle(name);
	if (hashmap__add(&s->demangled, &d->node, hash)) {
		free(d->name);
		free(d);
		return name;
	}
	return d->name ? d->name : name;
}

/* Only _Z (C++, legacy Rust) and _R (Rust v0) names are mangled: no lookup for others
 * (checked inline: most names of a C program's frames). */
static inline const char *demangle(struct symbolizer *s, const struct dso *dso, const char *name)
{
	if (s->no_demangle || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return name;
	return demangle_mapped(s, dso, name);
}

/*
 * Re-read /proc/PID/maps when an address is not covered: once per live generation (an
 * exited one's pid may name another process by now), once per pid never seen.
 */
static bool reload_once(struct symbolizer *s, pid_t pid)
{
	int claim = aspaces__claim_reload(s->aspaces, pid);
	bool first = false;

	if (claim == -ENOENT) {
		keycache__add(&s->unknown_tried, pid, 0, &first);
		if (!first)
			return false;
	} else if (claim <= 0) {
		return false;
	}
	return aspaces__load_proc(s->aspaces, s->proc_root, pid) == 0;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b && b[1] ? b + 1 : path;
}

static bool is_anon(const char *path)
{
	return !strncmp(path, "//", 2) || !strncmp(path, "[anon", 5) ||
	       !strncmp(path, "/memfd:", 7);
}

const struct map_entry *symbolizer__user_map(struct symbolizer *s, pid_t pid, unsigned long addr)
{
	struct map_entry *m = aspaces__find(s->aspaces, pid, addr);

	if (m && m->path[0] != '[' && !is_anon(m->path))
		resolve(s, pid, m);
	return m;
}

/*
 * Does the process map anonymous code (where JIT code lives)? Without any, an address
 * outside its mappings (a frame walked from garbage) asks for no perf map: reading one
 * costs its credentials, its root and two opens, for every short-lived process.
 */
static bool maps_anon(struct symbolizer *s, pid_t pid)
{
	const struct map_entry *maps;
	size_t nr, i;

	maps = aspaces__maps(s->aspaces, pid, &nr);
	for (i = 0; i < nr; i++)
		if (is_anon(maps[i].path))
			return true;
	return false;
}

int symbolizer__user_frame(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			   char *buf, size_t sz)
{
	return symbolizer__user_frame_mod(s, pid, addr, leaf, buf, sz, NULL);
}

/* Called for every frame named: hex digits without snprintf. */
static void set_module(struct frame_module *mod, const struct map_entry *m, const struct dso *d)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (!mod)
		return;
	mod->path = m ? m->path : NULL;
	mod->start = m ? m->start : 0;
	mod->limit = m ? m->end : 0;
	mod->pgoff = m ? m->pgoff : 0;
	for (i = 0; d && i < d->build_id_len && i < 64; i++) {
		mod->build_id[2 * i] = hex[d->build_id[i] >> 4];
		mod->build_id[2 * i + 1] = hex[d->build_id[i] & 15];
	}
	mod->build_id[2 * i] = 0;
}

static void dwarf_budget__room(struct symbolizer *s, size_t need);

static void dwarf_room(void *arg, size_t bytes)
{
	dwarf_budget__room(arg, bytes);
}

/*
 * The file's DWARF, opened at the first named address (the file stays open until then):
 * its table of lines and inline frames holds the symbols' names too. Room is made in the
 * budget before its sections are read.
 */
static struct sym_dwarf *dso_dwarf(struct symbolizer *s, struct dso *d)
{
	if (d->dwarf_fd >= 0) {
		d->dwarf = sym_dwarf__open_room(d->dwarf_fd, dwarf_room, s);
		d->dwarf_fd = -1;
		sym_dwarf__set_symbols(d->dwarf, d->syms);
	}
	return d->dwarf;
}

/*
 * The frames of the function at link-time address vaddr of d: 0 when not named. Where the
 * DWARF covers vaddr, one lookup in its table gives the symbol, the line and the inline
 * frames; elsewhere the symbol table names it.
 */
static inline __attribute__((always_inline)) int dso_frames(struct symbolizer *s, struct dso *d,
							    unsigned long vaddr, uint32_t found,
							    struct sym_frame *out, int max)
{
	bool mangled[SYM_MAX_FRAMES] = {false};
	const char *name = NULL;
	int n = 0, i;

	if (max < 1)
		return 0;
	if (d->dwarf || (d->dwarf_fd >= 0 && elf_syms__lookup(d->syms, vaddr, NULL))) {
		/* In use from now on: room is not made by dropping it. */
		d->dwarf_used = ++s->dwarf_tick;
		n = sym_dwarf__frames_sym(dso_dwarf(s, d), vaddr, found, !s->no_inline, out, max,
					  mangled, &name);
		/* A compilation unit read: other files make room for what it took. */
		if (sym_dwarf__bytes(d->dwarf) != d->dwarf_bytes) {
			s->dwarf_bytes += sym_dwarf__bytes(d->dwarf) - d->dwarf_bytes;
			d->dwarf_bytes = sym_dwarf__bytes(d->dwarf);
			dwarf_budget__room(s, 0);
		}
	}
	if (!n)
		name = elf_syms__lookup(d->syms, vaddr, NULL);
	if (!name) {
		out[0].file = NULL;
		out[0].line = 0;
		return 0;
	}
	out[0].kind = SYM_FRAME_FUNCTION;
	out[0].function = demangle(s, d, name);
	for (i = 1; i < n; i++)
		if (mangled[i])
			out[i].function = demangle(s, d, out[i].function);
	return n > 1 ? n : 1;
}

int symbolizer__user_frames(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			    struct sym_frame *out, int max, struct frame_module *mod)
{
	unsigned long a = leaf ? addr : addr - 1, off, vaddr;
	struct map_entry *m;
	struct dso *d = NULL;
	int i, n;

	memset(out, 0, sizeof(*out));
	out->address = a;
	out->kind = SYM_FRAME_UNKNOWN;
	set_module(mod, NULL, NULL);
	m = aspaces__find(s->aspaces, pid, a);
	if (!m && reload_once(s, pid))
		m = aspaces__find(s->aspaces, pid, a);
	/* JIT code lives in anonymous memory and names itself in perf-PID.map. */
	if (!m || is_anon(m->path)) {
		out->function =
			m || maps_anon(s, pid) ? jitmap__lookup(jitmap_of(s, pid), a) : NULL;
		if (out->function)
			out->kind = SYM_FRAME_JIT;
		return 1;
	}
	off = a - m->start + m->pgoff;
	if (!strcmp(m->path, "[vdso]")) {
		d = vdso(s);
		off = a - m->start;
	} else if (m->path[0] != '[') {
		d = resolve(s, pid, m);
	}
	set_module(mod, m, d && d != &failed_dso ? d : NULL);
	out->kind = SYM_FRAME_MODULE;
	out->module = m->path[0] == '[' ? m->path : base_name(m->path);
	out->offset = m->path[0] == '[' ? a - m->start : off;
	if (d && d->syms && !elf_syms__offset_to_vaddr(d->syms, off, &vaddr)) {
		if (m->path[0] != '[')
			out->offset = vaddr;
		n = dso_frames(s, d, vaddr, 0, out, max < SYM_MAX_FRAMES ? max : SYM_MAX_FRAMES);
		for (i = 0; i < n; i++) {
			out[i].module = out->module;
			out[i].address = a;
			out[i].offset = vaddr;
		}
		if (n)
			return n;
	}
	return 1;
}

int symbolizer__format(const struct symbolizer *s, const struct sym_frame *f, char *buf, size_t sz)
{
	/* A region ("[vdso]") is spelt without its own brackets. */
	int mlen = f->module && f->module[0] == '[' ? (int)strcspn(f->module + 1, "]") : -1;
	const char *mname = mlen >= 0 ? f->module + 1 : f->module;

	switch (f->kind) {
	case SYM_FRAME_FUNCTION:
		/* Most frames: copied, not formatted (snprintf was most of a name's cost). */
		if (sz) {
			size_t n = strnlen(f->function, sz - 1);

			memcpy(buf, f->function, n);
			buf[n] = '\0';
		}
		return SYM_RESOLVED;
	case SYM_FRAME_JIT:
		snprintf(buf, sz, "%s_[j]", f->function);
		return SYM_RESOLVED;
	case SYM_FRAME_MODULE:
		/* One frame per module unless addresses are asked for: perf's [gzip]. */
		if (mlen < 0)
			mlen = (int)strlen(mname);
		if (s->module_offsets)
			snprintf(buf, sz, "[%.*s+0x%lx]", mlen, mname, f->offset);
		else
			snprintf(buf, sz, "[%.*s]", mlen, mname);
		return SYM_MODULE;
	default:
		snprintf(buf, sz, "[unknown]");
		return SYM_UNKNOWN;
	}
}

/* The function of the symbol table (the first frame), for callers that want one name. */
int symbolizer__user_frame_mod(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			       char *buf, size_t sz, struct frame_module *mod)
{
	struct sym_frame f[SYM_MAX_FRAMES];

	symbolizer__user_frames(s, pid, addr, leaf, f, SYM_MAX_FRAMES, mod);
	return symbolizer__format(s, &f[0], buf, sz);
}

/* The file at path (the last one again without opening it), NULL when it cannot be read. */
static struct dso *file_dso(struct symbolizer *s, const char *path)
{
	struct open_ctx ctx = {-1, NULL};
	struct stat st;
	struct dso *d;
	int fd;

	if (s->last_path && !strcmp(s->last_path, path))
		return s->last_dso;
	fd = ctx_open(s, &ctx, "file", path, &st);
	if (fd < 0)
		return NULL;
	d = load_dso(s, fd, path, &ctx);
	close(fd);
	free(s->last_path);
	s->last_path = strdup(path);
	s->last_dso = d;
	return d;
}

/* The frames of link-time address vaddr of d (NULL: a file not read), module named base;
 * found: what sym_dwarf__prefetch gave for vaddr on d's DWARF (0: none). */
static inline __attribute__((always_inline)) int file_frames(struct symbolizer *s, struct dso *d,
							     const char *base, unsigned long vaddr,
							     uint32_t found, struct sym_frame *out,
							     int max)
{
	int n = 0, i;

	memset(out, 0, sizeof(*out));
	if (!d) {
		out->kind = SYM_FRAME_UNKNOWN;
		return 1;
	}
	if (d->syms)
		n = dso_frames(s, d, vaddr, found, out,
			       max < SYM_MAX_FRAMES ? max : SYM_MAX_FRAMES);
	if (!n) {
		out->kind = SYM_FRAME_MODULE;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		out[i].module = base;
		out[i].address = out[i].offset = vaddr;
	}
	return n;
}

int symbolizer__file_frames(struct symbolizer *s, const char *path, unsigned long vaddr,
			    struct sym_frame *out, int max)
{
	return file_frames(s, file_dso(s, path), base_name(path), vaddr, 0, out, max);
}

/* Addresses asked for ahead and not named yet: at most two groups. */
#define AHEAD_RING (2 * SYM_DWARF_PREFETCH)

void symbolizer__file_frames_many(struct symbolizer *s, const char *path,
				  const unsigned long *vaddrs, size_t n, struct sym_frame *out,
				  int *nframes)
{
	uint64_t ahead[SYM_DWARF_PREFETCH];
	/* found[i % AHEAD_RING]: what the prefetch found for address i on DWARF asked. */
	uint32_t found[AHEAD_RING] = {0}, got[SYM_DWARF_PREFETCH];
	/* One file for all: opened (or found) and named once, not per address. */
	struct dso *d = n ? file_dso(s, path) : NULL;
	const struct sym_dwarf *asked = NULL;
	const char *base = base_name(path);
	size_t i, j, next = 1;

	for (i = 0; i < n; i++) {
		/* The file's DWARF is opened by the first address; from then on the addresses
		 * up to a group past the one named are asked for ahead. */
		if (i && next < n && next <= i + SYM_DWARF_PREFETCH && d && d->dwarf) {
			for (j = 0; j < SYM_DWARF_PREFETCH && next + j < n; j++)
				ahead[j] = vaddrs[next + j];
			sym_dwarf__prefetch(d->dwarf, ahead, j, got);
			for (j = 0; j < SYM_DWARF_PREFETCH && next + j < n; j++)
				found[(next + j) % AHEAD_RING] = got[j];
			asked = d->dwarf;
			next += j;
		}
		nframes[i] =
			file_frames(s, d, base, vaddrs[i],
				    i < next && d && d->dwarf == asked ? found[i % AHEAD_RING] : 0,
				    out + i * SYM_MAX_FRAMES, SYM_MAX_FRAMES);
		/* A file's DWARF dropped to make room: what was found in it is no more. */
		if (d && d->dwarf != asked)
			asked = NULL, next = i + 1;
	}
}

int symbolizer__file_symbol(struct symbolizer *s, const char *path, unsigned long vaddr, char *buf,
			    size_t sz)
{
	struct sym_frame f[SYM_MAX_FRAMES];

	symbolizer__file_frames(s, path, vaddr, f, SYM_MAX_FRAMES);
	return symbolizer__format(s, &f[0], buf, sz);
}

static void mark_in_use(void *obj, void *arg)
{
	struct symbolizer *s = arg;
	struct dso *d = obj;

	if (d != &failed_dso)
		d->seen = s->sweeps;
}

/*
 * The file whose DWARF was looked in least recently, NULL when none is loaded. With
 * unused_only, only among files that gave no frame since the caller last copied them.
 */
static struct dso *dwarf_lru(struct symbolizer *s, bool unused_only)
{
	struct dso *d, *lru = NULL;

	for (d = s->dsos; d; d = d->next)
		if (d->dwarf && (!lru || d->dwarf_used < lru->dwarf_used) &&
		    (!unused_only || d->dwarf_used <= s->dwarf_copied))
			lru = d;
	return lru;
}

/* The file with libdw open that was looked in least recently, but not the one looked in
 * now; NULL when none. */
static struct dso *dwarf_lru_lib(struct symbolizer *s)
{
	struct dso *d, *lru = NULL;

	for (d = s->dsos; d; d = d->next)
		if (sym_dwarf__lib_bytes(d->dwarf) && d->dwarf_used != s->dwarf_tick &&
		    (!lru || d->dwarf_used < lru->dwarf_used))
			lru = d;
	return lru;
}

/* Free a file's libdw (sections, libdw's line tables), keep its table: what was named
 * stays named, and its frames valid; libdw is read again for a unit not yet in the table. */
static void dwarf_shed(struct symbolizer *s, struct dso *d)
{
	size_t freed = sym_dwarf__shed(d->dwarf);

	s->dwarf_bytes -= freed;
	d->dwarf_bytes -= freed;
	s->dwarf_sheds++;
}

/* Drop a file's DWARF (indexes, line tables, sections); the file stays open, and is read
 * again at its next lookup. */
static void dwarf_drop(struct symbolizer *s, struct dso *d)
{
	/* Names demangled from its inline frames are keyed by pointers into it. */
	demangled_forget(s, d);
	s->dwarf_bytes -= d->dwarf_bytes;
	d->dwarf_bytes = 0;
	d->dwarf_fd = sym_dwarf__drop(d->dwarf);
	d->dwarf = NULL;
	d->lib_uses = 0;
	s->dwarf_drops++;
}

/*
 * Whether d's DWARF may go to make room for need more bytes: past the budget, files not
 * looked in since the sweep at tick idle; past twice the budget, any. A file in use that
 * goes is read and inflated again at once (at every drain, for a busy system-wide record:
 * three times the CPU of keeping it).
 */
static bool dwarf_may_go(const struct symbolizer *s, const struct dso *d, size_t need,
			 uint64_t idle)
{
	if (s->dwarf_bytes + need <= s->dwarf_budget)
		return false;
	return d->dwarf_used <= idle || s->dwarf_bytes + need > 2 * s->dwarf_budget;
}

/*
 * Make room for need more bytes, at a load, least recently used files first: libdw's
 * part of files (sections, line tables: most of it), of files in use too (their tables
 * stay: only a unit not yet indexed reads the sections again, where a dropped file is
 * read and indexed again for every unit it had), then whole files, but none whose
 * frames the caller may still hold (see symbolizer__frames_copied()). A caller that never
 * says so keeps every file's table until the next sweep.
 */
static void dwarf_budget__room(struct symbolizer *s, size_t need)
{
	struct dso *d;

	while ((d = dwarf_lru_lib(s)) && s->dwarf_bytes + need > s->dwarf_budget)
		dwarf_shed(s, d);
	while ((d = dwarf_lru(s, true)) && dwarf_may_go(s, d, need, s->swept_tick))
		dwarf_drop(s, d);
}

void symbolizer__frames_copied(struct symbolizer *s)
{
	s->dwarf_copied = s->dwarf_tick;
}

/*
 * Whatever the budget, libdw goes from files that did not need it for lib_idle_sweeps
 * sweeps (its table stays): once the units a workload runs are in a file's table, its lookups read the
 * table only, and libdw's copy of the sections would be held for nothing (soak: most of
 * the symbolizer's memory). A unit read later reads the sections again. It goes from a
 * file in use too once the line tables libdw keeps of the units read (dead weight: the
 * table has what they gave) outgrow the sections and LIB_LINES_MIN: reading the sections
 * again costs about what it frees, once per as many units (libc's debug file, which new
 * processes keep reading new units of, held 27 MB of line tables after a minute). The
 * tables give back the room kept for their growth.
 */
static bool dwarf_lines_over(const struct sym_dwarf *dw)
{
	size_t lines = sym_dwarf__lines_bytes(dw), sections = sym_dwarf__lib_bytes(dw) - lines;

	return lines > LIB_LINES_MIN && lines > sections;
}

static void dwarf_idle__shed(struct symbolizer *s)
{
	struct dso *d;

	for (d = s->dsos; d; d = d->next) {
		size_t freed;
		uint64_t uses = sym_dwarf__lib_uses(d->dwarf);

		if (!d->dwarf)
			continue;
		if (uses != d->lib_uses) {
			d->lib_uses = uses;
			d->lib_seen = s->sweeps;
		}
		if (sym_dwarf__lib_bytes(d->dwarf) &&
		    (s->sweeps - d->lib_seen >= s->lib_idle_sweeps || dwarf_lines_over(d->dwarf)))
			dwarf_shed(s, d);
		freed = sym_dwarf__trim(d->dwarf);
		s->dwarf_bytes -= freed;
		d->dwarf_bytes -= freed;
	}
}

/*
 * At a sweep, what is kept fits the budget: libdw's parts go first (of any file but the
 * one looked in last), then whole files, least recently used first (dwarf_may_go()).
 * Files looked in since the last sweep would be read again at
 * once (a file larger than the budget made every sweep drop all of them, and a quarter of
 * a busy system-wide record went into reading them back): their tables stay while twice
 * the budget holds them. Frames handed out before a sweep are not valid after it.
 */
static void dwarf_budget__keep(struct symbolizer *s)
{
	uint64_t swept = s->swept_tick;
	struct dso *d;

	s->swept_tick = s->dwarf_tick;
	dwarf_idle__shed(s);
	while ((d = dwarf_lru_lib(s)) && s->dwarf_bytes > s->dwarf_budget)
		dwarf_shed(s, d);
	while ((d = dwarf_lru(s, false)) && dwarf_may_go(s, d, 0, swept))
		dwarf_drop(s, d);
}

void symbolizer__dwarf_stats(const struct symbolizer *s, struct symbolizer_dwarf_stats *out)
{
	*out = (struct symbolizer_dwarf_stats){.bytes = s->dwarf_bytes,
					       .budget = s->dwarf_budget,
					       .drops = s->dwarf_drops,
					       .sheds = s->dwarf_sheds};
}

/*
 * The kernel's names are asked for again now and then: BPF programs and modules come and
 * go, and another may take a freed address (a long record, the agent). A few hundred
 * addresses a minute cost about a millisecond; the table stays small.
 */
static void kernel_names_age(struct symbolizer *s)
{
	if (!s->knamed ||
	    (s->sweeps % KERNEL_NAMES_SWEEPS && ksyms__count(s->knamed) < KERNEL_NAMES_MAX))
		return;
	ksyms__free(s->knamed);
	s->knamed = NULL;
	s->kstats.resets++;
}

size_t symbolizer__sweep(struct symbolizer *s)
{
	struct dso **pp, *d;
	size_t n = 0;

	s->sweeps++;
	kernel_names_age(s);
	aspaces__for_each_obj(s->aspaces, mark_in_use, s);
	for (pp = &s->dsos; (d = *pp);) {
		if (s->sweeps - d->seen < DSO_IDLE_SWEEPS) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		demangled_forget(s, d);
		if (s->last_dso == d) {
			free(s->last_path);
			s->last_path = NULL;
			s->last_dso = NULL;
		}
		s->dwarf_bytes -= d->dwarf_bytes;
		dso__free(d);
		n++;
	}
	dwarf_budget__keep(s);
	return n;
}
