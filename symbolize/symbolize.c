// SPDX-License-Identifier: GPL-2.0
/*
 * The symbolizer: names a kernel or user frame. User frames go through the process's
 * mapping to the file actually mapped (also when deleted, replaced or in another mount
 * namespace), its symbols (or those of its debug file), demangled; JIT code through
 * perf-PID.map; the vDSO through this process's own image of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <zlib.h>
#include "symbolize.h"
#include "symbolize-private.h"

/* One loaded object file: found by (dev, ino) of what was opened, or by build id. */
struct dso {
	struct dso *next;
	struct elf_syms *syms; /* NULL: could not be read */
	dev_t dev;
	ino_t ino;
	unsigned char build_id[64];
	size_t build_id_len;
};

struct jit_cache {
	struct jit_cache *next;
	pid_t pid;
	struct jitmap *map; /* NULL: none */
};

struct demangled {
	struct demangled *next;
	const char *mangled; /* the pointer is the key: names live as long as their dso */
	char *name;	     /* NULL: not mangled */
};

#define PID_BUCKETS 1024
#define DEMANGLE_BUCKETS 4096

struct reloaded {
	struct reloaded *next;
	pid_t pid;
};

struct symbolizer {
	char *proc_root;
	char *kallsyms_path;
	char *debug_dirs;
	bool no_demangle;
	struct ksyms *ksyms;
	bool ksyms_tried;
	struct aspaces *aspaces;
	struct dso *dsos;
	struct dso *vdso;
	bool vdso_tried;
	struct jit_cache *jits[PID_BUCKETS];
	struct reloaded *reloaded[PID_BUCKETS];
	struct demangled *demangled[DEMANGLE_BUCKETS];
	char *last_path; /* symbolizer__file_symbol's last file */
	struct dso *last_dso;
};

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->proc_root = strdup(opts && opts->proc_root ? opts->proc_root : "/proc");
	s->kallsyms_path = strdup(opts && opts->kallsyms_path ? opts->kallsyms_path :
								 "/proc/kallsyms");
	s->debug_dirs = strdup(opts && opts->debug_dirs ? opts->debug_dirs : "/usr/lib/debug");
	s->no_demangle = opts && opts->no_demangle;
	s->aspaces = aspaces__new();
	if (!s->proc_root || !s->kallsyms_path || !s->debug_dirs || !s->aspaces) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static void dso__free(struct dso *d)
{
	if (!d)
		return;
	elf_syms__free(d->syms);
	free(d);
}

void symbolizer__free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	while (s->dsos) {
		struct dso *n = s->dsos->next;

		dso__free(s->dsos);
		s->dsos = n;
	}
	dso__free(s->vdso);
	for (i = 0; i < PID_BUCKETS; i++) {
		while (s->jits[i]) {
			struct jit_cache *n = s->jits[i]->next;

			jitmap__free(s->jits[i]->map);
			free(s->jits[i]);
			s->jits[i] = n;
		}
		while (s->reloaded[i]) {
			struct reloaded *n = s->reloaded[i]->next;

			free(s->reloaded[i]);
			s->reloaded[i] = n;
		}
	}
	for (i = 0; i < DEMANGLE_BUCKETS; i++) {
		while (s->demangled[i]) {
			struct demangled *n = s->demangled[i]->next;

			free(s->demangled[i]->name);
			free(s->demangled[i]);
			s->demangled[i] = n;
		}
	}
	aspaces__free(s->aspaces);
	ksyms__free(s->ksyms);
	free(s->last_path);
	free(s->debug_dirs);
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

/* ---- debug files ---- */

static uint32_t file_crc32(const char *path)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, n);
	close(fd);
	return (uint32_t)crc;
}

/* A debug file for es if its build id (when both have one) matches. */
static struct elf_syms *try_debug_file(const struct elf_syms *es, const char *path, bool check_crc,
				       uint32_t crc)
{
	unsigned char a[64], b[64];
	struct elf_syms *dbg;
	size_t la, lb;

	if (access(path, R_OK))
		return NULL;
	if (check_crc && file_crc32(path) != crc)
		return NULL;
	dbg = elf_syms__load(path);
	if (!dbg)
		return NULL;
	la = elf_syms__build_id(es, a, sizeof(a));
	lb = elf_syms__build_id(dbg, b, sizeof(b));
	if (!elf_syms__has_symtab(dbg) || (la && lb && (la != lb || memcmp(a, b, la)))) {
		elf_syms__free(dbg);
		return NULL;
	}
	return dbg;
}

/*
 * Where gdb and perf look: <debug dir>/.build-id/xx/rest.debug, then the debuglink name
 * next to the binary, in its .debug/ directory and under <debug dir>/<binary's dir>/.
 */
static struct elf_syms *find_debug_file(struct symbolizer *s, const struct elf_syms *es,
					const char *bin_path, const char *root)
{
	char *dirs = strdup(s->debug_dirs), *dir, *save = NULL, path[4096], bindir[2048], hex[130];
	unsigned char id[64];
	struct elf_syms *dbg = NULL;
	const char *link, *slash;
	uint32_t crc = 0;
	size_t len, i;

	if (!dirs)
		return NULL;
	len = elf_syms__build_id(es, id, sizeof(id));
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	link = elf_syms__debuglink(es, &crc);
	slash = strrchr(bin_path, '/');
	snprintf(bindir, sizeof(bindir), "%.*s", slash ? (int)(slash - bin_path) : 0, bin_path);

	for (dir = strtok_r(dirs, ":", &save); dir && !dbg && len >= 2;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
		dbg = try_debug_file(es, path, false, 0);
	}
	if (!dbg && link) {
		snprintf(path, sizeof(path), "%s%s/%s", root, bindir, link);
		dbg = try_debug_file(es, path, true, crc);
		if (!dbg) {
			snprintf(path, sizeof(path), "%s%s/.debug/%s", root, bindir, link);
			dbg = try_debug_file(es, path, true, crc);
		}
		free(dirs);
		dirs = strdup(s->debug_dirs);
		save = NULL;
		for (dir = dirs ? strtok_r(dirs, ":", &save) : NULL; dir && !dbg;
		     dir = strtok_r(NULL, ":", &save)) {
			snprintf(path, sizeof(path), "%s%s/%s", dir, bindir, link);
			dbg = try_debug_file(es, path, true, crc);
		}
	}
	free(dirs);
	return dbg;
}

/* ---- objects ---- */

static struct dso *dso_by_id(struct symbolizer *s, dev_t dev, ino_t ino, const unsigned char *id,
			     size_t id_len)
{
	struct dso *d;

	for (d = s->dsos; d; d = d->next) {
		if (id_len && d->build_id_len == id_len && !memcmp(d->build_id, id, id_len))
			return d;
		if (!id_len && d->dev == dev && d->ino == ino)
			return d;
	}
	return NULL;
}

/* A failed resolution is cached too, so one bad mapping costs one try. */
static struct dso failed_dso;

static struct dso *load_dso(struct symbolizer *s, int fd, const char *path, const char *root)
{
	struct elf_syms *es, *dbg;
	unsigned char id[64];
	struct stat st;
	struct dso *d;
	size_t id_len;

	if (fstat(fd, &st))
		return &failed_dso;
	for (d = s->dsos; d; d = d->next)
		if (d->dev == st.st_dev && d->ino == st.st_ino)
			return d;
	es = elf_syms__load_fd(fd);
	if (!es)
		return &failed_dso;
	/* The same binary through another path or mount namespace: one copy. */
	id_len = elf_syms__build_id(es, id, sizeof(id));
	d = id_len ? dso_by_id(s, 0, 0, id, id_len) : NULL;
	if (d) {
		elf_syms__free(es);
		return d;
	}
	if (!elf_syms__has_symtab(es)) {
		dbg = find_debug_file(s, es, path, root);
		if (dbg) {
			elf_syms__merge(es, dbg);
			elf_syms__free(dbg);
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		elf_syms__free(es);
		return &failed_dso;
	}
	d->syms = es;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	memcpy(d->build_id, id, id_len);
	d->build_id_len = id_len;
	d->next = s->dsos;
	s->dsos = d;
	return d;
}

/*
 * The file behind a mapping: /proc/PID/map_files/START-END is the very file mapped
 * (deleted, replaced, or in another mount namespace); for a process that is gone,
 * the path inside its root, then the path as recorded.
 */
static struct dso *resolve(struct symbolizer *s, pid_t pid, struct map_entry *m)
{
	char path[4096], root[256];
	struct dso *d;
	int fd;

	if (m->obj)
		return m->obj;
	snprintf(path, sizeof(path), "%s/%d/map_files/%lx-%lx", s->proc_root, pid, m->start, m->end);
	snprintf(root, sizeof(root), "%s/%d/root", s->proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s%s", root, m->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		root[0] = 0;
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	} else if (access(root, X_OK)) {
		root[0] = 0;
	}
	if (fd < 0) {
		m->obj = &failed_dso;
		return m->obj;
	}
	d = load_dso(s, fd, m->path, root);
	close(fd);
	m->obj = d;
	return d;
}

/* This process's vDSO: the kernel gives every 64-bit process the same image. */
static struct dso *vdso(struct symbolizer *s)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR), start, end;
	char line[512];
	FILE *f;

	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = true;
	if (!base)
		return NULL;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]") || sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		s->vdso = calloc(1, sizeof(*s->vdso));
		if (s->vdso)
			s->vdso->syms = elf_syms__load_mem((void *)start, end - start);
		break;
	}
	fclose(f);
	return s->vdso;
}

static struct jitmap *jitmap_of(struct symbolizer *s, pid_t pid)
{
	struct jit_cache *j;
	char path[512], status[256], line[256];
	pid_t nspid = pid;
	FILE *f;

	for (j = s->jits[pid % PID_BUCKETS]; j; j = j->next)
		if (j->pid == pid)
			return j->map;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->pid = pid;
	j->next = s->jits[pid % PID_BUCKETS];
	s->jits[pid % PID_BUCKETS] = j;
	/* In a container the file is named after the pid the process sees (NSpid). */
	snprintf(status, sizeof(status), "%s/%d/status", s->proc_root, pid);
	f = fopen(status, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "NSpid:", 6)) {
				char *last = strrchr(line, '\t');

				if (last)
					nspid = atoi(last + 1);
			}
		}
		fclose(f);
		snprintf(path, sizeof(path), "%s/%d/root/tmp/perf-%d.map", s->proc_root, pid, nspid);
		j->map = jitmap__load(path);
	}
	if (!j->map) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
		j->map = jitmap__load(path);
	}
	return j->map;
}

static const char *demangle(struct symbolizer *s, const char *name)
{
	uintptr_t b = ((uintptr_t)name >> 3) % DEMANGLE_BUCKETS;
	struct demangled *d;

	if (s->no_demangle || name[0] != '_')
		return name;
	for (d = s->demangled[b]; d; d = d->next)
		if (d->mangled == name)
			return d->name ? d->name : name;
	d = calloc(1, sizeof(*d));
	if (!d)
		return name;
	d->mangled = name;
	d->name = symbol__demangle(name);
	d->next = s->demangled[b];
	s->demangled[b] = d;
	return d->name ? d->name : name;
}

/* Re-read /proc/PID/maps at most once per pid when an address is not covered. */
static bool reload_once(struct symbolizer *s, pid_t pid)
{
	struct reloaded *r;

	for (r = s->reloaded[pid % PID_BUCKETS]; r; r = r->next)
		if (r->pid == pid)
			return false;
	r = malloc(sizeof(*r));
	if (!r)
		return false;
	r->pid = pid;
	r->next = s->reloaded[pid % PID_BUCKETS];
	s->reloaded[pid % PID_BUCKETS] = r;
	return aspaces__load_proc(s->aspaces, s->proc_root, pid) == 0;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b && b[1] ? b + 1 : path;
}

static bool is_anon(const char *path)
{
	return !strncmp(path, "//", 2) || !strncmp(path, "[anon", 5) || !strncmp(path, "/memfd:", 7);
}

int symbolizer__user_frame(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			   char *buf, size_t sz)
{
	return symbolizer__user_frame_mod(s, pid, addr, leaf, buf, sz, NULL);
}

static void set_module(struct frame_module *mod, const char *path, const struct dso *d)
{
	size_t i;

	if (!mod)
		return;
	mod->path = path;
	mod->build_id[0] = 0;
	for (i = 0; d && i < d->build_id_len && i < 64; i++)
		snprintf(mod->build_id + 2 * i, 3, "%02x", d->build_id[i]);
}

int symbolizer__user_frame_mod(struct symbolizer *s, pid_t pid, unsigned long addr, bool leaf,
			       char *buf, size_t sz, struct frame_module *mod)
{
	unsigned long a = leaf ? addr : addr - 1, off, vaddr, delta;
	struct map_entry *m;
	struct dso *d = NULL;
	const char *name;
	char region[128];

	set_module(mod, NULL, NULL);
	m = aspaces__find(s->aspaces, pid, a);
	if (!m && reload_once(s, pid))
		m = aspaces__find(s->aspaces, pid, a);
	/* JIT code lives in anonymous memory and names itself in perf-PID.map. */
	if (!m || is_anon(m->path)) {
		name = jitmap__lookup(jitmap_of(s, pid), a);
		if (name) {
			snprintf(buf, sz, "%s_[j]", name);
			return SYM_RESOLVED;
		}
		snprintf(buf, sz, "[unknown]");
		return SYM_UNKNOWN;
	}
	off = a - m->start + m->pgoff;
	if (!strcmp(m->path, "[vdso]")) {
		d = vdso(s);
		off = a - m->start;
	} else if (m->path[0] != '[') {
		d = resolve(s, pid, m);
	}
	set_module(mod, m->path, d && d != &failed_dso ? d : NULL);
	if (d && d->syms && !elf_syms__offset_to_vaddr(d->syms, off, &vaddr)) {
		name = elf_syms__lookup(d->syms, vaddr, &delta);
		if (name) {
			snprintf(buf, sz, "%s", demangle(s, name));
			return SYM_RESOLVED;
		}
		off = vaddr;
	}
	if (m->path[0] == '[') {
		snprintf(region, sizeof(region), "%.*s", (int)strcspn(m->path + 1, "]"), m->path + 1);
		snprintf(buf, sz, "[%s+0x%lx]", region, a - m->start);
	} else {
		snprintf(buf, sz, "[%s+0x%lx]", base_name(m->path), off);
	}
	return SYM_MODULE;
}

int symbolizer__file_symbol(struct symbolizer *s, const char *path, unsigned long vaddr, char *buf,
			    size_t sz)
{
	unsigned long delta;
	const char *name;
	struct dso *d;
	int fd;

	if (s->last_path && !strcmp(s->last_path, path)) {
		d = s->last_dso;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(buf, sz, "[unknown]");
			return SYM_UNKNOWN;
		}
		d = load_dso(s, fd, path, "");
		close(fd);
		free(s->last_path);
		s->last_path = strdup(path);
		s->last_dso = d;
	}
	name = d->syms ? elf_syms__lookup(d->syms, vaddr, &delta) : NULL;
	if (!name) {
		snprintf(buf, sz, "[%s+0x%lx]", base_name(path), vaddr);
		return SYM_MODULE;
	}
	snprintf(buf, sz, "%s", demangle(s, name));
	return SYM_RESOLVED;
}
