// SPDX-License-Identifier: GPL-2.0
/* pmuprof flamegraph [OPTIONS] [FILE...]: folded stacks → SVG on stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "flamegraph/flamegraph.h"

static const char flamegraph_usage[] =
	"Usage: pmuprof flamegraph [OPTIONS] [FILE...] > graph.svg\n"
	"\n"
	"Render folded stacks (FILEs, or stdin) as an interactive SVG flame graph: click a\n"
	"frame to zoom, Ctrl-F to search; zoom and search are kept in the URL. Two counts\n"
	"per line (pmuprof diff) make a differential graph: red grew, blue shrank.\n"
	"Options mean what they mean to flamegraph.pl:\n"
	"\n"
	"  --title TEXT       --subtitle TEXT     --width PX (1200)   --height PX (16)\n"
	"  --minwidth PX|N%  (0.1)                --fonttype FONT     --fontsize N (12)\n"
	"  --fontwidth F (0.59)                   --countname NAME (samples)\n"
	"  --nametype TEXT (Function:)            --notes TEXT\n"
	"  --colors hot|mem|io|wakeup|java|js|perl|red|green|blue|aqua|yellow|purple|orange\n"
	"  --bgcolors yellow|blue|green|grey|#rrggbb\n"
	"  --hash             colors by name (always: the same input gives the same picture)\n"
	"  --cp FILE          consistent palette: reuse and extend FILE's name->color map\n"
	"  --reverse          reverse each stack      --inverted   icicle graph\n"
	"  --flamechart       keep input order (time) --negate     swap differential counts\n"
	"  --factor F         multiply the counts\n"
	"  -h, --help         this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof flamegraph --title 'cycles' profile.folded > profile.svg\n"
	"  pmuprof flamegraph --inverted --colors blue profile.folded > icicle.svg\n";

enum {
	O_TITLE = 256,
	O_SUBTITLE,
	O_WIDTH,
	O_HEIGHT,
	O_MINWIDTH,
	O_FONTTYPE,
	O_FONTSIZE,
	O_FONTWIDTH,
	O_COUNTNAME,
	O_NAMETYPE,
	O_NOTES,
	O_COLORS,
	O_BGCOLORS,
	O_HASH,
	O_CP,
	O_REVERSE,
	O_INVERTED,
	O_FLAMECHART,
	O_NEGATE,
	O_FACTOR,
	O_RANDOM,
};

static int positive_int(const char *opt, const char *v, int *out)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*end || end == v || n <= 0 || n > 1000000) {
		fprintf(stderr, "pmuprof: flamegraph: %s %s: give a positive whole number\n", opt,
			v);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static int positive_double(const char *opt, const char *v, double *out)
{
	char *end;
	double d = strtod(v, &end);

	if (*end || end == v || !(d > 0) || d > 1e12) {
		fprintf(stderr, "pmuprof: flamegraph: %s %s: give a positive number\n", opt, v);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

static bool known_palette(const char *c)
{
	static const char *const names[] = {"hot",  "mem",    "io",	"wakeup", "java",
					    "js",   "perl",   "red",	"green",  "blue",
					    "aqua", "yellow", "purple", "orange", NULL};
	int i;

	for (i = 0; names[i]; i++)
		if (!strcmp(names[i], c))
			return true;
	return false;
}

static const struct option flamegraph_options[] = {
	{"title", required_argument, NULL, O_TITLE},
	{"subtitle", required_argument, NULL, O_SUBTITLE},
	{"width", required_argument, NULL, O_WIDTH},
	{"height", required_argument, NULL, O_HEIGHT},
	{"minwidth", required_argument, NULL, O_MINWIDTH},
	{"fonttype", required_argument, NULL, O_FONTTYPE},
	{"fontsize", required_argument, NULL, O_FONTSIZE},
	{"fontwidth", required_argument, NULL, O_FONTWIDTH},
	{"countname", required_argument, NULL, O_COUNTNAME},
	{"nametype", required_argument, NULL, O_NAMETYPE},
	{"notes", required_argument, NULL, O_NOTES},
	{"colors", required_argument, NULL, O_COLORS},
	{"color", required_argument, NULL, O_COLORS},
	{"bgcolors", required_argument, NULL, O_BGCOLORS},
	{"hash", no_argument, NULL, O_HASH},
	{"random", no_argument, NULL, O_RANDOM},
	{"cp", required_argument, NULL, O_CP},
	{"reverse", no_argument, NULL, O_REVERSE},
	{"inverted", no_argument, NULL, O_INVERTED},
	{"flamechart", no_argument, NULL, O_FLAMECHART},
	{"negate", no_argument, NULL, O_NEGATE},
	{"factor", required_argument, NULL, O_FACTOR},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* One option into o; -1 to go on, or the exit code. */
static int flamegraph_opts__option(struct flamegraph_opts *o, int c, char **argv)
{
	char *end;

	switch (c) {
	case O_TITLE:
		o->title = optarg;
		break;
	case O_SUBTITLE:
		o->subtitle = optarg;
		break;
	case O_WIDTH:
		if (positive_int("--width", optarg, &o->width))
			return EXIT_BAD_INPUT;
		break;
	case O_HEIGHT:
		if (positive_int("--height", optarg, &o->frame_height))
			return EXIT_BAD_INPUT;
		break;
	case O_FONTSIZE:
		if (positive_int("--fontsize", optarg, &o->fontsize))
			return EXIT_BAD_INPUT;
		break;
	case O_FONTWIDTH:
		if (positive_double("--fontwidth", optarg, &o->fontwidth))
			return EXIT_BAD_INPUT;
		break;
	case O_FACTOR:
		if (positive_double("--factor", optarg, &o->factor))
			return EXIT_BAD_INPUT;
		break;
	case O_MINWIDTH:
		o->minwidth = strtod(optarg, &end);
		o->minwidth_pct = *end == '%';
		if (end == optarg || (*end && strcmp(end, "%")) || o->minwidth < 0) {
			fprintf(stderr,
				"pmuprof: flamegraph: --minwidth %s: give pixels or a "
				"percentage like 0.5%%\n",
				optarg);
			return EXIT_BAD_INPUT;
		}
		break;
	case O_FONTTYPE:
		o->fonttype = optarg;
		break;
	case O_COUNTNAME:
		o->countname = optarg;
		break;
	case O_NAMETYPE:
		o->nametype = optarg;
		break;
	case O_NOTES:
		o->notes = optarg;
		break;
	case O_COLORS:
		if (!known_palette(optarg)) {
			fprintf(stderr,
				"pmuprof: flamegraph: --colors %s: unknown palette; see "
				"'pmuprof flamegraph --help'\n",
				optarg);
			return EXIT_BAD_INPUT;
		}
		o->colors = optarg;
		break;
	case O_BGCOLORS:
		o->bgcolors = optarg;
		break;
	case O_HASH:
	case O_RANDOM:
		break;
	case O_CP:
		o->palette_file = optarg;
		break;
	case O_REVERSE:
		o->reverse = true;
		break;
	case O_INVERTED:
		o->inverted = true;
		break;
	case O_FLAMECHART:
		o->flamechart = true;
		break;
	case O_NEGATE:
		o->negate = true;
		break;
	case 'h':
		fputs(flamegraph_usage, stdout);
		return 0;
	default:
		return cmd_option_error("flamegraph", c, argv, flamegraph_options);
	}
	return -1;
}

/* The folded files (stdin when none) into d; 0 or an exit code. */
static int read_inputs(int argc, char **argv, struct folded_data *d)
{
	int i, err = 0;

	if (optind >= argc) {
		err = folded__read(stdin, d);
	} else {
		for (i = optind; i < argc && !err; i++) {
			FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;

			if (!f) {
				fprintf(stderr, "pmuprof: flamegraph: %s: %s\n", argv[i],
					strerror(errno));
				return EXIT_BAD_INPUT;
			}
			err = folded__read(f, d);
			if (f != stdin)
				fclose(f);
		}
	}
	if (err) {
		fprintf(stderr, "pmuprof: flamegraph: reading the input failed: %s\n",
			strerror(-err));
		return EXIT_BAD_INPUT;
	}
	if (d->invalid)
		fprintf(stderr, "pmuprof: flamegraph: ignored %zu lines with invalid format\n",
			d->invalid);
	if (!d->nr) {
		fprintf(stderr, "pmuprof: flamegraph: no stack counts found in the input; expected "
				"folded lines like 'main;work 42' (pmuprof record or collapse "
				"writes them)\n");
		return EXIT_BAD_INPUT;
	}
	return 0;
}

int cmd_flamegraph(int argc, char **argv)
{
	struct flamegraph_opts o;
	struct folded_data d = {0};
	int c, err, ret;

	flamegraph_opts__init(&o);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", flamegraph_options, NULL)) != -1) {
		ret = flamegraph_opts__option(&o, c, argv);
		if (ret >= 0)
			return ret;
	}
	ret = read_inputs(argc, argv, &d);
	if (ret)
		goto out;
	err = flamegraph__write(stdout, &d, &o);
	if (!err && fflush(stdout))
		err = -errno;
	if (err == -ENODATA) {
		fprintf(stderr, "pmuprof: flamegraph: every count is zero: nothing to draw\n");
		ret = EXIT_BAD_INPUT;
	} else if (err) {
		fprintf(stderr, "pmuprof: flamegraph: writing the SVG failed: %s\n",
			strerror(-err));
		ret = 1;
	}
out:
	folded_data__free(&d);
	return ret;
}
