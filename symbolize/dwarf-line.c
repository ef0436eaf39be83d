// SPDX-License-Identifier: GPL-2.0
/*
 * A unit's line table (.debug_line, DWARF 2 to 5) decoded straight into rows of address,
 * file, line and end of sequence, the rows and file names libdw's dwarf_getsrclines gives
 * (elfutils 0.188): a relative file name joined to its directory (in DWARF 2 to 4,
 * directory 0 is the unit's DW_AT_comp_dir), the rows sorted by address (at one address
 * an end of sequence first, else in the program's order), the last row an end of
 * sequence. libdw keeps every column of every row, makes a sorted array of pointers to
 * them and copies it: over libc's debug file that was a tenth of naming a million
 * addresses; the rows here are a third of the size and sorted by merging the program's
 * sequences.
 *
 * The table is read from an untrusted file (docs/security.md): every read is bounded by
 * the unit's length inside the section, strings by their sections (dwarf.c checks that
 * these end in a NUL). What libdw would refuse is refused (-EINVAL), and so is what this
 * reader does not read (a directory or file entry in a form it does not know): dwarf.c
 * then asks libdw, as before. Fuzzed by fuzz_dwarf; tests/unit/test_symbolize_lines.c
 * compares the rows with libdw's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include "dwarf-cursor.h"
#include "symbolize-private.h"
#include "array.h"

static int64_t l_sleb(struct dcursor *c)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	while (c->p < c->end) {
		uint8_t b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			return (int64_t)v;
		}
	}
	c->bad = true;
	return 0;
}

/* A NUL-terminated string at the cursor (NULL and bad when it does not end). */
static const char *l_str(struct dcursor *c)
{
	const uint8_t *nul = memchr(c->p, 0, (size_t)(c->end - c->p));
	const char *s = (const char *)c->p;

	if (!nul) {
		c->bad = true;
		c->p = c->end;
		return NULL;
	}
	c->p = nul + 1;
	return s;
}

/* The header's fields the program needs. */
struct line_header {
	unsigned int version, off_size, min_len, max_ops, line_range, opcode_base;
	bool default_stmt;
	int line_base;
	const uint8_t *std_len; /* [1, opcode_base) */
	const uint8_t *files;	/* where the directories start */
	const uint8_t *prog;	/* where the program starts */
	const uint8_t *end;	/* the unit's end */
};

static int header_read(struct line_header *h, const struct line_program *in)
{
	struct dcursor c = {in->line + in->off, in->line + in->size, false};
	uint64_t len, hlen;

	if (in->off >= in->size)
		return -EINVAL;
	len = dcursor__fixed(&c, 4);
	h->off_size = 4;
	if (len == 0xffffffff) {
		len = dcursor__fixed(&c, 8);
		h->off_size = 8;
	}
	if (c.bad || len > (uint64_t)(c.end - c.p))
		return -EINVAL;
	c.end = h->end = c.p + len;
	h->version = (unsigned int)dcursor__fixed(&c, 2);
	if (c.bad || h->version < 2 || h->version > 5)
		return -EINVAL;
	if (h->version >= 5 &&
	    (dcursor__fixed(&c, 1) != in->addr_size || dcursor__fixed(&c, 1) != 0))
		return -EINVAL;
	hlen = dcursor__fixed(&c, h->off_size);
	if (c.bad || hlen > (uint64_t)(c.end - c.p))
		return -EINVAL;
	h->prog = c.p + hlen;
	h->min_len = (unsigned int)dcursor__fixed(&c, 1);
	h->max_ops = h->version >= 4 ? (unsigned int)dcursor__fixed(&c, 1) : 1;
	h->default_stmt = dcursor__fixed(&c, 1) != 0;
	h->line_base = (int8_t)dcursor__fixed(&c, 1);
	h->line_range = (unsigned int)dcursor__fixed(&c, 1);
	h->opcode_base = (unsigned int)dcursor__fixed(&c, 1);
	if (c.bad || !h->max_ops || !h->opcode_base || (size_t)(c.end - c.p) < h->opcode_base - 1)
		return -EINVAL;
	h->std_len = c.p - 1;
	h->files = c.p + h->opcode_base - 1;
	return h->files <= h->prog ? 0 : -EINVAL;
}

static int files_add(struct line_rows *t, char *name)
{
	if (t->nfiles == t->cap_files) {
		size_t cap = t->cap_files ? 2 * t->cap_files : 64;
		char **p = realloc(t->files, cap * sizeof(*p));

		if (!p) {
			free(name);
			return -ENOMEM;
		}
		t->files = p;
		t->cap_files = cap;
	}
	t->files[t->nfiles++] = name;
	return 0;
}

/* A file's name as libdw gives it: absolute, else after its directory and a '/'. */
static int file_add(struct line_rows *t, const char *dir, const char *name)
{
	size_t ld = dir ? strlen(dir) : 0, ln = strlen(name);
	char *s = malloc(ld + 1 + ln + 1);

	if (!s)
		return -ENOMEM;
	if (name[0] == '/' || !dir) {
		memcpy(s, name, ln + 1);
	} else {
		memcpy(s, dir, ld);
		s[ld] = '/';
		memcpy(s + ld + 1, name, ln + 1);
	}
	return files_add(t, s);
}

/* DWARF 2 to 4: directories and files as strings; directory 0 is comp_dir. */
static int files_v4(struct line_rows *t, const struct line_header *h, const char *comp_dir)
{
	struct dcursor c = {h->files, h->prog, false};
	const char **dirs = NULL;
	size_t ndirs = 1, cap = 0;
	int err = 0;

	for (;;) {
		if (c.p >= c.end)
			return -EINVAL;
		if (!*c.p)
			break;
		if (ndirs >= cap) {
			const char **p = realloc(dirs, (cap = 2 * ndirs + 16) * sizeof(*p));

			if (!p) {
				free(dirs);
				return -ENOMEM;
			}
			dirs = p;
		}
		if (!(dirs[ndirs++] = l_str(&c))) {
			free(dirs);
			return -EINVAL;
		}
	}
	c.p++;
	/* File 0 does not exist before DWARF 5: libdw names it "???". */
	err = file_add(t, NULL, "???");
	while (!err) {
		const char *name;
		uint64_t di;

		if (c.p >= c.end) {
			err = -EINVAL;
			break;
		}
		if (!*c.p)
			break;
		name = l_str(&c);
		di = dcursor__uleb(&c);
		dcursor__uleb(&c);
		dcursor__uleb(&c);
		if (c.bad || di >= ndirs)
			err = -EINVAL;
		else
			err = file_add(t, di ? dirs[di] : comp_dir, name);
	}
	free(dirs);
	if (!err && c.p + 1 != c.end)
		err = -EINVAL; /* the header's length must end at the list's end */
	return err;
}

/* An entry's value of form: a string (DW_LNCT_path), else a number; -ENOTSUP for a
 * form not read here. */
static int entry_value(struct dcursor *c, const struct line_program *in, unsigned int off_size,
		       uint64_t form, const char **s, uint64_t *v)
{
	uint64_t o;

	*s = NULL;
	*v = 0;
	switch (form) {
	case DW_FORM_string:
		*s = l_str(c);
		return 0;
	case DW_FORM_line_strp:
	case DW_FORM_strp:
		o = dcursor__fixed(c, off_size);
		if (form == DW_FORM_line_strp ? o >= in->line_str_size : o >= in->str_size)
			return -EINVAL;
		*s = (const char *)(form == DW_FORM_line_strp ? in->line_str : in->str) + o;
		return 0;
	case DW_FORM_data1:
		*v = dcursor__fixed(c, 1);
		return 0;
	case DW_FORM_data2:
		*v = dcursor__fixed(c, 2);
		return 0;
	case DW_FORM_data4:
		*v = dcursor__fixed(c, 4);
		return 0;
	case DW_FORM_data8:
		*v = dcursor__fixed(c, 8);
		return 0;
	case DW_FORM_udata:
		*v = dcursor__uleb(c);
		return 0;
	case DW_FORM_data16:
		dcursor__fixed(c, 8);
		dcursor__fixed(c, 8);
		return 0;
	case DW_FORM_block:
		o = dcursor__uleb(c);
		if (o > (uint64_t)(c->end - c->p))
			c->bad = true;
		else
			c->p += o;
		return 0;
	}
	return -ENOTSUP;
}

/* DWARF 5: an entry format (pairs of content type and form), then entries in it. Each
 * entry's path and directory index (files only) into path[i], idx[i]. */
struct v5_list {
	uint64_t type[16], form[16];
	unsigned int nformat;
	int path, dir; /* which of the format is DW_LNCT_path, DW_LNCT_directory_index */
};

static int v5_format(struct dcursor *c, struct v5_list *l, bool files)
{
	unsigned int i;

	l->nformat = (unsigned int)dcursor__fixed(c, 1);
	l->path = l->dir = -1;
	if (l->nformat > 16)
		return -ENOTSUP;
	for (i = 0; i < l->nformat; i++) {
		l->type[i] = dcursor__uleb(c);
		l->form[i] = dcursor__uleb(c);
		if (l->type[i] == DW_LNCT_path)
			l->path = (int)i;
		else if (l->type[i] == DW_LNCT_directory_index)
			l->dir = (int)i;
	}
	if (c->bad || (l->nformat && (l->path < 0 || (files && l->dir < 0))))
		return -EINVAL;
	return 0;
}

/* One entry: its path and (files) its directory index. */
static int v5_entry(struct dcursor *c, const struct line_program *in, const struct line_header *h,
		    const struct v5_list *l, const char **path, uint64_t *dir)
{
	unsigned int i;

	*path = NULL;
	*dir = UINT64_MAX;
	for (i = 0; i < l->nformat; i++) {
		const char *s;
		uint64_t v;
		int err = entry_value(c, in, h->off_size, l->form[i], &s, &v);

		if (err)
			return err;
		if ((int)i == l->path) {
			if (!s)
				return -ENOTSUP;
			*path = s;
		} else if ((int)i == l->dir) {
			/* libdw reads it as a constant (dwarf_formudata) */
			if (l->form[i] != DW_FORM_data1 && l->form[i] != DW_FORM_data2 &&
			    l->form[i] != DW_FORM_data4 && l->form[i] != DW_FORM_data8 &&
			    l->form[i] != DW_FORM_udata)
				return -ENOTSUP;
			*dir = v;
		}
	}
	return c->bad || !*path ? -EINVAL : 0;
}

static int files_v5(struct line_rows *t, const struct line_header *h, const struct line_program *in)
{
	struct dcursor c = {h->files, h->prog, false};
	struct v5_list l;
	const char **dirs = NULL;
	uint64_t n, i, di;
	const char *path;
	int err;

	if ((err = v5_format(&c, &l, false)))
		return err;
	n = dcursor__uleb(&c);
	if (c.bad || (!l.nformat && n) || (l.nformat && n > (uint64_t)(c.end - c.p) / l.nformat))
		return -EINVAL;
	dirs = malloc((n ? n : 1) * sizeof(*dirs));
	if (!dirs)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++)
		err = v5_entry(&c, in, h, &l, &dirs[i], &di);
	if (!err)
		err = v5_format(&c, &l, true);
	if (!err) {
		uint64_t nf = dcursor__uleb(&c);

		if (c.bad || (!l.nformat && nf) ||
		    (l.nformat && nf > (uint64_t)(c.end - c.p) / l.nformat))
			err = -EINVAL;
		for (i = 0; i < nf && !err; i++) {
			err = v5_entry(&c, in, h, &l, &path, &di);
			if (!err && di >= n)
				err = -EINVAL;
			if (!err)
				err = file_add(t, dirs[di], path);
		}
		/* No file at all: file 0 is still libdw's "???". */
		if (!err && !nf)
			err = file_add(t, NULL, "???");
	}
	free(dirs);
	if (!err && c.p != c.end)
		err = -EINVAL;
	return err;
}

/* The state machine's registers that name a row. */
struct line_state {
	uint64_t addr;
	uint64_t op_index, file, column, isa;
	int64_t line;
	bool stmt;
};

static int row_add(struct line_rows *t, const struct line_state *s, bool end)
{
	/* libdw keeps line as an int, column 16 bits, isa and op_index 8 bits, file 32: a
	 * value that does not fit makes the table invalid. */
	if (s->line < INT32_MIN || s->line > INT32_MAX || s->column > 0xffff || s->isa > 0xff ||
	    s->op_index > 0xff || s->file > UINT32_MAX)
		return -EINVAL;
	if (ARRAY_RESERVE(t->rows, t->cap, t->n + 1, 256))
		return -ENOMEM;
	t->rows[t->n++] = (struct line_rec){s->addr, (uint32_t)s->file, (int32_t)s->line, end};
	return 0;
}

/* An operation advance, in libdw's 32-bit arithmetic. */
static void advance_pc(struct line_state *s, const struct line_header *h, uint32_t adv)
{
	uint32_t sum = (uint32_t)s->op_index + adv;

	s->addr += (uint32_t)(h->min_len * (sum / h->max_ops));
	s->op_index = sum % h->max_ops;
}

static void state_reset(struct line_state *s, const struct line_header *h)
{
	*s = (struct line_state){0, 0, 1, 0, 0, 1, h->default_stmt};
}

/* An extended opcode (after its 0). */
static int op_extended(struct dcursor *c, struct line_rows *t, struct line_state *s,
		       const struct line_header *h, const struct line_program *in)
{
	unsigned int len, op;
	int err;

	if (c->end - c->p < 2)
		return -EINVAL;
	len = *c->p++;
	if ((size_t)(c->end - c->p) < len)
		return -EINVAL;
	op = *c->p++;
	switch (op) {
	case DW_LNE_end_sequence:
		err = row_add(t, s, true);
		state_reset(s, h);
		return err;
	case DW_LNE_set_address:
		s->op_index = 0;
		s->addr = dcursor__fixed(c, in->addr_size);
		return c->bad ? -EINVAL : 0;
	case DW_LNE_define_file:
		return -ENOTSUP; /* never seen from GCC or clang; libdw reads it */
	case DW_LNE_set_discriminator:
		if (h->opcode_base <= op || h->std_len[op] != 1)
			return -EINVAL;
		dcursor__uleb(c);
		return c->bad ? -EINVAL : 0;
	case DW_LNE_NVIDIA_inlined_call:
	case DW_LNE_NVIDIA_set_function_name:
		return -ENOTSUP;
	}
	if (!len || (size_t)(c->end - c->p) < len - 1u)
		return -EINVAL;
	c->p += len - 1;
	return 0;
}

/* The number of ULEB128 arguments a standard opcode must have, as libdw checks. */
static int std_args(unsigned int op)
{
	switch (op) {
	case DW_LNS_advance_pc:
	case DW_LNS_advance_line:
	case DW_LNS_set_file:
	case DW_LNS_set_column:
	case DW_LNS_fixed_advance_pc:
	case DW_LNS_set_isa:
		return 1;
	}
	return 0;
}

/* A standard opcode (below opcode_base). */
static int op_standard(struct dcursor *c, struct line_rows *t, struct line_state *s,
		       const struct line_header *h, unsigned int op)
{
	unsigned int i;
	int err = 0;

	if (op > DW_LNS_set_isa) {
		for (i = h->std_len[op]; i > 0 && !c->bad; i--)
			dcursor__uleb(c);
		return c->bad ? -EINVAL : 0;
	}
	if (h->std_len[op] != std_args(op))
		return -EINVAL;
	switch (op) {
	case DW_LNS_copy:
		err = row_add(t, s, false);
		break;
	case DW_LNS_advance_pc:
		advance_pc(s, h, (uint32_t)dcursor__uleb(c));
		break;
	case DW_LNS_advance_line:
		s->line += (int32_t)l_sleb(c);
		break;
	case DW_LNS_set_file:
		s->file = (uint32_t)dcursor__uleb(c);
		break;
	case DW_LNS_set_column:
		s->column = (uint32_t)dcursor__uleb(c);
		break;
	case DW_LNS_negate_stmt:
		s->stmt = !s->stmt;
		break;
	case DW_LNS_const_add_pc:
		if (!h->line_range)
			return -EINVAL;
		advance_pc(s, h, (255 - h->opcode_base) / h->line_range);
		break;
	case DW_LNS_fixed_advance_pc:
		if (c->end - c->p < 2)
			return -EINVAL;
		s->addr += dcursor__fixed(c, 2);
		s->op_index = 0;
		break;
	case DW_LNS_set_isa:
		s->isa = (uint32_t)dcursor__uleb(c);
		break;
	}
	return err ? err : c->bad ? -EINVAL : 0;
}

static int program_run(struct line_rows *t, const struct line_header *h,
		       const struct line_program *in)
{
	struct dcursor c = {h->prog, h->end, false};
	struct line_state s;
	int err = 0;

	state_reset(&s, h);
	while (!err && c.p < c.end) {
		unsigned int op = *c.p++;

		if (op >= h->opcode_base) {
			if (!h->line_range)
				return -EINVAL;
			s.line += h->line_base + (int)((op - h->opcode_base) % h->line_range);
			advance_pc(&s, h, (op - h->opcode_base) / h->line_range);
			err = row_add(t, &s, false);
		} else if (op == 0) {
			err = op_extended(&c, t, &s, h, in);
		} else {
			err = op_standard(&c, t, &s, h, op);
		}
	}
	return err;
}

/* Row a before row b: by address, an end of sequence first, else in the program's order
 * (the merge is stable). */
static bool rec_before(const struct line_rec *a, const struct line_rec *b)
{
	return a->addr != b->addr ? a->addr < b->addr : a->end > b->end;
}

/* The sorted runs [a, a + n1) and [a + n1, a + n1 + n2) merged into out (stable). */
static void recs_merge(const struct line_rec *a, size_t n1, size_t n2, struct line_rec *out)
{
	const struct line_rec *b = a + n1;
	size_t i = 0, j = 0, k = 0;

	while (i < n1 && j < n2)
		out[k++] = rec_before(&b[j], &a[i]) ? b[j++] : a[i++];
	memcpy(out + k, a + i, (n1 - i) * sizeof(*out));
	k += n1 - i;
	memcpy(out + k, b + j, (n2 - j) * sizeof(*out));
}

/*
 * Stable sort of the rows: the runs already in order (the program's sequences, often one
 * after the other) found, then merged two by two. Returns the sorted array, rows or tmp.
 */
static struct line_rec *recs_sort(struct line_rec *rows, struct line_rec *tmp, size_t n,
				  size_t *runs)
{
	size_t nruns = 0, i;

	for (i = 0; i < n; i++)
		if (!i || rec_before(&rows[i], &rows[i - 1]))
			runs[nruns++] = i;
	runs[nruns] = n;
	while (nruns > 1) {
		size_t r, m = 0;
		struct line_rec *t;

		for (r = 0; r < nruns; r += 2) {
			size_t lo = runs[r], mid = runs[r + 1 < nruns ? r + 1 : nruns];
			size_t hi = runs[r + 2 < nruns ? r + 2 : nruns];

			recs_merge(rows + lo, mid - lo, hi - mid, tmp + lo);
			runs[m++] = lo;
		}
		runs[m] = n;
		nruns = m;
		t = rows;
		rows = tmp;
		tmp = t;
	}
	return rows;
}

void line_rows__free(struct line_rows *t)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	free(t->rows);
	*t = (struct line_rows){0};
}

int line_rows__read(struct line_rows *t, const struct line_program *in)
{
	struct line_header h;
	struct line_rec *tmp;
	int err;

	*t = (struct line_rows){0};
	if (in->addr_size != 4 && in->addr_size != 8)
		return -EINVAL;
	err = header_read(&h, in);
	if (!err)
		err = h.version >= 5 ? files_v5(t, &h, in) : files_v4(t, &h, in->comp_dir);
	if (!err)
		err = program_run(t, &h, in);
	if (!err && t->n) {
		size_t *runs = malloc((t->n + 1) * sizeof(*runs));
		struct line_rec *sorted;

		tmp = malloc(t->n * sizeof(*tmp));
		if (tmp && runs) {
			sorted = recs_sort(t->rows, tmp, t->n, runs);
			if (sorted == tmp) {
				tmp = t->rows;
				t->rows = sorted;
				t->cap = t->n;
			}
			t->rows[t->n - 1].end = true;
		} else {
			err = -ENOMEM;
		}
		free(tmp);
		free(runs);
	}
	if (err)
		line_rows__free(t);
	return err;
}
