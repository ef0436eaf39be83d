// SPDX-License-Identifier: GPL-2.0
/*
 * One pass over a compilation unit's DIEs, straight from its bytes and its abbreviation
 * table (read once per unit), keeping only where functions and their inlined scopes are:
 * the DW_TAG_subprogram DIEs at its top and inside namespaces and modules (and, but in C,
 * classes, structures and unions), and under each of them its inlined subroutines and
 * lexical blocks, with the scope each is in. dwarf.c then reads only these DIEs with
 * libdw. libdw's dwarf_siblingof and dwarf_tag look each DIE's abbreviation up in a hash
 * table and measure each attribute through calls; over libc's debug file that walk was a
 * sixth of naming a million addresses.
 *
 * The DIEs are bytes of an untrusted file (docs/security.md): every read is bounded by the
 * unit's end, DW_AT_sibling is followed only forwards inside the unit, nesting is
 * bounded. A unit the pass cannot read (a form it does not know, an abbreviation code
 * missing, more nesting than it follows) gives -EINVAL, and dwarf.c walks it with libdw
 * as before. Fuzzed by fuzz_dwarf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include "dwarf-cursor.h"
#include "symbolize-private.h"
#include "array.h"

/* Abbreviation codes followed at most (GCC numbers them from 1, a few hundred a unit). */
#define SCAN_MAX_CODES 65536
/* DIEs nested inside each other at most, while skipping or following. */
#define SCAN_MAX_NEST 256

/* An abbreviation: its tag, children flag, and its attributes' forms in forms[first..). */
struct abbrev {
	uint32_t first, n; /* n == 0 and tag == 0: the code is not defined */
	uint16_t tag;
	bool children, defined;
	bool has_pc;	     /* DW_AT_low_pc or DW_AT_ranges: it may have code (dwarf_ranges) */
	int sibling;	     /* which attribute is DW_AT_sibling, -1: none */
	int size;	     /* its attributes' bytes when every form has a fixed size, else -1 */
	int sib_off;	     /* with size >= 0: where its DW_AT_sibling's value is */
	int low_pc, high_pc; /* which attributes are DW_AT_low_pc, DW_AT_high_pc, -1: none */
	int ranges;	     /* which attribute is DW_AT_ranges, -1: none */
	uint32_t spec;	     /* where its attributes' names and forms are in the section */
};

struct abbrevs {
	const uint8_t *sec, *end; /* the section */
	struct abbrev *a;	  /* by code */
	size_t na;
	uint16_t *forms;
	size_t nforms, cap_forms;
};

/* An SLEB128 of at most 9 bytes (*ok false when longer or cut short). */
static uint64_t sleb(struct dcursor *c, bool *ok)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	*ok = false;
	while (c->p < c->end) {
		uint8_t b = *c->p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (b & 0x40)
				v |= ~(uint64_t)0 << shift;
			*ok = true;
			return v;
		}
		if (shift == 63) {
			dcursor__uleb_long(c);
			return 0;
		}
	}
	c->bad = true;
	return 0;
}

/* The unit's sizes: of an address, a section offset; and its DWARF version. */
struct unit_shape {
	unsigned int addr_size, off_size, version;
};

/* The bytes of a form when they are fixed (by the unit's shape), else -1. */
static int form_size(unsigned int form, const struct unit_shape *u)
{
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return 0;
	case DW_FORM_data1:
	case DW_FORM_ref1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2:
	case DW_FORM_ref2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4:
	case DW_FORM_ref4:
	case DW_FORM_ref_sup4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
		return 4;
	case DW_FORM_data8:
	case DW_FORM_ref8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16:
		return 16;
	case DW_FORM_addr:
		return (int)u->addr_size;
	case DW_FORM_ref_addr:
		return (int)(u->version == 2 ? u->addr_size : u->off_size);
	case DW_FORM_strp:
	case DW_FORM_line_strp:
	case DW_FORM_sec_offset:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_GNU_strp_alt:
		return (int)u->off_size;
	}
	return -1;
}

/* An abbreviation's size and sibling's place, when its forms' sizes are fixed. */
static void abbrev_size(const struct abbrevs *t, struct abbrev *a, const struct unit_shape *u)
{
	uint32_t i;

	a->size = 0;
	a->sib_off = -1;
	for (i = 0; i < a->n; i++) {
		int n = form_size(t->forms[a->first + i], u);

		if (n < 0) {
			a->size = -1;
			return;
		}
		if ((int)i == a->sibling)
			a->sib_off = a->size;
		a->size += n;
	}
}

static void abbrevs__free(struct abbrevs *t)
{
	free(t->a);
	free(t->forms);
}

static int form_add(struct abbrevs *t, uint64_t form)
{
	if (t->nforms == t->cap_forms) {
		size_t cap = t->cap_forms ? 2 * t->cap_forms : 256;
		uint16_t *p = realloc(t->forms, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->forms = p;
		t->cap_forms = cap;
	}
	t->forms[t->nforms++] = (uint16_t)form;
	return 0;
}

/* One abbreviation's attributes (after its code, tag and children flag). */
static int abbrev_attrs(struct abbrevs *t, struct dcursor *c, struct abbrev *a)
{
	for (;;) {
		uint64_t name = dcursor__uleb(c), form = dcursor__uleb(c);

		if (c->bad || form > UINT16_MAX)
			return -EINVAL;
		if (!name && !form)
			return 0;
		if (form == DW_FORM_implicit_const)
			dcursor__uleb(c); /* its value (signed: the same bytes) is in the table */
		if (name == DW_AT_sibling && a->sibling < 0)
			a->sibling = (int)a->n;
		if (name == DW_AT_low_pc || name == DW_AT_ranges)
			a->has_pc = true;
		if (name == DW_AT_low_pc && a->low_pc < 0)
			a->low_pc = (int)a->n;
		if (name == DW_AT_high_pc && a->high_pc < 0)
			a->high_pc = (int)a->n;
		if (name == DW_AT_ranges && a->ranges < 0)
			a->ranges = (int)a->n;
		if (form_add(t, form))
			return -ENOMEM;
		a->n++;
	}
}

/* The unit's abbreviation table, from its offset in the section. */
static int abbrevs__read(struct abbrevs *t, const uint8_t *sec, size_t size, uint64_t off,
			 const struct unit_shape *u)
{
	struct dcursor c = {sec + (off < size ? off : size), sec + size, off >= size};

	if (size > UINT32_MAX)
		return -EINVAL; /* spec would not hold its offsets */
	t->sec = sec;
	t->end = sec + size;

	while (!c.bad) {
		uint64_t code = dcursor__uleb(&c), tag;
		struct abbrev *a;

		if (!code)
			return c.bad ? -EINVAL : 0;
		tag = dcursor__uleb(&c);
		if (code >= SCAN_MAX_CODES || c.p >= c.end || tag > UINT16_MAX)
			return -EINVAL;
		if (code >= t->na) {
			size_t n = code + 1 > 2 * t->na ? code + 1 : 2 * t->na;
			struct abbrev *p = realloc(t->a, n * sizeof(*p));

			if (!p)
				return -ENOMEM;
			memset(p + t->na, 0, (n - t->na) * sizeof(*p));
			t->a = p;
			t->na = n;
		}
		a = &t->a[code];
		if (a->defined)
			return -EINVAL; /* libdw keeps the first; a unit that differs is left to it */
		*a = (struct abbrev){.first = (uint32_t)t->nforms,
				     .tag = (uint16_t)tag,
				     .children = *c.p++ != 0,
				     .defined = true,
				     .sibling = -1,
				     .low_pc = -1,
				     .high_pc = -1,
				     .ranges = -1};
		a->spec = (uint32_t)(c.p - sec);
		if (abbrev_attrs(t, &c, a))
			return -EINVAL;
		abbrev_size(t, a, u);
	}
	return -EINVAL;
}

/* Past one attribute of the given form; its value when it is a constant or reference. */
static uint64_t form_skip(struct dcursor *c, const struct unit_shape *u, unsigned int form,
			  int indirect)
{
	int n = form_size(form, u);

	if (n > 8) {
		dcursor__skip(c, (uint64_t)n);
		return 0;
	}
	if (n >= 0)
		return n ? dcursor__fixed(c, (unsigned int)n) : 0;
	switch (form) {
	case DW_FORM_sdata:
	case DW_FORM_udata:
	case DW_FORM_ref_udata:
	case DW_FORM_strx:
	case DW_FORM_addrx:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_GNU_addr_index:
	case DW_FORM_GNU_str_index:
		return dcursor__uleb(c);
	case DW_FORM_string: {
		const uint8_t *nul = memchr(c->p, 0, (size_t)(c->end - c->p));

		if (!nul)
			c->bad = true;
		c->p = nul ? nul + 1 : c->end;
		return 0;
	}
	case DW_FORM_block1:
		dcursor__skip(c, dcursor__fixed(c, 1));
		return 0;
	case DW_FORM_block2:
		dcursor__skip(c, dcursor__fixed(c, 2));
		return 0;
	case DW_FORM_block4:
		dcursor__skip(c, dcursor__fixed(c, 4));
		return 0;
	case DW_FORM_block:
	case DW_FORM_exprloc:
		dcursor__skip(c, dcursor__uleb(c));
		return 0;
	case DW_FORM_indirect:
		form = (unsigned int)dcursor__uleb(c);
		if (!indirect && form != DW_FORM_indirect && form != DW_FORM_implicit_const &&
		    form <= UINT16_MAX)
			return form_skip(c, u, form, 1);
		/* fall through */
	default:
		c->bad = true;
		return 0;
	}
}

/* What the children of a DIE are read for. */
enum scan_mode {
	SCAN_CONTAINER, /* the unit, a namespace, ...: its subprograms are functions */
	SCAN_SCOPES,	/* a function or an inlined scope or block: its inlined scopes and blocks */
	SCAN_SKIP,	/* nothing: only passed over */
};

struct scan_level {
	enum scan_mode mode;
	int parent; /* SCAN_SCOPES: the node the children are in */
	int depth;  /* SCAN_CONTAINER: nesting of containers; SCAN_SCOPES: of the children */
};

struct scan {
	struct dcursor c;
	const uint8_t *unit;	  /* where the unit starts: DW_AT_sibling counts from it */
	const uint8_t *die_first; /* the unit's DIE */
	uint64_t unit_off;	  /* and its offset in .debug_info */
	struct unit_shape u;
	const struct abbrevs *t;
	bool c_lang;
	struct scan_level stack[SCAN_MAX_NEST];
	int nstack;
	struct die_scan *out;
};

static int node_add(struct die_scan *s, uint64_t off, int parent, int depth, unsigned int tag)
{
	if (ARRAY_RESERVE(s->nodes, s->cap, s->n + 1, 256))
		return -ENOMEM;
	s->nodes[s->n] =
		(struct die_node){off, parent, depth, tag, false, 0, 0, 0, false, false, 0, 0, 0};
	return (int)s->n++;
}

/* What a DIE met while its parent's children are read for mode does with its own. */
static struct scan_level child_level(const struct scan *s, const struct scan_level *in,
				     const struct abbrev *a, int node)
{
	struct scan_level skip = {SCAN_SKIP, -1, 0};
	unsigned int tag = a->tag;

	if (in->mode == SCAN_CONTAINER) {
		/* A declaration or an abstract instance has no code, so no scope is read. */
		if (tag == DW_TAG_subprogram)
			return a->has_pc ? (struct scan_level){SCAN_SCOPES, node, 1} : skip;
		if (tag == DW_TAG_namespace || tag == DW_TAG_module ||
		    (!s->c_lang && (tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
				    tag == DW_TAG_union_type)))
			return in->depth < 16
				       ? (struct scan_level){SCAN_CONTAINER, -1, in->depth + 1}
				       : skip;
		return skip;
	}
	if (in->mode == SCAN_SCOPES &&
	    (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) &&
	    in->depth + 1 < DIE_SCAN_MAX_DEPTH)
		return (struct scan_level){SCAN_SCOPES, node, in->depth + 1};
	return skip;
}

/* The node a DIE of tag is, if it is kept (-1: not kept; < -1: an error). */
static int die_keep(struct scan *s, const struct scan_level *in, uint64_t off,
		    const struct abbrev *a)
{
	unsigned int tag = a->tag;

	if (in->mode == SCAN_CONTAINER && tag == DW_TAG_subprogram && a->has_pc)
		return node_add(s->out, off, -1, 0, tag);
	if (in->mode == SCAN_SCOPES &&
	    (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block))
		return node_add(s->out, off, in->parent, in->depth, tag);
	return -1;
}

/* A constant's form that dwarf_formudata reads as the value form_skip gives. */
static bool form_const(uint64_t form)
{
	return form == DW_FORM_data1 || form == DW_FORM_data2 || form == DW_FORM_data4 ||
	       form == DW_FORM_data8 || form == DW_FORM_udata;
}

/* Where an inlined scope's call site is: which attributes, or implicit constants. */
struct call_attrs {
	int file, line;		     /* which attribute, -1: none */
	bool file_const, line_const; /* DW_FORM_implicit_const: the value is here */
	uint64_t file_v, line_v;
	bool ok;    /* both absent or constants libdw reads the same */
	int origin; /* which is DW_AT_abstract_origin (a reference in the unit), -1: none */
	bool named; /* a name of its own: DW_AT_name or a linkage name */
};

/* An inlined scope's abbreviation's call site attributes (read again from its spec: only
 * inlined scopes need them). */
static struct call_attrs call_attrs(const struct abbrevs *t, const struct abbrev *a)
{
	struct call_attrs k = {-1, -1, false, false, 0, 0, false, -1, false};
	struct dcursor c = {t->sec + a->spec, t->end, false};
	bool origin_seen = false, unreadable = false;
	uint32_t i;

	for (i = 0; i < a->n && !c.bad; i++) {
		uint64_t name = dcursor__uleb(&c), form = dcursor__uleb(&c), v = 0;
		bool ok = true, cst = form == DW_FORM_implicit_const;

		if (cst)
			v = sleb(&c, &ok);
		if (name == DW_AT_name || name == DW_AT_linkage_name ||
		    name == DW_AT_MIPS_linkage_name)
			k.named = true;
		if (name == DW_AT_abstract_origin && !origin_seen) {
			origin_seen = true;
			if (form == DW_FORM_ref1 || form == DW_FORM_ref2 || form == DW_FORM_ref4 ||
			    form == DW_FORM_ref8 || form == DW_FORM_ref_udata)
				k.origin = (int)i;
		}
		if ((name != DW_AT_call_file && name != DW_AT_call_line) ||
		    (name == DW_AT_call_file ? k.file : k.line) >= 0)
			continue;
		if (!ok || (!cst && !form_const(form))) {
			unreadable = true; /* still read on: its names and origin are wanted */
			continue;
		}
		if (name == DW_AT_call_file)
			k.file = (int)i, k.file_const = cst, k.file_v = v;
		else
			k.line = (int)i, k.line_const = cst, k.line_v = v;
	}
	k.ok = !c.bad && !unreadable;
	if (c.bad)
		k.origin = -1;
	return k;
}

/* The call site read into n from the values at k's attributes. */
static void die_call(const struct call_attrs *k, struct die_node *n, uint64_t file, uint64_t line)
{
	n->call = true;
	n->has_file = k->file >= 0;
	n->call_file = k->file_const ? k->file_v : file;
	n->call_line = k->line < 0 ? 0 : k->line_const ? k->line_v : line;
}

/*
 * Past a kept DIE's attributes, its code's range taken when it is one DW_AT_low_pc
 * (DW_FORM_addr) and one DW_AT_high_pc (an address, or a constant from low_pc), as
 * libdw's dwarf_ranges gives it then; other DIEs (DW_AT_ranges, indexed addresses) are
 * left to libdw. Its sibling is not needed: its children are read.
 */
static void die_pc(struct scan *s, const struct abbrev *a, struct die_node *n)
{
	struct call_attrs k = {-1, -1, false, false, 0, 0, false, -1, false};
	unsigned int lf = 0, hf = 0;
	uint64_t lo = 0, hi = 0, file = 0, line = 0, origin = 0;
	uint32_t i;

	if (a->tag == DW_TAG_inlined_subroutine)
		k = call_attrs(s->t, a);

	for (i = 0; i < a->n && !s->c.bad; i++) {
		unsigned int form = s->t->forms[a->first + i];
		uint64_t v = form_skip(&s->c, &s->u, form, 0);

		if ((int)i == a->low_pc)
			lo = v, lf = form;
		else if ((int)i == a->high_pc)
			hi = v, hf = form;
		else if ((int)i == a->ranges && form == DW_FORM_sec_offset)
			n->ranges = v + 1;
		else if ((int)i == k.file)
			file = v;
		else if ((int)i == k.line)
			line = v;
		else if ((int)i == k.origin)
			origin = v;
	}
	if (s->c.bad)
		return;
	if (k.ok)
		die_call(&k, n, file, line);
	/* Its names are its origin's (as dwarf_attr_integrate finds them) when it has none. */
	if (!k.named && k.origin >= 0 && origin > (uint64_t)(s->die_first - s->unit) &&
	    origin < (uint64_t)(s->c.end - s->unit))
		n->origin = s->unit_off + origin;
	if (lf != DW_FORM_addr)
		return;
	switch (hf) {
	case DW_FORM_addr:
		break;
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
	case DW_FORM_udata:
		hi += lo;
		break;
	default:
		return;
	}
	n->pc = true;
	n->lo = lo;
	n->hi = hi;
}

/* One DIE at the cursor: kept or not, then its children entered or passed over. */
static int scan_die(struct scan *s)
{
	uint64_t off = s->unit_off + (uint64_t)(s->c.p - s->unit);
	const struct scan_level *in = &s->stack[s->nstack - 1];
	const struct abbrev *a;
	uint64_t sibling = 0, code;
	struct scan_level next;
	uint32_t i;
	int node;

	code = dcursor__uleb(&s->c);
	if (s->c.bad || code >= s->t->na || !s->t->a[code].defined)
		return -EINVAL;
	a = &s->t->a[code];
	node = die_keep(s, in, off, a);
	if (node < -1)
		return node;
	if (node >= 0) {
		die_pc(s, a, &s->out->nodes[node]);
	} else if (a->size >= 0) {
		const uint8_t *p = s->c.p;

		dcursor__skip(&s->c, (uint64_t)a->size);
		if (!s->c.bad && a->sib_off >= 0) {
			struct dcursor sc = {p + a->sib_off, s->c.p, false};

			sibling = form_skip(&sc, &s->u, s->t->forms[a->first + a->sibling], 0);
		}
	}
	for (i = 0; node < 0 && a->size < 0 && i < a->n && !s->c.bad; i++) {
		uint64_t v = form_skip(&s->c, &s->u, s->t->forms[a->first + i], 0);

		if ((int)i == a->sibling)
			sibling = v;
	}
	if (s->c.bad)
		return -EINVAL;
	if (!a->children)
		return 0;
	/* The unit's own DIE: its children are the top. */
	next = s->nstack == 1 ? (struct scan_level){SCAN_CONTAINER, -1, 0}
			      : child_level(s, in, a, node);
	/* Passed over: straight to the sibling when it is ahead inside the unit (a CU-relative
	 * reference; a DW_FORM_ref_addr one counts from the section, so is not followed). */
	if (next.mode == SCAN_SKIP && a->sibling >= 0 &&
	    s->t->forms[a->first + a->sibling] != DW_FORM_ref_addr &&
	    sibling > (uint64_t)(s->c.p - s->unit) && sibling < (uint64_t)(s->c.end - s->unit)) {
		s->c.p = s->unit + sibling;
		return 0;
	}
	if (s->nstack == SCAN_MAX_NEST)
		return -EINVAL;
	s->stack[s->nstack++] = next;
	return 0;
}

static void origin_names(const struct scan *s, const struct die_scan_unit *in);

int die_scan__unit(struct die_scan *out, const struct die_scan_unit *in)
{
	struct abbrevs t = {0};
	struct scan s = {0};
	int err;

	out->n = 0;
	if (in->die_off < in->unit_off || in->end_off <= in->die_off ||
	    in->end_off - in->unit_off > in->info_size ||
	    in->unit_off > in->info_size - (in->end_off - in->unit_off) ||
	    (in->addr_size != 4 && in->addr_size != 8) || (in->off_size != 4 && in->off_size != 8))
		return -EINVAL;
	s.u = (struct unit_shape){in->addr_size, in->off_size, in->version};
	err = abbrevs__read(&t, in->abbrev, in->abbrev_size, in->abbrev_off, &s.u);
	if (err) {
		abbrevs__free(&t);
		return err;
	}
	s.unit = in->info + in->unit_off;
	s.unit_off = in->unit_off;
	s.die_first = in->info + in->die_off;
	s.c = (struct dcursor){in->info + in->die_off, in->info + in->end_off, false};
	s.t = &t;
	s.c_lang = in->c_lang;
	s.out = out;
	/* Under the unit's DIE, read first: a level of its own (the only one kept at 1). */
	s.stack[s.nstack++] = (struct scan_level){SCAN_SKIP, -1, 0};
	err = scan_die(&s);
	while (!err && s.nstack > 1 && s.c.p < s.c.end) {
		if (!*s.c.p) {
			s.c.p++;
			s.nstack--;
			continue;
		}
		err = scan_die(&s);
	}
	if (!err && (in->str || in->line_str))
		origin_names(&s, in);
	abbrevs__free(&t);
	return err;
}

void die_scan__free(struct die_scan *s)
{
	free(s->nodes);
	*s = (struct die_scan){0};
}

/* The unit's header: its shape, where its DIE is and where it ends. */
static int cu_header(struct cu_die *o, const struct cu_die_in *in, struct dcursor *c)
{
	uint64_t len;

	if (in->unit_off >= in->info_size)
		return -EINVAL;
	*c = (struct dcursor){in->info + in->unit_off, in->info + in->info_size, false};
	len = dcursor__fixed(c, 4);
	o->off_size = 4;
	if (len == 0xffffffff) {
		len = dcursor__fixed(c, 8);
		o->off_size = 8;
	} else if (len >= 0xfffffff0) {
		return -EINVAL;
	}
	if (c->bad || len > (uint64_t)(c->end - c->p))
		return -EINVAL;
	c->end = c->p + len;
	o->end_off = (uint64_t)(c->end - in->info);
	o->version = (unsigned int)dcursor__fixed(c, 2);
	if (o->version < 2 || o->version > 5)
		return -EINVAL;
	if (o->version >= 5) {
		o->unit_type = (unsigned int)dcursor__fixed(c, 1);
		o->addr_size = (unsigned int)dcursor__fixed(c, 1);
		o->abbrev_off = dcursor__fixed(c, o->off_size);
		if (o->unit_type != DW_UT_compile && o->unit_type != DW_UT_partial)
			return -EINVAL;
	} else {
		o->unit_type = DW_UT_compile;
		o->abbrev_off = dcursor__fixed(c, o->off_size);
		o->addr_size = (unsigned int)dcursor__fixed(c, 1);
	}
	if (c->bad || (o->addr_size != 4 && o->addr_size != 8))
		return -EINVAL;
	o->die_off = (uint64_t)(c->p - in->info);
	return 0;
}

/* Where abbreviation code's attributes start in the unit's table (first definition, as
 * libdw keeps it); its tag and children flag read, where its entry starts in *entry. */
static int cu_abbrev_find(struct dcursor *a, uint64_t code, unsigned int *tag,
			  const uint8_t **entry)
{
	while (!a->bad) {
		uint64_t at, name, form;

		*entry = a->p;
		at = dcursor__uleb(a);

		if (!at)
			return -EINVAL;
		*tag = (unsigned int)dcursor__uleb(a);
		dcursor__skip(a, 1);
		if (at == code)
			return a->bad ? -EINVAL : 0;
		do {
			name = dcursor__uleb(a);
			form = dcursor__uleb(a);
			if (form == DW_FORM_implicit_const)
				dcursor__uleb(a);
		} while (!a->bad && (name || form));
	}
	return -EINVAL;
}

/* A string attribute's value: inline, or in .debug_str or .debug_line_str; NULL when its
 * offset is past the section (as libdw gives none). unread when the form is not read. */
static const char *cu_string(const struct cu_die_in *in, struct dcursor *c, unsigned int form,
			     unsigned int off_size, bool *unread)
{
	const uint8_t *sec = form == DW_FORM_strp ? in->str : in->line_str;
	size_t size = form == DW_FORM_strp ? in->str_size : in->line_str_size;
	uint64_t off;

	if (form == DW_FORM_string) {
		const char *s = (const char *)c->p;
		const uint8_t *nul = memchr(c->p, 0, (size_t)(c->end - c->p));

		c->bad |= !nul;
		c->p = nul ? nul + 1 : c->end;
		return nul ? s : NULL;
	}
	if (form != DW_FORM_strp && form != DW_FORM_line_strp) {
		*unread = true;
		return NULL;
	}
	off = dcursor__fixed(c, off_size);
	if (!sec || off >= size)
		return NULL;
	if (sec[size - 1]) {
		*unread = true;
		return NULL;
	}
	return (const char *)sec + off;
}

/* Which attributes of the unit's DIE were met (the first of each is libdw's). */
enum cu_seen {
	SEEN_LOW = 1,
	SEEN_HIGH = 2,
	SEEN_RANGES = 4,
	SEEN_STMT = 8,
	SEEN_LANG = 16,
	SEEN_NAME = 32,
	SEEN_DIR = 64,
};

/* One numeric attribute of the unit's DIE, by name (its first occurrence). */
static void cu_value(struct cu_die *o, unsigned int *seen, bool *high_const, uint64_t name,
		     unsigned int form, uint64_t v)
{
	bool cst = form == DW_FORM_data1 || form == DW_FORM_data2 || form == DW_FORM_data4 ||
		   form == DW_FORM_data8 || form == DW_FORM_udata;
	bool sec_off = form == DW_FORM_sec_offset || form == DW_FORM_data4;

	if (name == DW_AT_low_pc && !(*seen & SEEN_LOW)) {
		*seen |= SEEN_LOW;
		o->has_low_pc = form == DW_FORM_addr;
		o->low_pc = v;
		o->unread |= form == DW_FORM_addr ? 0 : CU_UNREAD_PC;
	} else if (name == DW_AT_high_pc && !(*seen & SEEN_HIGH)) {
		*seen |= SEEN_HIGH;
		o->has_high_pc = form == DW_FORM_addr || cst;
		*high_const = cst;
		o->high_pc = v;
		o->unread |= o->has_high_pc ? 0 : CU_UNREAD_PC;
	} else if (name == DW_AT_ranges && !(*seen & SEEN_RANGES)) {
		*seen |= SEEN_RANGES;
		o->has_ranges = sec_off;
		o->ranges = v;
		o->unread |= sec_off ? 0 : CU_UNREAD_PC;
	} else if (name == DW_AT_stmt_list && !(*seen & SEEN_STMT)) {
		*seen |= SEEN_STMT;
		o->has_stmt_list = sec_off || form == DW_FORM_data8;
		o->stmt_list = v;
		o->unread |= o->has_stmt_list ? 0 : CU_UNREAD_STMT_LIST;
	} else if (name == DW_AT_language && !(*seen & SEEN_LANG)) {
		*seen |= SEEN_LANG;
		o->has_language = cst || form == DW_FORM_implicit_const;
		o->language = v;
		o->unread |= o->has_language ? 0 : CU_UNREAD_LANGUAGE;
	} else if (name == DW_AT_GNU_dwo_id) {
		o->dwo = true;
	} else if (name == DW_AT_abstract_origin || name == DW_AT_specification) {
		o->unread |= CU_UNREAD_LANGUAGE; /* dwarf_srclang would follow it */
	}
}

/* One attribute of the unit's DIE at c, its spec at a. */
static void cu_attr(struct cu_die *o, const struct cu_die_in *in, struct dcursor *a,
		    struct dcursor *c, unsigned int *seen, bool *high_const, uint64_t name,
		    uint64_t form)
{
	const struct unit_shape u = {o->addr_size, o->off_size, o->version};
	bool ok = true, unread = false;
	uint64_t v = 0;

	if (form == DW_FORM_implicit_const)
		v = sleb(a, &ok);
	if (form == DW_FORM_indirect) {
		form = dcursor__uleb(c);
		if (form == DW_FORM_indirect || form == DW_FORM_implicit_const)
			c->bad = true;
	}
	if (!ok || form > UINT16_MAX) {
		c->bad = true;
		return;
	}
	if ((name == DW_AT_name && !(*seen & SEEN_NAME)) ||
	    (name == DW_AT_comp_dir && !(*seen & SEEN_DIR))) {
		bool is_name = name == DW_AT_name;
		const char *s = cu_string(in, c, (unsigned int)form, o->off_size, &unread);

		if (unread)
			form_skip(c, &u, (unsigned int)form, 1);
		*seen |= is_name ? SEEN_NAME : SEEN_DIR;
		*(is_name ? &o->name : &o->comp_dir) = s;
		o->unread |= unread ? (is_name ? CU_UNREAD_NAME : CU_UNREAD_COMP_DIR) : 0;
		return;
	}
	if (form != DW_FORM_implicit_const)
		v = form_skip(c, &u, (unsigned int)form, 1);
	cu_value(o, seen, high_const, name, (unsigned int)form, v);
}

int cu_die__read(struct cu_die *out, const struct cu_die_in *in)
{
	struct cu_die o = {0};
	const uint8_t *entry;
	struct dcursor c, a;
	unsigned int seen = 0;
	bool high_const = false;
	uint64_t code;
	int err = cu_header(&o, in, &c);

	if (err)
		return err;
	code = dcursor__uleb(&c);
	if (c.bad || !code || o.abbrev_off >= in->abbrev_size)
		return -EINVAL;
	a = (struct dcursor){in->abbrev + o.abbrev_off, in->abbrev + in->abbrev_size, false};
	/* Where it was found before, when that still holds this code (else searched). */
	if (in->hint > o.abbrev_off && in->hint <= in->abbrev_size) {
		struct dcursor h = {in->abbrev + in->hint - 1, a.end, false};

		if (dcursor__uleb(&h) == code && !h.bad)
			a.p = in->abbrev + in->hint - 1;
	}
	if (cu_abbrev_find(&a, code, &o.tag, &entry) ||
	    (o.tag != DW_TAG_compile_unit && o.tag != DW_TAG_partial_unit))
		return -EINVAL;
	o.found = (uint64_t)(entry - in->abbrev);
	if (o.version < 5 && o.tag == DW_TAG_partial_unit)
		o.unit_type = DW_UT_partial;
	for (;;) {
		uint64_t name = dcursor__uleb(&a), form = dcursor__uleb(&a);

		if (a.bad || c.bad)
			return -EINVAL;
		if (!name && !form)
			break;
		cu_attr(&o, in, &a, &c, &seen, &high_const, name, form);
	}
	if (c.bad)
		return -EINVAL;
	if (high_const && o.has_low_pc)
		o.high_pc += o.low_pc;
	else if (high_const)
		o.has_high_pc = false; /* libdw's dwarf_highpc needs the low_pc */
	*out = o;
	return 0;
}

/* What one DIE on an origin chain says of names: the first of each attribute. */
struct die_names {
	unsigned int has; /* 1: DW_AT_linkage_name, 2: DW_AT_MIPS_linkage_name, 4: DW_AT_name */
	const char *s[3]; /* their strings, NULL when libdw reads none */
	uint64_t origin;  /* DW_AT_abstract_origin (unit-relative), 0: none */
	uint64_t spec;	  /* DW_AT_specification, 0: none */
	bool origin_seen, spec_seen;
};

/* Which of the names an attribute is, -1: none. */
static int name_slot(uint64_t name)
{
	return name == DW_AT_linkage_name	 ? 0
	       : name == DW_AT_MIPS_linkage_name ? 1
	       : name == DW_AT_name		 ? 2
						 : -1;
}

/* A reference inside the unit, after its DIE, as libdw follows it; 0 when it is not one. */
static uint64_t unit_ref(const struct scan *s, const uint8_t *end, unsigned int form, uint64_t v)
{
	if (form != DW_FORM_ref1 && form != DW_FORM_ref2 && form != DW_FORM_ref4 &&
	    form != DW_FORM_ref8 && form != DW_FORM_ref_udata)
		return 0;
	return v > (uint64_t)(s->die_first - s->unit) && v < (uint64_t)(end - s->unit) ? v : 0;
}

/* One attribute of a DIE on an origin chain; false when libdw must read it. */
static bool names_attr(const struct scan *s, const struct cu_die_in *sin, const uint8_t *end,
		       struct dcursor *c, uint64_t name, unsigned int form, struct die_names *o)
{
	int slot = name_slot(name);
	bool unread = false;
	uint64_t v;

	if (slot >= 0 && !(o->has & (1u << slot))) {
		o->has |= 1u << slot;
		o->s[slot] = cu_string(sin, c, form, s->u.off_size, &unread);
		return !unread;
	}
	v = form_skip(c, &s->u, form, 1);
	if (name == DW_AT_abstract_origin && !o->origin_seen) {
		o->origin_seen = true;
		o->origin = unit_ref(s, end, form, v);
		return o->origin != 0;
	}
	if (name == DW_AT_specification && !o->spec_seen) {
		o->spec_seen = true;
		o->spec = unit_ref(s, end, form, v);
		return o->spec != 0;
	}
	return true;
}

/* The names of the DIE at unit-relative offset rel; false when libdw must read them. */
static bool die_names(const struct scan *s, const struct cu_die_in *sin, const uint8_t *end,
		      uint64_t rel, struct die_names *o)
{
	struct dcursor c = {s->unit + rel, end, false}, spec;
	const struct abbrev *a;
	uint64_t code = dcursor__uleb(&c);
	uint32_t i;

	*o = (struct die_names){0};
	if (c.bad || code >= s->t->na || !s->t->a[code].defined)
		return false;
	a = &s->t->a[code];
	spec = (struct dcursor){s->t->sec + a->spec, s->t->end, false};
	for (i = 0; i < a->n && !c.bad && !spec.bad; i++) {
		uint64_t name = dcursor__uleb(&spec), form = dcursor__uleb(&spec);
		bool ok = true;

		if (form == DW_FORM_implicit_const)
			sleb(&spec, &ok);
		if (form == DW_FORM_indirect) {
			form = dcursor__uleb(&c);
			ok = form != DW_FORM_indirect && form != DW_FORM_implicit_const;
		}
		if (!ok || form > UINT16_MAX ||
		    !names_attr(s, sin, end, &c, name, (unsigned int)form, o))
			return false;
	}
	return !c.bad && !spec.bad;
}

/* Origins followed at most, as libdw's dwarf_attr_integrate follows them. */
#define ORIGIN_CHAIN 17

/* The first DIE of the chain with the name of slot gives it (NULL: none). */
static const char *chain_name(const struct die_names *chain, int n, int slot)
{
	int i;

	for (i = 0; i < n; i++)
		if (chain[i].has & (1u << slot))
			return chain[i].s[slot];
	return NULL;
}

/* An inlined scope's name from its origin's chain, as inline_name reads it with libdw. */
static void origin_name(const struct scan *s, const struct cu_die_in *sin, const uint8_t *end,
			struct die_node *n)
{
	struct die_names chain[ORIGIN_CHAIN];
	uint64_t rel = n->origin - s->unit_off;
	const char *name;
	int len = 0;

	while (len < ORIGIN_CHAIN && rel) {
		if (!die_names(s, sin, end, rel, &chain[len]))
			return;
		rel = chain[len].origin_seen ? chain[len].origin : chain[len].spec;
		len++;
	}
	name = chain_name(chain, len, 0);
	if (!name)
		name = chain_name(chain, len, 1);
	n->mangled = name != NULL;
	n->name = name ? name : chain_name(chain, len, 2);
	n->named = true;
}

/* The names of the unit's inlined scopes that have an origin. */
static void origin_names(const struct scan *s, const struct die_scan_unit *in)
{
	struct cu_die_in sin = {.str = in->str,
				.line_str = in->line_str,
				.str_size = in->str_size,
				.line_str_size = in->line_str_size};
	const uint8_t *end = in->info + in->end_off;
	size_t i;

	for (i = 0; i < s->out->n; i++)
		if (s->out->nodes[i].origin)
			origin_name(s, &sin, end, &s->out->nodes[i]);
}
