// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "log.h"
#include "pmu.h"

void pmu_event__set_sampling(struct pmu_event *ev, unsigned long freq, unsigned long period)
{
	if (ev->has_period || ev->has_freq)
		return;
	if (freq) {
		ev->attr.freq = 1;
		ev->attr.sample_freq = freq;
	} else {
		ev->attr.freq = 0;
		ev->attr.sample_period = period;
	}
}

void pmu_event__cpu_clock(struct pmu_event *ev, unsigned long freq)
{
	pmu_event__parse("cpu-clock", ev);
	pmu_event__set_sampling(ev, freq, 0);
}

int pmu_attr__open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd)
{
	int fd;

	attr->size = sizeof(*attr);
	fd = syscall(__NR_perf_event_open, attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pmu_event__open(const struct pmu_event *ev, pid_t pid, int cpu, int group_fd)
{
	struct perf_event_attr attr = ev->attr;

	/*
	 * Opened disabled; enabled after the BPF program is attached. A group member stays
	 * enabled and follows its leader, as perf opens groups: a member of a per-CPU group
	 * enabled by itself never gets on the PMU (it counts 0).
	 */
	attr.disabled = group_fd < 0;
	return pmu_attr__open(&attr, pid, cpu, group_fd);
}

bool pmu_errno__is_no_pmu(int err)
{
	if (err < 0)
		err = -err;
	return err == ENOENT || err == EOPNOTSUPP || err == ENODEV;
}

int pmu_event__open_adjust(struct pmu_event *ev, pid_t pid, int cpu, int group_fd)
{
	bool raised = false;
	int fd;

	while (1) {
		fd = pmu_event__open(ev, pid, cpu, group_fd);
		if (fd >= 0)
			return fd;
		if (fd == -EINVAL && ev->attr.precise_ip > 0) {
			/* perf does the same: this PMU or event supports less precision. */
			if (!ev->precise_wanted)
				ev->precise_wanted = ev->attr.precise_ip;
			ev->attr.precise_ip--;
			continue;
		}
		if (fd == -EMFILE && !raised) {
			struct rlimit rl;

			raised = true;
			if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
				rl.rlim_cur = rl.rlim_max;
				if (!setrlimit(RLIMIT_NOFILE, &rl))
					continue;
			}
		}
		return fd;
	}
}

const char *pmu_event__describe(const struct pmu_event *ev, char *buf, size_t sz)
{
	const struct perf_event_attr *a = &ev->attr;

	snprintf(buf, sz,
		 "type=%u config=0x%llx config1=0x%llx config2=0x%llx exclude_user=%u "
		 "exclude_kernel=%u exclude_hv=%u precise_ip=%u %s=%llu",
		 a->type, (unsigned long long)a->config, (unsigned long long)a->config1,
		 (unsigned long long)a->config2, a->exclude_user, a->exclude_kernel, a->exclude_hv,
		 a->precise_ip, a->freq ? "freq" : "period", (unsigned long long)a->sample_period);
	return buf;
}

int pmu_event__probe(struct pmu_event *ev)
{
	int fd = pmu_event__open_adjust(ev, 0, -1, -1);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int pmu_events__fallback(struct pmu_event *evs, int *nr, unsigned long freq, bool allow,
			 struct pmu_fallback *fb)
{
	int i, j, err;

	memset(fb, 0, sizeof(*fb));
	fb->failed = -1;
	for (i = 0, j = 0; i < *nr; i++) {
		char desc[256];

		err = pmu_event__probe(&evs[i]);
		pr_info("pmuprof: event %s: %s: %s\n", evs[i].name,
			pmu_event__describe(&evs[i], desc, sizeof(desc)),
			err ? pmu_errno__name(err) : "opens");
		if (!err) {
			evs[j++] = evs[i];
			continue;
		}
		if (!evs[i].hardware || !pmu_errno__is_no_pmu(err)) {
			fb->failed = i;
			return err;
		}
		if (!fb->err)
			fb->err = err;
		if (fb->nr_dropped < 8)
			snprintf(fb->dropped[fb->nr_dropped], PMU_EVENT_NAME_MAX, "%s",
				 evs[i].name);
		fb->nr_dropped++;
		if (!allow) {
			fb->failed = i;
			return err;
		}
	}
	*nr = j;
	if (!j) {
		pmu_event__cpu_clock(&evs[0], freq);
		*nr = 1;
		fb->added_cpu_clock = true;
	}
	return 0;
}

const char *pmu_errno__name(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case ENOENT:
		return "ENOENT";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case ENODEV:
		return "ENODEV";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case EINVAL:
		return "EINVAL";
	case EMFILE:
		return "EMFILE";
	case EBUSY:
		return "EBUSY";
	case ESRCH:
		return "ESRCH";
	case E2BIG:
		return "E2BIG";
	case ENOMEM:
		return "ENOMEM";
	default:
		return "E?";
	}
}

static int read_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = 2;

	if (!f)
		return v;
	if (fscanf(f, "%d", &v) != 1)
		v = 2;
	fclose(f);
	return v;
}

const char *pmu_event__open_strerror(int err, const struct pmu_event *ev, char *buf, size_t sz)
{
	const char *name = ev ? ev->name : "event";

	if (err < 0)
		err = -err;
	switch (err) {
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
		if (ev && ev->hardware)
			snprintf(buf, sz,
				 "%s: no hardware PMU for this event (%s; a virtual machine?)",
				 name, pmu_errno__name(err));
		else
			snprintf(buf, sz, "%s: not supported by this kernel (%s)", name,
				 pmu_errno__name(err));
		break;
	case EACCES:
	case EPERM:
		snprintf(buf, sz,
			 "%s: not permitted (%s): run as root or grant CAP_PERFMON and CAP_BPF "
			 "(perf_event_paranoid is %d)",
			 name, pmu_errno__name(err), read_paranoid());
		break;
	case EMFILE:
		snprintf(buf, sz,
			 "%s: too many open files (EMFILE): raise the limit with 'ulimit -n'",
			 name);
		break;
	case EBUSY:
		snprintf(buf, sz,
			 "%s: counter busy (EBUSY): another tool or the NMI watchdog holds it "
			 "(try: sysctl kernel.nmi_watchdog=0)",
			 name);
		break;
	case ESRCH:
		snprintf(buf, sz, "%s: no such process or thread (ESRCH)", name);
		break;
	case EINVAL:
		snprintf(buf, sz,
			 "%s: the kernel rejected the event's settings (EINVAL): "
			 "check -F/-c and the event name",
			 name);
		break;
	default:
		snprintf(buf, sz, "%s: cannot open event: %s", name, strerror(err));
		break;
	}
	return buf;
}

const char *pmu_attach_mode__name(enum pmu_attach_mode mode)
{
	switch (mode) {
	case PMU_ATTACH_LINK:
		return "link";
	case PMU_ATTACH_IOCTL:
		return "ioctl";
	default:
		return "auto";
	}
}

int pmu_attach_mode__parse(const char *s, enum pmu_attach_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = PMU_ATTACH_AUTO;
	else if (!strcmp(s, "link"))
		*mode = PMU_ATTACH_LINK;
	else if (!strcmp(s, "ioctl"))
		*mode = PMU_ATTACH_IOCTL;
	else
		return -EINVAL;
	return 0;
}

bool pmu_perf_link__supported(void)
{
	/* r0 = 0; exit: the smallest perf_event program, only to try a link (5.15+). */
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	struct pmu_event ev;
	int prog, pfd, lfd;
	bool ok = false;

	prog = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "pmuprof_probe", "GPL", insns, 2, NULL);
	if (prog < 0)
		return false;
	pmu_event__cpu_clock(&ev, 1);
	pfd = pmu_event__open(&ev, 0, -1, -1);
	if (pfd >= 0) {
		lfd = bpf_link_create(prog, pfd, BPF_PERF_EVENT, NULL);
		ok = lfd >= 0;
		if (lfd >= 0)
			close(lfd);
		close(pfd);
	}
	close(prog);
	return ok;
}

int pmu_bpf__attach(int pfd, int prog_fd, enum pmu_attach_mode mode, unsigned long long cookie)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .perf_event.bpf_cookie = cookie);
	int fd;

	if (mode == PMU_ATTACH_IOCTL) {
		if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0)
			return -errno;
		return 0;
	}
	fd = bpf_link_create(prog_fd, pfd, BPF_PERF_EVENT, &opts);
	if (fd < 0)
		return -errno;
	return fd;
}
