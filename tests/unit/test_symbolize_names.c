// SPDX-License-Identifier: GPL-2.0
/*
 * Names of frames: which of the symbols at one address names it (elf_sym__alias_cmp),
 * on a table of cases and on Debian's libc with its debug file (libc6-dbg).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <unistd.h>
#include <sys/stat.h>
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize/symbolize.h"
#include "symbolize/symbolize-private.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

struct alias_case {
	int line;
	struct elf_sym a, b; /* a must be the better name */
};

static const struct alias_case alias_cases[] = {
	/* glibc's local aliases lose to the public name */
	{__LINE__, {0, 791, "malloc", STB_GLOBAL}, {0, 791, "__GI___libc_malloc", STB_LOCAL}},
	{__LINE__, {0, 791, "malloc", STB_GLOBAL}, {0, 791, "__libc_malloc", STB_GLOBAL}},
	{__LINE__, {0, 791, "__libc_malloc", STB_GLOBAL}, {0, 791, "__malloc", STB_LOCAL}},
	{__LINE__, {0, 157, "read", STB_GLOBAL}, {0, 157, "__GI_read", STB_LOCAL}},
	{__LINE__, {0, 157, "read", STB_GLOBAL}, {0, 157, "__read", STB_GLOBAL}},
	/* a version suffix loses, then the shorter name wins */
	{__LINE__, {0, 257, "free", STB_GLOBAL}, {0, 257, "cfree@GLIBC_2.2.5", STB_GLOBAL}},
	{__LINE__, {0, 257, "free", STB_GLOBAL}, {0, 257, "cfree", STB_GLOBAL}},
	{__LINE__, {0, 9, "zzz", STB_GLOBAL}, {0, 9, "ab@V1", STB_GLOBAL}},
	/* global or weak (both public: glibc's calloc is weak) over local, before underscores */
	{__LINE__, {0, 944, "calloc", STB_WEAK}, {0, 944, "__libc_calloc", STB_GLOBAL}},
	{__LINE__, {0, 944, "calloc", STB_WEAK}, {0, 944, "__calloc", STB_LOCAL}},
	{__LINE__, {0, 8, "__weak", STB_WEAK}, {0, 8, "local", STB_LOCAL}},
	{__LINE__, {0, 8, "__global", STB_GLOBAL}, {0, 8, "local", STB_LOCAL}},
	/* a symbol with a size before all of that */
	{__LINE__, {0, 8, "__GI_sized", STB_LOCAL}, {0, 0, "unsized", STB_GLOBAL}},
	/* equal in all: by bytes, whatever the order */
	{__LINE__, {0, 8, "abc", STB_GLOBAL}, {0, 8, "abd", STB_GLOBAL}},
};

Test(names, alias_rule)
{
	size_t i;

	for (i = 0; i < sizeof(alias_cases) / sizeof(alias_cases[0]); i++) {
		const struct alias_case *c = &alias_cases[i];

		cr_expect_lt(elf_sym__alias_cmp(&c->a, &c->b), 0, "line %d: %s should beat %s",
			     c->line, c->a.name, c->b.name);
		cr_expect_gt(elf_sym__alias_cmp(&c->b, &c->a), 0, "line %d: reversed", c->line);
		cr_expect_eq(elf_sym__alias_cmp(&c->a, &c->a), 0, "line %d: itself", c->line);
	}
}

/* The link-time address of an exported libc function, from libc's .dynsym. */
static unsigned long libc_addr(const char *name)
{
	struct elf_syms *es = elf_syms__load(LIBC);
	unsigned long vaddr = 0;

	cr_assert_not_null(es);
	cr_assert_eq(elf_syms__find(es, name, &vaddr), 0, "%s not in libc", name);
	elf_syms__free(es);
	return vaddr;
}

/* libc's own symbols plus its debug file's (libc6-dbg): the public names. */
Test(names, libc_public_names)
{
	static const char *const names[] = {"malloc",  "free",	"read",	  "calloc",
					    "realloc", "write", "memchr", "qsort"};
	struct symbolizer *s = symbolizer__new(NULL);
	char buf[256];
	size_t i;

	cr_assert_not_null(s);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_expect_eq(
			symbolizer__file_symbol(s, LIBC, libc_addr(names[i]) + 1, buf, sizeof(buf)),
			SYM_RESOLVED);
		cr_expect_str_eq(buf, names[i]);
	}
	symbolizer__free(s);
}

/* By address, the better name first. */
static int wide_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return elf_sym__alias_cmp(x, y);
}

/* libc's .dynsym read here with libelf: its functions, one per address, best name kept. */
static size_t libc_reference(struct elf_sym **out)
{
	int fd = open(LIBC, O_RDONLY);
	Elf_Scn *scn = NULL;
	size_t i, n = 0, k = 0;
	struct elf_sym *w;
	GElf_Shdr sh;
	Elf *elf;

	elf_version(EV_CURRENT);
	cr_assert_geq(fd, 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	while ((scn = elf_nextscn(elf, scn)) &&
	       (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM))
		;
	cr_assert_not_null(scn);
	w = calloc(sh.sh_size / sh.sh_entsize, sizeof(*w));
	for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		GElf_Sym sym;
		const char *name;

		gelf_getsym(elf_getdata(scn, NULL), i, &sym);
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if ((GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
		     GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC) ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value || !name || !*name)
			continue;
		w[n++] = (struct elf_sym){sym.st_value, sym.st_size, strdup(name),
					  GELF_ST_BIND(sym.st_info)};
	}
	qsort(w, n, sizeof(*w), wide_cmp);
	for (i = 0; i < n; i++) {
		if (!k || w[i].addr != w[k - 1].addr)
			w[k++] = w[i];
		else
			free((char *)w[i].name);
	}
	elf_end(elf);
	close(fd);
	*out = w;
	return k;
}

/* The stored table names, starts and sizes every function as libc's own symbols do. */
static void expect_libc_table(const struct elf_syms *es, const struct elf_sym *ref, size_t n)
{
	unsigned long addr, size, delta;
	size_t i;

	cr_assert_eq(elf_syms__count(es), n);
	for (i = 0; i < n; i++) {
		const char *name = elf_syms__at(es, i, &addr, &size);

		cr_assert_not_null(name);
		cr_expect_str_eq(name, ref[i].name);
		cr_expect_eq(addr, ref[i].addr, "%s", ref[i].name);
		cr_expect_eq(size, ref[i].size, "%s", ref[i].name);
		cr_expect_str_eq(elf_syms__lookup(es, ref[i].addr, &delta), ref[i].name);
		cr_expect_eq(delta, 0);
	}
}

/* The compact table keeps every name; merging a table with itself changes nothing. */
Test(names, libc_table_as_libelf_reads_it)
{
	struct elf_syms *es = elf_syms__load(LIBC), *again = elf_syms__load(LIBC);
	struct elf_sym *ref;
	size_t n = libc_reference(&ref);

	cr_assert_not_null(es);
	cr_assert_not_null(again);
	cr_assert_gt(n, 1000);
	expect_libc_table(es, ref, n);
	cr_assert_eq(elf_syms__merge(es, again), 0);
	expect_libc_table(es, ref, n);
	elf_syms__free(again);
	elf_syms__free(es);
	while (n--)
		free((char *)ref[n].name);
	free(ref);
}

/* No function of libc (with its debug file) is named by a __GI_ alias. */
Test(names, libc_no_gi_aliases)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct elf_syms *es = elf_syms__load(LIBC);
	unsigned long addr, size;
	size_t i, named = 0;
	const char *name;
	char buf[256];

	cr_assert_not_null(s);
	cr_assert_not_null(es);
	for (i = 0; (name = elf_syms__at(es, i, &addr, &size)); i++) {
		if (symbolizer__file_symbol(s, LIBC, addr, buf, sizeof(buf)) != SYM_RESOLVED)
			continue;
		named++;
		cr_expect(strncmp(buf, "__GI_", 5), "%#lx named %s", addr, buf);
	}
	cr_expect_gt(named, 1000);
	elf_syms__free(es);
	symbolizer__free(s);
}

/* A function of this test whose lines are known: its frame's file:line must be in it. */
static const int target_first = __LINE__ + 1;
__attribute__((noinline, used)) unsigned long records_target(unsigned long x)
{
	unsigned long r = x * 2654435761u;

	__asm__ volatile("" : "+r"(r));
	return r ^ (r >> 7);
}
static const int target_last = __LINE__ - 1;

/* The mapping of /proc/self/maps holding addr: start, end, offset, path. */
static void self_mapping(unsigned long addr, unsigned long *start, unsigned long *end,
			 unsigned long *pgoff, char *path, size_t sz)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (sscanf(line, "%lx-%lx %*s %lx", start, end, pgoff) != 3 || addr < *start ||
		    addr >= *end)
			continue;
		snprintf(path, sz, "%s", p ? p : "");
		path[strcspn(path, "\n")] = 0;
		fclose(f);
		return;
	}
	fclose(f);
	cr_assert_fail("%#lx in no mapping of /proc/self/maps", addr);
}

/* The hex build id of an ELF file. */
static void build_id_hex(const char *path, char *hex)
{
	struct elf_syms *es = elf_syms__load(path);
	unsigned char id[64];
	size_t n, i;

	cr_assert_not_null(es, "%s", path);
	n = elf_syms__build_id(es, id, sizeof(id));
	for (i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
	hex[2 * n] = 0;
	elf_syms__free(es);
}

/* A frame record of a live process (this one), as the pprof writer reads it. */
static void check_record(struct symbolizer *s, unsigned long addr, const char *function,
			 const char *module)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	struct frame_module mod;
	unsigned long start, end, pgoff;
	char path[4096], hex[129];
	int n;

	memset(&mod, 0xff, sizeof(mod));
	n = symbolizer__user_frames(s, getpid(), addr, true, f, SYM_MAX_FRAMES, &mod);
	self_mapping(addr, &start, &end, &pgoff, path, sizeof(path));
	build_id_hex(path, hex);
	cr_assert_geq(n, 1);
	cr_expect_eq(f[0].kind, SYM_FRAME_FUNCTION, "%#lx: kind %d", addr, f[0].kind);
	cr_expect_str_eq(f[0].function, function);
	cr_expect_not(f[0].inlined);
	cr_expect_str_eq(f[0].module, module);
	cr_expect_eq(f[0].address, addr);
	cr_assert_not_null(f[0].file, "%s: no source file", function);
	cr_expect_gt(f[0].line, 0u);
	cr_assert_not_null(mod.path);
	cr_expect_str_eq(mod.path, path);
	cr_expect_gt(strlen(mod.build_id), 0);
	cr_expect_str_eq(mod.build_id, hex);
	cr_expect_eq(mod.start, start);
	cr_expect_eq(mod.limit, end);
	cr_expect_eq(mod.pgoff, pgoff);
}

/* Every frame record carries file, line and module with its build id and mapping: this
 * test's own function (its DWARF) and a libc function (libc6-dbg's). */
Test(names, user_frame_records)
{
	struct symbolizer *s = symbolizer__new(NULL);
	unsigned long self = (unsigned long)records_target;
	void *libc_fn = dlsym(RTLD_DEFAULT, "gnu_get_libc_version");
	struct sym_frame f[SYM_MAX_FRAMES];
	int n, i;

	cr_assert_not_null(s);
	cr_assert_not_null(libc_fn);
	cr_assert_eq(records_target(3) != 0, true);
	check_record(s, self, "records_target", "test_symbolize_names");
	n = symbolizer__user_frames(s, getpid(), self, true, f, SYM_MAX_FRAMES, NULL);
	cr_expect(strstr(f[0].file, "test_symbolize_names.c"), "file %s", f[0].file);
	cr_expect(f[0].line >= (unsigned)target_first && f[0].line <= (unsigned)target_last,
		  "line %u, not in %d-%d", f[0].line, target_first, target_last);
	for (i = 1; i < n; i++)
		cr_expect(f[i].inlined && f[i].file, "frame %d", i);
	check_record(s, (unsigned long)libc_fn + 1, "gnu_get_libc_version", "libc.so.6");
	symbolizer__free(s);
}

/* How folded stacks spell each kind of frame, cut to the buffer with its terminator. */
Test(names, format_spelling_and_truncation)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .module_offsets = true};
	struct symbolizer *s = symbolizer__new(NULL), *so = symbolizer__new(&o);
	struct sym_frame fn = {.kind = SYM_FRAME_FUNCTION, .function = "malloc"};
	struct sym_frame jit = {.kind = SYM_FRAME_JIT, .function = "jitted"};
	struct sym_frame mod = {.kind = SYM_FRAME_MODULE, .module = "gzip", .offset = 0x4883};
	struct sym_frame vdso = {.kind = SYM_FRAME_MODULE, .module = "[vdso]", .offset = 0x10};
	struct sym_frame unk = {.kind = SYM_FRAME_UNKNOWN};
	char buf[64];

	cr_assert(s && so);
	cr_expect_eq(symbolizer__format(s, &fn, buf, sizeof(buf)), SYM_RESOLVED);
	cr_expect_str_eq(buf, "malloc");
	memset(buf, 'x', sizeof(buf));
	cr_expect_eq(symbolizer__format(s, &fn, buf, 4), SYM_RESOLVED);
	cr_expect_str_eq(buf, "mal");
	cr_expect_eq(buf[4], 'x', "byte past the buffer written");
	cr_expect_eq(symbolizer__format(s, &fn, buf, 1), SYM_RESOLVED);
	cr_expect_str_eq(buf, "");
	buf[0] = 'x';
	symbolizer__format(s, &fn, buf, 0);
	cr_expect_eq(buf[0], 'x', "a buffer of no bytes written");
	symbolizer__format(s, &jit, buf, sizeof(buf));
	cr_expect_str_eq(buf, "jitted_[j]");
	cr_expect_eq(symbolizer__format(s, &mod, buf, sizeof(buf)), SYM_MODULE);
	cr_expect_str_eq(buf, "[gzip]");
	symbolizer__format(so, &mod, buf, sizeof(buf));
	cr_expect_str_eq(buf, "[gzip+0x4883]");
	symbolizer__format(s, &vdso, buf, sizeof(buf));
	cr_expect_str_eq(buf, "[vdso]");
	cr_expect_eq(symbolizer__format(s, &unk, buf, sizeof(buf)), SYM_UNKNOWN);
	cr_expect_str_eq(buf, "[unknown]");
	symbolizer__free(so);
	symbolizer__free(s);
}

/*
 * A process that is gone, its binary no longer at the path it was mapped from: the file
 * the kernel named by device and inode when it was mapped, loaded already for another
 * process, still names its frames; without them it cannot be found.
 */
Test(names, gone_process_file_by_device_and_inode)
{
	struct symbolizer *s = symbolizer__new(NULL);
	unsigned long self = (unsigned long)records_target, start, end, pgoff;
	const pid_t gone = 2147483000;
	struct sym_frame f[SYM_MAX_FRAMES];
	char path[4096];
	struct stat st;

	cr_assert_not_null(s);
	self_mapping(self, &start, &end, &pgoff, path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	/* This process's file, loaded through its own mapping. */
	symbolizer__user_frames(s, getpid(), self, true, f, SYM_MAX_FRAMES, NULL);
	cr_assert_str_eq(f[0].function, "records_target");

	cr_assert_eq(aspaces__add_map(symbolizer__aspaces(s), gone, start, end - start, pgoff,
				      "/nonexistent/test_symbolize_names"),
		     0);
	symbolizer__user_frames(s, gone, self, true, f, SYM_MAX_FRAMES, NULL);
	cr_expect_null(f[0].function, "named %s without the file", f[0].function);

	cr_assert_eq(aspaces__add_file_map(symbolizer__aspaces(s), gone + 1, start, end - start,
					   pgoff, "/nonexistent/test_symbolize_names", st.st_dev,
					   st.st_ino),
		     0);
	symbolizer__user_frames(s, gone + 1, self, true, f, SYM_MAX_FRAMES, NULL);
	cr_assert_not_null(f[0].function);
	cr_expect_str_eq(f[0].function, "records_target");
	cr_expect_str_eq(f[0].module, "test_symbolize_names");
	symbolizer__free(s);
}

/*
 * An address outside every mapping is looked for in the process's perf map only when the
 * process maps anonymous code (where JIT code lives): a frame walked from garbage in a
 * process without any asks for nothing.
 */
Test(names, perf_map_only_for_processes_with_anonymous_code)
{
	struct symbolizer *s = symbolizer__new(NULL);
	const pid_t plain = 2147483100, jit = plain + 1;
	struct sym_frame f[SYM_MAX_FRAMES];
	char path[2][64];
	int i;

	cr_assert_not_null(s);
	for (i = 0; i < 2; i++) {
		FILE *m;

		snprintf(path[i], sizeof(path[i]), "/tmp/perf-%d.map", plain + i);
		m = fopen(path[i], "w");
		cr_assert_not_null(m);
		fprintf(m, "5000 100 jitted_function\n");
		fclose(m);
	}
	aspaces__add_map(symbolizer__aspaces(s), plain, 0x400000, 0x1000, 0, "/bin/plain");
	aspaces__add_map(symbolizer__aspaces(s), jit, 0x400000, 0x1000, 0, "/bin/jit");
	aspaces__add_map(symbolizer__aspaces(s), jit, 0x7000, 0x1000, 0, "//anon");
	symbolizer__user_frames(s, plain, 0x5010, true, f, SYM_MAX_FRAMES, NULL);
	cr_expect_null(f[0].function, "named %s", f[0].function);
	symbolizer__user_frames(s, jit, 0x5010, true, f, SYM_MAX_FRAMES, NULL);
	cr_expect_str_eq(f[0].function ? f[0].function : "(null)", "jitted_function");
	for (i = 0; i < 2; i++)
		unlink(path[i]);
	symbolizer__free(s);
}
