// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"

/* A profile names tens of thousands of frames: chains stay short. */
#define MOD_BUCKETS 4096

struct stack_table {
	struct stack_entry *entries;
	size_t nr, cap;
	size_t *index; /* open addressing: entry index + 1, 0 = empty */
	size_t index_cap;
	uint64_t total;
	int order;			     /* 0 unsorted, 1 by stack, 2 by count */
	struct frame_mod *mods[MOD_BUCKETS]; /* frame name → the file it comes from */
};

struct frame_mod {
	struct frame_mod *next;
	char *path, *build_id;
	char name[];
};

/* FNV-style, eight bytes a step: stacks run to kilobytes and are hashed per sample. */
static uint64_t hash_bytes(const char *s)
{
	size_t n = strlen(s);
	uint64_t h = 1469598103934665603ull ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 1099511628211ull;
		h ^= h >> 29;
	}
	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h ^ (h >> 32);
}

struct stack_table *stack_table__new(void)
{
	return calloc(1, sizeof(struct stack_table));
}

void stack_table__free(struct stack_table *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nr; i++)
		free((char *)st->entries[i].stack);
	free(st->entries);
	free(st->index);
	for (i = 0; i < MOD_BUCKETS; i++) {
		while (st->mods[i]) {
			struct frame_mod *n = st->mods[i]->next;

			free(st->mods[i]->path);
			free(st->mods[i]->build_id);
			free(st->mods[i]);
			st->mods[i] = n;
		}
	}
	free(st);
}

static int rehash(struct stack_table *st, size_t cap)
{
	size_t *idx = calloc(cap, sizeof(*idx)), i;

	if (!idx)
		return -ENOMEM;
	for (i = 0; i < st->nr; i++) {
		size_t h = hash_bytes(st->entries[i].stack) & (cap - 1);

		while (idx[h])
			h = (h + 1) & (cap - 1);
		idx[h] = i + 1;
	}
	free(st->index);
	st->index = idx;
	st->index_cap = cap;
	return 0;
}

static size_t *lookup(const struct stack_table *st, const char *stack)
{
	size_t h;

	if (!st->index_cap)
		return NULL;
	h = hash_bytes(stack) & (st->index_cap - 1);
	while (st->index[h]) {
		if (!strcmp(st->entries[st->index[h] - 1].stack, stack))
			return &st->index[h];
		h = (h + 1) & (st->index_cap - 1);
	}
	return &st->index[h];
}

/* Takes ownership of stack on success; *stored: the table's copy. */
static int add_owned(struct stack_table *st, char *stack, uint64_t count, const char **stored)
{
	size_t *slot;
	int err;

	/* The index is rebuilt after sorting moved entries. */
	if (st->order) {
		err = rehash(st, st->index_cap ? st->index_cap : 64);
		if (err)
			return err;
		st->order = 0;
	}
	if ((st->nr + 1) * 2 > st->index_cap) {
		err = rehash(st, st->index_cap ? st->index_cap * 2 : 64);
		if (err)
			return err;
	}
	slot = lookup(st, stack);
	if (*slot) {
		struct stack_entry *e = &st->entries[*slot - 1];

		e->count = e->count + count < e->count ? UINT64_MAX : e->count + count;
		st->total += count;
		free(stack);
		if (stored)
			*stored = e->stack;
		return 0;
	}
	if (st->nr == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct stack_entry *tmp = realloc(st->entries, cap * sizeof(*tmp));

		if (!tmp)
			return -ENOMEM;
		st->entries = tmp;
		st->cap = cap;
	}
	st->entries[st->nr].stack = stack;
	st->entries[st->nr].count = count;
	st->nr++;
	*slot = st->nr;
	st->total += count;
	if (stored)
		*stored = stack;
	return 0;
}

int stack_table__add_joined(struct stack_table *st, const char *stack, uint64_t count)
{
	char *copy = strdup(stack);
	int err;

	if (!copy)
		return -ENOMEM;
	err = add_owned(st, copy, count, NULL);
	if (err)
		free(copy);
	return err;
}

/* frames joined with ';', sanitized; malloc'd. */
static char *join_frames(const char *const *frames, size_t nr)
{
	size_t i, len = 0, pos = 0;
	char *s;

	for (i = 0; i < nr; i++)
		len += strlen(frames[i]) + 1;
	s = malloc(len ? len : 1);
	if (!s)
		return NULL;
	for (i = 0; i < nr; i++) {
		const char *f = frames[i];

		if (i)
			s[pos++] = ';';
		for (; *f; f++) {
			unsigned char c = *f;

			s[pos++] = c == ';' ? ':' : (c < 0x20 || c == 0x7f) ? '?' : c;
		}
	}
	s[pos] = 0;
	return s;
}

int stack_table__add(struct stack_table *st, const char *const *frames, size_t nr, uint64_t count)
{
	return stack_table__add_bounded(st, frames, nr, count, SIZE_MAX);
}

int stack_table__add_bounded(struct stack_table *st, const char *const *frames, size_t nr,
			     uint64_t count, size_t max)
{
	return stack_table__add_interned(st, frames, nr, count, max, NULL);
}

int stack_table__add_interned(struct stack_table *st, const char *const *frames, size_t nr,
			      uint64_t count, size_t max, const char **stored)
{
	char *s = join_frames(frames, nr);
	size_t *slot;
	int err;

	if (!s)
		return -ENOMEM;
	if (st->nr >= max) {
		slot = st->order ? NULL : lookup(st, s);
		if (st->order)
			err = stack_table__get(st, s) ? 0 : -ENOSPC;
		else
			err = slot && *slot ? 0 : -ENOSPC;
		if (err) {
			free(s);
			return err;
		}
	}
	err = add_owned(st, s, count, stored);
	if (err)
		free(s);
	return err;
}

int stack_table__add_existing(struct stack_table *st, const char *stack, uint64_t count)
{
	size_t *slot = st->order ? NULL : lookup(st, stack);
	struct stack_entry *e;

	if (!slot || !*slot)
		return -ENOENT;
	e = &st->entries[*slot - 1];
	e->count = e->count + count < e->count ? UINT64_MAX : e->count + count;
	st->total += count;
	return 0;
}

size_t stack_table__len(const struct stack_table *st)
{
	return st->nr;
}

uint64_t stack_table__total(const struct stack_table *st)
{
	return st->total;
}

uint64_t stack_table__get(const struct stack_table *st, const char *stack)
{
	size_t i;

	if (!st->order) {
		size_t *slot = lookup(st, stack);

		return slot && *slot ? st->entries[*slot - 1].count : 0;
	}
	for (i = 0; i < st->nr; i++)
		if (!strcmp(st->entries[i].stack, stack))
			return st->entries[i].count;
	return 0;
}

static int by_stack(const void *a, const void *b)
{
	const struct stack_entry *x = a, *y = b;

	return strcmp(x->stack, y->stack);
}

static int by_count(const void *a, const void *b)
{
	const struct stack_entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->stack, y->stack);
}

const struct stack_entry *stack_table__sorted(struct stack_table *st)
{
	if (st->order != 1 && st->nr) {
		qsort(st->entries, st->nr, sizeof(*st->entries), by_stack);
		st->order = 1;
	}
	return st->entries;
}

const struct stack_entry *stack_table__by_count(struct stack_table *st)
{
	if (st->order != 2 && st->nr) {
		qsort(st->entries, st->nr, sizeof(*st->entries), by_count);
		st->order = 2;
	}
	return st->entries;
}

int stack_table__set_module(struct stack_table *st, const char *frame, const char *path,
			    const char *build_id)
{
	unsigned b = hash_bytes(frame) & (MOD_BUCKETS - 1);
	struct frame_mod *m;
	size_t len = strlen(frame);

	for (m = st->mods[b]; m; m = m->next)
		if (!strcmp(m->name, frame))
			return 0;
	m = calloc(1, sizeof(*m) + len + 1);
	if (!m)
		return -ENOMEM;
	memcpy(m->name, frame, len + 1);
	m->path = strdup(path);
	m->build_id = strdup(build_id ? build_id : "");
	if (!m->path || !m->build_id) {
		free(m->path);
		free(m->build_id);
		free(m);
		return -ENOMEM;
	}
	m->next = st->mods[b];
	st->mods[b] = m;
	return 0;
}

int stack_table__module(const struct stack_table *st, const char *frame, size_t len,
			const char **path, const char **build_id)
{
	char tmp[512];
	struct frame_mod *m;

	if (len >= sizeof(tmp))
		return -ENOENT;
	memcpy(tmp, frame, len);
	tmp[len] = 0;
	for (m = st->mods[hash_bytes(tmp) & (MOD_BUCKETS - 1)]; m; m = m->next) {
		if (!strcmp(m->name, tmp)) {
			*path = m->path;
			*build_id = m->build_id;
			return 0;
		}
	}
	return -ENOENT;
}

const char *stack_table__build_id_of(const struct stack_table *st, const char *path)
{
	struct frame_mod *m;
	int i;

	for (i = 0; i < MOD_BUCKETS; i++)
		for (m = st->mods[i]; m; m = m->next)
			if (!strcmp(m->path, path))
				return m->build_id;
	return NULL;
}
