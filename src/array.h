/* SPDX-License-Identifier: GPL-2.0 */
/* Arrays that grow by doubling: one rule for every growing array of the project. */
#ifndef PMUPROF_ARRAY_H
#define PMUPROF_ARRAY_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Room in *arr (an array of elements of size bytes, *cap of them allocated) for need
 * elements: the capacity doubles, starting from first when there is none, until need fit.
 * 0, or -ENOMEM with *arr and *cap unchanged.
 */
static inline int array__reserve(void *arr, size_t *cap, size_t need, size_t size, size_t first)
{
	void **p = arr;
	size_t c = *cap ? *cap : (first ? first : 1);
	void *tmp;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	tmp = realloc(*p, c * size);
	if (!tmp)
		return -ENOMEM;
	*p = tmp;
	*cap = c;
	return 0;
}

/* array__reserve for an array variable arr and its size_t capacity cap. */
#define ARRAY_RESERVE(arr, cap, need, first)                                                       \
	array__reserve(&(arr), &(cap), (need), sizeof(*(arr)), (first))

#endif
