// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize.h"
#include "symbolize-private.h"

struct elf_cache_entry {
	struct elf_cache_entry *next;
	struct elf_syms *syms; /* NULL: could not be loaded (negative cache) */
	char path[];
};

#define ELF_BUCKETS 256
#define RELOAD_BUCKETS 1024

struct reloaded {
	struct reloaded *next;
	pid_t pid;
};

struct symbolizer {
	char *proc_root;
	char *kallsyms_path;
	struct ksyms *ksyms;
	bool ksyms_tried;
	struct aspaces *aspaces;
	struct elf_cache_entry *elfs[ELF_BUCKETS];
	struct reloaded *reloaded[RELOAD_BUCKETS];
};

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->proc_root = strdup(opts && opts->proc_root ? opts->proc_root : "/proc");
	s->kallsyms_path = strdup(opts && opts->kallsyms_path ? opts->kallsyms_path :
								 "/proc/kallsyms");
	s->aspaces = aspaces__new();
	if (!s->proc_root || !s->kallsyms_path || !s->aspaces) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < ELF_BUCKETS; i++) {
		struct elf_cache_entry *n, *e = s->elfs[i];

		for (; e; e = n) {
			n = e->next;
			elf_syms__free(e->syms);
			free(e);
		}
	}
	for (i = 0; i < RELOAD_BUCKETS; i++) {
		struct reloaded *n, *r = s->reloaded[i];

		for (; r; r = n) {
			n = r->next;
			free(r);
		}
	}
	aspaces__free(s->aspaces);
	ksyms__free(s->ksyms);
	free(s->kallsyms_path);
	free(s->proc_root);
	free(s);
}

struct aspaces *symbolizer__aspaces(struct symbolizer *s)
{
	return s->aspaces;
}

static struct ksyms *get_ksyms(struct symbolizer *s)
{
	if (!s->ksyms_tried) {
		s->ksyms_tried = true;
		s->ksyms = ksyms__load(s->kallsyms_path);
	}
	return s->ksyms;
}

bool symbolizer__kernel_hidden(struct symbolizer *s)
{
	return ksyms__hidden(get_ksyms(s));
}

int symbolizer__kernel_frame(struct symbolizer *s, unsigned long addr, bool leaf, char *buf,
			     size_t sz)
{
	const struct ksym *k = ksyms__lookup(get_ksyms(s), leaf ? addr : addr - 1);

	if (!k) {
		snprintf(buf, sz, "[unknown]_[k]");
		return SYM_UNKNOWN;
	}
	snprintf(buf, sz, "%s_[k]", k->name);
	return SYM_RESOLVED;
}

static struct elf_syms *get_elf(struct symbolizer *s, const char *path)
{
	uint32_t b = sym_hash_str(path) % ELF_BUCKETS;
	struct elf_cache_entry *e;
	size_t len;

	for (e = s->elfs[b]; e; e = e->next)
		if (!strcmp(e->path, path))
			return e->syms;
	len = strlen(path);
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->path, path, len + 1);
	e->syms = elf_syms__load(path);
	e->next = s->elfs[b];
	s->elfs[b] = e;
	return e->syms;
}

/* Re-read /proc/PID/maps at most once per pid when an address is not covered. */
static bool reload_once(struct symbolizer *s, pid_t pid)
{
	uint32_t b = (uint32_t)pid % RELOAD_BUCKETS;
	struct reloaded *r;

	for (r = s->reloaded[b]; r; r = r->next)
		if (r->pid == pid)
			return false;
	r = malloc(sizeof(*r));
	if (!r)
		return false;
	r->pid = pid;
	r->next = s->reloaded[b];
	s->reloaded[b] = r;
	return aspaces__load_proc(s->aspaces, s->proc_root, pid) == 0;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b && b[1] ? b + 1 : path;
}

int symbolizer__user_frame(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			   char *buf, size_t sz)
{
	unsigned long a = leaf ? addr : addr - 1, off, vaddr, delta;
	const struct map_entry *m;
	struct elf_syms *es;
	const char *name;
	char mod[128];

	m = aspaces__find(s->aspaces, pid, a);
	if (!m && reload_once(s, pid))
		m = aspaces__find(s->aspaces, pid, a);
	if (!m || !strcmp(m->path, "//anon") || !strncmp(m->path, "//", 2)) {
		snprintf(buf, sz, "[unknown]");
		return SYM_UNKNOWN;
	}
	off = a - m->start + m->pgoff;
	if (m->path[0] == '[') {
		/* [vdso], [vsyscall]: name the region. */
		snprintf(mod, sizeof(mod), "%.*s", (int)strcspn(m->path + 1, "]"), m->path + 1);
		snprintf(buf, sz, "[%s+0x%lx]", mod, a - m->start);
		return SYM_MODULE;
	}
	es = get_elf(s, m->path);
	if (es && !elf_syms__offset_to_vaddr(es, off, &vaddr)) {
		name = elf_syms__lookup(es, vaddr, &delta);
		if (name) {
			snprintf(buf, sz, "%s", name);
			return SYM_RESOLVED;
		}
		off = vaddr;
	}
	snprintf(buf, sz, "[%s+0x%lx]", base_name(m->path), off);
	return SYM_MODULE;
}
