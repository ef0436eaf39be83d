// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pmu.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

int pmu_cpus__parse(const char *s, int **cpus, int *nr)
{
	int *out = NULL, *tmp, n = 0, cap = 0, i, j;
	const char *p = s;
	char *end;
	long a, b;

	*cpus = NULL;
	*nr = 0;
	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		if (*p < '0' || *p > '9')
			goto bad;
		a = strtol(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			b = strtol(p, &end, 10);
			p = end;
		}
		if (a > b || b > 65535)
			goto bad;
		for (; a <= b; a++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				tmp = realloc(out, cap * sizeof(*out));
				if (!tmp) {
					free(out);
					return -ENOMEM;
				}
				out = tmp;
			}
			out[n++] = a;
		}
		if (*p == ',') {
			p++;
			if (!*p)
				goto bad;
		} else if (*p && *p != '\n') {
			goto bad;
		} else if (*p == '\n') {
			break;
		}
	}
	if (!n)
		goto bad;
	qsort(out, n, sizeof(*out), cmp_int);
	for (i = 1, j = 1; i < n; i++)
		if (out[i] != out[j - 1])
			out[j++] = out[i];
	*cpus = out;
	*nr = j;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

int pmu_cpus__online(int **cpus, int *nr)
{
	const char *root = getenv("PMUPROF_SYSFS");
	char path[512], buf[4096];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/online", root ? root : "/sys");
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		err = ferror(f) ? -EIO : -EINVAL;
		fclose(f);
		return err;
	}
	fclose(f);
	return pmu_cpus__parse(buf, cpus, nr);
}
