// SPDX-License-Identifier: GPL-2.0
/*
 * Range lists read without libdw: DWARF 5 .debug_rnglists entries that give addresses
 * (DW_RLE_base_address, start_end, start_length, offset_pair) and DWARF 4 .debug_ranges
 * pairs with their base address selections. Lists with indexed addresses (the *x entries)
 * or that leave the section are not read here: the caller asks libdw for them.
 */
#include <errno.h>
#include <dwarf.h>
#include "dwarf-cursor.h"
#include "symbolize-private.h"

#ifndef DW_RLE_end_of_list
#define DW_RLE_end_of_list  0x00
#define DW_RLE_offset_pair  0x04
#define DW_RLE_base_address 0x05
#define DW_RLE_start_end    0x06
#define DW_RLE_start_length 0x07
#endif

/* One DWARF 5 entry: 1 a range in *lo, *hi; 0 the end; -EINVAL not read here. */
static int rle_next(struct dcursor *c, unsigned int asz, uint64_t *base, uint64_t *lo, uint64_t *hi)
{
	for (;;) {
		unsigned int kind = (unsigned int)dcursor__fixed(c, 1);

		if (c->bad)
			return -EINVAL;
		switch (kind) {
		case DW_RLE_end_of_list:
			return 0;
		case DW_RLE_base_address:
			*base = dcursor__fixed(c, asz);
			continue;
		case DW_RLE_offset_pair:
			*lo = *base + dcursor__uleb(c);
			*hi = *base + dcursor__uleb(c);
			break;
		case DW_RLE_start_end:
			*lo = dcursor__fixed(c, asz);
			*hi = dcursor__fixed(c, asz);
			break;
		case DW_RLE_start_length:
			*lo = dcursor__fixed(c, asz);
			*hi = *lo + dcursor__uleb(c);
			break;
		default:
			return -EINVAL;
		}
		return c->bad ? -EINVAL : 1;
	}
}

/* One DWARF 4 pair: 1 a range, 0 the end, -EINVAL cut short. */
static int ranges_next(struct dcursor *c, unsigned int asz, uint64_t *base, uint64_t *lo,
		       uint64_t *hi)
{
	uint64_t sel = asz == 8 ? UINT64_MAX : UINT32_MAX;

	for (;;) {
		uint64_t a = dcursor__fixed(c, asz), b = dcursor__fixed(c, asz);

		if (c->bad)
			return -EINVAL;
		if (a == 0 && b == 0)
			return 0;
		if (a == sel) {
			*base = b;
			continue;
		}
		*lo = *base + a;
		*hi = *base + b;
		return 1;
	}
}

int dwarf_ranges__read(const uint8_t *sec, size_t size, uint64_t off, bool rnglists,
		       unsigned int addr_size, uint64_t base, dwarf_range_fn add, void *arg)
{
	struct dcursor c;
	uint64_t lo, hi;
	int n = 0, r;

	if (!sec || off >= size || (addr_size != 4 && addr_size != 8))
		return -EINVAL;
	c = (struct dcursor){sec + off, sec + size, false};
	while ((r = rnglists ? rle_next(&c, addr_size, &base, &lo, &hi)
			     : ranges_next(&c, addr_size, &base, &lo, &hi)) > 0) {
		if (addr_size == 4)
			lo &= UINT32_MAX, hi &= UINT32_MAX;
		if (add(arg, lo, hi))
			return -ENOMEM;
		n++;
	}
	return r < 0 ? r : n;
}
