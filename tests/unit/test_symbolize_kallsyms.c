// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "symbolize/symbolize.h"
#include "src/ksym-names.h"
#include "src/kernel-btf.h"
#include <gelf.h>
#include "profile.skel.h"

static char *data_path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", getenv("PMUPROF_TEST_DATA"), name);
	return buf;
}

struct ksym_case {
	int line;
	unsigned long addr;
	const char *name; /* NULL: no symbol */
	const char *module;
};

static const struct ksym_case ksym_cases[] = {
	{__LINE__, 0xffffffff80ffffffUL, NULL, NULL},
	{__LINE__, 0xffffffff81000000UL, "_stext", NULL},
	{__LINE__, 0xffffffff81000150UL, "secondary_startup_64", NULL},
	{__LINE__, 0xffffffff81001234UL, "do_syscall_64", NULL},
	/* a data symbol in between is ignored */
	{__LINE__, 0xffffffff81001900UL, "do_syscall_64", NULL},
	/* aliases: the shorter name wins */
	{__LINE__, 0xffffffff81002010UL, "__x64_sys_read", NULL},
	{__LINE__, 0xffffffffc0100010UL, "ext4_readdir", "ext4"},
	{__LINE__, 0xffffffffc0100410UL, "ext4_file_read_iter", "ext4"},
	{__LINE__, 0xffffffffc0200004UL, "bpf_prog_6deef7357e7b4530_profile", "bpf"},
};

Test(kallsyms, lookup_with_modules)
{
	struct ksyms *ks = ksyms__load(data_path("kallsyms.txt"));
	size_t i;

	cr_assert_not_null(ks);
	cr_expect_not(ksyms__hidden(ks));
	cr_expect_eq(ksyms__count(ks), 10); /* text symbols only */
	for (i = 0; i < sizeof(ksym_cases) / sizeof(ksym_cases[0]); i++) {
		const struct ksym_case *c = &ksym_cases[i];
		struct ksym k;
		bool found = ksyms__lookup(ks, c->addr, &k);

		if (!c->name) {
			cr_expect_not(found, "line %d", c->line);
			continue;
		}
		cr_assert(found, "line %d", c->line);
		cr_expect_str_eq(k.name, c->name, "line %d", c->line);
		if (c->module)
			cr_expect_str_eq(k.module, c->module, "line %d", c->line);
		else
			cr_expect_null(k.module, "line %d", c->line);
	}
	ksyms__free(ks);
}

Test(kallsyms, hidden_by_kptr_restrict)
{
	struct ksyms *ks = ksyms__load(data_path("kallsyms-hidden.txt"));

	cr_assert_not_null(ks);
	cr_expect(ksyms__hidden(ks));
	{
		struct ksym k;

		cr_expect_not(ksyms__lookup(ks, 0xffffffff81001234UL, &k));
	}
	ksyms__free(ks);
}

Test(kallsyms, kernel_frame_names)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = data_path("kallsyms.txt")};
	struct symbolizer *s = symbolizer__new(&o);
	char buf[128];

	cr_assert_not_null(s);
	cr_expect_eq(symbolizer__kernel_frame(s, 0xffffffff81001234UL, true, buf, sizeof(buf)),
		     SYM_RESOLVED);
	cr_expect_str_eq(buf, "do_syscall_64_[k]");
	/* A return address right after the end of a function belongs to that function. */
	symbolizer__kernel_frame(s, 0xffffffff81002000UL, false, buf, sizeof(buf));
	cr_expect_str_eq(buf, "do_syscall_64_[k]");
	symbolizer__kernel_frame(s, 0xffffffff81002000UL, true, buf, sizeof(buf));
	cr_expect_str_eq(buf, "__x64_sys_read_[k]");
	cr_expect_eq(symbolizer__kernel_frame(s, 0x1000, true, buf, sizeof(buf)), SYM_UNKNOWN);
	cr_expect_str_eq(buf, "[unknown]_[k]");
	symbolizer__free(s);
}

/* The same frames as records: the function alone, its module, the address looked up. */
Test(kallsyms, kernel_frame_records)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = data_path("kallsyms.txt")};
	struct symbolizer *s = symbolizer__new(&o);
	struct sym_frame f;

	cr_assert_not_null(s);
	cr_expect_eq(symbolizer__kernel_sym_frame(s, 0xffffffff81001234UL, true, &f), SYM_RESOLVED);
	cr_expect_eq(f.kind, SYM_FRAME_FUNCTION);
	cr_expect_str_eq(f.function, "do_syscall_64");
	cr_expect_null(f.module, "the kernel itself");
	cr_expect_eq(f.address, 0xffffffff81001234UL);
	cr_expect_null(f.file);
	symbolizer__kernel_sym_frame(s, 0xffffffff81002000UL, false, &f);
	cr_expect_str_eq(f.function, "do_syscall_64");
	cr_expect_eq(f.address, 0xffffffff81001fffUL, "a return address: the call before it");
	symbolizer__kernel_sym_frame(s, 0xffffffffc0100410UL, true, &f);
	cr_expect_str_eq(f.function, "ext4_file_read_iter");
	cr_expect_str_eq(f.module, "ext4");
	cr_expect_eq(symbolizer__kernel_sym_frame(s, 0x1000, true, &f), SYM_UNKNOWN);
	cr_expect_eq(f.kind, SYM_FRAME_UNKNOWN);
	cr_expect_null(f.function);
	symbolizer__free(s);
}

Test(kallsyms, missing_file)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = "/nonexistent/kallsyms"};
	struct symbolizer *s = symbolizer__new(&o);

	cr_expect_null(ksyms__load("/nonexistent/kallsyms"));
	cr_expect(symbolizer__kernel_hidden(s));
	symbolizer__free(s);
}

struct ref_sym {
	unsigned long addr;
	char *name, *module;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (strlen(x->name) != strlen(y->name))
		return strlen(x->name) < strlen(y->name) ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The code symbols of a kallsyms text, read here with sscanf. */
static size_t ref_read(FILE *f, struct ref_sym **out)
{
	size_t n = 0, cap = 1024;
	struct ref_sym *r = malloc(cap * sizeof(*r));
	char line[1024], name[512], mod[512];
	unsigned long addr;
	char type;

	while (fgets(line, sizeof(line), f)) {
		int got = sscanf(line, "%lx %c %511s [%511[^]]]", &addr, &type, name, mod);

		if (got < 3 || !strchr("tTwW", type))
			continue;
		if (n == cap)
			r = realloc(r, (cap *= 2) * sizeof(*r));
		r[n++] = (struct ref_sym){addr, strdup(name), got == 4 ? strdup(mod) : NULL};
	}
	qsort(r, n, sizeof(*r), ref_cmp);
	*out = r;
	return n;
}

/* On this machine's kallsyms: every address names its best alias and its module. */
Test(kallsyms, live_names_and_modules)
{
	FILE *live = fopen("/proc/kallsyms", "re"), *f = tmpfile();
	struct ref_sym *ref;
	struct ksyms *ks;
	char buf[65536];
	size_t i, n, got;

	cr_assert_not_null(live);
	cr_assert_not_null(f);
	while ((got = fread(buf, 1, sizeof(buf), live)))
		fwrite(buf, 1, got, f);
	fclose(live);
	rewind(f);
	ks = ksyms__load_file(f);
	rewind(f);
	n = ref_read(f, &ref);
	fclose(f);
	cr_assert_not_null(ks);
	if (ksyms__hidden(ks))
		cr_skip_test("kernel addresses are hidden here");
	cr_assert_gt(n, 1000);
	cr_expect_eq(ksyms__count(ks), n);
	for (i = 0; i < n; i++) {
		struct ksym k;

		if (i && ref[i].addr == ref[i - 1].addr)
			continue;
		cr_assert(ksyms__lookup(ks, ref[i].addr, &k), "%s", ref[i].name);
		cr_expect_eq(k.addr, ref[i].addr);
		cr_expect_str_eq(k.name, ref[i].name);
		if (ref[i].module)
			cr_expect_str_eq(k.module, ref[i].module, "%s", ref[i].name);
		else
			cr_expect_null(k.module, "%s", ref[i].name);
	}
	for (i = 0; i < n; i++) {
		free(ref[i].name);
		free(ref[i].module);
	}
	free(ref);
	ksyms__free(ks);
}

/* Symbols that come and go with other tools' BPF programs and trampolines. */
static bool ref_dynamic(const struct ref_sym *r)
{
	return r->module &&
	       (!strncmp(r->module, "bpf", 3) || !strncmp(r->module, "__builtin__", 11));
}

/*
 * ksym_names loaded as record loads it: NULL when this kernel has no map element
 * iterators; the verifier's refusal where it has them fails the test.
 */
static int names_prog(void)
{
	struct profile_bpf *skel = profile_bpf__open();
	struct kernel_btf_facts kb;
	static char log[65536];
	int fd, err;

	cr_assert_not_null(skel);
	err = kernel_btf__read(KERNEL_BTF_PATH, &kb);
	cr_assert_eq(err, 0, "reading the kernel's BTF: %d", err);
	if (!kb.iter_map_elem) {
		profile_bpf__destroy(skel);
		cr_skip_test("this kernel has no map element iterators");
	}
	fd = ksym_names__load(skel->progs.ksym_names, kb.iter_map_elem, log, sizeof(log));
	cr_assert_geq(fd, 0, "the kernel refused ksym_names (%d):\n%s", fd, log);
	profile_bpf__destroy(skel);
	return fd;
}

/* ksym_names is loaded with the ELF's instructions: nothing may relocate them. */
Test(kallsyms, names_program_needs_no_relocation)
{
	struct profile_bpf *skel = profile_bpf__open();
	const char *sec = bpf_program__section_name(skel->progs.ksym_names);
	size_t sz, shstrndx, found = 0;
	const void *bytes;
	Elf_Scn *scn = NULL;
	char rel[64];
	Elf *elf;

	cr_assert_not_null(skel);
	snprintf(rel, sizeof(rel), ".rel%s", sec);
	bytes = profile_bpf__elf_bytes(&sz);
	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_memory((char *)bytes, sz);
	cr_assert_not_null(elf);
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		cr_assert_not_null(gelf_getshdr(scn, &sh));
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		found += name && !strcmp(name, sec);
		cr_expect(!name || strcmp(name, rel), "%s: the program needs relocations", rel);
	}
	cr_expect_eq(found, 1, "no section %s", sec);
	elf_end(elf);
	profile_bpf__destroy(skel);
}

/* Whether name is one of the aliases ref has at addr. */
static bool ref_alias(const struct ref_sym *ref, size_t n, unsigned long addr, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ref[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && ref[lo].addr == addr; lo++)
		if (!strcmp(ref[lo].name, name))
			return true;
	return false;
}

/* Each code symbol's start and the middle of its span (to the next symbol), at most 64k. */
static size_t ref_addrs(const struct ref_sym *ref, size_t n, uint64_t *addrs, size_t cap)
{
	size_t i, k = 0, step = n / (cap / 2) + 1;

	for (i = 0; i + 1 < n && k + 2 <= cap; i += step) {
		while (i + 1 < n && (ref_dynamic(&ref[i]) || ref[i + 1].addr == ref[i].addr))
			i++;
		if (i + 1 >= n || ref_dynamic(&ref[i + 1]))
			continue;
		addrs[k++] = ref[i].addr;
		addrs[k++] = ref[i].addr + (ref[i + 1].addr - ref[i].addr) / 2;
	}
	return k;
}

/*
 * The names the kernel gives (record's way of naming kernel frames) agree with
 * /proc/kallsyms for every address asked: the same symbol start (one of its aliases:
 * the kernel picks its own), the same module; an address no symbol holds is unknown.
 */
Test(kallsyms, kernel_names_match_text)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	static uint64_t addrs[65536];
	struct ksyms *text, *named;
	struct ref_sym *ref;
	size_t i, n, k, len, inside = 0, past_end = 0;
	char *out;
	int err, prog;

	cr_assert_not_null(f);
	n = ref_read(f, &ref);
	rewind(f);
	text = ksyms__load_file(f);
	fclose(f);
	cr_assert_not_null(text);
	if (ksyms__hidden(text))
		cr_skip_test("kernel addresses are hidden here");
	prog = names_prog();
	k = ref_addrs(ref, n, addrs, 65535);
	cr_assert_gt(k, 2000);
	addrs[k++] = 0x1000; /* a user address: no kernel symbol */
	err = ksym_names__read(prog, addrs, k, &out, &len);
	cr_assert_eq(err, 0, "%d", err);
	named = ksyms__new_named();
	cr_assert_eq(ksyms__add_named(named, out, len), 0);
	free(out);
	for (i = 0; i + 1 < k; i++) {
		struct ksym a, b;

		cr_assert(ksyms__knows(named, addrs[i]));
		cr_assert(ksyms__lookup(text, addrs[i], &a));
		/* At and past the end of kernel text (_etext) kallsyms' code reaches on; the
		 * kernel names nothing there, or a data symbol (__start_BTF): no code runs. */
		if (!ksyms__lookup(named, addrs[i], &b) ||
		    (b.addr > a.addr && !ref_alias(ref, n, b.addr, b.name))) {
			past_end++;
			continue;
		}
		cr_expect_eq(a.addr, b.addr, "%s", a.name);
		cr_expect(ref_alias(ref, n, a.addr, b.name), "%s is no alias of %s", b.name,
			  a.name);
		cr_expect_eq(!a.module, !b.module, "%s", a.name);
		if (a.module && b.module)
			cr_expect_str_eq(a.module, b.module);
		/* The span is known past the address asked: one more byte needs no asking. */
		inside += i % 2 && ksyms__knows(named, addrs[i] + 1);
	}
	cr_expect_gt(inside, k / 4);
	cr_expect_lt(past_end, k / 200, "%zu of %zu addresses in no symbol", past_end, k);
	cr_expect(ksyms__knows(named, 0x1000));
	cr_expect_not(ksyms__lookup(named, 0x1000, &(struct ksym){0}));
	cr_expect_not(ksyms__knows(named, 0x1001), "an unknown address covers nothing more");
	for (i = 0; i < n; i++) {
		free(ref[i].name);
		free(ref[i].module);
	}
	free(ref);
	ksyms__free(text);
	ksyms__free(named);
	close(prog);
}

/* The kernel's lines read: spans end where the kernel said, modules, unknown addresses. */
Test(kallsyms, named_lines)
{
	char text[] = "ffffffff81000050 _stext+0x50/0x100\n"
		      "ffffffffc0001004 ext4_read+0x4/0x40 [ext4]\n"
		      "ffffffffc0002000 0xffffffffc0002000\n"
		      "ffffffff81000100 do_thing.cold+0x0/0x10\n";
	struct ksyms *ks = ksyms__new_named();
	struct ksym k;

	cr_assert_eq(ksyms__add_named(ks, text, strlen(text)), 0);
	cr_assert(ksyms__lookup(ks, 0xffffffff81000000UL, &k));
	cr_expect_str_eq(k.name, "_stext");
	cr_expect_eq(k.addr, 0xffffffff81000000UL);
	cr_expect_null(k.module);
	cr_assert(ksyms__lookup(ks, 0xffffffff810000ffUL, &k));
	cr_expect_str_eq(k.name, "_stext");
	cr_assert(ksyms__lookup(ks, 0xffffffff81000100UL, &k), "a symbol where one ends");
	cr_expect_str_eq(k.name, "do_thing.cold");
	cr_expect_not(ksyms__knows(ks, 0xffffffff81000110UL), "past the end: not asked");
	cr_expect_not(ksyms__lookup(ks, 0xffffffff81000110UL, &k));
	cr_expect_not(ksyms__knows(ks, 0xffffffff80ffffffUL));
	cr_assert(ksyms__lookup(ks, 0xffffffffc000103fUL, &k));
	cr_expect_str_eq(k.name, "ext4_read");
	cr_expect_str_eq(k.module, "ext4");
	cr_expect(ksyms__knows(ks, 0xffffffffc0002000UL));
	cr_expect_not(ksyms__lookup(ks, 0xffffffffc0002000UL, &k));
	cr_expect_not(ksyms__knows(ks, 0xffffffffc0002001UL));
	ksyms__free(ks);
}

Test(kallsyms, named_lines_malformed)
{
	char off_past_end[] = "ffffffff81000050 f+0x50/0x10\n";
	char no_size[] = "ffffffff81000050 f+0x50\n";
	char no_addr[] = "f+0x0/0x10\n";
	char after_good[] = "ffffffff81000050 g+0x50/0x100\nffffffff81000250 h\n";
	struct ksyms *ks = ksyms__new_named();
	struct ksym k;

	cr_expect_eq(ksyms__add_named(ks, off_past_end, strlen(off_past_end)), -EBADMSG);
	cr_expect_eq(ksyms__add_named(ks, no_size, strlen(no_size)), -EBADMSG);
	cr_expect_eq(ksyms__add_named(ks, no_addr, strlen(no_addr)), -EBADMSG);
	cr_expect_eq(ksyms__add_named(ks, after_good, strlen(after_good)), -EBADMSG);
	cr_assert(ksyms__lookup(ks, 0xffffffff81000010UL, &k), "the lines before it are kept");
	cr_expect_str_eq(k.name, "g");
	ksyms__free(ks);
}

/* A namer that answers from a fixed text and keeps what it was asked. */
struct fake_namer {
	const char *text;
	int err;
	unsigned int calls;
	uint64_t asked[16];
	size_t nr_asked;
};

static int fake_name(void *arg, const uint64_t *addrs, size_t n, char **text, size_t *len)
{
	struct fake_namer *f = arg;

	f->calls++;
	f->nr_asked = n < 16 ? n : 16;
	memcpy(f->asked, addrs, f->nr_asked * sizeof(*addrs));
	if (f->err)
		return f->err;
	*text = strdup(f->text);
	*len = strlen(f->text);
	return 0;
}

/*
 * Kernel frames wanted are named in one call, each address once (a return address as the
 * call before it); a frame in a span already named costs no call; one not asked for first
 * is named alone.
 */
Test(kallsyms, namer_batches)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = "/nonexistent/kallsyms"};
	struct symbolizer *s = symbolizer__new(&o);
	struct fake_namer f = {.text = "ffffffff81001234 do_syscall_64+0x234/0x1000\n"
				       "ffffffff81001fff do_syscall_64+0xfff/0x1000\n"
				       "ffffffff81002000 __x64_sys_read+0x0/0x80\n"};
	struct kernel_namer namer = {fake_name, &f};
	struct sym_kernel_stats st;
	struct sym_frame fr;

	cr_assert_not_null(s);
	symbolizer__set_kernel_namer(s, &namer);
	symbolizer__kernel_want(s, 0xffffffff81002000UL, true);
	symbolizer__kernel_want(s, 0xffffffff81001234UL, true);
	symbolizer__kernel_want(s, 0xffffffff81002000UL, false);
	symbolizer__kernel_want(s, 0xffffffff81001234UL, true);
	cr_expect_eq(symbolizer__kernel_name(s), 0);
	cr_expect_eq(f.calls, 1);
	cr_assert_eq(f.nr_asked, 3);
	cr_expect_eq(f.asked[0], 0xffffffff81001234UL);
	cr_expect_eq(f.asked[1], 0xffffffff81001fffUL, "a return address: the call before it");
	cr_expect_eq(f.asked[2], 0xffffffff81002000UL);
	cr_expect_eq(symbolizer__kernel_sym_frame(s, 0xffffffff81001010UL, true, &fr),
		     SYM_RESOLVED);
	cr_expect_str_eq(fr.function, "do_syscall_64");
	symbolizer__kernel_sym_frame(s, 0xffffffff81002000UL, false, &fr);
	cr_expect_str_eq(fr.function, "do_syscall_64");
	cr_expect_eq(f.calls, 1, "frames in named spans cost no call");
	cr_expect_not(symbolizer__kernel_hidden(s));
	f.text = "ffffffff81003000 0xffffffff81003000\n";
	cr_expect_eq(symbolizer__kernel_sym_frame(s, 0xffffffff81003000UL, true, &fr), SYM_UNKNOWN);
	cr_expect_eq(f.calls, 2);
	cr_expect_eq(f.nr_asked, 1);
	symbolizer__kernel_stats(s, &st);
	cr_expect_eq(st.batches, 2);
	cr_expect_eq(st.addresses, 4);
	cr_expect_eq(st.namer_err, 0);
	symbolizer__free(s);
}

/* A namer that fails hands over to kallsyms_path, for good. */
Test(kallsyms, namer_failure_reads_kallsyms)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = data_path("kallsyms.txt")};
	struct symbolizer *s = symbolizer__new(&o);
	struct fake_namer f = {.err = -EPERM};
	struct kernel_namer namer = {fake_name, &f};
	struct sym_kernel_stats st;
	char buf[128];

	cr_assert_not_null(s);
	symbolizer__set_kernel_namer(s, &namer);
	cr_expect_eq(symbolizer__kernel_frame(s, 0xffffffff81001234UL, true, buf, sizeof(buf)),
		     SYM_RESOLVED);
	cr_expect_str_eq(buf, "do_syscall_64_[k]");
	symbolizer__kernel_frame(s, 0xffffffffc0100410UL, true, buf, sizeof(buf));
	cr_expect_str_eq(buf, "ext4_file_read_iter_[k]");
	cr_expect_eq(f.calls, 1);
	symbolizer__kernel_stats(s, &st);
	cr_expect_eq(st.namer_err, -EPERM);
	symbolizer__free(s);
}

/* The kernel's names are asked for again after about a minute of sweeps (BPF programs and
 * modules come and go), not at every sweep. */
Test(kallsyms, namer_forgets_after_sweeps)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = "/nonexistent/kallsyms"};
	struct symbolizer *s = symbolizer__new(&o);
	struct fake_namer f = {.text = "ffffffff81001234 do_syscall_64+0x234/0x1000\n"};
	struct kernel_namer namer = {fake_name, &f};
	struct sym_kernel_stats st;
	struct sym_frame fr;
	int i;

	cr_assert_not_null(s);
	symbolizer__set_kernel_namer(s, &namer);
	symbolizer__kernel_sym_frame(s, 0xffffffff81001234UL, true, &fr);
	cr_expect_eq(f.calls, 1);
	for (i = 0; i < 63; i++)
		symbolizer__sweep(s);
	cr_expect_eq(symbolizer__kernel_sym_frame(s, 0xffffffff81001010UL, true, &fr),
		     SYM_RESOLVED);
	cr_expect_eq(f.calls, 1, "still known after 63 sweeps");
	symbolizer__sweep(s);
	symbolizer__kernel_sym_frame(s, 0xffffffff81001010UL, true, &fr);
	cr_expect_eq(f.calls, 2, "asked again after the 64th");
	cr_expect_str_eq(fr.function, "do_syscall_64");
	symbolizer__kernel_stats(s, &st);
	cr_expect_eq(st.resets, 1);
	symbolizer__free(s);
}
