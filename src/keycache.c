// SPDX-License-Identifier: GPL-2.0
/* A bounded cache of two-word keys on the library's hash map (keycache.h). */
#include <stdlib.h>
#include "keycache.h"

static bool entry_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	const struct keycache_entry *k = hashmap_entry__of(e, struct keycache_entry, node);
	const uint64_t *want = key;

	(void)ctx;
	return k->key[0] == want[0] && k->key[1] == want[1];
}

static uint64_t key_hash(uint64_t k0, uint64_t k1)
{
	return hash__u64(k0 ^ hash__u64(k1 + 0x9e3779b97f4a7c15ull));
}

void keycache__init(struct keycache *c, size_t cap)
{
	hashmap__init(&c->map, entry_match, NULL);
	c->e = NULL;
	c->cap = cap ? cap : 1;
	c->oldest = c->newest = c->free = 0;
	c->evicted = 0;
}

void keycache__exit(struct keycache *c)
{
	hashmap__exit(&c->map);
	free(c->e);
	keycache__init(c, c->cap);
}

/* Slot i + 1 of an entry: the links' values. */
static uint32_t link_of(const struct keycache *c, const struct keycache_entry *e)
{
	return (uint32_t)(e - c->e) + 1;
}

/* Out of the order of use. */
static void unlink_entry(struct keycache *c, struct keycache_entry *e)
{
	if (e->prev)
		c->e[e->prev - 1].next = e->next;
	else
		c->oldest = e->next;
	if (e->next)
		c->e[e->next - 1].prev = e->prev;
	else
		c->newest = e->prev;
	e->prev = e->next = 0;
}

/* Last in the order of use: the most recently used. */
static void append(struct keycache *c, struct keycache_entry *e)
{
	e->prev = c->newest;
	e->next = 0;
	if (c->newest)
		c->e[c->newest - 1].next = link_of(c, e);
	else
		c->oldest = link_of(c, e);
	c->newest = link_of(c, e);
}

static int alloc_slots(struct keycache *c)
{
	size_t i;

	c->e = calloc(c->cap, sizeof(*c->e));
	if (!c->e)
		return -1;
	for (i = 0; i + 1 < c->cap; i++)
		c->e[i].next = i + 2;
	c->free = 1;
	return 0;
}

struct keycache_entry *keycache__find(const struct keycache *c, uint64_t k0, uint64_t k1)
{
	const uint64_t key[2] = {k0, k1};
	struct hashmap_entry *e = c->e ? hashmap__find(&c->map, key_hash(k0, k1), key) : NULL;

	return e ? hashmap_entry__of(e, struct keycache_entry, node) : NULL;
}

/* A slot for a new key: a free one, else the least recently used entry's. */
static struct keycache_entry *take_slot(struct keycache *c)
{
	struct keycache_entry *e;

	if (c->free) {
		e = &c->e[c->free - 1];
		c->free = e->next;
		return e;
	}
	e = &c->e[c->oldest - 1];
	hashmap__del(&c->map, &e->node);
	unlink_entry(c, e);
	c->evicted++;
	return e;
}

struct keycache_entry *keycache__add(struct keycache *c, uint64_t k0, uint64_t k1, bool *added)
{
	struct keycache_entry *e = keycache__find(c, k0, k1);

	if (added)
		*added = !e;
	if (e) {
		unlink_entry(c, e);
		append(c, e);
		return e;
	}
	if (!c->e && alloc_slots(c))
		return NULL;
	e = take_slot(c);
	*e = (struct keycache_entry){.key = {k0, k1}, .used = true};
	if (hashmap__add(&c->map, &e->node, key_hash(k0, k1))) {
		e->used = false;
		e->next = c->free;
		c->free = link_of(c, e);
		return NULL;
	}
	append(c, e);
	return e;
}

void keycache__del(struct keycache *c, struct keycache_entry *e)
{
	if (!e->used)
		return;
	hashmap__del(&c->map, &e->node);
	unlink_entry(c, e);
	e->used = false;
	e->next = c->free;
	c->free = link_of(c, e);
}
