// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof list [GLOB] [--all-pmus] [--json]
 * pmuprof list --details EVENT...
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cmd.h"
#include "util.h"
#include "pmu/pmu.h"

static const char list_usage[] =
	"Usage: pmuprof list [GLOB] [--all-pmus] [--json]\n"
	"       pmuprof list --details EVENT...\n"
	"\n"
	"List the events pmuprof can sample: generic perf names, libpfm4 events of the\n"
	"PMUs on this machine and the named events of sysfs PMUs, each marked openable\n"
	"here or not (with the reason).\n"
	"\n"
	"  --all-pmus    include libpfm4's tables for PMUs not on this machine\n"
	"                (as LIBPFM_ENCODE_INACTIVE=1 does)\n"
	"  --json        one JSON array\n"
	"  --details     print the perf_event_attr each EVENT encodes to\n"
	"  -h, --help    this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof list '*miss*'\n"
	"  LIBPFM_ENCODE_INACTIVE=1 pmuprof list --details skl::INST_RETIRED:ANY_P:u\n";

/* Openable here? Only probed for PMUs that are present: probing is a syscall each. */
static const char *openable(struct pmu_list_entry *e, bool *ok)
{
	static char why[160];
	struct pmu_event ev;
	int err;

	*ok = false;
	if (!e->present)
		return "PMU not on this machine";
	err = pmu_event__parse_spec(e->name, &ev, why, sizeof(why));
	if (err)
		return why;
	if (ev.uncore)
		return "uncore: count only (pmuprof stat)";
	err = pmu_event__probe(&ev);
	if (err) {
		if (pmu_errno__is_no_pmu(err))
			return ev.hardware ? "no hardware PMU" : "not supported by this kernel";
		snprintf(why, sizeof(why), "%s", strerror(-err));
		return why;
	}
	*ok = true;
	return "openable";
}

static int details(int argc, char **argv)
{
	char why[256], buf[512];
	struct pmu_event ev;
	int i, ret = 0;

	if (argc == 0) {
		fprintf(stderr, "pmuprof: list --details: give at least one EVENT\n");
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < argc; i++) {
		int err = pmu_event__parse_spec(argv[i], &ev, why, sizeof(why));

		if (err) {
			fprintf(stderr, "pmuprof: list --details %s: %s\n", argv[i], why);
			ret = EXIT_BAD_INPUT;
			continue;
		}
		printf("%s %s encoding=%s\n", argv[i], pmu_event__describe(&ev, buf, sizeof(buf)),
		       ev.encoding);
	}
	return ret;
}

/*
 * GLOB against an event name with or without its PMU: 'INST_RETIRED*' matches
 * skl::INST_RETIRED:ANY_P, 'mem-loads' matches cpu/mem-loads/ (as perf list's filter).
 */
static bool glob_matches(const char *glob, const char *name)
{
	const char *colons = strstr(name, "::"), *slash = strchr(name, '/');
	char inner[256];
	size_t len;

	if (!fnmatch(glob, name, FNM_CASEFOLD))
		return true;
	if (colons && !fnmatch(glob, colons + 2, FNM_CASEFOLD))
		return true;
	if (!slash)
		return false;
	len = strcspn(slash + 1, "/");
	if (len >= sizeof(inner))
		return false;
	memcpy(inner, slash + 1, len);
	inner[len] = 0;
	return !fnmatch(glob, inner, FNM_CASEFOLD);
}

/* One event of the --json array, on a line of its own. */
static void print_entry_json(const struct pmu_list_entry *e, bool ok, const char *why, bool first)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json__add(o, "name", json__string(e->name));
	json__add(o, "source", json__string(e->source));
	json__add(o, "pmu", json__string(e->pmu));
	json__add(o, "description", json__string(e->desc));
	json__add(o, "present", json_object_new_boolean(e->present));
	json__add(o, "openable", json_object_new_boolean(ok));
	json__add(o, "reason", json__string(ok ? "" : why));
	fputs(first ? "\n  " : ",\n  ", stdout);
	json__write_text(stdout, o);
}

int cmd_list(int argc, char **argv)
{
	static const struct option options[] = {
		{"all-pmus", no_argument, NULL, 'A'},
		{"json", no_argument, NULL, 'j'},
		{"details", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool all = false, json = false, want_details = false, first = true;
	struct pmu_list_entry *list;
	const char *glob = NULL, *section = NULL;
	int c, nr, i, err, shown = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		switch (c) {
		case 'A':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			want_details = true;
			break;
		case 'h':
			fputs(list_usage, stdout);
			return 0;
		default:
			return cmd_option_error("list", c, argv, options);
		}
	}
	if (want_details)
		return details(argc - optind, argv + optind);
	if (optind < argc)
		glob = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "pmuprof: list: one GLOB at most ('%s' is extra)\n", argv[optind]);
		return EXIT_BAD_INPUT;
	}
	if (all)
		setenv("LIBPFM_ENCODE_INACTIVE", "1", 1);
	err = pmu_events__list(all, &list, &nr);
	if (err) {
		fprintf(stderr, "pmuprof: list: %s\n", strerror(-err));
		return 1;
	}
	if (json)
		printf("[");
	for (i = 0; i < nr; i++) {
		struct pmu_list_entry *e = &list[i];
		const char *why;
		bool ok;

		if (glob && !glob_matches(glob, e->name))
			continue;
		why = openable(e, &ok);
		shown++;
		if (json) {
			print_entry_json(e, ok, why, first);
			first = false;
			continue;
		}
		if (!section || strcmp(section, e->source)) {
			section = e->source;
			printf("%s%s events:\n", shown > 1 ? "\n" : "", section);
		}
		printf("  %-40s %-28s %.70s\n", e->name, ok ? "[openable]" : why, e->desc);
	}
	if (json)
		printf("\n]\n");
	free(list);
	if (glob && !shown) {
		fprintf(stderr, "pmuprof: list: no event matches '%s'\n", glob);
		return EXIT_BAD_INPUT;
	}
	return 0;
}
