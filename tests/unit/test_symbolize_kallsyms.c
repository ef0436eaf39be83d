// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize/symbolize.h"

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
