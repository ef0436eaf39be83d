/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bounded cache on the library's hash map: keys of two 64-bit words (a pid, and its
 * generation or 0) to values of two 64-bit words. Its entries live in one array of a fixed
 * size, allocated at the first add; once it is full, the entry used longest ago makes room
 * (least recently used: an add of a key it holds counts as a use). For "seen lately" sets
 * and per-process facts, where forgetting an entry only costs doing its work again.
 */
#ifndef PMUPROF_KEYCACHE_H
#define PMUPROF_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hashmap.h"

struct keycache_entry {
	struct hashmap_entry node;
	uint64_t key[2];
	uint64_t val[2];
	uint32_t prev, next; /* in the order of use (slot + 1; 0: none), or the free list */
	bool used;
};

struct keycache {
	struct hashmap map;
	struct keycache_entry *e; /* cap entries, NULL until the first add */
	size_t cap;
	uint32_t oldest, newest; /* the order of use (slot + 1; 0: empty) */
	uint32_t free;		 /* slots never used or taken out (slot + 1; 0: none) */
	uint64_t evicted;	 /* entries that made room */
};

/* An empty cache of at most cap (> 0) entries; nothing is allocated yet. */
void keycache__init(struct keycache *c, size_t cap);
void keycache__exit(struct keycache *c);

/* The entry of a key, or NULL. */
struct keycache_entry *keycache__find(const struct keycache *c, uint64_t k0, uint64_t k1);
/*
 * The entry of a key, now the most recently used, added with values 0 when absent (*added
 * says so when not NULL); when the cache is full, the least recently used entry goes.
 * NULL when memory fails.
 */
struct keycache_entry *keycache__add(struct keycache *c, uint64_t k0, uint64_t k1, bool *added);
/* Take an entry out. */
void keycache__del(struct keycache *c, struct keycache_entry *e);

static inline size_t keycache__count(const struct keycache *c)
{
	return hashmap__count(&c->map);
}

#endif
