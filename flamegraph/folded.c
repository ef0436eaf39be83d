// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "flamegraph.h"
#include "atomic-file.h"

int folded__write(FILE *f, struct stack_table *st)
{
	const struct stack_entry *e = stack_table__sorted(st);
	size_t i, n = stack_table__len(st);

	for (i = 0; i < n; i++)
		if (fprintf(f, "%s %" PRIu64 "\n", e[i].stack, e[i].count) < 0)
			return -EIO;
	return 0;
}

int folded__write_file(const char *path, struct stack_table *st)
{
	struct atomic_file af;
	int err;

	err = atomic_file__open(&af, path);
	if (err)
		return err;
	err = folded__write(af.f, st);
	if (err) {
		atomic_file__abort(&af);
		return err;
	}
	return atomic_file__commit(&af);
}
