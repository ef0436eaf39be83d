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

/*
 * A kept symbol, 8 bytes: its address is index.keys[i], its name an offset into strpool
 * (only the kept names are pooled), the top bit set for a local symbol (all that the alias
 * rule needs of the binding when a debug file's symbols are merged in).
 */
struct elf_rec {
	uint32_t size; /* clamped to UINT32_MAX */
	uint32_t name;
};

#define ELF_REC_LOCAL 0x80000000u
#define ELF_POOL_MAX  ELF_REC_LOCAL

struct elf_syms {
	struct elf_rec *syms;
	size_t nr;
	struct addr_index index; /* the symbols' addresses, sorted */
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

static const char *rec_name(const struct elf_syms *es, size_t i)
{
	return es->strpool + (es->syms[i].name & ~ELF_REC_LOCAL);
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

/*
 * Sort wide (addresses, then the best name first) unless it is sorted, drop the aliases
 * and store what is left compactly in es, in place of what es held. The names are copied:
 * wide may point into an Elf about to be ended, or into es's own pool.
 */
static int elf_syms__pack(struct elf_syms *es, struct elf_sym *wide, size_t n, bool sorted)
{
	struct addr_index ix = {0};
	size_t i, pool = 0, pos = 0;
	struct elf_rec *recs;
	char *strpool;

	if (!sorted)
		qsort(wide, n, sizeof(*wide), elf_sym_cmp);
	n = drop_aliases(wide, n);
	for (i = 0; i < n; i++)
		pool += strlen(wide[i].name) + 1;
	if (pool >= ELF_POOL_MAX)
		return -E2BIG;
	recs = malloc((n ? n : 1) * sizeof(*recs));
	strpool = malloc(pool ? pool : 1);
	if (!recs || !strpool || addr_index__alloc(&ix, n)) {
		free(recs);
		free(strpool);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		size_t len = strlen(wide[i].name) + 1;

		memcpy(strpool + pos, wide[i].name, len);
		ix.keys[i] = wide[i].addr;
		recs[i].size = wide[i].size > UINT32_MAX ? UINT32_MAX : (uint32_t)wide[i].size;
		recs[i].name = (uint32_t)pos | (bind_rank(wide[i].bind) ? ELF_REC_LOCAL : 0);
		pos += len;
	}
	if (addr_index__build(&ix)) {
		free(recs);
		free(strpool);
		return -ENOMEM;
	}
	free(es->syms);
	free(es->strpool);
	addr_index__free(&es->index);
	es->syms = recs;
	es->strpool = strpool;
	es->index = ix;
	es->nr = n;
	return 0;
}

static int load_syms(struct elf_syms *es, Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	GElf_Shdr sh = *shdr;
	Elf_Data *data = section_data(scn, &sh);
	size_t i, n, out = 0;
	struct elf_sym *wide;
	GElf_Sym sym;
	int err;

	if (!data)
		return -EINVAL;
	n = sh.sh_size / sh.sh_entsize;
	wide = malloc((n ? n : 1) * sizeof(*wide));
	if (!wide)
		return -ENOMEM;
	/* The names point into the Elf until packed. */
	for (i = 0; i < n; i++) {
		const char *name = func_sym(elf, &sh, data, i, &sym);

		if (!name)
			continue;
		wide[out].addr = sym.st_value;
		wide[out].size = sym.st_size;
		wide[out].name = name;
		wide[out].bind = GELF_ST_BIND(sym.st_info);
		out++;
	}
	err = elf_syms__pack(es, wide, out, false);
	free(wide);
	return err;
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

/* Symbol j of es, wide again. */
static struct elf_sym rec_wide(const struct elf_syms *es, size_t j)
{
	return (struct elf_sym){
		.addr = es->index.keys[j],
		.size = es->syms[j].size,
		.name = rec_name(es, j),
		.bind = es->syms[j].name & ELF_REC_LOCAL ? STB_LOCAL : STB_GLOBAL,
	};
}

/*
 * Take the symbols of a debug file (or MiniDebugInfo), keeping this file's own where
 * the other has none at that address. The segments stay this file's.
 */
int elf_syms__merge(struct elf_syms *es, const struct elf_syms *other)
{
	size_t i = 0, j = 0, k = 0, n = other->nr + es->nr;
	struct elf_sym *wide = malloc((n ? n : 1) * sizeof(*wide));
	int err;

	if (!wide)
		return -ENOMEM;
	/*
	 * Both are sorted: merged in one pass, as a stable sort of other's symbols then es's
	 * would order them. At one address, the same rule as within one file picks the name.
	 */
	while (i < other->nr || j < es->nr) {
		struct elf_sym a = i < other->nr ? rec_wide(other, i) : (struct elf_sym){0};
		struct elf_sym b = j < es->nr ? rec_wide(es, j) : (struct elf_sym){0};

		if (j == es->nr || (i < other->nr && elf_sym_cmp(&a, &b) <= 0)) {
			wide[k++] = a;
			i++;
		} else {
			wide[k++] = b;
			j++;
		}
	}
	err = elf_syms__pack(es, wide, n, true);
	free(wide);
	return err;
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
		if (!strcmp(rec_name(es, i), name)) {
			*vaddr = es->index.keys[i];
			return 0;
		}
	}
	return -ENOENT;
}

long elf_syms__index(const struct elf_syms *es, unsigned long vaddr)
{
	if (!es || !es->nr)
		return -1;
	return addr_index__find(&es->index, vaddr);
}

const char *elf_syms__lookup(const struct elf_syms *es, unsigned long vaddr, unsigned long *delta)
{
	long i = elf_syms__index(es, vaddr);
	unsigned long addr, size;

	if (i < 0)
		return NULL;
	addr = es->index.keys[i];
	size = es->syms[i].size;
	/* A sized symbol must contain the address; a size-0 one reaches the next symbol. */
	if (size && vaddr >= addr + size)
		return NULL;
	if (delta)
		*delta = vaddr - addr;
	return rec_name(es, i);
}

/* The i-th function (sorted by address): its name, start and size; NULL past the end. */
const char *elf_syms__at(const struct elf_syms *es, size_t i, unsigned long *addr,
			 unsigned long *size)
{
	if (!es || i >= es->nr)
		return NULL;
	*addr = es->index.keys[i];
	*size = es->syms[i].size;
	return rec_name(es, i);
}
