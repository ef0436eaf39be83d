// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel BTF reader: on the running kernel it finds what libbpf's own BTF API finds;
 * crafted BTF files that are malformed, truncated or describe other types are refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <linux/btf.h>
#include "src/kernel-btf.h"

/* The encodings of linux/btf.h's readers (the kernel's own macros are not UAPI). */
#define BTF_INFO_ENC(kind, kflag, vlen)	       ((kflag) << 31 | (kind) << 24 | (vlen))
#define BTF_MEMBER_OFFSET(bitfield_size, bits) ((bitfield_size) << 24 | (bits))

static const char *const members[] = {"group_leader", "real_parent",  "mm",
				      "tgid",	      "self_exec_id", "start_boottime"};

static uint32_t fact(const struct kernel_btf_facts *f, size_t i)
{
	const uint32_t v[] = {f->group_leader, f->real_parent,	f->mm,
			      f->tgid,	       f->self_exec_id, f->start_boottime};

	return v[i];
}

Test(kernel_btf, matches_libbpf_on_this_kernel)
{
	struct kernel_btf_facts f;
	const struct btf_type *t;
	struct btf *btf;
	int id, err;
	size_t i, k;

	if (access(KERNEL_BTF_PATH, R_OK))
		cr_skip_test("no kernel BTF here (%s)", KERNEL_BTF_PATH);
	err = kernel_btf__read(KERNEL_BTF_PATH, &f);
	cr_assert_eq(err, 0, "%d", err);
	btf = btf__load_vmlinux_btf();
	cr_assert_not_null(btf);
	id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	cr_assert_gt(id, 0);
	t = btf__type_by_id(btf, id);
	for (k = 0; k < sizeof(members) / sizeof(members[0]); k++) {
		const struct btf_member *m = btf_members(t);

		for (i = 0; i < btf_vlen(t); i++, m++)
			if (!strcmp(btf__name_by_offset(btf, m->name_off), members[k]))
				break;
		cr_assert_lt(i, btf_vlen(t), "%s", members[k]);
		cr_expect_eq(btf_member_bitfield_size(t, i), 0, "%s", members[k]);
		cr_expect_eq(fact(&f, k) * 8, btf_member_bit_offset(t, i), "%s: %u", members[k],
			     fact(&f, k));
	}
	id = btf__find_by_name_kind(btf, "bpf_iter_bpf_map_elem", BTF_KIND_FUNC);
	cr_expect_eq(f.iter_map_elem, id > 0 ? (uint32_t)id : 0);
	btf__free(btf);
}

/*
 * sysfs's file is mapped where the kernel lets it (6.16+) and its names compared in place;
 * a copy in a memory file (a regular file) is read and its strings scanned: the same facts.
 */
Test(kernel_btf, mapped_and_read_agree)
{
	struct kernel_btf_facts live, copy;
	char buf[65536];
	int in, fd, err;
	ssize_t n;

	if (access(KERNEL_BTF_PATH, R_OK))
		cr_skip_test("no kernel BTF here (%s)", KERNEL_BTF_PATH);
	cr_assert_eq(kernel_btf__read(KERNEL_BTF_PATH, &live), 0);
	in = open(KERNEL_BTF_PATH, O_RDONLY | O_CLOEXEC);
	fd = memfd_create("vmlinux-btf", MFD_CLOEXEC);
	cr_assert(in >= 0 && fd >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(fd, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
	err = kernel_btf__read_fd(fd, &copy);
	cr_assert_eq(err, 0, "%d", err);
	cr_expect_eq(memcmp(&live, &copy, sizeof(live)), 0);
	cr_expect_gt(copy.iter_map_elem + copy.start_boottime, 0u);
	close(in);
	close(fd);
}

/* A small BTF file of the types the reader looks at, built by hand. */
struct blob {
	unsigned char types[1024];
	char strs[512];
	uint32_t tlen, slen, nr;
	uint32_t type_at[32]; /* byte offset of each type id in types[] */
	uint32_t member_at;   /* of task_struct's first member */
};

static uint32_t str(struct blob *b, const char *s)
{
	uint32_t off = b->slen;

	memcpy(b->strs + off, s, strlen(s) + 1);
	b->slen += (uint32_t)strlen(s) + 1;
	return off;
}

static void words(struct blob *b, const uint32_t *w, size_t n)
{
	memcpy(b->types + b->tlen, w, n * 4);
	b->tlen += (uint32_t)n * 4;
}

static uint32_t type(struct blob *b, const char *name, uint32_t kind, uint32_t vlen,
		     uint32_t size_type)
{
	uint32_t t[3] = {name ? str(b, name) : 0, BTF_INFO_ENC(kind, 0, vlen), size_type};

	b->type_at[++b->nr] = b->tlen;
	words(b, t, 3);
	return b->nr;
}

static void member(struct blob *b, const char *name, uint32_t type, uint32_t bits)
{
	uint32_t m[3] = {str(b, name), type, bits};

	words(b, m, 3);
}

/*
 * Ids: 1 int, 2 pid_t, 3 task_struct, 4 its pointer, 5 mm_struct, 6 its pointer,
 * 7 unsigned long long, 8 u64 (to 10: a later id), 9 const u64, 10 __u64 (to 7: an
 * earlier id, found in a second pass), 11 a prototype, 12 bpf_iter_bpf_map_elem.
 */
static void blob_build(struct blob *b)
{
	uint32_t enc;

	memset(b, 0, sizeof(*b));
	str(b, "");
	type(b, "int", BTF_KIND_INT, 0, 4);
	enc = BTF_INT_SIGNED << 24 | 32;
	words(b, &enc, 1);
	type(b, "pid_t", BTF_KIND_TYPEDEF, 0, 1);
	type(b, "task_struct", BTF_KIND_STRUCT, 7, 64);
	b->member_at = b->tlen;
	member(b, "state", 1, 0);
	member(b, "group_leader", 4, 64);
	member(b, "real_parent", 4, 128);
	member(b, "mm", 6, 192);
	member(b, "tgid", 2, 256);
	member(b, "self_exec_id", 8, 320);
	member(b, "start_boottime", 9, 384);
	type(b, NULL, BTF_KIND_PTR, 0, 3);
	type(b, "mm_struct", BTF_KIND_STRUCT, 0, 8);
	type(b, NULL, BTF_KIND_PTR, 0, 5);
	type(b, "unsigned long long", BTF_KIND_INT, 0, 8);
	enc = 64;
	words(b, &enc, 1);
	type(b, "u64", BTF_KIND_TYPEDEF, 0, 10);
	type(b, NULL, BTF_KIND_CONST, 0, 8);
	type(b, "__u64", BTF_KIND_TYPEDEF, 0, 7);
	type(b, NULL, BTF_KIND_FUNC_PROTO, 0, 1);
	type(b, "bpf_iter_bpf_map_elem", BTF_KIND_FUNC, 0, 11);
}

/* The file: header, types, strings (hdr may be patched by the caller first). */
static size_t blob_file(const struct blob *b, unsigned char *out, const struct btf_header *hdr)
{
	memcpy(out, hdr, sizeof(*hdr));
	memcpy(out + sizeof(*hdr), b->types, b->tlen);
	memcpy(out + sizeof(*hdr) + b->tlen, b->strs, b->slen);
	return sizeof(*hdr) + b->tlen + b->slen;
}

static struct btf_header blob_header(const struct blob *b)
{
	return (struct btf_header){.magic = BTF_MAGIC,
				   .version = BTF_VERSION,
				   .hdr_len = sizeof(struct btf_header),
				   .type_len = b->tlen,
				   .str_off = b->tlen,
				   .str_len = b->slen};
}

/* The reader on these bytes, through a memory file (a regular file). */
static int read_bytes(const void *data, size_t len, struct kernel_btf_facts *f)
{
	int fd = memfd_create("btf", MFD_CLOEXEC), err;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	err = kernel_btf__read_fd(fd, f);
	close(fd);
	return err;
}

static uint32_t *type_word(struct blob *b, uint32_t id, int word)
{
	return (uint32_t *)(b->types + b->type_at[id]) + word;
}

static uint32_t *member_word(struct blob *b, int i, int word)
{
	return (uint32_t *)(b->types + b->member_at) + 3 * i + word;
}

Test(kernel_btf, crafted_file_read)
{
	static unsigned char file[2048];
	struct kernel_btf_facts f;
	struct btf_header h;
	struct blob b;
	struct btf *btf;
	char path[64];
	size_t len;
	int fd;

	blob_build(&b);
	h = blob_header(&b);
	len = blob_file(&b, file, &h);

	cr_assert_eq(read_bytes(file, len, &f), 0);
	cr_expect_eq(f.group_leader, 8);
	cr_expect_eq(f.real_parent, 16);
	cr_expect_eq(f.mm, 24);
	cr_expect_eq(f.tgid, 32);
	cr_expect_eq(f.self_exec_id, 40);
	cr_expect_eq(f.start_boottime, 48);
	cr_expect_eq(f.iter_map_elem, 12);
	/* libbpf takes the same file for valid BTF. */
	fd = memfd_create("btf", MFD_CLOEXEC);
	cr_assert_eq(write(fd, file, len), (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	btf = btf__parse_raw(path);
	cr_expect_not_null(btf);
	btf__free(btf);
	close(fd);
}

/* A member offset in kind_flag's encoding (bitfield size 0): the same. */
Test(kernel_btf, kind_flag_encoding)
{
	static unsigned char file[2048];
	struct kernel_btf_facts f;
	struct btf_header h;
	struct blob b;

	blob_build(&b);
	*type_word(&b, 3, 1) |= 1u << 31;
	*member_word(&b, 4, 2) = BTF_MEMBER_OFFSET(0, 256);
	h = blob_header(&b);
	cr_assert_eq(read_bytes(file, blob_file(&b, file, &h), &f), 0);
	cr_expect_eq(f.tgid, 32);
	cr_expect_eq(f.mm, 24);
}

/* Every proper prefix of a valid file is refused. */
Test(kernel_btf, truncated_refused)
{
	static unsigned char file[2048];
	struct kernel_btf_facts f;
	struct btf_header h;
	struct blob b;
	size_t len, n;

	blob_build(&b);
	h = blob_header(&b);
	len = blob_file(&b, file, &h);
	for (n = 0; n < len; n++)
		cr_expect_eq(read_bytes(file, n, &f), -EINVAL, "%zu of %zu bytes", n, len);
}

enum patch {
	P_MAGIC,
	P_VERSION,
	P_HDR_LEN,
	P_TYPES_PAST_END,
	P_STRS_PAST_END,
	P_NO_STRS,
	P_OVERLAP,
	P_UNALIGNED,
	P_FIRST_STR,
	P_LAST_STR,
	P_NAME_OFF,
	P_UNKNOWN_KIND,
	P_VLEN,
	P_KFLAG_BITFIELD,
	P_BIT_OFFSET,
	P_INT_BITFIELD,
	P_TGID_PTR,
	P_MM_INT,
	P_EXEC_ID_4,
	P_TYPEDEF_LOOP,
	P_MEMBER_VOID,
	P_MEMBER_NO_TYPE,
	P_MEMBER_MISSING,
	P_DUPLICATE,
	P_UNION,
	P_STRUCT_SMALL,
	P_MEMBER_NAME_OFF,
	P_NO_ITER,
};

static void patch(struct blob *b, struct btf_header *h, enum patch p)
{
	switch (p) {
	case P_MAGIC:
		h->magic = 0x9FEB; /* the other byte order */
		break;
	case P_VERSION:
		h->version = 2;
		break;
	case P_HDR_LEN:
		h->hdr_len = 8;
		break;
	case P_TYPES_PAST_END:
		h->type_len += 4;
		break;
	case P_STRS_PAST_END:
		h->str_off = 0xfffffff0;
		break;
	case P_NO_STRS:
		h->str_len = 0;
		break;
	case P_OVERLAP:
		h->str_off = 0;
		break;
	case P_UNALIGNED:
		h->type_off = 2;
		break;
	case P_FIRST_STR:
		b->strs[0] = 'x';
		break;
	case P_LAST_STR:
		b->strs[b->slen - 1] = 'x';
		break;
	case P_NAME_OFF:
		*type_word(b, 7, 0) = b->slen;
		break;
	case P_UNKNOWN_KIND:
		*type_word(b, 11, 1) = BTF_INFO_ENC(25, 0, 0);
		break;
	case P_VLEN:
		*type_word(b, 3, 1) = BTF_INFO_ENC(BTF_KIND_STRUCT, 0, 200);
		break;
	case P_KFLAG_BITFIELD:
		*type_word(b, 3, 1) |= 1u << 31;
		*member_word(b, 4, 2) = BTF_MEMBER_OFFSET(3, 256);
		break;
	case P_BIT_OFFSET:
		*member_word(b, 4, 2) = 259;
		break;
	case P_INT_BITFIELD:
		*type_word(b, 1, 3) = 3; /* int:3, the encoding without kind_flag */
		break;
	case P_TGID_PTR:
		*type_word(b, 2, 2) = 4;
		break;
	case P_MM_INT:
		*member_word(b, 3, 1) = 7;
		break;
	case P_EXEC_ID_4:
		*member_word(b, 5, 1) = 1;
		break;
	case P_TYPEDEF_LOOP:
		*type_word(b, 10, 2) = 8;
		break;
	case P_MEMBER_VOID:
		*member_word(b, 1, 1) = 0;
		break;
	case P_MEMBER_NO_TYPE:
		*member_word(b, 1, 1) = 99;
		break;
	case P_MEMBER_MISSING:
		*member_word(b, 4, 0) = *member_word(b, 0, 0); /* "tgid" named "state" */
		break;
	case P_DUPLICATE:
		*member_word(b, 0, 0) = *member_word(b, 4, 0); /* two "tgid" */
		break;
	case P_UNION:
		*type_word(b, 3, 1) = BTF_INFO_ENC(BTF_KIND_UNION, 0, 7);
		break;
	case P_STRUCT_SMALL:
		*type_word(b, 3, 2) = 52; /* start_boottime at 48 does not fit */
		break;
	case P_MEMBER_NAME_OFF:
		*member_word(b, 6, 0) = b->slen + 100;
		break;
	case P_NO_ITER:
		b->strs[*type_word(b, 12, 0) + 3] = 'X';
		break;
	}
}

static const struct {
	int line;
	enum patch p;
	int err;
} patched[] = {
	{__LINE__, P_MAGIC, -EINVAL},
	{__LINE__, P_VERSION, -EINVAL},
	{__LINE__, P_HDR_LEN, -EINVAL},
	{__LINE__, P_TYPES_PAST_END, -EINVAL},
	{__LINE__, P_STRS_PAST_END, -EINVAL},
	{__LINE__, P_NO_STRS, -EINVAL},
	{__LINE__, P_OVERLAP, -EINVAL},
	{__LINE__, P_UNALIGNED, -EINVAL},
	{__LINE__, P_FIRST_STR, -EINVAL},
	{__LINE__, P_LAST_STR, -EINVAL},
	{__LINE__, P_NAME_OFF, -EINVAL},
	{__LINE__, P_UNKNOWN_KIND, -EINVAL},
	{__LINE__, P_VLEN, -EINVAL},
	{__LINE__, P_KFLAG_BITFIELD, -EINVAL},
	{__LINE__, P_BIT_OFFSET, -EINVAL},
	{__LINE__, P_INT_BITFIELD, -EINVAL},
	{__LINE__, P_TGID_PTR, -EINVAL},
	{__LINE__, P_MM_INT, -EINVAL},
	{__LINE__, P_EXEC_ID_4, -EINVAL},
	{__LINE__, P_TYPEDEF_LOOP, -EINVAL},
	{__LINE__, P_MEMBER_VOID, -EINVAL},
	{__LINE__, P_MEMBER_NO_TYPE, -EINVAL},
	{__LINE__, P_MEMBER_MISSING, -ESRCH},
	{__LINE__, P_DUPLICATE, -EINVAL},
	{__LINE__, P_UNION, -ESRCH},
	{__LINE__, P_STRUCT_SMALL, -EINVAL},
	{__LINE__, P_MEMBER_NAME_OFF, -EINVAL},
	{__LINE__, P_NO_ITER, 0},
};

Test(kernel_btf, malformed_refused)
{
	static unsigned char file[2048];
	struct kernel_btf_facts f;
	struct btf_header h;
	struct blob b;
	size_t i;

	for (i = 0; i < sizeof(patched) / sizeof(patched[0]); i++) {
		int err;

		blob_build(&b);
		h = blob_header(&b);
		patch(&b, &h, patched[i].p);
		memset(&f, 0xff, sizeof(f));
		err = read_bytes(file, blob_file(&b, file, &h), &f);
		cr_expect_eq(err, patched[i].err, "line %d: %d", patched[i].line, err);
		if (!err)
			cr_expect_eq(f.iter_map_elem, 0, "line %d", patched[i].line);
	}
}

/* Bytes changed at random: an answer or an error, never a crash or a read out of bounds
 * (the sanitizer build checks that). */
Test(kernel_btf, corrupted_bytes)
{
	static unsigned char good[2048], file[2048];
	struct kernel_btf_facts f;
	struct btf_header h;
	struct blob b;
	size_t len;
	int i, accepted = 0;

	blob_build(&b);
	h = blob_header(&b);
	len = blob_file(&b, good, &h);
	srand(12);
	for (i = 0; i < 3000; i++) {
		int k, err;

		memcpy(file, good, len);
		for (k = 0; k < 1 + i % 3; k++)
			file[(size_t)rand() % len] = (unsigned char)rand();
		err = read_bytes(file, len, &f);
		cr_assert(err == 0 || err == -EINVAL || err == -ESRCH, "%d", err);
		accepted += !err;
	}
	/* Most bytes are names and padding that change nothing the reader looks at. */
	cr_expect_gt(accepted, 0);
}

Test(kernel_btf, not_a_file)
{
	struct kernel_btf_facts f;

	cr_expect_eq(kernel_btf__read("/dev/null", &f), -EINVAL);
	cr_expect_eq(kernel_btf__read("/nonexistent/btf", &f), -ENOENT);
}
