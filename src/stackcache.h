/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Caches of the record's naming (both bounded, on the library's hash map):
 * - drained kernel keys already symbolized: the raw key bytes (generation, pid, event,
 *   comm, frames) and the version of the mappings they were named in map to the stack the
 *   table interned for them, so a stack seen again in a later drain is only counted;
 * - user frames already named, by file and offset: a frame shared by many stacks and
 *   processes (every process of a binary) is looked up in symbol tables and DWARF once.
 */
#ifndef PMUPROF_STACKCACHE_H
#define PMUPROF_STACKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flamegraph/flamegraph.h"

struct stack_cache;

struct stack_cache *stack_cache__new(void);
void stack_cache__free(struct stack_cache *c);
void stack_cache__clear(struct stack_cache *c);
size_t stack_cache__len(const struct stack_cache *c);
/* Bytes the entries take (keys included). */
size_t stack_cache__bytes(const struct stack_cache *c);
/* The hash of a key, as find and add take it: the same in every version (a key is hashed
 * once, when drained, and looked up again when named). */
uint64_t stack_cache__hash(const void *key, size_t len);
/* The stack named for key (hash: stack_cache__hash()) at version, or NULL; *unresolved as
 * it was added. */
const struct stack_ref *stack_cache__find(const struct stack_cache *c, const void *key, size_t len,
					  uint64_t hash, uint64_t version, bool *unresolved);
/*
 * Remember key → stack (not copied: the caller keeps it alive while the entry lives);
 * unresolved: some user frame of it is unnamed.
 */
int stack_cache__add(struct stack_cache *c, const void *key, size_t len, uint64_t hash,
		     uint64_t version, const struct stack_ref *stack, bool unresolved);
/* Drop the entries stale() says are out of date; returns how many. */
size_t stack_cache__sweep(struct stack_cache *c,
			  bool (*stale)(const void *key, size_t len, uint64_t version, void *arg),
			  void *arg);

/* The frames one user address gives (its function, then those inlined there). */
#define FRAME_CACHE_FRAMES 16

struct frame_names {
	unsigned int n;
	uint32_t unresolved; /* bit i: frames[i] is not a function's name */
	/* n records as a stack table takes them, without module (module: 0); strings owned
	 * by the cache once added. */
	struct stack_frame *frames;
	/* The file, for the table's module: path, build id and frames[0]'s link-time address
	 * (its offset in the file when not named). NULL path: none. */
	const char *module, *build_id;
	uint64_t link_addr;
};

struct frame_cache;

/* At most max entries (frame_cache__add() refuses more: clear it between stacks, while
 * no record points into it). NULL + errno. */
struct frame_cache *frame_cache__new(size_t max);
void frame_cache__free(struct frame_cache *c);
void frame_cache__clear(struct frame_cache *c);
size_t frame_cache__len(const struct frame_cache *c);
/* The names of the frame at offset off of the file obj/path (leaf: the sampled address
 * itself, not a return address), or NULL. */
const struct frame_names *frame_cache__find(struct frame_cache *c, const void *obj,
					    const void *path, uint64_t off, bool leaf);
/* Remember them (strings copied); -ENOSPC when full. */
int frame_cache__add(struct frame_cache *c, const void *obj, const void *path, uint64_t off,
		     bool leaf, const struct frame_names *names);
uint64_t frame_cache__hits(const struct frame_cache *c);

/*
 * The user addresses named last, straight to their frames in a frame cache and their
 * module's id in a table: (mappings version, address, leaf, table) → both, so that an
 * address seen again skips finding its mapping, its file's frames and its module. Fixed
 * size, an address overwrites the one in its slot. Reset it whenever the frame cache is
 * cleared or the tables' module ids change.
 */
struct frame_memo;

struct frame_memo *frame_memo__new(void);
void frame_memo__free(struct frame_memo *m);
void frame_memo__reset(struct frame_memo *m);
/* The frames remembered for this address, *module their module, or NULL. */
const struct frame_names *frame_memo__find(const struct frame_memo *m, uint64_t version,
					   uint64_t addr, bool leaf, unsigned int table,
					   uint32_t *module);
void frame_memo__add(struct frame_memo *m, uint64_t version, uint64_t addr, bool leaf,
		     unsigned int table, const struct frame_names *names, uint32_t module);

#endif
