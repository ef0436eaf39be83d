// SPDX-License-Identifier: GPL-2.0
/*
 * Output files: whole or absent, close-on-exec, never replacing what is not a regular
 * file. See struct atomic_file in atomic-file.h for the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include "atomic-file.h"

enum { AF_TMPFILE = 1, AF_NAMED, AF_DIRECT };

/* The named fallback's temporaries, for a signal handler to remove. */
#define AF_PENDING_MAX 32
static char *volatile pending[AF_PENDING_MAX];

static void pending_add(char *path)
{
	int i;

	for (i = 0; i < AF_PENDING_MAX; i++)
		if (!pending[i]) {
			pending[i] = path;
			return;
		}
}

static void pending_del(const char *path)
{
	int i;

	for (i = 0; i < AF_PENDING_MAX; i++)
		if (pending[i] == path)
			pending[i] = NULL;
}

void atomic_file__unlink_pending(void)
{
	int i;

	for (i = 0; i < AF_PENDING_MAX; i++)
		if (pending[i])
			unlink(pending[i]);
}

/* "-", "/dev/stdout", "/dev/fd/N", "/proc/self/fd/N": the descriptor N, or -1. */
static int fd_alias(const char *path)
{
	const char *num = NULL;
	char *end;
	long n;

	if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout"))
		return STDOUT_FILENO;
	if (!strcmp(path, "/dev/stderr"))
		return STDERR_FILENO;
	if (!strncmp(path, "/dev/fd/", 8))
		num = path + 8;
	else if (!strncmp(path, "/proc/self/fd/", 14))
		num = path + 14;
	if (!num || *num < '0' || *num > '9')
		return -1;
	errno = 0;
	n = strtol(num, &end, 10);
	/* Not checked for being open: a closed one fails with EBADF, not as a new file. */
	if (errno || *end || n > INT_MAX)
		return -1;
	return (int)n;
}

/* The path crosses a /proc magic link (e.g. /proc/PID/fd/N): not a name we may replace. */
static bool through_magic_link(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ELOOP;
}

/*
 * What path is: AF_TMPFILE (absent or a regular file: replaced), AF_DIRECT (written to
 * as is), or a negative errno for what must not be written.
 */
static int classify(const char *path)
{
	struct stat st;
	int fd, err = 0;

	if (fd_alias(path) >= 0)
		return AF_DIRECT;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? AF_TMPFILE : -errno;
	if (fstat(fd, &st))
		err = -errno;
	close(fd);
	if (err)
		return err;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode))
		return through_magic_link(path) ? AF_DIRECT : AF_TMPFILE;
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
		return AF_DIRECT;
	return -EINVAL; /* block devices, sockets */
}

/* The directory part of path ("." when none), malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, slash - path);
}

/* An unnamed file in dir, or -EOPNOTSUPP where the file system has none. */
static int open_unnamed(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);

	if (fd >= 0)
		return fd;
	/* Kernels or file systems without O_TMPFILE: EOPNOTSUPP, or EISDIR before 3.11. */
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
		return -EOPNOTSUPP;
	return -errno;
}

/* ".NAME.tmpXXXXXX" next to path, hidden while it is written. */
static char *tmp_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *s;

	if (asprintf(&s, "%.*s.%s.tmpXXXXXX", slash ? (int)(slash - path + 1) : 0, path,
		     slash ? slash + 1 : path) < 0)
		return NULL;
	return s;
}

static int open_named(struct atomic_file *af)
{
	int fd;

	af->tmp_path = tmp_name(af->path);
	if (!af->tmp_path)
		return -ENOMEM;
	fd = mkostemp(af->tmp_path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pending_add(af->tmp_path);
	fchmod(fd, 0644 & ~umask(umask(0)));
	af->kind = AF_NAMED;
	return fd;
}

static int open_direct(struct atomic_file *af)
{
	int alias = fd_alias(af->path), fd;
	struct stat st;

	if (alias >= 0)
		fd = fcntl(alias, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(af->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A regular file reached through /proc: written from its start, like '>'. */
	if (alias < 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) && ftruncate(fd, 0)) {
		close(fd);
		return -errno;
	}
	af->fd = fd;
	af->f = open_memstream(&af->buf, &af->len);
	if (!af->f)
		return -errno;
	af->kind = AF_DIRECT;
	return 0;
}

int atomic_file__check(const char *path)
{
	char *dir, *tmp;
	int kind = classify(path), fd, err;

	if (kind < 0)
		return kind;
	if (kind == AF_DIRECT)
		return fd_alias(path) >= 0 && fcntl(fd_alias(path), F_GETFD) < 0 ? -EBADF : 1;
	/* Can a file be made there? Try the unnamed one, which leaves nothing behind. */
	dir = dir_of(path);
	if (!dir)
		return -ENOMEM;
	fd = open_unnamed(dir);
	free(dir);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -EOPNOTSUPP)
		return fd;
	/* No O_TMPFILE there: a named temporary, removed at once. */
	tmp = tmp_name(path);
	if (!tmp)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		unlink(tmp);
		close(fd);
	}
	free(tmp);
	return err;
}

int atomic_file__open(struct atomic_file *af, const char *path)
{
	char *dir = NULL;
	int kind, fd = -1, err;

	memset(af, 0, sizeof(*af));
	af->fd = -1;
	af->path = strdup(path);
	if (!af->path) {
		err = -ENOMEM;
		goto fail;
	}
	kind = classify(path);
	if (kind < 0) {
		err = kind;
		goto fail;
	}
	if (kind == AF_DIRECT) {
		err = open_direct(af);
		if (err)
			goto fail;
		return 0;
	}
	dir = dir_of(path);
	if (!dir) {
		err = -ENOMEM;
		goto fail;
	}
	fd = open_unnamed(dir);
	if (fd >= 0)
		af->kind = AF_TMPFILE;
	else if (fd == -EOPNOTSUPP)
		fd = open_named(af);
	free(dir);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	af->fd = fd;
	af->f = fdopen(fd, "w");
	if (!af->f) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	atomic_file__abort(af);
	return err;
}

/* Six characters of a temporary name, as mkstemp picks them. */
static void random_suffix(char *x)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[6];
	int i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		for (i = 0; i < 6; i++)
			r[i] = (unsigned char)(rand() ^ getpid());
	for (i = 0; i < 6; i++)
		x[i] = set[r[i] % (sizeof(set) - 1)];
}

/* Give the unnamed file a name: path if free, else a temporary renamed over path. */
static int link_unnamed(struct atomic_file *af)
{
	char proc[64];
	int i;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", af->fd);
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc works for everyone. */
	if (!linkat(af->fd, "", AT_FDCWD, af->path, AT_EMPTY_PATH) ||
	    (errno != EEXIST && !linkat(AT_FDCWD, proc, AT_FDCWD, af->path, AT_SYMLINK_FOLLOW)))
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* The target exists (a regular file or a link to one): replace it atomically. */
	af->tmp_path = tmp_name(af->path);
	if (!af->tmp_path)
		return -ENOMEM;
	for (i = 0; i < 100; i++) {
		random_suffix(af->tmp_path + strlen(af->tmp_path) - 6);
		if (!linkat(af->fd, "", AT_FDCWD, af->tmp_path, AT_EMPTY_PATH) ||
		    !linkat(AT_FDCWD, proc, AT_FDCWD, af->tmp_path, AT_SYMLINK_FOLLOW))
			break;
		if (errno != EEXIST)
			return -errno;
	}
	if (i == 100)
		return -EEXIST;
	if (rename(af->tmp_path, af->path)) {
		int err = -errno;

		unlink(af->tmp_path);
		return err;
	}
	return 0;
}

/* Write all of buf to a blocking or non-blocking descriptor. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			poll(&p, 1, -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

int atomic_file__commit(struct atomic_file *af)
{
	int err = 0;

	if (fflush(af->f))
		err = -errno;
	if (af->kind == AF_DIRECT) {
		if (!err)
			err = write_all(af->fd, af->buf, af->len);
		if (close(af->fd) && !err && errno != EINTR)
			err = -errno;
		af->fd = -1;
	} else {
		if (!err && fsync(af->fd))
			err = -errno;
		if (!err && af->kind == AF_TMPFILE)
			err = link_unnamed(af);
		if (!err && af->kind == AF_NAMED && rename(af->tmp_path, af->path))
			err = -errno;
		if (!err && af->kind == AF_NAMED) {
			pending_del(af->tmp_path);
			af->kind = 0; /* nothing left to remove */
		}
	}
	atomic_file__abort(af);
	return err;
}

void atomic_file__abort(struct atomic_file *af)
{
	/* f owns the descriptor of temporaries; a direct target's is af->fd. */
	if (af->f)
		fclose(af->f);
	if (af->fd >= 0 && (af->kind == AF_DIRECT || !af->f))
		close(af->fd);
	if (af->kind == AF_NAMED && af->tmp_path) {
		unlink(af->tmp_path);
		pending_del(af->tmp_path);
	}
	free(af->path);
	free(af->tmp_path);
	free(af->buf);
	memset(af, 0, sizeof(*af));
	af->fd = -1;
}
