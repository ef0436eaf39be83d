// SPDX-License-Identifier: GPL-2.0
/*
 * The stack model: frames interned once, stacks of frame ids with {samples, weight}, and
 * the folded stacks they spell (what folded output, SVG and report read).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"

/* Stacks of frames per folded stack kept at most, on average: beyond it, a new stack of
 * a known spelling is counted in that spelling's first stack (counts stay exact). */
#define REFS_PER_NAME 8

/* Open addressing over entries that keep their hash: slot = entry index + 1, 0 empty. */
struct index {
	size_t *slots;
	size_t cap;
};

struct name {
	char *stack;
	uint64_t hash;
	struct stack_count c;
	struct stack_ref *first;
};

struct frame {
	struct stack_frame f; /* strings owned */
	uint64_t hash;
};

struct stack_ref {
	const char *folded; /* its name's */
	size_t name;
	uint64_t hash;
	struct stack_count c;
	bool single;
	uint32_t nr;
	uint32_t frames[];
};

struct stack_table {
	struct name *names;
	size_t nr, cap;
	struct index name_idx;
	struct frame *frames;
	size_t nframes, frames_cap;
	struct index frame_idx;
	struct stack_ref **refs;
	size_t nrefs, refs_cap;
	struct index ref_idx;
	struct stack_module *mods;
	uint64_t *mod_hash;
	size_t nmods, mods_cap, mod_hash_cap;
	struct index mod_idx;
	struct stack_entry *view; /* sorted copies of the names' counts */
	size_t view_cap;
	int order; /* of the view: 0 stale, 1 by stack, 2 by count */
	struct stack_count total;
	bool weighted;
};

/* FNV-style, eight bytes a step: stacks run to kilobytes and are hashed per sample. */
static uint64_t hash_mem(const void *p, size_t n, uint64_t h)
{
	const char *s = p;
	uint64_t w;

	h ^= n;
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 1099511628211ull;
		h ^= h >> 29;
	}
	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h ^ (h >> 32);
}

static uint64_t hash_str(const char *s, uint64_t h)
{
	return s ? hash_mem(s, strlen(s), h) : h * 31 + 7;
}

#define HASH_SEED 1469598103934665603ull

/* ---- the index ---- */

typedef uint64_t (*entry_hash)(const struct stack_table *st, size_t i);
typedef bool (*entry_eq)(const struct stack_table *st, size_t i, const void *key);

/* The slot of key (hash h): its entry's, or the empty one where it would go. */
static size_t *index_slot(const struct stack_table *st, const struct index *x, uint64_t h,
			  entry_eq eq, const void *key)
{
	size_t i = h & (x->cap - 1);

	while (x->slots[i] && !eq(st, x->slots[i] - 1, key))
		i = (i + 1) & (x->cap - 1);
	return &x->slots[i];
}

/* Room for n + 1 entries at most half full. */
static int index_reserve(const struct stack_table *st, struct index *x, size_t n, entry_hash hash)
{
	size_t cap = x->cap ? x->cap : 64, i, *slots;

	while ((n + 1) * 2 > cap)
		cap *= 2;
	if (cap == x->cap)
		return 0;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		size_t h = hash(st, i) & (cap - 1);

		while (slots[h])
			h = (h + 1) & (cap - 1);
		slots[h] = i + 1;
	}
	free(x->slots);
	x->slots = slots;
	x->cap = cap;
	return 0;
}

/* Grow an array of size elements to hold one more. */
static int grow(void **arr, size_t *cap, size_t nr, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *tmp;

	if (nr < *cap)
		return 0;
	tmp = realloc(*arr, c * size);
	if (!tmp)
		return -ENOMEM;
	*arr = tmp;
	*cap = c;
	return 0;
}

struct stack_table *stack_table__new(void)
{
	return calloc(1, sizeof(struct stack_table));
}

static void frame_strings_free(struct stack_frame *f)
{
	free((char *)f->name);
	free((char *)f->function);
	free((char *)f->file);
}

void stack_table__free(struct stack_table *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nr; i++)
		free(st->names[i].stack);
	for (i = 0; i < st->nframes; i++)
		frame_strings_free(&st->frames[i].f);
	for (i = 0; i < st->nrefs; i++)
		free(st->refs[i]);
	for (i = 0; i < st->nmods; i++) {
		free((char *)st->mods[i].path);
		free((char *)st->mods[i].build_id);
	}
	free(st->names);
	free(st->name_idx.slots);
	free(st->frames);
	free(st->frame_idx.slots);
	free(st->refs);
	free(st->ref_idx.slots);
	free(st->mods);
	free(st->mod_hash);
	free(st->mod_idx.slots);
	free(st->view);
	free(st);
}

void stack_table__set_weighted(struct stack_table *st, bool weighted)
{
	st->weighted = weighted;
	st->order = 0;
}

static uint64_t count_of(const struct stack_table *st, const struct stack_count *c)
{
	return st->weighted ? c->weight : c->samples;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static void count_add(struct stack_count *to, const struct stack_count *c)
{
	to->samples = sat_add(to->samples, c->samples);
	to->weight = sat_add(to->weight, c->weight);
}

/* ---- folded stacks (names) ---- */

static uint64_t name_hash(const struct stack_table *st, size_t i)
{
	return st->names[i].hash;
}

static bool name_eq(const struct stack_table *st, size_t i, const void *key)
{
	return !strcmp(st->names[i].stack, key);
}

static size_t *name_slot(const struct stack_table *st, const char *stack, uint64_t h)
{
	return st->name_idx.cap ? index_slot(st, &st->name_idx, h, name_eq, stack) : NULL;
}

/* The name of stack (taken over when added), or -ENOSPC beyond max new ones. */
static int64_t name_get(struct stack_table *st, char *stack, size_t max)
{
	uint64_t h = hash_str(stack, HASH_SEED);
	size_t *slot;
	int err = index_reserve(st, &st->name_idx, st->nr, name_hash);

	if (err)
		return err;
	slot = name_slot(st, stack, h);
	if (*slot) {
		free(stack);
		return *slot - 1;
	}
	if (st->nr >= max)
		return -ENOSPC;
	if (grow((void **)&st->names, &st->cap, st->nr, sizeof(*st->names)))
		return -ENOMEM;
	st->names[st->nr] = (struct name){.stack = stack, .hash = h};
	*slot = ++st->nr;
	st->order = 0;
	return st->nr - 1;
}

/* ---- frames ---- */

static uint64_t frame_hash_of(const struct stack_frame *f)
{
	uint64_t h = hash_str(f->name, HASH_SEED);

	h = hash_str(f->function, h);
	h = hash_str(f->file, h);
	h = hash_mem(&f->address, sizeof(f->address), h);
	return hash_mem((uint32_t[]){f->line, f->module, f->kind, f->inlined}, 16, h);
}

static uint64_t frame_hash(const struct stack_table *st, size_t i)
{
	return st->frames[i].hash;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool frame_eq(const struct stack_table *st, size_t i, const void *key)
{
	const struct stack_frame *a = &st->frames[i].f, *b = key;

	return a->address == b->address && a->line == b->line && a->module == b->module &&
	       a->kind == b->kind && a->inlined == b->inlined && str_eq(a->name, b->name) &&
	       str_eq(a->function, b->function) && str_eq(a->file, b->file);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

/* The id of a frame, interned when new. */
static int64_t frame_get(struct stack_table *st, const struct stack_frame *f)
{
	uint64_t h = frame_hash_of(f);
	struct stack_frame *n;
	size_t *slot;
	bool oom = false;

	if (index_reserve(st, &st->frame_idx, st->nframes, frame_hash) ||
	    grow((void **)&st->frames, &st->frames_cap, st->nframes, sizeof(*st->frames)))
		return -ENOMEM;
	slot = index_slot(st, &st->frame_idx, h, frame_eq, f);
	if (*slot)
		return *slot - 1;
	n = &st->frames[st->nframes].f;
	*n = *f;
	n->name = dup_or_null(f->name ? f->name : "", &oom);
	n->function = dup_or_null(f->function, &oom);
	n->file = dup_or_null(f->file, &oom);
	if (oom) {
		frame_strings_free(n);
		return -ENOMEM;
	}
	st->frames[st->nframes].hash = h;
	*slot = ++st->nframes;
	return st->nframes - 1;
}

size_t stack_table__nr_frames(const struct stack_table *st)
{
	return st->nframes;
}

const struct stack_frame *stack_table__frame(const struct stack_table *st, uint32_t id)
{
	return id < st->nframes ? &st->frames[id].f : NULL;
}

/* ---- stacks of frames ---- */

struct ref_key {
	const uint32_t *frames;
	size_t nr;
};

static uint64_t ref_hash(const struct stack_table *st, size_t i)
{
	return st->refs[i]->hash;
}

static bool ref_eq(const struct stack_table *st, size_t i, const void *key)
{
	const struct ref_key *k = key;
	const struct stack_ref *r = st->refs[i];

	return r->nr == k->nr && !memcmp(r->frames, k->frames, k->nr * sizeof(*k->frames));
}

/* The stack of these frame ids (in name), added when new. */
static struct stack_ref *ref_get(struct stack_table *st, const uint32_t *ids, size_t nr,
				 size_t name)
{
	struct ref_key k = {ids, nr};
	uint64_t h = hash_mem(ids, nr * sizeof(*ids), HASH_SEED);
	struct stack_ref *r;
	size_t *slot;

	if (index_reserve(st, &st->ref_idx, st->nrefs, ref_hash) ||
	    grow((void **)&st->refs, &st->refs_cap, st->nrefs, sizeof(*st->refs)))
		return NULL;
	slot = index_slot(st, &st->ref_idx, h, ref_eq, &k);
	if (*slot)
		return st->refs[*slot - 1];
	/* Bounded: a known spelling's new stack joins that spelling's first one. */
	if (st->names[name].first && st->nrefs >= REFS_PER_NAME * st->nr)
		return st->names[name].first;
	r = malloc(sizeof(*r) + nr * sizeof(*ids));
	if (!r)
		return NULL;
	*r = (struct stack_ref){.folded = st->names[name].stack, .name = name, .hash = h, .nr = nr};
	memcpy(r->frames, ids, nr * sizeof(*ids));
	st->refs[st->nrefs] = r;
	*slot = ++st->nrefs;
	if (!st->names[name].first)
		st->names[name].first = r;
	return r;
}

int stack_table__add_ref(struct stack_table *st, const struct stack_ref *ref,
			 const struct stack_count *c)
{
	struct stack_ref *r = (struct stack_ref *)ref;

	count_add(&r->c, c);
	count_add(&st->names[r->name].c, c);
	count_add(&st->total, c);
	st->order = 0;
	return 0;
}

const char *stack_ref__folded(const struct stack_ref *ref)
{
	return ref->folded;
}

/* frames' names joined with ';', sanitized; malloc'd. */
static char *join_frames(const struct stack_frame *frames, size_t nr)
{
	size_t i, len = 0, pos = 0;
	char *s;

	for (i = 0; i < nr; i++)
		len += strlen(frames[i].name) + 1;
	s = malloc(len ? len : 1);
	if (!s)
		return NULL;
	for (i = 0; i < nr; i++) {
		const char *f = frames[i].name;

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

/* Add c to the stack of frames spelt stack (taken over). */
static int add_spelt(struct stack_table *st, char *stack, const struct stack_frame *frames,
		     size_t nr, const struct stack_count *c, size_t max, bool single,
		     const struct stack_ref **out)
{
	uint32_t stack_ids[256], *ids = nr <= 256 ? stack_ids : malloc(nr * sizeof(*ids));
	int64_t name = ids ? name_get(st, stack, max) : -ENOMEM;
	struct stack_ref *r = NULL;
	size_t i;

	if (name < 0)
		free(stack);
	for (i = 0; name >= 0 && i < nr; i++) {
		int64_t id = frame_get(st, &frames[i]);

		if (id < 0)
			name = id;
		else
			ids[i] = id;
	}
	if (name >= 0) {
		r = ref_get(st, ids, nr, name);
		if (!r)
			name = -ENOMEM;
	}
	if (ids != stack_ids)
		free(ids);
	if (name < 0)
		return name;
	r->single |= single;
	if (out)
		*out = r;
	return stack_table__add_ref(st, r, c);
}

int stack_table__add_frames(struct stack_table *st, const struct stack_frame *frames, size_t nr,
			    const struct stack_count *c, size_t max, const struct stack_ref **ref)
{
	char *s = join_frames(frames, nr);

	if (!s)
		return -ENOMEM;
	return add_spelt(st, s, frames, nr, c, max, false, ref);
}

/* Names as frames of no kind; spelt: their folded spelling (taken over), or NULL. */
static int names_add(struct stack_table *st, char *spelt, const char *const *names, size_t nr,
		     const struct stack_count *c, size_t max, bool single)
{
	struct stack_frame one[64] = {{0}}, *frames = one;
	size_t i;
	int err = -ENOMEM;

	if (nr > 64 && !(frames = calloc(nr, sizeof(*frames)))) {
		free(spelt);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++)
		frames[i] = (struct stack_frame){.name = names[i]};
	if (!spelt)
		spelt = join_frames(frames, nr);
	if (spelt)
		err = add_spelt(st, spelt, frames, nr, c, max, single, NULL);
	if (frames != one)
		free(frames);
	return err;
}

int stack_table__add(struct stack_table *st, const char *const *frames, size_t nr, uint64_t count)
{
	return stack_table__add_bounded(st, frames, nr, count, SIZE_MAX);
}

int stack_table__add_bounded(struct stack_table *st, const char *const *names, size_t nr,
			     uint64_t count, size_t max)
{
	struct stack_count c = {count, count};

	return names_add(st, NULL, names, nr, &c, max, true);
}

/* A joined stack: split at ';' (names as they are: already spelt). */
static int joined_add(struct stack_table *st, const char *stack, const struct stack_count *c,
		      bool single)
{
	char *copy = strdup(stack), *spelt = strdup(stack), *p;
	const char *one[64], **names = one;
	size_t nr = 1, i = 0;
	int err;

	if (!copy || !spelt) {
		free(copy);
		free(spelt);
		return -ENOMEM;
	}
	for (p = copy; *p; p++)
		nr += *p == ';';
	if (nr > 64 && !(names = malloc(nr * sizeof(*names)))) {
		free(copy);
		free(spelt);
		return -ENOMEM;
	}
	names[i++] = copy;
	for (p = copy; *p; p++)
		if (*p == ';') {
			*p = 0;
			names[i++] = p + 1;
		}
	err = names_add(st, spelt, names, nr, c, SIZE_MAX, single);
	if (names != one)
		free(names);
	free(copy);
	return err;
}

int stack_table__add_joined(struct stack_table *st, const char *stack, uint64_t count)
{
	struct stack_count c = {count, count};

	return joined_add(st, stack, &c, true);
}

int stack_table__add_joined_counts(struct stack_table *st, const char *stack,
				   const struct stack_count *c)
{
	return joined_add(st, stack, c, false);
}

/* ---- modules ---- */

static uint64_t mod_hash(const struct stack_table *st, size_t i)
{
	return st->mod_hash[i];
}

static bool mod_eq(const struct stack_table *st, size_t i, const void *key)
{
	const struct stack_module *k = &st->mods[i], *m = key;

	return !strcmp(k->path, m->path) && !strcmp(k->build_id, m->build_id);
}

/* A known module's range grows to hold this mapping's file offsets where the first
 * mapping puts them. */
static void module_cover(struct stack_module *k, const struct stack_module *m)
{
	if (m->offset < k->offset) {
		k->start -= k->offset - m->offset;
		k->offset = m->offset;
	}
	if (k->start + (m->offset - k->offset) + (m->limit - m->start) > k->limit)
		k->limit = k->start + (m->offset - k->offset) + (m->limit - m->start);
}

int64_t stack_table__add_module(struct stack_table *st, const struct stack_module *m)
{
	struct stack_module key = *m, *k;
	uint64_t h;
	size_t *slot;

	key.build_id = m->build_id ? m->build_id : "";
	h = hash_str(key.build_id, hash_str(key.path, HASH_SEED));
	if (index_reserve(st, &st->mod_idx, st->nmods, mod_hash) ||
	    grow((void **)&st->mods, &st->mods_cap, st->nmods, sizeof(*st->mods)) ||
	    grow((void **)&st->mod_hash, &st->mod_hash_cap, st->nmods, sizeof(*st->mod_hash)))
		return -ENOMEM;
	slot = index_slot(st, &st->mod_idx, h, mod_eq, &key);
	if (*slot) {
		module_cover(&st->mods[*slot - 1], m);
		return *slot;
	}
	k = &st->mods[st->nmods];
	*k = key;
	k->path = strdup(key.path);
	k->build_id = strdup(key.build_id);
	if (!k->path || !k->build_id) {
		free((char *)k->path);
		free((char *)k->build_id);
		return -ENOMEM;
	}
	st->mod_hash[st->nmods] = h;
	*slot = ++st->nmods;
	return st->nmods;
}

const struct stack_module *stack_table__module(const struct stack_table *st, uint32_t id)
{
	return id && id <= st->nmods ? &st->mods[id - 1] : NULL;
}

size_t stack_table__nr_modules(const struct stack_table *st)
{
	return st->nmods;
}

/* ---- reading ---- */

size_t stack_table__len(const struct stack_table *st)
{
	return st->nr;
}

uint64_t stack_table__total(const struct stack_table *st)
{
	return count_of(st, &st->total);
}

uint64_t stack_table__get(const struct stack_table *st, const char *stack)
{
	size_t *slot = name_slot(st, stack, hash_str(stack, HASH_SEED));

	return slot && *slot ? count_of(st, &st->names[*slot - 1].c) : 0;
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

static const struct stack_entry *view(struct stack_table *st, int order,
				      int (*cmp)(const void *, const void *))
{
	size_t i;

	if (st->order == order)
		return st->view;
	if (st->nr > st->view_cap) {
		struct stack_entry *v = realloc(st->view, st->nr * sizeof(*v));

		if (!v) {
			errno = ENOMEM;
			return NULL;
		}
		st->view = v;
		st->view_cap = st->nr;
	}
	for (i = 0; i < st->nr; i++)
		st->view[i] = (struct stack_entry){.stack = st->names[i].stack,
						   .count = count_of(st, &st->names[i].c),
						   .samples = st->names[i].c.samples,
						   .weight = st->names[i].c.weight};
	if (st->nr)
		qsort(st->view, st->nr, sizeof(*st->view), cmp);
	st->order = order;
	return st->view;
}

const struct stack_entry *stack_table__sorted(struct stack_table *st)
{
	return view(st, 1, by_stack);
}

const struct stack_entry *stack_table__by_count(struct stack_table *st)
{
	return view(st, 2, by_count);
}

int stack_table__each(const struct stack_table *st,
		      int (*fn)(const struct stack_visit *v, void *arg), void *arg)
{
	size_t i;
	int err = 0;

	for (i = 0; i < st->nrefs && !err; i++) {
		const struct stack_ref *r = st->refs[i];
		struct stack_visit v = {r->frames, r->nr, r->c, r->single};

		err = fn(&v, arg);
	}
	return err;
}
