// SPDX-License-Identifier: GPL-2.0
/* The library's hash map (hashmap.h): chained buckets, a power of two of them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"

#define HASHMAP_MIN_BITS 4

/*
 * Fibonacci hashing picks the bucket from the hash's high bits after a multiply, so keys
 * hashed weakly (consecutive pids, aligned addresses) still spread over every bucket.
 */
static size_t bucket_of(uint64_t hash, unsigned int bits)
{
	return (size_t)((hash * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

void hashmap__init(struct hashmap *m, hashmap_match_fn match, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->match = match;
	m->ctx = ctx;
}

void hashmap__exit(struct hashmap *m)
{
	if (!m)
		return;
	free(m->buckets);
	m->buckets = NULL;
	m->nr_buckets = m->nr = 0;
	m->bits = 0;
}

static int hashmap__rehash(struct hashmap *m, unsigned int bits)
{
	size_t n = (size_t)1 << bits, i;
	struct hashmap_entry **b = calloc(n, sizeof(*b)), *e, *next;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < m->nr_buckets; i++) {
		for (e = m->buckets[i]; e; e = next) {
			size_t k = bucket_of(e->hash, bits);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nr_buckets = n;
	m->bits = bits;
	return 0;
}

struct hashmap_entry *hashmap__find(const struct hashmap *m, uint64_t hash, const void *key)
{
	struct hashmap_entry *e;

	if (!m->nr)
		return NULL;
	for (e = m->buckets[bucket_of(hash, m->bits)]; e; e = e->next)
		if (e->hash == hash && m->match(e, key, m->ctx))
			return e;
	return NULL;
}

struct hashmap_entry *hashmap__find_next(const struct hashmap *m, const struct hashmap_entry *e,
					 const void *key)
{
	uint64_t hash = e->hash;

	for (e = e->next; e; e = e->next)
		if (e->hash == hash && m->match(e, key, m->ctx))
			return (struct hashmap_entry *)e;
	return NULL;
}

int hashmap__add(struct hashmap *m, struct hashmap_entry *e, uint64_t hash)
{
	size_t k;

	if (!m->nr_buckets) {
		if (hashmap__rehash(m, HASHMAP_MIN_BITS))
			return -ENOMEM;
	} else if (m->nr >= m->nr_buckets && m->bits < 8 * sizeof(size_t) - 2) {
		/* Without memory for more buckets the chains just grow longer. */
		hashmap__rehash(m, m->bits + 1);
	}
	e->hash = hash;
	k = bucket_of(hash, m->bits);
	e->next = m->buckets[k];
	m->buckets[k] = e;
	m->nr++;
	return 0;
}

void hashmap__del(struct hashmap *m, struct hashmap_entry *e)
{
	struct hashmap_entry **pp;

	if (!m->nr)
		return;
	for (pp = &m->buckets[bucket_of(e->hash, m->bits)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			m->nr--;
			return;
		}
	}
}

struct hashmap_entry *hashmap__remove(struct hashmap *m, uint64_t hash, const void *key)
{
	struct hashmap_entry *e = hashmap__find(m, hash, key);

	if (e)
		hashmap__del(m, e);
	return e;
}

void hashmap_iter__init(struct hashmap_iter *it, const struct hashmap *m)
{
	it->m = m;
	it->bucket = 0;
	it->next = m->nr_buckets ? m->buckets[0] : NULL;
}

struct hashmap_entry *hashmap_iter__next(struct hashmap_iter *it)
{
	struct hashmap_entry *e;

	while (!it->next) {
		if (++it->bucket >= it->m->nr_buckets)
			return NULL;
		it->next = it->m->buckets[it->bucket];
	}
	e = it->next;
	/* Read on now: the caller may unlink and free e. */
	it->next = e->next;
	return e;
}

uint64_t hash__bytes(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed ^ (len * 0x9e3779b97f4a7c15ull), w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	while (len--)
		h = (h ^ *s++) * 0x100000001b3ull;
	return hash__u64(h);
}
