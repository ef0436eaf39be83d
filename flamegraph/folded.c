// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "flamegraph.h"

int folded__write(FILE *f, struct stack_table *st)
{
	const struct stack_entry *e = stack_table__sorted(st);
	size_t i, n = stack_table__len(st);

	for (i = 0; i < n; i++)
		if (fprintf(f, "%s %" PRIu64 "\n", e[i].stack, e[i].count) < 0)
			return -EIO;
	return 0;
}

int atomic_file__open(struct atomic_file *af, const char *path)
{
	const char *slash;
	int fd, err;

	memset(af, 0, sizeof(*af));
	af->path = strdup(path);
	slash = strrchr(path, '/');
	/* Same directory as the target so rename() is atomic; hidden while it is written. */
	if (af->path && asprintf(&af->tmp_path, "%.*s.%s.tmpXXXXXX", slash ? (int)(slash - path + 1) : 0,
				 path, slash ? slash + 1 : path) < 0)
		af->tmp_path = NULL;
	if (!af->path || !af->tmp_path) {
		err = -ENOMEM;
		goto fail;
	}
	fd = mkstemp(af->tmp_path);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	fchmod(fd, 0644 & ~umask(umask(0)));
	af->f = fdopen(fd, "w");
	if (!af->f) {
		err = -errno;
		close(fd);
		unlink(af->tmp_path);
		goto fail;
	}
	return 0;
fail:
	free(af->path);
	free(af->tmp_path);
	memset(af, 0, sizeof(*af));
	return err;
}

int atomic_file__commit(struct atomic_file *af)
{
	int err = 0;

	if (fflush(af->f) || fsync(fileno(af->f)))
		err = -errno;
	if (fclose(af->f) && !err)
		err = -errno;
	af->f = NULL;
	if (!err && rename(af->tmp_path, af->path))
		err = -errno;
	if (err)
		unlink(af->tmp_path);
	free(af->path);
	free(af->tmp_path);
	memset(af, 0, sizeof(*af));
	return err;
}

void atomic_file__abort(struct atomic_file *af)
{
	if (af->f)
		fclose(af->f);
	if (af->tmp_path)
		unlink(af->tmp_path);
	free(af->path);
	free(af->tmp_path);
	memset(af, 0, sizeof(*af));
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
