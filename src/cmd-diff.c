// SPDX-License-Identifier: GPL-2.0
/* pmuprof diff [-n] [-s] BEFORE AFTER: two-count folded lines for a differential graph. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "flamegraph/flamegraph.h"

static const char diff_usage[] =
	"Usage: pmuprof diff [-n] [-s] BEFORE.folded AFTER.folded > diff.folded\n"
	"\n"
	"Print every stack of either profile with its count in each (0 where absent), as\n"
	"FlameGraph's difffolded.pl does; 'pmuprof flamegraph' colors the result red where\n"
	"the count grew and blue where it shrank (frame widths follow AFTER).\n"
	"\n"
	"  -n, --normalize   scale BEFORE's counts to AFTER's total\n"
	"  -s, --strip-hex   strip hex addresses (0x1234 → 0x...) so moved code still matches\n"
	"  -h, --help        this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof diff -n before.folded after.folded | pmuprof flamegraph > diff.svg\n"
	"  pmuprof diff -s old.folded new.folded > diff.folded\n";

static int read_file(const char *path, struct folded_data *d)
{
	FILE *f = fopen(path, "r");
	int err;

	if (!f) {
		fprintf(stderr, "pmuprof: diff: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	err = folded__read(f, d);
	fclose(f);
	if (err) {
		fprintf(stderr, "pmuprof: diff: %s: %s\n", path, strerror(-err));
		return err;
	}
	if (d->invalid)
		fprintf(stderr, "pmuprof: diff: %s: ignored %zu lines with invalid format\n", path,
			d->invalid);
	if (!d->nr) {
		fprintf(stderr, "pmuprof: diff: %s: no folded stacks ('stack count' lines) in it\n",
			path);
		return -EINVAL;
	}
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option options[] = {
		{"normalize", no_argument, NULL, 'n'},
		{"strip-hex", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct folded_data a = {0}, b = {0}, out = {0};
	bool normalize = false, striphex = false;
	int c, ret = EXIT_BAD_INPUT;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":nsh", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			normalize = true;
			break;
		case 's':
			striphex = true;
			break;
		case 'h':
			fputs(diff_usage, stdout);
			return 0;
		default:
			return cmd_option_error("diff", c, argv, options);
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "pmuprof: diff: give two folded files, BEFORE and AFTER\n");
		return ret;
	}
	if (read_file(argv[optind], &a) || read_file(argv[optind + 1], &b))
		goto out;
	if (folded__diff(&a, &b, normalize, striphex, &out)) {
		fprintf(stderr, "pmuprof: diff: out of memory\n");
		ret = 1;
		goto out;
	}
	if (folded__write_diff(stdout, &out) || fflush(stdout)) {
		fprintf(stderr, "pmuprof: diff: writing the output failed\n");
		ret = 1;
		goto out;
	}
	ret = 0;
out:
	folded_data__free(&a);
	folded_data__free(&b);
	folded_data__free(&out);
	return ret;
}
