// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cmd.h"
#include "log.h"
#include "util.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"record", cmd_record, "sample stacks on hardware events with BPF; write folded stacks"},
	{"stat", cmd_stat, "count events, with derived metrics"},
	{"report", cmd_report, "top functions of a folded profile, by self and total share"},
	{"collect", cmd_collect,
	 "run collectors together (profile, counters, uncore, cpu, memory, sched)"},
	{"agent", cmd_agent, "profile continuously; serve pprof and Prometheus metrics over HTTP"},
	{"doctor", cmd_doctor, "what this machine can do, and what each collector will do here"},
	{"list", cmd_list, "list the events this machine can sample"},
	{"flamegraph", cmd_flamegraph, "render folded stacks as an interactive SVG"},
	{"collapse", cmd_collapse, "turn `perf script` output into folded stacks"},
	{"diff", cmd_diff, "compare two folded profiles (for a differential flame graph)"},
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fputs("Usage: pmuprof COMMAND [OPTIONS]\n"
	      "       pmuprof help COMMAND\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "Options:\n"
	      "  -h, --help     this help\n"
	      "  --version      the version\n"
	      "\n"
	      "Run 'pmuprof COMMAND --help' or 'pmuprof help COMMAND' for a command's options;\n"
	      "'man pmuprof-COMMAND' for its manual.\n"
	      "\n"
	      "Examples:\n"
	      "  pmuprof record -o out.svg -- make -j8\n"
	      "  pmuprof stat -e '{cycles,instructions}' -a -d 5\n"
	      "  pmuprof report profile.folded\n",
	      f);
}

static const struct command *command_find(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* pmuprof help [COMMAND]: the command's own --help. */
static int help(int argc, char **argv)
{
	char *args[3] = {NULL, "--help", NULL};
	const struct command *c;

	if (argc < 3) {
		usage(stdout);
		return 0;
	}
	c = command_find(argv[2]);
	if (!c) {
		fprintf(stderr,
			"pmuprof: help: unknown command '%s'; run 'pmuprof --help' for the list\n",
			argv[2]);
		return EXIT_BAD_INPUT;
	}
	args[0] = argv[2];
	return c->run(2, args);
}

int main(int argc, char **argv)
{
	const struct command *c;

	fds__note_inherited();
	/* libbpf speaks through the debug sink: quiet unless -v. */
	libbpf_set_print(log__libbpf_print);
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "help"))
		return help(argc, argv);
	if (!strcmp(argv[1], "--version")) {
		printf("pmuprof %s\n", PMUPROF_VERSION);
		return 0;
	}
	c = command_find(argv[1]);
	if (c)
		return c->run(argc - 1, argv + 1);
	fprintf(stderr, "pmuprof: unknown command '%s'; run 'pmuprof --help' for the list\n",
		argv[1]);
	return EXIT_BAD_INPUT;
}
