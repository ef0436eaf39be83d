// SPDX-License-Identifier: GPL-2.0
/*
 * The report model against a profile of known shares: self and total per function,
 * recursion counted once per stack, the sort orders, and one function's callers and
 * callees adding up to its total.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "flamegraph/flamegraph.h"

/* 100 samples: mul 40 self, lex 30, fact 15 (recursive), parse 10, compute 5. */
static const char profile[] = "app;main;parse;lex 30\n"
			      "app;main;parse 10\n"
			      "app;main;compute;mul 40\n"
			      "app;main;compute;fact;fact;fact 15\n"
			      "app;main;compute 5\n";

static void load(struct folded_data *d)
{
	FILE *f = fmemopen((void *)profile, strlen(profile), "r");

	cr_assert_not_null(f);
	cr_assert_eq(folded__read(f, d), 0);
	fclose(f);
	cr_assert_eq(d->nr, 5);
}

static const struct report_entry *find(const struct report *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->entries[i].name, name))
			return &r->entries[i];
	return NULL;
}

static const struct {
	int line;
	const char *name;
	double self, total;
} want[] = {
	{__LINE__, "app", 0, 100},  {__LINE__, "main", 0, 100},	  {__LINE__, "parse", 10, 40},
	{__LINE__, "lex", 30, 30},  {__LINE__, "compute", 5, 60}, {__LINE__, "mul", 40, 40},
	{__LINE__, "fact", 15, 15}, /* three frames deep, once on the stack */
};

Test(report, self_and_total)
{
	struct folded_data d = {0};
	struct report r;
	size_t i;

	load(&d);
	cr_assert_eq(report__build(&r, &d), 0);
	cr_expect_float_eq(r.total, 100, 1e-9);
	cr_expect_eq(r.nr, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct report_entry *e = find(&r, want[i].name);

		cr_assert_not_null(e, "line %d: %s missing", want[i].line, want[i].name);
		cr_expect_float_eq(e->self, want[i].self, 1e-9, "line %d: %s self %f", want[i].line,
				   want[i].name, e->self);
		cr_expect_float_eq(e->total, want[i].total, 1e-9, "line %d: %s total %f",
				   want[i].line, want[i].name, e->total);
	}
	report__exit(&r);
	folded_data__free(&d);
}

Test(report, sort_orders)
{
	static const char *const by_self[] = {"mul",	 "lex", "fact", "parse",
					      "compute", "app", "main"};
	/* ties on total: the higher self first (mul before parse) */
	static const char *const by_total[] = {"app",	"main", "compute", "mul",
					       "parse", "lex",	"fact"};
	struct folded_data d = {0};
	struct report r;
	size_t i;

	load(&d);
	cr_assert_eq(report__build(&r, &d), 0);
	report__sort(&r, REPORT_SORT_SELF);
	for (i = 0; i < r.nr; i++)
		cr_expect_str_eq(r.entries[i].name, by_self[i], "self rank %zu", i);
	report__sort(&r, REPORT_SORT_TOTAL);
	for (i = 0; i < r.nr; i++)
		cr_expect_str_eq(r.entries[i].name, by_total[i], "total rank %zu", i);
	report__exit(&r);
	folded_data__free(&d);
}

Test(report, focus_callers_and_callees_add_up)
{
	struct folded_data d = {0};
	struct report_focus f;

	load(&d);
	cr_assert_eq(report__focus(&d, "compute", &f), 0);
	cr_expect_float_eq(f.grand_total, 100, 1e-9);
	cr_expect_float_eq(f.total, 60, 1e-9);
	cr_expect_float_eq(f.self, 5, 1e-9);
	cr_assert_eq(f.callers.nr, 1);
	cr_expect_str_eq(f.callers.entries[0].name, "main");
	cr_expect_float_eq(f.callers.entries[0].total, 60, 1e-9);
	cr_assert_eq(f.callees.nr, 2);
	cr_expect_str_eq(f.callees.entries[0].name, "mul");
	cr_expect_float_eq(f.callees.entries[0].total, 40, 1e-9);
	cr_expect_str_eq(f.callees.entries[1].name, "fact");
	cr_expect_float_eq(f.callees.entries[1].total, 15, 1e-9);
	cr_expect_float_eq(f.outer_self, 5, 1e-9);
	report_focus__exit(&f);

	/* Recursion: the outermost call; fact's own frames are its callee. */
	cr_assert_eq(report__focus(&d, "fact", &f), 0);
	cr_expect_float_eq(f.total, 15, 1e-9);
	cr_expect_float_eq(f.self, 15, 1e-9);
	cr_expect_float_eq(f.outer_self, 0, 1e-9);
	cr_assert_eq(f.callees.nr, 1);
	cr_expect_str_eq(f.callees.entries[0].name, "fact");
	report_focus__exit(&f);

	/* The first frame's caller is the root; a name that is only a prefix is not it. */
	cr_assert_eq(report__focus(&d, "app", &f), 0);
	cr_expect_str_eq(f.callers.entries[0].name, REPORT_ROOT);
	report_focus__exit(&f);
	cr_assert_eq(report__focus(&d, "ap", &f), 0);
	cr_expect_float_eq(f.total, 0, 1e-9);
	report_focus__exit(&f);
	folded_data__free(&d);
}
