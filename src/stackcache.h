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

#endif
