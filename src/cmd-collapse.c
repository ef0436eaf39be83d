// SPDX-License-Identifier: GPL-2.0
/* pmuprof collapse: `perf script` output → folded stacks on stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "flamegraph/flamegraph.h"

static const char collapse_usage[] =
	"Usage: pmuprof collapse [--pid] [--tid] [--kernel] [--jit] [--all] [--addrs]\n"
	"                        [--event-filter=EVENT] [--perl-compat] [FILE]\n"
	"\n"
	"Turn `perf script` output (FILE, or stdin) into folded stacks on stdout, with the\n"
	"rules of FlameGraph's stackcollapse-perf.pl.\n"
	"\n"
	"  --pid            append -PID to process names\n"
	"  --tid            append -PID/TID to process names\n"
	"  --kernel         annotate kernel frames with _[k]\n"
	"  --jit            annotate JIT frames (/tmp/perf-PID.map, jitted-PID-N.so) with _[j]\n"
	"  --all            --kernel and --jit\n"
	"  --addrs          keep the addresses of [unknown] frames\n"
	"  --event-filter=E keep samples of event E (default: the first event seen)\n"
	"  --perl-compat    drop a last sample that lacks its closing blank line, as the\n"
	"                   Perl script does (docs/flamegraph.md)\n"
	"  -h, --help       this help\n"
	"\n"
	"Examples:\n"
	"  perf record -F 999 -a -g -- sleep 10 && perf script | pmuprof collapse --all "
	">out.folded\n"
	"  pmuprof collapse --pid perf.script.txt | pmuprof flamegraph > out.svg\n";

int cmd_collapse(int argc, char **argv)
{
	static const struct option options[] = {
		{"pid", no_argument, NULL, 'p'},
		{"tid", no_argument, NULL, 't'},
		{"kernel", no_argument, NULL, 'k'},
		{"jit", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, 'a'},
		{"addrs", no_argument, NULL, 'A'},
		{"event-filter", required_argument, NULL, 'e'},
		{"perl-compat", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct collapse_opts o = {0};
	struct collapse_stats st;
	struct stack_table *table;
	FILE *in = stdin;
	int c, err;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.pid = true;
			break;
		case 't':
			o.tid = true;
			break;
		case 'k':
			o.kernel = true;
			break;
		case 'j':
			o.jit = true;
			break;
		case 'a':
			o.kernel = o.jit = true;
			break;
		case 'A':
			o.addrs = true;
			break;
		case 'e':
			o.event_filter = optarg;
			break;
		case 'P':
			o.perl_compat = true;
			break;
		case 'h':
			fputs(collapse_usage, stdout);
			return 0;
		default:
			return cmd_option_error("collapse", c, argv, options);
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "pmuprof: collapse: one FILE at most ('%s' is extra)\n",
			argv[optind + 1]);
		return EXIT_BAD_INPUT;
	}
	if (optind < argc && strcmp(argv[optind], "-")) {
		in = fopen(argv[optind], "r");
		if (!in) {
			fprintf(stderr, "pmuprof: collapse: %s: %s\n", argv[optind],
				strerror(errno));
			return EXIT_BAD_INPUT;
		}
	}
	table = stack_table__new();
	if (!table) {
		if (in != stdin)
			fclose(in);
		return 1;
	}
	err = perf_script__collapse(in, &o, table, &st);
	if (in != stdin)
		fclose(in);
	if (err) {
		fprintf(stderr, "pmuprof: collapse: %s\n", strerror(-err));
		stack_table__free(table);
		return 1;
	}
	if (st.other_events)
		fprintf(stderr,
			"pmuprof: collapse: kept events of type %s only; %llu samples of "
			"other types skipped (--event-filter chooses)\n",
			st.event, (unsigned long long)st.filtered);
	if (st.incomplete)
		fprintf(stderr,
			"pmuprof: collapse: dropped the last sample, which lacks its closing blank "
			"line (--perl-compat)\n");
	if (st.unrecognized)
		fprintf(stderr, "pmuprof: collapse: ignored %llu unrecognized lines\n",
			(unsigned long long)st.unrecognized);
	if (!stack_table__len(table) && st.lines) {
		fprintf(stderr,
			"pmuprof: collapse: no samples found in %s; is it `perf script` output?\n",
			optind < argc ? argv[optind] : "stdin");
		stack_table__free(table);
		return EXIT_BAD_INPUT;
	}
	err = folded__write(stdout, table);
	stack_table__free(table);
	if (err || fflush(stdout)) {
		fprintf(stderr, "pmuprof: collapse: writing the output failed\n");
		return 1;
	}
	return 0;
}
