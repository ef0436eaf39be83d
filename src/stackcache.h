/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Drained kernel keys already symbolized: the raw key bytes (generation, pid, event, comm,
 * frames) and the version of the mappings they were named in map to the folded stack as
 * interned by the stack table, so a stack seen again in a later drain is only counted.
 */
#ifndef PMUPROF_STACKCACHE_H
#define PMUPROF_STACKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack_cache;

struct stack_cache *stack_cache__new(void);
void stack_cache__free(struct stack_cache *c);
void stack_cache__clear(struct stack_cache *c);
size_t stack_cache__len(const struct stack_cache *c);
/* The stack named for key at version, or NULL; *unresolved as it was added. */
const char *stack_cache__find(const struct stack_cache *c, const void *key, size_t len,
			      uint64_t version, bool *unresolved);
/*
 * Remember key → stack (not copied: the caller keeps it alive while the entry lives);
 * unresolved: some user frame of it is unnamed.
 */
int stack_cache__add(struct stack_cache *c, const void *key, size_t len, uint64_t version,
		     const char *stack, bool unresolved);
/* Drop the entries stale() says are out of date; returns how many. */
size_t stack_cache__sweep(struct stack_cache *c,
			  bool (*stale)(const void *key, size_t len, uint64_t version, void *arg),
			  void *arg);

/*
 * Names of user frames already formatted, by the file they are in and the offset in it:
 * a frame that recurs in many stacks (every process of a binary shares them) is looked up
 * in the symbol tables and DWARF once. Bounded: cleared when full.
 */
#define FRAME_CACHE_NAMES 16

struct frame_names {
	unsigned int n;
	uint32_t unresolved; /* bit i: names[i] is not a function's name */
	const char *module;  /* the file, for stack_table__set_module(); NULL: none */
	const char *build_id;
	const char *names[FRAME_CACHE_NAMES];
};

struct frame_cache;

struct frame_cache *frame_cache__new(size_t max);
void frame_cache__free(struct frame_cache *c);
void frame_cache__clear(struct frame_cache *c);
/* The names of the frame at offset off of the file obj/path (leaf: the sampled address
 * itself, not a return address), or NULL. */
const struct frame_names *frame_cache__find(struct frame_cache *c, const void *obj,
					    const void *path, uint64_t off, bool leaf);
/* Remember them (copied). */
int frame_cache__add(struct frame_cache *c, const void *obj, const void *path, uint64_t off,
		     bool leaf, const struct frame_names *names);
uint64_t frame_cache__hits(const struct frame_cache *c);

#endif
