// SPDX-License-Identifier: GPL-2.0
/*
 * ELF lookup through a real address space: this PIE test binary, a shared library
 * built by meson and mapped by the loader, and a non-PIE executable run as a child.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "symbolize/symbolize.h"

int fixture_lib_first(int x);
int fixture_lib_second(int x);

int __attribute__((noinline)) test_pie_function(int x)
{
	return x * 5 + 3;
}

static struct symbolizer *self_symbolizer(void)
{
	struct symbolizer *s = symbolizer__new(NULL);

	cr_assert_not_null(s);
	cr_assert_eq(aspaces__load_proc(symbolizer__aspaces(s), "/proc", getpid()), 0);
	return s;
}

Test(elf, pie_executable)
{
	struct symbolizer *s = self_symbolizer();
	char buf[256];

	cr_expect_eq(symbolizer__user_frame(s, getpid(), (unsigned long)&test_pie_function + 2,
					    true, buf, sizeof(buf)),
		     SYM_RESOLVED);
	cr_expect_str_eq(buf, "test_pie_function");
	symbolizer__free(s);
}

Test(elf, shared_library)
{
	struct symbolizer *s = self_symbolizer();
	char buf[256];

	cr_expect_eq(fixture_lib_second(1), 4 ^ 0x55);
	cr_expect_eq(symbolizer__user_frame(s, getpid(), (unsigned long)&fixture_lib_first, true,
					    buf, sizeof(buf)),
		     SYM_RESOLVED);
	cr_expect_str_eq(buf, "fixture_lib_first");
	symbolizer__user_frame(s, getpid(), (unsigned long)&fixture_lib_second + 4, true, buf,
			       sizeof(buf));
	cr_expect_str_eq(buf, "fixture_lib_second");
	/* As a return address, the first byte of a function belongs to what precedes it. */
	symbolizer__user_frame(s, getpid(), (unsigned long)&fixture_lib_second, false, buf,
			       sizeof(buf));
	cr_expect_str_neq(buf, "fixture_lib_second");
	symbolizer__free(s);
}

Test(elf, libc_dynsym)
{
	struct symbolizer *s = self_symbolizer();
	char buf[256];

	symbolizer__user_frame(s, getpid(), (unsigned long)&getpid, true, buf, sizeof(buf));
	/* Stripped libc: the exported name (or its versioned alias) from .dynsym. */
	cr_expect(strstr(buf, "getpid") != NULL, "got %s", buf);
	symbolizer__free(s);
}

Test(elf, unknown_and_module_frames)
{
	struct symbolizer *s = self_symbolizer();
	char buf[256];

	cr_expect_eq(symbolizer__user_frame(s, getpid(), 0x10, true, buf, sizeof(buf)),
		     SYM_UNKNOWN);
	cr_expect_str_eq(buf, "[unknown]");
	cr_expect_eq(symbolizer__user_frame(s, 999999999, 0x400000, true, buf, sizeof(buf)),
		     SYM_UNKNOWN);
	symbolizer__free(s);
}

/* The non-PIE fixture, running until *in_w is closed: its pid, and the address it prints. */
struct nopie_child {
	pid_t pid;
	int in_w;
	FILE *out;
	unsigned long addr;
};

static void nopie_start(struct nopie_child *c)
{
	const char *path = getenv("PMUPROF_FIXTURE_NOPIE");
	int in[2], out[2];

	cr_assert_not_null(path);
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(out), 0);
	c->pid = fork();
	cr_assert_geq(c->pid, 0);
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in_w = in[1];
	c->out = fdopen(out[0], "r");
	cr_assert_eq(fscanf(c->out, "%lx", &c->addr), 1);
}

/* Let it exit; its exit status. */
static int nopie_stop(struct nopie_child *c)
{
	int status;

	close(c->in_w);
	fclose(c->out);
	waitpid(c->pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(elf, non_pie_executable_in_another_process)
{
	struct nopie_child c;
	struct symbolizer *s;
	char buf[256];

	nopie_start(&c);
	s = symbolizer__new(NULL);
	cr_assert_eq(aspaces__load_proc(symbolizer__aspaces(s), "/proc", c.pid), 0);
	cr_expect_eq(symbolizer__user_frame(s, c.pid, c.addr + 1, true, buf, sizeof(buf)),
		     SYM_RESOLVED);
	cr_expect_str_eq(buf, "fixture_nopie_func");
	/* ET_EXEC: the runtime address is the link-time address. */
	cr_expect_lt(c.addr, 0x1000000UL);
	cr_expect_eq(nopie_stop(&c), 0);
	symbolizer__free(s);
}

Test(elf, files_of_exited_processes_are_freed)
{
	struct symbolizer *s = self_symbolizer();
	struct aspaces *as = symbolizer__aspaces(s);
	struct nopie_child c;
	size_t freed = 0, i;
	char buf[256];

	nopie_start(&c);
	cr_assert_eq(aspaces__load_proc(as, "/proc", c.pid), 0);
	symbolizer__user_frame(s, c.pid, c.addr + 1, true, buf, sizeof(buf));
	cr_expect_str_eq(buf, "fixture_nopie_func");
	symbolizer__user_frame(s, getpid(), (unsigned long)&test_pie_function + 2, true, buf,
			       sizeof(buf));
	cr_expect_str_eq(buf, "test_pie_function");
	/* Mapped by live processes: kept however many sweeps pass. */
	for (i = 0; i < 40; i++)
		freed += symbolizer__sweep(s);
	cr_expect_eq(freed, 0);
	cr_expect_eq(nopie_stop(&c), 0);
	aspaces__exit(as, c.pid, 1);
	cr_expect_eq(aspaces__reap(as, 2), 1);
	/* No mapping of the fixture left: it goes after the idle sweeps, this binary stays. */
	for (i = 0; i < 29; i++)
		freed += symbolizer__sweep(s);
	cr_expect_eq(freed, 0);
	cr_expect_eq(symbolizer__sweep(s), 1);
	for (i = 0; i < 40; i++)
		freed += symbolizer__sweep(s);
	cr_expect_eq(freed, 0);
	symbolizer__user_frame(s, getpid(), (unsigned long)&test_pie_function + 2, true, buf,
			       sizeof(buf));
	cr_expect_str_eq(buf, "test_pie_function");
	symbolizer__free(s);
}

Test(elf, load_errors)
{
	cr_expect_null(elf_syms__load("/nonexistent/binary"));
	cr_expect_null(elf_syms__load("/proc/self/status")); /* not ELF */
}
