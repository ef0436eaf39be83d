// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the files that profiled processes control (their binaries, the debug files
 * their .gnu_debuglink names, their perf maps) as docs/security.md says: inside the
 * process's root, without following magic links, without blocking, with the process's
 * own file-system credentials, regular files only, within a size limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "symbolize-private.h"

static bool no_openat2;

bool sym_file__no_openat2(void)
{
	return no_openat2;
}

void sym_file__set_no_openat2(bool no)
{
	no_openat2 = no;
}

void proc_cred__nobody(struct proc_cred *c)
{
	memset(c, 0, sizeof(*c));
	c->ruid = c->euid = c->fsuid = PROC_CRED_NOBODY;
	c->fsgid = PROC_CRED_NOBODY;
}

bool proc_cred__owns(const struct proc_cred *c, uid_t owner)
{
	return owner == 0 || owner == c->ruid || owner == c->euid || owner == c->fsuid;
}

static void parse_groups(struct proc_cred *c, const char *p)
{
	char *end;

	c->ngroups = 0;
	while (c->ngroups < PROC_CRED_MAX_GROUPS) {
		unsigned long g = strtoul(p, &end, 10);

		if (end == p)
			break;
		c->groups[c->ngroups++] = (gid_t)g;
		p = end;
	}
}

/* One line of /proc/PID/status into c: 1 for Uid, 2 for Gid, 4 for Groups, 8 for NSpid,
 * else 0. */
static int status_line(struct proc_cred *c, const char *line, pid_t *nspid)
{
	unsigned int u[4];

	if (!strncmp(line, "Uid:", 4) &&
	    sscanf(line + 4, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4) {
		c->ruid = u[0];
		c->euid = u[1];
		c->fsuid = u[3];
		return 1;
	}
	if (!strncmp(line, "Gid:", 4) &&
	    sscanf(line + 4, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4) {
		c->fsgid = u[3];
		return 2;
	}
	if (!strncmp(line, "Groups:", 7)) {
		parse_groups(c, line + 7);
		return 4;
	}
	if (nspid && !strncmp(line, "NSpid:", 6)) {
		/* The last one is the pid the process sees in its own namespace. */
		const char *last = strrchr(line, '\t');

		if (last)
			*nspid = atoi(last + 1);
		return 8;
	}
	return 0;
}

/*
 * Read in one go (a status file is about 1.5 KB; the lines wanted come first), parsed up
 * to the last line wanted: a process is read at every exec.
 */
int proc_cred__read(struct proc_cred *c, const char *proc_root, pid_t pid, pid_t *nspid)
{
	int found = 0, want = nspid ? 15 : 7, fd;
	char path[256], buf[8192], *line, *nl;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root ? proc_root : "/proc", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	memset(c, 0, sizeof(*c));
	if (nspid)
		*nspid = pid;
	for (line = buf; line && *line && (found & want) != want; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		found |= status_line(c, line, nspid);
	}
	return (found & 3) == 3 ? 0 : -EINVAL;
}

/* What a thread's file-system credentials were before cred_enter(). */
struct cred_saved {
	bool switched;
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t *groups;
};

/* The kernel's own calls: per thread (glibc's setgroups changes every thread). */
static int thread_setgroups(int n, const gid_t *groups)
{
	return syscall(SYS_setgroups, n, groups) ? -errno : 0;
}

static void cred_leave(struct cred_saved *sv)
{
	if (!sv->switched)
		return;
	setfsuid(sv->fsuid);
	setfsgid(sv->fsgid);
	thread_setgroups(sv->ngroups, sv->groups);
	free(sv->groups);
	sv->switched = false;
}

/*
 * Take the process's file-system credentials for one open. A fsuid other than 0
 * drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so only what that user may read
 * opens. Without CAP_SETUID/CAP_SETGID (not root) nothing is switched: we then read
 * with our own, unprivileged, credentials.
 */
static int cred_enter(const struct proc_cred *c, struct cred_saved *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->fsuid = setfsuid(-1);
	sv->fsgid = setfsgid(-1);
	if (!c || (c->fsuid == sv->fsuid && c->fsuid == 0))
		return 0;
	sv->ngroups = getgroups(0, NULL);
	if (sv->ngroups < 0)
		return -errno;
	sv->groups = calloc(sv->ngroups + 1, sizeof(gid_t));
	if (!sv->groups)
		return -ENOMEM;
	sv->ngroups = getgroups(sv->ngroups, sv->groups);
	if (sv->ngroups < 0 || thread_setgroups(c->ngroups, c->groups)) {
		free(sv->groups);
		sv->groups = NULL;
		return geteuid() ? 0 : -EPERM;
	}
	sv->switched = true;
	setfsgid(c->fsgid);
	setfsuid(c->fsuid);
	if ((uid_t)setfsuid(-1) != c->fsuid || (gid_t)setfsgid(-1) != c->fsgid) {
		cred_leave(sv);
		return -EPERM;
	}
	return 0;
}

/* An O_PATH descriptor: nothing is opened yet, so a FIFO or a device cannot block. */
static int open_path(int rootfd, const char *path, unsigned flags)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | ((flags & SYM_OPEN_NOFOLLOW) ? O_NOFOLLOW : 0),
		.resolve = (flags & SYM_OPEN_MAGICLINK) ? 0 : RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (rootfd >= 0)
		how.resolve |= RESOLVE_IN_ROOT;
	if (!no_openat2) {
		int tries = 0;

		/* EAGAIN: a rename or mount raced the walk in the root; walk again. */
		do
			fd = syscall(SYS_openat2, rootfd >= 0 ? rootfd : AT_FDCWD, path, &how,
				     sizeof(how));
		while (fd < 0 && errno == EAGAIN && ++tries < 8);
		if (fd >= 0 || errno != ENOSYS)
			return fd >= 0 ? (int)fd : -errno;
		no_openat2 = true;
	}
	/* Linux < 5.6: the last component is checked, links in directories are not. */
	if (rootfd >= 0)
		while (*path == '/')
			path++;
	fd = openat(rootfd >= 0 ? rootfd : AT_FDCWD, path, (int)how.flags);
	return fd >= 0 ? (int)fd : -errno;
}

static int check_file(int fd, uint64_t max_size, struct stat *st)
{
	if (fstat(fd, st))
		return -errno;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if ((uint64_t)st->st_size > max_size)
		return -EFBIG;
	return 0;
}

/* Open what the O_PATH descriptor names, for reading: the permission check happens here. */
static int reopen(int pathfd)
{
	char self[64];
	int fd;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

int sym_file__open(int rootfd, const char *path, const struct proc_cred *cred, unsigned flags,
		   uint64_t max_size, struct stat *st)
{
	struct cred_saved sv;
	int pathfd, fd, err;

	err = cred_enter(cred, &sv);
	if (err)
		return err;
	pathfd = open_path(rootfd, path, flags);
	if (pathfd < 0) {
		fd = pathfd;
		goto out;
	}
	fd = check_file(pathfd, max_size, st);
	if (!fd)
		fd = reopen(pathfd);
	close(pathfd);
out:
	cred_leave(&sv);
	return fd;
}
