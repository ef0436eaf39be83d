// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cmd.h"
#include "log.h"
#include "util.h"

static const char usage[] =
	"Usage: pmuprof COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  record     sample stacks on hardware events with BPF; write folded stacks\n"
	"  stat       count events, with derived metrics\n"
	"  collect    run collectors together (profile, counters, uncore, cpu, memory, sched)\n"
	"  doctor     what this machine can do, and what each collector will do here\n"
	"  list       list the events this machine can sample\n"
	"  flamegraph render folded stacks as an interactive SVG\n"
	"  collapse   turn `perf script` output into folded stacks\n"
	"  diff       compare two folded profiles (for a differential flame graph)\n"
	"\n"
	"Run 'pmuprof COMMAND --help' for a command's options.\n";

int main(int argc, char **argv)
{
	fds__note_inherited();
	/* libbpf speaks through the debug sink: quiet unless -v. */
	libbpf_set_print(log_libbpf_print);
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("pmuprof %s\n", PMUPROF_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(argv[1], "flamegraph"))
		return cmd_flamegraph(argc - 1, argv + 1);
	if (!strcmp(argv[1], "collect"))
		return cmd_collect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "doctor"))
		return cmd_doctor(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stat"))
		return cmd_stat(argc - 1, argv + 1);
	if (!strcmp(argv[1], "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (!strcmp(argv[1], "collapse"))
		return cmd_collapse(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	fprintf(stderr, "pmuprof: unknown command '%s'; run 'pmuprof --help' for the list\n",
		argv[1]);
	return EXIT_BAD_INPUT;
}
