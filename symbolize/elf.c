// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "symbolize.h"

struct elf_sym {
	unsigned long addr, size;
	const char *name;
};

struct elf_seg {
	unsigned long offset, vaddr, filesz;
};

struct elf_syms {
	struct elf_sym *syms;
	size_t nr;
	struct elf_seg *segs;
	size_t nr_segs;
	char *strpool;
};

void elf_syms__free(struct elf_syms *es)
{
	if (!es)
		return;
	free(es->syms);
	free(es->segs);
	free(es->strpool);
	free(es);
}

static int elf_sym_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Among aliases prefer the one with a size, then global-looking shorter names. */
	if (!!x->size != !!y->size)
		return x->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

static Elf_Scn *find_symtab(Elf *elf, GElf_Word type, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, shdr))
			continue;
		if (shdr->sh_type == type && shdr->sh_entsize)
			return scn;
	}
	return NULL;
}

/* Symbol i if it is a defined function with a name: its name, else NULL. */
static const char *func_sym(Elf *elf, const GElf_Shdr *shdr, Elf_Data *data, size_t i,
			    GElf_Sym *sym)
{
	const char *name;
	int t;

	if (!gelf_getsym(data, i, sym))
		return NULL;
	t = GELF_ST_TYPE(sym->st_info);
	if ((t != STT_FUNC && t != STT_GNU_IFUNC) || sym->st_shndx == SHN_UNDEF || !sym->st_value)
		return NULL;
	name = elf_strptr(elf, shdr->sh_link, sym->st_name);
	return name && *name ? name : NULL;
}

static int load_syms(struct elf_syms *es, Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n, pool_len = 0, pos = 0, out = 0;
	GElf_Sym sym;

	if (!data)
		return -EINVAL;
	n = shdr->sh_size / shdr->sh_entsize;
	/* Two passes: size the string pool, then copy, so names stay valid after elf_end(). */
	for (i = 0; i < n; i++) {
		const char *name = func_sym(elf, shdr, data, i, &sym);

		if (!name)
			continue;
		pool_len += strlen(name) + 1;
		out++;
	}
	es->syms = calloc(out ? out : 1, sizeof(*es->syms));
	es->strpool = malloc(pool_len ? pool_len : 1);
	if (!es->syms || !es->strpool)
		return -ENOMEM;
	for (i = 0; i < n && es->nr < out; i++) {
		const char *name = func_sym(elf, shdr, data, i, &sym);
		size_t len;

		if (!name)
			continue;
		len = strlen(name) + 1;
		memcpy(es->strpool + pos, name, len);
		es->syms[es->nr].addr = sym.st_value;
		es->syms[es->nr].size = sym.st_size;
		es->syms[es->nr].name = es->strpool + pos;
		es->nr++;
		pos += len;
	}
	qsort(es->syms, es->nr, sizeof(*es->syms), elf_sym_cmp);
	/* Drop aliases at one address (the first sorts best). */
	if (es->nr) {
		size_t j = 1;

		for (i = 1; i < es->nr; i++)
			if (es->syms[i].addr != es->syms[j - 1].addr)
				es->syms[j++] = es->syms[i];
		es->nr = j;
	}
	return 0;
}

struct elf_syms *elf_syms__load(const char *path)
{
	struct elf_syms *es = NULL;
	GElf_Shdr shdr;
	Elf_Scn *scn;
	Elf *elf = NULL;
	size_t i, nphdr;
	int fd, err = 0;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	es = calloc(1, sizeof(*es));
	if (!es) {
		err = -ENOMEM;
		goto out;
	}
	if (elf_getphdrnum(elf, &nphdr)) {
		err = -ENOEXEC;
		goto out;
	}
	es->segs = calloc(nphdr ? nphdr : 1, sizeof(*es->segs));
	if (!es->segs) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		es->segs[es->nr_segs].offset = ph.p_offset;
		es->segs[es->nr_segs].vaddr = ph.p_vaddr;
		es->segs[es->nr_segs].filesz = ph.p_filesz;
		es->nr_segs++;
	}
	scn = find_symtab(elf, SHT_SYMTAB, &shdr);
	if (!scn)
		scn = find_symtab(elf, SHT_DYNSYM, &shdr);
	if (scn)
		err = load_syms(es, elf, scn, &shdr);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (err) {
		elf_syms__free(es);
		errno = -err;
		return NULL;
	}
	return es;
}

size_t elf_syms__count(const struct elf_syms *es)
{
	return es ? es->nr : 0;
}

int elf_syms__offset_to_vaddr(const struct elf_syms *es, unsigned long off, unsigned long *vaddr)
{
	size_t i;

	for (i = 0; i < es->nr_segs; i++) {
		const struct elf_seg *s = &es->segs[i];

		if (off >= s->offset && off < s->offset + s->filesz) {
			*vaddr = off - s->offset + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

const char *elf_syms__lookup(const struct elf_syms *es, unsigned long vaddr, unsigned long *delta)
{
	size_t lo = 0, hi;
	const struct elf_sym *s;

	if (!es || !es->nr || vaddr < es->syms[0].addr)
		return NULL;
	hi = es->nr;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (es->syms[mid].addr <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	s = &es->syms[lo];
	/* A sized symbol must contain the address; a size-0 one reaches the next symbol. */
	if (s->size && vaddr >= s->addr + s->size)
		return NULL;
	if (delta)
		*delta = vaddr - s->addr;
	return s->name;
}
