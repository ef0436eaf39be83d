// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "symbolize/symbolize.h"
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

/* A descriptor reading the ksym iterator's records (bpf/profile.bpf.c), or -errno. */
static int iter_records(struct profile_bpf **skel)
{
	struct bpf_program *p;
	struct bpf_link *link;
	int fd;

	*skel = profile_bpf__open();
	if (!*skel)
		return -errno;
	bpf_object__for_each_program (p, (*skel)->obj)
		bpf_program__set_autoload(p, p == (*skel)->progs.ksyms);
	if (profile_bpf__load(*skel))
		return -errno;
	link = bpf_program__attach_iter((*skel)->progs.ksyms, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	bpf_link__destroy(link);
	return fd;
}

/*
 * The kernel's symbols read through the ksym iterator name every address of
 * /proc/kallsyms as its text does: same best alias, same module (what record shows).
 */
Test(kallsyms, iterator_records_match_text)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	struct ksyms *text, *recs;
	struct profile_bpf *skel;
	struct ref_sym *ref;
	size_t i, n, kept = 0;
	int fd;

	cr_assert_not_null(f);
	n = ref_read(f, &ref);
	rewind(f);
	text = ksyms__load_file(f);
	fclose(f);
	cr_assert_not_null(text);
	if (ksyms__hidden(text))
		cr_skip_test("kernel addresses are hidden here");
	fd = iter_records(&skel);
	if (fd < 0)
		cr_skip_test("no ksym iterator here (%d)", fd);
	recs = ksyms__load_records(fd);
	close(fd);
	cr_assert_not_null(recs);
	cr_expect_not(ksyms__hidden(recs));
	for (i = 0; i < n; i++) {
		struct ksym a, b;

		if (ref_dynamic(&ref[i]) || (i && ref[i].addr == ref[i - 1].addr))
			continue;
		kept++;
		cr_assert(ksyms__lookup(text, ref[i].addr, &a));
		cr_assert(ksyms__lookup(recs, ref[i].addr, &b), "%s", ref[i].name);
		cr_expect_eq(a.addr, b.addr, "%s", ref[i].name);
		cr_expect_str_eq(a.name, b.name);
		cr_expect_eq(!a.module, !b.module, "%s", a.name);
		if (a.module && b.module)
			cr_expect_str_eq(a.module, b.module);
	}
	cr_assert_gt(kept, 1000);
	cr_expect_geq(ksyms__count(recs), kept);
	for (i = 0; i < n; i++) {
		free(ref[i].name);
		free(ref[i].module);
	}
	free(ref);
	ksyms__free(text);
	ksyms__free(recs);
	profile_bpf__destroy(skel);
}

/* Records cut short are refused, not half read. */
Test(kallsyms, records_cut_short)
{
	struct ksym_record rec = {.addr = 0xffffffff81000000UL, .name_len = 5};
	struct ksyms *ks;
	struct ksym k;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], &rec, sizeof(rec)), (ssize_t)sizeof(rec));
	cr_assert_eq(write(p[1], "_stex", 5), 5);
	rec.addr += 0x100;
	rec.name_len = 4;
	rec.module_len = 4;
	cr_assert_eq(write(p[1], &rec, sizeof(rec)), (ssize_t)sizeof(rec));
	cr_assert_eq(write(p[1], "funcext4", 8), 8);
	close(p[1]);
	ks = ksyms__load_records(p[0]);
	close(p[0]);
	cr_assert_not_null(ks);
	cr_expect_eq(ksyms__count(ks), 2);
	cr_assert(ksyms__lookup(ks, 0xffffffff81000050UL, &k));
	cr_expect_str_eq(k.name, "_stex");
	cr_expect_null(k.module);
	cr_assert(ksyms__lookup(ks, 0xffffffff81000104UL, &k));
	cr_expect_str_eq(k.name, "func");
	cr_expect_str_eq(k.module, "ext4");
	ksyms__free(ks);

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], &rec, sizeof(rec)), (ssize_t)sizeof(rec));
	cr_assert_eq(write(p[1], "func", 4), 4);
	close(p[1]);
	errno = 0;
	cr_expect_null(ksyms__load_records(p[0]));
	cr_expect_eq(errno, EBADMSG);
	close(p[0]);
}
