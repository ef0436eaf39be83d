// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "target.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
/* pidfd_open(2) of a thread that is not a group leader (6.9+): PIDFD_THREAD, O_EXCL. */
#define TARGET_PIDFD_THREAD O_EXCL

int target_spec__validate(const struct target_spec *t, unsigned int offered, char *buf, size_t sz)
{
	static const struct {
		unsigned int kind;
		const char *words;
	} names[] = {
		{TARGET_CPUS, "-a"},	  {TARGET_CPU_LIST, "-C CPUS"}, {TARGET_PIDS, "-p PIDS"},
		{TARGET_TIDS, "-t TIDS"}, {TARGET_CMD, "-- COMMAND"},
	};
	bool cpus = t->all_cpus || t->cpu_list;
	int given = !!cpus + !!t->pid_list + !!t->tid_list + !!t->cmd;
	size_t i, n = 0, len = 0, last = 0;

	if (cpus && t->cmd && (offered & TARGET_CPUS_WHILE_CMD))
		given--;
	if (given <= 1)
		return 0;
	len = snprintf(buf, sz, "give one target: ");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (offered & names[i].kind)
			last = i;
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && len < sz; i++) {
		if (!(offered & names[i].kind))
			continue;
		len += snprintf(buf + len, sz - len, "%s%s",
				!n	    ? ""
				: i == last ? " or "
					    : ", ",
				names[i].words);
		n++;
	}
	return -EINVAL;
}

bool target_spec__system_wide(const struct target_spec *t)
{
	return t->all_cpus || t->cpu_list || (!t->pid_list && !t->tid_list && !t->cmd);
}

void target_spec__describe(const struct target_spec *t, char *buf, size_t sz)
{
	size_t len = 0;
	int i;

	if (t->pid_list) {
		snprintf(buf, sz, "process id '%s'", t->pid_list);
	} else if (t->tid_list) {
		snprintf(buf, sz, "thread id '%s'", t->tid_list);
	} else if (t->cpu_list) {
		snprintf(buf, sz, "CPU(s) %s", t->cpu_list);
	} else if (t->cmd && !t->all_cpus) {
		buf[0] = 0;
		for (i = 0; t->cmd[i] && len < sz; i++)
			len += snprintf(buf + len, sz - len, "%s%s", i ? " " : "", t->cmd[i]);
	} else {
		snprintf(buf, sz, "system wide");
	}
}

int target_watch__init(struct target_watch *w, const int *ids, int nr, bool threads)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->fds = malloc(nr * sizeof(int));
	w->ids = malloc(nr * sizeof(int));
	if (nr && (!w->fds || !w->ids)) {
		target_watch__exit(w);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		int fd = syscall(SYS_pidfd_open, ids[i], threads ? TARGET_PIDFD_THREAD : 0);

		/* Kernels before 6.9 refuse PIDFD_THREAD: a thread is then probed by id. */
		if (fd < 0 && threads && errno == EINVAL)
			fd = syscall(SYS_pidfd_open, ids[i], 0);
		w->fds[i] = fd < 0 ? -1 : fd;
		w->ids[i] = ids[i];
	}
	w->nr = nr;
	return 0;
}

static bool target_watch__gone(const struct target_watch *w, int i)
{
	struct pollfd p = {.fd = w->fds[i], .events = POLLIN};

	if (w->fds[i] >= 0)
		return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR));
	return kill(w->ids[i], 0) && errno == ESRCH;
}

bool target_watch__ended(const struct target_watch *w)
{
	int i;

	for (i = 0; i < w->nr; i++)
		if (!target_watch__gone(w, i))
			return false;
	return w->nr > 0;
}

void target_watch__exit(struct target_watch *w)
{
	int i;

	for (i = 0; w->fds && i < w->nr; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	free(w->fds);
	free(w->ids);
	memset(w, 0, sizeof(*w));
}
