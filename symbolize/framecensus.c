// SPDX-License-Identifier: GPL-2.0
/*
 * Which functions of an x86-64 binary set up a frame pointer, and which need one: a
 * frame-pointer walk passes a function that calls others only through the frame it sets
 * up (push %rbp; mov %rsp,%rbp); a leaf is found from the sample's own registers and
 * needs none. Instructions are decoded with capstone, so a prologue that the compiler
 * scheduled or shrink-wrapped (-O2) is still found. Capstone is loaded at the first
 * census, not linked: its tables are 3 MB of resident memory in every process that maps
 * it, and only doctor takes a census.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <capstone/capstone.h>
#include <gelf.h>
#include "symbolize.h"
#include "symbolize-private.h"
#include "lazylib.h"

/* A function's code examined at most (a huge generated function adds nothing). */
#define CENSUS_MAX_FUNC_BYTES (256u << 10)

struct census_text {
	uint64_t addr, size;
	const unsigned char *bytes;
};

struct census_elf {
	struct census_text text[16];
	int nr_text;
	uint64_t *starts; /* function starts from .eh_frame_hdr, sorted */
	size_t nr_starts;
	bool has_symtab, go;
};

/* The start-up code the toolchain links into every program: not the user's to rebuild. */
static bool census_skip(const char *name)
{
	static const char *const crt[] = {
		"_start",
		"_init",
		"_fini",
		"deregister_tm_clones",
		"register_tm_clones",
		"__do_global_dtors_aux",
		"frame_dummy",
		NULL,
	};
	int i;

	/* GCC's cold parts (foo.cold) run on their parent's frame. */
	if (strstr(name, ".cold"))
		return true;
	for (i = 0; crt[i]; i++)
		if (!strcmp(crt[i], name))
			return true;
	return false;
}

/* A 4-byte little-endian signed value, as .eh_frame_hdr stores it. */
static int32_t census_s32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			 (uint32_t)p[3] << 24);
}

/*
 * .eh_frame_hdr's search table lists every FDE's start: the functions of a stripped
 * binary. Only the encoding every x86-64 linker writes (pcrel/udata4/datarel sdata4).
 */
static int census_fde_starts(struct census_elf *ce, const GElf_Shdr *sh, Elf_Data *d)
{
	const unsigned char *p = d->d_buf;
	uint32_t n, i;

	if (d->d_size < 12 || p[0] != 1 || p[1] != 0x1b || p[2] != 0x03 || p[3] != 0x3b)
		return -EOPNOTSUPP;
	n = (uint32_t)census_s32(p + 8);
	if (n > (d->d_size - 12) / 8)
		return -EINVAL;
	ce->starts = malloc((n ? n : 1) * sizeof(*ce->starts));
	if (!ce->starts)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		ce->starts[i] = sh->sh_addr + (int64_t)census_s32(p + 12 + 8 * i);
	ce->nr_starts = n;
	return 0;
}

static int census_sections(Elf *elf, struct census_elf *ce)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			ce->has_symtab = true;
		/* The Go linker writes both; a Go binary keeps frame pointers on amd64. */
		if (!strcmp(name, ".go.buildinfo") || !strcmp(name, ".note.go.buildid"))
			ce->go = true;
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (!strcmp(name, ".eh_frame_hdr") && (d = elf_getdata(scn, NULL)) && d->d_buf)
			census_fde_starts(ce, &sh, d);
		if ((sh.sh_flags & SHF_EXECINSTR) && ce->nr_text < 16 &&
		    (d = elf_getdata(scn, NULL)) && d->d_buf) {
			struct census_text *t = &ce->text[ce->nr_text++];

			t->addr = sh.sh_addr;
			t->size = d->d_size < sh.sh_size ? d->d_size : sh.sh_size;
			t->bytes = d->d_buf;
		}
	}
	return 0;
}

/* The bytes of [addr, addr + size) within one executable section, or NULL. */
static const unsigned char *census_code(const struct census_elf *ce, uint64_t addr, uint64_t *size)
{
	int i;

	for (i = 0; i < ce->nr_text; i++) {
		const struct census_text *t = &ce->text[i];

		if (addr >= t->addr && addr < t->addr + t->size) {
			if (*size > t->addr + t->size - addr)
				*size = t->addr + t->size - addr;
			if (*size > CENSUS_MAX_FUNC_BYTES)
				*size = CENSUS_MAX_FUNC_BYTES;
			return t->bytes + (addr - t->addr);
		}
	}
	return NULL;
}

/* The part of capstone used here, from the library loaded at the first census. */
static struct {
	__typeof__(cs_open) *open;
	__typeof__(cs_malloc) *malloc;
	__typeof__(cs_disasm_iter) *disasm_iter;
	__typeof__(cs_free) *free;
	__typeof__(cs_close) *close;
} cs_lib;

static const struct lazylib_sym cs_syms[] = {
	LAZYLIB_SYM(cs_lib, open, cs_open),
	LAZYLIB_SYM(cs_lib, malloc, cs_malloc),
	LAZYLIB_SYM(cs_lib, disasm_iter, cs_disasm_iter),
	LAZYLIB_SYM(cs_lib, free, cs_free),
	LAZYLIB_SYM(cs_lib, close, cs_close),
};

static struct lazylib cs_lazy = LAZYLIB(CAPSTONE_SONAME, CAPSTONE_PACKAGE, cs_syms);

const char *frame_census__lib_strerror(char *buf, size_t sz)
{
	return lazylib__strerror(&cs_lazy, buf, sz);
}

/* The instruction is "op %rbp <-> disp(%rsp)" (REX.W op, ModRM rbp with a SIB of rsp). */
static bool census_rbp_rsp_disp(const cs_insn *insn, unsigned char op)
{
	const unsigned char *b = insn->bytes;

	return insn->size >= 5 && b[0] == 0x48 && b[1] == op && (b[2] == 0x6c || b[2] == 0xac) &&
	       b[3] == 0x24;
}

/*
 * A frame pointer is set up when rbp is saved (push %rbp, or Go's mov %rbp,d(%rsp)) and
 * then pointed at the stack (mov %rsp,%rbp, or Go's lea d(%rsp),%rbp).
 */
static bool census_saves_rbp(const cs_insn *insn)
{
	return (insn->size == 1 && insn->bytes[0] == 0x55) || census_rbp_rsp_disp(insn, 0x89);
}

static bool census_sets_rbp(const cs_insn *insn)
{
	const unsigned char *b = insn->bytes;

	return (insn->size == 3 && b[0] == 0x48 &&
		((b[1] == 0x89 && b[2] == 0xe5) || (b[1] == 0x8b && b[2] == 0xec))) ||
	       census_rbp_rsp_disp(insn, 0x8d);
}

/* One function: does it call, does it set up rbp as a frame pointer? */
static void census_function(csh cs, cs_insn *insn, const unsigned char *code, uint64_t size,
			    uint64_t addr, struct frame_census *c)
{
	bool calls = false, saved = false, fp = false;

	while (cs_lib.disasm_iter(cs, &code, &size, &addr, insn)) {
		if (insn->id == X86_INS_CALL)
			calls = true;
		else if (census_saves_rbp(insn))
			saved = true;
		else if (saved && census_sets_rbp(insn))
			fp = true;
	}
	c->functions++;
	if (calls) {
		c->callers++;
		c->callers_with_fp += fp;
	} else {
		c->leaves++;
	}
}

static int census_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A stripped binary: each FDE is a function, up to the next one. */
static void census_fdes(csh cs, cs_insn *insn, struct census_elf *ce, struct frame_census *c)
{
	size_t i;

	qsort(ce->starts, ce->nr_starts, sizeof(*ce->starts), census_cmp_u64);
	for (i = 0; i < ce->nr_starts; i++) {
		uint64_t size = i + 1 < ce->nr_starts ? ce->starts[i + 1] - ce->starts[i]
						      : CENSUS_MAX_FUNC_BYTES;
		const unsigned char *code = census_code(ce, ce->starts[i], &size);

		if (code && size)
			census_function(cs, insn, code, size, ce->starts[i], c);
	}
	c->from_fdes = true;
}

static void census_symbols(csh cs, cs_insn *insn, const struct census_elf *ce,
			   const struct elf_syms *es, struct frame_census *c)
{
	unsigned long addr, size, prev = 0;
	const char *name;
	size_t i;

	for (i = 0; (name = elf_syms__at(es, i, &addr, &size)); i++) {
		uint64_t len = size;
		const unsigned char *code;

		/* Aliases share their code: count it once. */
		if (!size || (i && addr == prev) || census_skip(name))
			continue;
		prev = addr;
		code = census_code(ce, addr, &len);
		if (code && len)
			census_function(cs, insn, code, len, addr, c);
	}
}

int frame_census__read(const char *path, struct frame_census *c)
{
	struct census_elf ce = {.nr_text = 0};
	struct elf_syms *es = NULL;
	cs_insn *insn = NULL;
	Elf *elf = NULL;
	struct stat st;
	GElf_Ehdr eh;
	csh cs = 0;
	int fd, err = 0;

	memset(c, 0, sizeof(*c));
	fd = sym_file__open(-1, path, NULL, 0, SYM_MAX_ELF_SIZE, &st);
	if (fd < 0)
		return fd;
	elf = sym_elf__read(fd);
	if (!elf || !gelf_getehdr(elf, &eh)) {
		err = -EINVAL;
		goto out;
	}
	if (eh.e_machine != EM_X86_64) {
		err = -EOPNOTSUPP;
		goto out;
	}
	err = census_sections(elf, &ce);
	if (err)
		goto out;
	c->go = ce.go;
	err = lazylib__load(&cs_lazy);
	if (err)
		goto out;
	if (cs_lib.open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK || !(insn = cs_lib.malloc(cs))) {
		err = -ENOMEM;
		goto out;
	}
	es = ce.has_symtab ? elf_syms__load_fd(fd) : NULL;
	if (es && elf_syms__count(es))
		census_symbols(cs, insn, &ce, es, c);
	else if (ce.nr_starts)
		census_fdes(cs, insn, &ce, c);
	else
		err = -ENODATA; /* neither a symbol table nor CFI: nothing says where code starts */
out:
	if (insn)
		cs_lib.free(insn, 1);
	if (cs)
		cs_lib.close(&cs);
	elf_syms__free(es);
	free(ce.starts);
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}
