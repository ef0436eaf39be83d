// SPDX-License-Identifier: GPL-2.0
/*
 * Debug files from debuginfod servers (DEBUGINFOD_URLS), through elfutils' libdebuginfod:
 * by build id, into its standard cache. Every query runs within what is left of one time
 * budget: once it is spent, no query is made and the frames stay as they are. What the
 * library returns is opened again as an untrusted file (docs/security.md): a regular file,
 * within the size limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <elfutils/debuginfod.h>
#include "symbolize.h"
#include "symbolize-private.h"
#include "lazylib.h"

/*
 * libdebuginfod, loaded at the first debug file asked of a server, not linked: with it
 * come libcurl and a TLS stack, which a record whose files all have their debug
 * information (or that has no servers) never needs.
 */
static struct {
	__typeof__(debuginfod_begin) *begin;
	__typeof__(debuginfod_end) *end;
	__typeof__(debuginfod_find_debuginfo) *find_debuginfo;
	__typeof__(debuginfod_set_progressfn) *set_progressfn;
	__typeof__(debuginfod_set_user_data) *set_user_data;
	__typeof__(debuginfod_get_user_data) *get_user_data;
} dbg_lib;

static const struct lazylib_sym dbg_syms[] = {
	LAZYLIB_SYM(dbg_lib, begin, debuginfod_begin),
	LAZYLIB_SYM(dbg_lib, end, debuginfod_end),
	LAZYLIB_SYM(dbg_lib, find_debuginfo, debuginfod_find_debuginfo),
	LAZYLIB_SYM(dbg_lib, set_progressfn, debuginfod_set_progressfn),
	LAZYLIB_SYM(dbg_lib, set_user_data, debuginfod_set_user_data),
	LAZYLIB_SYM(dbg_lib, get_user_data, debuginfod_get_user_data),
};

static struct lazylib dbg_lazy = LAZYLIB(DEBUGINFOD_SONAME, DEBUGINFOD_PACKAGE, dbg_syms);

struct sym_debuginfod {
	debuginfod_client *client; /* made at the first query */
	int client_err;		   /* why it could not be */
	uint64_t budget_ns, spent_ns, deadline;
	bool networked; /* the progress function ran: not a cache hit */
	struct sym_debuginfod_stats stats;
	int (*progress)(void *arg, const char *build_id, long done, long total);
	void *progress_arg;
	const char *current; /* the build id being fetched (hex) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Called by libdebuginfod while it talks to servers: non-zero stops the transfer. */
static int on_progress(debuginfod_client *c, long done, long total)
{
	struct sym_debuginfod *d = dbg_lib.get_user_data(c);

	d->networked = true;
	if (d->progress && d->progress(d->progress_arg, d->current, done, total))
		return 1;
	return now_ns() >= d->deadline;
}

struct sym_debuginfod *sym_debuginfod__new(uint64_t budget_ns)
{
	const char *urls = getenv(DEBUGINFOD_URLS_ENV_VAR);
	struct sym_debuginfod *d;

	if (!urls || !*urls)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->budget_ns = budget_ns;
	return d;
}

/* The client, at the first query: 0, or a negative errno that every query returns. */
static int sym_debuginfod__client(struct sym_debuginfod *d)
{
	if (d->client || d->client_err)
		return d->client_err;
	if (lazylib__load(&dbg_lazy)) {
		d->stats.no_library = true;
		return d->client_err = -ELIBACC;
	}
	d->client = dbg_lib.begin();
	if (!d->client)
		return d->client_err = errno ? -errno : -ENOMEM;
	dbg_lib.set_user_data(d->client, d);
	dbg_lib.set_progressfn(d->client, on_progress);
	return 0;
}

const char *sym_debuginfod__lib_strerror(char *buf, size_t sz)
{
	return lazylib__strerror(&dbg_lazy, buf, sz);
}

void sym_debuginfod__free(struct sym_debuginfod *d)
{
	if (!d)
		return;
	if (d->client)
		dbg_lib.end(d->client);
	free(d);
}

void sym_debuginfod__set_progress(struct sym_debuginfod *d,
				  int (*fn)(void *arg, const char *build_id, long done, long total),
				  void *arg)
{
	d->progress = fn;
	d->progress_arg = arg;
}

const struct sym_debuginfod_stats *sym_debuginfod__stats(const struct sym_debuginfod *d)
{
	return &d->stats;
}

/* The file the library wrote to its cache, opened again by our own rules. */
static int reopen(const char *path, int lib_fd)
{
	struct stat st;
	int fd = sym_file__open(-1, path, NULL, SYM_OPEN_NOFOLLOW, SYM_MAX_ELF_SIZE, &st);

	close(lib_fd);
	return fd;
}

int sym_debuginfod__find(struct sym_debuginfod *d, const unsigned char *id, size_t len)
{
	char hex[2 * 64 + 1], *path = NULL;
	uint64_t t0 = now_ns();
	size_t i;
	int fd;

	if (!len || len > 64)
		return -EINVAL;
	if (d->spent_ns >= d->budget_ns) {
		d->stats.over_budget++;
		return -ETIME;
	}
	fd = sym_debuginfod__client(d);
	if (fd) {
		d->stats.missing++;
		return fd;
	}
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	d->current = hex;
	d->networked = false;
	d->deadline = t0 + (d->budget_ns - d->spent_ns);
	fd = dbg_lib.find_debuginfo(d->client, id, (int)len, &path);
	d->current = NULL;
	d->spent_ns += now_ns() - t0;
	if (fd >= 0 && path)
		fd = reopen(path, fd);
	else if (fd >= 0)
		close(fd), fd = -ENOENT;
	free(path);
	if (fd < 0) {
		if (d->spent_ns >= d->budget_ns && d->networked)
			d->stats.over_budget++;
		else
			d->stats.missing++;
		return fd;
	}
	if (d->networked)
		d->stats.fetched++;
	else
		d->stats.cached++;
	return fd;
}

uint64_t sym_debuginfod__spent_ns(const struct sym_debuginfod *d)
{
	return d->spent_ns;
}
