// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lzma.h>
#include <stdint.h>
#include <sys/stat.h>
#include "symbolize.h"
#include "symbolize-private.h"

struct elf_seg {
	unsigned long offset, vaddr, filesz;
};

struct elf_syms {
	struct elf_sym *syms;
	size_t nr;
	struct addr_index index; /* the symbols' addresses */
	struct elf_seg *segs;
	size_t nr_segs;
	char *strpool;
	bool has_symtab;
	bool has_dwarf;
	unsigned char build_id[64];
	size_t build_id_len;
	char debuglink[256];
	uint32_t debuglink_crc;
};

int addr_index__alloc(struct addr_index *ix, size_t n)
{
	addr_index__free(ix);
	ix->keys = malloc((n ? n : 1) * sizeof(*ix->keys));
	ix->n = n;
	return ix->keys ? 0 : -ENOMEM;
}

int addr_index__build(struct addr_index *ix)
{
	size_t i;

	ix->ntop = (ix->n + ADDR_INDEX_STRIDE - 1) / ADDR_INDEX_STRIDE;
	ix->top = malloc((ix->ntop ? ix->ntop : 1) * sizeof(*ix->top));
	if (!ix->top) {
		addr_index__free(ix);
		return -ENOMEM;
	}
	for (i = 0; i < ix->ntop; i++)
		ix->top[i] = ix->keys[i * ADDR_INDEX_STRIDE];
	return 0;
}

void addr_index__free(struct addr_index *ix)
{
	free(ix->keys);
	free(ix->top);
	*ix = (struct addr_index){0};
}

/* The index of the symbols' addresses; without it (no memory) lookups search the symbols. */
static int index_syms(struct elf_syms *es)
{
	size_t i;

	if (addr_index__alloc(&es->index, es->nr))
		return 0;
	for (i = 0; i < es->nr; i++)
		es->index.keys[i] = es->syms[i].addr;
	addr_index__build(&es->index);
	return 0;
}

void elf_syms__free(struct elf_syms *es)
{
	if (!es)
		return;
	free(es->syms);
	addr_index__free(&es->index);
	free(es->segs);
	free(es->strpool);
	free(es);
}

/*
 * How public a binding is: global and weak alike (glibc exports calloc as a weak alias of
 * the global __libc_calloc: both are public, the name decides), then local.
 */
static int bind_rank(unsigned char bind)
{
	return bind == STB_GLOBAL || bind == STB_WEAK ? 0 : 1;
}

static size_t leading_underscores(const char *name)
{
	return strspn(name, "_");
}

/*
 * The one rule for the name of an address that several symbols share (malloc,
 * __libc_malloc, __GI___libc_malloc): the public name. In order: a symbol with a size;
 * global or weak over local; fewer leading underscores; no symbol
 * version ("cfree@GLIBC_2.2.5"); the shorter name; then by bytes, so the choice never
 * depends on the order of the symbol table. Negative: a is the better name.
 */
int elf_sym__alias_cmp(const struct elf_sym *a, const struct elf_sym *b)
{
	size_t ua, ub, la, lb;
	bool va, vb;

	if (!!a->size != !!b->size)
		return a->size ? -1 : 1;
	if (bind_rank(a->bind) != bind_rank(b->bind))
		return bind_rank(a->bind) - bind_rank(b->bind);
	ua = leading_underscores(a->name);
	ub = leading_underscores(b->name);
	if (ua != ub)
		return ua < ub ? -1 : 1;
	va = strchr(a->name, '@') != NULL;
	vb = strchr(b->name, '@') != NULL;
	if (va != vb)
		return va ? 1 : -1;
	la = strlen(a->name);
	lb = strlen(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* By address; at one address the best name first (kept when aliases are dropped). */
static int elf_sym_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return elf_sym__alias_cmp(x, y);
}

/* Keep one symbol per address: the first, which elf_sym_cmp sorted best. */
static size_t drop_aliases(struct elf_sym *syms, size_t n)
{
	size_t i, j = 1;

	if (!n)
		return 0;
	for (i = 1; i < n; i++)
		if (syms[i].addr != syms[j - 1].addr)
			syms[j++] = syms[i];
	return j;
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

static Elf_Data *section_data(Elf_Scn *scn, GElf_Shdr *shdr);

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
	GElf_Shdr sh = *shdr;
	Elf_Data *data = section_data(scn, &sh);
	size_t i, n, pool_len = 0, pos = 0, out = 0;
	GElf_Sym sym;

	if (!data)
		return -EINVAL;
	n = sh.sh_size / sh.sh_entsize;
	/* Two passes: size the string pool, then copy, so names stay valid after elf_end(). */
	for (i = 0; i < n; i++) {
		const char *name = func_sym(elf, &sh, data, i, &sym);

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
		const char *name = func_sym(elf, &sh, data, i, &sym);
		size_t len;

		if (!name)
			continue;
		len = strlen(name) + 1;
		memcpy(es->strpool + pos, name, len);
		es->syms[es->nr].addr = sym.st_value;
		es->syms[es->nr].size = sym.st_size;
		es->syms[es->nr].name = es->strpool + pos;
		es->syms[es->nr].bind = GELF_ST_BIND(sym.st_info);
		es->nr++;
		pos += len;
	}
	qsort(es->syms, es->nr, sizeof(*es->syms), elf_sym_cmp);
	es->nr = drop_aliases(es->syms, es->nr);
	/* Sized for every function symbol: the aliases' room goes back. */
	if (es->nr && es->nr < out) {
		struct elf_sym *tmp = realloc(es->syms, es->nr * sizeof(*tmp));

		if (tmp)
			es->syms = tmp;
	}
	return index_syms(es);
}

/* Section data, decompressed first when SHF_COMPRESSED (zlib, through libelf). */
static Elf_Data *section_data(Elf_Scn *scn, GElf_Shdr *shdr)
{
	if (shdr->sh_flags & SHF_COMPRESSED) {
		if (elf_compress(scn, 0, 0) < 0)
			return NULL;
		gelf_getshdr(scn, shdr);
	}
	return elf_getdata(scn, NULL);
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* NT_GNU_BUILD_ID from any SHT_NOTE section: its length, 0 when absent. */
size_t elf_read_build_id(Elf *elf, unsigned char *out, size_t max)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Nhdr nhdr;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
			if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) &&
			    nhdr.n_descsz <= max) {
				memcpy(out, (char *)data->d_buf + desc_off, nhdr.n_descsz);
				return nhdr.n_descsz;
			}
		}
	}
	return 0;
}

/* .gnu_debuglink: a file name, padding, then a CRC32 of the debug file. */
static void read_debuglink(struct elf_syms *es, Elf *elf)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_section(elf, ".gnu_debuglink", &shdr);
	Elf_Data *data;
	size_t len;

	if (!scn || !(data = elf_getdata(scn, NULL)) || data->d_size < 8)
		return;
	len = strnlen(data->d_buf, data->d_size);
	if (len == 0 || len >= sizeof(es->debuglink) || data->d_size < ((len + 4) & ~3UL) + 4)
		return;
	memcpy(es->debuglink, data->d_buf, len);
	es->debuglink[len] = 0;
	memcpy(&es->debuglink_crc, (char *)data->d_buf + ((len + 4) & ~3UL), 4);
}

static struct elf_syms *load_elf(Elf *elf, int depth);

/*
 * MiniDebugInfo: .gnu_debugdata holds an xz-compressed ELF whose .symtab has the local
 * functions that stripping removed from the binary.
 */
static struct elf_syms *load_minidebuginfo(Elf *elf, int depth)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_section(elf, ".gnu_debugdata", &shdr);
	struct elf_syms *mini = NULL;
	size_t in_pos = 0, out_pos = 0, cap;
	uint64_t memlimit = 256 << 20;
	uint8_t *out = NULL;
	Elf_Data *data;
	Elf *inner;

	if (!scn || depth > 0 || !(data = elf_getdata(scn, NULL)) || !data->d_size)
		return NULL;
	for (cap = data->d_size * 8; cap <= (64u << 20); cap *= 2) {
		lzma_ret r;

		free(out);
		out = malloc(cap);
		if (!out)
			return NULL;
		in_pos = out_pos = 0;
		r = lzma_stream_buffer_decode(&memlimit, 0, NULL, data->d_buf, &in_pos,
					      data->d_size, out, &out_pos, cap);
		if (r == LZMA_OK)
			break;
		if (r != LZMA_BUF_ERROR) {
			free(out);
			return NULL;
		}
	}
	if (cap > (64u << 20)) {
		free(out);
		return NULL;
	}
	inner = elf_memory((char *)out, out_pos);
	if (inner) {
		mini = load_elf(inner, depth + 1);
		elf_end(inner);
	}
	free(out);
	return mini;
}

static struct elf_syms *load_elf(Elf *elf, int depth)
{
	struct elf_syms *es = NULL, *mini;
	GElf_Shdr shdr;
	Elf_Scn *scn;
	size_t i, nphdr;
	int err = 0;

	if (elf_kind(elf) != ELF_K_ELF) {
		errno = ENOEXEC;
		return NULL;
	}
	es = calloc(1, sizeof(*es));
	if (!es) {
		errno = ENOMEM;
		return NULL;
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
	es->build_id_len = elf_read_build_id(elf, es->build_id, sizeof(es->build_id));
	read_debuglink(es, elf);
	{
		GElf_Shdr dsh;

		es->has_dwarf = find_section(elf, ".debug_info", &dsh) != NULL;
	}
	scn = find_symtab(elf, SHT_SYMTAB, &shdr);
	es->has_symtab = scn != NULL;
	if (!scn)
		scn = find_symtab(elf, SHT_DYNSYM, &shdr);
	if (scn)
		err = load_syms(es, elf, scn, &shdr);
	if (!err && !es->has_symtab) {
		mini = load_minidebuginfo(elf, depth);
		if (mini && mini->nr) {
			err = elf_syms__merge(es, mini);
			es->has_symtab = true;
		}
		elf_syms__free(mini);
	}
out:
	if (err) {
		elf_syms__free(es);
		errno = -err;
		return NULL;
	}
	return es;
}

Elf *sym_elf__read(int fd)
{
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	/*
	 * Read, not mapped: the owner of a profiled binary may truncate it while we
	 * read, and a mapping past the end would be SIGBUS; reads just come up short.
	 */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		errno = ENOEXEC;
	return elf;
}

struct elf_syms *elf_syms__load_fd(int fd)
{
	struct elf_syms *es;
	Elf *elf;

	elf = sym_elf__read(fd);
	if (!elf)
		return NULL;
	es = load_elf(elf, 0);
	elf_end(elf);
	return es;
}

struct elf_syms *elf_syms__load(const char *path)
{
	struct elf_syms *es;
	struct stat st;
	int fd = sym_file__open(-1, path, NULL, 0, SYM_MAX_ELF_SIZE, &st), err;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	es = elf_syms__load_fd(fd);
	err = errno;
	close(fd);
	errno = err;
	return es;
}

struct elf_syms *elf_syms__load_mem(const void *image, size_t size)
{
	struct elf_syms *es;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	elf = elf_memory((char *)image, size);
	if (!elf) {
		errno = ENOEXEC;
		return NULL;
	}
	es = load_elf(elf, 0);
	elf_end(elf);
	return es;
}

/*
 * Take the symbols of a debug file (or MiniDebugInfo), keeping this file's own where
 * the other has none at that address. The segments stay this file's.
 */
int elf_syms__merge(struct elf_syms *es, const struct elf_syms *other)
{
	size_t i, n = 0, pool = 0, pos = 0;
	struct elf_sym *syms;
	char *strpool;

	for (i = 0; i < es->nr; i++)
		pool += strlen(es->syms[i].name) + 1;
	for (i = 0; i < other->nr; i++)
		pool += strlen(other->syms[i].name) + 1;
	syms = calloc(es->nr + other->nr + 1, sizeof(*syms));
	strpool = malloc(pool + 1);
	if (!syms || !strpool) {
		free(syms);
		free(strpool);
		return -ENOMEM;
	}
	for (i = 0; i < other->nr + es->nr; i++) {
		const struct elf_sym *src =
			i < other->nr ? &other->syms[i] : &es->syms[i - other->nr];
		size_t len = strlen(src->name) + 1;

		memcpy(strpool + pos, src->name, len);
		syms[n] = *src;
		syms[n].name = strpool + pos;
		pos += len;
		n++;
	}
	/* At one address, the same rule as within one file picks the name. */
	qsort(syms, n, sizeof(*syms), elf_sym_cmp);
	n = drop_aliases(syms, n);
	free(es->syms);
	free(es->strpool);
	es->syms = syms;
	es->strpool = strpool;
	es->nr = n;
	return index_syms(es);
}

bool elf_syms__has_dwarf(const struct elf_syms *es)
{
	return es && es->has_dwarf;
}

bool elf_syms__has_symtab(const struct elf_syms *es)
{
	return es && es->has_symtab;
}

size_t elf_syms__build_id(const struct elf_syms *es, unsigned char *out, size_t max)
{
	size_t n = es->build_id_len < max ? es->build_id_len : max;

	memcpy(out, es->build_id, n);
	return n;
}

const char *elf_syms__debuglink(const struct elf_syms *es, uint32_t *crc)
{
	if (!es->debuglink[0])
		return NULL;
	if (crc)
		*crc = es->debuglink_crc;
	return es->debuglink;
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

int elf_syms__find(const struct elf_syms *es, const char *name, unsigned long *vaddr)
{
	size_t i;

	for (i = 0; es && i < es->nr; i++) {
		if (!strcmp(es->syms[i].name, name)) {
			*vaddr = es->syms[i].addr;
			return 0;
		}
	}
	return -ENOENT;
}

long elf_syms__index(const struct elf_syms *es, unsigned long vaddr)
{
	size_t lo = 0, hi;
	long i;

	if (!es || !es->nr || vaddr < es->syms[0].addr)
		return -1;
	i = addr_index__find(&es->index, vaddr);
	if (i < 0) {
		/* No index (out of memory): a binary search over the symbols. */
		hi = es->nr;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (es->syms[mid].addr <= vaddr)
				lo = mid;
			else
				hi = mid;
		}
		i = (long)lo;
	}
	return i;
}

const char *elf_syms__lookup(const struct elf_syms *es, unsigned long vaddr, unsigned long *delta)
{
	long i = elf_syms__index(es, vaddr);
	const struct elf_sym *s;

	if (i < 0)
		return NULL;
	s = &es->syms[i];
	/* A sized symbol must contain the address; a size-0 one reaches the next symbol. */
	if (s->size && vaddr >= s->addr + s->size)
		return NULL;
	if (delta)
		*delta = vaddr - s->addr;
	return s->name;
}

/* The i-th function (sorted by address): its name, start and size; NULL past the end. */
const char *elf_syms__at(const struct elf_syms *es, size_t i, unsigned long *addr,
			 unsigned long *size)
{
	if (!es || i >= es->nr)
		return NULL;
	*addr = es->syms[i].addr;
	*size = es->syms[i].size;
	return es->syms[i].name;
}
