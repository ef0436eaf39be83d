// SPDX-License-Identifier: GPL-2.0
/*
 * pprof output: profile.proto, hand-encoded (a few messages), gzip-compressed with zlib.
 * Field numbers from pprof's profile.proto: Profile{1 sample_type, 2 sample, 3 mapping,
 * 4 location, 5 function, 6 string_table, 9 time_nanos, 10 duration_nanos, 11 period_type,
 * 12 period, 13 comment, 14 default_sample_type}, ValueType{1 type, 2 unit},
 * Sample{1 location_id, 2 value}, Mapping{1 id, 5 filename, 6 build_id, 7 has_functions},
 * Location{1 id, 2 mapping_id, 4 line}, Line{1 function_id}, Function{1 id, 2 name,
 * 3 system_name}.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "flamegraph.h"

struct pb {
	uint8_t *b;
	size_t len, cap;
	bool oom;
};

static void pb_raw(struct pb *p, const void *d, size_t n)
{
	if (p->oom || !n) /* nothing to copy: d may be NULL (an empty buffer) */
		return;
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		uint8_t *b;

		while (p->len + n > cap)
			cap *= 2;
		b = realloc(p->b, cap);
		if (!b) {
			p->oom = true;
			return;
		}
		p->b = b;
		p->cap = cap;
	}
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n] = v & 0x7f;
		v >>= 7;
		if (v)
			buf[n] |= 0x80;
		n++;
	} while (v);
	pb_raw(p, buf, n);
}

static void pb_uint(struct pb *p, int field, uint64_t v)
{
	pb_varint(p, (uint64_t)field << 3);
	pb_varint(p, v);
}

static void pb_bytes(struct pb *p, int field, const void *d, size_t n)
{
	pb_varint(p, ((uint64_t)field << 3) | 2);
	pb_varint(p, n);
	pb_raw(p, d, n);
}

static void pb_msg(struct pb *p, int field, struct pb *sub)
{
	pb_bytes(p, field, sub->b, sub->len);
	if (sub->oom)
		p->oom = true;
	sub->len = 0;
}

/* ---- string table and interning ---- */
struct strtab {
	char **s;
	size_t nr, cap;
	size_t *idx; /* open addressing: index + 1 */
	size_t idx_cap;
};

static uint64_t hash_s(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int64_t strtab_get(struct strtab *t, const char *s, size_t n)
{
	size_t h, i;

	if ((t->nr + 1) * 2 > t->idx_cap) {
		size_t cap = t->idx_cap ? t->idx_cap * 2 : 1024, *idx = calloc(cap, sizeof(*idx));

		if (!idx)
			return -1;
		for (i = 0; i < t->nr; i++) {
			h = hash_s(t->s[i], strlen(t->s[i])) & (cap - 1);
			while (idx[h])
				h = (h + 1) & (cap - 1);
			idx[h] = i + 1;
		}
		free(t->idx);
		t->idx = idx;
		t->idx_cap = cap;
	}
	h = hash_s(s, n) & (t->idx_cap - 1);
	while (t->idx[h]) {
		const char *c = t->s[t->idx[h] - 1];

		if (strlen(c) == n && !memcmp(c, s, n))
			return t->idx[h] - 1;
		h = (h + 1) & (t->idx_cap - 1);
	}
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		char **tmp = realloc(t->s, cap * sizeof(*tmp));

		if (!tmp)
			return -1;
		t->s = tmp;
		t->cap = cap;
	}
	t->s[t->nr] = strndup(s, n);
	if (!t->s[t->nr])
		return -1;
	t->idx[h] = ++t->nr;
	return t->nr - 1;
}

static void strtab_free(struct strtab *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		free(t->s[i]);
	free(t->s);
	free(t->idx);
}

/* The mapping a frame belongs to, from how it is named. */
static void frame_mapping(const char *name, size_t len, const char **mod, size_t *mod_len)
{
	const char *plus;

	*mod = NULL;
	*mod_len = 0;
	if (len > 4 && !memcmp(name + len - 4, "_[k]", 4)) {
		*mod = "[kernel.kallsyms]";
		*mod_len = strlen(*mod);
	} else if (len > 4 && !memcmp(name + len - 4, "_[j]", 4)) {
		*mod = "[jit]";
		*mod_len = 5;
	} else if (len > 2 && name[0] == '[' && name[len - 1] == ']' &&
		   (plus = memchr(name, '+', len)) && plus[1] == '0') {
		*mod = name + 1;
		*mod_len = plus - name - 1;
	}
}

/* Both index arrays cover string index i (new entries zeroed). */
static int grow_maps(int64_t **func_map, int64_t **mapping_of, size_t *n, int64_t i)
{
	size_t cap = (i + 1) * 2, k;
	int64_t *fm, *mm;

	if ((size_t)i < *n)
		return 0;
	fm = realloc(*func_map, cap * sizeof(*fm));
	if (fm)
		*func_map = fm;
	mm = realloc(*mapping_of, cap * sizeof(*mm));
	if (mm)
		*mapping_of = mm;
	if (!fm || !mm)
		return -ENOMEM;
	for (k = *n; k < cap; k++)
		fm[k] = mm[k] = 0;
	*n = cap;
	return 0;
}

/* Mapping{id, filename, build_id, has_functions}; returns the new mapping's id. */
static int64_t emit_mapping(struct pb *prof, struct pb *sub, struct strtab *strs, int64_t file,
			    const char *build_id, int64_t *nmappings)
{
	pb_uint(sub, 1, ++*nmappings);
	pb_uint(sub, 5, file);
	if (build_id && *build_id)
		pb_uint(sub, 6, strtab_get(strs, build_id, strlen(build_id)));
	pb_uint(sub, 7, 1);
	pb_msg(prof, 3, sub);
	return *nmappings;
}

static int gzip_out(FILE *f, const uint8_t *d, size_t n)
{
	z_stream zs;
	uint8_t out[65536];
	int r, err = 0;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -ENOMEM;
	zs.next_in = (uint8_t *)d;
	zs.avail_in = n;
	do {
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		r = deflate(&zs, Z_FINISH);
		if (r == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(out, 1, sizeof(out) - zs.avail_out, f) != sizeof(out) - zs.avail_out) {
			err = -EIO;
			break;
		}
	} while (r != Z_STREAM_END);
	deflateEnd(&zs);
	return err;
}

/*
 * A string_table entry: proto3 strings must be UTF-8 (parsers that check refuse the
 * whole profile), and a process may name itself with any bytes: invalid ones become '?'.
 */
static void pb_string(struct pb *p, int field, const char *s)
{
	size_t len = strlen(s), i, c;
	char *copy;

	for (i = 0; i < len && (c = utf8__char_len(s + i, len - i)); i += c)
		;
	if (i == len) {
		pb_bytes(p, field, s, len);
		return;
	}
	copy = strdup(s);
	if (!copy) {
		p->oom = true;
		return;
	}
	for (i = 0; i < len; i += c)
		if (!(c = utf8__char_len(copy + i, len - i))) {
			copy[i] = '?';
			c = 1;
		}
	pb_bytes(p, field, copy, len);
	free(copy);
}

/* "{k=v,k=v};..." → Sample.label entries (field 3: Label{1 key, 2 str}) in labs. */
static int root_labels(struct pb *labs, struct strtab *strs, const char *s)
{
	const char *end = strchr(s, ';'), *p = s + 1;
	struct pb lab = {0};
	int err = 0;

	if (end > s && end[-1] == '}')
		end--;
	while (p < end && !err) {
		const char *comma = memchr(p, ',', end - p), *eq;
		const char *stop = comma ? comma : end;
		int64_t k, v;

		eq = memchr(p, '=', stop - p);
		if (eq && eq > p) {
			k = strtab_get(strs, p, eq - p);
			v = strtab_get(strs, eq + 1, stop - eq - 1);
			if (k < 0 || v < 0)
				err = -ENOMEM;
			pb_uint(&lab, 1, k);
			pb_uint(&lab, 2, v);
			pb_msg(labs, 3, &lab);
		}
		p = stop + 1;
	}
	free(lab.b);
	return lab.oom ? -ENOMEM : err;
}

int pprof__write(FILE *f, struct stack_table *st, const struct pprof_opts *o)
{
	const struct stack_entry *e = stack_table__sorted(st);
	size_t i, n = stack_table__len(st), nfunc = 0;
	struct strtab strs = {0};
	struct pb prof = {0}, sub = {0}, line = {0}, ids = {0}, vals = {0}, labs = {0};
	int64_t *func_map = NULL, *mapping_of = NULL; /* by string index */
	int64_t nmappings = 0;
	uint64_t *locs = NULL;
	size_t locs_cap = 0;
	int err = 0;

	strtab_get(&strs, "", 0);
	/* sample types: samples/count, then events/count (cpu/nanoseconds for clocks) */
	{
		int64_t samples = strtab_get(&strs, "samples", 7),
			count = strtab_get(&strs, "count", 5);
		const char *evname = o->clock ? "cpu" : (o->event ? o->event : "events");
		int64_t ev = strtab_get(&strs, evname, strlen(evname));
		int64_t unit = o->clock ? strtab_get(&strs, "nanoseconds", 11) : count;

		pb_uint(&sub, 1, samples);
		pb_uint(&sub, 2, count);
		pb_msg(&prof, 1, &sub);
		pb_uint(&sub, 1, ev);
		pb_uint(&sub, 2, unit);
		pb_msg(&prof, 1, &sub);
		/* period type and period */
		pb_uint(&sub, 1, ev);
		pb_uint(&sub, 2, unit);
		pb_msg(&prof, 11, &sub);
		if (o->period)
			pb_uint(&prof, 12, o->period);
		else if (o->freq && o->clock)
			pb_uint(&prof, 12, 1000000000ULL / o->freq);
		else if (o->freq)
			pb_uint(&prof, 12, 1);
		pb_uint(&prof, 14, ev);
	}

	/* The main binary is the first mapping. */
	if (o->main_binary) {
		int64_t mi = strtab_get(&strs, o->main_binary, strlen(o->main_binary));
		const char *bid = stack_table__build_id_of(st, o->main_binary);

		if (mi < 0 || grow_maps(&func_map, &mapping_of, &nfunc, mi)) {
			err = -ENOMEM;
			goto out;
		}
		mapping_of[mi] = emit_mapping(&prof, &sub, &strs, mi, bid, &nmappings);
	}

	/* samples: locations leaf first */
	for (i = 0; i < n && !err; i++) {
		const char *s = e[i].stack, *p;
		size_t nl = 0, k;
		uint64_t samples, events;

		if (o->root_labels && s[0] == '{' && strchr(s, ';')) {
			err = root_labels(&labs, &strs, s);
			s = strchr(s, ';') + 1;
		}
		for (p = s; !err; p++) {
			const char *semi = strchr(p, ';');
			size_t len = semi ? (size_t)(semi - p) : strlen(p);
			int64_t si = strtab_get(&strs, p, len);

			if (si < 0) {
				err = -ENOMEM;
				break;
			}
			if (grow_maps(&func_map, &mapping_of, &nfunc, si)) {
				err = -ENOMEM;
				break;
			}
			if (!func_map[si]) {
				const char *mod;
				size_t mod_len;

				const char *path = NULL, *bid = NULL;

				func_map[si] =
					si + 1; /* function id = location id = string index + 1 */
				if (!stack_table__module(st, p, len, &path, &bid)) {
					mod = path;
					mod_len = strlen(path);
				} else {
					frame_mapping(p, len, &mod, &mod_len);
				}
				if (mod) {
					int64_t mi = strtab_get(&strs, mod, mod_len);

					/* interned after the arrays were sized: grow */
					if (mi < 0 ||
					    grow_maps(&func_map, &mapping_of, &nfunc, mi)) {
						err = -ENOMEM;
						break;
					}
					/* mapping_of[string of module] = mapping id */
					if (!mapping_of[mi])
						mapping_of[mi] = emit_mapping(&prof, &sub, &strs,
									      mi, bid, &nmappings);
					mapping_of[si] =
						-mapping_of[mi]; /* negative: a frame's mapping */
				}
				/* Function{id, name, system_name} and Location{id, mapping, line} */
				pb_uint(&sub, 1, si + 1);
				pb_uint(&sub, 2, si);
				pb_uint(&sub, 3, si);
				pb_msg(&prof, 5, &sub);
				pb_uint(&sub, 1, si + 1);
				if (mapping_of[si] < 0)
					pb_uint(&sub, 2, -mapping_of[si]);
				pb_uint(&line, 1, si + 1);
				pb_msg(&sub, 4, &line);
				pb_msg(&prof, 4, &sub);
			}
			if (nl == locs_cap) {
				size_t cap = locs_cap ? locs_cap * 2 : 256;
				uint64_t *tmp = realloc(locs, cap * sizeof(*tmp));

				if (!tmp) {
					err = -ENOMEM;
					break;
				}
				locs = tmp;
				locs_cap = cap;
			}
			locs[nl++] = si + 1;
			if (!semi)
				break;
			p = semi;
		}
		if (err)
			break;
		for (k = nl; k-- > 0;)
			pb_varint(&ids, locs[k]);
		/* The table holds samples, or weights when counting events. */
		samples = o->weight_counts ? 0 : e[i].count;
		events = e[i].count;
		if (!o->weight_counts && o->period)
			events = e[i].count * o->period;
		else if (!o->weight_counts && o->clock && o->freq)
			events = e[i].count * (1000000000ULL / o->freq);
		if (o->weight_counts && o->clock && o->freq)
			samples = (e[i].count * o->freq + 500000000ULL) / 1000000000ULL;
		pb_varint(&vals, samples);
		pb_varint(&vals, events);
		pb_bytes(&sub, 1, ids.b, ids.len);
		pb_bytes(&sub, 2, vals.b, vals.len);
		pb_raw(&sub, labs.b, labs.len);
		ids.len = vals.len = labs.len = 0;
		pb_msg(&prof, 2, &sub);
	}
	if (!err) {
		if (o->comment) {
			int64_t c = strtab_get(&strs, o->comment, strlen(o->comment));

			pb_uint(&prof, 13, c);
		}
		if (o->time_nanos)
			pb_uint(&prof, 9, o->time_nanos);
		if (o->duration_nanos)
			pb_uint(&prof, 10, o->duration_nanos);
		for (i = 0; i < strs.nr; i++)
			pb_string(&prof, 6, strs.s[i]);
		if (prof.oom || sub.oom || line.oom || ids.oom || vals.oom || labs.oom)
			err = -ENOMEM;
	}
	if (!err)
		err = gzip_out(f, prof.b, prof.len);
out:
	free(prof.b);
	free(sub.b);
	free(line.b);
	free(ids.b);
	free(vals.b);
	free(labs.b);
	free(locs);
	free(func_map);
	free(mapping_of);
	strtab_free(&strs);
	return err;
}
