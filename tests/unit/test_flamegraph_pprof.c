// SPDX-License-Identifier: GPL-2.0
/* pprof__write: sample labels from a root frame, valid UTF-8 strings (run under ASan). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "flamegraph/flamegraph.h"

/* The table as pprof, gunzipped: the raw profile.proto bytes. */
static unsigned char *pprof_bytes(struct stack_table *st, bool labels, size_t *out_len)
{
	struct pprof_opts o = {
		.event = "cpu-clock", .clock = true, .freq = 99, .root_labels = labels};
	unsigned char *raw = malloc(1 << 20);
	char *gz = NULL;
	size_t gz_len = 0;
	z_stream zs = {0};
	FILE *f = open_memstream(&gz, &gz_len);

	cr_assert_not_null(f);
	cr_assert_eq(pprof__write(f, st, &o), 0);
	fclose(f);
	cr_assert_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	zs.next_in = (unsigned char *)gz;
	zs.avail_in = gz_len;
	zs.next_out = raw;
	zs.avail_out = 1 << 20;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	inflateEnd(&zs);
	free(gz);
	return raw;
}

static bool has(const unsigned char *b, size_t n, const char *s)
{
	return memmem(b, n, s, strlen(s)) != NULL;
}

Test(pprof, root_frame_becomes_labels)
{
	struct stack_table *st = stack_table__new();
	unsigned char *b;
	size_t n;

	cr_assert_eq(stack_table__add_joined(st, "{pid=4242,comm=nginx};nginx;main;serve", 7), 0);
	cr_assert_eq(stack_table__add_joined(st, "[lost:map_full]", 2), 0);
	b = pprof_bytes(st, true, &n);
	/* The label keys and values are strings; the frame of labels is no function. */
	cr_assert(has(b, n, "pid") && has(b, n, "4242") && has(b, n, "comm"));
	cr_assert(!has(b, n, "{pid="), "the label frame must not be a location");
	cr_assert(has(b, n, "serve") && has(b, n, "[lost:map_full]"));
	free(b);
	/* Without root_labels the frame is kept as a function named as given. */
	b = pprof_bytes(st, false, &n);
	cr_assert(has(b, n, "{pid=4242,comm=nginx}"));
	free(b);
	stack_table__free(st);
}

Test(pprof, invalid_utf8_names_are_replaced)
{
	struct stack_table *st = stack_table__new();
	unsigned char *b;
	size_t n;

	cr_assert_eq(stack_table__add_joined(st,
					     "bad\xff\xfe"
					     "comm;f\xc3",
					     3),
		     0);
	cr_assert_eq(stack_table__add_joined(st, "caf\xc3\xa9;g", 1), 0);
	b = pprof_bytes(st, false, &n);
	cr_assert(has(b, n, "bad??comm") && has(b, n, "f?"));
	cr_assert(has(b, n, "caf\xc3\xa9"), "valid UTF-8 is kept");
	cr_assert(!has(b, n, "\xff") && !has(b, n, "\xfe"));
	free(b);
	stack_table__free(st);
}
