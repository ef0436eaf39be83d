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
	const char *frames[] = {"demo", "main", "work"}, *stored = NULL, *hit;
	struct profile_key k = {.gen = 7, .pid = 42, .kern_len = 0, .user_len = 2}, k2;
	size_t len = PROFILE_KEY_HDR_SIZE + 2 * sizeof(__u64);
	bool unresolved = true;

	cr_assert(c && t);
	k.frames[0] = 0x401000;
	k.frames[1] = 0x402000;
	cr_assert_eq(stack_table__add_interned(t, frames, 3, 5, 10, &stored), 0);
	cr_assert_str_eq(stored, "demo;main;work");
	cr_assert_eq(stack_cache__add(c, &k, len, 2, stored, false), 0);
	hit = stack_cache__find(c, &k, len, 2, &unresolved);
	cr_expect_eq(hit, stored);
	cr_expect_not(unresolved);
	cr_expect_null(stack_cache__find(c, &k, len, 3, &unresolved), "another version");
	k2 = k;
	k2.frames[1] = 0x402008;
	cr_expect_null(stack_cache__find(c, &k2, len, 2, &unresolved), "another frame");
	cr_expect_eq(stack_table__add_existing(t, hit, 4), 0);
	cr_expect_eq(stack_table__get(t, "demo;main;work"), 9);
	cr_expect_eq(stack_table__add_existing(t, "demo;other", 1), -ENOENT);
	/* Many keys: lookups survive growth; a sweep drops exactly the stale ones. */
	for (unsigned int i = 0; i < 5000; i++) {
		k2.frames[0] = i;
		cr_assert_eq(stack_cache__add(c, &k2, len, 10 + i, stored, i % 3 == 0), 0);
	}
	k2.frames[0] = 4998;
	cr_expect_eq(stack_cache__find(c, &k2, len, 5008, &unresolved), stored);
	cr_expect(unresolved);
	cr_expect_eq(stack_cache__sweep(c, stale_if_version_odd, NULL), 2500);
	cr_expect_eq(stack_cache__len(c), 2501);
	cr_expect_not_null(stack_cache__find(c, &k, len, 2, &unresolved));
	stack_cache__clear(c);
	cr_expect_eq(stack_cache__len(c), 0);
	cr_expect_null(stack_cache__find(c, &k, len, 2, &unresolved));
	stack_cache__free(c);
	stack_table__free(t);
}

Test(record, frame_cache_keys_by_file_offset_and_leaf)
{
	struct frame_cache *c = frame_cache__new(4);
	int file_a, file_b;
	char name[] = "hot_60";
	struct frame_names in = {.n = 2,
				 .unresolved = 2,
				 .module = "/usr/bin/demo",
				 .build_id = "abcd",
				 .names = {name, "[demo]"}};
	const struct frame_names *out;

	cr_assert(c);
	cr_expect_null(frame_cache__find(c, &file_a, "p", 0x10, false));
	cr_assert_eq(frame_cache__add(c, &file_a, "p", 0x10, false, &in), 0);
	/* Copied: the caller's buffer may change. */
	name[0] = 'X';
	out = frame_cache__find(c, &file_a, "p", 0x10, false);
	cr_assert(out);
	cr_expect_eq(out->n, 2);
	cr_expect_str_eq(out->names[0], "hot_60");
	cr_expect_str_eq(out->names[1], "[demo]");
	cr_expect_eq(out->unresolved, 2);
	cr_expect_str_eq(out->module, "/usr/bin/demo");
	cr_expect_str_eq(out->build_id, "abcd");
	/* Another file, offset or leaf-ness is another frame. */
	cr_expect_null(frame_cache__find(c, &file_b, "p", 0x10, false));
	cr_expect_null(frame_cache__find(c, &file_a, "p", 0x11, false));
	cr_expect_null(frame_cache__find(c, &file_a, "p", 0x10, true));
	cr_expect_eq(frame_cache__hits(c), 1);
	frame_cache__free(c);
}

Test(record, frame_cache_is_bounded)
{
	struct frame_cache *c = frame_cache__new(3);
	struct frame_names in = {.n = 1, .names = {"f"}};
	int file;
	uint64_t off;

	cr_assert(c);
	for (off = 0; off < 3; off++)
		cr_assert_eq(frame_cache__add(c, &file, "p", off, false, &in), 0);
	cr_expect(frame_cache__find(c, &file, "p", 2, false));
	cr_expect_null(frame_cache__find(c, &file, "p", 0, false)->module);
	/* Full: emptied before the next one goes in. */
	cr_assert_eq(frame_cache__add(c, &file, "p", 3, false, &in), 0);
	cr_expect_null(frame_cache__find(c, &file, "p", 0, false));
	cr_expect(frame_cache__find(c, &file, "p", 3, false));
	frame_cache__clear(c);
	cr_expect_null(frame_cache__find(c, &file, "p", 3, false));
	frame_cache__free(c);
}
