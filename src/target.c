// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "target.h"

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
