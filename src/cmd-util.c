// SPDX-License-Identifier: GPL-2.0
/* What the subcommands' option parsing shares: one wording for bad options, the
 * --call-graph rule. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "kfeature.h"

/*
 * The long option named name (up to '=') in options, or NULL; an unambiguous prefix
 * names it too, as getopt_long takes one (--jso is --json).
 */
static const struct option *long_option(const struct option *options, const char *name)
{
	const struct option *o, *found = NULL;
	size_t len = strcspn(name, "=");
	int n = 0;

	for (o = options; o && o->name; o++) {
		if (strncmp(o->name, name, len))
			continue;
		if (strlen(o->name) == len)
			return o;
		found = o;
		n++;
	}
	return n == 1 ? found : NULL;
}

int cmd_option_error(const char *cmd, int c, char **argv, const struct option *options)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const struct option *lo = NULL;
	char name[64];

	/*
	 * getopt leaves optind on a short-option cluster until its last letter, so argv only
	 * names the option when it is a long one; optopt names a short one.
	 */
	if (!strncmp(arg, "--", 2) && arg[2]) {
		lo = long_option(options, arg + 2);
		if (optopt && (!lo || lo->val != optopt))
			lo = NULL, arg = NULL;
	} else {
		arg = NULL;
	}
	if (lo)
		snprintf(name, sizeof(name), "--%s", lo->name);
	else if (arg)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof(name), "-%c", optopt ? optopt : '?');
	if (c == ':')
		fprintf(stderr, "pmuprof: %s: option '%s' needs a value", cmd, name);
	else if (lo && lo->has_arg == no_argument && strchr(arg, '='))
		fprintf(stderr, "pmuprof: %s: option '%s' takes no value", cmd, name);
	else
		fprintf(stderr, "pmuprof: %s: unknown option '%s'", cmd, name);
	fprintf(stderr, "; see 'pmuprof %s --help'\n", cmd);
	return EXIT_BAD_INPUT;
}

int cmd_call_graph__parse(const char *arg)
{
	char *end;
	unsigned long size;

	if (!strcmp(arg, "fp"))
		return CALL_GRAPH_FP;
	if (!strcmp(arg, "dwarf"))
		return CALL_GRAPH_DWARF;
	if (strncmp(arg, "dwarf,", 6) || arg[6] < '1' || arg[6] > '9')
		return -EINVAL;
	errno = 0;
	size = strtoul(arg + 6, &end, 10);
	return *end || errno || size > (1ul << 30) ? -EINVAL : CALL_GRAPH_DWARF;
}

bool cmd_call_graph__kernel_can(const char *prefix, bool say)
{
	static const enum kfeature_id needs[] = {KFEATURE_BPF_LOOP, KFEATURE_PROBE_READ_USER};
	size_t i;

	for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		const struct kfeature_info *k = kfeature__info(needs[i]);

		if (kfeature__probe(needs[i]))
			continue;
		if (say)
			fprintf(stderr,
				"%s: this kernel lacks %s (%s): user stacks follow frame "
				"pointers (--call-graph=fp)\n",
				prefix, k->name, k->since);
		return false;
	}
	return true;
}

unsigned long long cmd_size__parse(const char *s)
{
	unsigned long long v, mult = 1;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end && !end[1])
		mult = *end == 'K' || *end == 'k'   ? 1ull << 10
		       : *end == 'M' || *end == 'm' ? 1ull << 20
		       : *end == 'G' || *end == 'g' ? 1ull << 30
						    : 0;
	else if (*end)
		mult = 0;
	if (errno || !mult || v > (1ull << 44) / mult || v * mult < (64ull << 10))
		return 0;
	return v * mult;
}
