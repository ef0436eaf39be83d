// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include "src/record.h"

Test(record, per_cpu_values_are_summed)
{
	struct profile_value v[4] = {
		{ 3, 3000 }, { 0, 0 }, { 5, 10000 }, { 1, 1000001 },
	}, sum;

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
