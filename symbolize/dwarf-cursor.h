/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading DWARF bytes within bounds, shared by the DIE scan (dwarf-scan.c) and the line
 * decoder (dwarf-line.c): a cursor over [p, end) that turns bad, and stops at end, at the
 * first value that does not fit.
 */
#ifndef PMUPROF_DWARF_CURSOR_H
#define PMUPROF_DWARF_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dcursor {
	const uint8_t *p, *end;
	bool bad;
};

static inline uint64_t dcursor__uleb_long(struct dcursor *c)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	while (c->p < c->end) {
		uint8_t b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

/* A ULEB128: most are one byte, read inline. */
static inline __attribute__((always_inline)) uint64_t dcursor__uleb(struct dcursor *c)
{
	if (c->p < c->end && !(*c->p & 0x80))
		return *c->p++;
	return dcursor__uleb_long(c);
}

static inline void dcursor__skip(struct dcursor *c, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		c->p = c->end;
		return;
	}
	c->p += n;
}

/* A little-endian value of n bytes (n <= 8). */
static inline uint64_t dcursor__fixed(struct dcursor *c, unsigned int n)
{
	uint64_t v = 0;
	unsigned int i;

	if (n > (size_t)(c->end - c->p)) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

#endif
