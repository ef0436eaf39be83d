// SPDX-License-Identifier: GPL-2.0
/*
 * The reference walker on real stacks: the unwind fixture (-O2 -fomit-frame-pointer, no
 * frame pointers anywhere) runs one known call chain to a spinning leaf; the test stops it
 * with ptrace, takes its registers, and walks its live stack (process_vm_readv) with the
 * tables compiled from the files it maps (through /proc/PID/map_files, as the symbolizer
 * opens them) and the vDSO's. The walk must name the whole chain from the leaf to main and
 * on to _start, and give the very frames libdwfl unwinds from the same stopped thread.
 */
#include <criterion/criterion.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "symbolize/symbolize.h"

#define MAX_FRAMES 128

struct mapping {
	uint64_t start, end, bias;
	struct unwind_table *t;
};

struct proc {
	pid_t pid;
	int out; /* the fixture's stdout */
	struct unwind_cache *cache;
	struct mapping maps[64];
	int nr_maps;
	struct symbolizer *sym;
};

static const struct unwind_table *proc_find(void *ctx, uint64_t pc, uint64_t *bias)
{
	struct proc *p = ctx;
	int i;

	for (i = 0; i < p->nr_maps; i++) {
		if (pc >= p->maps[i].start && pc < p->maps[i].end && p->maps[i].t) {
			*bias = p->maps[i].bias;
			return p->maps[i].t;
		}
	}
	return NULL;
}

static int proc_read(void *ctx, uint64_t addr, uint64_t *v)
{
	struct proc *p = ctx;
	struct iovec local = {v, 8}, remote = {(void *)addr, 8};

	return process_vm_readv(p->pid, &local, 1, &remote, 1, 0) == 8 ? 0 : -EFAULT;
}

static const struct unwind_walk_ops proc_ops = {.find = proc_find, .read = proc_read};

/* The executable mappings and their tables, as the profiler will load them. */
static void proc_load_tables(struct proc *p)
{
	char path[256], line[4096], *file;
	unsigned long start, end, pgoff;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) && p->nr_maps < 64) {
		struct mapping *m = &p->maps[p->nr_maps];
		int fd;

		if (proc_maps__parse_line(line, &start, &end, &pgoff, &file) != 1)
			continue;
		m->start = start;
		m->end = end;
		if (!strcmp(file, "[vdso]")) {
			m->t = unwind_cache__get_vdso(p->cache);
			pgoff = 0;
		} else if (file[0] == '/') {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", p->pid, start,
				 end);
			fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
			cr_assert_geq(fd, 0, "%s: %m", path);
			m->t = unwind_cache__get(p->cache, fd, -1);
			close(fd);
		}
		free(file);
		if (!m->t)
			continue;
		cr_assert_eq(unwind_table__load_bias(m->t, start, pgoff, &m->bias), 0);
		p->nr_maps++;
	}
	fclose(f);
}

static void frame_name(struct proc *p, uint64_t pc, bool leaf, char *buf, size_t sz)
{
	symbolizer__user_frame(p->sym, p->pid, pc, leaf, buf, sz);
}

/* Start the fixture in mode and wait for its leaf to say "ready". */
/* Start argv and wait for its first line, "ready". */
static void proc_start_argv(struct proc *p, char *const argv[])
{
	struct pollfd pfd;
	char buf[16] = "";
	int fds[2];

	memset(p, 0, sizeof(*p));
	cr_assert_eq(pipe(fds), 0);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (!p->pid) {
		dup2(fds[1], 1);
		/* meson's MALLOC_PERTURB_ would have glibc memset every large buffer. */
		unsetenv("MALLOC_PERTURB_");
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	p->out = fds[0];
	pfd = (struct pollfd){.fd = p->out, .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 20000), 1, "%s: no \"ready\" within 20 s", argv[0]);
	cr_assert_gt(read(p->out, buf, sizeof(buf) - 1), 0);
	cr_assert_str_eq(buf, "ready\n");
	p->cache = unwind_cache__new();
	p->sym = symbolizer__new(NULL);
	cr_assert(p->cache && p->sym);
	cr_assert_eq(aspaces__load_proc(symbolizer__aspaces(p->sym), "/proc", p->pid), 0);
	proc_load_tables(p);
}

/* The fixture in one of its modes, stopped at "ready" in its leaf. */
static void proc_start(struct proc *p, const char *mode)
{
	const char *exe = getenv("PMUPROF_UNWIND_FIXTURE");
	char *const argv[] = {(char *)exe, (char *)mode, NULL};

	cr_assert_not_null(exe, "PMUPROF_UNWIND_FIXTURE is not set (run through meson test)");
	proc_start_argv(p, argv);
}

static void regs_from_ptrace(const struct user_regs_struct *u, struct unwind_regs *r)
{
	const unsigned long long v[UNWIND_NR_REGS] = {
		u->rax, u->rdx, u->rcx, u->rbx, u->rsi, u->rdi, u->rbp, u->rsp, u->r8,
		u->r9,	u->r10, u->r11, u->r12, u->r13, u->r14, u->r15, u->rip,
	};
	int i;

	for (i = 0; i < UNWIND_NR_REGS; i++)
		r->r[i] = v[i];
	r->known = (1u << UNWIND_NR_REGS) - 1;
}

/* Stop the fixture in its spinning leaf (it may still be returning from write()). */
static void proc_stop_in_leaf(struct proc *p, struct unwind_regs *regs)
{
	struct user_regs_struct u;
	char name[256] = "";
	int status, i;

	cr_assert_eq(ptrace(PTRACE_SEIZE, p->pid, 0, 0), 0, "ptrace: %m");
	for (i = 0; i < 200; i++) {
		cr_assert_eq(ptrace(PTRACE_INTERRUPT, p->pid, 0, 0), 0);
		cr_assert_eq(waitpid(p->pid, &status, __WALL), p->pid);
		cr_assert(WIFSTOPPED(status));
		cr_assert_eq(ptrace(PTRACE_GETREGS, p->pid, 0, &u), 0);
		frame_name(p, u.rip, true, name, sizeof(name));
		if (!strcmp(name, "unwind_lib_leaf"))
			break;
		cr_assert_eq(ptrace(PTRACE_CONT, p->pid, 0, 0), 0);
		usleep(5000);
	}
	cr_assert_str_eq(name, "unwind_lib_leaf", "the fixture never reached its leaf");
	regs_from_ptrace(&u, regs);
}

static void proc_end(struct proc *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, __WALL);
	close(p->out);
	symbolizer__free(p->sym);
	unwind_cache__free(p->cache);
}

/* ---- libdwfl's unwinder over the same stopped thread: the oracle ---- */

struct dwfl_frames {
	uint64_t pc[MAX_FRAMES];
	int n;
};

static int dwfl_frame_cb(Dwfl_Frame *state, void *arg)
{
	struct dwfl_frames *f = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation) || f->n >= MAX_FRAMES)
		return DWARF_CB_ABORT;
	f->pc[f->n++] = pc;
	return DWARF_CB_OK;
}

static void dwfl_unwind(pid_t pid, struct dwfl_frames *f)
{
	static char *debuginfo_path;
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	Dwfl *dwfl = dwfl_begin(&cb);

	cr_assert_not_null(dwfl);
	cr_assert_eq(dwfl_linux_proc_report(dwfl, pid), 0);
	cr_assert_eq(dwfl_report_end(dwfl, NULL, NULL), 0);
	/* true: the thread is already stopped under our ptrace. */
	cr_assert_eq(dwfl_linux_proc_attach(dwfl, pid, true), 0, "%s", dwfl_errmsg(-1));
	f->n = 0;
	dwfl_getthread_frames(dwfl, pid, dwfl_frame_cb, f);
	dwfl_end(dwfl);
}

/* ---- the chains ---- */

struct chain_case {
	const char *mode;
	const char *chain[48]; /* leaf first, up to main; NULL-terminated */
	uint8_t must_see;      /* a frame unwound by this kind of rule */
	const char *must_see_in;
};

static void check_chain(const struct chain_case *cc)
{
	struct unwind_frame frames[MAX_FRAMES];
	struct dwfl_frames oracle;
	struct unwind_regs regs;
	char name[256], last[256] = "";
	int n, stop, i, k;
	bool seen = !cc->must_see_in;
	struct proc p;

	proc_start(&p, cc->mode);
	proc_stop_in_leaf(&p, &regs);
	n = unwind_rules__walk(unwind_cache__rules(p.cache), &proc_ops, &p, &regs, frames,
			       MAX_FRAMES, &stop);
	for (k = 0; cc->chain[k]; k++) {
		cr_assert_lt(k, n, "%s: the walk stopped (reason %d) after %d frames", cc->mode,
			     stop, n);
		/*
		 * The leaf, the trampoline (its FDE starts one byte early, in padding) and the
		 * frame a signal interrupted have exact pcs, not return addresses.
		 */
		frame_name(&p, frames[k].pc,
			   k == 0 || frames[k].cfa_type == UNWIND_CFA_SIGNAL ||
				   frames[k - 1].cfa_type == UNWIND_CFA_SIGNAL,
			   name, sizeof(name));
		cr_assert_str_eq(name, cc->chain[k], "%s: frame %d is %s, not %s", cc->mode, k,
				 name, cc->chain[k]);
		if (cc->must_see_in && !strcmp(name, cc->must_see_in) &&
		    frames[k].cfa_type == cc->must_see)
			seen = true;
	}
	cr_expect(seen, "%s: %s was not unwound by rule kind %d", cc->mode, cc->must_see_in,
		  cc->must_see);
	/* main's caller is libc's, and the walk ends at the outermost frame: _start. */
	cr_assert_eq(stop, UNWIND_STOP_END, "%s: stopped by reason %d, not at the outermost frame",
		     cc->mode, stop);
	frame_name(&p, frames[k].pc, false, name, sizeof(name));
	cr_expect_str_eq(name, "__libc_start_call_main");
	frame_name(&p, frames[n - 1].pc, false, last, sizeof(last));
	cr_expect_str_eq(last, "_start");

	/* Frame by frame, the addresses libdwfl finds from the same registers. */
	dwfl_unwind(p.pid, &oracle);
	cr_expect_eq(n, oracle.n, "%s: %d frames, libdwfl %d", cc->mode, n, oracle.n);
	for (i = 0; i < n && i < oracle.n; i++)
		cr_expect_eq(frames[i].pc, oracle.pc[i], "%s: frame %d at %#llx, libdwfl %#llx",
			     cc->mode, i, (unsigned long long)frames[i].pc,
			     (unsigned long long)oracle.pc[i]);
	proc_end(&p);
}

Test(unwind_walk, direct_calls)
{
	static const struct chain_case cc = {
		"direct",
		{"unwind_lib_leaf", "exe_leaf", "direct_mid", "run_direct", "main"},
	};

	check_chain(&cc);
}

Test(unwind_walk, through_the_plt_into_the_library)
{
	static const struct chain_case cc = {
		"plt",
		{"unwind_lib_leaf", "unwind_lib_mid", "unwind_lib_entry", "run_plt", "main"},
	};

	check_chain(&cc);
}

Test(unwind_walk, realigned_frames)
{
	static const struct chain_case cc = {
		"realign",
		{"unwind_lib_leaf", "exe_leaf", "realigned", "realigned_drap", "run_realign",
		 "main"},
		UNWIND_CFA_DEREF,
		"realigned_drap",
	};

	check_chain(&cc);
}

Test(unwind_walk, recursion_40_deep)
{
	struct chain_case cc = {"recurse", {"unwind_lib_leaf", "exe_leaf"}};
	int i;

	for (i = 0; i < 40; i++)
		cc.chain[2 + i] = "recurse";
	cc.chain[42] = "run_recurse";
	cc.chain[43] = "main";
	check_chain(&cc);
}

Test(unwind_walk, inside_a_signal_handler)
{
	static const struct chain_case cc = {
		"signal",
		{"unwind_lib_leaf", "exe_leaf", "on_signal", "__restore_rt", "signal_spin",
		 "run_signal", "main"},
		UNWIND_CFA_SIGNAL,
		"__restore_rt",
	};

	check_chain(&cc);
}

/* A walk that cannot read the stack says so. */
static int read_nothing(void *ctx, uint64_t addr, uint64_t *v)
{
	return -EFAULT;
}

Test(unwind_walk, read_fault_and_depth)
{
	struct unwind_frame frames[MAX_FRAMES];
	struct unwind_walk_ops ops = {.find = proc_find, .read = read_nothing};
	struct unwind_regs regs;
	struct proc p;
	int n, stop;

	proc_start(&p, "recurse");
	proc_stop_in_leaf(&p, &regs);
	n = unwind_rules__walk(unwind_cache__rules(p.cache), &ops, &p, &regs, frames, MAX_FRAMES,
			       &stop);
	cr_expect_eq(n, 1, "the leaf only");
	cr_expect_eq(stop, UNWIND_STOP_READ_FAULT);
	n = unwind_rules__walk(unwind_cache__rules(p.cache), &proc_ops, &p, &regs, frames, 10,
			       &stop);
	cr_expect_eq(n, 10);
	cr_expect_eq(stop, UNWIND_STOP_DEPTH);
	proc_end(&p);
}

/* ---- a PLT stub, on a made-up stack: ld.so resolves calls there ---- */

struct fake {
	const struct unwind_table *t;
	uint64_t base, words[4];
};

static const struct unwind_table *fake_find(void *ctx, uint64_t pc, uint64_t *bias)
{
	*bias = 0; /* link-time addresses: the table is used as if loaded at 0 */
	return pc < 0x100000 ? ((struct fake *)ctx)->t : NULL;
}

static int fake_read(void *ctx, uint64_t addr, uint64_t *v)
{
	struct fake *f = ctx;

	if (addr < f->base || addr >= f->base + sizeof(f->words) || (addr - f->base) % 8)
		return -EFAULT;
	*v = f->words[(addr - f->base) / 8];
	return 0;
}

Test(unwind_walk, plt_stub_before_and_after_its_push)
{
	static const struct unwind_walk_ops ops = {.find = fake_find, .read = fake_read};
	const char *path = getenv("PMUPROF_UNWIND_FIXTURE");
	struct unwind_cache *c = unwind_cache__new();
	struct elf_syms *es = elf_syms__load(path);
	struct unwind_frame frames[4];
	struct unwind_regs regs = {.known = (1u << UNWIND_NR_REGS) - 1};
	const struct unwind_row *rows;
	struct fake f = {.base = 0x7ff0};
	unsigned long ret;
	uint64_t stub = 0;
	size_t n, i;
	int fd, stop;

	cr_assert(c && es);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	f.t = unwind_cache__get(c, fd, -1);
	close(fd);
	cr_assert_not_null(f.t);
	n = unwind_table__rows(f.t, &rows);
	for (i = 0; i < n && !stub; i++)
		if (unwind_rules__get(unwind_cache__rules(c), rows[i].rule)->cfa_type ==
		    UNWIND_CFA_PLT)
			stub = rows[i].pc; /* the first stub, right after PLT0 */
	cr_assert_neq(stub, 0, "no PLT rows");
	cr_assert_eq(stub & 15, 0);
	cr_assert_eq(elf_syms__find(es, "run_plt", &ret), 0);
	ret += 9;	  /* a return address inside run_plt */
	f.words[2] = ret; /* at 0x8000 */

	/* At the stub's jmp *GOT: the return address is on top. */
	regs.r[UNWIND_REG_RIP] = stub;
	regs.r[UNWIND_REG_RSP] = 0x8000;
	cr_assert_eq(unwind_rules__walk(unwind_cache__rules(c), &ops, &f, &regs, frames, 2, &stop),
		     2);
	cr_expect_eq(frames[0].cfa_type, UNWIND_CFA_PLT);
	cr_expect_eq(frames[1].pc, ret);

	/* After "push $index" (byte 11 on): one more word above it. */
	f.words[1] = 3;
	regs.r[UNWIND_REG_RIP] = stub + 11;
	regs.r[UNWIND_REG_RSP] = 0x7ff8;
	cr_assert_eq(unwind_rules__walk(unwind_cache__rules(c), &ops, &f, &regs, frames, 2, &stop),
		     2);
	cr_expect_eq(frames[1].pc, ret, "return address %#llx, not %#lx",
		     (unsigned long long)frames[1].pc, ret);
	elf_syms__free(es);
	unwind_cache__free(c);
}

/* ---- Debian's own python3.11 and liblzma, stopped anywhere ---- */

/* Whose leaf is in a file whose path contains module? */
static bool leaf_in(struct proc *p, uint64_t pc, const char *module)
{
	struct frame_module mod = {0};
	char name[256];

	symbolizer__user_frame_mod(p->sym, p->pid, pc, true, name, sizeof(name), &mod);
	return mod.path && strstr(mod.path, module);
}

/* Stop a running program 20 times: every walk must reach _start and give libdwfl's
 * frames. Returns how many walks were deeper than 30 frames; *in_module counts the stops
 * whose leaf was in module. */
static int walk_anywhere(const char *script, const char *module, int *in_module)
{
	char *const argv[] = {"/usr/bin/python3.11", "-c", (char *)script, NULL};
	struct unwind_frame frames[MAX_FRAMES];
	struct dwfl_frames oracle;
	struct user_regs_struct u;
	struct unwind_regs regs;
	int n, stop, i, round, status, deep = 0;
	char last[256];
	struct proc p;

	proc_start_argv(&p, argv);
	cr_assert_eq(ptrace(PTRACE_SEIZE, p.pid, 0, 0), 0, "ptrace: %m");
	for (round = 0; round < 20; round++) {
		usleep(3000 + 1000 * round);
		cr_assert_eq(ptrace(PTRACE_INTERRUPT, p.pid, 0, 0), 0);
		cr_assert_eq(waitpid(p.pid, &status, __WALL), p.pid);
		cr_assert_eq(ptrace(PTRACE_GETREGS, p.pid, 0, &u), 0);
		regs_from_ptrace(&u, &regs);
		n = unwind_rules__walk(unwind_cache__rules(p.cache), &proc_ops, &p, &regs, frames,
				       MAX_FRAMES, &stop);
		cr_expect_eq(stop, UNWIND_STOP_END,
			     "round %d: stopped by reason %d after %d frames", round, stop, n);
		frame_name(&p, frames[n - 1].pc, false, last, sizeof(last));
		cr_expect_str_eq(last, "_start", "round %d", round);
		deep += n > 30;
		*in_module += leaf_in(&p, frames[0].pc, module);
		dwfl_unwind(p.pid, &oracle);
		cr_expect_eq(n, oracle.n, "round %d: %d frames, libdwfl %d", round, n, oracle.n);
		for (i = 0; i < n && i < oracle.n; i++)
			cr_expect_eq(frames[i].pc, oracle.pc[i],
				     "round %d frame %d at %#llx, libdwfl %#llx", round, i,
				     (unsigned long long)frames[i].pc,
				     (unsigned long long)oracle.pc[i]);
		cr_assert_eq(ptrace(PTRACE_CONT, p.pid, 0, 0), 0);
	}
	proc_end(&p);
	return deep;
}

Test(unwind_walk, python_matches_libdwfl_anywhere, .timeout = 120)
{
	int deep, in_json = 0;

	if (access("/usr/bin/python3.11", X_OK))
		cr_skip_test("no /usr/bin/python3.11");
	deep = walk_anywhere("import json, sys\nsys.stdout.write('ready\\n'); sys.stdout.flush()\n"
			     "x = []\nfor i in range(60): x = [x, i]\n"
			     "while True: json.dumps(x)\n",
			     "python3.11", &in_json);
	/* The C encoder recurses once per nesting level: most stops see a deep stack. */
	cr_expect_gt(deep, 5, "only %d of 20 stops were deeper than 30 frames", deep);
}

/* xz's own library, through python's lzma module. Preset 6 on 1 MiB: perf puts 92% of
 * the samples in liblzma (preset 9 on 256 KiB spent 37% in the kernel zeroing its
 * 674 MiB of tables, and a CI run saw only 10 of 20 stops in liblzma). */
Test(unwind_walk, liblzma_matches_libdwfl_anywhere, .timeout = 120)
{
	int in_lzma = 0;

	if (access("/usr/bin/python3.11", X_OK))
		cr_skip_test("no /usr/bin/python3.11");
	walk_anywhere("import lzma, os, sys\ndata = os.urandom(1 << 20)\n"
		      "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
		      "while True: lzma.compress(data, preset=6)\n",
		      "liblzma", &in_lzma);
	cr_expect_gt(in_lzma, 10, "only %d of 20 stops in liblzma", in_lzma);
}
