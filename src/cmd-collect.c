// SPDX-License-Identifier: GPL-2.0
/* pmuprof collect: run several collectors together into one directory. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cmd.h"
#include "util.h"
#include "collector.h"
#include "flamegraph/flamegraph.h"

static const char collect_usage[] =
	"Usage: pmuprof collect [--collectors LIST] [-d SECONDS] [-I MS] -o DIR\n"
	"\n"
	"Run collectors together: the profile (folded stacks and a flame graph), counters,\n"
	"uncore memory bandwidth, cpu, memory and sched time series (JSON lines, one object\n"
	"per interval), and DIR/index.json saying what ran, what did not, and why.\n"
	"\n"
	"  --collectors LIST  comma-separated (default: all): profile, counters, uncore,\n"
	"                     cpu, memory, sched\n"
	"  -d, --duration S   seconds (default 10; Ctrl-C stops early)\n"
	"  -I, --interval MS  time-series interval (default 1000)\n"
	"  -o, --output DIR   output directory (created)\n"
	"  -h, --help         this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof collect -d 30 -o /tmp/run1\n"
	"  pmuprof collect --collectors profile,sched -I 500 -o run2\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

struct slot {
	const struct collector *c;
	void *state;
	bool ran;
	char reason[256];
	char outputs[256];
};

int cmd_collect(int argc, char **argv)
{
	static const struct option options[] = {
		{ "collectors", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'I' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct collector *const *all = collectors__all();
	struct slot slots[16];
	struct machine_caps caps;
	struct collector_ctx ctx = { 0 };
	struct atomic_file af;
	const char *list = NULL, *dir = NULL;
	double duration = 10, interval_ms = 1000, start, next, elapsed;
	int nr = 0, i, c, err;
	char *end, path[4096], started[64];
	struct sigaction sa;
	time_t wall;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:I:o:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': list = optarg; break;
		case 'o': dir = optarg; break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !(duration > 0) || duration > 1e7) {
				fprintf(stderr, "pmuprof: collect: -d %s: give a positive number of seconds\n",
					optarg);
				return EXIT_BAD_INPUT;
			}
			break;
		case 'I':
			interval_ms = strtod(optarg, &end);
			if (*end || !(interval_ms >= 10)) {
				fprintf(stderr, "pmuprof: collect: -I %s: give milliseconds, at least 10\n",
					optarg);
				return EXIT_BAD_INPUT;
			}
			break;
		case 'h': fputs(collect_usage, stdout); return 0;
		default:
			return cmd_option_error("collect", c, argv, options);
		}
	}
	if (!dir) {
		fprintf(stderr, "pmuprof: collect: give an output directory with -o DIR\n");
		return EXIT_BAD_INPUT;
	}
	memset(slots, 0, sizeof(slots));
	if (list) {
		char *copy = strdup(list), *tok, *save = NULL;

		for (tok = strtok_r(copy, ",", &save); tok && nr < 16; tok = strtok_r(NULL, ",", &save)) {
			const struct collector *col = collectors__find(tok);

			if (!col) {
				fprintf(stderr, "pmuprof: collect: --collectors %s: no collector named '%s' "
						"(profile, counters, uncore, cpu, memory, sched)\n",
					list, tok);
				free(copy);
				return EXIT_BAD_INPUT;
			}
			slots[nr++].c = col;
		}
		free(copy);
	} else {
		for (i = 0; all[i] && nr < 16; i++)
			slots[nr++].c = all[i];
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "pmuprof: collect: -o %s: cannot create it: %s\n", dir, strerror(errno));
		return EXIT_BAD_INPUT;
	}
	snprintf(path, sizeof(path), "%s/index.json", dir);
	err = atomic_file__open(&af, path);
	if (err) {
		fprintf(stderr, "pmuprof: collect: -o %s: cannot write there: %s\n", dir, strerror(-err));
		return EXIT_BAD_INPUT;
	}

	machine_caps__probe(&caps);
	ctx.dir = dir;
	ctx.interval_s = interval_ms / 1000;
	ctx.caps = &caps;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	wall = time(NULL);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
	for (i = 0; i < nr; i++) {
		const char *why = collector__unmet(slots[i].c, &caps, slots[i].reason,
						   sizeof(slots[i].reason));

		if (why)
			continue;
		err = slots[i].c->start(&slots[i].state, &ctx, slots[i].reason, sizeof(slots[i].reason));
		if (err) {
			if (!slots[i].reason[0])
				snprintf(slots[i].reason, sizeof(slots[i].reason), "%s", strerror(-err));
			continue;
		}
		slots[i].ran = true;
		slots[i].reason[0] = 0;
	}
	for (i = 0; i < nr; i++)
		fprintf(stderr, "pmuprof: collect: %-9s %s%s\n", slots[i].c->name,
			slots[i].ran ? "running" : "not running: ", slots[i].ran ? "" : slots[i].reason);
	start = monotonic_now();
	next = start + interval_ms / 1000;
	while (!stop && monotonic_now() - start < duration) {
		double t = monotonic_now();

		if (t >= next) {
			for (i = 0; i < nr; i++)
				if (slots[i].ran)
					slots[i].c->collect(slots[i].state, t - start);
			next += interval_ms / 1000;
		}
		/* The profiler's mmap records want reading often; the series only at intervals. */
		for (i = 0; i < nr; i++)
			if (slots[i].ran && !strcmp(slots[i].c->name, "profile"))
				slots[i].c->collect(slots[i].state, t - start);
		usleep(20000);
	}
	elapsed = monotonic_now() - start;
	for (i = 0; i < nr; i++) {
		if (!slots[i].ran)
			continue;
		err = slots[i].c->stop(slots[i].state, &ctx, slots[i].outputs, sizeof(slots[i].outputs));
		if (err)
			snprintf(slots[i].reason, sizeof(slots[i].reason), "stopping failed: %s",
				 strerror(-err));
	}

	fprintf(af.f, "{\n  \"pmuprof\": \"%s\",\n  \"started\": \"%s\",\n  \"duration_s\": %.3f,\n"
		      "  \"interval_ms\": %.0f,\n  \"machine\": {\"kernel\": ",
		PMUPROF_VERSION, started, elapsed, interval_ms);
	json_write_string(af.f, caps.kernel);
	fprintf(af.f, ", \"core_pmu\": ");
	json_write_string(af.f, caps.core_pmu ? caps.core_pmu_name : "");
	fprintf(af.f, ", \"uncore_pmus\": ");
	json_write_string(af.f, caps.uncore_pmus);
	fprintf(af.f, "},\n  \"collectors\": [\n");
	for (i = 0; i < nr; i++) {
		char *o, *save = NULL, outs[256];
		int k = 0;

		fprintf(af.f, "    {\"name\": \"%s\", \"description\": ", slots[i].c->name);
		json_write_string(af.f, slots[i].c->description);
		fprintf(af.f, ", \"mode\": ");
		json_write_string(af.f, slots[i].c->mode);
		fprintf(af.f, ", \"ran\": %s, \"reason\": ", slots[i].ran ? "true" : "false");
		json_write_string(af.f, slots[i].reason);
		fprintf(af.f, ", \"outputs\": [");
		snprintf(outs, sizeof(outs), "%s", slots[i].outputs);
		for (o = strtok_r(outs, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			fprintf(af.f, "%s", k++ ? ", " : "");
			json_write_string(af.f, o);
		}
		fprintf(af.f, "]}%s\n", i + 1 < nr ? "," : "");
	}
	fprintf(af.f, "  ]\n}\n");
	err = atomic_file__commit(&af);
	if (err) {
		fprintf(stderr, "pmuprof: collect: writing %s failed: %s\n", path, strerror(-err));
		return 1;
	}
	fprintf(stderr, "pmuprof: collect: %.1f s; wrote %s\n", elapsed, path);
	return 0;
}
