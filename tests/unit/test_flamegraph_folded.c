// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "flamegraph/flamegraph.h"
#include "atomic-file.h"

static char *write_to_string(struct stack_table *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(folded__write(f, st), 0);
	fclose(f);
	return buf;
}

Test(folded, sorted_bytewise_like_stackcollapse)
{
	struct stack_table *st = stack_table__new();
	const char *a[] = {"prog", "main", "b"};
	const char *b[] = {"prog", "main", "a"};
	const char *c[] = {"Prog", "main"};
	const char *d[] = {"prog", "main"};
	char *out;

	stack_table__add(st, a, 3, 5);
	stack_table__add(st, b, 3, 7);
	stack_table__add(st, c, 2, 1);
	stack_table__add(st, d, 2, 2);
	stack_table__add_joined(st, "[lost:map_full]", 4);
	out = write_to_string(st);
	cr_expect_str_eq(out, "Prog;main 1\n"
			      "[lost:map_full] 4\n"
			      "prog;main 2\n"
			      "prog;main;a 7\n"
			      "prog;main;b 5\n");
	cr_expect_eq(stack_table__total(st), 19);
	free(out);
	stack_table__free(st);
}

Test(folded, same_stack_merges)
{
	struct stack_table *st = stack_table__new();
	const char *a[] = {"prog", "main", "hot"};
	char *out;

	stack_table__add(st, a, 3, 5);
	stack_table__add(st, a, 3, 6);
	stack_table__add_joined(st, "prog;main;hot", 1);
	cr_expect_eq(stack_table__len(st), 1);
	out = write_to_string(st);
	cr_expect_str_eq(out, "prog;main;hot 12\n");
	free(out);
	stack_table__free(st);
}

Test(folded, separators_in_names_are_neutralized)
{
	struct stack_table *st = stack_table__new();
	const char *a[] = {"prog", "operator;weird", "line\nbreak", "tab\there", "a b"};
	char *out;

	stack_table__add(st, a, 5, 3);
	out = write_to_string(st);
	/* ';' would split a frame and a newline would end the line; spaces are fine. */
	cr_expect_str_eq(out, "prog;operator:weird;line?break;tab?here;a b 3\n");
	free(out);
	stack_table__free(st);
}

Test(folded, by_count_orders_highest_first)
{
	struct stack_table *st = stack_table__new();
	const struct stack_entry *e;

	stack_table__add_joined(st, "a", 1);
	stack_table__add_joined(st, "b", 30);
	stack_table__add_joined(st, "c", 5);
	e = stack_table__by_count(st);
	cr_expect_str_eq(e[0].stack, "b");
	cr_expect_str_eq(e[1].stack, "c");
	cr_expect_str_eq(e[2].stack, "a");
	/* Adding after sorting still merges. */
	stack_table__add_joined(st, "a", 100);
	cr_expect_eq(stack_table__len(st), 3);
	cr_expect_eq(stack_table__get(st, "a"), 101);
	stack_table__free(st);
}

Test(folded, many_stacks)
{
	struct stack_table *st = stack_table__new();
	char name[32];
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "p;f%05d", i % 10000);
		cr_assert_eq(stack_table__add_joined(st, name, 1), 0);
	}
	cr_expect_eq(stack_table__len(st), 10000);
	cr_expect_eq(stack_table__get(st, "p;f00042"), 2);
	cr_expect_eq(stack_table__total(st), 20000);
	stack_table__free(st);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

Test(folded, written_whole_or_not_at_all)
{
	char dir[] = "/tmp/pmuprof-folded-XXXXXX", path[256], line[64];
	struct stack_table *st = stack_table__new();
	struct atomic_file af;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	stack_table__add_joined(st, "p;main", 3);

	/* Abort: nothing left behind. */
	cr_assert_eq(atomic_file__open(&af, path), 0);
	fputs("partial", af.f);
	cr_expect_eq(count_entries(dir), 0); /* unnamed (O_TMPFILE) until commit */
	atomic_file__abort(&af);
	cr_expect_eq(count_entries(dir), 0);

	cr_assert_eq(folded__write_file(path, st), 0);
	cr_expect_eq(count_entries(dir), 1);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_expect_not_null(fgets(line, sizeof(line), f));
	cr_expect_str_eq(line, "p;main 3\n");
	fclose(f);
	unlink(path);
	rmdir(dir);

	/* A directory that does not exist: an error, not a crash. */
	cr_expect_eq(folded__write_file("/nonexistent-dir/x.folded", st), -ENOENT);
	stack_table__free(st);
}

/* Writing over an existing file replaces it; a symlink is replaced, not followed. */
Test(folded, replaces_regular_files_and_links)
{
	char dir[] = "/tmp/pmuprof-folded-XXXXXX", path[256], target[256], line[64];
	struct stack_table *st = stack_table__new();
	struct stat sb;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	stack_table__add_joined(st, "p;main", 3);
	f = fopen(target, "w");
	fputs("keep\n", f);
	fclose(f);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(folded__write_file(path, st), 0);
	cr_assert_eq(lstat(path, &sb), 0);
	cr_expect(S_ISREG(sb.st_mode));
	f = fopen(target, "r");
	cr_expect_not_null(fgets(line, sizeof(line), f));
	cr_expect_str_eq(line, "keep\n");
	fclose(f);
	/* again, over the regular file it is now */
	cr_assert_eq(folded__write_file(path, st), 0);
	cr_expect_eq(count_entries(dir), 2);
	unlink(path);
	unlink(target);
	rmdir(dir);
	stack_table__free(st);
}

/* Non-regular outputs are written to, never replaced; directories are refused. */
Test(folded, never_replaces_what_is_not_a_regular_file)
{
	struct stack_table *st = stack_table__new();
	char dir[] = "/tmp/pmuprof-folded-XXXXXX", path[64], buf[64] = "";
	struct atomic_file af;
	struct stat sb;
	int p[2];
	ssize_t n;

	stack_table__add_joined(st, "p;main", 3);
	cr_assert_eq(folded__write_file("/dev/null", st), 0);
	cr_assert_eq(stat("/dev/null", &sb), 0);
	cr_expect(S_ISCHR(sb.st_mode));

	cr_assert_not_null(mkdtemp(dir));
	cr_expect_eq(atomic_file__check(dir), -EISDIR);
	cr_expect_eq(atomic_file__open(&af, dir), -EISDIR);
	cr_expect_eq(folded__write_file(dir, st), -EISDIR);
	cr_expect_eq(count_entries(dir), 0);
	cr_expect_eq(atomic_file__check("/nonexistent-dir/x.folded"), -ENOENT);

	/* /dev/fd/N is that descriptor; the output arrives whole at commit */
	cr_assert_eq(pipe(p), 0);
	snprintf(path, sizeof(path), "/dev/fd/%d", p[1]);
	cr_assert_eq(atomic_file__open(&af, path), 0);
	cr_expect_eq(fcntl(af.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_assert_eq(folded__write(af.f, st), 0);
	fflush(af.f);
	cr_assert_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	cr_expect_eq(read(p[0], buf, sizeof(buf)), -1); /* nothing before commit */
	cr_assert_eq(atomic_file__commit(&af), 0);
	n = read(p[0], buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = 0;
	cr_expect_str_eq(buf, "p;main 3\n");
	close(p[0]);
	close(p[1]);
	rmdir(dir);
	stack_table__free(st);
}

Test(utf8, valid_and_invalid_sequences)
{
	static const struct {
		const char *s;
		size_t len, want;
	} cases[] = {
		{"a", 1, 1},
		{"\xc3\xa9", 2, 2},	    /* é */
		{"\xc3", 1, 0},		    /* cut after the lead byte */
		{"\xe2\x82\xac", 3, 3},	    /* € */
		{"\xe2\x82", 2, 0},	    /* cut */
		{"\xf0\x9f\x94\xa5", 4, 4}, /* U+1F525 */
		{"\xc0\xaf", 2, 0},	    /* overlong '/' */
		{"\xe0\x80\xaf", 3, 0},	    /* overlong */
		{"\xed\xa0\x80", 3, 0},	    /* a UTF-16 surrogate */
		{"\xf4\x90\x80\x80", 4, 0}, /* beyond U+10FFFF */
		{"\x80", 1, 0},		    /* a lone continuation byte */
		{"\xff", 1, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(utf8__char_len(cases[i].s, cases[i].len), cases[i].want, "case %zu",
			     i);
	/* "aé€": cutting inside é or € backs off to its start */
	cr_expect_eq(utf8__boundary("a\xc3\xa9\xe2\x82\xac", 6, 2), 1);
	cr_expect_eq(utf8__boundary("a\xc3\xa9\xe2\x82\xac", 6, 3), 3);
	cr_expect_eq(utf8__boundary("a\xc3\xa9\xe2\x82\xac", 6, 5), 3);
	cr_expect_eq(utf8__boundary("a\xc3\xa9\xe2\x82\xac", 6, 6), 6);
	/* invalid bytes are cut anywhere */
	cr_expect_eq(utf8__boundary("a\x80\x80\x80\x80", 5, 3), 3);
}

/* A name cut inside a character, and bytes that are no UTF-8, still make valid XML. */
Test(utf8, svg_names_are_valid_utf8)
{
	static const char in[] = "abcdefghijklmno\xc3;ma\xffin;f\xef\xbf\xbe;ok\xc3\xa9 5\n";
	struct folded_data d = {0};
	struct flamegraph_opts o;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = fmemopen((void *)in, sizeof(in) - 1, "r"), *out;

	cr_assert_eq(folded__read(f, &d), 0);
	fclose(f);
	out = open_memstream(&buf, &len);
	flamegraph_opts__init(&o);
	cr_assert_eq(flamegraph__write(out, &d, &o), 0);
	fclose(out);
	for (i = 0; i < len;) {
		size_t n = utf8__char_len(buf + i, len - i);

		cr_assert_neq(n, 0, "invalid UTF-8 at byte %zu", i);
		i += n;
	}
	cr_expect_not_null(strstr(buf, "data-n=\"abcdefghijklmno\xef\xbf\xbd\""));
	cr_expect_not_null(strstr(buf, "data-n=\"ma\xef\xbf\xbdin\""));
	cr_expect_not_null(strstr(buf, "data-n=\"f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
	cr_expect_not_null(strstr(buf, "data-n=\"ok\xc3\xa9\""));
	free(buf);
	folded_data__free(&d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Stacks keep frame ids, not strings: their byte-wise order, their merging by spelling
 * (';' and control characters in names) and their counts are those of the joined strings.
 * Names that begin one another ("a", "ab", "a b") and bytes on both sides of ';' (' ',
 * '~', 0xc3) are where an order made from names rather than bytes would go wrong.
 */
Test(folded, frame_stacks_spelt_as_joined_strings)
{
	static const char *const pool[] = {"a",	    "ab",  "a b", "b",	 "~",
					   "a\xc3", "x;y", "x:y", "t\tu"};
	enum { N = 3000 };
	struct stack_table *st = stack_table__new();
	char *want[N], *got, *expect = NULL, line[256];
	size_t i, j, n = 0, elen = 0;
	FILE *f;

	cr_assert(st);
	srand(7);
	for (i = 0; i < N; i++) {
		const char *names[5];
		size_t nr = 1 + rand() % 5, pos = 0;

		for (j = 0; j < nr; j++) {
			const char *s = pool[rand() % (sizeof(pool) / sizeof(pool[0]))];

			names[j] = s;
			pos += snprintf(line + pos, sizeof(line) - pos, "%s", j ? ";" : "");
			for (; *s; s++)
				line[pos++] = *s == ';' ? ':' : *s == '\t' ? '?' : *s;
			line[pos] = 0;
		}
		cr_assert_eq(stack_table__add(st, names, nr, 1), 0);
		want[i] = strdup(line);
	}
	/* The expected file: the joined strings sorted with strcmp, counted. */
	qsort(want, N, sizeof(*want), cmp_str);
	f = open_memstream(&expect, &elen);
	for (i = 0; i < N; i = j, n++) {
		for (j = i; j < N && !strcmp(want[i], want[j]); j++)
			;
		fprintf(f, "%s %zu\n", want[i], j - i);
	}
	fclose(f);
	got = write_to_string(st);
	cr_expect_str_eq(got, expect);
	cr_expect_eq(stack_table__len(st), n);
	for (i = 0; i < N; i++) {
		cr_expect_geq(stack_table__get(st, want[i]), 1, "%s", want[i]);
		free(want[i]);
	}
	cr_expect_eq(stack_table__get(st, "x;y"), 0, "a name's ';' is spelt ':'");
	free(got);
	free(expect);
	stack_table__free(st);
}

/* A frame is one record however often it comes, within a new stack too (recursion). */
Test(folded, recursive_frames_interned_once)
{
	struct stack_table *st = stack_table__new();
	const struct stack_frame f[] = {
		{.name = "p", .kind = STACK_FRAME_PROCESS},
		{.name = "walk", .kind = STACK_FRAME_USER, .address = 0x10},
		{.name = "walk", .kind = STACK_FRAME_USER, .address = 0x10},
		{.name = "walk", .kind = STACK_FRAME_USER, .address = 0x18}};
	const struct stack_ref *ref = NULL;
	char buf[64];

	cr_assert(st);
	cr_assert_eq(stack_table__add_frames(st, f, 4, &(struct stack_count){2, 20}, 10, &ref), 0);
	cr_expect_eq(stack_table__nr_frames(st), 3);
	cr_expect_eq(stack_table__len(st), 1);
	stack_table__spell(st, ref, buf, sizeof(buf));
	cr_expect_str_eq(buf, "p;walk;walk;walk");
	cr_expect_eq(stack_table__get(st, "p;walk;walk;walk"), 2);
	stack_table__free(st);
}
