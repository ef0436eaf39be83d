// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/btf.h>
#include <linux/magic.h>
#include "kernel-btf.h"

/* sysfs hands out at most a page per read, whatever the size asked. */
#define KBTF_BUF 4096
/* Places a wanted name is kept at: pahole's BTF holds each string once. */
#define KBTF_OCCUR 4
/* The longest wanted name, and more. */
#define KBTF_NAME_MAX 31
/* Typedefs and qualifiers followed from a member to its type. */
#define KBTF_MAX_DEPTH 32

struct kbtf_spec {
	const char *name;
	uint32_t kind; /* BTF_KIND_PTR or BTF_KIND_INT */
	uint32_t size;
	size_t out; /* in struct kernel_btf_facts */
};

#define FACT(f) offsetof(struct kernel_btf_facts, f)
static const struct kbtf_spec specs[] = {
	{"group_leader", BTF_KIND_PTR, 8, FACT(group_leader)},
	{"real_parent", BTF_KIND_PTR, 8, FACT(real_parent)},
	{"mm", BTF_KIND_PTR, 8, FACT(mm)},
	{"tgid", BTF_KIND_INT, 4, FACT(tgid)},
	{"self_exec_id", BTF_KIND_INT, 8, FACT(self_exec_id)},
	{"start_boottime", BTF_KIND_INT, 8, FACT(start_boottime)},
};
#define NR_SPECS (sizeof(specs) / sizeof(specs[0]))

/* The names looked for: the struct, the iterator's function, then specs[]'s. */
enum { KBTF_TASK_STRUCT, KBTF_ITER_FUNC, KBTF_MEMBER0, KBTF_NAMES = KBTF_MEMBER0 + NR_SPECS };

struct kbtf_member {
	uint32_t off;  /* bytes into task_struct */
	uint32_t type; /* the type id still to look at; 0 once resolved */
	uint32_t depth;
	bool found;
};

struct kbtf {
	int fd;
	/* sysfs's BTF mapped (6.16+: mapped at mmap(), no page faults), else NULL: read. */
	const unsigned char *map;
	uint64_t map_len;
	uint64_t types, strs; /* file offsets of the sections */
	uint32_t types_len, strs_len;
	uint32_t names[KBTF_NAMES][KBTF_OCCUR]; /* string offsets */
	uint32_t name_len[KBTF_NAMES];
	uint32_t nr_names[KBTF_NAMES];
	uint32_t task_id, task_size, iter_id;
	uint32_t nr_types;   /* known after a whole pass */
	uint32_t max_wanted; /* the highest type id a member waits for */
	struct kbtf_member m[NR_SPECS];
	/* The stream: buf[at, len) holds the bytes just before file offset next; it ends
	 * at file offset end. */
	uint64_t next, end;
	uint32_t at, len;
	unsigned char buf[KBTF_BUF];
};

static const char *kbtf_name(unsigned int which)
{
	if (which == KBTF_TASK_STRUCT)
		return "task_struct";
	if (which == KBTF_ITER_FUNC)
		return "bpf_iter_bpf_map_elem";
	return specs[which - KBTF_MEMBER0].name;
}

/* Exactly n bytes at file offset off: 0, -EINVAL when the file ends first, or -errno. */
static int kbtf_pread(const struct kbtf *b, void *dst, size_t n, uint64_t off)
{
	unsigned char *d = dst;

	if (b->map) {
		if (off > b->map_len || n > b->map_len - off)
			return -EINVAL;
		memcpy(dst, b->map + off, n);
		return 0;
	}
	while (n) {
		ssize_t got = pread(b->fd, d, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (!got)
			return -EINVAL;
		d += got;
		off += (uint64_t)got;
		n -= (size_t)got;
	}
	return 0;
}

static void kbtf_stream(struct kbtf *b, uint64_t off, uint32_t len)
{
	b->next = off;
	b->end = off + len;
	b->at = b->len = 0;
}

static uint64_t kbtf_left(const struct kbtf *b)
{
	return (b->len - b->at) + (b->end - b->next);
}

static int kbtf_refill(struct kbtf *b)
{
	uint64_t chunk = b->end - b->next;
	int err;

	if (!chunk)
		return -EINVAL;
	if (chunk > KBTF_BUF)
		chunk = KBTF_BUF;
	err = kbtf_pread(b, b->buf, (size_t)chunk, b->next);
	if (err)
		return err;
	b->next += chunk;
	b->at = 0;
	b->len = (uint32_t)chunk;
	return 0;
}

/* The next n bytes of the stream into dst: 0, -EINVAL past its end, or -errno. */
static inline int kbtf_read(struct kbtf *b, void *dst, size_t n)
{
	unsigned char *d = dst;

	if (n <= b->len - b->at) { /* nearly always: a type at a time */
		memcpy(d, b->buf + b->at, n);
		b->at += (uint32_t)n;
		return 0;
	}
	while (n) {
		size_t k;
		int err;

		if (b->at == b->len && (err = kbtf_refill(b)))
			return err;
		k = b->len - b->at;
		if (k > n)
			k = n;
		memcpy(d, b->buf + b->at, k);
		b->at += (uint32_t)k;
		d += k;
		n -= k;
	}
	return 0;
}

static int kbtf_skip(struct kbtf *b, uint64_t n)
{
	if (n <= b->len - b->at) {
		b->at += (uint32_t)n;
		return 0;
	}
	n -= b->len - b->at;
	b->at = b->len = 0;
	if (n > b->end - b->next)
		return -EINVAL;
	b->next += n;
	return 0;
}

static int kbtf_header(struct kbtf *b)
{
	struct btf_header h;
	struct stat st;
	uint64_t types_end, strs_end;
	int err;

	if (fstat(b->fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(h))
		return -EINVAL;
	err = kbtf_pread(b, &h, sizeof(h), 0);
	if (err)
		return err;
	if (h.magic != BTF_MAGIC || h.version != BTF_VERSION || h.hdr_len < sizeof(h))
		return -EINVAL;
	b->types = (uint64_t)h.hdr_len + h.type_off;
	b->strs = (uint64_t)h.hdr_len + h.str_off;
	b->types_len = h.type_len;
	b->strs_len = h.str_len;
	types_end = b->types + h.type_len;
	strs_end = b->strs + h.str_len;
	if (types_end > (uint64_t)st.st_size || strs_end > (uint64_t)st.st_size)
		return -EINVAL;
	/* The kernel's own rules: aligned types, a string section that starts with the
	 * empty name, sections that do not overlap. */
	if (h.type_off % 4 || h.type_len % 4 || !h.str_len || h.str_len > BTF_MAX_NAME_OFFSET)
		return -EINVAL;
	if (types_end > b->strs && strs_end > b->types)
		return -EINVAL;
	return 0;
}

/* The string of len bytes (all in s) at offset off: kept if wanted. */
static void kbtf_name_seen(struct kbtf *b, const char *s, uint32_t len, uint32_t off)
{
	unsigned int i;

	for (i = 0; i < KBTF_NAMES; i++) {
		if (b->name_len[i] != len || b->nr_names[i] >= KBTF_OCCUR)
			continue;
		if (!memcmp(kbtf_name(i), s, len))
			b->names[i][b->nr_names[i]++] = off;
	}
}

/* The offsets of the wanted names in the string section (whole strings). */
static int kbtf_scan_strings(struct kbtf *b)
{
	char cur[KBTF_NAME_MAX + 1];
	uint32_t start = 0, len = 0, off = 0, chunk = 0;

	for (; off < b->strs_len; off += chunk) {
		const unsigned char *p = b->buf, *end, *nul;
		int err;

		chunk = b->strs_len - off < KBTF_BUF ? b->strs_len - off : KBTF_BUF;
		err = kbtf_pread(b, b->buf, chunk, b->strs + off);
		if (err)
			return err;
		if (!off && b->buf[0])
			return -EINVAL; /* offset 0 is the empty name */
		for (end = b->buf + chunk; p < end; p = nul + 1) {
			uint32_t n;

			nul = memchr(p, 0, (size_t)(end - p));
			n = (uint32_t)((nul ? nul : end) - p);
			/* Only short strings are compared: a string may span two reads. */
			if (len + n <= KBTF_NAME_MAX)
				memcpy(cur + len, p, n);
			len = len + n <= KBTF_NAME_MAX ? len + n : KBTF_NAME_MAX + 1;
			if (!nul)
				break;
			if (len <= KBTF_NAME_MAX)
				kbtf_name_seen(b, cur, len, start);
			start = off + (uint32_t)(nul - b->buf) + 1;
			len = 0;
		}
	}
	return chunk && !b->buf[chunk - 1] ? 0 : -EINVAL; /* the last string ends */
}

static bool kbtf_is(const struct kbtf *b, unsigned int which, uint32_t name_off)
{
	uint32_t i, len = b->name_len[which];

	/* Mapped: the name compared where the type points, as libbpf reads it. */
	if (b->map)
		return name_off < b->strs_len && len < b->strs_len - name_off &&
		       !memcmp(b->map + b->strs + name_off, kbtf_name(which), len) &&
		       !b->map[b->strs + name_off + len];
	for (i = 0; i < b->nr_names[which]; i++)
		if (b->names[which][i] == name_off)
			return true;
	return false;
}

/* Bytes after a type's struct btf_type, by kind; -EINVAL for a kind unknown here. */
static int kbtf_extra(uint32_t kind, uint32_t vlen, uint64_t *extra)
{
	switch (kind) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		*extra = 4;
		return 0;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		*extra = 0;
		return 0;
	case BTF_KIND_ARRAY:
		*extra = sizeof(struct btf_array);
		return 0;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		*extra = (uint64_t)vlen * sizeof(struct btf_member);
		return 0;
	case BTF_KIND_ENUM:
		*extra = (uint64_t)vlen * sizeof(struct btf_enum);
		return 0;
	case BTF_KIND_FUNC_PROTO:
		*extra = (uint64_t)vlen * sizeof(struct btf_param);
		return 0;
	case BTF_KIND_DATASEC:
		*extra = (uint64_t)vlen * sizeof(struct btf_var_secinfo);
		return 0;
	case BTF_KIND_ENUM64:
		*extra = (uint64_t)vlen * sizeof(struct btf_enum64);
		return 0;
	default:
		return -EINVAL;
	}
}

/* After a member's type changed: the highest id any waits for (0: all resolved). */
static void kbtf_waits(struct kbtf *b)
{
	uint32_t i;

	b->max_wanted = 0;
	for (i = 0; i < NR_SPECS; i++)
		if (b->m[i].type > b->max_wanted)
			b->max_wanted = b->m[i].type;
}

/* One member of task_struct: kept when it is one of specs[]. */
static int kbtf_member(struct kbtf *b, const struct btf_member *bm, bool kflag)
{
	uint32_t bits = kflag ? BTF_MEMBER_BIT_OFFSET(bm->offset) : bm->offset;
	unsigned int i;

	if (bm->name_off >= b->strs_len)
		return -EINVAL;
	for (i = 0; i < NR_SPECS; i++) {
		struct kbtf_member *m = &b->m[i];

		if (!kbtf_is(b, KBTF_MEMBER0 + i, bm->name_off))
			continue;
		/* A bitfield (the other encoding's show in their integer type). */
		if (m->found || !bm->type || bits % 8 ||
		    (kflag && BTF_MEMBER_BITFIELD_SIZE(bm->offset)))
			return -EINVAL;
		m->found = true;
		m->off = bits / 8;
		m->type = bm->type;
	}
	return 0;
}

static int kbtf_task(struct kbtf *b, uint32_t id, const struct btf_type *t)
{
	uint32_t i, vlen = BTF_INFO_VLEN(t->info);
	bool kflag = BTF_INFO_KFLAG(t->info);

	b->task_id = id;
	b->task_size = t->size;
	for (i = 0; i < vlen; i++) {
		struct btf_member bm;
		int err = kbtf_read(b, &bm, sizeof(bm)) ?: kbtf_member(b, &bm, kflag);

		if (err)
			return err;
	}
	for (i = 0; i < NR_SPECS; i++)
		if (!b->m[i].found)
			return -ESRCH;
	kbtf_waits(b);
	return 0;
}

/* Type id, which members wait for: a step of theirs taken. *extra: what is left of it. */
static int kbtf_resolve(struct kbtf *b, uint32_t id, const struct btf_type *t, uint64_t *extra)
{
	uint32_t i, kind = BTF_INFO_KIND(t->info), enc = 0;
	int err;

	if (kind == BTF_KIND_INT) {
		err = kbtf_read(b, &enc, sizeof(enc));
		if (err)
			return err;
		*extra -= sizeof(enc);
	}
	for (i = 0; i < NR_SPECS; i++) {
		struct kbtf_member *m = &b->m[i];

		if (m->type != id)
			continue;
		switch (kind) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_CONST:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			if (++m->depth > KBTF_MAX_DEPTH || !t->type)
				return -EINVAL;
			m->type = t->type;
			continue;
		case BTF_KIND_PTR:
			if (specs[i].kind != BTF_KIND_PTR)
				return -EINVAL;
			break;
		case BTF_KIND_INT:
			if (specs[i].kind != BTF_KIND_INT || t->size != specs[i].size ||
			    BTF_INT_OFFSET(enc) || BTF_INT_BITS(enc) != 8 * t->size)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		m->type = 0;
	}
	kbtf_waits(b);
	return 0;
}

static bool kbtf_wanted(const struct kbtf *b, uint32_t id)
{
	uint32_t i;

	if (id > b->max_wanted)
		return false;
	for (i = 0; i < NR_SPECS; i++)
		if (b->m[i].type == id)
			return true;
	return false;
}

/*
 * One pass over the types; the first finds task_struct and the iterator's FUNC. A pass
 * ends where nothing is left to find in it: past the last id a member waits for, the
 * next pass starts over.
 */
static int kbtf_scan_types(struct kbtf *b, bool first)
{
	uint32_t id;

	kbtf_stream(b, b->types, b->types_len);
	for (id = 1; kbtf_left(b); id++) {
		struct btf_type t;
		uint32_t kind;
		uint64_t extra;
		int err;

		if (id > b->max_wanted && b->task_id && (!first || b->iter_id))
			return 0;
		err = kbtf_read(b, &t, sizeof(t));
		if (err)
			return err;
		kind = BTF_INFO_KIND(t.info);
		if (t.name_off >= b->strs_len || kbtf_extra(kind, BTF_INFO_VLEN(t.info), &extra))
			return -EINVAL;
		if (first && !b->task_id && kind == BTF_KIND_STRUCT &&
		    kbtf_is(b, KBTF_TASK_STRUCT, t.name_off)) {
			err = kbtf_task(b, id, &t);
			extra = 0;
		} else if (first && !b->iter_id && kind == BTF_KIND_FUNC &&
			   kbtf_is(b, KBTF_ITER_FUNC, t.name_off)) {
			b->iter_id = id;
		} else if (kbtf_wanted(b, id)) {
			err = kbtf_resolve(b, id, &t, &extra);
		}
		if (!err)
			err = kbtf_skip(b, extra);
		if (err)
			return err;
	}
	b->nr_types = id - 1;
	return 0;
}

static int kbtf_types(struct kbtf *b)
{
	uint32_t i;
	int err;
	bool first;

	for (first = true; first || b->max_wanted; first = false) {
		err = kbtf_scan_types(b, first);
		if (err)
			return err;
		if (!b->task_id)
			return -ESRCH;
		/* Each pass takes a step on every chain that waits for a type there is, and
		 * chains end (KBTF_MAX_DEPTH): only one waiting for no type would not. */
		if (b->nr_types && b->max_wanted > b->nr_types)
			return -EINVAL;
	}
	for (i = 0; i < NR_SPECS; i++)
		if ((uint64_t)b->m[i].off + specs[i].size > b->task_size)
			return -EINVAL;
	return 0;
}

/*
 * The kernel's own file, mapped where the kernel lets it be (6.16+): a read of sysfs
 * hands out a page per syscall, ~1,000 of them (about 1.5 ms of a record). Only sysfs's:
 * its size never changes, where a regular file's could shrink under the mapping
 * (SIGBUS).
 */
static void kbtf_map(struct kbtf *b)
{
	struct statfs fs;
	struct stat st;
	void *m;

	if (fstatfs(b->fd, &fs) || fs.f_type != SYSFS_MAGIC || fstat(b->fd, &st) ||
	    !S_ISREG(st.st_mode) || st.st_size <= 0)
		return;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, b->fd, 0);
	if (m == MAP_FAILED)
		return;
	b->map = m;
	b->map_len = (uint64_t)st.st_size;
}

int kernel_btf__read_fd(int fd, struct kernel_btf_facts *facts)
{
	struct kbtf b = {.fd = fd};
	uint32_t i;
	int err;

	for (i = 0; i < KBTF_NAMES; i++)
		b.name_len[i] = (uint32_t)strlen(kbtf_name(i));
	kbtf_map(&b);
	err = kbtf_header(&b);
	if (!err && b.map) /* the names are compared in place: strings start and end */
		err = b.map[b.strs] || b.map[b.strs + b.strs_len - 1] ? -EINVAL : 0;
	else if (!err)
		err = kbtf_scan_strings(&b);
	if (!err && !b.map && !b.nr_names[KBTF_TASK_STRUCT])
		err = -ESRCH;
	if (!err)
		err = kbtf_types(&b);
	if (b.map)
		munmap((void *)b.map, (size_t)b.map_len);
	if (err)
		return err;
	memset(facts, 0, sizeof(*facts));
	for (i = 0; i < NR_SPECS; i++)
		*(uint32_t *)((char *)facts + specs[i].out) = b.m[i].off;
	facts->iter_map_elem = b.iter_id;
	return 0;
}

int kernel_btf__read(const char *path, struct kernel_btf_facts *facts)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = kernel_btf__read_fd(fd, facts);
	close(fd);
	return err;
}
