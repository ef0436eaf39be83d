// SPDX-License-Identifier: GPL-2.0
/* One perf-script sample per case, through the collapser: each tidy rule on its own. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph/flamegraph.h"

struct tidy_case {
	int line;
	const char *opts; /* letters: p pid, t tid, k kernel, j jit, a addrs */
	const char *input;
	const char *want; /* folded output */
};

#define HDR "prog 1234 [001] 100.000001: 250000 cycles:\n"

static const struct tidy_case tidy_cases[] = {
	{__LINE__, "", HDR "\t 4005d0 main (/bin/prog)\n\n", "prog;main 250000\n"},
	/* offsets removed */
	{__LINE__, "", HDR "\t 4005d0 main+0x1f (/bin/prog)\n\n", "prog;main 250000\n"},
	/* arguments removed, but not "(anonymous namespace)" */
	{__LINE__, "", HDR "\t 4005d0 foo(int, char*) (/bin/prog)\n\n", "prog;foo 250000\n"},
	{__LINE__, "", HDR "\t 4005d0 ns::(anonymous namespace)::bar(int) (/bin/prog)\n\n",
	 "prog;ns::(anonymous namespace)::bar 250000\n"},
	/* a name that starts with '(' is a process name, not a frame (as in perl's) */
	{__LINE__, "", HDR "\t 4005d0 (anonymous namespace)::bar(int) (/bin/prog)\n\n",
	 "prog 250000\n"},
	/* C++ templates keep their brackets; operator() loses its parentheses like perl's */
	{__LINE__, "", HDR "\t 4005d0 std::vector<int>::push_back(int const&) (/bin/prog)\n\n",
	 "prog;std::vector<int>::push_back 250000\n"},
	/* parentheses inside template brackets belong to the name */
	{__LINE__, "",
	 HDR "\t 4005d0 std::function<void (int)>::operator()(int) const (/bin/prog)\n\n",
	 "prog;std::function<void (int)>::operator 250000\n"},
	{__LINE__, "",
	 HDR
	 "\t 4005d0 std::_Function_handler<bool (char), "
	 "std::__detail::_AnyMatcher<std::regex_traits<char>, false, false, false> >::_M_invoke("
	 "std::_Any_data const&, char&&) (/bin/prog)\n\n",
	 "prog;std::_Function_handler<bool (char), "
	 "std::__detail::_AnyMatcher<std::regex_traits<char>, "
	 "false, false, false> >::_M_invoke 250000\n"},
	/* Go method names keep their parentheses */
	{__LINE__, "", HDR "\t 4005d0 net/http.(*Client).Do (/bin/prog)\n\n",
	 "prog;net/http.(*Client).Do 250000\n"},
	/* ';' inside a name, quotes */
	{__LINE__, "", HDR "\t 4005d0 RegExp:[&<>\"'] (/tmp/perf-7539.map)\n\n",
	 "prog;RegExp:[&<>] 250000\n"},
	{__LINE__, "", HDR "\t 4005d0 a;b (/bin/prog)\n\n", "prog;a:b 250000\n"},
	/* [unknown] takes the module's base name, or its address with --addrs */
	{__LINE__, "", HDR "\t 4005d0 [unknown] (/usr/lib/libfoo.so)\n\n",
	 "prog;[libfoo.so] 250000\n"},
	{__LINE__, "a", HDR "\t 4005d0 [unknown] (/usr/lib/libfoo.so)\n\n",
	 "prog;[libfoo.so <4005d0>] 250000\n"},
	{__LINE__, "", HDR "\t 0 [unknown] ([unknown])\n\n", "prog;[unknown] 250000\n"},
	/* kernel and JIT annotations */
	{__LINE__, "k", HDR "\t ffffffff81000000 do_syscall_64 ([kernel.kallsyms])\n\n",
	 "prog;do_syscall_64_[k] 250000\n"},
	{__LINE__, "k", HDR "\t 8c3453 tcp_sendmsg (/lib/modules/4.3/build/vmlinux)\n\n",
	 "prog;tcp_sendmsg_[k] 250000\n"},
	{__LINE__, "j", HDR "\t 7f00 Interpreter (/tmp/perf-42.map)\n\n",
	 "prog;Interpreter_[j] 250000\n"},
	/* inlined chains: the inner frames get _[i] */
	{__LINE__, "", HDR "\t 4005d0 outer->inner (/bin/prog)\n\n",
	 "prog;outer;inner_[i] 250000\n"},
	/* process names: spaces, -PID, -PID/TID */
	{__LINE__, "", "V8 WorkerThread 25607 100.1: 1 cycles:\n\t 1 f (/x)\n\n",
	 "V8_WorkerThread;f 1\n"},
	{__LINE__, "p", "java 24636/25607 [000] 100.1: 1 cycles:\n\t 1 f (/x)\n\n",
	 "java-24636;f 1\n"},
	{__LINE__, "t", "java 24636/25607 [000] 100.1: 1 cycles:\n\t 1 f (/x)\n\n",
	 "java-24636/25607;f 1\n"},
	{__LINE__, "p", "java 25607 100.1: cycles:\n\t 1 f (/x)\n\n", "java-?;f 1\n"},
	/* Java: Lpkg/Class; tidied for processes named java... */
	{__LINE__, "p", "java 1/2 100.1: cycles:\n\t 1 Lorg/Foo;.bar(I)V (/tmp/perf-1.map)\n\n",
	 "java-1;org/Foo:.bar 1\n"},
	/* no period: weight 1 per sample; only the first event type */
	{__LINE__, "",
	 "pp 1 100.1: cycles:\n\t 1 f (/x)\n\npp 1 100.2: instructions:\n\t 1 g (/x)\n\n",
	 "pp;f 1\n"},
	/* a stack already folded on one line passes through */
	{__LINE__, "", "comm;main;work 7\n", "comm;main;work 7\n"},
	/* beyond the Perl script: the last sample without its blank line counts */
	{__LINE__, "", HDR "\t 4005d0 main (/bin/prog)\n", "prog;main 250000\n"},
	{__LINE__, "", HDR "\t 4005d0 main (/bin/prog)", "prog;main 250000\n"},
	/* frames without a module (perf script -F ip,sym) */
	{__LINE__, "", "prog 1234 \n\t 4005d0 main+0x1f\n\t 4005a0 [unknown]\n\n",
	 "prog;[unknown];main 1\n"},
	/* one sample per line (no callchain), the comm right-aligned */
	{__LINE__, "k",
	 "        prog 1234 [001] 100.000001:  250000 cycles:  ffffffff81000000 "
	 "do_syscall_64+0x10 ([kernel.kallsyms])\n",
	 "prog;do_syscall_64_[k] 250000\n"},
	{__LINE__, "", "  prog 1234   4005d0 main\n  prog 1234   4005d0 main\n", "prog;main 2\n"},
	/* the event filter holds for one-line samples too */
	{__LINE__, "", "pp 1 1.0: 1 cycles: 1 f (/x)\npp 1 1.1: 1 instructions: 1 g (/x)\n",
	 "pp;f 1\n"},
	/* a tracepoint header with arguments is a header, whatever the arguments hold */
	{__LINE__, "",
	 "prog 1234 [001] 100.000001: sched:sched_switch: prev_comm=prog (x) next_pid=0\n"
	 "\t 4005d0 main (/bin/prog)\n\n",
	 "prog;main 1\n"},
	/* versioned kernel images; a name merely containing vmlinux- is not one */
	{__LINE__, "k", HDR "\t ffffffff81000000 f (/boot/vmlinux-6.1.0-13-amd64)\n\n",
	 "prog;f_[k] 250000\n"},
	{__LINE__, "k", HDR "\t 4005d0 f (/opt/myvmlinux-tool)\n\n", "prog;f 250000\n"},
	/* perf inject --jit images; near misses are not */
	{__LINE__, "j", HDR "\t 7f00 f (/root/.debug/jit/x/jitted-42-7.so)\n\n",
	 "prog;f_[j] 250000\n"},
	{__LINE__, "j", HDR "\t 7f00 f (/usr/lib/jitted-42.so)\n\n", "prog;f 250000\n"},
	{__LINE__, "j", HDR "\t 7f00 f (/usr/lib/jitted-4x-7.so)\n\n", "prog;f 250000\n"},
	/* Go generic brackets keep a func type's parentheses */
	{__LINE__, "", HDR "\t 4005d0 main.Map[go.shape.func(int) int_0]+0x36 (/bin/prog)\n\n",
	 "prog;main.Map[go.shape.func(int) int_0] 250000\n"},
	/* ... but a name in brackets alone is not a generic: "[vdso](x)" is cut */
	{__LINE__, "", HDR "\t 4005d0 [x](int) (/bin/prog)\n\n", "prog;[x] 250000\n"},
	/* inline chains with empty and trailing parts, as Perl's split */
	{__LINE__, "", HDR "\t 4005d0 a->->b-> (/bin/prog)\n\n", "prog;a;_[i];b_[i] 250000\n"},
	{__LINE__, "", HDR "\t 4005d0 f(int)->g(char) (/bin/prog)\n\n", "prog;f;g_[i] 250000\n"},
};

static char *collapse(const char *opts, const char *input)
{
	struct collapse_opts o = {
		.pid = strchr(opts, 'p'),
		.tid = strchr(opts, 't'),
		.kernel = strchr(opts, 'k'),
		.jit = strchr(opts, 'j'),
		.addrs = strchr(opts, 'a'),
	};
	struct stack_table *st = stack_table__new();
	struct collapse_stats stats;
	FILE *in = fmemopen((void *)input, strlen(input), "r");
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_eq(perf_script__collapse(in, &o, st, &stats), 0);
	folded__write(f, st);
	fclose(f);
	fclose(in);
	stack_table__free(st);
	return out;
}

Test(collapse, tidy_rules)
{
	size_t i;

	for (i = 0; i < sizeof(tidy_cases) / sizeof(tidy_cases[0]); i++) {
		const struct tidy_case *c = &tidy_cases[i];
		char *got = collapse(c->opts, c->input);

		cr_expect_str_eq(got, c->want, "line %d: got '%s'", c->line, got);
		free(got);
	}
}

Test(collapse, garbage_and_binary_input)
{
	static const char junk[] = "\x01\x02\xff\xfe not perf\n\n\n(((((\n\t\t\t\n;;;; x\n\0\0\0zz";
	struct collapse_opts o = {0};
	struct stack_table *st = stack_table__new();
	struct collapse_stats stats;
	FILE *in = fmemopen((void *)junk, sizeof(junk) - 1, "r");

	cr_expect_eq(perf_script__collapse(in, &o, st, &stats), 0);
	cr_expect_eq(stack_table__len(st), 0);
	cr_expect_gt(stats.unrecognized, 0);
	fclose(in);
	stack_table__free(st);
}
