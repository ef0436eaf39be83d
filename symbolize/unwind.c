// SPDX-License-Identifier: GPL-2.0
/*
 * CFI unwind tables: an ELF file's .eh_frame (or .debug_frame) compiled with libdw into
 * sorted rows {pc, rule index} over one global table of unique rules (bpf/unwind.h), so
 * the BPF program can walk user stacks of binaries built without frame pointers. Built
 * off the sampling path, once per file, shared between the processes that map it. The
 * reference walker over these tables is symbolize/unwind-walk.c.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include "hashmap.h"
#include "symbolize.h"
#include "symbolize-private.h"
#include "unwind-table.h"
#include "array.h"

/* ---- the rule table ---- */

/* A rule's place in the index: entries live in chunks, so their addresses stay put. */
struct rule_entry {
	struct hashmap_entry node;
	uint32_t idx;
};

#define RULE_CHUNK 1024

/* Slots of the rules' cache (a power of two): a file has a few hundred rules. */
#define RULE_CACHE_BITS 10

struct unwind_rules {
	struct unwind_rule *rules;
	size_t nr, cap;
	struct rule_entry **chunks; /* entry i is chunks[i / RULE_CHUNK][i % RULE_CHUNK] */
	size_t nr_chunks;
	struct hashmap index; /* rule -> its entry */
	/*
	 * Rules interned lately, by a hash of their 24 bytes, in front of the index: a
	 * file's rows use a few hundred rules, and hashing each row's rule for the index took
	 * a fifth of a table's build (python3.11: 61k rows, a few hundred rules). Index + 1, 0: none.
	 */
	uint32_t cache[1u << RULE_CACHE_BITS];
};

static bool rule_match(const struct hashmap_entry *e, const void *key, void *ctx)
{
	const struct unwind_rules *r = ctx;

	return !memcmp(&r->rules[hashmap_entry__of(e, struct rule_entry, node)->idx], key,
		       sizeof(struct unwind_rule));
}

/* Room for one more rule and its entry. */
static int rules_grow(struct unwind_rules *r)
{
	size_t chunk = r->nr / RULE_CHUNK;

	if (ARRAY_RESERVE(r->rules, r->cap, r->nr + 1, 256))
		return -ENOMEM;
	if (chunk == r->nr_chunks) {
		struct rule_entry **chunks = realloc(r->chunks, (chunk + 1) * sizeof(*chunks));

		if (!chunks)
			return -ENOMEM;
		r->chunks = chunks;
		chunks[chunk] = malloc(RULE_CHUNK * sizeof(**chunks));
		if (!chunks[chunk])
			return -ENOMEM;
		r->nr_chunks++;
	}
	return 0;
}

_Static_assert(sizeof(struct unwind_rule) == 24, "a rule is read as 3 words");

/* A rule's first word with its pad bytes (6 and 7) cleared, in registers: a store of the
 * pad then a load of the word across it stalled the intern. */
_Static_assert(offsetof(struct unwind_rule, pad) == 6, "the pad is the first word's last bytes");
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RULE_PAD_MASK 0x0000ffffffffffffull
#else
#define RULE_PAD_MASK 0xffffffffffff0000ull
#endif

static uint32_t rule_slot(const uint64_t *w)
{
	return (w[0] * 0x9e3779b97f4a7c15ull + w[1] * 0xc2b2ae3d27d4eb4full +
		w[2] * 0x165667b19e3779f9ull) >>
	       (64 - RULE_CACHE_BITS);
}

/* Whether the rule a slot of the cache holds (hit: its index + 1, 0: none) is w. */
static bool rule_cached(const struct unwind_rules *r, uint32_t hit, const uint64_t *w)
{
	uint64_t v[3];

	if (!hit)
		return false;
	memcpy(v, &r->rules[hit - 1], sizeof(v));
	return v[0] == w[0] && v[1] == w[1] && v[2] == w[2];
}

int unwind_rules__intern(struct unwind_rules *r, const struct unwind_rule *rule)
{
	struct unwind_rule key;
	struct hashmap_entry *e;
	struct rule_entry *re;
	uint32_t slot;
	uint64_t hash, w[3];

	memcpy(w, rule, sizeof(w));
	w[0] &= RULE_PAD_MASK;
	slot = rule_slot(w);
	if (rule_cached(r, r->cache[slot], w))
		return r->cache[slot] - 1;
	memcpy(&key, w, sizeof(key));
	hash = hash__bytes(&key, sizeof(key), 0);
	e = hashmap__find(&r->index, hash, &key);
	if (e) {
		r->cache[slot] = hashmap_entry__of(e, struct rule_entry, node)->idx + 1;
		return r->cache[slot] - 1;
	}
	if (r->nr >= UNWIND_MAX_RULES)
		return -ENOSPC;
	if (rules_grow(r))
		return -ENOMEM;
	re = &r->chunks[r->nr / RULE_CHUNK][r->nr % RULE_CHUNK];
	re->idx = r->nr;
	r->rules[r->nr] = key;
	if (hashmap__add(&r->index, &re->node, hash))
		return -ENOMEM;
	r->cache[slot] = r->nr + 1;
	return r->nr++;
}

struct unwind_rules *unwind_rules__new(void)
{
	struct unwind_rules *r = calloc(1, sizeof(*r));
	struct unwind_rule fp = {.cfa_type = UNWIND_CFA_FP};

	if (r)
		hashmap__init(&r->index, rule_match, r);
	/* Rule 0 is the frame pointer: rows outside every FDE point at it. */
	if (!r || unwind_rules__intern(r, &fp) != UNWIND_RULE_FP) {
		unwind_rules__free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void unwind_rules__free(struct unwind_rules *r)
{
	size_t i;

	if (!r)
		return;
	hashmap__exit(&r->index);
	for (i = 0; i < r->nr_chunks; i++)
		free(r->chunks[i]);
	free(r->chunks);
	free(r->rules);
	free(r);
}

size_t unwind_rules__count(const struct unwind_rules *r)
{
	return r->nr;
}

const struct unwind_rule *unwind_rules__get(const struct unwind_rules *r, uint32_t idx)
{
	return idx < r->nr ? &r->rules[idx] : NULL;
}

/* ---- one CFI row → a rule ---- */

/* DW_OP_bregN off, or DW_OP_bregx N off: 0 and the register, else -1. */
static int op_breg(const Dwarf_Op *op, uint8_t *reg, int64_t *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (int64_t)op->number;
		return 0;
	}
	if (op->atom == DW_OP_bregx && op->number < UNWIND_NR_REGS) {
		*reg = op->number;
		*off = (int64_t)op->number2;
		return 0;
	}
	return -1;
}

static bool fits_s32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* The PLT stubs' CFA: rsp + off + ((rip & 15) >= k ? 8 : 0), as GNU ld writes it. */
static bool cfa_plt(const Dwarf_Op *ops, size_t n, struct unwind_rule *r)
{
	static const uint8_t form[] = {DW_OP_breg7, DW_OP_breg16, DW_OP_lit15, DW_OP_and, 0,
				       DW_OP_ge,    DW_OP_lit3,	  DW_OP_shl,   DW_OP_plus};
	size_t i;

	if (n != sizeof(form))
		return false;
	for (i = 0; i < n; i++)
		if (form[i] && ops[i].atom != form[i])
			return false;
	if (ops[4].atom < DW_OP_lit0 || ops[4].atom > DW_OP_lit31 || ops[1].number ||
	    !fits_s32((int64_t)ops[0].number))
		return false;
	r->cfa_type = UNWIND_CFA_PLT;
	r->cfa_reg = UNWIND_REG_RSP;
	r->cfa_off = (int64_t)ops[0].number;
	r->cfa_arg = ops[4].atom - DW_OP_lit0;
	return true;
}

/* CFA = *(reg + a) [+ b]: GCC's dynamic realignment (DRAP), some OpenSSL assembly. */
static bool cfa_deref(const Dwarf_Op *ops, size_t n, struct unwind_rule *r)
{
	int64_t a, b = 0;
	uint8_t reg;

	if (n < 2 || op_breg(&ops[0], &reg, &a) || ops[1].atom != DW_OP_deref)
		return false;
	if (n == 3 && ops[2].atom == DW_OP_plus_uconst)
		b = (int64_t)ops[2].number;
	else if (n == 4 && ops[3].atom == DW_OP_plus &&
		 (ops[2].atom == DW_OP_constu || ops[2].atom == DW_OP_consts ||
		  ops[2].atom == DW_OP_const1u || ops[2].atom == DW_OP_const2u ||
		  ops[2].atom == DW_OP_const4u))
		b = (int64_t)ops[2].number;
	else if (n != 2)
		return false;
	if (!fits_s32(a) || !fits_s32(b))
		return false;
	r->cfa_type = UNWIND_CFA_DEREF;
	r->cfa_reg = reg;
	r->cfa_off = a;
	r->cfa_arg = b;
	return true;
}

static void classify_cfa(Dwarf_Frame *f, struct unwind_rule *r)
{
	Dwarf_Op *ops;
	size_t n = 0;
	int64_t off;
	uint8_t reg;

	r->cfa_type = UNWIND_CFA_UNSUPPORTED;
	if (dwarf_frame_cfa(f, &ops, &n) || !n)
		return;
	if (n == 1 && !op_breg(&ops[0], &reg, &off) && fits_s32(off) && reg < UNWIND_NR_REGS) {
		r->cfa_type = UNWIND_CFA_REG;
		r->cfa_reg = reg;
		r->cfa_off = off;
		return;
	}
	if (!cfa_plt(ops, n, r) && !cfa_deref(ops, n, r))
		r->cfa_type = UNWIND_CFA_UNSUPPORTED;
}

/* Where register regno of the caller is: type, register and offset. */
static uint8_t classify_saved(Dwarf_Frame *f, int regno, uint8_t *reg, int32_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	int64_t o;

	*reg = 0;
	*off = 0;
	if (dwarf_frame_register(f, regno, mem, &ops, &n))
		return UNWIND_SAVED_UNSUPPORTED;
	if (!n)
		return ops ? UNWIND_SAVED_UNDEFINED : UNWIND_SAVED_SAME;
	/* DW_CFA_register: the value is in another register. */
	if (n == 1 && (ops[0].atom == DW_OP_regx ||
		       (ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31))) {
		uint64_t rn = ops[0].atom == DW_OP_regx ? ops[0].number
							: (uint64_t)(ops[0].atom - DW_OP_reg0);

		if (rn >= UNWIND_NR_REGS)
			return UNWIND_SAVED_UNSUPPORTED;
		*reg = rn;
		return UNWIND_SAVED_IN_REG;
	}
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return UNWIND_SAVED_UNSUPPORTED;
	if (n == 1)
		return UNWIND_SAVED_AT_CFA;
	/* DW_CFA_offset: the offset is unsigned in the expression, two's complement. */
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst && fits_s32((int64_t)ops[1].number)) {
		*off = (int64_t)ops[1].number;
		return UNWIND_SAVED_AT_CFA;
	}
	/* DW_CFA_expression (libdw puts the CFA first): saved at *(reg + k). */
	if (n == 2 && !op_breg(&ops[1], reg, &o) && fits_s32(o) && *reg < UNWIND_NR_REGS) {
		*off = o;
		return UNWIND_SAVED_AT_REG;
	}
	return UNWIND_SAVED_UNSUPPORTED;
}

/* The rule of one CFI row. */
static void classify(Dwarf_Frame *f, bool signal, struct unwind_rule *r)
{
	uint8_t ra_reg;
	int32_t ra_off;

	memset(r, 0, sizeof(*r));
	r->ra_type = classify_saved(f, UNWIND_REG_RIP, &ra_reg, &ra_off);
	if (signal) {
		/* Registers come from the ucontext; the CFI only restates its layout. */
		r->cfa_type = UNWIND_CFA_SIGNAL;
		r->ra_type = UNWIND_SAVED_SAME;
		return;
	}
	if (r->ra_type == UNWIND_SAVED_UNDEFINED) {
		r->cfa_type = UNWIND_CFA_END;
		r->ra_type = UNWIND_SAVED_SAME;
		return;
	}
	r->ra_reg = ra_reg;
	r->ra_off = ra_off;
	classify_cfa(f, r);
	r->rbp_type = classify_saved(f, UNWIND_REG_RBP, &r->rbp_reg, &r->rbp_off);
	if (r->cfa_type == UNWIND_CFA_UNSUPPORTED) {
		/* One rule for every row the model cannot express. */
		memset(r, 0, sizeof(*r));
		r->cfa_type = UNWIND_CFA_UNSUPPORTED;
	}
}

/* ---- FDE ranges: dwarf_next_cfi, with the pointer encodings of .eh_frame ---- */

/*
 * Where the caller's rbp or return address is, while an FDE's instructions run: the
 * cases libdw's dwarf_frame_register reports without an expression.
 */
enum cfi_reg_kind { CFI_SAME, CFI_UNDEF, CFI_AT_CFA, CFI_IN_REG };

struct cfi_reg {
	uint8_t kind;
	uint64_t val; /* CFI_AT_CFA: the offset (two's complement); CFI_IN_REG: the register */
};

enum cfi_cfa_kind { CFI_CFA_UNDEF, CFI_CFA_REG, CFI_CFA_INVALID };

/* One row's state: what the model needs of DWARF's register table. */
struct cfi_state {
	uint8_t cfa_kind;
	uint64_t cfa_reg, cfa_off;
	struct cfi_reg rbp, rip;
};

struct cie_enc {
	uint64_t off;
	uint8_t enc; /* DW_EH_PE_* of the FDE's initial location */
	/* The CIE's initial row, when its instructions hold nothing but what cfi_exec
	 * interprets; else (fast false) its FDEs go row by row through libdw. */
	bool fast, signal, sized;
	uint64_t caf; /* code alignment factor */
	int64_t daf;  /* data alignment factor */
	struct cfi_state init;
};

struct cfi_section {
	Elf_Data *data;
	uint64_t addr; /* sh_addr: base of pc-relative pointers */
	bool eh;
	struct cie_enc *cies;
	size_t nr_cies, cap_cies;
};

static int read_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* One encoded pointer (value only; the caller adds the base of pc-relative ones). */
static int read_encoded(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t *v)
{
	static const uint8_t size[16] = {
		[DW_EH_PE_absptr] = 8, [DW_EH_PE_udata2] = 2, [DW_EH_PE_udata4] = 4,
		[DW_EH_PE_udata8] = 8, [DW_EH_PE_sdata2] = 2, [DW_EH_PE_sdata4] = 4,
		[DW_EH_PE_sdata8] = 8};
	uint8_t fmt = enc & 0x0f, n = size[fmt];

	if (fmt == DW_EH_PE_uleb128)
		return read_uleb(p, end, v);
	if (!n || end - *p < n)
		return -1;
	*v = 0;
	memcpy(v, *p, n); /* little-endian hosts: x86-64 is the only target of the walker */
	if (fmt == DW_EH_PE_sdata2)
		*v = (int64_t)(int16_t)*v;
	else if (fmt == DW_EH_PE_sdata4)
		*v = (int64_t)(int32_t)*v;
	*p += n;
	return 0;
}

static int read_sleb(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	unsigned shift = 0;
	uint64_t u = 0;

	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		u |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				u |= ~0ull << shift;
			*v = (int64_t)u;
			return 0;
		}
	}
	return -1;
}

/* ---- an FDE's rows in one pass over its instructions ---- */

/* One row of an FDE as its instructions give it, before its rule is interned. */
struct fde_row {
	uint64_t lo, hi;
	struct unwind_rule r;
};

/* The rows of the FDE being run: the current one starts at loc, the FDE ends at hi. */
struct fde_run {
	uint64_t loc, hi;
	struct fde_row *v;
	size_t n, cap;
};

/* Nested DW_CFA_remember_state beyond this: the FDE goes through libdw. */
#define CFI_STATES 16

/* As classify_saved() reads dwarf_frame_register's answer for the same rule. */
static uint8_t saved_of(const struct cfi_reg *c, uint8_t *reg, int32_t *off)
{
	*reg = 0;
	*off = 0;
	switch (c->kind) {
	case CFI_SAME:
		return UNWIND_SAVED_SAME;
	case CFI_UNDEF:
		return UNWIND_SAVED_UNDEFINED;
	case CFI_IN_REG:
		if (c->val >= UNWIND_NR_REGS)
			return UNWIND_SAVED_UNSUPPORTED;
		*reg = c->val;
		return UNWIND_SAVED_IN_REG;
	default:
		if (!fits_s32((int64_t)c->val))
			return UNWIND_SAVED_UNSUPPORTED;
		*off = (int64_t)c->val;
		return UNWIND_SAVED_AT_CFA;
	}
}

/* The rule of one row, as classify() finds it through libdw for the same row. */
static void classify_state(const struct cfi_state *s, struct unwind_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->ra_type = saved_of(&s->rip, &r->ra_reg, &r->ra_off);
	if (r->ra_type == UNWIND_SAVED_UNDEFINED) {
		memset(r, 0, sizeof(*r));
		r->cfa_type = UNWIND_CFA_END;
		return;
	}
	if (s->cfa_kind != CFI_CFA_REG || s->cfa_reg >= UNWIND_NR_REGS ||
	    !fits_s32((int64_t)s->cfa_off)) {
		memset(r, 0, sizeof(*r));
		r->cfa_type = UNWIND_CFA_UNSUPPORTED;
		return;
	}
	r->cfa_type = UNWIND_CFA_REG;
	r->cfa_reg = s->cfa_reg;
	r->cfa_off = (int64_t)s->cfa_off;
	r->rbp_type = saved_of(&s->rbp, &r->rbp_reg, &r->rbp_off);
}

/* The location moves by delta: the row before it is complete (libdw: a row per location
 * an advance reaches; an advance by 0 makes none). */
static int run_advance(struct fde_run *run, const struct cfi_state *s, uint64_t delta)
{
	uint64_t next = run->loc + delta;

	if (next <= run->loc)
		return 0;
	if (run->loc < run->hi) {
		if (ARRAY_RESERVE(run->v, run->cap, run->n + 1, 64))
			return -ENOMEM;
		run->v[run->n].lo = run->loc;
		run->v[run->n].hi = next < run->hi ? next : run->hi;
		classify_state(s, &run->v[run->n].r);
		run->n++;
	}
	run->loc = next;
	return 0;
}

static struct cfi_reg *cfi_reg_of(struct cfi_state *s, uint64_t reg)
{
	return reg == UNWIND_REG_RBP ? &s->rbp : reg == UNWIND_REG_RIP ? &s->rip : NULL;
}

/* Set register reg's rule; registers the model does not read are skipped. */
static int cfi_set(struct cfi_state *s, uint64_t reg, uint8_t kind, uint64_t val)
{
	struct cfi_reg *c = cfi_reg_of(s, reg);

	if (reg > 0xffff)
		return 1; /* libdw's limits: let it judge */
	if (c)
		*c = (struct cfi_reg){kind, val};
	return 0;
}

/* DW_CFA_restore: the rule the CIE's instructions left. */
static int cfi_restore(const struct cie_enc *cie, struct cfi_state *s, uint64_t reg)
{
	struct cfi_reg *c = cfi_reg_of(s, reg);

	if (c)
		*c = reg == UNWIND_REG_RBP ? cie->init.rbp : cie->init.rip;
	return reg > 0xffff;
}

/* DW_CFA_def_cfa_register / _offset: only after a register-based CFA (libdw: else invalid). */
static void cfi_cfa_keep(struct cfi_state *s)
{
	if (s->cfa_kind != CFI_CFA_REG)
		s->cfa_kind = CFI_CFA_INVALID;
}

/* Instructions that set one register's rule. 0: done, 1: not one of them or malformed. */
static int cfi_exec_reg(const struct cie_enc *cie, uint8_t op, const uint8_t **p,
			const uint8_t *end, struct cfi_state *s)
{
	uint64_t reg, a;
	int64_t sv;

	if (read_uleb(p, end, &reg))
		return 1;
	switch (op) {
	case DW_CFA_undefined:
		return cfi_set(s, reg, CFI_UNDEF, 0);
	case DW_CFA_same_value:
		return cfi_set(s, reg, CFI_SAME, 0);
	case DW_CFA_register:
		return read_uleb(p, end, &a) ? 1 : cfi_set(s, reg, CFI_IN_REG, a);
	case DW_CFA_offset_extended:
		return read_uleb(p, end, &a) ? 1 : cfi_set(s, reg, CFI_AT_CFA, a * cie->daf);
	case DW_CFA_offset_extended_sf:
		return read_sleb(p, end, &sv)
			       ? 1
			       : cfi_set(s, reg, CFI_AT_CFA, (uint64_t)sv * cie->daf);
	case DW_CFA_GNU_negative_offset_extended:
		return read_uleb(p, end, &a) ? 1 : cfi_set(s, reg, CFI_AT_CFA, -a * cie->daf);
	default:
		return 1;
	}
}

/* Instructions that define the CFA. 0: done, 1: not one of them or malformed. */
static int cfi_exec_cfa(const struct cie_enc *cie, uint8_t op, const uint8_t **p,
			const uint8_t *end, struct cfi_state *s)
{
	uint64_t reg, off;
	int64_t sv;

	switch (op) {
	case DW_CFA_def_cfa:
		if (read_uleb(p, end, &reg) || read_uleb(p, end, &off))
			return 1;
		break;
	case DW_CFA_def_cfa_sf:
		if (read_uleb(p, end, &reg) || read_sleb(p, end, &sv))
			return 1;
		off = (uint64_t)sv * cie->daf;
		break;
	case DW_CFA_def_cfa_register:
		if (read_uleb(p, end, &reg))
			return 1;
		cfi_cfa_keep(s);
		s->cfa_reg = reg;
		return 0;
	case DW_CFA_def_cfa_offset:
	case DW_CFA_def_cfa_offset_sf:
		if (op == DW_CFA_def_cfa_offset ? read_uleb(p, end, &off) : read_sleb(p, end, &sv))
			return 1;
		cfi_cfa_keep(s);
		s->cfa_off = op == DW_CFA_def_cfa_offset ? off : (uint64_t)sv * cie->daf;
		return 0;
	default:
		return 1;
	}
	s->cfa_kind = CFI_CFA_REG;
	s->cfa_reg = reg;
	s->cfa_off = off;
	return 0;
}

/*
 * Run CFA instructions [p, end) on state s, as libdw's interpreter does; with run (an
 * FDE), each advance completes a row. 0; 1: an instruction left to libdw (expressions,
 * DW_CFA_set_loc, val_offset, ...) or malformed ones; negative errno.
 */
static int cfi_exec(const struct cie_enc *cie, const uint8_t *p, const uint8_t *end,
		    struct cfi_state *s, struct fde_run *run)
{
	struct cfi_state saved[CFI_STATES];
	int depth = 0, err = 0;
	uint64_t a;

	while (p < end && !err) {
		uint8_t op = *p++, low = op & 0x3f;

		if ((op & 0xc0) == DW_CFA_advance_loc || op == DW_CFA_advance_loc1 ||
		    op == DW_CFA_advance_loc2 || op == DW_CFA_advance_loc4) {
			size_t n = op == DW_CFA_advance_loc1   ? 1
				   : op == DW_CFA_advance_loc2 ? 2
				   : op == DW_CFA_advance_loc4 ? 4
							       : 0;

			if (!run || (size_t)(end - p) < n)
				return 1; /* libdw: no advance in a CIE */
			a = low;
			if (n) {
				a = 0;
				memcpy(&a, p, n); /* little-endian, as read_encoded */
				p += n;
			}
			err = run_advance(run, s, a * cie->caf);
		} else if ((op & 0xc0) == DW_CFA_offset) {
			err = read_uleb(&p, end, &a) ? 1
						     : cfi_set(s, low, CFI_AT_CFA, a * cie->daf);
		} else if ((op & 0xc0) == DW_CFA_restore || op == DW_CFA_restore_extended) {
			/* libdw refuses a restore in the CIE's own instructions. */
			if (!run || (op == DW_CFA_restore_extended && read_uleb(&p, end, &a)))
				return 1;
			err = cfi_restore(cie, s, op == DW_CFA_restore_extended ? a : low);
		} else if (op == DW_CFA_nop) {
			continue;
		} else if (op == DW_CFA_remember_state) {
			if (depth == CFI_STATES)
				return 1;
			saved[depth++] = *s;
		} else if (op == DW_CFA_restore_state) {
			if (!depth)
				return 1;
			*s = saved[--depth];
		} else if (op == DW_CFA_GNU_args_size) {
			err = read_uleb(&p, end, &a) ? 1 : 0;
		} else if (cfi_exec_cfa(cie, op, &p, end, s) && cfi_exec_reg(cie, op, &p, end, s)) {
			return 1;
		}
	}
	return err;
}

/* The FDE pointer encoding of a CIE: the 'R' entry of its 'z' augmentation data. */
static uint8_t cie_fde_encoding(const Dwarf_CIE *cie)
{
	const uint8_t *p = cie->augmentation_data, *end = p + cie->augmentation_data_size;
	const char *a = cie->augmentation;
	uint64_t skip;

	if (!a || a[0] != 'z' || !p)
		return DW_EH_PE_absptr;
	for (a++; *a && p < end; a++) {
		switch (*a) {
		case 'R':
			return *p;
		case 'L':
			p++;
			break;
		case 'P': {
			const uint8_t *q = p + 1;

			if (read_encoded(&q, end, *p & 0x0f, &skip))
				return DW_EH_PE_omit;
			p = q;
			break;
		}
		default:
			break; /* 'S', 'B': no data */
		}
	}
	return DW_EH_PE_absptr;
}

/*
 * The CIE's initial row, as libdw starts it: x86-64's ABI defaults (elfutils' backend:
 * rbp and the return address unchanged, no CFA), then the CIE's instructions. Signal
 * frames ('S') and augmentations other than z, R, P, L stay with libdw.
 */
static void cie_prepare(struct cie_enc *c, const Dwarf_CIE *cie)
{
	const char *a = cie->augmentation ? cie->augmentation : "";

	c->fast = false;
	c->sized = a[0] == 'z';
	c->caf = cie->code_alignment_factor;
	c->daf = cie->data_alignment_factor;
	c->init = (struct cfi_state){
		.cfa_kind = CFI_CFA_UNDEF, .rbp = {CFI_SAME, 0}, .rip = {CFI_SAME, 0}};
	if (a[0] && (!c->sized || a[strspn(a + 1, "RPL") + 1]))
		return;
	c->fast = !cfi_exec(c, cie->initial_instructions, cie->initial_instructions_end, &c->init,
			    NULL);
}

static int section_add_cie(struct cfi_section *sec, uint64_t off, const Dwarf_CIE *cie)
{
	if (ARRAY_RESERVE(sec->cies, sec->cap_cies, sec->nr_cies + 1, 16))
		return -ENOMEM;
	sec->cies[sec->nr_cies].off = off;
	sec->cies[sec->nr_cies].enc = sec->eh ? cie_fde_encoding(cie) : DW_EH_PE_absptr;
	cie_prepare(&sec->cies[sec->nr_cies], cie);
	sec->nr_cies++;
	return 0;
}

static const struct cie_enc *section_cie(const struct cfi_section *sec, uint64_t off)
{
	size_t i;

	/* CIEs are few (one or two per compiler) and usually the last one seen. */
	for (i = sec->nr_cies; i-- > 0;)
		if (sec->cies[i].off == off)
			return &sec->cies[i];
	return NULL;
}

/* One FDE: its range, its CIE, its instructions. */
struct fde_info {
	uint64_t lo, hi;
	const struct cie_enc *cie;
	const uint8_t *insn, *end; /* insn NULL: not found (libdw reads them) */
};

/* [lo, hi) of an FDE; -1 when its encoding is not one a linked file uses. */
static int fde_range(const struct cfi_section *sec, const Dwarf_FDE *fde, struct fde_info *fi)
{
	const struct cie_enc *cie = section_cie(sec, fde->CIE_pointer);
	uint64_t *lo = &fi->lo, *hi = &fi->hi, aug;
	const uint8_t *p = fde->start;
	uint64_t field, len;
	uint8_t app;

	if (!cie || cie->enc == DW_EH_PE_omit)
		return -1;
	app = cie->enc & 0x70;
	field = sec->addr + (uint64_t)(p - (const uint8_t *)sec->data->d_buf);
	if (read_encoded(&p, fde->end, cie->enc, lo) ||
	    read_encoded(&p, fde->end, cie->enc & 0x0f, &len))
		return -1;
	if (app == DW_EH_PE_pcrel)
		*lo += field;
	else if (app != DW_EH_PE_absptr)
		return -1;
	*hi = *lo + len;
	fi->cie = cie;
	fi->end = fde->end;
	fi->insn = NULL;
	if (!cie->sized || !read_uleb(&p, fde->end, &aug))
		fi->insn = !cie->sized ? p : aug <= (uint64_t)(fde->end - p) ? p + aug : NULL;
	return *hi > *lo ? 0 : -1;
}

/* ---- building a table ---- */

struct load_seg {
	uint64_t offset, vaddr, filesz;
};

struct unwind_table {
	struct unwind_table *next; /* the cache's list */
	unsigned int refs;
	dev_t dev;
	ino_t ino;
	unsigned char build_id[64];
	size_t build_id_len;
	struct unwind_row *rows;
	size_t nr_rows;
	struct load_seg *segs;
	size_t nr_segs;
	struct unwind_stats stats;
};

/* One CFI row's range and rule, before sorting and merging. */
/* A row of an FDE, [lo, lo + len): 16 bytes, as a large file has a million of them. */
struct range_rule {
	uint64_t lo;
	uint32_t len;
	uint32_t rule;
};

static uint64_t range_hi(const struct range_rule *r)
{
	return r->lo + r->len;
}

struct builder {
	struct unwind_rules *rules;
	struct unwind_table *t;
	struct range_rule *v;
	size_t n, cap;
	struct fde_run run; /* one FDE's rows, reused */
	bool rowwise;	    /* every FDE through libdw (tests compare the two) */
};

static int builder_push(struct builder *b, uint64_t lo, uint64_t hi, uint32_t rule)
{
	/* A row longer than 4 GiB (none is) goes as several. */
	do {
		uint64_t len = hi - lo > UINT32_MAX ? UINT32_MAX : hi - lo;

		if (ARRAY_RESERVE(b->v, b->cap, b->n + 1, 1024))
			return -ENOMEM;
		b->v[b->n++] = (struct range_rule){lo, (uint32_t)len, rule};
		lo += len;
	} while (lo < hi);
	return 0;
}

static void count_rule(struct unwind_stats *st, const struct unwind_rule *r)
{
	st->cfi_rows++;
	st->by_cfa[r->cfa_type]++;
	if (r->cfa_type == UNWIND_CFA_REG && r->cfa_reg == UNWIND_REG_RSP)
		st->cfa_rsp++;
	else if (r->cfa_type == UNWIND_CFA_REG && r->cfa_reg == UNWIND_REG_RBP)
		st->cfa_rbp++;
	if (r->cfa_type != UNWIND_CFA_UNSUPPORTED && r->cfa_type != UNWIND_CFA_SIGNAL &&
	    r->cfa_type != UNWIND_CFA_END) {
		st->by_rbp[r->rbp_type]++;
		if (r->ra_type != UNWIND_SAVED_AT_CFA || r->ra_off != -8)
			st->ra_not_cfa8++;
	}
}

/* The rows of one FDE run in one pass (cfi_exec), interned. 1: left to libdw. */
static int build_fde_fast(struct builder *b, const struct fde_info *fi)
{
	struct cfi_state s = fi->cie->init;
	int err;
	size_t i;

	if (!fi->cie->fast || !fi->insn)
		return 1;
	b->run.loc = fi->lo;
	b->run.hi = fi->hi;
	b->run.n = 0;
	err = cfi_exec(fi->cie, fi->insn, fi->end, &s, &b->run);
	/* The end of the instructions closes the last row at the FDE's end. */
	if (!err && b->run.loc < fi->hi)
		err = run_advance(&b->run, &s, fi->hi - b->run.loc);
	for (i = 0; !err && i < b->run.n; i++) {
		const struct fde_row *row = &b->run.v[i];
		int idx = unwind_rules__intern(b->rules, &row->r);

		if (idx < 0)
			return idx;
		count_rule(&b->t->stats, &row->r);
		err = builder_push(b, row->lo, row->hi, idx);
	}
	return err;
}

/*
 * Every row of one FDE. Its instructions run once (build_fde_fast); what only libdw
 * interprets (expressions: PLT stubs, realigned frames; signal frames) goes row by row
 * through dwarf_cfi_addrframe, which gives each row's own [start, end): the next starts
 * there. Both give the same rows.
 */
static int build_fde(struct builder *b, Dwarf_CFI *cfi, const struct fde_info *fi)
{
	uint64_t pc = fi->lo, hi = fi->hi;
	int err;

	b->t->stats.fdes++;
	err = b->rowwise ? 1 : build_fde_fast(b, fi);
	if (err <= 0)
		return err;
	for (err = 0; pc < hi && !err;) {
		Dwarf_Frame *f = NULL;
		struct unwind_rule r;
		Dwarf_Addr start, end;
		bool signal = false;
		int idx;

		if (dwarf_cfi_addrframe(cfi, pc, &f) || !f)
			break; /* broken FDE: the rest of it falls back to the frame pointer */
		dwarf_frame_info(f, &start, &end, &signal);
		classify(f, signal, &r);
		free(f);
		if (end <= pc)
			break;
		if (end > hi)
			end = hi;
		idx = unwind_rules__intern(b->rules, &r);
		if (idx < 0)
			return idx;
		count_rule(&b->t->stats, &r);
		err = builder_push(b, pc, end, idx);
		pc = end;
	}
	return err;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range_rule *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int table_push_row(struct unwind_table *t, size_t *cap, uint64_t pc, uint32_t rule)
{
	if (t->nr_rows && t->rows[t->nr_rows - 1].rule == rule)
		return 0;
	if (pc > UINT32_MAX || t->nr_rows >= UNWIND_MAX_ROWS)
		return -ERANGE;
	if (ARRAY_RESERVE(t->rows, *cap, t->nr_rows + 1, 256))
		return -ENOMEM;
	t->rows[t->nr_rows++] = (struct unwind_row){.pc = pc, .rule = rule};
	return 0;
}

/* A stretch of rows each starting where the one before ended: an FDE's rows, or the rows
 * of FDEs that follow each other. 16 bytes: python3.11 has 8,000 of them. */
struct row_run {
	uint64_t lo;
	uint32_t first, n;
};

static void run_swap(struct row_run *a, struct row_run *b)
{
	struct row_run t = *a;

	*a = *b;
	*b = t;
}

/* Heap order below root i of r[0..n), by lo. */
static void runs_sift(struct row_run *r, size_t i, size_t n)
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && r[c + 1].lo > r[c].lo)
			c++;
		if (r[c].lo <= r[i].lo)
			return;
		run_swap(&r[i], &r[c]);
		i = c;
	}
}

static void runs_heapsort(struct row_run *r, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		runs_sift(r, i, n);
	for (i = n; i-- > 1;) {
		run_swap(&r[0], &r[i]);
		runs_sift(r, 0, i);
	}
}

/* Hoare's partition of r[0..n) (n > 2) around the median of three: r[0..k) <= r[k..n). */
static size_t runs_partition(struct row_run *r, size_t n)
{
	size_t i = 0, j = n - 1, m = n / 2;
	uint64_t pivot;

	if (r[m].lo < r[0].lo)
		run_swap(&r[m], &r[0]);
	if (r[j].lo < r[0].lo)
		run_swap(&r[j], &r[0]);
	if (r[j].lo < r[m].lo)
		run_swap(&r[j], &r[m]);
	pivot = r[m].lo;
	for (;;) {
		while (r[i].lo < pivot)
			i++;
		while (r[j].lo > pivot)
			j--;
		if (i >= j)
			return j + 1;
		run_swap(&r[i++], &r[j--]);
	}
}

/*
 * The runs by lo, in place: qsort() took a copy of them, and a call per comparison (a
 * tenth of a table's build). Their lo are distinct unless two runs overlap, and then
 * their order does not matter (builder_runs() sorts every row). Quicksort, heapsort past
 * a depth that only a crafted file reaches, insertion sort for short stretches.
 */
static void runs_sort(struct row_run *r, size_t n, unsigned int depth)
{
	size_t i, j, k;

	while (n > 16) {
		if (!depth--) {
			runs_heapsort(r, n);
			return;
		}
		k = runs_partition(r, n);
		/* The shorter side first, the longer one in this loop. */
		if (k < n - k) {
			runs_sort(r, k, depth);
			r += k;
			n -= k;
		} else {
			runs_sort(r + k, n - k, depth);
			n = k;
		}
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && r[j].lo < r[j - 1].lo; j--)
			run_swap(&r[j], &r[j - 1]);
}

/*
 * The rows by address (then end), as one qsort of every row would order them: the runs
 * to read them in. FDEs come in link order, which is mostly address order: sorting the
 * stretches of contiguous rows does the same for a fraction of the work, and the rows
 * stay where they are (a sorted copy of them was the build's peak: 16 bytes a row,
 * 7 MB for cc1's), unless two of them overlap (then every row is sorted, one run).
 */
static int builder_runs(struct builder *b, struct row_run **out, size_t *nout)
{
	struct row_run *runs;
	size_t i, nr = 0;
	bool overlap = false;

	for (i = 1; i < b->n && range_cmp(&b->v[i - 1], &b->v[i]) <= 0; i++)
		;
	if (i < b->n) {
		for (i = 0; i < b->n; i++)
			nr += !i || b->v[i].lo != range_hi(&b->v[i - 1]);
	}
	/* More rows than a table holds (UNWIND_MAX_ROWS), by far. */
	if (b->n > UINT32_MAX)
		return -ERANGE;
	runs = malloc((nr ? nr : 1) * sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	*out = runs;
	*nout = 1;
	runs[0] = (struct row_run){0, 0, (uint32_t)b->n};
	if (!nr)
		return 0; /* sorted already */
	for (i = 0, nr = 0; i < b->n; i++) {
		if (!i || b->v[i].lo != range_hi(&b->v[i - 1]))
			runs[nr++] = (struct row_run){b->v[i].lo, (uint32_t)i, 0};
		runs[nr - 1].n++;
	}
	runs_sort(runs, nr, 2 * (64 - __builtin_clzll(nr)));
	for (i = 1; i < nr && !overlap; i++)
		overlap = runs[i].lo < range_hi(&b->v[runs[i - 1].first + runs[i - 1].n - 1]);
	if (overlap) {
		qsort(b->v, b->n, sizeof(*b->v), range_cmp);
		runs[0] = (struct row_run){0, 0, (uint32_t)b->n};
		return 0;
	}
	*nout = nr;
	return 0;
}

/* One row of the sorted ones into the table; end: where the rows before it ended (0 before
 * the first one). */
static int emit_row(struct unwind_table *t, size_t *cap, uint64_t *end, bool first,
		    const struct range_rule *r)
{
	uint64_t lo = r->lo > *end ? r->lo : *end;
	int err = 0;

	if (!first && lo >= range_hi(r))
		return 0; /* overlapped by an earlier FDE */
	if (!first && lo > *end)
		err = table_push_row(t, cap, *end, UNWIND_RULE_FP);
	if (!err)
		err = table_push_row(t, cap, lo, r->rule);
	t->stats.covered_bytes += range_hi(r) - lo;
	*end = range_hi(r);
	return err;
}

/*
 * Sorted, non-overlapping rows: gaps between FDEs get frame-pointer rows, neighbours with
 * the same rule merge, and a frame-pointer row closes the last FDE.
 */
static int builder_emit(struct builder *b)
{
	struct unwind_table *t = b->t;
	struct row_run *runs = NULL;
	uint64_t end = 0;
	size_t r, i, nr = 0, cap = 0;
	int err;

	/* The rows are the build's peak with the table: no room to spare. */
	if (b->cap > b->n) {
		struct range_rule *v = realloc(b->v, (b->n ? b->n : 1) * sizeof(*v));

		if (v) {
			b->v = v;
			b->cap = b->n;
		}
	}
	err = builder_runs(b, &runs, &nr);
	for (r = 0; r < nr && !err; r++)
		for (i = runs[r].first; i < runs[r].first + runs[r].n && !err; i++)
			err = emit_row(t, &cap, &end, !r && i == runs[r].first, &b->v[i]);
	free(runs);
	if (!err && b->n)
		err = table_push_row(t, &cap, end, UNWIND_RULE_FP);
	return err;
}

static int build_section(struct builder *b, Elf *elf, struct cfi_section *sec, Dwarf_CFI *cfi)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	Dwarf_Off off = 0, next;
	int err = 0;

	while (!err && ident && off < sec->data->d_size) {
		Dwarf_CFI_Entry e;
		struct fde_info fi;
		int r = dwarf_next_cfi(ident, sec->data, sec->eh, off, &next, &e);

		if (r)
			break; /* 1: the end; -1: garbage from here on */
		if (dwarf_cfi_cie_p(&e))
			err = section_add_cie(sec, off, &e.cie);
		else if (!fde_range(sec, &e.fde, &fi))
			err = build_fde(b, cfi, &fi);
		off = next;
	}
	return err;
}

static Elf_Scn *section_by_name(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr) || shdr->sh_type == SHT_NOBITS || !shdr->sh_size)
			continue;
		n = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* .debug_frame of elf: compressed sections are inflated first (libelf, zlib). */
static int build_debug_frame(struct builder *b, Elf *elf, bool *found)
{
	struct cfi_section sec = {.eh = false};
	GElf_Shdr shdr;
	Elf_Scn *scn = section_by_name(elf, ".debug_frame", &shdr);
	Dwarf_CFI *cfi;
	Dwarf *dw;
	int err;

	if (!scn)
		return 0;
	if ((shdr.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return -EINVAL;
	sec.data = elf_getdata(scn, NULL);
	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	cfi = dw ? dwarf_getcfi(dw) : NULL;
	if (!sec.data || !cfi) {
		dwarf_end(dw);
		return 0;
	}
	err = build_section(b, elf, &sec, cfi);
	if (b->t->stats.fdes) {
		*found = true;
		b->t->stats.source = ".debug_frame";
	}
	free(sec.cies);
	dwarf_end(dw);
	return err;
}

static int build_eh_frame(struct builder *b, Elf *elf, bool *found)
{
	struct cfi_section sec = {.eh = true};
	GElf_Shdr shdr;
	Elf_Scn *scn = section_by_name(elf, ".eh_frame", &shdr);
	Dwarf_CFI *cfi;
	int err;

	if (!scn || !(sec.data = elf_getdata(scn, NULL)) || !(cfi = dwarf_getcfi_elf(elf)))
		return 0;
	sec.addr = shdr.sh_addr;
	err = build_section(b, elf, &sec, cfi);
	/* Built without unwind tables, a file still has crtstuff's empty .eh_frame. */
	if (b->t->stats.fdes) {
		*found = true;
		b->t->stats.source = ".eh_frame";
	}
	free(sec.cies);
	dwarf_cfi_end(cfi);
	return err;
}

static int table_read_segments(struct unwind_table *t, Elf *elf)
{
	size_t i, n;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	t->segs = calloc(n ? n : 1, sizeof(*t->segs));
	if (!t->segs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		t->segs[t->nr_segs++] = (struct load_seg){ph.p_offset, ph.p_vaddr, ph.p_filesz};
		if (ph.p_flags & PF_X)
			t->stats.text_bytes += ph.p_memsz;
	}
	return 0;
}

/* Code bytes: the executable sections (no padding between them), else the segments. */
static void table_count_code(struct unwind_table *t, Elf *elf)
{
	Elf_Scn *scn = NULL;
	uint64_t code = 0;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR) &&
		    sh.sh_type != SHT_NOBITS)
			code += sh.sh_size;
	if (code)
		t->stats.text_bytes = code;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct unwind_table *table_build(struct unwind_rules *rules, Elf *elf, Elf *debug,
					bool rowwise)
{
	struct unwind_table *t = calloc(1, sizeof(*t));
	struct builder b = {.rules = rules, .t = t, .rowwise = rowwise};
	uint64_t t0 = now_ns();
	bool found = false;
	int err;

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->refs = 1;
	err = elf_kind(elf) == ELF_K_ELF ? table_read_segments(t, elf) : -ENOEXEC;
	if (!err) {
		table_count_code(t, elf);
		err = build_eh_frame(&b, elf, &found);
	}
	if (!err && !found)
		err = build_debug_frame(&b, elf, &found);
	if (!err && !found && debug)
		err = build_debug_frame(&b, debug, &found);
	if (!err)
		err = builder_emit(&b);
	free(b.v);
	free(b.run.v);
	if (err) {
		unwind_table__free(t);
		errno = -err;
		return NULL;
	}
	t->build_id_len = elf_read_build_id(elf, t->build_id, sizeof(t->build_id));
	t->stats.build_ns = now_ns() - t0;
	return t;
}

struct unwind_table *unwind_table__build(struct unwind_rules *rules, Elf *elf, Elf *debug)
{
	return table_build(rules, elf, debug, false);
}

struct unwind_table *unwind_table__build_rowwise(struct unwind_rules *rules, Elf *elf, Elf *debug)
{
	return table_build(rules, elf, debug, true);
}

void unwind_table__free(struct unwind_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->segs);
	free(t);
}

size_t unwind_table__rows(const struct unwind_table *t, const struct unwind_row **rows)
{
	*rows = t->rows;
	return t->nr_rows;
}

const struct unwind_stats *unwind_table__stats(const struct unwind_table *t)
{
	return &t->stats;
}

size_t unwind_table__memory(const struct unwind_table *t)
{
	return t->rows ? t->nr_rows * sizeof(*t->rows) : 0;
}

void unwind_table__drop_rows(struct unwind_table *t)
{
	/* The vDSO's table has no file to be built from again (and is tiny). */
	if (t->dev || t->ino) {
		free(t->rows);
		t->rows = NULL;
	}
}

uint32_t unwind_table__lookup(const struct unwind_table *t, uint64_t vaddr)
{
	size_t lo = 0, hi = t->nr_rows;

	if (!hi || !t->rows || vaddr < t->rows[0].pc || vaddr > UINT32_MAX)
		return UNWIND_RULE_FP;
	/* The BPF program runs this same search, one step per loop iteration. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	return t->rows[lo].rule;
}

int unwind_table__load_bias(const struct unwind_table *t, uint64_t start, uint64_t pgoff,
			    uint64_t *bias)
{
	size_t i;

	for (i = 0; i < t->nr_segs; i++) {
		const struct load_seg *s = &t->segs[i];

		/* A mapping starts at the page holding the segment's first byte. */
		if (pgoff >= (s->offset & ~4095ull) && pgoff < s->offset + s->filesz) {
			*bias = start - pgoff + s->offset - s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- the cache: one table per file, shared ---- */

struct unwind_cache {
	struct unwind_rules *rules;
	struct unwind_table *tables;
	size_t nr;
	struct unwind_table *vdso;
};

struct unwind_cache *unwind_cache__new(void)
{
	struct unwind_cache *c = calloc(1, sizeof(*c));

	if (!c || !(c->rules = unwind_rules__new())) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void unwind_cache__free(struct unwind_cache *c)
{
	if (!c)
		return;
	while (c->tables) {
		struct unwind_table *n = c->tables->next;

		unwind_table__free(c->tables);
		c->tables = n;
	}
	unwind_rules__free(c->rules);
	free(c);
}

struct unwind_rules *unwind_cache__rules(struct unwind_cache *c)
{
	return c->rules;
}

static struct unwind_table *cache_find(struct unwind_cache *c, dev_t dev, ino_t ino,
				       const unsigned char *id, size_t id_len)
{
	struct unwind_table *t;

	for (t = c->tables; t; t = t->next) {
		if (id_len && t->build_id_len == id_len && !memcmp(t->build_id, id, id_len))
			return t;
		/* The same inode, as the symbolizer's cache finds files first. */
		if ((dev || ino) && t->dev == dev && t->ino == ino)
			return t;
	}
	return NULL;
}

static struct unwind_table *cache_add(struct unwind_cache *c, Elf *elf, Elf *debug, dev_t dev,
				      ino_t ino)
{
	unsigned char id[64];
	size_t id_len = elf_read_build_id(elf, id, sizeof(id));
	struct unwind_table *t = cache_find(c, dev, ino, id, id_len);

	if (t) {
		t->refs++;
		return t;
	}
	t = unwind_table__build(c->rules, elf, debug);
	if (!t)
		return NULL;
	t->dev = dev;
	t->ino = ino;
	t->next = c->tables;
	c->tables = t;
	c->nr++;
	return t;
}

struct unwind_table *unwind_cache__get(struct unwind_cache *c, int fd, int debug_fd)
{
	struct unwind_table *t;
	Elf *elf, *debug = NULL;
	struct stat st;

	if (fstat(fd, &st))
		return NULL;
	/* Same file, same table: no need to read it again. */
	t = cache_find(c, st.st_dev, st.st_ino, NULL, 0);
	if (t) {
		t->refs++;
		return t;
	}
	elf = sym_elf__read(fd);
	if (!elf)
		return NULL;
	if (debug_fd >= 0)
		debug = sym_elf__read(debug_fd);
	t = cache_add(c, elf, debug, st.st_dev, st.st_ino);
	elf_end(debug);
	elf_end(elf);
	return t;
}

/* ---- tables built in another thread ---- */

struct unwind_table *unwind_table__build_fd(int fd, struct unwind_rules **rules)
{
	struct unwind_table *t = NULL;
	struct stat st;
	Elf *elf;

	*rules = unwind_rules__new();
	if (!*rules)
		return NULL;
	if (!fstat(fd, &st) && (elf = sym_elf__read(fd))) {
		t = unwind_table__build(*rules, elf, NULL);
		elf_end(elf);
	}
	if (!t) {
		unwind_rules__free(*rules);
		*rules = NULL;
		return NULL;
	}
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	return t;
}

struct unwind_table *unwind_cache__find(struct unwind_cache *c, int fd)
{
	struct unwind_table *t;
	struct stat st;

	if (fstat(fd, &st))
		return NULL;
	t = cache_find(c, st.st_dev, st.st_ino, NULL, 0);
	if (t)
		t->refs++;
	return t;
}

struct unwind_table *unwind_cache__adopt(struct unwind_cache *c, struct unwind_table *t,
					 struct unwind_rules *rules)
{
	struct unwind_table *have = cache_find(c, t->dev, t->ino, t->build_id, t->build_id_len);
	uint32_t *map = NULL;
	size_t i;

	if (have) {
		have->refs++;
		if (have->rows || !have->nr_rows || t->nr_rows != have->nr_rows)
			goto out;
		/* Its rows were dropped (in the kernel, then evicted): these fill it again. */
	}
	map = calloc(rules->nr, sizeof(*map));
	for (i = 0; map && i < rules->nr; i++) {
		int idx = unwind_rules__intern(c->rules, &rules->rules[i]);

		if (idx < 0)
			goto out;
		map[i] = idx;
	}
	if (!map)
		goto out;
	for (i = 0; i < t->nr_rows; i++)
		t->rows[i].rule = map[t->rows[i].rule];
	if (have) {
		have->rows = t->rows;
		t->rows = NULL;
		goto out;
	}
	t->next = c->tables;
	c->tables = t;
	c->nr++;
	have = t;
	t = NULL;
out:
	free(map);
	unwind_table__free(t);
	unwind_rules__free(rules);
	if (!have)
		errno = ENOMEM;
	return have;
}

/* The size of an ELF image in memory: its section headers come last. */
static size_t vdso_size(const void *image)
{
	const Elf64_Ehdr *eh = image;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return 0;
	return eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
}

struct unwind_table *unwind_cache__get_vdso(struct unwind_cache *c)
{
	const void *image = (const void *)getauxval(AT_SYSINFO_EHDR);
	size_t size = image ? vdso_size(image) : 0;
	Elf *elf;

	if (c->vdso) {
		c->vdso->refs++;
		return c->vdso;
	}
	if (!size || elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOENT;
		return NULL;
	}
	elf = elf_memory((char *)image, size);
	if (!elf) {
		errno = ENOEXEC;
		return NULL;
	}
	c->vdso = cache_add(c, elf, NULL, 0, 0);
	elf_end(elf);
	if (c->vdso)
		c->vdso->refs++; /* the cache keeps one: the vDSO never changes */
	return c->vdso;
}

void unwind_cache__put(struct unwind_cache *c, struct unwind_table *t)
{
	struct unwind_table **p;

	if (!t || --t->refs)
		return;
	for (p = &c->tables; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			c->nr--;
			break;
		}
	}
	unwind_table__free(t);
}

size_t unwind_cache__nr_tables(const struct unwind_cache *c)
{
	return c->nr;
}

size_t unwind_cache__memory(const struct unwind_cache *c)
{
	const struct unwind_table *t;
	size_t n = c->rules->nr * sizeof(struct unwind_rule);

	for (t = c->tables; t; t = t->next)
		n += unwind_table__memory(t);
	return n;
}
