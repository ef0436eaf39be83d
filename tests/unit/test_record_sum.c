// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include "src/record.h"
#include "src/stackcache.h"

Test(record, per_cpu_values_are_summed)
{
	struct profile_value v[4] =
		{
			{3, 3000},
			{0, 0},
			{5, 10000},
			{1, 1000001},
		},
			     sum;

	profile_value__sum(v, 4, &sum);
	cr_expect_eq(sum.samples, 9);
	cr_expect_eq(sum.weight, 1013001);
	profile_value__sum(v, 1, &sum);
	cr_expect_eq(sum.samples, 3);
	cr_expect_eq(sum.weight, 3000);
}

Test(record, key_header_layout)
{
	/* User space and the BPF program agree on where the frames start: the process
	 * generation (8 bytes), pid, tid, event, lengths, comm. */
	cr_expect_eq(PROFILE_KEY_HDR_SIZE, 40);
	cr_expect_eq(sizeof(struct profile_key), 40 + 256 * 8);
}

Test(record, ledger_names)
{
	cr_expect_str_eq(record_counter__name(PROFILE_CNT_LOST_MAP_FULL), "map_full");
	cr_expect_str_eq(record_counter__name(PROFILE_CNT_LOST_STACK), "stack");
}

static bool stale_if_version_odd(const void *key, size_t len, uint64_t version, void *arg)
{
	(void)key;
	(void)len;
	(void)arg;
	return version & 1;
}

/* Drained keys map to the table's interned stack; only the same bytes and version hit. */
Test(record, stack_cache_hits_same_key_and_version_only)
{
	struct stack_cache *c = stack_cache__new();
	struct stack_table *t = stack_table__new();
	const struct stack_frame frames[] = {
		{.name = "demo", .kind = STACK_FRAME_PROCESS},
		{.name = "main", .kind = STACK_FRAME_USER, .address = 0x1000},
		{.name = "work", .kind = STACK_FRAME_USER, .address = 0x2000}};
	const struct stack_ref *ref = NULL;
	const struct stack_ref *stored, *hit;
	struct profile_key k = {.gen = 7, .pid = 42, .kern_len = 0, .user_len = 2}, k2;
	size_t len = PROFILE_KEY_HDR_SIZE + 2 * sizeof(__u64);
	bool unresolved = true;

	cr_assert(c && t);
	k.frames[0] = 0x401000;
	k.frames[1] = 0x402000;
	cr_assert_eq(stack_table__add_frames(t, frames, 3, &(struct stack_count){5, 50}, 10, &ref),
		     0);
	{
		char buf[64], small[8];

		cr_assert_eq(stack_table__spell(t, ref, buf, sizeof(buf)), 14);
		cr_assert_str_eq(buf, "demo;main;work");
		cr_expect_eq(stack_table__spell(t, ref, small, sizeof(small)), 14,
			     "the whole length");
		cr_expect_str_eq(small, "demo;ma", "cut to fit");
	}
	stored = ref;
	cr_assert_eq(stack_cache__add(c, &k, len, stack_cache__hash(&k, len), 2, stored, false), 0);
	hit = stack_cache__find(c, &k, len, stack_cache__hash(&k, len), 2, &unresolved);
	cr_expect_eq(hit, stored);
	cr_expect_not(unresolved);
	cr_expect_null(stack_cache__find(c, &k, len, stack_cache__hash(&k, len), 3, &unresolved),
		       "another version");
	k2 = k;
	k2.frames[1] = 0x402008;
	cr_expect_null(stack_cache__find(c, &k2, len, stack_cache__hash(&k2, len), 2, &unresolved),
		       "another frame");
	cr_expect_eq(stack_table__add_ref(t, hit, &(struct stack_count){4, 40}), 0);
	cr_expect_eq(stack_table__get(t, "demo;main;work"), 9);
	stack_table__set_weighted(t, true);
	cr_expect_eq(stack_table__get(t, "demo;main;work"), 90);
	/* Many keys: lookups survive growth; a sweep drops exactly the stale ones. */
	for (unsigned int i = 0; i < 5000; i++) {
		k2.frames[0] = i;
		cr_assert_eq(stack_cache__add(c, &k2, len, stack_cache__hash(&k2, len), 10 + i,
					      stored, i % 3 == 0),
			     0);
	}
	k2.frames[0] = 4998;
	cr_expect_eq(stack_cache__find(c, &k2, len, stack_cache__hash(&k2, len), 5008, &unresolved),
		     stored);
	cr_expect(unresolved);
	cr_expect_eq(stack_cache__sweep(c, stale_if_version_odd, NULL), 2500);
	cr_expect_eq(stack_cache__len(c), 2501);
	cr_expect_not_null(
		stack_cache__find(c, &k, len, stack_cache__hash(&k, len), 2, &unresolved));
	stack_cache__clear(c);
	cr_expect_eq(stack_cache__len(c), 0);
	cr_expect_null(stack_cache__find(c, &k, len, stack_cache__hash(&k, len), 2, &unresolved));
	stack_cache__free(c);
	stack_table__free(t);
}

/* Frames of a user address: found by file, offset and leaf-ness, records copied whole. */
Test(record, frame_cache_keys_by_file_offset_and_leaf)
{
	struct frame_cache *c = frame_cache__new(4);
	int file_a, file_b;
	char name[] = "hot_60", func[] = "hot_60";
	struct stack_frame f[2] = {
		{.name = name,
		 .function = func,
		 .file = "demo.c",
		 .line = 12,
		 .kind = STACK_FRAME_USER,
		 .address = 0x10},
		{.name = "[demo]", .inlined = true, .kind = STACK_FRAME_USER, .address = 0x10}};
	struct frame_names in = {.n = 2,
				 .unresolved = 2,
				 .frames = f,
				 .module = "/usr/bin/demo",
				 .build_id = "abcd",
				 .link_addr = 0x401010};
	const struct frame_names *out;
	size_t before;

	cr_assert(c);
	cr_expect_null(frame_cache__find(c, &file_a, "p", 0x10, false));
	cr_assert_eq(frame_cache__add(c, &file_a, "p", 0x10, false, &in), 0);
	/* Copied: the caller's buffers may change. */
	name[0] = func[0] = 'X';
	f[1].line = 99;
	out = frame_cache__find(c, &file_a, "p", 0x10, false);
	cr_assert(out);
	cr_expect_eq(out->n, 2);
	cr_expect_str_eq(out->frames[0].name, "hot_60");
	cr_expect_str_eq(out->frames[0].function, "hot_60");
	cr_expect_str_eq(out->frames[0].file, "demo.c");
	cr_expect_eq(out->frames[0].line, 12);
	cr_expect_str_eq(out->frames[1].name, "[demo]");
	cr_expect_null(out->frames[1].function);
	cr_expect(out->frames[1].inlined);
	cr_expect_eq(out->frames[1].line, 0);
	cr_expect_eq(out->unresolved, 2);
	cr_expect_str_eq(out->module, "/usr/bin/demo");
	cr_expect_str_eq(out->build_id, "abcd");
	cr_expect_eq(out->link_addr, 0x401010);
	/* Another file, offset or leaf-ness is another frame. */
	cr_expect_null(frame_cache__find(c, &file_b, "p", 0x10, false));
	cr_expect_null(frame_cache__find(c, &file_a, "p", 0x11, false));
	cr_expect_null(frame_cache__find(c, &file_a, "p", 0x10, true));
	cr_expect_eq(frame_cache__hits(c), 1);
	/* Bounded: full, it refuses more until cleared. */
	for (uint64_t off = 0x100; off < 0x103; off++)
		cr_assert_eq(frame_cache__add(c, &file_b, "p", off, false, &in), 0);
	before = frame_cache__len(c);
	cr_expect_eq(before, 4);
	cr_expect_eq(frame_cache__add(c, &file_b, "p", 0x200, false, &in), -ENOSPC);
	cr_expect_eq(frame_cache__len(c), 4);
	frame_cache__clear(c);
	cr_expect_eq(frame_cache__len(c), 0);
	cr_expect_null(frame_cache__find(c, &file_a, "p", 0x10, false));
	frame_cache__free(c);
}

/* The memo of addresses: a hit needs the same version, address, leaf-ness and table;
 * a reset forgets everything; an address takes over its slot from another. */
Test(record, frame_memo_keys_by_version_address_leaf_and_table)
{
	struct frame_memo *m = frame_memo__new();
	struct frame_names a = {.n = 1}, b = {.n = 2};
	uint32_t module = 0;
	size_t hits = 0;

	cr_assert(m);
	cr_expect_null(frame_memo__find(m, 3, 0x401000, false, 0, &module));
	frame_memo__add(m, 3, 0x401000, false, 0, &a, 7);
	cr_expect_eq(frame_memo__find(m, 3, 0x401000, false, 0, &module), &a);
	cr_expect_eq(module, 7);
	cr_expect_null(frame_memo__find(m, 4, 0x401000, false, 0, &module), "another version");
	cr_expect_null(frame_memo__find(m, 3, 0x401001, false, 0, &module), "another address");
	cr_expect_null(frame_memo__find(m, 3, 0x401000, true, 0, &module), "the leaf");
	cr_expect_null(frame_memo__find(m, 3, 0x401000, false, 1, &module), "another table");
	frame_memo__add(m, 3, 0x401000, true, 0, &b, 8);
	cr_expect_eq(frame_memo__find(m, 3, 0x401000, true, 0, &module), &b);
	cr_expect_eq(module, 8);
	frame_memo__reset(m);
	cr_expect_null(frame_memo__find(m, 3, 0x401000, false, 0, &module), "reset");
	cr_expect_null(frame_memo__find(m, 3, 0x401000, true, 0, &module), "reset");
	/* Many addresses: each one found is the one added for it, whatever it displaced. */
	for (uint64_t ip = 0; ip < 100000; ip++)
		frame_memo__add(m, 9, 0x400000 + ip * 16, false, 0, ip & 1 ? &a : &b, ip);
	for (uint64_t ip = 0; ip < 100000; ip++) {
		const struct frame_names *f =
			frame_memo__find(m, 9, 0x400000 + ip * 16, false, 0, &module);

		if (!f)
			continue;
		hits++;
		cr_assert_eq(f, ip & 1 ? &a : &b);
		cr_assert_eq(module, (uint32_t)ip);
	}
	cr_expect_gt(hits, 1000, "the memo keeps a fair share of what fits");
	cr_expect_lt(hits, 100000, "bounded");
	frame_memo__free(m);
}

/* The drained-key cache counts its bytes, so record can bound it by memory. */
Test(record, stack_cache_counts_bytes)
{
	struct stack_cache *c = stack_cache__new();
	uint64_t key[64] = {0};
	size_t empty, i;

	cr_assert(c);
	empty = stack_cache__bytes(c);
	for (i = 0; i < 100; i++) {
		key[0] = i;
		cr_assert_eq(stack_cache__add(c, key, sizeof(key),
					      stack_cache__hash(key, sizeof(key)), 1, NULL, false),
			     0);
	}
	cr_expect_geq(stack_cache__bytes(c) - empty, 100 * sizeof(key));
	stack_cache__clear(c);
	cr_expect_eq(stack_cache__bytes(c), empty);
	stack_cache__free(c);
}
