// SPDX-License-Identifier: GPL-2.0
/*
 * Golden outputs of a stack table: folded stacks, the SVG flame graph and the report as
 * a record writes them, byte for byte (tests/data/golden). PMUPROF_GOLDEN_UPDATE=1
 * rewrites the files instead of comparing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph/flamegraph.h"

/* The kinds of frames a record names, counts with ties and merges. */
static const struct {
	const char *frames[8];
	uint64_t count;
} golden_stacks[] = {
	{{"pmuprof-demo", "__libc_start_call_main", "main", "descend", "demo_loop", "hot_60"},
	 2989},
	{{"pmuprof-demo", "__libc_start_call_main", "main", "descend", "demo_loop", "hot_30"},
	 1490},
	{{"pmuprof-demo", "__libc_start_call_main", "main", "descend", "demo_loop", "hot_10"}, 497},
	{{"pmuprof-demo", "main", "hot_60", "asm_sysvec_apic_timer_interrupt_[k]",
	  "sysvec_apic_timer_interrupt_[k]"},
	 3},
	{{"pmuprof-demo", "[truncated]", "descend", "hot_60"}, 7},
	{{"pmuprof-demo", "[libc.so.6]", "[unknown]"}, 7},
	{{"java", "Interpreter_[j]", "LFoo;::bar_[j]"}, 11},
	{{"semi;colon", "a;b", "ctl\x01\x7f"}, 5},
	{{"caf\xc3\xa9", "f\xff", "g<T>&\"q'"}, 2},
	{{"gzip", "[unwind:no-table]", "[gzip]"}, 4},
	{{"pmuprof-demo", "__libc_start_call_main", "main", "descend", "demo_loop", "hot_60"}, 11},
	{{"swapper/0", "[unknown]_[k]"}, 1},
};

static const char *golden_dir(void)
{
	const char *d = getenv("PMUPROF_TEST_DATA");

	return d ? d : "tests/data";
}

static void golden_table(struct stack_table *st)
{
	size_t i, n;

	for (i = 0; i < sizeof(golden_stacks) / sizeof(golden_stacks[0]); i++) {
		for (n = 0; golden_stacks[i].frames[n]; n++)
			;
		cr_assert_eq(
			stack_table__add(st, golden_stacks[i].frames, n, golden_stacks[i].count),
			0);
	}
	cr_assert_eq(stack_table__add_joined(st, "[lost:map_full]", 12), 0);
	cr_assert_eq(stack_table__add_joined(st, "[lost:table_full]", 3), 0);
}

/* An SVG's bytes without the line naming pmuprof's version. */
static char *strip_version(char *s)
{
	char *p = strstr(s, "<!-- Flame graph by pmuprof ");
	char *end = p ? strstr(p, "-->\n") : NULL;

	if (end)
		memmove(p, end + 4, strlen(end + 4) + 1);
	return s;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[65536];
	FILE *m;

	cr_assert_not_null(f, "%s: missing (PMUPROF_GOLDEN_UPDATE=1 writes it)", path);
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

static void check_golden(const char *name, char *got)
{
	char path[4096];
	char *want;

	snprintf(path, sizeof(path), "%s/golden/%s", golden_dir(), name);
	if (getenv("PMUPROF_GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "w");

		cr_assert_not_null(f, "%s", path);
		fputs(got, f);
		fclose(f);
	}
	want = slurp(path);
	if (strstr(name, ".svg"))
		strip_version(want), strip_version(got);
	cr_assert(!strcmp(got, want), "%s differs from the golden file", name);
	free(want);
}

typedef int (*writer_fn)(FILE *f, struct stack_table *st);

static char *to_string(struct stack_table *st, writer_fn w)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(w(f, st), 0);
	fclose(f);
	return buf;
}

static int write_svg(FILE *f, struct stack_table *st)
{
	struct flamegraph_opts o;
	struct folded_data d;
	int err = folded_data__from_table(&d, st);

	if (err)
		return err;
	flamegraph_opts__init(&o);
	o.title = "pmuprof: cpu-clock";
	o.subtitle = "cpu-clock at 99 Hz, 10.0 s";
	o.countname = "samples";
	err = flamegraph__write(f, &d, &o);
	folded_data__free(&d);
	return err;
}

/* report's Self/Children columns, as numbers: "self total name" by self. */
static int write_report(FILE *f, struct stack_table *st)
{
	struct folded_data d;
	struct report r = {0};
	size_t i;
	int err = folded_data__from_table(&d, st);

	if (!err)
		err = report__build(&r, &d);
	if (!err) {
		report__sort(&r, REPORT_SORT_SELF);
		fprintf(f, "total %.15g\n", r.total);
		for (i = 0; i < r.nr; i++)
			fprintf(f, "%.15g %.15g %s\n", r.entries[i].self, r.entries[i].total,
				r.entries[i].name);
	}
	report__exit(&r);
	folded_data__free(&d);
	return err;
}

static void check_all(struct stack_table *st)
{
	char *s;

	s = to_string(st, folded__write);
	check_golden("record.folded", s);
	free(s);
	s = to_string(st, write_svg);
	check_golden("record.svg", s);
	free(s);
	s = to_string(st, write_report);
	check_golden("record.report", s);
	free(s);
}

Test(golden, names_to_folded_svg_report)
{
	struct stack_table *st = stack_table__new();

	golden_table(st);
	check_all(st);
	stack_table__free(st);
}

/*
 * The same stacks as frame records: every frame at two addresses (so two stacks of
 * frames spell each folded stack), counts split between them, samples and weights both.
 */
static void golden_table_frames(struct stack_table *st)
{
	struct stack_module m = {.path = "/usr/bin/demo", .build_id = "ab12", .limit = 0x1000};
	struct stack_frame f[8];
	int64_t mod = stack_table__add_module(st, &m);
	size_t i, n, half;

	cr_assert_eq(mod, 1);
	for (i = 0; i < sizeof(golden_stacks) / sizeof(golden_stacks[0]); i++) {
		for (n = 0; golden_stacks[i].frames[n]; n++)
			f[n] = (struct stack_frame){.name = golden_stacks[i].frames[n],
						    .function = golden_stacks[i].frames[n],
						    .kind = n ? STACK_FRAME_USER
							      : STACK_FRAME_PROCESS,
						    .module = n ? mod : 0,
						    .address = n ? 0x100 * n : 0,
						    .line = n};
		half = golden_stacks[i].count / 2;
		cr_assert_eq(stack_table__add_frames(st, f, n,
						     &(struct stack_count){half, half * 1000},
						     SIZE_MAX, NULL),
			     0);
		f[n - 1].address += 8;
		f[n - 1].line += 1;
		half = golden_stacks[i].count - half;
		cr_assert_eq(stack_table__add_frames(st, f, n,
						     &(struct stack_count){half, half * 1000},
						     SIZE_MAX, NULL),
			     0);
	}
	cr_assert_eq(stack_table__add_joined_counts(st, "[lost:map_full]",
						    &(struct stack_count){12, 12000}),
		     0);
	cr_assert_eq(stack_table__add_joined_counts(st, "[lost:table_full]",
						    &(struct stack_count){3, 3000}),
		     0);
}

Test(golden, frame_records_spell_the_same_outputs)
{
	struct stack_table *st = stack_table__new();

	golden_table_frames(st);
	cr_expect_eq(stack_table__len(st), 13, "one folded stack per spelling");
	check_all(st);
	/* Weights: the same stacks, each count a thousand times. */
	stack_table__set_weighted(st, true);
	cr_expect_eq(stack_table__total(st), 5042000);
	cr_expect_eq(stack_table__get(st, "pmuprof-demo;__libc_start_call_main;main;descend;"
					  "demo_loop;hot_60"),
		     3000000);
	stack_table__free(st);
}
