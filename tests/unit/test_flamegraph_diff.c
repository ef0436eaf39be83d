// SPDX-License-Identifier: GPL-2.0
/* folded__diff: difffolded.pl's merge, and -s rewriting addresses (run under ASan/UBSan). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph/flamegraph.h"

static void read_string(const char *text, struct folded_data *d)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	cr_assert_not_null(f);
	cr_assert_eq(folded__read(f, d), 0);
	fclose(f);
}

static char *diff_to_string(const char *a, const char *b, bool normalize, bool striphex)
{
	struct folded_data da = {0}, db = {0}, out = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	read_string(a, &da);
	read_string(b, &db);
	cr_assert_eq(folded__diff(&da, &db, normalize, striphex, &out), 0);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	cr_assert_eq(folded__write_diff(f, &out), 0);
	fclose(f);
	folded_data__free(&da);
	folded_data__free(&db);
	folded_data__free(&out);
	return buf;
}

Test(diff, merges_both_profiles)
{
	char *s = diff_to_string("p;main;a 5\np;main;b 2\n", "p;main;a 7\np;main;c 1\n", false,
				 false);

	cr_expect_str_eq(s, "p;main;a 5 7\np;main;b 2 0\np;main;c 0 1\n");
	free(s);
}

/* The reproducer: "0x1" is shorter than the "0x..." it becomes. */
Test(diff, striphex_short_address_grows)
{
	char *s = diff_to_string("main;0x1 5\n", "main;0x2 7\n", false, true);

	cr_expect_str_eq(s, "main;0x... 5 7\n");
	free(s);
}

/* Every length of hex number from 1 to 16 digits, many per stack. */
Test(diff, striphex_every_length)
{
	char *a = NULL, *b = NULL, *expect = NULL, *s;
	size_t la = 0, lb = 0, le = 0;
	FILE *fa = open_memstream(&a, &la), *fb = open_memstream(&b, &lb);
	FILE *fe = open_memstream(&expect, &le);
	int digits, j;

	cr_assert(fa && fb && fe);
	for (digits = 1; digits <= 16; digits++) {
		fprintf(fa, "prog%02d", digits);
		fprintf(fb, "prog%02d", digits);
		fprintf(fe, "prog%02d", digits);
		/* 200 frames: an output several times longer than the input */
		for (j = 0; j < 200; j++) {
			fprintf(fa, ";0x%0*x", digits, 1);
			fprintf(fb, ";0x%.*s", digits, "fedcba9876543210");
			fprintf(fe, ";0x...");
		}
		fprintf(fa, " %d\n", digits);
		fprintf(fb, " %d\n", 2 * digits);
		fprintf(fe, " %d %d\n", digits, 2 * digits);
	}
	fclose(fa);
	fclose(fb);
	fclose(fe);
	s = diff_to_string(a, b, false, true);
	cr_expect_str_eq(s, expect);
	free(s);
	free(a);
	free(b);
	free(expect);
}

/* Addresses inside names, at the end, "0x" without digits, and a lone "0". */
Test(diff, striphex_edges)
{
	char *s = diff_to_string("a;f0x1g;0x;0;x0xABCDEFabcdef0 1\n", "b;0xz 2\n", false, true);

	cr_expect_str_eq(s, "a;f0x...g;0x;0;x0x... 1 0\nb;0xz 0 2\n");
	free(s);
}

Test(diff, normalize_scales_before)
{
	char *s = diff_to_string("p;a 10\np;b 10\n", "p;a 30\np;b 10\n", true, false);

	cr_expect_str_eq(s, "p;a 20 30\np;b 20 10\n");
	free(s);
}
