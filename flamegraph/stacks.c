// SPDX-License-Identifier: GPL-2.0
/*
 * The stack model: frames interned once, stacks of frame ids with {samples, weight}, and
 * the folded stacks they spell (what folded output, SVG and report read). A folded stack
 * is kept as the sequence of its frames' spelt names (ids in a string set), not as a
 * string: the string is spelt when an output asks for it. Distinct stacks are most of a
 * long record's memory, and their joined names were more than half of it; then their
 * arrays of frame ids were. Stacks share their outer frames (main, the loop it runs, ...):
 * a stack is one node of a trie of frame ids, each node a frame and its caller's node, so
 * a shared beginning is kept once (soak: 16,384 stacks of 14 levels of recursion).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"
#include "hashmap.h"
#include "strset.h"
#include "array.h"

/* Stacks of frames per folded stack kept at most, on average: beyond it, a new stack of
 * a known spelling is counted in that spelling's first stack (counts stay exact). */
#define REFS_PER_NAME 8
/* Frames and folded stacks are kept in blocks of this many: their addresses stay put. */
#define BLOCK_BITS 10
#define BLOCK	   (1u << BLOCK_BITS)
/* Stacks of frames are laid back to back in chunks of this size. */
#define ARENA_CHUNK (256u << 10)

struct frame {
	struct hashmap_entry node;
	struct stack_frame f; /* strings in the table's string set */
	uint32_t spelt;	      /* its name as folded stacks spell it: a string set id */
	uint32_t id;
};

/* A folded stack: the stacks of frames that spell it alike, and their counts. */
struct name {
	struct hashmap_entry node;
	struct stack_count c;
	struct stack_ref *first; /* its frames spell the name */
};

struct stack_ref {
	struct hashmap_entry node;
	struct name *name;
	struct stack_count c;
	bool single;
	uint32_t nr;   /* frames */
	uint32_t leaf; /* its innermost frame's node in the trie */
};

/* A node of the trie: a frame, and the node of the frames outside it (0: the root). */
struct tnode {
	uint32_t parent, frame;
};

/* Nodes by (parent, frame): open addressing, node ids (0: empty slot). */
struct trie {
	struct tnode *v; /* v[0] is the root */
	size_t nr, cap;
	uint32_t *slots;
	size_t mask;
};

struct module {
	struct hashmap_entry node;
	struct stack_module m; /* strings in the table's string set */
	uint32_t id;
};

/* Fixed-size records in blocks (ids index them; addresses never move). */
struct pool {
	void **blocks;
	size_t nr, nblocks;
};

struct arena {
	char *chunk; /* the current one; each begins with a pointer to the one before */
	size_t used, size;
};

/* A stack being added: its frames' ids (UINT32_MAX: new), hashes and spelt ids. */
struct lookup {
	uint32_t *fids, *sids;
	uint64_t *fhash;
	size_t cap;
};

struct stack_table {
	struct strset *strs;	/* names, functions, files, paths and the names as spelt */
	struct pool names;	/* struct name */
	struct hashmap by_name; /* keyed by the spelt ids of a stack's frames */
	struct pool frames;	/* struct frame */
	struct hashmap by_frame;
	struct stack_ref **refs; /* in the order added */
	size_t nrefs, refs_cap;
	struct hashmap by_ref; /* keyed by their leaf node */
	struct arena arena;    /* the stacks of frames */
	struct trie trie;
	uint32_t *ids; /* a stack's frame ids, stack_table__ref_frames() */
	size_t ids_cap;
	struct module **mods;
	size_t nmods, mods_cap;
	struct hashmap by_mod;
	char *scratch; /* a name being spelt */
	size_t scratch_cap;
	struct lookup lk;	  /* the stack being added */
	struct stack_entry *view; /* sorted copies of the names' counts */
	char *view_text;	  /* ... and their spellings */
	int order;		  /* of the view: 0 stale, 1 by stack, 2 by count */
	struct stack_count total;
	bool weighted;
};

/* ---- storage ---- */

static void *pool__at(const struct pool *p, size_t size, size_t i)
{
	return (char *)p->blocks[i >> BLOCK_BITS] + (i & (BLOCK - 1)) * size;
}

/* A zeroed record at the end of the pool, or NULL. */
static void *pool__push(struct pool *p, size_t size)
{
	if ((p->nr >> BLOCK_BITS) >= p->nblocks) {
		void **b = realloc(p->blocks, (p->nblocks + 1) * sizeof(*b));

		if (!b)
			return NULL;
		p->blocks = b;
		b[p->nblocks] = calloc(BLOCK, size);
		if (!b[p->nblocks])
			return NULL;
		p->nblocks++;
	}
	return pool__at(p, size, p->nr++);
}

static void pool__exit(struct pool *p)
{
	size_t i;

	for (i = 0; i < p->nblocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
}

static void *arena__alloc(struct arena *a, size_t len)
{
	len = (len + 7) & ~(size_t)7;
	if (!a->chunk || a->size - a->used < len) {
		size_t size =
			len + sizeof(char *) > ARENA_CHUNK ? len + sizeof(char *) : ARENA_CHUNK;
		char *c = malloc(size);

		if (!c)
			return NULL;
		memcpy(c, &a->chunk, sizeof(char *));
		a->chunk = c;
		a->used = sizeof(char *);
		a->size = size;
	}
	a->used += len;
	return a->chunk + a->used - len;
}

static void arena__exit(struct arena *a)
{
	char *c = a->chunk, *prev;

	while (c) {
		memcpy(&prev, c, sizeof(char *));
		free(c);
		c = prev;
	}
}

/* ---- the trie ---- */

static uint64_t tnode_hash(uint32_t parent, uint32_t frame)
{
	return hash__u64((uint64_t)parent << 32 | frame);
}

/* The node of frame under parent, 0 when there is none. */
static uint32_t trie__child(const struct trie *t, uint32_t parent, uint32_t frame)
{
	size_t i;

	if (!t->slots)
		return 0;
	for (i = tnode_hash(parent, frame) & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
		const struct tnode *n = &t->v[t->slots[i]];

		if (n->parent == parent && n->frame == frame)
			return t->slots[i];
	}
	return 0;
}

static void trie__slot(struct trie *t, uint32_t id)
{
	size_t i = tnode_hash(t->v[id].parent, t->v[id].frame) & t->mask;

	while (t->slots[i])
		i = (i + 1) & t->mask;
	t->slots[i] = id;
}

/* Room for one more node, its slots under 3/4 full. */
static int trie__reserve(struct trie *t)
{
	if (t->nr >= UINT32_MAX)
		return -ENOMEM;
	if (!t->v && !(t->v = calloc(t->cap = 1024, sizeof(*t->v))))
		return -ENOMEM;
	t->nr += !t->nr; /* the root */
	if (t->nr == t->cap) {
		/* Grown by half: large blocks are mapped, realloc moves no bytes. */
		struct tnode *v = realloc(t->v, (t->cap + t->cap / 2) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap += t->cap / 2;
	}
	if (!t->slots || (t->nr + 1) * 4 > (t->mask + 1) * 3) {
		size_t n = t->slots ? (t->mask + 1) * 2 : 2048, i;
		uint32_t *old = t->slots;

		t->slots = calloc(n, sizeof(*t->slots));
		if (!t->slots) {
			t->slots = old;
			return -ENOMEM;
		}
		t->mask = n - 1;
		free(old);
		for (i = 1; i < t->nr; i++)
			trie__slot(t, i);
	}
	return 0;
}

/* The node of these frames (outermost first), 0 when any is missing. */
static uint32_t trie__find(const struct trie *t, const uint32_t *frames, size_t nr)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < nr && (!i || n); i++)
		n = trie__child(t, n, frames[i]);
	return n;
}

/* The node of these frames, added when missing; 0 when out of memory. */
static uint32_t trie__add(struct trie *t, const uint32_t *frames, size_t nr)
{
	uint32_t n = 0, c;
	size_t i;

	for (i = 0; i < nr; i++, n = c) {
		c = trie__child(t, n, frames[i]);
		if (c)
			continue;
		if (trie__reserve(t))
			return 0;
		c = t->nr++;
		t->v[c] = (struct tnode){n, frames[i]};
		trie__slot(t, c);
	}
	return n;
}

static void trie__exit(struct trie *t)
{
	free(t->v);
	free(t->slots);
}

/* A stack's frames into ids (outermost first, r->nr of them). */
static void ref_ids(const struct stack_table *st, const struct stack_ref *r, uint32_t *ids)
{
	uint32_t n = r->leaf;
	size_t i;

	for (i = r->nr; i-- > 0; n = st->trie.v[n].parent)
		ids[i] = st->trie.v[n].frame;
}

static struct frame *frame_at(const struct stack_table *st, uint32_t id)
{
	return pool__at(&st->frames, sizeof(struct frame), id);
}

static struct name *name_at(const struct stack_table *st, size_t i)
{
	return pool__at(&st->names, sizeof(struct name), i);
}

/* ---- spellings ---- */

/* The spelt id of a node's frame; a stack of no frames spells as one empty name. */
static uint32_t spelt_of(const struct stack_table *st, uint32_t node)
{
	return frame_at(st, st->trie.v[node].frame)->spelt;
}

struct name_key {
	const uint32_t *ids; /* spelt ids */
	size_t nr;
};

static bool name_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	const struct stack_ref *r = hashmap_entry__of(e, struct name, node)->first;
	const struct stack_table *st = ctx;
	const struct name_key *k = key;
	uint32_t n = r->leaf;
	size_t i;

	if (r->nr != k->nr)
		return false;
	/* From the innermost frame out: stacks of a name mostly differ there. */
	for (i = k->nr; i-- > 0; n = st->trie.v[n].parent)
		if (spelt_of(st, n) != k->ids[i])
			return false;
	return true;
}

static uint64_t name_hash(const uint32_t *ids, size_t nr)
{
	return hash__bytes(ids, nr * sizeof(*ids), 0x5eed);
}

/* A name as folded stacks spell it (';' would split it, control characters are not
 * printed): name itself, or a copy in the table's scratch buffer; NULL when out of memory. */
static const char *spelling_of(struct stack_table *st, const char *name, size_t *len)
{
	size_t i;

	*len = strlen(name);
	for (i = 0; i < *len; i++) {
		unsigned char c = name[i];

		if (c == ';' || c < 0x20 || c == 0x7f)
			break;
	}
	if (i == *len)
		return name;
	if (array__reserve(&st->scratch, &st->scratch_cap, *len + 1, 1, 64))
		return NULL;
	for (i = 0; i < *len; i++) {
		unsigned char c = name[i];

		st->scratch[i] = c == ';' ? ':' : (c < 0x20 || c == 0x7f) ? '?' : c;
	}
	return st->scratch;
}

/* The string set id of a name as spelt (raw: as it is), added when new; -ENOMEM. */
static long spelt_add(struct stack_table *st, const char *name, bool raw)
{
	size_t len = strlen(name);
	const char *s = raw ? name : spelling_of(st, name, &len);

	return s ? strset__add(st->strs, s, len) : -ENOMEM;
}

/* The same, only when known: -ENOENT. */
static long spelt_find(struct stack_table *st, const char *name, bool raw)
{
	size_t len = strlen(name);
	const char *s = raw ? name : spelling_of(st, name, &len);

	return s ? strset__find(st->strs, s, len) : -ENOMEM;
}

/* ---- the table ---- */

static bool frame_match(const struct hashmap_entry *e, const void *key, void *ctx);
static bool ref_match(const struct hashmap_entry *e, const void *key, void *ctx);
static bool mod_match(const struct hashmap_entry *e, const void *key, void *ctx);

struct stack_table *stack_table__new(void)
{
	struct stack_table *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->strs = strset__new();
	if (!st->strs) {
		free(st);
		return NULL;
	}
	hashmap__init(&st->by_name, name_match, st);
	hashmap__init(&st->by_frame, frame_match, NULL);
	hashmap__init(&st->by_ref, ref_match, NULL);
	hashmap__init(&st->by_mod, mod_match, NULL);
	return st;
}

void stack_table__free(struct stack_table *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nmods; i++)
		free(st->mods[i]);
	hashmap__exit(&st->by_name);
	hashmap__exit(&st->by_frame);
	hashmap__exit(&st->by_ref);
	hashmap__exit(&st->by_mod);
	pool__exit(&st->names);
	pool__exit(&st->frames);
	arena__exit(&st->arena);
	trie__exit(&st->trie);
	free(st->ids);
	strset__free(st->strs);
	free(st->refs);
	free(st->mods);
	free(st->scratch);
	free(st->lk.fids);
	free(st->lk.sids);
	free(st->lk.fhash);
	free(st->view);
	free(st->view_text);
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

/* ---- frames ---- */

static uint64_t str_hash(const char *s, uint64_t h)
{
	return s ? hash__bytes(s, strlen(s), h) : hash__u64(h + 7);
}

static uint64_t frame_hash(const struct stack_frame *f)
{
	uint64_t h = str_hash(f->name, 0);

	h = str_hash(f->function, h);
	h = str_hash(f->file, h);
	return hash__bytes((uint64_t[]){f->address, f->line, f->module, f->kind, f->inlined}, 40,
			   h);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool frame_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	const struct stack_frame *a = &hashmap_entry__of(e, struct frame, node)->f, *b = key;

	(void)ctx;
	return a->address == b->address && a->line == b->line && a->module == b->module &&
	       a->kind == b->kind && a->inlined == b->inlined && str_eq(a->name, b->name) &&
	       str_eq(a->function, b->function) && str_eq(a->file, b->file);
}

static const char *intern(struct stack_table *st, const char *s, bool *oom)
{
	const char *d = s ? strset__intern(st->strs, s, strlen(s)) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

/* A new frame (hash h), its strings interned; raw: its name is spelt as is. */
static struct frame *frame_add(struct stack_table *st, const struct stack_frame *f, uint64_t h,
			       bool raw)
{
	struct stack_frame n = *f;
	struct frame *fr;
	bool oom = false;
	long spelt;

	n.name = intern(st, f->name, &oom);
	n.function = intern(st, f->function, &oom);
	n.file = intern(st, f->file, &oom);
	spelt = spelt_add(st, n.name ? n.name : "", raw);
	if (oom || spelt < 0 || st->frames.nr >= UINT32_MAX)
		return NULL;
	fr = pool__push(&st->frames, sizeof(*fr));
	if (!fr)
		return NULL;
	fr->f = n;
	fr->spelt = spelt;
	fr->id = st->frames.nr - 1;
	if (hashmap__add(&st->by_frame, &fr->node, h)) {
		st->frames.nr--;
		return NULL;
	}
	return fr;
}

size_t stack_table__nr_frames(const struct stack_table *st)
{
	return st->frames.nr;
}

const struct stack_frame *stack_table__frame(const struct stack_table *st, uint32_t id)
{
	return id < st->frames.nr ? &frame_at(st, id)->f : NULL;
}

/* ---- stacks of frames ---- */

/* A stack is its leaf node: one node, one sequence of frames. */
static bool ref_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	(void)ctx;
	return hashmap_entry__of(e, struct stack_ref, node)->leaf == *(const uint32_t *)key;
}

static int lookup__reserve(struct lookup *l, size_t nr)
{
	uint32_t *f, *s;
	uint64_t *h;

	if (nr <= l->cap)
		return 0;
	f = realloc(l->fids, nr * sizeof(*f));
	if (f)
		l->fids = f;
	s = realloc(l->sids, nr * sizeof(*s));
	if (s)
		l->sids = s;
	h = realloc(l->fhash, nr * sizeof(*h));
	if (h)
		l->fhash = h;
	if (!f || !s || !h)
		return -ENOMEM;
	l->cap = nr;
	return 0;
}

/* Look the frames up, adding nothing; true when every spelt name is known already. */
static bool lookup__frames(struct stack_table *st, struct lookup *l, const struct stack_frame *f,
			   size_t nr, bool raw)
{
	bool known = true;
	size_t i;

	for (i = 0; i < nr; i++) {
		struct stack_frame key = f[i];
		struct hashmap_entry *e;
		long id = -ENOENT;

		key.name = f[i].name ? f[i].name : "";
		l->fhash[i] = frame_hash(&key);
		e = hashmap__find(&st->by_frame, l->fhash[i], &key);
		l->fids[i] = UINT32_MAX;
		if (e) {
			l->fids[i] = hashmap_entry__of(e, struct frame, node)->id;
			l->sids[i] = hashmap_entry__of(e, struct frame, node)->spelt;
			continue;
		}
		if (known)
			id = spelt_find(st, key.name, raw);
		known = id >= 0;
		l->sids[i] = id;
	}
	return known;
}

/* A new stack of frames (in name, new too when NULL): its spelt ids in l->sids. */
static struct stack_ref *ref_new(struct stack_table *st, struct lookup *l, size_t nr,
				 struct name *name, uint32_t leaf)
{
	struct stack_ref *r = arena__alloc(&st->arena, sizeof(*r));
	struct hashmap_entry *e;

	if (!r || array__reserve(&st->refs, &st->refs_cap, st->nrefs + 1, sizeof(*st->refs), 64))
		return NULL;
	if (!leaf && !(leaf = trie__add(&st->trie, l->fids, nr)))
		return NULL;
	*r = (struct stack_ref){.nr = nr, .leaf = leaf};
	if (!name) {
		struct name_key k = {l->sids, nr};
		uint64_t nh = name_hash(l->sids, nr);

		/* Frames known, name new: the name may still exist (another stack spelt so). */
		e = hashmap__find(&st->by_name, nh, &k);
		name = e ? hashmap_entry__of(e, struct name, node) : NULL;
		if (!name) {
			name = pool__push(&st->names, sizeof(*name));
			if (!name)
				return NULL;
			name->first = r;
			if (hashmap__add(&st->by_name, &name->node, nh)) {
				st->names.nr--;
				return NULL;
			}
			st->order = 0;
		}
	}
	r->name = name;
	if (hashmap__add(&st->by_ref, &r->node, hash__u64(leaf)))
		return NULL;
	st->refs[st->nrefs++] = r;
	return r;
}

/* The stack of these frames, added when new; -ENOSPC for a new folded stack beyond max. */
static struct stack_ref *stack_get(struct stack_table *st, const struct stack_frame *frames,
				   size_t nr, size_t max, bool raw, int *err)
{
	static const struct stack_frame empty = {.name = ""};
	struct lookup *l = &st->lk;
	struct name *name = NULL;
	struct stack_ref *r = NULL;
	struct hashmap_entry *e;
	uint32_t leaf;
	size_t i;

	/* No frame spells as one empty name: one folded stack, "". */
	if (!nr) {
		frames = &empty;
		nr = 1;
	}
	*err = -ENOMEM;
	if (lookup__reserve(l, nr))
		return NULL;
	if (lookup__frames(st, l, frames, nr, raw)) {
		struct name_key k = {l->sids, nr};

		e = hashmap__find(&st->by_name, name_hash(l->sids, nr), &k);
		name = e ? hashmap_entry__of(e, struct name, node) : NULL;
	}
	if (!name && st->names.nr >= max) {
		*err = -ENOSPC;
		return NULL;
	}
	for (i = 0; i < nr; i++) {
		struct stack_frame key = frames[i];
		struct frame *f;

		if (l->fids[i] != UINT32_MAX)
			continue;
		key.name = key.name ? key.name : "";
		/* The same frame may come twice in a new stack (recursion). */
		e = hashmap__find(&st->by_frame, l->fhash[i], &key);
		f = e ? hashmap_entry__of(e, struct frame, node)
		      : frame_add(st, &key, l->fhash[i], raw);
		if (!f)
			return NULL;
		l->fids[i] = f->id;
		l->sids[i] = f->spelt;
	}
	leaf = trie__find(&st->trie, l->fids, nr);
	e = leaf ? hashmap__find(&st->by_ref, hash__u64(leaf), &leaf) : NULL;
	if (e)
		r = hashmap_entry__of(e, struct stack_ref, node);
	/* Bounded: a known spelling's new stack joins that spelling's first one. */
	else if (name && st->nrefs >= REFS_PER_NAME * st->names.nr)
		r = name->first;
	else
		r = ref_new(st, l, nr, name, leaf);
	return r;
}

int stack_table__add_ref(struct stack_table *st, const struct stack_ref *ref,
			 const struct stack_count *c)
{
	struct stack_ref *r = (struct stack_ref *)ref;

	count_add(&r->c, c);
	count_add(&r->name->c, c);
	count_add(&st->total, c);
	st->order = 0;
	return 0;
}

static int stack_add(struct stack_table *st, const struct stack_frame *frames, size_t nr,
		     const struct stack_count *c, size_t max, bool raw, bool single,
		     const struct stack_ref **out)
{
	int err;
	struct stack_ref *r = stack_get(st, frames, nr, max, raw, &err);

	if (!r)
		return err;
	r->single |= single;
	if (out)
		*out = r;
	return stack_table__add_ref(st, r, c);
}

int stack_table__add_frames(struct stack_table *st, const struct stack_frame *frames, size_t nr,
			    const struct stack_count *c, size_t max, const struct stack_ref **ref)
{
	return stack_add(st, frames, nr, c, max, false, false, ref);
}

/* Names as frames of no kind; raw: spelt as they are (split from a joined stack). */
static int names_add(struct stack_table *st, const char *const *names, size_t nr,
		     const struct stack_count *c, size_t max, bool raw, bool single)
{
	struct stack_frame one[64] = {{0}}, *frames = one;
	size_t i;
	int err;

	if (nr > 64 && !(frames = calloc(nr, sizeof(*frames))))
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		frames[i] = (struct stack_frame){.name = names[i]};
	err = stack_add(st, frames, nr, c, max, raw, single, NULL);
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

	return names_add(st, names, nr, &c, max, false, true);
}

/* A joined stack: split at ';' (names as they are: already spelt). */
static int joined_add(struct stack_table *st, const char *stack, const struct stack_count *c,
		      bool single)
{
	char *copy = strdup(stack), *p;
	const char *one[64], **names = one;
	size_t nr = 1, i = 0;
	int err;

	if (!copy)
		return -ENOMEM;
	for (p = copy; *p; p++)
		nr += *p == ';';
	if (nr > 64 && !(names = malloc(nr * sizeof(*names)))) {
		free(copy);
		return -ENOMEM;
	}
	names[i++] = copy;
	for (p = copy; *p; p++)
		if (*p == ';') {
			*p = 0;
			names[i++] = p + 1;
		}
	err = names_add(st, names, nr, c, SIZE_MAX, true, single);
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

static bool mod_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	const struct stack_module *k = &hashmap_entry__of(e, struct module, node)->m, *m = key;

	(void)ctx;
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
	struct stack_module key = *m;
	struct hashmap_entry *e;
	struct module *k;
	bool oom = false;
	uint64_t h;

	key.build_id = m->build_id ? m->build_id : "";
	h = str_hash(key.build_id, str_hash(key.path, 0));
	e = hashmap__find(&st->by_mod, h, &key);
	if (e) {
		k = hashmap_entry__of(e, struct module, node);
		module_cover(&k->m, m);
		return k->id;
	}
	if (array__reserve(&st->mods, &st->mods_cap, st->nmods + 1, sizeof(*st->mods), 64) ||
	    !(k = calloc(1, sizeof(*k))))
		return -ENOMEM;
	k->m = key;
	k->m.path = intern(st, key.path, &oom);
	k->m.build_id = intern(st, key.build_id, &oom);
	if (oom || hashmap__add(&st->by_mod, &k->node, h)) {
		free(k);
		return -ENOMEM;
	}
	st->mods[st->nmods++] = k;
	k->id = st->nmods;
	return k->id;
}

const struct stack_module *stack_table__module(const struct stack_table *st, uint32_t id)
{
	return id && id <= st->nmods ? &st->mods[id - 1]->m : NULL;
}

size_t stack_table__nr_modules(const struct stack_table *st)
{
	return st->nmods;
}

/* ---- spelling ---- */

/*
 * Spell the stack's frames into buf (sz > 0 bytes, cut to fit); the whole length. The
 * trie gives them innermost first: the length is summed, then they are written from the
 * end back.
 */
static size_t spell(const struct stack_table *st, const struct stack_ref *r, char *buf, size_t sz)
{
	size_t i, len = r->nr ? r->nr - 1 : 0, end;
	uint32_t n;

	for (i = 0, n = r->leaf; i < r->nr; i++, n = st->trie.v[n].parent)
		len += strset__len(st->strs, spelt_of(st, n));
	end = len;
	for (i = 0, n = r->leaf; i < r->nr; i++, n = st->trie.v[n].parent) {
		uint32_t id = spelt_of(st, n);
		size_t l = strset__len(st->strs, id), at = end - l;

		/* Bytes from at on, those before sz - 1. */
		if (at < sz - 1)
			memcpy(buf + at, strset__str(st->strs, id),
			       at + l < sz - 1 ? l : sz - 1 - at);
		if (at && at - 1 < sz - 1)
			buf[at - 1] = ';';
		end = at ? at - 1 : 0;
	}
	buf[len < sz ? len : sz - 1] = 0;
	return len;
}

const uint32_t *stack_table__ref_frames(const struct stack_table *st, const struct stack_ref *ref,
					size_t *nr)
{
	/* The table's buffer for it: not part of what the table holds. */
	struct stack_table *t = (struct stack_table *)st;

	*nr = ref->nr;
	if (array__reserve(&t->ids, &t->ids_cap, ref->nr + 1, sizeof(*t->ids), 64))
		return NULL;
	ref_ids(st, ref, t->ids);
	return t->ids;
}

size_t stack_table__spell(const struct stack_table *st, const struct stack_ref *ref, char *buf,
			  size_t sz)
{
	return spell(st, ref, buf, sz);
}

/* Byte-wise order of two distinct names, a (more_a: a ';' follows it) and b. */
static int spelt_cmp(const struct stack_table *st, uint32_t a, bool more_a, uint32_t b, bool more_b)
{
	size_t la = strset__len(st->strs, a), lb = strset__len(st->strs, b);
	const unsigned char *sa = (const void *)strset__str(st->strs, a);
	const unsigned char *sb = (const void *)strset__str(st->strs, b);
	int c = memcmp(sa, sb, la < lb ? la : lb);

	if (c || la == lb)
		return c;
	/* One is the other's beginning: what follows it (';' or the end) against a byte. */
	if (la < lb)
		return (more_a ? ';' : 0) < sb[la] ? -1 : 1;
	return sa[lb] < (more_b ? ';' : 0) ? -1 : 1;
}

/* A sort's table, and room for two stacks' frames below where they meet. */
struct sort_ctx {
	const struct stack_table *st;
	uint32_t *xs, *ys;
};

/*
 * strcmp() of two folded stacks' spellings, without spelling them. Up to the node where
 * their paths in the trie meet, their frames are the same; below it, their nodes are
 * gathered (innermost first) and compared outermost first, equal names skipped by id.
 */
static int name_cmp(const struct sort_ctx *c, const struct name *a, const struct name *b)
{
	const struct stack_table *st = c->st;
	const struct stack_ref *x = a->first, *y = b->first;
	uint32_t nx = x->leaf, ny = y->leaf;
	size_t dx = x->nr, dy = y->nr, i = 0, j = 0, at;

	while (dx > dy) {
		c->xs[i++] = nx;
		nx = st->trie.v[nx].parent;
		dx--;
	}
	while (dy > dx) {
		c->ys[j++] = ny;
		ny = st->trie.v[ny].parent;
		dy--;
	}
	while (nx != ny) {
		c->xs[i++] = nx;
		c->ys[j++] = ny;
		nx = st->trie.v[nx].parent;
		ny = st->trie.v[ny].parent;
		dx--;
	}
	/* dx frames in common; the next ones are xs[i - 1] and ys[j - 1]. */
	for (at = dx; i && j; at++) {
		uint32_t sx = spelt_of(st, c->xs[--i]), sy = spelt_of(st, c->ys[--j]);

		if (sx != sy)
			return spelt_cmp(st, sx, at + 1 < x->nr, sy, at + 1 < y->nr);
	}
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static int by_stack(const void *a, const void *b, void *c)
{
	return name_cmp(c, *(struct name *const *)a, *(struct name *const *)b);
}

static int by_count(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct name *x = *(struct name *const *)a, *y = *(struct name *const *)b;
	uint64_t cx = count_of(c->st, &x->c), cy = count_of(c->st, &y->c);

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return name_cmp(c, x, y);
}

/* The names in this order: a malloc'd array, or NULL + errno. */
static struct name **names_sorted(const struct stack_table *st,
				  int (*cmp)(const void *, const void *, void *))
{
	struct name **v = malloc((st->names.nr ? st->names.nr : 1) * sizeof(*v));
	struct sort_ctx c = {st, NULL, NULL};
	size_t i, depth = 1;

	for (i = 0; v && i < st->names.nr; i++) {
		v[i] = name_at(st, i);
		depth = v[i]->first->nr > depth ? v[i]->first->nr : depth;
	}
	c.xs = v ? malloc(depth * sizeof(*c.xs)) : NULL;
	c.ys = c.xs ? malloc(depth * sizeof(*c.ys)) : NULL;
	if (!c.ys) {
		free(v);
		free(c.xs);
		errno = ENOMEM;
		return NULL;
	}
	qsort_r(v, st->names.nr, sizeof(*v), cmp, &c);
	free(c.xs);
	free(c.ys);
	return v;
}

int stack_table__each_folded(struct stack_table *st,
			     int (*fn)(const char *stack, uint64_t count, void *arg), void *arg)
{
	struct name **v = names_sorted(st, by_stack);
	size_t i, cap = 4096, len;
	char *buf = malloc(cap);
	int err = 0;

	if (!v || !buf) {
		free(v);
		free(buf);
		return -ENOMEM;
	}
	for (i = 0; i < st->names.nr && !err; i++) {
		len = spell(st, v[i]->first, buf, cap);
		if (len >= cap) {
			char *b = realloc(buf, len + 1);

			if (!b) {
				err = -ENOMEM;
				break;
			}
			buf = b;
			cap = len + 1;
			spell(st, v[i]->first, buf, cap);
		}
		err = fn(buf, count_of(st, &v[i]->c), arg);
	}
	free(buf);
	free(v);
	return err;
}

/* ---- reading ---- */

size_t stack_table__len(const struct stack_table *st)
{
	return st->names.nr;
}

uint64_t stack_table__total(const struct stack_table *st)
{
	return count_of(st, &st->total);
}

uint64_t stack_table__get(const struct stack_table *st, const char *stack)
{
	size_t nr = 1, i = 0, cap = 64;
	uint32_t one[64], *ids = one;
	const char *p, *q;
	struct hashmap_entry *e = NULL;

	for (p = stack; *p; p++)
		nr += *p == ';';
	if (nr > cap && !(ids = malloc(nr * sizeof(*ids))))
		return 0;
	for (p = stack;; p = q + 1) {
		long id;

		q = strchrnul(p, ';');
		id = strset__find(st->strs, p, q - p);
		if (id < 0)
			break;
		ids[i++] = id;
		if (!*q)
			break;
	}
	if (i == nr)
		e = hashmap__find(&st->by_name, name_hash(ids, nr), &(struct name_key){ids, nr});
	if (ids != one)
		free(ids);
	return e ? count_of(st, &hashmap_entry__of(e, struct name, node)->c) : 0;
}

/* The view: entries in this order, spelt into one buffer. */
static const struct stack_entry *view(struct stack_table *st, int order,
				      int (*cmp)(const void *, const void *, void *))
{
	struct name **v;
	size_t i, len = 0, pos = 0;
	struct stack_entry *e;
	char *text;

	if (st->order == order)
		return st->view;
	v = names_sorted(st, cmp);
	if (!v)
		return NULL;
	for (i = 0; i < st->names.nr; i++)
		len += spell(st, v[i]->first, (char[1]){0}, 1) + 1;
	e = malloc((st->names.nr ? st->names.nr : 1) * sizeof(*e));
	text = malloc(len ? len : 1);
	if (!e || !text) {
		free(v);
		free(e);
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < st->names.nr; i++) {
		const struct name *n = v[i];

		e[i] = (struct stack_entry){.stack = text + pos,
					    .count = count_of(st, &n->c),
					    .samples = n->c.samples,
					    .weight = n->c.weight};
		pos += spell(st, n->first, text + pos, len - pos) + 1;
	}
	free(v);
	free(st->view);
	free(st->view_text);
	st->view = e;
	st->view_text = text;
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
	uint32_t *ids = NULL;
	size_t i, cap = 0;
	int err = 0;

	for (i = 0; i < st->nrefs && !err; i++) {
		const struct stack_ref *r = st->refs[i];
		struct stack_visit v = {NULL, r->nr, r->c, r->single};

		if (array__reserve(&ids, &cap, r->nr + 1, sizeof(*ids), 64)) {
			err = -ENOMEM;
			break;
		}
		ref_ids(st, r, ids);
		v.frames = ids;
		err = fn(&v, arg);
	}
	free(ids);
	return err;
}
