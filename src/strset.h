/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The library's string set: each distinct string stored once, NUL-terminated, at an
 * address that stays valid until the set is freed, and numbered in the order it was
 * first added (string tables such as pprof's index their strings so).
 */
#ifndef PMUPROF_STRSET_H
#define PMUPROF_STRSET_H

#include <stddef.h>

struct strset;

/* An empty set, or NULL + errno. */
struct strset *strset__new(void);
void strset__free(struct strset *set);

/*
 * The set's copy of s[0..len) (which may hold no NUL), added if it is new; NULL + errno
 * ENOMEM. Equal strings give the same pointer, so callers may compare them by address.
 */
const char *strset__intern(struct strset *set, const char *s, size_t len);

/* Same, giving the string's number (0 for the first one added); -ENOMEM. */
long strset__add(struct strset *set, const char *s, size_t len);

/* The number of s[0..len) if it is in the set, else -ENOENT. */
long strset__find(const struct strset *set, const char *s, size_t len);

/* String number idx (NULL past the end) and its length. */
const char *strset__str(const struct strset *set, size_t idx);
size_t strset__len(const struct strset *set, size_t idx);

/* How many distinct strings the set holds. */
size_t strset__count(const struct strset *set);

#endif
