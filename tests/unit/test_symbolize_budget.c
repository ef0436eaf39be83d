// SPDX-License-Identifier: GPL-2.0
/*
 * The DWARF budget: past it, a sweep drops the least recently used files' DWARF, and the
 * next lookup reads it again with the same function, inline frames, file and line.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "symbolize/symbolize.h"

/* A frame's strings copied: they are not valid after a sweep. */
struct seen {
	int n;
	char text[SYM_MAX_FRAMES][512];
};

__attribute__((noinline)) static int budget_target(int x)
{
	return x * 3 + 1;
}

static void lookup(struct symbolizer *s, unsigned long addr, struct seen *out)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	int i;

	out->n = symbolizer__user_frames(s, getpid(), addr, true, f, SYM_MAX_FRAMES, NULL);
	for (i = 0; i < out->n; i++)
		snprintf(out->text[i], sizeof(out->text[i]), "%s %s:%u %d",
			 f[i].function ? f[i].function : "-", f[i].file ? f[i].file : "-",
			 f[i].line, f[i].inlined);
}

static void same(const struct seen *a, const struct seen *b, const char *what)
{
	int i;

	cr_assert_eq(a->n, b->n, "%s: %d frames, then %d", what, a->n, b->n);
	for (i = 0; i < a->n; i++)
		cr_expect_str_eq(a->text[i], b->text[i], "%s frame %d", what, i);
}

Test(budget, tiny_budget_drops_and_names_stay)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .dwarf_budget = 1};
	struct symbolizer *ref = symbolizer__new(NULL), *s = symbolizer__new(&o);
	unsigned long addrs[2] = {(unsigned long)budget_target,
				  (unsigned long)dlsym(RTLD_DEFAULT, "gnu_get_libc_version") + 1};
	struct symbolizer_dwarf_stats st;
	struct seen want[2], got;
	int round, i;

	cr_assert(ref && s && addrs[1] > 1);
	cr_assert_eq(budget_target(2), 7);
	for (i = 0; i < 2; i++) {
		lookup(ref, addrs[i], &want[i]);
		cr_assert_geq(want[i].n, 1);
		cr_assert_null(strstr(want[i].text[0], ":0 "), "no line: %s", want[i].text[0]);
	}
	cr_expect(strstr(want[0].text[0], "test_symbolize_budget.c:"), "%s", want[0].text[0]);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 2; i++) {
			lookup(s, addrs[i], &got);
			same(&want[i], &got, i ? "libc" : "self");
		}
		symbolizer__dwarf_stats(s, &st);
		cr_expect_gt(st.bytes, st.budget, "round %d: both files loaded", round);
		symbolizer__sweep(s);
		symbolizer__dwarf_stats(s, &st);
		cr_expect_leq(st.bytes, st.budget, "round %d: %llu bytes kept over the budget",
			      round, (unsigned long long)st.bytes);
		cr_expect_eq(st.drops, 2u * (round + 1), "round %d: drops %llu", round,
			     (unsigned long long)st.drops);
	}
	symbolizer__dwarf_stats(ref, &st);
	cr_expect_eq(st.budget, SYM_DWARF_BUDGET);
	symbolizer__sweep(ref);
	symbolizer__dwarf_stats(ref, &st);
	cr_expect_eq(st.drops, 0u, "the default budget holds two files");
	cr_expect_gt(st.bytes, 0u);
	symbolizer__free(ref);
	symbolizer__free(s);
}
