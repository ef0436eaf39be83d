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
	const char *stored, *hit;
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
	stored = (const char *)ref;
	cr_assert_eq(stack_cache__add(c, &k, len, 2, stored, false), 0);
	hit = stack_cache__find(c, &k, len, 2, &unresolved);
	cr_expect_eq(hit, stored);
	cr_expect_not(unresolved);
	cr_expect_null(stack_cache__find(c, &k, len, 3, &unresolved), "another version");
	k2 = k;
	k2.frames[1] = 0x402008;
	cr_expect_null(stack_cache__find(c, &k2, len, 2, &unresolved), "another frame");
	cr_expect_eq(stack_table__add_ref(t, (const struct stack_ref *)hit,
					  &(struct stack_count){4, 40}),
		     0);
	cr_expect_eq(stack_table__get(t, "demo;main;work"), 9);
	stack_table__set_weighted(t, true);
	cr_expect_eq(stack_table__get(t, "demo;main;work"), 90);
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
