// SPDX-License-Identifier: GPL-2.0
/*
 * PMUs under <sysfs>/bus/event_source/devices: type, cpumask, format terms and named
 * events. The root is $PMUPROF_SYSFS (default /sys), so tests use a fake tree.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pmu.h"
#include "pmu-private.h"

const char *pmu_sysfs__root(void)
{
	const char *root = getenv("PMUPROF_SYSFS");

	return root && *root ? root : "/sys";
}

int pmu_sysfs__read(const char *pmu, const char *file, char *buf, size_t sz)
{
	char path[1024];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus/event_source/devices/%s/%s", pmu_sysfs__root(), pmu,
		 file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sz - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	return 0;
}

bool pmu_sysfs__exists(const char *pmu)
{
	char buf[32];

	return pmu_sysfs__read(pmu, "type", buf, sizeof(buf)) == 0;
}

int pmu_sysfs__type(const char *pmu, __u32 *type)
{
	char buf[32], *end;
	unsigned long v;
	int err = pmu_sysfs__read(pmu, "type", buf, sizeof(buf));

	if (err)
		return err;
	v = strtoul(buf, &end, 10);
	if (end == buf || *end)
		return -EINVAL;
	*type = v;
	return 0;
}

/* "cpumask" (uncore: one CPU per socket) or "cpus" (hybrid core PMUs). */
int pmu_sysfs__cpus(const char *pmu, struct pmu_cpumask *mask)
{
	char buf[4096];
	int *cpus, nr, i, err;

	err = pmu_sysfs__read(pmu, "cpumask", buf, sizeof(buf));
	if (err)
		err = pmu_sysfs__read(pmu, "cpus", buf, sizeof(buf));
	if (err)
		return err;
	err = pmu_cpus__parse(buf, &cpus, &nr);
	if (err)
		return err;
	memset(mask, 0, sizeof(*mask));
	for (i = 0; i < nr; i++)
		if (cpus[i] < PMU_MAX_CPUS)
			mask->bits[cpus[i] / 64] |= 1ULL << (cpus[i] % 64);
	mask->set = true;
	free(cpus);
	return 0;
}

bool pmu_cpumask__has(const struct pmu_cpumask *mask, int cpu)
{
	if (!mask->set)
		return true;
	if (cpu < 0 || cpu >= PMU_MAX_CPUS)
		return false;
	return mask->bits[cpu / 64] & (1ULL << (cpu % 64));
}

/* Place value into the bits that a format file ("config1:0-7,32-35") describes. */
static int apply_format(const char *fmt, __u64 value, struct perf_event_attr *attr)
{
	const char *p = strchr(fmt, ':');
	__u64 *field;
	int shift = 0;

	if (!p)
		return -EINVAL;
	if (!strncmp(fmt, "config:", 7))
		field = &attr->config;
	else if (!strncmp(fmt, "config1:", 8))
		field = &attr->config1;
	else if (!strncmp(fmt, "config2:", 8))
		field = &attr->config2;
	else
		return -EINVAL;
	p++;
	while (*p) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo, b;

		if (end == p || lo < 0 || lo > 63)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			if (end == p + 1 || hi < lo || hi > 63)
				return -EINVAL;
			p = end;
		}
		for (b = lo; b <= hi; b++, shift++)
			if (value & (1ULL << shift))
				*field |= 1ULL << b;
			else
				*field &= ~(1ULL << b);
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	/* The value must fit in the bits the format gives it. */
	if (shift < 64 && (value >> shift))
		return -ERANGE;
	return 0;
}

static int apply_terms(const char *pmu, const char *terms, struct pmu_event *ev, int depth,
		       char *err, size_t errsz);

/* One "term" or "term=value" inside PMU/.../. */
static int apply_term(const char *pmu, const char *term, struct pmu_event *ev, int depth, char *err,
		      size_t errsz)
{
	char name[128], fmt[256], alias[1024], file[256];
	const char *eq = strchr(term, '=');
	unsigned long long value = 1;
	size_t len = eq ? (size_t)(eq - term) : strlen(term);
	int r;

	if (!len || len >= sizeof(name)) {
		snprintf(err, errsz, "empty or overlong term '%s'", term);
		return -EINVAL;
	}
	memcpy(name, term, len);
	name[len] = 0;
	if (eq) {
		char *end;

		errno = 0;
		value = strtoull(eq + 1, &end, 0);
		if (errno || end == eq + 1 || *end) {
			snprintf(err, errsz, "term '%s': '%s' is not a number", name, eq + 1);
			return -EINVAL;
		}
	}
	if (!strcmp(name, "period")) {
		ev->attr.freq = 0;
		ev->attr.sample_period = value;
		ev->has_period = true;
		return 0;
	}
	if (!strcmp(name, "freq")) {
		ev->attr.freq = 1;
		ev->attr.sample_freq = value;
		ev->has_freq = true;
		return 0;
	}
	if (!strcmp(name, "name"))
		return 0;
	snprintf(file, sizeof(file), "format/%s", name);
	if (pmu_sysfs__read(pmu, file, fmt, sizeof(fmt)) == 0) {
		r = apply_format(fmt, value, &ev->attr);
		if (r == -ERANGE)
			snprintf(err, errsz, "term '%s': value %#llx does not fit its bits (%s)",
				 name, value, fmt);
		else if (r)
			snprintf(err, errsz, "term '%s': unreadable format '%s'", name, fmt);
		return r;
	}
	/* A named event of this PMU, itself a list of terms. */
	snprintf(file, sizeof(file), "events/%s", name);
	if (!eq && depth == 0 && pmu_sysfs__read(pmu, file, alias, sizeof(alias)) == 0) {
		char v[64];

		snprintf(file, sizeof(file), "events/%s.scale", name);
		if (pmu_sysfs__read(pmu, file, v, sizeof(v)) == 0 && strtod(v, NULL) > 0)
			ev->scale = strtod(v, NULL);
		snprintf(file, sizeof(file), "events/%s.unit", name);
		if (pmu_sysfs__read(pmu, file, v, sizeof(v)) == 0)
			snprintf(ev->unit, sizeof(ev->unit), "%.15s", v);
		return apply_terms(pmu, alias, ev, depth + 1, err, errsz);
	}
	snprintf(err, errsz, "PMU '%s' has no format term or event named '%s'", pmu, name);
	return -ENOENT;
}

static int apply_terms(const char *pmu, const char *terms, struct pmu_event *ev, int depth,
		       char *err, size_t errsz)
{
	char *copy = strdup(terms), *tok, *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		if (*tok)
			r = apply_term(pmu, tok, ev, depth, err, errsz);
	}
	free(copy);
	return r;
}

int pmu_sysfs__parse(const char *spec, struct pmu_event *ev, char *err, size_t errsz)
{
	const char *slash = strchr(spec, '/'), *close;
	char pmu[128], terms[1024];
	size_t len;
	int r;

	len = slash - spec;
	close = slash ? strchr(slash + 1, '/') : NULL;
	if (!slash || !close || !len || len >= sizeof(pmu)) {
		snprintf(err, errsz, "expected PMU/TERMS/ (e.g. cpu/event=0x3c,umask=0x00/)");
		return -EINVAL;
	}
	memcpy(pmu, spec, len);
	pmu[len] = 0;
	len = close - slash - 1;
	if (len >= sizeof(terms)) {
		snprintf(err, errsz, "too many terms");
		return -EINVAL;
	}
	memcpy(terms, slash + 1, len);
	terms[len] = 0;
	if (pmu_sysfs__type(pmu, &ev->attr.type)) {
		/* "uncore_imc" names every instance uncore_imc_0..N: parse against the first. */
		char first[160];

		snprintf(first, sizeof(first), "%s_0", pmu);
		if (strlen(pmu) < sizeof(ev->family) && !pmu_sysfs__type(first, &ev->attr.type)) {
			snprintf(ev->family, sizeof(ev->family), "%s", pmu);
			snprintf(pmu, sizeof(pmu), "%.120s", first);
		} else {
			snprintf(err, errsz, "no PMU named '%s' under %s/bus/event_source/devices",
				 pmu, pmu_sysfs__root());
			return -ENOENT;
		}
	}
	ev->attr.config = ev->attr.config1 = ev->attr.config2 = 0;
	r = apply_terms(pmu, terms, ev, 0, err, errsz);
	if (r)
		return r;
	pmu_sysfs__cpus(pmu, &ev->cpumask);
	snprintf(ev->pmu, sizeof(ev->pmu), "%.63s", pmu);
	/* The software and tracepoint PMUs are the kernel's; everything else is hardware. */
	ev->hardware = ev->attr.type != PERF_TYPE_SOFTWARE &&
		       ev->attr.type != PERF_TYPE_TRACEPOINT &&
		       ev->attr.type != PERF_TYPE_BREAKPOINT;
	ev->uncore = !strncmp(pmu, "uncore", 6) || (ev->cpumask.set && strcmp(pmu, "cpu_core") &&
						    strcmp(pmu, "cpu_atom") && strcmp(pmu, "cpu"));
	return (int)(close - spec + 1);
}

/* NAME.scale, NAME.unit, NAME.per-pkg... describe NAME: not events of their own. */
static bool is_event_attribute(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && (!strcmp(dot, ".scale") || !strcmp(dot, ".unit") ||
		       !strcmp(dot, ".per-pkg") || !strcmp(dot, ".snapshot"));
}

/* The entries of a directory (no dot files), minus those skip() rejects. */
static int list_dir(const char *path, bool (*skip)(const char *), char ***names, int *nr)
{
	char **out = NULL, **tmp;
	struct dirent *de;
	int n = 0;
	DIR *d;

	*names = NULL;
	*nr = 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (skip && skip(de->d_name)))
			continue;
		tmp = realloc(out, (n + 1) * sizeof(*out));
		if (!tmp)
			break;
		out = tmp;
		out[n] = strdup(de->d_name);
		if (out[n])
			n++;
	}
	closedir(d);
	*names = out;
	*nr = n;
	return 0;
}

int pmu_sysfs__list(char ***names, int *nr)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/bus/event_source/devices", pmu_sysfs__root());
	return list_dir(path, NULL, names, nr);
}

int pmu_sysfs__events(const char *pmu, char ***names, int *nr)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/bus/event_source/devices/%s/events", pmu_sysfs__root(),
		 pmu);
	return list_dir(path, is_event_attribute, names, nr);
}

void pmu_names__free(char **names, int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

int pmu_cpu__socket(int cpu)
{
	char path[512], buf[32];
	FILE *f;
	int v = 0;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu%d/topology/physical_package_id",
		 pmu_sysfs__root(), cpu);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = atoi(buf);
	fclose(f);
	return v < 0 ? 0 : v;
}
