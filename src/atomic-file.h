/* SPDX-License-Identifier: GPL-2.0 */
/* Output files written whole or not at all (every command's -o goes through them). */
#ifndef PMUPROF_ATOMIC_FILE_H
#define PMUPROF_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

/*
 * Output files that appear whole or not at all, and never replace anything but a
 * regular file:
 * - a new or regular file is written to an unnamed temporary file (O_TMPFILE) in the
 *   same directory and linked into place on commit: nothing is left behind on any exit;
 *   where the file system has no O_TMPFILE, a hidden ".NAME.tmpXXXXXX" file is used and
 *   removed on abort (and by atomic_file__unlink_pending() from a signal handler);
 * - "-", /dev/stdout, /dev/fd/N and /proc/self/fd/N are that descriptor; an existing FIFO
 *   or character device (/dev/null) is opened and written to directly: the output is
 *   kept in memory and written on commit;
 * - a directory, a block device or a socket is refused (-EISDIR, -EINVAL) at open.
 * Every descriptor is close-on-exec: a launched command never inherits one.
 */
struct atomic_file {
	FILE *f;
	char *path;
	char *tmp_path; /* the named fallback's temporary */
	int fd;		/* the unnamed temporary, or the direct target */
	int kind;	/* private */
	char *buf;	/* direct: the output until commit */
	size_t len;
};

/*
 * What atomic_file__open would do, without creating anything or opening it for writing:
 * 0 (a file replaced or created), 1 (written to directly), or the negative errno it
 * would fail with.
 */
int atomic_file__check(const char *path);
int atomic_file__open(struct atomic_file *af, const char *path);
int atomic_file__commit(struct atomic_file *af);
void atomic_file__abort(struct atomic_file *af);
/* Remove the named temporaries of files still open. Async-signal-safe. */
void atomic_file__unlink_pending(void);

#endif
