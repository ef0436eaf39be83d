// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stackcache.h"

struct cache_entry {
	struct cache_entry *next;
	uint64_t hash, version;
	const char *stack;
	size_t len;
	bool unresolved;
	uint64_t key[]; /* 8-byte aligned: read back as struct profile_key */
};

/* Chained, so that a sweep can unlink entries in place. */
struct stack_cache {
	struct cache_entry **buckets;
	size_t nbuckets, nr;
};

static uint64_t hash_key(const void *key, size_t len, uint64_t version)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull ^ version;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

struct stack_cache *stack_cache__new(void)
{
	return calloc(1, sizeof(struct stack_cache));
}

void stack_cache__clear(struct stack_cache *c)
{
	struct cache_entry *e, *next;
	size_t i;

	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
		c->buckets[i] = NULL;
	}
	c->nr = 0;
}

void stack_cache__free(struct stack_cache *c)
{
	if (!c)
		return;
	stack_cache__clear(c);
	free(c->buckets);
	free(c);
}

size_t stack_cache__len(const struct stack_cache *c)
{
	return c->nr;
}

const char *stack_cache__find(const struct stack_cache *c, const void *key, size_t len,
			      uint64_t version, bool *unresolved)
{
	uint64_t h = hash_key(key, len, version);
	const struct cache_entry *e;

	if (!c->nbuckets)
		return NULL;
	for (e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && e->version == version && e->len == len &&
		    !memcmp(e->key, key, len)) {
			*unresolved = e->unresolved;
			return e->stack;
		}
	return NULL;
}

static int grow(struct stack_cache *c)
{
	size_t n = c->nbuckets ? c->nbuckets * 2 : 1024, i;
	struct cache_entry **b = calloc(n, sizeof(*b)), *e, *next;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < c->nbuckets; i++) {
		for (e = c->buckets[i]; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
	return 0;
}

int stack_cache__add(struct stack_cache *c, const void *key, size_t len, uint64_t version,
		     const char *stack, bool unresolved)
{
	struct cache_entry *e, **b;

	if (c->nr + 1 > c->nbuckets && grow(c))
		return -ENOMEM;
	e = malloc(sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	e->hash = hash_key(key, len, version);
	e->version = version;
	e->stack = stack;
	e->len = len;
	e->unresolved = unresolved;
	memcpy(e->key, key, len);
	b = &c->buckets[e->hash & (c->nbuckets - 1)];
	e->next = *b;
	*b = e;
	c->nr++;
	return 0;
}

size_t stack_cache__sweep(struct stack_cache *c,
			  bool (*stale)(const void *key, size_t len, uint64_t version, void *arg),
			  void *arg)
{
	struct cache_entry **pp, *e;
	size_t i, n = 0;

	for (i = 0; i < c->nbuckets; i++) {
		for (pp = &c->buckets[i]; (e = *pp);) {
			if (!stale(e->key, e->len, e->version, arg)) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			free(e);
			n++;
		}
	}
	c->nr -= n;
	return n;
}
