// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "stat.h"

double stat_count__scaled(const struct stat_count *c)
{
	if (!c->running)
		return 0;
	if (c->running >= c->enabled)
		return (double)c->value;
	return (double)c->value * (double)c->enabled / (double)c->running;
}

double stat_count__running_pct(const struct stat_count *c)
{
	if (!c->enabled)
		return 0;
	return 100.0 * (double)c->running / (double)c->enabled;
}

void stat__free(struct stat_session *s)
{
	int i, j;

	if (!s)
		return;
	for (i = 0; i < s->nr; i++) {
		for (j = 0; j < s->ev[i].nr_fds; j++)
			if (s->ev[i].fds[j] >= 0)
				close(s->ev[i].fds[j]);
		free(s->ev[i].fds);
		free(s->ev[i].cpu);
		free(s->ev[i].per_fd);
	}
	free(s->ev);
	free(s);
}

static int add_fd(struct stat_event *e, int fd, int cpu)
{
	int *f = realloc(e->fds, (e->nr_fds + 1) * sizeof(int));
	int *c = f ? realloc(e->cpu, (e->nr_fds + 1) * sizeof(int)) : NULL;
	struct stat_count *p = c ? realloc(e->per_fd, (e->nr_fds + 1) * sizeof(*p)) : NULL;

	if (f)
		e->fds = f;
	if (c)
		e->cpu = c;
	if (p)
		e->per_fd = p;
	if (!f || !c || !p)
		return -ENOMEM;
	e->fds[e->nr_fds] = fd;
	e->cpu[e->nr_fds] = cpu;
	memset(&e->per_fd[e->nr_fds], 0, sizeof(*p));
	e->nr_fds++;
	return 0;
}

/* The fd of the group leader on the same target, or -1. */
static int leader_fd(struct stat_session *s, int idx, int target)
{
	int i;

	if (!s->ev[idx].ev.group || s->ev[idx].ev.leader)
		return -1;
	for (i = idx - 1; i >= 0; i--)
		if (s->ev[i].ev.group == s->ev[idx].ev.group && s->ev[i].ev.leader)
			return s->ev[i].supported && target < s->ev[i].nr_fds ? s->ev[i].fds[target]
									      : -1;
	return -1;
}

/*
 * Open one fd; refused the kernel (perf_event_paranoid, no CAP_PERFMON), count user space
 * only, as perf does: the event reads as EVENT:u.
 */
static int open_one(struct stat_event *e, pid_t pid, int cpu, int group_fd)
{
	struct perf_event_attr *a = &e->ev.attr;
	int fd = pmu_event__open_adjust(&e->ev, pid, cpu, group_fd);

	if ((fd == -EACCES || fd == -EPERM) && !a->exclude_kernel) {
		a->exclude_kernel = 1;
		a->exclude_hv = 1;
		fd = pmu_event__open_adjust(&e->ev, pid, cpu, group_fd);
		if (fd >= 0) {
			e->user_only = true;
		} else {
			a->exclude_kernel = 0;
			a->exclude_hv = 0;
		}
	}
	return fd;
}

struct stat_session *stat__new(const struct stat_opts *o)
{
	struct stat_session *s = calloc(1, sizeof(*s));
	int i, t, err = 0;

	if (!s)
		return NULL;
	s->ev = calloc(o->nr_events ? o->nr_events : 1, sizeof(*s->ev));
	if (!s->ev) {
		free(s);
		return NULL;
	}
	s->nr = o->nr_events;
	s->enable_on_exec = o->enable_on_exec;
	for (i = 0; i < o->nr_events && !err; i++) {
		struct stat_event *e = &s->ev[i];
		struct perf_event_attr *a = &e->ev.attr;
		bool syswide;
		int n = 0;

		e->ev = o->events[i];
		/* Uncore PMUs have no task context: counted on their cpumask even for a task. */
		syswide = e->ev.uncore || !o->nr_tasks;
		a->sample_period = 0;
		a->freq = 0;
		a->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
		a->inherit = !syswide && o->inherit;
		a->enable_on_exec = !syswide && o->enable_on_exec;
		e->supported = true;
		if (syswide) {
			int cpus[PMU_MAX_CPUS], nr = stat_event__cpus(&e->ev, o->cpus, o->nr_cpus,
								      cpus, PMU_MAX_CPUS);

			for (t = 0; t < nr && !err; t++) {
				int fd = open_one(e, -1, cpus[t], leader_fd(s, i, n));

				if (fd < 0) {
					e->supported = false;
					e->err = fd;
					break;
				}
				err = add_fd(e, fd, cpus[t]);
				n++;
			}
		} else {
			for (t = 0; t < o->nr_tasks && !err; t++) {
				int fd = open_one(e, o->tasks[t], -1, leader_fd(s, i, t));

				if (fd < 0) {
					/* A thread that exited since the list was made: not the event's fault. */
					if (fd == -ESRCH && t > 0)
						continue;
					e->supported = false;
					e->err = fd;
					break;
				}
				err = add_fd(e, fd, -1);
			}
		}
		if (!e->supported) {
			int k;

			for (k = 0; k < e->nr_fds; k++)
				close(e->fds[k]);
			e->nr_fds = 0;
		}
	}
	if (err) {
		stat__free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

static int ioctl_all(struct stat_session *s, unsigned long req)
{
	int i, j;

	for (i = 0; i < s->nr; i++)
		for (j = 0; j < s->ev[i].nr_fds; j++)
			if (ioctl(s->ev[i].fds[j], req, 0) < 0)
				return -errno;
	return 0;
}

int stat__enable(struct stat_session *s)
{
	int i, j;

	/* Task events of a launched command start at its exec; system-wide ones now. */
	for (i = 0; i < s->nr; i++) {
		if (s->enable_on_exec && s->ev[i].ev.attr.enable_on_exec)
			continue;
		for (j = 0; j < s->ev[i].nr_fds; j++)
			if (ioctl(s->ev[i].fds[j], PERF_EVENT_IOC_ENABLE, 0) < 0)
				return -errno;
	}
	return 0;
}

int stat__disable(struct stat_session *s)
{
	return ioctl_all(s, PERF_EVENT_IOC_DISABLE);
}

int stat__read(struct stat_session *s)
{
	int i, j;

	for (i = 0; i < s->nr; i++) {
		struct stat_event *e = &s->ev[i];

		memset(&e->total, 0, sizeof(e->total));
		e->scaled = 0;
		for (j = 0; j < e->nr_fds; j++) {
			uint64_t buf[3];

			if (read(e->fds[j], buf, sizeof(buf)) != sizeof(buf))
				return -errno ? -errno : -EIO;
			e->per_fd[j].value = buf[0];
			e->per_fd[j].enabled = buf[1];
			e->per_fd[j].running = buf[2];
			e->total.value += buf[0];
			e->total.enabled += buf[1];
			e->total.running += buf[2];
			e->scaled += stat_count__scaled(&e->per_fd[j]) * e->ev.scale;
		}
	}
	return 0;
}

int stat_event__cpus(const struct pmu_event *ev, const int *cpus, int nr, int *out, int max)
{
	int i, n = 0;

	if (ev->uncore && ev->cpumask.set) {
		for (i = 0; i < PMU_MAX_CPUS && n < max; i++)
			if (pmu_cpumask__has(&ev->cpumask, i))
				out[n++] = i;
		return n;
	}
	for (i = 0; i < nr && n < max; i++)
		if (pmu_cpumask__has(&ev->cpumask, cpus[i]))
			out[n++] = cpus[i];
	return n;
}

int stat_event__per_socket(const struct stat_event *e, double *out, int max)
{
	int i, n = 0;

	for (i = 0; i < max; i++)
		out[i] = 0;
	for (i = 0; i < e->nr_fds; i++) {
		int sock = e->cpu[i] >= 0 ? pmu_cpu__socket(e->cpu[i]) : 0;

		if (sock >= max)
			continue;
		out[sock] += stat_count__scaled(&e->per_fd[i]) * e->ev.scale;
		if (sock + 1 > n)
			n = sock + 1;
	}
	return n;
}
