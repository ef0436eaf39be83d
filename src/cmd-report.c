// SPDX-License-Identifier: GPL-2.0
/* pmuprof report: perf report --stdio's view of a folded profile. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "flamegraph/flamegraph.h"

static const char report_usage[] =
	"Usage: pmuprof report [--sort self|total] [--limit N] [--focus NAME] [FILE]\n"
	"\n"
	"The top functions of a folded profile (FILE, or stdin), as 'perf report --stdio'\n"
	"shows them: Self is the share of the samples where the function was running,\n"
	"Total the share where it was on the stack (perf's Children). With --focus, the\n"
	"callers and callees of one function instead. Shares are of the whole profile.\n"
	"\n"
	"  -s, --sort KEY     self (default) or total\n"
	"  -n, --limit N      the first N functions (default 30; 0: all)\n"
	"  -f, --focus NAME   who calls NAME and what NAME calls, with their shares\n"
	"      --color WHEN   auto (default: on a terminal), always or never\n"
	"  -h, --help         this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof report profile.folded\n"
	"  pmuprof report --sort total --limit 10 profile.folded\n"
	"  pmuprof report --focus malloc profile.folded\n";

struct style {
	bool color;
	double total;
};

/* perf's colours: red from 5%, green from 0.5%. */
static void print_pct(FILE *f, const struct style *st, double v, int width)
{
	double pct = st->total > 0 ? 100 * v / st->total : 0;
	const char *on = "";

	if (st->color && pct >= 5)
		on = "\033[31m";
	else if (st->color && pct >= 0.5)
		on = "\033[32m";
	fprintf(f, "%s%*.2f%%%s", on, width, pct, on[0] ? "\033[m" : "");
}

/* A frame name from a file anyone may have written: no control characters reach the
 * terminal (an escape sequence in a name would be obeyed). */
static void print_name(FILE *out, const char *name)
{
	fputs("  ", out);
	for (; *name; name++)
		fputc((unsigned char)*name < 0x20 || *name == 0x7f ? '?' : *name, out);
	fputc('\n', out);
}

static void print_table(FILE *out, const struct report *r, const struct style *st, size_t limit)
{
	size_t i;

	fprintf(out, "#     Self     Total  Function\n");
	fprintf(out, "# --------  --------  --------\n");
	for (i = 0; i < r->nr && (!limit || i < limit); i++) {
		fprintf(out, "  ");
		print_pct(out, st, r->entries[i].self, 7);
		fprintf(out, "  ");
		print_pct(out, st, r->entries[i].total, 7);
		print_name(out, r->entries[i].name);
	}
	if (limit && r->nr > limit)
		fprintf(out, "# ... %zu more (--limit 0 shows all)\n", r->nr - limit);
}

static void print_focus(FILE *out, const struct report_focus *f, const char *name,
			const struct style *st, size_t limit)
{
	size_t i;

	fprintf(out, "# %s: total ", name);
	print_pct(out, st, f->total, 0);
	fprintf(out, ", self ");
	print_pct(out, st, f->self, 0);
	fprintf(out, "\n#\n# Callers (through each, of the whole profile):\n");
	for (i = 0; i < f->callers.nr && (!limit || i < limit); i++) {
		fprintf(out, "  ");
		print_pct(out, st, f->callers.entries[i].total, 7);
		print_name(out, f->callers.entries[i].name);
	}
	fprintf(out, "#\n# Callees:\n");
	if (f->outer_self > 0) {
		fprintf(out, "  ");
		print_pct(out, st, f->outer_self, 7);
		fprintf(out, "  [self]\n");
	}
	for (i = 0; i < f->callees.nr && (!limit || i < limit); i++) {
		fprintf(out, "  ");
		print_pct(out, st, f->callees.entries[i].total, 7);
		print_name(out, f->callees.entries[i].name);
	}
}

int report__print_table(FILE *f, struct stack_table *table, const char *event)
{
	struct folded_data d = {0};
	struct report r = {0};
	struct style st = {.color = isatty(fileno(f)) && !getenv("NO_COLOR")};
	int err = folded_data__from_table(&d, table);

	if (!err)
		err = report__build(&r, &d);
	if (!err) {
		report__sort(&r, REPORT_SORT_SELF);
		st.total = r.total;
		fprintf(f, "# pmuprof report: %s: %zu stacks, %.15g in all\n#\n", event, d.nr,
			r.total);
		print_table(f, &r, &st, 30);
	}
	report__exit(&r);
	folded_data__free(&d);
	return err;
}

static int read_input(const char *path, struct folded_data *d)
{
	FILE *f = path ? fopen(path, "r") : stdin;
	int err;

	if (!f) {
		fprintf(stderr, "pmuprof: report: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	err = folded__read(f, d);
	if (f != stdin)
		fclose(f);
	if (err) {
		fprintf(stderr, "pmuprof: report: %s: %s\n", path ? path : "stdin", strerror(-err));
		return err;
	}
	if (!d->nr || d->invalid) {
		fprintf(stderr,
			"pmuprof: report: %s: %s ('stack count' lines, as pmuprof record writes)\n",
			path ? path : "stdin",
			d->nr ? "has lines that are not folded stacks" : "no folded stacks in it");
		return -EINVAL;
	}
	return 0;
}

static int parse_color(const char *when, bool *color)
{
	if (!strcmp(when, "always"))
		*color = true;
	else if (!strcmp(when, "never"))
		*color = false;
	else if (!strcmp(when, "auto"))
		*color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	else
		return -EINVAL;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	enum { OPT_COLOR = 256 };
	static const struct option options[] = {
		{"sort", required_argument, NULL, 's'},
		{"limit", required_argument, NULL, 'n'},
		{"focus", required_argument, NULL, 'f'},
		{"color", required_argument, NULL, OPT_COLOR},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct folded_data d = {0};
	struct report r = {0};
	struct report_focus f = {0};
	struct style st = {0};
	enum report_sort sort = REPORT_SORT_SELF;
	const char *focus = NULL, *color = "auto", *path;
	long limit = 30;
	char *end;
	int c, ret = EXIT_BAD_INPUT;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:n:f:h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "self") && strcmp(optarg, "total")) {
				fprintf(stderr, "pmuprof: report: --sort %s: use self or total\n",
					optarg);
				return ret;
			}
			sort = strcmp(optarg, "self") ? REPORT_SORT_TOTAL : REPORT_SORT_SELF;
			break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*end || !*optarg || limit < 0) {
				fprintf(stderr,
					"pmuprof: report: --limit %s: give a number of lines "
					"(0: all)\n",
					optarg);
				return ret;
			}
			break;
		case 'f':
			focus = optarg;
			break;
		case OPT_COLOR:
			color = optarg;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		default:
			return cmd_option_error("report", c, argv, options);
		}
	}
	if (parse_color(color, &st.color)) {
		fprintf(stderr, "pmuprof: report: --color %s: use auto, always or never\n", color);
		return ret;
	}
	if (argc - optind > 1) {
		fprintf(stderr, "pmuprof: report: give one folded file (or none, for stdin)\n");
		return ret;
	}
	path = optind < argc ? argv[optind] : NULL;
	if (read_input(path, &d))
		goto out;
	ret = 1;
	if (focus) {
		if (report__focus(&d, focus, &f))
			goto out;
		if (!f.total) {
			fprintf(stderr,
				"pmuprof: report: --focus %s: no stack of %s has it; names are "
				"as 'pmuprof report' prints them\n",
				focus, path ? path : "stdin");
			ret = EXIT_BAD_INPUT;
			goto out;
		}
		st.total = f.grand_total;
		print_focus(stdout, &f, focus, &st, limit);
	} else {
		if (report__build(&r, &d))
			goto out;
		report__sort(&r, sort);
		st.total = r.total;
		printf("# pmuprof report: %s: %zu stacks, %.15g samples (or events) in all\n#\n",
		       path ? path : "stdin", d.nr, r.total);
		print_table(stdout, &r, &st, limit);
	}
	ret = fflush(stdout) ? 1 : 0;
out:
	report_focus__exit(&f);
	report__exit(&r);
	folded_data__free(&d);
	return ret;
}
