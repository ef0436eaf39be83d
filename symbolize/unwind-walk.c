// SPDX-License-Identifier: GPL-2.0
/*
 * The reference unwinder: walks a user stack with the tables of symbolize/unwind.c, frame
 * by frame, exactly as the BPF program does (bpf/unwind.h has the shared layouts). It
 * lives in user space so the algorithm is tested on real stacks (against libdwfl) before
 * and after it is mirrored in BPF: keep the two in step. docs/unwind.md: "The walk".
 */
#include <errno.h>
#include <string.h>
#include "symbolize.h"

struct walk_state {
	const struct unwind_walk_ops *ops;
	void *ctx;
	struct unwind_regs regs;
	bool exact; /* pc is exact (leaf, or after a signal frame), not a return address */
};

static bool known(const struct walk_state *w, unsigned int reg)
{
	return reg < UNWIND_NR_REGS && (w->regs.known & (1u << reg));
}

static int walk_read(struct walk_state *w, uint64_t addr, uint64_t *v)
{
	return w->ops->read(w->ctx, addr, v) ? UNWIND_STOP_READ_FAULT : 0;
}

/* The kernel's sigcontext: every general register, and the next pc is exact. */
static int walk_signal(struct walk_state *w)
{
	static const uint8_t sc_slot[UNWIND_NR_REGS] = {
		13, 12, 14, 11, 9, 8, 10, 15, 0, 1, 2, 3, 4, 5, 6, 7, 16,
	}; /* DWARF number → index of the register in struct sigcontext */
	uint64_t base = w->regs.r[UNWIND_REG_RSP] + UNWIND_SIGCONTEXT_OFF, v[UNWIND_NR_REGS];
	int i;

	for (i = 0; i < UNWIND_NR_REGS; i++)
		if (walk_read(w, base + 8 * sc_slot[i], &v[i]))
			return UNWIND_STOP_READ_FAULT;
	memcpy(w->regs.r, v, sizeof(v));
	w->regs.known = (1u << UNWIND_NR_REGS) - 1;
	w->exact = true;
	return 0;
}

static int walk_cfa(struct walk_state *w, const struct unwind_rule *r, uint64_t *cfa)
{
	uint64_t pc = w->regs.r[UNWIND_REG_RIP], v;

	switch (r->cfa_type) {
	case UNWIND_CFA_REG:
		if (!known(w, r->cfa_reg))
			return UNWIND_STOP_NO_TABLE;
		*cfa = w->regs.r[r->cfa_reg] + r->cfa_off;
		return 0;
	case UNWIND_CFA_DEREF:
		if (!known(w, r->cfa_reg))
			return UNWIND_STOP_NO_TABLE;
		if (walk_read(w, w->regs.r[r->cfa_reg] + r->cfa_off, &v))
			return UNWIND_STOP_READ_FAULT;
		*cfa = v + r->cfa_arg;
		return 0;
	case UNWIND_CFA_PLT:
		*cfa = w->regs.r[UNWIND_REG_RSP] + r->cfa_off +
		       ((pc & 15) >= (uint64_t)r->cfa_arg ? 8 : 0);
		return 0;
	default: /* frame pointer: push %rbp; mov %rsp,%rbp */
		if (!known(w, UNWIND_REG_RBP))
			return UNWIND_STOP_NO_TABLE;
		*cfa = w->regs.r[UNWIND_REG_RBP] + 16;
		return 0;
	}
}

/* Where the caller's value of a register is, per the rule; 1: unknown. */
static int walk_saved(struct walk_state *w, uint8_t type, uint8_t reg, int32_t off, uint64_t cfa,
		      uint64_t *v)
{
	switch (type) {
	case UNWIND_SAVED_SAME:
		return known(w, reg) ? (*v = w->regs.r[reg], 0) : 1;
	case UNWIND_SAVED_AT_CFA:
		return walk_read(w, cfa + off, v);
	case UNWIND_SAVED_AT_REG:
		return known(w, reg) ? walk_read(w, w->regs.r[reg] + off, v) : 1;
	case UNWIND_SAVED_IN_REG:
		return known(w, reg) ? (*v = w->regs.r[reg], 0) : 1;
	default:
		return 1;
	}
}

/* walk_step's "carry on": every other value is an enum unwind_stop. */
#define WALK_GO (-1)

/* One frame: the caller's rip, rsp and rbp from the rule at pc. */
static int walk_step(struct walk_state *w, const struct unwind_rule *r)
{
	struct unwind_rule fp = {.rbp_type = UNWIND_SAVED_AT_CFA,
				 .rbp_off = -16,
				 .ra_type = UNWIND_SAVED_AT_CFA,
				 .ra_off = -8};
	uint64_t cfa, ra, rbp = 0, sp = w->regs.r[UNWIND_REG_RSP];
	int err, rbp_err;

	if (r->cfa_type == UNWIND_CFA_END)
		return UNWIND_STOP_END;
	if (r->cfa_type == UNWIND_CFA_SIGNAL)
		return walk_signal(w) ? UNWIND_STOP_READ_FAULT : WALK_GO;
	if (r->cfa_type == UNWIND_CFA_FP || r->cfa_type == UNWIND_CFA_UNSUPPORTED ||
	    r->ra_type == UNWIND_SAVED_UNSUPPORTED || r->ra_type == UNWIND_SAVED_SAME)
		r = &fp;
	err = walk_cfa(w, r, &cfa);
	if (err)
		return err;
	err = walk_saved(w, r->ra_type, r->ra_reg, r->ra_off, cfa, &ra);
	if (err)
		return err == 1 ? UNWIND_STOP_NO_TABLE : err;
	rbp_err = walk_saved(w, r->rbp_type,
			     r->rbp_type == UNWIND_SAVED_SAME ? UNWIND_REG_RBP : r->rbp_reg,
			     r->rbp_off, cfa, &rbp);
	if (rbp_err == UNWIND_STOP_READ_FAULT)
		return rbp_err;
	/* The stack grows down: a caller's frame lies above. A zero return address ends
	 * stacks whose outermost frame has no CFI. */
	if (!ra)
		return UNWIND_STOP_END;
	if (cfa <= sp && r->cfa_type != UNWIND_CFA_FP)
		return UNWIND_STOP_BAD_FRAME;
	w->regs.known = (1u << UNWIND_REG_RSP) | (1u << UNWIND_REG_RIP) |
			(rbp_err ? 0 : 1u << UNWIND_REG_RBP);
	w->regs.r[UNWIND_REG_RSP] = cfa;
	w->regs.r[UNWIND_REG_RBP] = rbp;
	w->regs.r[UNWIND_REG_RIP] = ra;
	w->exact = false;
	return WALK_GO;
}

static const struct unwind_rule *walk_rule(const struct unwind_rules *rules, struct walk_state *w)
{
	uint64_t pc = w->regs.r[UNWIND_REG_RIP], bias = 0;
	const struct unwind_table *t;
	const struct unwind_rule *r = NULL;

	/* A return address points after the call, maybe past the caller's last byte. */
	if (!w->exact)
		pc--;
	t = w->ops->find(w->ctx, pc, &bias);
	if (t)
		r = unwind_rules__get(rules, unwind_table__lookup(t, pc - bias));
	return r ? r : unwind_rules__get(rules, UNWIND_RULE_FP);
}

int unwind_rules__walk(const struct unwind_rules *rules, const struct unwind_walk_ops *ops,
		       void *ctx, const struct unwind_regs *regs, struct unwind_frame *frames,
		       int max, int *stop)
{
	struct walk_state w = {.ops = ops, .ctx = ctx, .regs = *regs, .exact = true};
	int n = 0, err = 0;

	*stop = UNWIND_STOP_DEPTH;
	if (!(w.regs.known & (1u << UNWIND_REG_RIP)) || !(w.regs.known & (1u << UNWIND_REG_RSP))) {
		*stop = UNWIND_STOP_NO_TABLE;
		return 0;
	}
	while (n < max) {
		const struct unwind_rule *r = walk_rule(rules, &w);

		frames[n].pc = w.regs.r[UNWIND_REG_RIP];
		frames[n].cfa_type = r->cfa_type;
		n++;
		err = walk_step(&w, r);
		if (err != WALK_GO) {
			*stop = err;
			break;
		}
	}
	return n;
}
