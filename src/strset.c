// SPDX-License-Identifier: GPL-2.0
/*
 * The string set (strset.h): strings in large blocks (one malloc per block, not per
 * string: symbol tables intern hundreds of thousands), found through the hash map.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"
#include "strset.h"
#include "array.h"

/* Blocks double from the first size to the largest: small sets stay small. */
#define STRSET_FIRST_BLOCK 512
#define STRSET_BLOCK	   (64 * 1024)

struct strset_entry {
	struct hashmap_entry node;
	size_t len, idx;
	char s[];
};

/* A block of entries; larger strings get a block of their own. */
struct strset_block {
	struct strset_block *next;
	size_t used, size;
	char data[];
};

struct strset {
	struct hashmap map;
	struct strset_entry **by_index;
	size_t nr, cap;
	struct strset_block *blocks;
};

struct strset_key {
	const char *s;
	size_t len;
};

static bool strset__match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	const struct strset_entry *se = hashmap_entry__of(e, struct strset_entry, node);
	const struct strset_key *k = key;

	return se->len == k->len && !memcmp(se->s, k->s, k->len);
}

struct strset *strset__new(void)
{
	struct strset *set = calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	hashmap__init(&set->map, strset__match, NULL);
	return set;
}

void strset__free(struct strset *set)
{
	struct strset_block *b, *next;

	if (!set)
		return;
	for (b = set->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	hashmap__exit(&set->map);
	free(set->by_index);
	free(set);
}

/* Room for an entry of a string of len bytes, aligned for the entry. */
static struct strset_entry *strset__alloc(struct strset *set, size_t len)
{
	size_t need = sizeof(struct strset_entry) + len + 1, size;
	struct strset_block *b = set->blocks;

	need = (need + _Alignof(struct strset_entry) - 1) & ~(_Alignof(struct strset_entry) - 1);
	if (need < len || need > SIZE_MAX - sizeof(*b))
		return NULL;
	if (!b || b->size - b->used < need) {
		size = b && b->size < STRSET_BLOCK / 2 ? b->size * 2 : STRSET_BLOCK;
		if (!b)
			size = STRSET_FIRST_BLOCK;
		if (size < need)
			size = need;
		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->size = size;
		b->used = 0;
		if (need > STRSET_BLOCK / 4 && set->blocks) {
			/* Behind the current block, which keeps its free room. */
			b->next = set->blocks->next;
			set->blocks->next = b;
		} else {
			b->next = set->blocks;
			set->blocks = b;
		}
	}
	b->used += need;
	return (struct strset_entry *)(b->data + b->used - need);
}

static struct strset_entry *strset__lookup(const struct strset *set, const char *s, size_t len,
					   uint64_t hash)
{
	struct strset_key key = {s, len};
	struct hashmap_entry *e = hashmap__find(&set->map, hash, &key);

	return e ? hashmap_entry__of(e, struct strset_entry, node) : NULL;
}

/* The entry of s[0..len), added if new; NULL when out of memory. */
static struct strset_entry *strset__get(struct strset *set, const char *s, size_t len)
{
	uint64_t hash = hash__str(s, len);
	struct strset_entry *e = strset__lookup(set, s, len, hash);

	if (e)
		return e;
	if (ARRAY_RESERVE(set->by_index, set->cap, set->nr + 1, 256))
		return NULL;
	e = strset__alloc(set, len);
	if (!e)
		return NULL;
	e->len = len;
	e->idx = set->nr;
	memcpy(e->s, s, len);
	e->s[len] = 0;
	/* On failure the block keeps the bytes until strset__free. */
	if (hashmap__add(&set->map, &e->node, hash))
		return NULL;
	set->by_index[set->nr++] = e;
	return e;
}

long strset__add(struct strset *set, const char *s, size_t len)
{
	struct strset_entry *e = strset__get(set, s, len);

	return e ? (long)e->idx : -ENOMEM;
}

const char *strset__intern(struct strset *set, const char *s, size_t len)
{
	struct strset_entry *e = strset__get(set, s, len);

	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	return e->s;
}

long strset__find(const struct strset *set, const char *s, size_t len)
{
	struct strset_entry *e = strset__lookup(set, s, len, hash__str(s, len));

	return e ? (long)e->idx : -ENOENT;
}

const char *strset__str(const struct strset *set, size_t idx)
{
	return idx < set->nr ? set->by_index[idx]->s : NULL;
}

size_t strset__len(const struct strset *set, size_t idx)
{
	return idx < set->nr ? set->by_index[idx]->len : 0;
}

size_t strset__count(const struct strset *set)
{
	return set ? set->nr : 0;
}
