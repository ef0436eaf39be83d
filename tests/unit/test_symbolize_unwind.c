// SPDX-License-Identifier: GPL-2.0
/*
 * Unwind tables against binutils: every row of every FDE that
 * `readelf --debug-dump=frames-interp` prints, for the meson-built fixture (a PIE and its
 * library, -O2 -fomit-frame-pointer), the system's libc and the vDSO, must be covered by
 * table rows with the same rule. Then the rows that matter most by name: PLT stubs,
 * libc's signal trampoline, realigned frames, the outermost frames.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include "symbolize/symbolize.h"
#include "symbolize/unwind-table.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	cr_assert_not_null(v, "%s is not set (run through meson test)", name);
	return v;
}

static struct unwind_table *table_of(struct unwind_cache *c, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct unwind_table *t;

	cr_assert_geq(fd, 0, "%s: %m", path);
	t = unwind_cache__get(c, fd, -1);
	close(fd);
	cr_assert_not_null(t, "%s: %m", path);
	return t;
}

/* ---- readelf --debug-dump=frames-interp ---- */

#define MAX_COLS 24

struct interp_cie {
	unsigned long off;
	bool signal;
	char cols[MAX_COLS][8];
	int ncols;
	char row[MAX_COLS][24]; /* the initial row: an FDE without instructions keeps it */
};

struct interp {
	const char *path;
	struct unwind_table *t;
	const struct unwind_rules *rules;
	struct interp_cie cies[16];
	int ncies;
	int checked_rows, checked_kinds[UNWIND_CFA_TYPES];
};

static int reg_number(const char *name)
{
	static const char *const names[UNWIND_NR_REGS] = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi",
							  "rbp", "rsp", "r8",  "r9",  "r10", "r11",
							  "r12", "r13", "r14", "r15", "ra"};
	int i;

	for (i = 0; i < UNWIND_NR_REGS; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

/* A register cell: u (not set), cN (at CFA + N), a register name, exp. */
static bool saved_matches(uint8_t type, uint8_t reg, int32_t off, const char *cell)
{
	long n;

	if (!strcmp(cell, "u"))
		return type == UNWIND_SAVED_SAME;
	if (!strcmp(cell, "exp"))
		return type == UNWIND_SAVED_AT_REG || type == UNWIND_SAVED_UNSUPPORTED;
	if (sscanf(cell, "c%ld", &n) == 1)
		return type == UNWIND_SAVED_AT_CFA && off == n;
	/* "r9 (r9)", "r1 (rdx)": DWARF numbers. */
	if (sscanf(cell, "r%ld", &n) == 1)
		return type == UNWIND_SAVED_IN_REG && reg == n;
	return type == UNWIND_SAVED_UNSUPPORTED;
}

/* Does rule r say what readelf's cells say? */
static bool rule_matches(const struct unwind_rule *r, bool signal, const char *cfa, const char *rbp,
			 const char *ra)
{
	char reg[8];
	long off;

	if (signal)
		return r->cfa_type == UNWIND_CFA_SIGNAL;
	if (!strcmp(ra, "u"))
		return r->cfa_type == UNWIND_CFA_END;
	if (!strcmp(cfa, "exp"))
		return r->cfa_type == UNWIND_CFA_PLT || r->cfa_type == UNWIND_CFA_DEREF ||
		       r->cfa_type == UNWIND_CFA_UNSUPPORTED;
	if (sscanf(cfa, "%7[a-z0-9]%ld", reg, &off) != 2 || r->cfa_type != UNWIND_CFA_REG ||
	    r->cfa_reg != reg_number(reg) || r->cfa_off != off)
		return false;
	return saved_matches(r->ra_type, r->ra_reg, r->ra_off, ra) &&
	       saved_matches(r->rbp_type, r->rbp_reg, r->rbp_off, rbp);
}

static const char *cell(char (*cols)[8], int ncols, char (*row)[24], const char *name)
{
	int i;

	for (i = 0; i < ncols; i++)
		if (!strcmp(cols[i], name))
			return row[i];
	return "u"; /* a column never mentioned: not set */
}

/* Every table row overlapping [lo, hi) must carry the rule readelf describes. */
static void check_range(struct interp *in, unsigned long lo, unsigned long hi, bool signal,
			char (*cols)[8], int ncols, char (*row)[24])
{
	const struct unwind_row *rows;
	size_t n = unwind_table__rows(in->t, &rows), i;
	const char *cfa = row[0], *rbp = cell(cols, ncols, row, "rbp"),
		   *ra = cell(cols, ncols, row, "ra");

	cr_assert_gt(n, 0, "%s: no rows", in->path);
	for (i = 0; i + 1 < n && rows[i + 1].pc <= lo; i++)
		;
	cr_assert_leq(rows[i].pc, lo, "%s: no row covers %#lx", in->path, lo);
	for (; i < n && rows[i].pc < hi; i++) {
		const struct unwind_rule *r = unwind_rules__get(in->rules, rows[i].rule);

		cr_assert(rule_matches(r, signal, cfa, rbp, ra),
			  "%s: [%#lx, %#lx) CFA %s rbp %s ra %s: table row %#x has rule %u "
			  "(cfa type %u reg %u off %d, rbp type %u off %d, ra type %u off %d)",
			  in->path, lo, hi, cfa, rbp, ra, rows[i].pc, rows[i].rule, r->cfa_type,
			  r->cfa_reg, r->cfa_off, r->rbp_type, r->rbp_off, r->ra_type, r->ra_off);
		in->checked_kinds[r->cfa_type]++;
	}
	in->checked_rows++;
}

static int split(char *line, char (*out)[24], int max)
{
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(line, " \t\n", &save); tok && n < max;
	     tok = strtok_r(NULL, " \t\n", &save))
		if (tok[0] != '(') /* "r9 (r9)": the name after a register number */
			snprintf(out[n++], sizeof(out[0]), "%s", tok);
	return n;
}

struct fde_state {
	struct interp_cie *cie;
	unsigned long lo, hi, pending_loc;
	char cols[MAX_COLS][8];
	int ncols;
	char pending[MAX_COLS][24];
	bool has_pending, any_row;
};

/* The last row of an FDE ends at the FDE's end; an FDE without rows has its CIE's. */
static void fde_finish(struct interp *in, struct fde_state *f)
{
	if (!f->cie)
		return;
	if (f->has_pending)
		check_range(in, f->pending_loc, f->hi, f->cie->signal, f->cols, f->ncols,
			    f->pending);
	else if (!f->any_row && f->cie->ncols)
		check_range(in, f->lo, f->hi, f->cie->signal, f->cie->cols, f->cie->ncols,
			    f->cie->row);
	f->cie = NULL;
}

static void interp_line(struct interp *in, char *line, struct fde_state *f, struct interp_cie **cie)
{
	char tok[MAX_COLS + 1][24], aug[16];
	unsigned long off, lo, hi, cie_off;
	int n, i;

	/* The augmentation may be empty (.debug_frame): CIE "" cf=1 ... */
	if (strstr(line, " CIE ") && sscanf(line, "%lx", &off) == 1 && in->ncies < 16) {
		const char *q = strchr(line, '"');

		aug[0] = 0;
		if (q)
			sscanf(q, "\"%15[^\"]", aug);
		fde_finish(in, f);
		*cie = &in->cies[in->ncies++];
		(*cie)->off = off;
		(*cie)->signal = strchr(aug, 'S') != NULL;
		return;
	}
	if (sscanf(line, "%*x %*x %*x FDE cie=%lx pc=%lx..%lx", &cie_off, &lo, &hi) == 3) {
		fde_finish(in, f);
		*cie = NULL;
		memset(f, 0, sizeof(*f));
		for (i = 0; i < in->ncies; i++)
			if (in->cies[i].off == cie_off)
				f->cie = &in->cies[i];
		cr_assert_not_null(f->cie, "%s: FDE with unknown CIE %lx", in->path, cie_off);
		f->lo = lo;
		f->hi = hi;
		return;
	}
	n = split(line, tok, MAX_COLS + 1);
	if (n >= 2 && !strcmp(tok[0], "LOC")) {
		char(*cols)[8] = *cie ? (*cie)->cols : f->cols;

		for (i = 1; i < n; i++)
			snprintf(cols[i - 1], 8, "%s", tok[i]);
		if (*cie)
			(*cie)->ncols = n - 1;
		else
			f->ncols = n - 1;
		return;
	}
	if (n < 2 || sscanf(tok[0], "%lx", &lo) != 1 || !strcmp(tok[1], "ZERO"))
		return;
	if (*cie) {
		memcpy((*cie)->row, tok + 1, sizeof((*cie)->row));
		return;
	}
	if (!f->cie)
		return;
	if (f->has_pending)
		check_range(in, f->pending_loc, lo, f->cie->signal, f->cols, f->ncols, f->pending);
	memcpy(f->pending, tok + 1, sizeof(f->pending));
	f->pending_loc = lo;
	f->has_pending = f->any_row = true;
}

static void compare_with_readelf(struct interp *in)
{
	char cmd[4200], line[1024];
	struct fde_state f = {0};
	struct interp_cie *cie = NULL;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames-interp -W '%s' 2>/dev/null",
		 in->path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		interp_line(in, line, &f, &cie);
	fde_finish(in, &f);
	/* readelf exits 1 on libc for an unrelated complaint (no PT_INTERP name). */
	cr_assert_neq(pclose(p), -1);
	cr_assert_gt(in->checked_rows, 0, "%s: readelf printed no rows", in->path);
}

static void check_file(const char *path, struct interp *out)
{
	struct unwind_cache *c = unwind_cache__new();
	struct interp in = {.path = path};

	cr_assert_not_null(c);
	in.t = table_of(c, path);
	in.rules = unwind_cache__rules(c);
	compare_with_readelf(&in);
	cr_expect_eq((uint64_t)in.checked_rows, unwind_table__stats(in.t)->cfi_rows,
		     "%s: readelf has %d rows, libdw gave %llu", path, in.checked_rows,
		     (unsigned long long)unwind_table__stats(in.t)->cfi_rows);
	if (out)
		*out = in;
	unwind_cache__free(c);
}

Test(unwind_tables, fixture_executable_matches_readelf)
{
	struct interp in;

	check_file(env("PMUPROF_UNWIND_FIXTURE"), &in);
	cr_expect_gt(in.checked_kinds[UNWIND_CFA_PLT], 0, "the PLT stubs' rows");
	cr_expect_gt(in.checked_kinds[UNWIND_CFA_DEREF], 0, "the DRAP-realigned function's rows");
	cr_expect_gt(in.checked_kinds[UNWIND_CFA_END], 0, "_start's row");
}

Test(unwind_tables, fixture_library_matches_readelf)
{
	check_file(env("PMUPROF_UNWIND_LIB"), NULL);
}

Test(unwind_tables, libc_matches_readelf)
{
	struct interp in;

	check_file(LIBC, &in);
	cr_expect_gt(in.checked_kinds[UNWIND_CFA_SIGNAL], 0, "__restore_rt's row");
	cr_expect_gt(in.checked_kinds[UNWIND_CFA_END], 1, "clone and clone3");
	cr_expect_gt(in.checked_kinds[UNWIND_CFA_PLT], 0, "libc's PLT");
}

/* Without unwind tables (-fno-asynchronous-unwind-tables -g): .debug_frame, in the file or
 * in its separate debug file. */
Test(unwind_tables, debug_frame_in_the_file_or_its_debug_file)
{
	const char *path = env("PMUPROF_UNWIND_DEBUGFRAME_LIB");
	char dir[] = "/tmp/pmuprof-debugframe-XXXXXX", stripped[300], debug[300], cmd[1200];
	struct unwind_cache *c = unwind_cache__new();
	const struct unwind_row *a, *b;
	struct unwind_table *full, *split;
	struct interp in = {.path = path};
	size_t na, nb;
	int fd, dfd;

	in.t = table_of(c, path);
	in.rules = unwind_cache__rules(c);
	cr_assert_str_eq(unwind_table__stats(in.t)->source, ".debug_frame");
	compare_with_readelf(&in);
	full = in.t;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(stripped, sizeof(stripped), "%s/lib.so", dir);
	snprintf(debug, sizeof(debug), "%s/lib.debug", dir);
	snprintf(cmd, sizeof(cmd),
		 "objcopy --only-keep-debug '%s' '%s' && objcopy --strip-debug '%s' '%s'", path,
		 debug, path, stripped);
	cr_assert_eq(system(cmd), 0);
	fd = open(stripped, O_RDONLY | O_CLOEXEC);
	dfd = open(debug, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0 && dfd >= 0);
	/* A separate cache: the build id would find the table already built. */
	{
		struct unwind_cache *c2 = unwind_cache__new();

		split = unwind_cache__get(c2, fd, dfd);
		cr_assert_not_null(split);
		cr_expect_str_eq(unwind_table__stats(split)->source, ".debug_frame");
		na = unwind_table__rows(full, &a);
		nb = unwind_table__rows(split, &b);
		cr_expect_eq(na, nb, "rows: %zu in the file, %zu through its debug file", na, nb);
		cr_expect_eq(unwind_rules__count(unwind_cache__rules(c2)),
			     unwind_rules__count(unwind_cache__rules(c)));
		for (size_t i = 0; i < na && i < nb; i++)
			cr_expect(a[i].pc == b[i].pc && a[i].rule == b[i].rule, "row %zu differs",
				  i);
		unwind_cache__free(c2);
	}
	close(fd);
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	unwind_cache__free(c);
}

/* The vDSO: this process's image, written out for readelf. */
Test(unwind_tables, vdso_matches_readelf)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	struct unwind_cache *c = unwind_cache__new();
	char path[] = "/tmp/pmuprof-vdso-XXXXXX";
	struct interp in = {.path = path};
	size_t size;
	int fd;

	cr_assert_not_null(eh);
	size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, eh, size), (ssize_t)size);
	close(fd);
	in.t = unwind_cache__get_vdso(c);
	cr_assert_not_null(in.t);
	cr_expect_str_eq(unwind_table__stats(in.t)->source, ".eh_frame");
	in.rules = unwind_cache__rules(c);
	compare_with_readelf(&in);
	unlink(path);
	cr_expect_eq(unwind_cache__get_vdso(c), in.t, "one vDSO table");
	unwind_cache__free(c);
}

/* ---- named rows ---- */

/* The rule at the link-time address of a function (plus skip bytes) of path. */
static const struct unwind_rule *rule_at(struct unwind_cache *c, const char *path, const char *func,
					 unsigned long skip)
{
	struct elf_syms *es = elf_syms__load(path);
	struct unwind_table *t = table_of(c, path);
	const struct unwind_rule *r;
	unsigned long a;

	cr_assert_not_null(es);
	cr_assert_eq(elf_syms__find(es, func, &a), 0, "%s has no %s", path, func);
	elf_syms__free(es);
	/* Rules live as long as the cache, tables as long as their references. */
	r = unwind_rules__get(unwind_cache__rules(c), unwind_table__lookup(t, a + skip));
	unwind_cache__put(c, t);
	return r;
}

/* The rules of every row inside function func of path, by kind. */
static void kinds_in(struct unwind_cache *c, struct unwind_table *t, const char *path,
		     const char *func, const struct unwind_rule **by_kind)
{
	struct elf_syms *es = elf_syms__load(path);
	const struct unwind_row *rows;
	size_t n = unwind_table__rows(t, &rows), i;

	cr_assert_not_null(es);
	for (i = 0; i < n; i++) {
		const char *name = elf_syms__lookup(es, rows[i].pc, NULL);
		const struct unwind_rule *r =
			unwind_rules__get(unwind_cache__rules(c), rows[i].rule);

		if (name && !strcmp(name, func) && !by_kind[r->cfa_type])
			by_kind[r->cfa_type] = r;
	}
	elf_syms__free(es);
}

Test(unwind_tables, realigned_frames)
{
	struct unwind_cache *c = unwind_cache__new();
	const char *path = env("PMUPROF_UNWIND_FIXTURE");
	struct unwind_table *t = table_of(c, path);
	const struct unwind_rule *drap[UNWIND_CFA_TYPES] = {0};
	struct elf_syms *es = elf_syms__load(path);
	const struct unwind_row *rows;
	size_t n = unwind_table__rows(t, &rows), i;
	bool rbp16 = false;

	/* aligned(64) local: CFA = rbp + 16 after "mov %rsp,%rbp; and $-64,%rsp". */
	cr_assert_not_null(es);
	for (i = 0; i < n; i++) {
		const char *name = elf_syms__lookup(es, rows[i].pc, NULL);
		const struct unwind_rule *r =
			unwind_rules__get(unwind_cache__rules(c), rows[i].rule);

		if (name && !strcmp(name, "realigned") && r->cfa_type == UNWIND_CFA_REG &&
		    r->cfa_reg == UNWIND_REG_RBP && r->cfa_off == 16 &&
		    r->rbp_type == UNWIND_SAVED_AT_CFA && r->rbp_off == -16)
			rbp16 = true;
	}
	elf_syms__free(es);
	cr_expect(rbp16, "realigned: a row with CFA = rbp + 16, rbp at CFA - 16");
	/* A VLA too: GCC realigns through a DRAP register, CFA = *(rbp - 8), rbp at *(rbp). */
	kinds_in(c, t, path, "realigned_drap", drap);
	cr_assert_not_null(drap[UNWIND_CFA_DEREF], "realigned_drap: no CFA = *(reg + off) row");
	cr_expect_eq(drap[UNWIND_CFA_DEREF]->cfa_reg, UNWIND_REG_RBP);
	/* -8 at -O2; sanitizer builds put the DRAP copy further down. */
	cr_expect_lt(drap[UNWIND_CFA_DEREF]->cfa_off, 0);
	cr_expect_eq(drap[UNWIND_CFA_DEREF]->cfa_arg, 0);
	cr_expect_eq(drap[UNWIND_CFA_DEREF]->rbp_type, UNWIND_SAVED_AT_REG);
	cr_expect_eq(drap[UNWIND_CFA_DEREF]->rbp_reg, UNWIND_REG_RBP);
	cr_expect_eq(drap[UNWIND_CFA_DEREF]->rbp_off, 0);
	unwind_cache__free(c);
}

/* The .plt section's address range of path. */
static void plt_range(const char *path, unsigned long *lo, unsigned long *hi)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	*lo = *hi = 0;
	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) &&
		    !strcmp(elf_strptr(elf, shstrndx, sh.sh_name), ".plt")) {
			*lo = sh.sh_addr;
			*hi = sh.sh_addr + sh.sh_size;
		}
	elf_end(elf);
	close(fd);
	cr_assert_gt(*hi, *lo, "%s has no .plt", path);
}

Test(unwind_tables, plt_stubs)
{
	struct unwind_cache *c = unwind_cache__new();
	const char *path = env("PMUPROF_UNWIND_FIXTURE");
	struct unwind_table *t = table_of(c, path);
	const struct unwind_rule *r;
	unsigned long lo, hi, a;

	plt_range(path, &lo, &hi);
	/* PLT0 pushes the GOT's second word: rsp + 16, then + 24 after its jump. */
	r = unwind_rules__get(unwind_cache__rules(c), unwind_table__lookup(t, lo));
	cr_expect(r->cfa_type == UNWIND_CFA_REG && r->cfa_reg == UNWIND_REG_RSP &&
		  r->cfa_off == 16);
	/* The stubs: jmp *GOT (CFA = rsp + 8), push index (from byte 11 on, rsp + 16). */
	for (a = lo + 16; a < hi; a++) {
		r = unwind_rules__get(unwind_cache__rules(c), unwind_table__lookup(t, a));
		cr_assert_eq(r->cfa_type, UNWIND_CFA_PLT, "%#lx in .plt", a);
		cr_assert_eq(r->cfa_off, 8);
		cr_assert_eq(r->cfa_arg, 11);
	}
	unwind_cache__free(c);
}

Test(unwind_tables, signal_trampoline_and_outermost_frames)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct unwind_cache *c = unwind_cache__new();
	struct unwind_table *t = table_of(c, LIBC);
	const struct unwind_row *rows;
	size_t n = unwind_table__rows(t, &rows), i;
	bool restore_rt = false, clone = false, clone3 = false;
	char name[256];

	for (i = 0; i < n; i++) {
		const struct unwind_rule *r =
			unwind_rules__get(unwind_cache__rules(c), rows[i].rule);

		if (r->cfa_type != UNWIND_CFA_SIGNAL && r->cfa_type != UNWIND_CFA_END)
			continue;
		/* glibc's FDE starts one byte early so that pc - 1 lookups still find it. */
		symbolizer__file_symbol(s, LIBC, rows[i].pc + 1, name, sizeof(name));
		if (r->cfa_type == UNWIND_CFA_SIGNAL)
			restore_rt |= !strcmp(name, "__restore_rt");
		/* Aliases: __clone, __GI___clone3... */
		clone |= r->cfa_type == UNWIND_CFA_END && strstr(name, "clone") &&
			 !strstr(name, "clone3");
		clone3 |= r->cfa_type == UNWIND_CFA_END && strstr(name, "clone3");
	}
	cr_expect(restore_rt, "__restore_rt: a signal frame row (libc6-dbg names it)");
	cr_expect(clone && clone3, "clone, clone3: outermost rows");
	/* And the fixture's _start. */
	cr_expect_eq(rule_at(c, env("PMUPROF_UNWIND_FIXTURE"), "_start", 4)->cfa_type,
		     UNWIND_CFA_END);
	unwind_cache__free(c);
	symbolizer__free(s);
}

/* ---- the cache ---- */

Test(unwind_tables, shared_by_file_and_freed_with_the_last_reference)
{
	struct unwind_cache *c = unwind_cache__new();
	const char *path = env("PMUPROF_UNWIND_LIB");
	struct unwind_table *a = table_of(c, path), *b = table_of(c, path), *l = table_of(c, LIBC);
	size_t rules = unwind_rules__count(unwind_cache__rules(c));

	cr_expect_eq(a, b, "the same file: one table");
	cr_expect_neq(a, l);
	cr_expect_eq(unwind_cache__nr_tables(c), 2);
	cr_expect_gt(unwind_cache__memory(c), unwind_table__memory(l));
	unwind_cache__put(c, a);
	cr_expect_eq(unwind_cache__nr_tables(c), 2, "one reference left");
	unwind_cache__put(c, b);
	cr_expect_eq(unwind_cache__nr_tables(c), 1);
	/* Rules stay: other tables share them. */
	cr_expect_eq(unwind_rules__count(unwind_cache__rules(c)), rules);
	unwind_cache__free(c);
}

/* Built in another thread with rules of its own, adopted: the rows a cache builds itself,
 * rule for rule, after the cache's rule table already held another file's rules. */
Test(unwind_tables, built_apart_and_adopted)
{
	struct unwind_cache *ref = unwind_cache__new(), *c = unwind_cache__new();
	struct unwind_table *want = table_of(ref, LIBC),
			    *other = table_of(c, env("PMUPROF_UNWIND_LIB"));
	const struct unwind_row *wr, *gr;
	struct unwind_rules *rules;
	struct unwind_table *t, *again;
	size_t n, i;
	int fd = open(LIBC, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_expect_null(unwind_cache__find(c, fd), "not built yet: not found");
	t = unwind_table__build_fd(fd, &rules);
	cr_assert_not_null(t);
	cr_assert_not_null(rules);
	t = unwind_cache__adopt(c, t, rules);
	cr_assert_not_null(t);
	again = unwind_cache__find(c, fd);
	cr_expect_eq(again, t, "found by its inode once adopted");
	/* The same file adopted twice: the cache's table, one more reference. */
	again = unwind_table__build_fd(fd, &rules);
	cr_assert_not_null(again);
	cr_expect_eq(unwind_cache__adopt(c, again, rules), t);
	close(fd);
	n = unwind_table__rows(want, &wr);
	cr_assert_eq(unwind_table__rows(t, &gr), n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(gr[i].pc, wr[i].pc);
		cr_assert_eq(memcmp(unwind_rules__get(unwind_cache__rules(c), gr[i].rule),
				    unwind_rules__get(unwind_cache__rules(ref), wr[i].rule),
				    sizeof(struct unwind_rule)),
			     0, "row %zu at %#x: a different rule", i, gr[i].pc);
	}
	unwind_cache__put(c, t);
	unwind_cache__put(c, t);
	unwind_cache__put(c, t);
	unwind_cache__put(c, other);
	cr_expect_eq(unwind_cache__nr_tables(c), 0);
	unwind_cache__put(ref, want);
	unwind_cache__free(ref);
	unwind_cache__free(c);
}

Test(unwind_tables, rules_are_unique)
{
	struct unwind_rules *r = unwind_rules__new();
	struct unwind_rule a = {.cfa_type = UNWIND_CFA_REG, .cfa_reg = 7, .cfa_off = 33360}, b = a;

	cr_assert_not_null(r);
	cr_expect_eq(unwind_rules__count(r), 1, "rule 0: frame pointer");
	cr_expect_eq(unwind_rules__get(r, UNWIND_RULE_FP)->cfa_type, UNWIND_CFA_FP);
	cr_expect_eq(unwind_rules__intern(r, &a), 1);
	b.cfa_off = -33360;
	cr_expect_eq(unwind_rules__intern(r, &b), 2);
	cr_expect_eq(unwind_rules__intern(r, &a), 1);
	cr_expect_eq(unwind_rules__get(r, 2)->cfa_off, -33360, "offsets beyond 16 bits");
	cr_expect_null(unwind_rules__get(r, 3));
	unwind_rules__free(r);
}

/* A file without CFI: no rows, every address follows the frame pointer. */
Test(unwind_tables, no_cfi)
{
	struct unwind_cache *c = unwind_cache__new();
	char path[] = "/tmp/pmuprof-nocfi-XXXXXX", cmd[256];
	struct unwind_table *t;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "objcopy --remove-section=.eh_frame --remove-section=.eh_frame_hdr "
		 "'%s' '%s'",
		 env("PMUPROF_UNWIND_LIB"), path);
	cr_assert_eq(system(cmd), 0);
	t = table_of(c, path);
	unlink(path);
	cr_expect_null(unwind_table__stats(t)->source);
	cr_expect_eq(unwind_table__rows(t, &(const struct unwind_row *){NULL}), 0);
	cr_expect_eq(unwind_table__lookup(t, 0x1100), UNWIND_RULE_FP);
	unwind_cache__free(c);
}

/* ---- one pass over each FDE against libdw row by row ---- */

static Elf *elf_of(const char *path, int *fd)
{
	Elf *elf;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(*fd, 0, "%s: %m", path);
	elf_version(EV_CURRENT);
	elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	cr_assert_not_null(elf, "%s: not ELF", path);
	return elf;
}

/* The same rows (rule by rule, not by index: each build has its own rule table) and the
 * same counts, whichever way the CFI was read. */
static void expect_same_as_rowwise(const char *path, const char *debug_path)
{
	struct unwind_rules *r1 = unwind_rules__new(), *r2 = unwind_rules__new();
	int fd, dfd = -1;
	Elf *elf = elf_of(path, &fd), *debug = debug_path ? elf_of(debug_path, &dfd) : NULL;
	struct unwind_table *fast = unwind_table__build(r1, elf, debug);
	struct unwind_table *slow = unwind_table__build_rowwise(r2, elf, debug);
	const struct unwind_stats *a, *b;
	const struct unwind_row *x, *y;
	size_t n, i;

	cr_assert(fast && slow, "%s: %m", path);
	n = unwind_table__rows(fast, &x);
	cr_assert_eq(n, unwind_table__rows(slow, &y), "%s: %zu rows in one pass, %zu row by row",
		     path, n, unwind_table__rows(slow, &y));
	for (i = 0; i < n; i++) {
		cr_assert_eq(x[i].pc, y[i].pc, "%s: row %zu at %#x, libdw %#x", path, i, x[i].pc,
			     y[i].pc);
		cr_assert_eq(memcmp(unwind_rules__get(r1, x[i].rule),
				    unwind_rules__get(r2, y[i].rule), sizeof(struct unwind_rule)),
			     0, "%s: the rule of the row at %#x differs from libdw's", path,
			     x[i].pc);
	}
	a = unwind_table__stats(fast);
	b = unwind_table__stats(slow);
	cr_expect_gt(a->cfi_rows, 0, "%s: no CFI rows", path);
	cr_expect_eq(a->cfi_rows, b->cfi_rows, "%s: CFI rows", path);
	cr_expect_eq(a->fdes, b->fdes, "%s: FDEs", path);
	cr_expect_eq(memcmp(a->by_cfa, b->by_cfa, sizeof(a->by_cfa)), 0, "%s: rows by CFA rule",
		     path);
	cr_expect_eq(memcmp(a->by_rbp, b->by_rbp, sizeof(a->by_rbp)), 0, "%s: rows by rbp rule",
		     path);
	cr_expect_eq(a->covered_bytes, b->covered_bytes, "%s: bytes covered", path);
	unwind_table__free(fast);
	unwind_table__free(slow);
	unwind_rules__free(r1);
	unwind_rules__free(r2);
	elf_end(debug);
	elf_end(elf);
	close(fd);
	if (dfd >= 0)
		close(dfd);
}

Test(unwind_tables, one_pass_gives_libdws_rows)
{
	expect_same_as_rowwise(env("PMUPROF_UNWIND_FIXTURE"), NULL);
	expect_same_as_rowwise(env("PMUPROF_UNWIND_LIB"), NULL);
	expect_same_as_rowwise(env("PMUPROF_UNWIND_DEBUGFRAME_LIB"), NULL);
	expect_same_as_rowwise(LIBC, NULL);
	expect_same_as_rowwise("/lib64/ld-linux-x86-64.so.2", NULL);
	expect_same_as_rowwise("/usr/bin/python3.11", NULL);
	expect_same_as_rowwise("/lib/x86_64-linux-gnu/liblzma.so.5", NULL);
}

/* Rows dropped once in the kernel: the table keeps its count, lookups fall back to the frame
 * pointer, and a build of the same file adopted later fills the same table again. */
Test(unwind_tables, dropped_rows_filled_again_by_a_new_build)
{
	struct unwind_cache *c = unwind_cache__new();
	struct unwind_table *t = table_of(c, LIBC), *again;
	const struct unwind_row *rows;
	struct unwind_row *copy;
	struct unwind_rules *rules;
	size_t n = unwind_table__rows(t, &rows);
	int fd = open(LIBC, O_RDONLY | O_CLOEXEC);

	cr_assert_gt(n, 1000);
	copy = malloc(n * sizeof(*copy));
	cr_assert_not_null(copy);
	memcpy(copy, rows, n * sizeof(*copy));
	unwind_table__drop_rows(t);
	cr_expect_eq(unwind_table__rows(t, &rows), n, "the count is kept");
	cr_expect_null(rows);
	cr_expect_eq(unwind_table__memory(t), 0);
	cr_expect_eq(unwind_table__lookup(t, copy[n / 2].pc), UNWIND_RULE_FP);
	again = unwind_table__build_fd(fd, &rules);
	cr_assert_not_null(again);
	cr_expect_eq(unwind_cache__adopt(c, again, rules), t, "the cache's table, filled again");
	cr_assert_eq(unwind_table__rows(t, &rows), n);
	cr_assert_not_null(rows);
	cr_expect_eq(memcmp(rows, copy, n * sizeof(*copy)), 0, "the same rows and rule indices");
	close(fd);
	free(copy);
	unwind_cache__put(c, t);
	unwind_cache__put(c, t);
	unwind_cache__free(c);
}
