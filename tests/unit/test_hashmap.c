// SPDX-License-Identifier: GPL-2.0
/*
 * The library's hash map, string set, key cache and growing arrays: growth, deletion, many
 * keys, stable strings.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "hashmap.h"
#include "keycache.h"
#include "strset.h"

struct item {
	struct hashmap_entry node;
	long key;
	long value;
};

static bool item_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	return hashmap_entry__of(e, struct item, node)->key == *(const long *)key;
}

static struct item *find(struct hashmap *m, long key)
{
	struct hashmap_entry *e = hashmap__find(m, hash__u64(key), &key);

	return e ? hashmap_entry__of(e, struct item, node) : NULL;
}

static struct item *add(struct hashmap *m, long key)
{
	struct item *it = calloc(1, sizeof(*it));

	cr_assert_not_null(it);
	it->key = key;
	it->value = key * 3;
	cr_assert_eq(hashmap__add(m, &it->node, hash__u64(key)), 0);
	return it;
}

/* Free every entry, counting them. */
static size_t clear(struct hashmap *m)
{
	struct hashmap_iter it;
	struct hashmap_entry *e;
	size_t n = 0;

	hashmap_iter__init(&it, m);
	while ((e = hashmap_iter__next(&it))) {
		hashmap__del(m, e);
		free(hashmap_entry__of(e, struct item, node));
		n++;
	}
	return n;
}

Test(hashmap, empty_map_finds_nothing)
{
	struct hashmap m;
	struct hashmap_iter it;
	long key = 7;

	hashmap__init(&m, item_match, NULL);
	cr_assert_null(hashmap__find(&m, hash__u64(key), &key));
	cr_assert_null(hashmap__remove(&m, hash__u64(key), &key));
	hashmap_iter__init(&it, &m);
	cr_assert_null(hashmap_iter__next(&it));
	cr_assert_eq(hashmap__count(&m), 0);
	hashmap__exit(&m);
	hashmap__exit(NULL);
}

Test(hashmap, grows_and_keeps_every_key)
{
	struct hashmap m;
	long i, n = 200000;

	hashmap__init(&m, item_match, NULL);
	for (i = 0; i < n; i++) {
		add(&m, i * 4096); /* aligned keys: the weak case for a low-bits bucket choice */
		if (i == 15)
			cr_assert_eq(m.nr_buckets, 16);
	}
	cr_assert_eq(hashmap__count(&m), (size_t)n);
	cr_assert_geq(m.nr_buckets, (size_t)n, "buckets grew with the entries: %zu", m.nr_buckets);
	for (i = 0; i < n; i++) {
		struct item *it = find(&m, i * 4096);

		cr_assert_not_null(it, "key %ld lost after growth", i * 4096);
		cr_assert_eq(it->value, i * 4096 * 3);
	}
	cr_assert_null(find(&m, 4095));
	cr_assert_null(find(&m, n * 4096));
	cr_assert_eq(clear(&m), (size_t)n);
	cr_assert_eq(hashmap__count(&m), 0);
	hashmap__exit(&m);
}

Test(hashmap, deletion_leaves_the_others)
{
	struct hashmap m;
	long i, n = 5000;

	hashmap__init(&m, item_match, NULL);
	for (i = 0; i < n; i++)
		add(&m, i);
	/* Every odd key out, by key and by entry. */
	for (i = 1; i < n; i += 2) {
		struct hashmap_entry *e;

		if (i % 4 == 1) {
			e = hashmap__remove(&m, hash__u64(i), &i);
		} else {
			e = &find(&m, i)->node;
			hashmap__del(&m, e);
		}
		cr_assert_not_null(e);
		cr_assert_eq(hashmap_entry__of(e, struct item, node)->key, i);
		free(hashmap_entry__of(e, struct item, node));
	}
	cr_assert_eq(hashmap__count(&m), (size_t)n / 2);
	for (i = 0; i < n; i++)
		cr_assert_eq(find(&m, i) != NULL, i % 2 == 0, "key %ld", i);
	i = 1;
	cr_assert_null(hashmap__remove(&m, hash__u64(i), &i), "removed twice");
	/* Deleted keys can come back. */
	add(&m, 1);
	cr_assert_not_null(find(&m, 1));
	cr_assert_eq(clear(&m), (size_t)n / 2 + 1);
	hashmap__exit(&m);
}

/* Every key in one bucket: the match callback, not the hash, tells them apart. */
static bool colliding_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	(*(int *)ctx)++;
	return item_match(e, key, NULL);
}

Test(hashmap, equal_hashes_are_told_apart_by_match)
{
	struct hashmap m;
	struct item items[100];
	int calls = 0;
	long i;

	hashmap__init(&m, colliding_match, &calls);
	for (i = 0; i < 100; i++) {
		items[i].key = i;
		cr_assert_eq(hashmap__add(&m, &items[i].node, 42), 0);
	}
	for (i = 0; i < 100; i++) {
		struct hashmap_entry *e = hashmap__find(&m, 42, &i);

		cr_assert_eq(e, &items[i].node);
	}
	cr_assert_geq(calls, 100);
	hashmap__del(&m, &items[50].node);
	i = 50;
	cr_assert_null(hashmap__find(&m, 42, &i));
	i = 51;
	cr_assert_eq(hashmap__find(&m, 42, &i), &items[51].node);
	hashmap__exit(&m);
}

/* Keys that repeat (the generations of a pid): find, then find_next, gives each once. */
Test(hashmap, repeated_keys_found_one_after_another)
{
	struct hashmap m;
	struct hashmap_entry *e;
	long key = 42, seen = 0, n = 0, i;

	hashmap__init(&m, item_match, NULL);
	for (i = 0; i < 300; i++)
		add(&m, i % 3 ? i : 42)->value = i;
	for (e = hashmap__find(&m, hash__u64(key), &key); e; e = hashmap__find_next(&m, e, &key)) {
		struct item *it = hashmap_entry__of(e, struct item, node);

		cr_expect_eq(it->key, 42);
		cr_expect_eq(it->value % 3, 0, "value %ld", it->value);
		seen += it->value;
		n++;
	}
	cr_expect_eq(n, 100);
	cr_expect_eq(seen, 3 * (99 * 100 / 2));
	cr_expect_eq(clear(&m), 300);
	hashmap__exit(&m);
}

Test(hashmap, hashes)
{
	/* flame graph colors depend on these exact values */
	cr_assert_eq(hash__fnv1a32("", 0, 0), 2166136261u);
	cr_assert_eq(hash__fnv1a32("a", 1, 0), 0xe40c292cu);
	cr_assert_eq(hash__fnv1a32("foobar", 6, 0), 0xbf9cf968u);
	cr_assert_neq(hash__fnv1a32("main", 4, 1), hash__fnv1a32("main", 4, 2));
	/* table hashes: length and seed are part of the hash */
	cr_assert_eq(hash__bytes("abcdefghij", 10, 0), hash__bytes("abcdefghij", 10, 0));
	cr_assert_neq(hash__bytes("abcdefghij", 10, 0), hash__bytes("abcdefghij", 9, 0));
	cr_assert_neq(hash__bytes("", 0, 0), hash__bytes("\0", 1, 0));
	cr_assert_neq(hash__bytes("main", 4, 0), hash__bytes("main", 4, 1));
	cr_assert_neq(hash__u64(1), hash__u64(2));
}

Test(strset, interns_each_string_once)
{
	struct strset *set = strset__new();
	const char *a, *b, *c;

	cr_assert_not_null(set);
	a = strset__intern(set, "main;foo", 4);
	cr_assert_str_eq(a, "main");
	b = strset__intern(set, "main", 4);
	cr_assert_eq(a, b, "equal strings share one copy");
	c = strset__intern(set, "mai", 3);
	cr_assert_neq(a, c);
	cr_assert_str_eq(c, "mai");
	cr_assert_eq(strset__count(set), 2);
	/* the empty string and strings with NULs are strings too */
	cr_assert_eq(strset__add(set, "", 0), 2);
	cr_assert_eq(strset__add(set, "a\0b", 3), 3);
	cr_assert_eq(strset__add(set, "a\0c", 3), 4);
	cr_assert_eq(strset__len(set, 3), 3);
	cr_assert_eq(strset__find(set, "a\0c", 3), 4);
	cr_assert_eq(strset__find(set, "nope", 4), -ENOENT);
	cr_assert_eq(strset__add(set, "main", 4), 0, "numbered by first addition");
	cr_assert_null(strset__str(set, 5));
	strset__free(set);
	strset__free(NULL);
}

Test(strset, many_strings_stay_where_they_are)
{
	struct strset *set = strset__new();
	const char **first = calloc(100000, sizeof(*first));
	char buf[64], *big = malloc(100000);
	size_t i;

	cr_assert(set && first && big);
	for (i = 0; i < 100000; i++) {
		int n = snprintf(buf, sizeof(buf), "sym_%zu", i * 7919);

		first[i] = strset__intern(set, buf, n);
		cr_assert_not_null(first[i]);
		cr_assert_eq(strset__add(set, buf, n), (long)i);
	}
	/* a string larger than a block, between small ones */
	memset(big, 'x', 100000);
	cr_assert_eq(strset__add(set, big, 100000), 100000);
	cr_assert_eq(strlen(strset__str(set, 100000)), 100000);
	cr_assert_not_null(strset__intern(set, "after", 5));
	for (i = 0; i < 100000; i++) {
		int n = snprintf(buf, sizeof(buf), "sym_%zu", i * 7919);

		cr_assert_str_eq(first[i], buf);
		cr_assert_eq(strset__intern(set, buf, n), first[i], "moved: %s", buf);
		cr_assert_eq(strset__str(set, i), first[i]);
	}
	cr_assert_eq(strset__count(set), 100002);
	free(big);
	free(first);
	strset__free(set);
}

/* keycache: bounded, the least recently used entry makes room, deletions free slots. */
Test(keycache, bounded_least_recently_used_goes)
{
	struct keycache c;
	struct keycache_entry *e;
	bool added;
	uint64_t i;

	keycache__init(&c, 4);
	cr_assert_null(keycache__find(&c, 1, 0));
	for (i = 1; i <= 4; i++) {
		e = keycache__add(&c, i, 100 + i, &added);
		cr_assert(e && added);
		e->val[0] = i * 10;
	}
	/* 1 used again: 2 is now the least recently used. */
	e = keycache__add(&c, 1, 101, &added);
	cr_assert(e && !added && e->val[0] == 10);
	cr_assert_not_null(keycache__add(&c, 5, 105, &added));
	cr_assert_eq(keycache__count(&c), 4);
	cr_assert_null(keycache__find(&c, 2, 102));
	cr_assert_eq(keycache__find(&c, 1, 101)->val[0], 10);
	cr_assert_eq(keycache__find(&c, 3, 103)->val[0], 30);
	/* The second word is part of the key. */
	cr_assert_null(keycache__find(&c, 3, 0));
	cr_assert_eq(c.evicted, 1);
	/* A deleted entry's slot is taken before any live entry goes. */
	keycache__del(&c, keycache__find(&c, 3, 103));
	cr_assert_not_null(keycache__add(&c, 6, 106, NULL));
	cr_assert_eq(c.evicted, 1);
	cr_assert_not_null(keycache__find(&c, 1, 101));
	cr_assert_not_null(keycache__find(&c, 4, 104));
	keycache__exit(&c);
}

Test(keycache, many_keys_stay_within_the_bound)
{
	struct keycache c;
	uint64_t i;

	keycache__init(&c, 1000);
	for (i = 0; i < 100000; i++) {
		struct keycache_entry *e = keycache__add(&c, i, i >> 3, NULL);

		cr_assert_not_null(e);
		e->val[1] = i;
		/* One key kept alive by use all along. */
		cr_assert_not_null(keycache__add(&c, 1ull << 40, 0, NULL));
	}
	cr_assert_eq(keycache__count(&c), 1000);
	cr_assert_not_null(keycache__find(&c, 1ull << 40, 0));
	for (i = 100000 - 999; i < 100000; i++)
		cr_assert_eq(keycache__find(&c, i, i >> 3)->val[1], i);
	cr_assert_null(keycache__find(&c, 100000 - 1000, (100000 - 1000) >> 3));
	keycache__exit(&c);
}

Test(array, doubles_from_the_first_size_until_the_need_fits)
{
	long *a = NULL;
	size_t cap = 0;

	cr_assert_eq(ARRAY_RESERVE(a, cap, 1, 16), 0);
	cr_assert_eq(cap, 16);
	a[15] = 15;
	cr_assert_eq(ARRAY_RESERVE(a, cap, 16, 16), 0);
	cr_assert_eq(cap, 16, "room enough: no growth");
	cr_assert_eq(ARRAY_RESERVE(a, cap, 17, 16), 0);
	cr_assert_eq(cap, 32);
	cr_assert_eq(ARRAY_RESERVE(a, cap, 200, 16), 0);
	cr_assert_eq(cap, 256, "doubled until 200 fit");
	cr_assert_eq(a[15], 15, "the elements move with the array");
	free(a);
}

Test(array, an_impossible_size_leaves_the_array_as_it_was)
{
	long *a = NULL;
	size_t cap = 0;

	cr_assert_eq(ARRAY_RESERVE(a, cap, 4, 4), 0);
	a[3] = 3;
	cr_assert_eq(ARRAY_RESERVE(a, cap, SIZE_MAX / 4, 4), -ENOMEM);
	cr_assert_eq(ARRAY_RESERVE(a, cap, (SIZE_MAX >> 1) + 2, 4), -ENOMEM);
	cr_assert_eq(cap, 4);
	cr_assert_eq(a[3], 3);
	free(a);
}
