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

static int line_write(const char *stack, uint64_t count, void *f)
{
	return fprintf(f, "%s %" PRIu64 "\n", stack, count) < 0 ? -EIO : 0;
}

/* One line spelt at a time: a large table is never spelt whole. */
int folded__write(FILE *f, struct stack_table *st)
{
	return stack_table__each_folded(st, line_write, f);
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
