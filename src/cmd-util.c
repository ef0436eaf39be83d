// SPDX-License-Identifier: GPL-2.0
/* What every subcommand's option parsing shares: one wording for bad options. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"

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
