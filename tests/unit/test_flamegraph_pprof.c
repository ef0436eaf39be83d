// SPDX-License-Identifier: GPL-2.0
/* pprof__write: sample labels from a root frame, valid UTF-8 strings (run under ASan). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "flamegraph/flamegraph.h"

/* gz inflated into raw (cap bytes): the inflated length. */
static size_t gunzip(const char *gz, size_t gz_len, unsigned char *raw, size_t cap)
{
	z_stream zs = {0};
	size_t n;

	cr_assert_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	zs.next_in = (unsigned char *)gz;
	zs.avail_in = gz_len;
	zs.next_out = raw;
	zs.avail_out = cap;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	n = zs.total_out;
	inflateEnd(&zs);
	return n;
}

/* The table as pprof, gunzipped: the raw profile.proto bytes. */
static unsigned char *pprof_bytes(struct stack_table *st, bool labels, size_t *out_len)
{
	struct pprof_opts o = {
		.event = "cpu-clock", .clock = true, .freq = 99, .root_labels = labels};
	unsigned char *raw = malloc(1 << 20);
	char *gz = NULL;
	size_t gz_len = 0;
	FILE *f = open_memstream(&gz, &gz_len);

	cr_assert_not_null(f);
	cr_assert_eq(pprof__write(f, st, &o), 0);
	fclose(f);
	*out_len = gunzip(gz, gz_len, raw, 1 << 20);
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

/* ---- a round trip through protobuf-c's decoder ---- */
#include "profile.pb-c.h"

static Perftools__Profiles__Profile *decode(struct stack_table *st, const struct pprof_opts *o)
{
	char *gz = NULL;
	size_t gz_len = 0, n;
	unsigned char *raw = malloc(1 << 22);
	z_stream zs = {0};
	FILE *f = open_memstream(&gz, &gz_len);
	Perftools__Profiles__Profile *p;

	cr_assert_not_null(f);
	cr_assert_eq(pprof__write(f, st, o), 0);
	fclose(f);
	cr_assert_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	zs.next_in = (unsigned char *)gz;
	zs.avail_in = gz_len;
	zs.next_out = raw;
	zs.avail_out = 1 << 22;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	n = zs.total_out;
	inflateEnd(&zs);
	free(gz);
	p = perftools__profiles__profile__unpack(NULL, n, raw);
	free(raw);
	cr_assert_not_null(p, "protobuf-c cannot decode the profile");
	return p;
}

static const char *s_at(const Perftools__Profiles__Profile *p, int64_t i)
{
	cr_assert(i >= 0 && (size_t)i < p->n_string_table, "string index %lld", (long long)i);
	return p->string_table[i];
}

static const Perftools__Profiles__Location *loc_by_id(const Perftools__Profiles__Profile *p,
						      uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	cr_assert_fail("no location %llu", (unsigned long long)id);
	return NULL;
}

static const Perftools__Profiles__Function *func_by_id(const Perftools__Profiles__Profile *p,
						       uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	cr_assert_fail("no function %llu", (unsigned long long)id);
	return NULL;
}

/* A sample as folded stacks spell it: its process label, then its lines root first. */
static void fold_sample(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s,
			char *out, size_t sz)
{
	size_t i, j, pos = 0;

	out[0] = 0;
	for (i = 0; i < s->n_label; i++)
		if (!strcmp(s_at(p, s->label[i]->key), "process"))
			pos += snprintf(out + pos, sz - pos, "%s", s_at(p, s->label[i]->str));
	for (i = s->n_location_id; i-- > 0;) {
		const Perftools__Profiles__Location *l = loc_by_id(p, s->location_id[i]);

		for (j = l->n_line; j-- > 0;)
			pos += snprintf(out + pos, sz - pos, "%s%s", pos ? ";" : "",
					s_at(p, func_by_id(p, l->line[j]->function_id)->name));
	}
}

/* Two binaries, each with its own main; an inline chain; kernel frames; a lost entry. */
static struct stack_table *model_table(void)
{
	struct stack_table *st = stack_table__new();
	struct stack_module a = {.path = "/usr/bin/alpha",
				 .build_id = "aaaa",
				 .start = 0x555500001000,
				 .limit = 0x555500002000,
				 .offset = 0x1000},
			    b = {.path = "/usr/bin/beta",
				 .build_id = "bbbb",
				 .start = 0x7f0000001000,
				 .limit = 0x7f0000003000,
				 .offset = 0x1000};
	int64_t ma = stack_table__add_module(st, &a), mb = stack_table__add_module(st, &b);
	struct stack_frame fa[] = {
		{.name = "alpha", .kind = STACK_FRAME_PROCESS},
		{.name = "main",
		 .function = "main",
		 .file = "/src/a.c",
		 .line = 10,
		 .kind = STACK_FRAME_USER,
		 .module = ma,
		 .address = 0x1100},
		{.name = "work",
		 .function = "work",
		 .file = "/src/a.c",
		 .line = 20,
		 .kind = STACK_FRAME_USER,
		 .module = ma,
		 .address = 0x1200},
		{.name = "step",
		 .function = "step",
		 .file = "/src/a.h",
		 .line = 3,
		 .inlined = true,
		 .kind = STACK_FRAME_USER,
		 .module = ma,
		 .address = 0x1200},
	};
	struct stack_frame fb[] = {
		{.name = "beta", .kind = STACK_FRAME_PROCESS, .address = 77},
		{.name = "main",
		 .function = "main",
		 .file = "/src/b.c",
		 .line = 5,
		 .kind = STACK_FRAME_USER,
		 .module = mb,
		 .address = 0x2500},
		{.name = "schedule_[k]",
		 .function = "schedule",
		 .kind = STACK_FRAME_KERNEL,
		 .module = 0,
		 .address = 0xffffffff81000000},
	};

	cr_assert(ma == 1 && mb == 2);
	cr_assert_eq(stack_table__add_frames(st, fa, 4, &(struct stack_count){7, 7000}, 100, NULL),
		     0);
	fa[3].line = 4; /* another line of the inlined function: another stack, same folded */
	fa[3].address = fa[2].address = 0x1208;
	cr_assert_eq(stack_table__add_frames(st, fa, 4, &(struct stack_count){3, 3000}, 100, NULL),
		     0);
	cr_assert_eq(stack_table__add_frames(st, fb, 3, &(struct stack_count){5, 4000}, 100, NULL),
		     0);
	cr_assert_eq(stack_table__add_joined_counts(st, "[lost:map_full]",
						    &(struct stack_count){2, 2000}),
		     0);
	return st;
}

Test(pprof, round_trip_through_protobuf_c)
{
	struct stack_table *st = model_table();
	struct pprof_opts o = {.event = "cycles", .freq = 99, .main_binary = "/usr/bin/beta"};
	Perftools__Profiles__Profile *p = decode(st, &o);
	char folded[4096], *want = NULL;
	size_t i, j, want_len = 0, nmain = 0;
	FILE *f;

	/* sample types, period type */
	cr_assert_eq(p->n_sample_type, 2);
	cr_expect_str_eq(s_at(p, p->sample_type[0]->type), "samples");
	cr_expect_str_eq(s_at(p, p->sample_type[0]->unit), "count");
	cr_expect_str_eq(s_at(p, p->sample_type[1]->type), "cycles");
	cr_expect_str_eq(s_at(p, p->sample_type[1]->unit), "count");
	cr_expect_str_eq(s_at(p, p->period_type->type), "cycles");
	cr_expect_str_eq(s_at(p, p->default_sample_type), "cycles");
	cr_expect_str_eq(p->string_table[0], "");
	/* one mapping per binary, the main binary first, with build id and range */
	cr_assert_eq(p->n_mapping, 2);
	cr_expect_str_eq(s_at(p, p->mapping[0]->filename), "/usr/bin/beta");
	cr_expect_str_eq(s_at(p, p->mapping[0]->build_id), "bbbb");
	cr_expect_eq(p->mapping[0]->memory_start, 0x7f0000001000);
	cr_expect_eq(p->mapping[0]->memory_limit, 0x7f0000003000);
	cr_expect_eq(p->mapping[0]->file_offset, 0x1000);
	cr_expect_str_eq(s_at(p, p->mapping[1]->filename), "/usr/bin/alpha");
	cr_expect(p->mapping[1]->has_inline_frames && p->mapping[1]->has_line_numbers);
	/* locations: real addresses in their mapping; two mains under two mappings */
	for (i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		for (j = 0; j < l->n_line; j++) {
			const Perftools__Profiles__Function *fn =
				func_by_id(p, l->line[j]->function_id);

			cr_expect_geq(fn->name, 0);
			cr_expect_geq(fn->filename, 0);
			if (!strcmp(s_at(p, fn->name), "main")) {
				nmain++;
				if (l->mapping_id == 1)
					cr_expect_eq(l->address, 0x7f0000002500);
				else
					cr_expect_eq(l->address, 0x555500001100);
				cr_expect_str_eq(s_at(p, fn->filename),
						 l->mapping_id == 1 ? "/src/b.c" : "/src/a.c");
			}
			if (!strcmp(s_at(p, fn->name), "step")) {
				/* inline chain: the innermost first, both lines at one address */
				cr_assert_eq(l->n_line, 2);
				cr_expect_eq(j, 0);
				cr_expect_str_eq(
					s_at(p, func_by_id(p, l->line[1]->function_id)->name),
					"work");
				cr_expect(l->line[0]->line == 3 || l->line[0]->line == 4);
				cr_expect_eq(l->address, l->line[0]->line == 3 ? 0x555500001200
									       : 0x555500001208);
			}
		}
	}
	cr_expect_eq(nmain, 2, "main of each binary: its own location and function");
	/* labels instead of a process frame; values as counted */
	for (i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];

		fold_sample(p, s, folded, sizeof(folded));
		cr_assert_eq(s->n_value, 2);
		if (!strcmp(folded, "beta;main;schedule")) {
			cr_expect_eq(s->value[0], 5);
			cr_expect_eq(s->value[1], 4000);
			cr_assert_eq(s->n_label, 2);
			cr_expect_str_eq(s_at(p, s->label[1]->key), "thread");
			cr_expect_eq(s->label[1]->num, 77);
		}
		cr_expect(!strstr(folded, "beta;beta") && !strstr(folded, "alpha;alpha"));
	}
	/* Summed by spelling, pprof's samples are folded --count=samples line for line. */
	f = open_memstream(&want, &want_len);
	cr_assert_eq(folded__write(f, st), 0);
	fclose(f);
	{
		struct stack_table *back = stack_table__new();
		char *got = NULL;
		size_t got_len = 0;

		for (i = 0; i < p->n_sample; i++) {
			fold_sample(p, p->sample[i], folded, sizeof(folded));
			/* the kernel's function is spelt as folded stacks spell it */
			if (strstr(folded, ";schedule"))
				strcat(folded, "_[k]");
			stack_table__add_joined(back, folded, p->sample[i]->value[0]);
		}
		f = open_memstream(&got, &got_len);
		cr_assert_eq(folded__write(f, back), 0);
		fclose(f);
		cr_expect_str_eq(got, want);
		free(got);
		stack_table__free(back);
	}
	free(want);
	perftools__profiles__profile__free_unpacked(p, NULL);
	stack_table__free(st);
}

/* The agent's stacks: a frame of labels, then the process frame, then frames in a module:
 * both become labels, neither a location; the module stays a mapping with addresses. */
Test(pprof, labels_frame_then_process_frame)
{
	struct stack_table *st = stack_table__new();
	struct stack_module m = {
		.path = "/usr/bin/alpha", .start = 0x1000, .limit = 0x2000, .offset = 0x1000};
	int64_t id = stack_table__add_module(st, &m);
	struct stack_frame f[] = {
		{.name = "{pid=4242,comm=alpha,container_id=abc}"},
		{.name = "alpha", .kind = STACK_FRAME_PROCESS},
		{.name = "main",
		 .function = "main",
		 .kind = STACK_FRAME_USER,
		 .module = id,
		 .address = 0x1100},
	};
	struct pprof_opts o = {.event = "cycles", .freq = 99, .root_labels = true};
	Perftools__Profiles__Profile *p;
	const Perftools__Profiles__Location *l;
	char labels[256] = "";
	size_t i;

	cr_assert_eq(stack_table__add_frames(st, f, 3, &(struct stack_count){4, 400}, 10, NULL), 0);
	p = decode(st, &o);
	cr_assert_eq(p->n_sample, 1);
	cr_assert_eq(p->sample[0]->n_location_id, 1, "labels and process are no locations");
	l = loc_by_id(p, p->sample[0]->location_id[0]);
	cr_expect_eq(l->address, 0x1100);
	cr_expect_str_eq(s_at(p, func_by_id(p, l->line[0]->function_id)->name), "main");
	for (i = 0; i < p->sample[0]->n_label; i++)
		snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels), "%s=%s,",
			 s_at(p, p->sample[0]->label[i]->key),
			 s_at(p, p->sample[0]->label[i]->str));
	cr_expect_str_eq(labels, "pid=4242,comm=alpha,container_id=abc,process=alpha,");
	cr_expect_eq(p->sample[0]->value[0], 4);
	cr_expect_eq(p->sample[0]->value[1], 400);
	perftools__profiles__profile__free_unpacked(p, NULL);
	stack_table__free(st);
}

Test(pprof, single_counts_stand_for_the_other_value)
{
	struct stack_table *st = stack_table__new();
	struct pprof_opts o = {.event = "cpu-clock", .clock = true, .freq = 100};
	Perftools__Profiles__Profile *p;

	cr_assert_eq(stack_table__add_joined(st, "comm;f", 4), 0);
	p = decode(st, &o);
	cr_assert_eq(p->n_sample, 1);
	cr_expect_eq(p->sample[0]->value[0], 4);
	cr_expect_eq(p->sample[0]->value[1], 40000000, "4 samples at 100 Hz: 40 ms");
	cr_expect_str_eq(s_at(p, p->sample_type[1]->type), "cpu");
	cr_expect_str_eq(s_at(p, p->sample_type[1]->unit), "nanoseconds");
	cr_expect_eq(p->period, 10000000);
	cr_expect_eq(p->n_mapping, 0);
	perftools__profiles__profile__free_unpacked(p, NULL);
	stack_table__free(st);
}

/* A file mapped by two processes at different places: one module, covering both. */
Test(pprof, one_module_per_file)
{
	struct stack_table *st = stack_table__new();
	struct stack_module a = {.path = "/lib/x.so",
				 .build_id = "01",
				 .start = 0x7000,
				 .limit = 0x8000,
				 .offset = 0x1000},
			    b = {.path = "/lib/x.so",
				 .build_id = "01",
				 .start = 0x20000,
				 .limit = 0x23000,
				 .offset = 0},
			    c = {.path = "/lib/x.so",
				 .build_id = "02",
				 .start = 0x7000,
				 .limit = 0x8000,
				 .offset = 0x1000};
	const struct stack_module *m;

	cr_assert_eq(stack_table__add_module(st, &a), 1);
	cr_assert_eq(stack_table__add_module(st, &b), 1);
	cr_assert_eq(stack_table__add_module(st, &c), 2, "another build: another file");
	m = stack_table__module(st, 1);
	/* file offsets 0 ... 0x3000 where the first mapping puts them */
	cr_expect_eq(m->offset, 0);
	cr_expect_eq(m->start, 0x6000);
	cr_expect_eq(m->limit, 0x9000);
	cr_expect_eq(stack_table__nr_modules(st), 2);
	stack_table__free(st);
}

/*
 * A mapping says it has functions only when some location of it is named: pprof names
 * the addresses of the others from the file, and leaves a named one as it is.
 */
Test(pprof, mapping_flags_say_what_is_named)
{
	struct stack_table *st = stack_table__new();
	struct stack_module
		a = {.path = "/bin/a", .start = 0x1000, .limit = 0x2000, .offset = 0x1000},
		b = {.path = "/lib/b.so", .start = 0x5000, .limit = 0x6000, .offset = 0x4000};
	int64_t ma = stack_table__add_module(st, &a), mb = stack_table__add_module(st, &b);
	struct stack_frame f[] = {
		{.name = "a", .kind = STACK_FRAME_PROCESS},
		{.name = "main",
		 .function = "main",
		 .kind = STACK_FRAME_USER,
		 .module = ma,
		 .address = 0x1010},
		{.name = "[b.so]", .kind = STACK_FRAME_USER, .module = mb, .address = 0x4020},
	};
	struct pprof_opts o = {.event = "cycles", .freq = 99};
	Perftools__Profiles__Profile *p;
	size_t i;

	cr_assert_eq(stack_table__add_frames(st, f, 3, &(struct stack_count){1, 1}, 10, NULL), 0);
	p = decode(st, &o);
	cr_assert_eq(p->n_mapping, 2);
	cr_expect(p->mapping[0]->has_functions && !p->mapping[0]->has_filenames);
	cr_expect(!p->mapping[1]->has_functions && !p->mapping[1]->has_line_numbers &&
		  !p->mapping[1]->has_inline_frames);
	for (i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		/* at the module's addresses: file offset - offset + start */
		if (l->mapping_id == 2)
			cr_expect(l->address == 0x5020 && l->n_line == 0);
		else
			cr_expect(l->address == 0x1010 && l->n_line == 1);
	}
	perftools__profiles__profile__free_unpacked(p, NULL);
	stack_table__free(st);
}

/* pprof__write's gzip-compressed bytes. */
static char *pprof_gz(struct stack_table *st, const struct pprof_opts *o, size_t *len)
{
	char *gz = NULL;
	FILE *f = open_memstream(&gz, len);

	cr_assert_not_null(f);
	cr_assert_eq(pprof__write(f, st, o), 0);
	fclose(f);
	return gz;
}

/* A gzip-compressed profile, decoded. */
static Perftools__Profiles__Profile *decode_gz(const char *gz, size_t gz_len)
{
	unsigned char *raw = malloc(1 << 22);
	Perftools__Profiles__Profile *p;

	p = perftools__profiles__profile__unpack(NULL, gunzip(gz, gz_len, raw, 1 << 22), raw);
	free(raw);
	cr_assert_not_null(p, "protobuf-c cannot decode the profile");
	return p;
}

/* The sum of each value of the samples folded as want. */
static void folded_values(const Perftools__Profiles__Profile *p, const char *want, int64_t *v)
{
	char folded[4096];
	size_t i;

	v[0] = v[1] = 0;
	for (i = 0; i < p->n_sample; i++) {
		fold_sample(p, p->sample[i], folded, sizeof(folded));
		if (!strcmp(folded, want)) {
			v[0] += p->sample[i]->value[0];
			v[1] += p->sample[i]->value[1];
		}
	}
}

Test(pprof, merge_keeps_every_window)
{
	struct stack_table *a = model_table(), *b = stack_table__new();
	struct pprof_opts oa = {.event = "cycles",
				.freq = 99,
				.time_nanos = 1000000000000LL,
				.duration_nanos = 2000000000LL,
				.comment = "window 1"},
			  ob = oa;
	struct pprof_part parts[2];
	Perftools__Profiles__Profile *p;
	char *gz = NULL;
	size_t len = 0, i, j, k;
	int64_t v[2];
	FILE *f;

	cr_assert_eq(
		stack_table__add_joined_counts(b, "gamma;main;spin", &(struct stack_count){4, 400}),
		0);
	cr_assert_eq(
		stack_table__add_joined_counts(b, "[lost:map_full]", &(struct stack_count){1, 100}),
		0);
	ob.time_nanos += 2000000000LL;
	ob.comment = "window 2";
	parts[0].buf = pprof_gz(a, &oa, &parts[0].len);
	parts[1].buf = pprof_gz(b, &ob, &parts[1].len);
	f = open_memstream(&gz, &len);
	cr_assert_eq(pprof__merge(f, parts, 2), 0);
	fclose(f);
	p = decode_gz(gz, len);
	/* Both windows' stacks with both counts; the ledger of each added up. */
	folded_values(p, "alpha;main;work;step", v);
	cr_expect(v[0] == 10 && v[1] == 10000, "alpha: %lld %lld", (long long)v[0],
		  (long long)v[1]);
	folded_values(p, "beta;main;schedule", v);
	cr_expect(v[0] == 5 && v[1] == 4000, "beta: %lld %lld", (long long)v[0], (long long)v[1]);
	folded_values(p, "gamma;main;spin", v);
	cr_expect(v[0] == 4 && v[1] == 400, "gamma: %lld %lld", (long long)v[0], (long long)v[1]);
	folded_values(p, "[lost:map_full]", v);
	cr_expect(v[0] == 3 && v[1] == 2100, "lost: %lld %lld", (long long)v[0], (long long)v[1]);
	/* The first window's types and comment; the time of both. */
	cr_expect_str_eq(s_at(p, p->sample_type[1]->type), "cycles");
	cr_expect_str_eq(s_at(p, p->default_sample_type), "cycles");
	cr_expect_str_eq(s_at(p, p->comment[0]), "window 1");
	cr_expect_eq(p->time_nanos, 1000000000000LL);
	cr_expect_eq(p->duration_nanos, 4000000000LL);
	/* Ids unique, and every reference resolves (loc_by_id and func_by_id assert). */
	for (i = 0; i < p->n_location; i++)
		for (j = i + 1; j < p->n_location; j++)
			cr_assert_neq(p->location[i]->id, p->location[j]->id);
	for (i = 0; i < p->n_location; i++) {
		bool found = !p->location[i]->mapping_id;

		for (k = 0; k < p->n_mapping; k++)
			found |= p->mapping[k]->id == p->location[i]->mapping_id;
		cr_expect(found, "location %zu: no mapping %llu", i,
			  (unsigned long long)p->location[i]->mapping_id);
	}
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
	/* Not a profile: refused. */
	gz = NULL;
	f = open_memstream(&gz, &len);
	free((void *)parts[1].buf);
	parts[1].buf = "not gzip";
	parts[1].len = 8;
	cr_expect_eq(pprof__merge(f, parts, 2), -EINVAL);
	cr_expect_eq(pprof__merge(f, parts, 0), -EINVAL);
	fclose(f);
	free(gz);
	free((void *)parts[0].buf);
	stack_table__free(a);
	stack_table__free(b);
}
