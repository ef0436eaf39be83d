// SPDX-License-Identifier: GPL-2.0
/* The record's naming caches (stackcache.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"
#include "stackcache.h"

/* ---- drained keys ---- */

struct cache_entry {
	struct hashmap_entry node;
	uint64_t version;
	const struct stack_ref *stack;
	size_t len;
	bool unresolved;
	uint64_t key[]; /* 8-byte aligned: read back as struct profile_key */
};

struct stack_cache {
	struct hashmap map;
	size_t bytes;
};

struct cache_key {
	const void *key;
	size_t len;
	uint64_t version;
};

static bool cache_match(const struct hashmap_entry *he, const void *key, void *ctx)
{
	const struct cache_entry *e = hashmap_entry__of(he, struct cache_entry, node);
	const struct cache_key *k = key;

	(void)ctx;
	return e->version == k->version && e->len == k->len && !memcmp(e->key, k->key, k->len);
}

static size_t entry_size(size_t len)
{
	return sizeof(struct cache_entry) + ((len + 7) & ~(size_t)7);
}

struct stack_cache *stack_cache__new(void)
{
	struct stack_cache *c = calloc(1, sizeof(*c));

	if (c)
		hashmap__init(&c->map, cache_match, NULL);
	return c;
}

void stack_cache__clear(struct stack_cache *c)
{
	struct hashmap_iter it;
	struct hashmap_entry *e;

	hashmap_iter__init(&it, &c->map);
	while ((e = hashmap_iter__next(&it)))
		free(hashmap_entry__of(e, struct cache_entry, node));
	/* The buckets go too: a full cache's array is as large as the cache. */
	hashmap__exit(&c->map);
	hashmap__init(&c->map, cache_match, NULL);
	c->bytes = 0;
}

void stack_cache__free(struct stack_cache *c)
{
	if (!c)
		return;
	stack_cache__clear(c);
	free(c);
}

size_t stack_cache__len(const struct stack_cache *c)
{
	return hashmap__count(&c->map);
}

size_t stack_cache__bytes(const struct stack_cache *c)
{
	return c->bytes + c->map.nr_buckets * sizeof(void *);
}

uint64_t stack_cache__hash(const void *key, size_t len)
{
	return hash__bytes(key, len, 0);
}

const struct stack_ref *stack_cache__find(const struct stack_cache *c, const void *key, size_t len,
					  uint64_t hash, uint64_t version, bool *unresolved)
{
	struct cache_key k = {key, len, version};
	struct hashmap_entry *he = hashmap__find(&c->map, hash, &k);
	const struct cache_entry *e;

	if (!he)
		return NULL;
	e = hashmap_entry__of(he, struct cache_entry, node);
	*unresolved = e->unresolved;
	return e->stack;
}

int stack_cache__add(struct stack_cache *c, const void *key, size_t len, uint64_t hash,
		     uint64_t version, const struct stack_ref *stack, bool unresolved)
{
	struct cache_entry *e = malloc(entry_size(len));

	if (!e)
		return -ENOMEM;
	e->version = version;
	e->stack = stack;
	e->len = len;
	e->unresolved = unresolved;
	memcpy(e->key, key, len);
	if (hashmap__add(&c->map, &e->node, hash)) {
		free(e);
		return -ENOMEM;
	}
	c->bytes += entry_size(len);
	return 0;
}

size_t stack_cache__sweep(struct stack_cache *c,
			  bool (*stale)(const void *key, size_t len, uint64_t version, void *arg),
			  void *arg)
{
	struct hashmap_iter it;
	struct hashmap_entry *he;
	size_t n = 0;

	hashmap_iter__init(&it, &c->map);
	while ((he = hashmap_iter__next(&it))) {
		struct cache_entry *e = hashmap_entry__of(he, struct cache_entry, node);

		if (!stale(e->key, e->len, e->version, arg))
			continue;
		hashmap__del(&c->map, he);
		c->bytes -= entry_size(e->len);
		free(e);
		n++;
	}
	return n;
}

/* ---- named frames ---- */

struct frame_entry {
	struct hashmap_entry node;
	const void *obj, *path;
	uint64_t off;
	bool leaf;
	struct frame_names names;		  /* its frames and strings point into data */
	_Alignas(struct stack_frame) char data[]; /* n frames, then the strings */
};

struct frame_cache {
	struct hashmap map;
	size_t max;
	uint64_t hits;
};

struct frame_key {
	const void *obj, *path;
	uint64_t off;
	bool leaf;
};

static bool frame_match(const struct hashmap_entry *he, const void *key, void *ctx)
{
	const struct frame_entry *e = hashmap_entry__of(he, struct frame_entry, node);
	const struct frame_key *k = key;

	(void)ctx;
	return e->off == k->off && e->obj == k->obj && e->path == k->path && e->leaf == k->leaf;
}

static uint64_t frame_hash(const struct frame_key *k)
{
	return hash__u64((uintptr_t)k->obj ^ hash__u64((uintptr_t)k->path) ^
			 hash__u64(k->off * 2 + k->leaf));
}

struct frame_cache *frame_cache__new(size_t max)
{
	struct frame_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	hashmap__init(&c->map, frame_match, NULL);
	c->max = max ? max : 1;
	return c;
}

void frame_cache__clear(struct frame_cache *c)
{
	struct hashmap_iter it;
	struct hashmap_entry *e;

	hashmap_iter__init(&it, &c->map);
	while ((e = hashmap_iter__next(&it)))
		free(hashmap_entry__of(e, struct frame_entry, node));
	hashmap__exit(&c->map);
	hashmap__init(&c->map, frame_match, NULL);
}

void frame_cache__free(struct frame_cache *c)
{
	if (!c)
		return;
	frame_cache__clear(c);
	free(c);
}

size_t frame_cache__len(const struct frame_cache *c)
{
	return hashmap__count(&c->map);
}

const struct frame_names *frame_cache__find(struct frame_cache *c, const void *obj,
					    const void *path, uint64_t off, bool leaf)
{
	struct frame_key k = {obj, path, off, leaf};
	struct hashmap_entry *he = hashmap__find(&c->map, frame_hash(&k), &k);

	if (!he)
		return NULL;
	c->hits++;
	return &hashmap_entry__of(he, struct frame_entry, node)->names;
}

/* The strings of names copied into text and pointed to from out (text NULL: only their
 * size). */
static size_t frame_text(const struct frame_names *names, char *text, struct frame_names *out)
{
	const char *src[3 * FRAME_CACHE_FRAMES + 2];
	const char **dst[3 * FRAME_CACHE_FRAMES + 2];
	size_t len = 0, i, n = 0, l;

	for (i = 0; i < names->n; i++) {
		src[n] = names->frames[i].name;
		dst[n++] = out ? &out->frames[i].name : NULL;
		src[n] = names->frames[i].function;
		dst[n++] = out ? &out->frames[i].function : NULL;
		src[n] = names->frames[i].file;
		dst[n++] = out ? &out->frames[i].file : NULL;
	}
	src[n] = names->module;
	dst[n++] = out ? &out->module : NULL;
	src[n] = names->build_id;
	dst[n++] = out ? &out->build_id : NULL;
	for (i = 0; i < n; i++) {
		if (!src[i])
			continue;
		l = strlen(src[i]) + 1;
		if (text) {
			memcpy(text + len, src[i], l);
			*dst[i] = text + len;
		}
		len += l;
	}
	return len;
}

int frame_cache__add(struct frame_cache *c, const void *obj, const void *path, uint64_t off,
		     bool leaf, const struct frame_names *names)
{
	struct frame_key k = {obj, path, off, leaf};
	struct frame_names in = *names;
	struct frame_entry *e;
	size_t frames;

	if (in.n > FRAME_CACHE_FRAMES)
		in.n = FRAME_CACHE_FRAMES;
	if (hashmap__count(&c->map) >= c->max)
		return -ENOSPC;
	frames = in.n * sizeof(*in.frames);
	e = malloc(sizeof(*e) + frames + frame_text(&in, NULL, NULL));
	if (!e)
		return -ENOMEM;
	e->obj = obj;
	e->path = path;
	e->off = off;
	e->leaf = leaf;
	e->names = in;
	e->names.frames = (struct stack_frame *)e->data;
	memcpy(e->names.frames, in.frames, frames);
	frame_text(&in, e->data + frames, &e->names);
	if (hashmap__add(&c->map, &e->node, frame_hash(&k))) {
		free(e);
		return -ENOMEM;
	}
	return 0;
}

uint64_t frame_cache__hits(const struct frame_cache *c)
{
	return c->hits;
}

/* ---- addresses named last ---- */

#define MEMO_BITS 12

struct memo_slot {
	uint64_t version, addr;
	const struct frame_names *names;
	uint32_t module;
	uint32_t epoch; /* the memo's when set; any other: empty */
	uint32_t tag;	/* leaf and table */
};

struct frame_memo {
	uint32_t epoch;
	struct memo_slot slot[1u << MEMO_BITS];
};

struct frame_memo *frame_memo__new(void)
{
	struct frame_memo *m = calloc(1, sizeof(*m));

	if (m)
		m->epoch = 1;
	return m;
}

void frame_memo__free(struct frame_memo *m)
{
	free(m);
}

void frame_memo__reset(struct frame_memo *m)
{
	if (++m->epoch)
		return;
	/* Wrapped: slots set 2^32 resets ago would look current. */
	memset(m->slot, 0, sizeof(m->slot));
	m->epoch = 1;
}

static uint32_t memo_tag(bool leaf, unsigned int table)
{
	return table << 1 | leaf;
}

static size_t memo_index(uint64_t version, uint64_t addr, uint32_t tag)
{
	return hash__u64(addr ^ (version << 24) ^ ((uint64_t)tag << 56)) >> (64 - MEMO_BITS);
}

const struct frame_names *frame_memo__find(const struct frame_memo *m, uint64_t version,
					   uint64_t addr, bool leaf, unsigned int table,
					   uint32_t *module)
{
	uint32_t tag = memo_tag(leaf, table);
	const struct memo_slot *s = &m->slot[memo_index(version, addr, tag)];

	if (s->epoch != m->epoch || s->addr != addr || s->version != version || s->tag != tag)
		return NULL;
	*module = s->module;
	return s->names;
}

void frame_memo__add(struct frame_memo *m, uint64_t version, uint64_t addr, bool leaf,
		     unsigned int table, const struct frame_names *names, uint32_t module)
{
	uint32_t tag = memo_tag(leaf, table);

	m->slot[memo_index(version, addr, tag)] = (struct memo_slot){
		.version = version,
		.addr = addr,
		.names = names,
		.module = module,
		.epoch = m->epoch,
		.tag = tag,
	};
}
