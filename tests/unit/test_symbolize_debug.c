// SPDX-License-Identifier: GPL-2.0
/*
 * Names that only a separate debug file can give (local functions of a stripped
 * binary): found by .gnu_debuglink with its CRC, by build id under a debug root, with
 * zlib-compressed sections, and in MiniDebugInfo. C++ and Rust demangling. JIT maps.
 * The vDSO.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <gelf.h>
#include "symbolize/symbolize.h"
#include "symbolize/symbolize-private.h"

static char *fixture(const char *rel)
{
	static char buf[4][1024];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", getenv("PMUPROF_DEBUG_FIXTURES"), rel);
	return buf[i];
}

static unsigned long local_function_vaddr(void)
{
	struct elf_syms *es = elf_syms__load(getenv("PMUPROF_FIXTURE_DEBUGPROG"));
	unsigned long v = 0;

	cr_assert_not_null(es);
	cr_assert_eq(elf_syms__find(es, "debug_only_function", &v), 0);
	elf_syms__free(es);
	return v;
}

struct debug_case {
	int line;
	const char *binary;
	const char *debug_root; /* NULL: none */
	int result;
};

static const struct debug_case debug_cases[] = {
	{__LINE__, "debuglink/prog", NULL, SYM_RESOLVED},
	{__LINE__, "badcrc/prog", NULL, SYM_MODULE},
	{__LINE__, "buildid/prog", "buildid-root", SYM_RESOLVED},
	{__LINE__, "buildid/prog", NULL, SYM_MODULE},
	{__LINE__, "zlib/prog", "zlib-root", SYM_RESOLVED},
	{__LINE__, "minidebug/prog", NULL, SYM_RESOLVED},
};

Test(debug_files, found_and_checked)
{
	unsigned long vaddr = local_function_vaddr();
	size_t i;

	for (i = 0; i < sizeof(debug_cases) / sizeof(debug_cases[0]); i++) {
		const struct debug_case *c = &debug_cases[i];
		struct symbolizer_opts o = {
			.sz = sizeof(o),
			.debug_dirs = c->debug_root ? fixture(c->debug_root) : "/nonexistent-debug",
		};
		struct symbolizer *s = symbolizer__new(&o);
		struct elf_syms *stripped = elf_syms__load(fixture(c->binary));
		char buf[256];
		int r;

		cr_assert_not_null(stripped, "line %d", c->line);
		/* The stripped binary alone cannot name the local function. */
		cr_expect_not(elf_syms__has_symtab(stripped) && !strstr(c->binary, "minidebug"),
			      "line %d: %s is not stripped", c->line, c->binary);
		elf_syms__free(stripped);
		r = symbolizer__file_symbol(s, fixture(c->binary), vaddr + 1, buf, sizeof(buf));
		cr_expect_eq(r, c->result, "line %d: %s: got %s", c->line, c->binary, buf);
		if (c->result == SYM_RESOLVED)
			cr_expect_str_eq(buf, "debug_only_function", "line %d", c->line);
		symbolizer__free(s);
	}
}

Test(debug_files, build_id_read)
{
	struct elf_syms *es = elf_syms__load(getenv("PMUPROF_FIXTURE_DEBUGPROG"));
	unsigned char id[64];
	char hex[130] = "", want[130];
	FILE *f = fopen(fixture("stamp"), "r");
	size_t n, i;

	cr_assert_not_null(es);
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%129s", want), 1);
	fclose(f);
	n = elf_syms__build_id(es, id, sizeof(id));
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	cr_expect_str_eq(hex, want);
	elf_syms__free(es);
}

struct demangle_case {
	int line;
	const char *mangled;
	const char *want; /* NULL: not mangled */
};

static const struct demangle_case demangle_cases[] = {
	{__LINE__, "_ZNK15pmuprof_fixture3BoxIdE3getEv",
	 "pmuprof_fixture::Box<double>::get() const"},
	{__LINE__, "_ZN15pmuprof_fixture10accumulateIlEET_RKSt6vectorIS1_SaIS1_EE",
	 "long pmuprof_fixture::accumulate<long>(std::vector<long, std::allocator<long> > const&)"},
	{__LINE__, "_ZZ4mainENKUliE_clEi", "main::{lambda(int)#1}::operator()(int) const"},
	/* Rust legacy: Itanium-shaped, the hash suffix dropped */
	{__LINE__, "_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write"},
	{__LINE__, "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h1f2e3d4c5b6a7980E",
	 "std::rt::lang_start::{{closure}}"},
	/* Rust v0 */
	{__LINE__, "_RNvCs15kBYyAo9fc_7mycrate4main", "mycrate::main"},
	{__LINE__, "_RNvMNtCs1234_7mycrate3fooNtB2_3Bar3new", "<mycrate::foo::Bar>::new"},
	{__LINE__, "main", NULL},
	{__LINE__, "_not_mangled", NULL},
};

Test(demangle, cpp_and_rust)
{
	size_t i;

	for (i = 0; i < sizeof(demangle_cases) / sizeof(demangle_cases[0]); i++) {
		const struct demangle_case *c = &demangle_cases[i];
		char *got = symbol__demangle(c->mangled);

		if (!c->want)
			cr_expect_null(got, "line %d: %s", c->line, got);
		else
			cr_expect(got && !strcmp(got, c->want), "line %d: got %s", c->line,
				  got ? got : "(null)");
		free(got);
	}
}

Test(demangle, frames_of_a_cpp_binary)
{
	const char *bin = getenv("PMUPROF_FIXTURE_CPP");
	struct elf_syms *es = elf_syms__load(bin);
	struct symbolizer_opts raw = {.sz = sizeof(raw), .no_demangle = true};
	struct symbolizer *s = symbolizer__new(NULL), *r = symbolizer__new(&raw);
	unsigned long v;
	char buf[256];

	cr_assert_not_null(es);
	cr_assert_eq(elf_syms__find(es, "_ZZ4mainENKUliE_clEi", &v), 0);
	cr_expect_eq(symbolizer__file_symbol(s, bin, v + 1, buf, sizeof(buf)), SYM_RESOLVED);
	cr_expect_str_eq(buf, "main::{lambda(int)#1}::operator()(int) const");
	symbolizer__file_symbol(r, bin, v + 1, buf, sizeof(buf));
	cr_expect_str_eq(buf, "_ZZ4mainENKUliE_clEi");
	cr_assert_eq(elf_syms__find(es, "_ZNK15pmuprof_fixture3BoxIdE3getEv", &v), 0);
	symbolizer__file_symbol(s, bin, v, buf, sizeof(buf));
	cr_expect_str_eq(buf, "pmuprof_fixture::Box<double>::get() const");
	elf_syms__free(es);
	symbolizer__free(s);
	symbolizer__free(r);
}

Test(jitmap, parse_and_lookup)
{
	char path[] = "/tmp/pmuprof-jitmap-XXXXXX";
	int fd = mkstemp(path);
	struct jitmap *jm;
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs("7f0000001000 100 LazyCompile:*hot /app/x.js:10\n"
	      "7f0000000000 40 Interpreter:stub\n"
	      "garbage line\n"
	      "7f0000002000 0 zero-size\n"
	      "7f0000003000 20 java.lang.String::hashCode()\n",
	      f);
	fclose(f);
	jm = jitmap__load(path);
	cr_assert_not_null(jm);
	cr_expect_eq(jitmap__count(jm), 3);
	cr_expect_str_eq(jitmap__lookup(jm, 0x7f0000001010), "LazyCompile:*hot /app/x.js:10");
	cr_expect_str_eq(jitmap__lookup(jm, 0x7f0000000000), "Interpreter:stub");
	cr_expect_null(jitmap__lookup(jm, 0x7f0000000040));
	cr_expect_null(jitmap__lookup(jm, 0x7f0000002000));
	cr_expect_str_eq(jitmap__lookup(jm, 0x7f000000301f), "java.lang.String::hashCode()");
	cr_expect_null(jitmap__lookup(jm, 0x7f0000003020));
	jitmap__free(jm);
	unlink(path);
	cr_expect_null(jitmap__load("/nonexistent/perf-1.map"));
}

Test(vdso, named_through_our_own_image)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR), start = 0, end = 0, v;
	struct symbolizer *s = symbolizer__new(NULL);
	struct elf_syms *es;
	char line[512], buf[256];
	FILE *f = fopen("/proc/self/maps", "r");

	cr_assert(base);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]"))
			sscanf(line, "%lx-%lx", &start, &end);
	fclose(f);
	cr_assert(end > start);
	es = elf_syms__load_mem((void *)start, end - start);
	cr_assert_not_null(es);
	/* __vdso_clock_gettime and its weak alias: the public name is kept (elf_sym__alias_cmp). */
	cr_assert_eq(elf_syms__find(es, "clock_gettime", &v), 0);
	cr_assert_eq(aspaces__load_proc(symbolizer__aspaces(s), "/proc", getpid()), 0);
	cr_expect_eq(symbolizer__user_frame(s, getpid(), start + v + 2, true, buf, sizeof(buf)),
		     SYM_RESOLVED);
	cr_expect(strstr(buf, "clock_gettime"), "got %s", buf);
	elf_syms__free(es);
	symbolizer__free(s);
}

/* The file offset and size of a section of an ELF file. */
static bool section_at(const char *path, const char *want, size_t *off, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = sym_elf__read(fd);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	bool found = false;

	cr_assert_not_null(elf);
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while (!found && (scn = elf_nextscn(elf, scn))) {
		const char *name =
			gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;

		if (name && !strcmp(name, want) && !(sh.sh_flags & SHF_COMPRESSED)) {
			*off = sh.sh_offset;
			*size = sh.sh_size;
			found = true;
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

/* The fixture with the last byte of section name set to c, in a memfd. */
static int patched_fixture(const char *name, char c)
{
	const char *path = getenv("PMUPROF_FIXTURE_DEBUGPROG");
	int fd = memfd_create("patched", MFD_CLOEXEC);
	size_t off, size, len;
	char *data;
	FILE *f;

	cr_assert(section_at(path, name, &off, &size), "%s has no %s", path, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	data = malloc(len);
	cr_assert_eq(fread(data, 1, len, f), len);
	fclose(f);
	if (c)
		data[off + size - 1] = c;
	cr_assert_eq(pwrite(fd, data, len, 0), (ssize_t)len);
	free(data);
	return fd;
}

/*
 * A string section that does not end in a NUL (fuzz_dwarf found one): libdw would read
 * past it; the file's DWARF is refused instead, and an intact copy still gives lines.
 */
Test(dwarf, unterminated_string_sections_refused)
{
	static const char *const sections[] = {".debug_line_str", ".debug_str"};
	unsigned long main_vaddr = 0;
	struct sym_frame f[SYM_MAX_FRAMES];
	bool mangled[SYM_MAX_FRAMES];
	struct elf_syms *es = elf_syms__load(getenv("PMUPROF_FIXTURE_DEBUGPROG"));
	struct sym_dwarf *d;
	size_t i;

	cr_assert_not_null(es);
	cr_assert_eq(elf_syms__find(es, "main", &main_vaddr), 0);
	elf_syms__free(es);
	d = sym_dwarf__open(patched_fixture(".debug_str", 0));
	cr_assert_not_null(d, "the intact fixture's DWARF is refused");
	memset(f, 0, sizeof(f));
	cr_expect_geq(sym_dwarf__frames(d, main_vaddr, true, f, SYM_MAX_FRAMES, mangled), 1);
	cr_expect(f[0].file && strstr(f[0].file, "debugprog.c"), "file %s", f[0].file);
	sym_dwarf__free(d);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		cr_expect_null(sym_dwarf__open(patched_fixture(sections[i], 'x')),
			       "%s without its final NUL is used", sections[i]);
}

/*
 * The fixture in a memfd with a 32-bit field of section name's header (at offset field)
 * set to value; value UINT32_MAX: the offset of the section name table's last byte.
 */
static int patched_header(const char *name, size_t field, uint32_t value)
{
	int fd = patched_fixture(name, 0), efd = dup(fd);
	Elf *elf = sym_elf__read(efd);
	Elf_Scn *scn = NULL;
	size_t shstrndx, idx = 0;
	GElf_Ehdr eh;
	GElf_Shdr sh, names;

	cr_assert_not_null(elf);
	cr_assert_not_null(gelf_getehdr(elf, &eh));
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	cr_assert_not_null(gelf_getshdr(elf_getscn(elf, shstrndx), &names));
	while (!idx && (scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && !strcmp(elf_strptr(elf, shstrndx, sh.sh_name), name))
			idx = elf_ndxscn(scn);
	elf_end(elf);
	close(efd);
	cr_assert_neq(idx, 0, "no %s", name);
	if (value == UINT32_MAX)
		value = (uint32_t)names.sh_size - 1;
	cr_assert_eq(pwrite(fd, &value, sizeof(value),
			    (off_t)(eh.e_shoff + idx * eh.e_shentsize + field)),
		     (ssize_t)sizeof(value));
	return fd;
}

/* The fixture with section name's type set to SHT_NOBITS (no data, a size). */
static int nobits_fixture(const char *name)
{
	return patched_header(name, offsetof(Elf64_Shdr, sh_type), SHT_NOBITS);
}

/* A string section with a size and no data (fuzz_dwarf found one): refused, no crash. */
Test(dwarf, string_sections_without_data_refused)
{
	static const char *const sections[] = {".debug_line_str", ".debug_str"};
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		cr_expect_null(sym_dwarf__open(nobits_fixture(sections[i])),
			       "%s without data is used", sections[i]);
}

/* The fixture with the name of its section want set to the empty string at the very end
 * of the section name table (its last byte). */
static int last_name_fixture(const char *want)
{
	return patched_header(want, offsetof(Elf64_Shdr, sh_name), UINT32_MAX);
}

/*
 * A section named by the section name table's last byte, an empty string (fuzz_dwarf
 * found it): the sections' names are read within the table (the ASan run of the suite
 * saw a read past it), and the file's DWARF still gives its lines.
 */
Test(dwarf, empty_section_name_at_table_end)
{
	struct elf_syms *es = elf_syms__load(getenv("PMUPROF_FIXTURE_DEBUGPROG"));
	struct sym_frame f[SYM_MAX_FRAMES];
	bool mangled[SYM_MAX_FRAMES];
	unsigned long main_vaddr = 0;
	struct sym_dwarf *d;

	cr_assert_not_null(es);
	cr_assert_eq(elf_syms__find(es, "main", &main_vaddr), 0);
	elf_syms__free(es);
	d = sym_dwarf__open(last_name_fixture(".comment"));
	cr_assert_not_null(d, "a section with an empty name refuses the file's DWARF");
	memset(f, 0, sizeof(f));
	cr_expect_geq(sym_dwarf__frames(d, main_vaddr, true, f, SYM_MAX_FRAMES, mangled), 1);
	cr_expect(f[0].file && strstr(f[0].file, "debugprog.c"), "file %s", f[0].file);
	sym_dwarf__free(d);
}

/*
 * A debug file whose inlined scopes name no abstract origin in their CU (from fuzz_dwarf):
 * the lookups that search the CU's DIEs (its functions are not in the table) keep no
 * memory per lookup. libdw 0.188's dwarf_getscopes kept 32 bytes at each; a long record
 * sampling such a file would grow without bound.
 */
Test(dwarf, scope_search_keeps_no_memory)
{
	static const unsigned long pcs[] = {0x1060, 0x10c7, 0x112e};
	char path[1024];
	struct sym_frame f[SYM_MAX_FRAMES];
	bool mangled[SYM_MAX_FRAMES];
	struct sym_dwarf *d;
	size_t before = 0, i, k;
	int fd;

	snprintf(path, sizeof(path), "%s/origin-missing.elf", getenv("PMUPROF_DWARF_DATA"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	d = sym_dwarf__open(fd);
	cr_assert_not_null(d);
	for (k = 0; k < 2001; k++) {
		/* after a first round: what a CU's table and its strings take is made */
		if (k == 1)
			before = mallinfo2().uordblks;
		for (i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++)
			cr_assert_geq(
				sym_dwarf__frames(d, pcs[i], true, f, SYM_MAX_FRAMES, mangled), 0);
	}
	cr_expect_lt(mallinfo2().uordblks, before + 4096, "%zu bytes more after 6000 lookups",
		     mallinfo2().uordblks - before);
	sym_dwarf__free(d);
}

/* Every frame of addr in libc, spelt out (function, file:line, inlined), as one string. */
static char *libc_frames(struct symbolizer *s, unsigned long addr, int *inlined)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	int n = symbolizer__file_frames(s, "/lib/x86_64-linux-gnu/libc.so.6", addr, f,
					SYM_MAX_FRAMES);
	char buf[8192];
	size_t len = 0;
	int i;

	for (i = 0; i < n && len < sizeof(buf) - 1; i++) {
		len += snprintf(buf + len, sizeof(buf) - len, "%d %s %s:%u %d|", f[i].kind,
				f[i].function ? f[i].function : "-", f[i].file ? f[i].file : "-",
				f[i].line, f[i].inlined);
		*inlined += f[i].inlined;
	}
	buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = 0;
	return strdup(buf);
}

/* Addresses across libc's code: every 7th function, every 5 bytes of its first 600. */
static unsigned long *libc_addrs(size_t *np)
{
	struct elf_syms *es = elf_syms__load("/lib/x86_64-linux-gnu/libc.so.6");
	unsigned long addr, size, *addrs = NULL;
	size_t i, n = 0, cap = 0;

	cr_assert_not_null(es);
	for (i = 0; elf_syms__at(es, i, &addr, &size) && n < 40000; i += 7) {
		unsigned long off;

		for (off = 0; off < size && off < 600; off += 5) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4096;
				addrs = realloc(addrs, cap * sizeof(*addrs));
				cr_assert_not_null(addrs);
			}
			addrs[n++] = addr + off;
		}
	}
	elf_syms__free(es);
	cr_assert_gt(n, 1000);
	*np = n;
	return addrs;
}

/*
 * A CU's first lookup builds its part of the file's table and later ones go through the
 * table's directory: both give the same frames, whichever addresses come first (forward,
 * again, backward), on libc's code with its debug file's lines and inline frames.
 */
Test(dwarf, table_same_frames_in_any_order)
{
	struct symbolizer *a = symbolizer__new(NULL), *b = symbolizer__new(NULL);
	size_t i, n;
	unsigned long *addrs = libc_addrs(&n);
	char **want;
	int inlined = 0, lines = 0;

	cr_assert(a && b);
	want = calloc(n, sizeof(*want));
	cr_assert_not_null(want);
	for (i = 0; i < n; i++) {
		want[i] = libc_frames(a, addrs[i], &inlined);
		lines += strstr(want[i], ".c:") != NULL;
	}
	if (!inlined)
		cr_skip_test("no inline frames in libc: its debug file (libc6-dbg) is missing");
	cr_expect_gt(lines, (int)n / 2, "%d of %zu addresses have a source line", lines, n);
	for (i = 0; i < n; i++) {
		char *again = libc_frames(a, addrs[i], &inlined);

		cr_assert_str_eq(again, want[i], "again at %#lx", addrs[i]);
		free(again);
	}
	for (i = n; i-- > 0;) {
		char *back = libc_frames(b, addrs[i], &inlined);

		cr_assert_str_eq(back, want[i], "backward at %#lx", addrs[i]);
		free(back);
	}
	for (i = 0; i < n; i++)
		free(want[i]);
	free(want);
	free(addrs);
	symbolizer__free(a);
	symbolizer__free(b);
}

/* Frames as libc_frames spells them, from frames already looked up. */
static char *frames_str(const struct sym_frame *f, int n)
{
	char buf[8192];
	size_t len = 0;
	int i;

	for (i = 0; i < n && len < sizeof(buf) - 1; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%d %s %s:%u %d|", f[i].kind,
				f[i].function ? f[i].function : "-", f[i].file ? f[i].file : "-",
				f[i].line, f[i].inlined);
	buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = 0;
	return strdup(buf);
}

/*
 * Many addresses of one file named together (their tables asked for ahead, a group at a
 * time) give each the frames it gets alone: shuffled, with repeats, with addresses outside
 * the code and outside the DWARF, in lists of every length around a group's.
 */
Test(dwarf, many_same_frames_as_one_by_one)
{
	static const size_t lens[] = {1,
				      2,
				      SYM_DWARF_PREFETCH - 1,
				      SYM_DWARF_PREFETCH,
				      SYM_DWARF_PREFETCH + 1,
				      3 * SYM_DWARF_PREFETCH + 5};
	struct symbolizer *a = symbolizer__new(NULL), *b = symbolizer__new(NULL);
	size_t i, k, n, done;
	unsigned long *addrs = libc_addrs(&n);
	struct sym_frame *f = malloc(n * SYM_MAX_FRAMES * sizeof(*f));
	int *nf = malloc(n * sizeof(*nf)), inlined = 0, differ = 0;

	cr_assert(a && b && f && nf);
	srandom(14);
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)random() % (i + 1);
		unsigned long t = addrs[i];

		addrs[i] = addrs[j];
		addrs[j] = t;
	}
	addrs[0] = 0;
	addrs[n / 3] = ~0ul;
	addrs[n / 2] = addrs[n / 2 + 1];
	for (done = 0, k = 0; done < n; done += lens[k % 6], k++) {
		size_t len = done + lens[k % 6] <= n ? lens[k % 6] : n - done;

		symbolizer__file_frames_many(b, "/lib/x86_64-linux-gnu/libc.so.6", addrs + done,
					     len, f + done * SYM_MAX_FRAMES, nf + done);
	}
	for (i = 0; i < n; i++) {
		char *one = libc_frames(a, addrs[i], &inlined);
		char *many = frames_str(f + i * SYM_MAX_FRAMES, nf[i]);

		cr_assert_gt(nf[i], 0);
		differ += strcmp(one, many) != 0;
		cr_expect_str_eq(many, one, "at %#lx", addrs[i]);
		free(one);
		free(many);
	}
	if (!inlined)
		cr_skip_test("no inline frames in libc: its debug file (libc6-dbg) is missing");
	cr_expect_eq(differ, 0);
	free(f);
	free(nf);
	free(addrs);
	symbolizer__free(a);
	symbolizer__free(b);
}

/* The name es gives at exactly addr, NULL when none starts there. */
static const char *name_at(const struct elf_syms *es, unsigned long addr)
{
	unsigned long delta;
	const char *name = elf_syms__lookup(es, addr, &delta);

	return name && !delta ? name : NULL;
}

/*
 * libc's symbols merged with its debug file's (as a binary's are with its debug file's):
 * every address of either once, in order, named by one of them, the debug file's name
 * where only it has one and the binary's where only it has one.
 */
Test(elf, merge_with_debug_file)
{
	const char *path = "/usr/lib/x86_64-linux-gnu/libc.so.6", *name;
	struct elf_syms *bin = elf_syms__load(path), *dbg, *merged;
	unsigned char id[64];
	char dpath[256], hex[130];
	unsigned long addr, size, prev = 0;
	size_t i, len, both = 0, only = 0;

	cr_assert_not_null(bin);
	len = elf_syms__build_id(bin, id, sizeof(id));
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	snprintf(dpath, sizeof(dpath), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
	dbg = len >= 2 ? elf_syms__load(dpath) : NULL;
	if (!dbg) {
		elf_syms__free(bin);
		cr_skip_test("libc's debug file (libc6-dbg) is missing");
	}
	merged = elf_syms__load(path);
	cr_assert_not_null(merged);
	cr_assert_eq(elf_syms__merge(merged, dbg), 0);
	for (i = 0; (name = elf_syms__at(merged, i, &addr, &size)); i++) {
		const char *b = name_at(bin, addr), *d = name_at(dbg, addr);

		cr_assert(!i || addr > prev, "%#lx after %#lx", addr, prev);
		cr_assert(b || d, "%s at %#lx: in neither file", name, addr);
		cr_assert(!strcmp(name, b ? b : d) || (d && !strcmp(name, d)), "%s at %#lx", name,
			  addr);
		both += b && d;
		only += !b != !d;
		prev = addr;
	}
	for (i = 0; elf_syms__at(dbg, i, &addr, &size); i++)
		cr_assert_not_null(name_at(merged, addr), "debug symbol at %#lx lost", addr);
	for (i = 0; elf_syms__at(bin, i, &addr, &size); i++)
		cr_assert_not_null(name_at(merged, addr), "symbol at %#lx lost", addr);
	cr_expect_gt(both, 1000u);
	cr_expect_gt(only, 0u);
	elf_syms__free(merged);
	elf_syms__free(dbg);
	elf_syms__free(bin);
}
