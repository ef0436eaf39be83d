/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The library's one hash map: chained, intrusive, generic over the key.
 *
 * Entries embed a struct hashmap_entry and are owned by the caller (no allocation per
 * entry, stable addresses). The caller hashes the key (hash__bytes() and friends) and
 * gives a match callback that compares an entry with a lookup key of any form it chooses
 * (a string and its length, a pid, a frame array...), so variable-length keys need no
 * copy to be looked up. The bucket array doubles as entries are added; it never shrinks.
 */
#ifndef PMUPROF_HASHMAP_H
#define PMUPROF_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_entry {
	struct hashmap_entry *next;
	uint64_t hash;
};

/* Does e hold the key that key (as hashmap__find was given it) names? */
typedef bool (*hashmap_match_fn)(const struct hashmap_entry *e, const void *key, void *ctx);

struct hashmap {
	struct hashmap_entry **buckets;
	size_t nr_buckets, nr;
	unsigned int bits;
	hashmap_match_fn match;
	void *ctx;
};

/* The struct a hashmap_entry is embedded in. */
#define hashmap_entry__of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* An empty map; nothing is allocated until the first add. ctx is passed to match. */
void hashmap__init(struct hashmap *m, hashmap_match_fn match, void *ctx);
/* Frees the buckets, not the entries (free them first, e.g. while iterating). */
void hashmap__exit(struct hashmap *m);

/* The entry with this hash that match() accepts for key, or NULL. */
struct hashmap_entry *hashmap__find(const struct hashmap *m, uint64_t hash, const void *key);

/* The next entry after e (from hashmap__find() or this) that match() accepts for key, or
 * NULL: every entry of a key, in maps where keys repeat. */
struct hashmap_entry *hashmap__find_next(const struct hashmap *m, const struct hashmap_entry *e,
					 const void *key);

/*
 * Add e under hash (no check for an equal key: find first where keys must be unique).
 * 0, or -ENOMEM when the first bucket array cannot be allocated (a failed growth only
 * makes chains longer).
 */
int hashmap__add(struct hashmap *m, struct hashmap_entry *e, uint64_t hash);

/* Take e (which is in m) out of it. */
void hashmap__del(struct hashmap *m, struct hashmap_entry *e);
/* Take out and return the entry hashmap__find would return, or NULL. */
struct hashmap_entry *hashmap__remove(struct hashmap *m, uint64_t hash, const void *key);

static inline size_t hashmap__count(const struct hashmap *m)
{
	return m->nr;
}

/* Every entry, in no particular order; the entry returned may be deleted and freed. */
struct hashmap_iter {
	const struct hashmap *m;
	size_t bucket;
	struct hashmap_entry *next;
};

void hashmap_iter__init(struct hashmap_iter *it, const struct hashmap *m);
/* The next entry, or NULL at the end. */
struct hashmap_entry *hashmap_iter__next(struct hashmap_iter *it);

/* ---- hashes ---- */

/* Bytes → 64 bits, eight bytes a step: for table keys (its values may change). */
uint64_t hash__bytes(const void *p, size_t len, uint64_t seed);

static inline uint64_t hash__str(const char *s, size_t len)
{
	return hash__bytes(s, len, 0);
}

/* A 64-bit integer (pid, address) mixed well enough for any table size. */
static inline uint64_t hash__u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/*
 * 32-bit FNV-1a with the seed xor'ed into its offset basis: its values are fixed (frame
 * colors in flame graphs come from them and must not change between versions).
 */
static inline uint32_t hash__fnv1a32(const void *p, size_t len, uint32_t seed)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u ^ seed;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

#endif
