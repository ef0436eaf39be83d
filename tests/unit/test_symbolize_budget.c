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

/* An address in this test's own file and one in the C library: two files' DWARF. */
static void two_files(unsigned long addrs[2])
{
	addrs[0] = (unsigned long)budget_target;
	addrs[1] = (unsigned long)dlsym(RTLD_DEFAULT, "gnu_get_libc_version") + 1;
	cr_assert_gt(addrs[1], 1, "no gnu_get_libc_version");
}

Test(budget, tiny_budget_drops_and_names_stay)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .dwarf_budget = 1};
	struct symbolizer *ref = symbolizer__new(NULL), *s = symbolizer__new(&o);
	unsigned long addrs[2];
	struct symbolizer_dwarf_stats st;
	struct seen want[2], got;
	int round, i;

	cr_assert(ref && s);
	two_files(addrs);
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

/*
 * Files looked in since the last sweep stay while twice the budget holds them (dropped,
 * they would be read again at once); once idle for a sweep, the budget holds again.
 */
Test(budget, files_in_use_kept_up_to_twice_the_budget)
{
	struct symbolizer *ref = symbolizer__new(NULL), *s;
	unsigned long addrs[2];
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer_dwarf_stats st;
	struct seen got;
	int i;

	cr_assert(ref);
	two_files(addrs);
	for (i = 0; i < 2; i++)
		lookup(ref, addrs[i], &got);
	symbolizer__dwarf_stats(ref, &st);
	/* Both files together are 1.5 budgets. */
	o.dwarf_budget = st.bytes * 2 / 3;
	s = symbolizer__new(&o);
	cr_assert_not_null(s);
	for (i = 0; i < 2; i++)
		lookup(s, addrs[i], &got);
	symbolizer__sweep(s);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.drops, 0u, "a file in use dropped");
	cr_expect_gt(st.bytes, st.budget);
	cr_expect_leq(st.bytes, 2 * st.budget);
	/* Nothing looked up since: the least recently used goes. */
	symbolizer__sweep(s);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_geq(st.drops, 1u);
	cr_expect_leq(st.bytes, st.budget, "%llu bytes kept over the budget",
		      (unsigned long long)st.bytes);
	symbolizer__free(ref);
	symbolizer__free(s);
}

/*
 * Over the budget but under twice it, the files looked in since the last sweep are not
 * dropped (a file dropped there would be read again at every drain); once idle for a
 * sweep, the budget holds, and an idle file gives the same names when read again.
 */
Test(budget, files_in_use_stay_until_idle)
{
	unsigned long addrs[2];
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer *ref = symbolizer__new(NULL), *s;
	struct symbolizer_dwarf_stats st;
	struct seen want[2], got;
	uint64_t self;
	int i;

	cr_assert(ref);
	two_files(addrs);
	lookup(ref, addrs[0], &want[0]);
	symbolizer__dwarf_stats(ref, &st);
	self = st.bytes;
	lookup(ref, addrs[1], &want[1]);
	symbolizer__dwarf_stats(ref, &st);
	if (st.bytes == self)
		cr_skip_test("the C library has no DWARF here (no debug file)");
	cr_assert_gt(self, 3, "the test's own DWARF");
	/* Both files are over it, either alone is under it and both under twice it. */
	o.dwarf_budget = st.bytes - 1;
	s = symbolizer__new(&o);
	cr_assert(s);
	for (i = 0; i < 2; i++) {
		lookup(s, addrs[i], &got);
		same(&want[i], &got, i ? "libc" : "self");
	}
	symbolizer__sweep(s);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.drops, 0u, "in use: %llu dropped", (unsigned long long)st.drops);
	cr_expect_leq(st.bytes, 2 * st.budget);
	lookup(s, addrs[0], &got);
	symbolizer__sweep(s);
	symbolizer__dwarf_stats(s, &st);
	/* libc idle: shed, dropped if need be, until the budget holds. */
	cr_expect_leq(st.bytes, st.budget, "%llu bytes kept over the budget",
		      (unsigned long long)st.bytes);
	lookup(s, addrs[0], &got);
	same(&want[0], &got, "the file in use");
	lookup(s, addrs[1], &got);
	same(&want[1], &got, "libc read again");
	symbolizer__free(ref);
	symbolizer__free(s);
}

/* Copied after each lookup, as a caller that keeps frames only until the next one. */
static void lookup_copied(struct symbolizer *s, unsigned long addr, struct seen *out)
{
	lookup(s, addr, out);
	symbolizer__frames_copied(s);
}

Test(budget, kept_at_each_load_once_frames_are_copied)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .dwarf_budget = 1};
	struct symbolizer *ref = symbolizer__new(NULL), *s = symbolizer__new(&o);
	unsigned long addrs[2];
	struct symbolizer_dwarf_stats st;
	struct seen want[2], got;
	int round, i;

	cr_assert(ref && s);
	two_files(addrs);
	for (i = 0; i < 2; i++)
		lookup(ref, addrs[i], &want[i]);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 2; i++) {
			lookup_copied(s, addrs[i], &got);
			same(&want[i], &got, i ? "libc" : "self");
			symbolizer__dwarf_stats(s, &st);
			/* No sweep: the other file went when this one was read. */
			cr_expect_eq(st.drops, (unsigned long long)(2 * round + i),
				     "round %d file %d: drops %llu", round, i,
				     (unsigned long long)st.drops);
		}
	}
	symbolizer__free(ref);
	symbolizer__free(s);
}

Test(budget, frames_not_yet_copied_are_kept_at_loads)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .dwarf_budget = 1};
	struct symbolizer *s = symbolizer__new(&o);
	unsigned long addrs[2];
	struct sym_frame held[SYM_MAX_FRAMES], f[SYM_MAX_FRAMES];
	struct symbolizer_dwarf_stats st;
	uint64_t drops;
	struct seen want;
	int n, i;

	cr_assert(s);
	two_files(addrs);
	/* Each load drops the other file: the next round reads both again. */
	lookup_copied(s, addrs[0], &want);
	lookup_copied(s, addrs[1], &want);
	lookup_copied(s, addrs[0], &want);
	symbolizer__dwarf_stats(s, &st);
	drops = st.drops;
	cr_expect_eq(drops, 2u);
	/* The self frames are held (not copied) while libc's DWARF is read. */
	n = symbolizer__user_frames(s, getpid(), addrs[0], true, held, SYM_MAX_FRAMES, NULL);
	cr_assert_eq(n, want.n);
	symbolizer__user_frames(s, getpid(), addrs[1], true, f, SYM_MAX_FRAMES, NULL);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.drops, drops, "a file whose frames are held was dropped");
	cr_expect_gt(st.bytes, st.budget, "both files kept over the budget");
	for (i = 0; i < n; i++) {
		char text[512];

		snprintf(text, sizeof(text), "%s %s:%u %d",
			 held[i].function ? held[i].function : "-",
			 held[i].file ? held[i].file : "-", held[i].line, held[i].inlined);
		cr_expect_str_eq(text, want.text[i], "held frame %d", i);
	}
	symbolizer__free(s);
}

/*
 * A file whose libdw was freed for the budget keeps its table: what it named is named
 * again without reading it, and a unit not yet read reads libdw again, with the same names.
 */
Test(budget, shed_file_keeps_its_table_and_reads_new_units_again)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .dwarf_budget = 1};
	struct symbolizer *ref = symbolizer__new(NULL), *s = symbolizer__new(&o);
	unsigned long self = (unsigned long)budget_target,
		      other_unit = (unsigned long)symbolizer__new + 1,
		      libc = (unsigned long)dlsym(RTLD_DEFAULT, "gnu_get_libc_version") + 1;
	struct symbolizer_dwarf_stats st, before;
	struct seen want[2], got;

	cr_assert(ref && s && libc > 1);
	lookup(ref, self, &want[0]);
	lookup(ref, other_unit, &want[1]);
	cr_assert(strstr(want[1].text[0], "symbolize.c:"), "%s", want[1].text[0]);
	/* Held (not copied): libc's read sheds the self file's libdw but keeps its table. */
	lookup(s, self, &got);
	lookup(s, libc, &got);
	symbolizer__dwarf_stats(s, &before);
	cr_expect_eq(before.sheds, 1u);
	cr_expect_eq(before.drops, 0u);
	lookup(s, self, &got);
	same(&want[0], &got, "self after the shed");
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.sheds, before.sheds, "named from the table: nothing read, nothing shed");
	cr_expect_eq(st.bytes, before.bytes);
	lookup(s, other_unit, &got);
	same(&want[1], &got, "a new unit after the shed");
	symbolizer__dwarf_stats(s, &st);
	cr_expect_gt(st.sheds, before.sheds, "libdw read again, libc's shed for it");
	symbolizer__free(ref);
	symbolizer__free(s);
}

/* n sweeps, self looked up after each (named from the table, as ref named it). */
static void sweeps_naming_self(struct symbolizer *s, int n, unsigned long self,
			       const struct seen *want)
{
	struct seen got;
	int i;

	for (i = 0; i < n; i++) {
		symbolizer__sweep(s);
		lookup(s, self, &got);
		same(want, &got, "self from the table");
	}
}

/*
 * Within the budget too, libdw goes from a file that needed it for no lookup over five
 * sweeps (its units all in the table): what it named stays named from the table, and a
 * unit not yet read reads libdw again.
 */
Test(budget, idle_libdw_goes_within_the_budget)
{
	struct symbolizer *ref = symbolizer__new(NULL), *s = symbolizer__new(NULL);
	unsigned long self = (unsigned long)budget_target,
		      other_unit = (unsigned long)symbolizer__new + 1;
	struct symbolizer_dwarf_stats st, before;
	struct seen want[2], got;

	cr_assert(ref && s);
	lookup(ref, self, &want[0]);
	lookup(ref, other_unit, &want[1]);
	lookup(s, self, &got);
	symbolizer__dwarf_stats(s, &before);
	cr_assert_lt(before.bytes, before.budget);
	/* The first sweep sees libdw used, four more with the table answering: it stays. */
	sweeps_naming_self(s, 5, self, &want[0]);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.sheds, 0u, "libdw shed after 4 idle sweeps");
	symbolizer__sweep(s);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.sheds, 1u, "libdw kept after 5 idle sweeps");
	cr_expect_eq(st.drops, 0u);
	cr_expect_lt(st.bytes, before.bytes, "%llu of %llu bytes kept",
		     (unsigned long long)st.bytes, (unsigned long long)before.bytes);
	lookup(s, self, &got);
	same(&want[0], &got, "self after the shed");
	lookup(s, other_unit, &got);
	same(&want[1], &got, "a new unit after the shed");
	symbolizer__free(ref);
	symbolizer__free(s);
}

/* A record keeps an idle file's libdw longer (lib_idle_sweeps): shed at that sweep, not
 * before, and a unit named after it still right. */
Test(budget, idle_libdw_kept_for_the_sweeps_asked)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .lib_idle_sweeps = 12};
	struct symbolizer *ref = symbolizer__new(NULL), *s = symbolizer__new(&o);
	unsigned long self = (unsigned long)budget_target,
		      other_unit = (unsigned long)symbolizer__new + 1;
	struct symbolizer_dwarf_stats st;
	struct seen want[2], got;

	cr_assert(ref && s);
	lookup(ref, self, &want[0]);
	lookup(ref, other_unit, &want[1]);
	lookup(s, self, &got);
	sweeps_naming_self(s, 12, self, &want[0]);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.sheds, 0u, "libdw shed before 12 idle sweeps");
	symbolizer__sweep(s);
	symbolizer__dwarf_stats(s, &st);
	cr_expect_eq(st.sheds, 1u, "libdw kept after 12 idle sweeps");
	lookup(s, other_unit, &got);
	same(&want[1], &got, "a new unit after the shed");
	symbolizer__free(ref);
	symbolizer__free(s);
}
