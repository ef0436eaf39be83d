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
		const struct ksym *k = ksyms__lookup(ks, c->addr);

		if (!c->name) {
			cr_expect_null(k, "line %d", c->line);
			continue;
		}
		cr_assert_not_null(k, "line %d", c->line);
		cr_expect_str_eq(k->name, c->name, "line %d", c->line);
		if (c->module)
			cr_expect_str_eq(k->module, c->module, "line %d", c->line);
		else
			cr_expect_null(k->module, "line %d", c->line);
	}
	ksyms__free(ks);
}

Test(kallsyms, hidden_by_kptr_restrict)
{
	struct ksyms *ks = ksyms__load(data_path("kallsyms-hidden.txt"));

	cr_assert_not_null(ks);
	cr_expect(ksyms__hidden(ks));
	cr_expect_null(ksyms__lookup(ks, 0xffffffff81001234UL));
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
