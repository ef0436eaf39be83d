// SPDX-License-Identifier: GPL-2.0
/* Event specs → perf_event_attr. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pmu.h"
#include "pmu-private.h"

struct generic_event {
	const char *name;
	const char *alias;
	__u32 type;
	__u64 config;
};

static const struct generic_event generic_events[] = {
	{"cycles", "cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
	{"instructions", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
	{"cache-references", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
	{"cache-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
	{"branches", "branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
	{"branch-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
	{"bus-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},
	{"ref-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
	{"stalled-cycles-frontend", "idle-cycles-frontend", PERF_TYPE_HARDWARE,
	 PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
	{"stalled-cycles-backend", "idle-cycles-backend", PERF_TYPE_HARDWARE,
	 PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
	{"cpu-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
	{"task-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
	{"page-faults", "faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
	{"minor-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
	{"major-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
	{"context-switches", "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
	{"cpu-migrations", "migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
	{"alignment-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS},
	{"emulation-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS},
};

#define NR_GENERIC (sizeof(generic_events) / sizeof(generic_events[0]))

/* perf's HW_CACHE names: <cache>-<op>[-misses]; "accesses" has no suffix. */
static const char *const cache_names[PERF_COUNT_HW_CACHE_MAX] = {
	[PERF_COUNT_HW_CACHE_L1D] = "L1-dcache", [PERF_COUNT_HW_CACHE_L1I] = "L1-icache",
	[PERF_COUNT_HW_CACHE_LL] = "LLC",	 [PERF_COUNT_HW_CACHE_DTLB] = "dTLB",
	[PERF_COUNT_HW_CACHE_ITLB] = "iTLB",	 [PERF_COUNT_HW_CACHE_BPU] = "branch",
	[PERF_COUNT_HW_CACHE_NODE] = "node",
};

static const char *const cache_ops[PERF_COUNT_HW_CACHE_OP_MAX][2] = {
	[PERF_COUNT_HW_CACHE_OP_READ] = {"loads", "load-misses"},
	[PERF_COUNT_HW_CACHE_OP_WRITE] = {"stores", "store-misses"},
	[PERF_COUNT_HW_CACHE_OP_PREFETCH] = {"prefetches", "prefetch-misses"},
};

#define NR_CACHE_NAMES (PERF_COUNT_HW_CACHE_MAX * PERF_COUNT_HW_CACHE_OP_MAX * 2)
static char cache_event_names[NR_CACHE_NAMES][48];
static const char *all_generic[NR_GENERIC + NR_CACHE_NAMES + 1];

const char *const *pmu_events__generic_names(void)
{
	size_t i, n = 0;
	int c, o, r;

	if (all_generic[0])
		return all_generic;
	for (i = 0; i < NR_GENERIC; i++)
		all_generic[n++] = generic_events[i].name;
	for (c = 0; c < PERF_COUNT_HW_CACHE_MAX; c++)
		for (o = 0; o < PERF_COUNT_HW_CACHE_OP_MAX; o++)
			for (r = 0; r < 2; r++) {
				char *s =
					cache_event_names[(c * PERF_COUNT_HW_CACHE_OP_MAX + o) * 2 +
							  r];

				snprintf(s, 48, "%s-%s", cache_names[c], cache_ops[o][r]);
				all_generic[n++] = s;
			}
	all_generic[n] = NULL;
	return all_generic;
}

static bool parse_cache(const char *name, __u64 *config)
{
	int c, o, r;

	for (c = 0; c < PERF_COUNT_HW_CACHE_MAX; c++) {
		size_t len = strlen(cache_names[c]);

		if (strncmp(name, cache_names[c], len) || name[len] != '-')
			continue;
		for (o = 0; o < PERF_COUNT_HW_CACHE_OP_MAX; o++)
			for (r = 0; r < 2; r++)
				if (!strcmp(name + len + 1, cache_ops[o][r])) {
					*config = c | (o << 8) |
						  ((r ? PERF_COUNT_HW_CACHE_RESULT_MISS
						      : PERF_COUNT_HW_CACHE_RESULT_ACCESS)
						   << 16);
					return true;
				}
	}
	return false;
}

static void init_event(struct pmu_event *ev, const char *name)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->name, sizeof(ev->name), "%s", name);
	ev->attr.size = sizeof(ev->attr);
	ev->scale = 1;
}

static bool parse_generic(const char *name, struct pmu_event *ev)
{
	__u64 config;
	size_t i;

	for (i = 0; i < NR_GENERIC; i++) {
		const struct generic_event *g = &generic_events[i];

		if (strcmp(name, g->name) && (!g->alias || strcmp(name, g->alias)))
			continue;
		init_event(ev, g->name);
		ev->attr.type = g->type;
		ev->attr.config = g->config;
		ev->hardware = g->type == PERF_TYPE_HARDWARE;
		return true;
	}
	if (parse_cache(name, &config)) {
		init_event(ev, name);
		ev->attr.type = PERF_TYPE_HW_CACHE;
		ev->attr.config = config;
		ev->hardware = true;
		return true;
	}
	return false;
}

static bool parse_raw(const char *name, struct pmu_event *ev)
{
	unsigned long long v;
	char *end;

	if (name[0] != 'r' || !isxdigit((unsigned char)name[1]))
		return false;
	errno = 0;
	v = strtoull(name + 1, &end, 16);
	if (errno || *end)
		return false;
	init_event(ev, name);
	ev->attr.type = PERF_TYPE_RAW;
	ev->attr.config = v;
	ev->hardware = true;
	return true;
}

/* perf-style modifiers after ':' — u, k, h, p (up to 3), G, H. */
static bool is_perf_mods(const char *m)
{
	if (!*m)
		return false;
	for (; *m; m++)
		if (!strchr("ukhpGH", *m))
			return false;
	return true;
}

static int apply_perf_mods(const char *m, struct pmu_event *ev, char *err, size_t errsz)
{
	bool u = false, k = false, h = false;
	int p = 0;

	for (; *m; m++) {
		switch (*m) {
		case 'u':
			u = true;
			break;
		case 'k':
			k = true;
			break;
		case 'h':
			h = true;
			break;
		case 'p':
			p++;
			break;
		default:
			break; /* G/H: guest/host, nothing to do here */
		}
	}
	if (p > 3) {
		snprintf(err, errsz, "bad precise level :%.*s (at most :ppp)", p, "pppppppp");
		return -EINVAL;
	}
	if (u || k || h) {
		ev->attr.exclude_user = !u;
		ev->attr.exclude_kernel = !k;
		ev->attr.exclude_hv = !h;
	}
	ev->attr.precise_ip = p;
	return 0;
}

bool pmu__is_hybrid(void)
{
	return pmu_sysfs__exists("cpu_core") && pmu_sysfs__exists("cpu_atom");
}

static void describe_encoding(struct pmu_event *ev)
{
	if (!ev->encoding[0])
		snprintf(ev->encoding, sizeof(ev->encoding), "type=%u,config=%#llx", ev->attr.type,
			 (unsigned long long)ev->attr.config);
}

int pmu_event__parse_spec(const char *spec, struct pmu_event *ev, char *err, size_t errsz)
{
	char dummy[8], base[PMU_EVENT_NAME_MAX], alt[PMU_EVENT_NAME_MAX];
	const char *colon, *dot;
	int r;

	if (!err) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	err[0] = 0;
	if (!spec || !*spec) {
		snprintf(err, errsz, "empty event name");
		return -EINVAL;
	}
	if (strlen(spec) >= PMU_EVENT_NAME_MAX) {
		snprintf(err, errsz, "event name too long");
		return -EINVAL;
	}

	/* PMU/terms/[:mods] */
	if (strchr(spec, '/')) {
		init_event(ev, spec);
		r = pmu_sysfs__parse(spec, ev, err, errsz);
		if (r < 0)
			return r;
		snprintf(ev->encoding, sizeof(ev->encoding), "%.*s", r, spec);
		if (spec[r] == ':' && is_perf_mods(spec + r + 1))
			return apply_perf_mods(spec + r + 1, ev, err, errsz);
		if (spec[r]) {
			snprintf(err, errsz, "unexpected '%s' after the PMU terms", spec + r);
			return -EINVAL;
		}
		return 0;
	}

	/* generic or raw, with perf-style modifiers */
	colon = strchr(spec, ':');
	snprintf(base, sizeof(base), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	if (parse_generic(base, ev) || parse_raw(base, ev)) {
		if (colon && !is_perf_mods(colon + 1)) {
			snprintf(err, errsz, "unknown modifier ':%s' (use :u, :k, :p, :pp or :ppp)",
				 colon + 1);
			return -EINVAL;
		}
		if (colon) {
			snprintf(alt, sizeof(alt), "%s", ev->name);
			snprintf(ev->name, sizeof(ev->name), "%.60s%.60s", alt, colon);
			r = apply_perf_mods(colon + 1, ev, err, errsz);
			if (r)
				return r;
		}
		describe_encoding(ev);
		return 0;
	}

	/* libpfm4, as given, then with perf's EVENT.UMASK spelling */
	init_event(ev, spec);
	r = pmu_pfm__encode(spec, ev, err, errsz);
	ev->scale = 1;
	dot = strchr(spec, '.');
	if (r == -ENOENT && dot && !strstr(spec, "::")) {
		snprintf(alt, sizeof(alt), "%s", spec);
		alt[dot - spec] = ':';
		r = pmu_pfm__encode(alt, ev, err, errsz);
	}
	/* libpfm4 name with perf-style :p/:pp suffix */
	colon = strrchr(spec, ':');
	if (r == -EINVAL && colon && is_perf_mods(colon + 1) && strchr(colon + 1, 'p')) {
		snprintf(alt, sizeof(alt), "%.*s", (int)(colon - spec), spec);
		r = pmu_pfm__encode(alt, ev, err, errsz);
		if (!r)
			r = apply_perf_mods(colon + 1, ev, err, errsz);
	}
	if (r == -ENOENT)
		snprintf(err, errsz, "unknown event");
	snprintf(ev->name, sizeof(ev->name), "%s", spec);
	if (!r && ev->attr.precise_ip > 3) {
		snprintf(err, errsz, "bad precise level %u (0 to 3)", ev->attr.precise_ip);
		return -EINVAL;
	}
	return r;
}

int pmu_event__parse(const char *spec, struct pmu_event *ev)
{
	return pmu_event__parse_spec(spec, ev, NULL, 0);
}

/* A generic hardware event on a hybrid machine: one event per core PMU. */
static int expand_hybrid(const struct pmu_event *ev, struct pmu_event *out)
{
	static const char *const pmus[] = {"cpu_core", "cpu_atom"};
	int i, n = 0;

	for (i = 0; i < 2; i++) {
		__u32 type;

		if (pmu_sysfs__type(pmus[i], &type))
			continue;
		out[n] = *ev;
		snprintf(out[n].name, sizeof(out[n].name), "%s/%.100s/", pmus[i], ev->name);
		snprintf(out[n].pmu, sizeof(out[n].pmu), "%s", pmus[i]);
		/* Extended type: the PMU in the upper 32 bits of config (5.13+). */
		out[n].attr.config |= (__u64)type << 32;
		snprintf(out[n].encoding, sizeof(out[n].encoding), "type=%u,config=%#llx",
			 out[n].attr.type, (unsigned long long)out[n].attr.config);
		pmu_sysfs__cpus(pmus[i], &out[n].cpumask);
		n++;
	}
	return n;
}

/* PMU/terms/ where PMU names instances PMU_0..PMU_N: one event for each. */
static int expand_instances(const struct pmu_event *ev, const char *spec, struct pmu_event **out,
			    int *n)
{
	const char *slash = strchr(spec, '/');
	char name[PMU_EVENT_NAME_MAX], buf[256];
	struct pmu_event inst, *tmp;
	int i;

	for (i = 0; i < 1024; i++) {
		snprintf(name, sizeof(name), "%s_%d%s", ev->family, i, slash);
		if (pmu_event__parse_spec(name, &inst, buf, sizeof(buf)))
			break;
		inst.group = ev->group;
		inst.leader = ev->leader && i == 0;
		snprintf(inst.family, sizeof(inst.family), "%s", ev->family);
		/* Instances add up: they keep the name the user gave. */
		snprintf(inst.name, sizeof(inst.name), "%s", spec);
		tmp = realloc(*out, (*n + 2) * sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
		*out = tmp;
		(*out)[(*n)++] = inst;
	}
	return i;
}

int pmu_events__parse_list(const char *list, struct pmu_event **evs, int *nr, char **bad, char *err,
			   size_t errsz)
{
	struct pmu_event *out = NULL, *tmp, ev;
	const char *p = list, *start;
	int n = 0, r = 0, groups = 0, group = 0;
	bool hybrid = pmu__is_hybrid(), open_group, close_group;
	char *item = NULL;

	*evs = NULL;
	*nr = 0;
	if (bad)
		*bad = NULL;
	if (err && errsz)
		err[0] = 0;
	if (!list || !*list) {
		if (bad)
			*bad = strdup("");
		if (err)
			snprintf(err, errsz, "empty event list");
		return -EINVAL;
	}
	while (1) {
		bool in_slash = false;

		/* A group {a,b} is sampled as its members: the braces only mark it. */
		start = p;
		while (*p && (*p != ',' || in_slash)) {
			if (*p == '/')
				in_slash = !in_slash;
			p++;
		}
		item = strndup(start, p - start);
		if (!item) {
			r = -ENOMEM;
			goto out;
		}
		/* Groups are counted together by `stat`; sampling takes their members. */
		open_group = item[0] == '{';
		close_group = strlen(item) && item[strlen(item) - 1] == '}';
		if (open_group || close_group) {
			memmove(item, item + open_group, strlen(item));
			if (close_group)
				item[strlen(item) - 1] = 0;
		}
		if (open_group)
			group = ++groups;
		r = pmu_event__parse_spec(item, &ev, err, errsz);
		if (r)
			goto out;
		ev.group = group;
		ev.leader = open_group;
		if (close_group)
			group = 0;
		tmp = realloc(out, (n + 2) * sizeof(*out));
		if (!tmp) {
			r = -ENOMEM;
			goto out;
		}
		out = tmp;
		if (hybrid &&
		    (ev.attr.type == PERF_TYPE_HARDWARE || ev.attr.type == PERF_TYPE_HW_CACHE)) {
			n += expand_hybrid(&ev, &out[n]);
		} else if (ev.family[0]) {
			int k = expand_instances(&ev, item, &out, &n);

			if (k < 0) {
				r = k;
				goto out;
			}
		} else {
			out[n++] = ev;
		}
		free(item);
		item = NULL;
		if (!*p)
			break;
		p++;
	}
out:
	if (r) {
		if (bad)
			*bad = item;
		else
			free(item);
		free(out);
		return r;
	}
	*evs = out;
	*nr = n;
	return 0;
}

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int row[PMU_EVENT_NAME_MAX + 1], prev, tmp;

	if (la > PMU_EVENT_NAME_MAX || lb > PMU_EVENT_NAME_MAX)
		return 1000;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			int cost = tolower((unsigned char)a[i - 1]) !=
				   tolower((unsigned char)b[j - 1]);

			tmp = row[j];
			row[j] = prev + cost;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

int pmu_event__suggest(const char *spec, char (*out)[PMU_EVENT_NAME_MAX], int max)
{
	struct pmu_list_entry *list;
	int nr, i, j, n = 0, best[8], limit;
	const char *base;

	if (max > 8)
		max = 8;
	if (pmu_events__list(false, &list, &nr))
		return 0;
	limit = strlen(spec) / 3 + 1;
	if (limit < 2)
		limit = 2;
	for (i = 0; i < nr; i++) {
		/* Compare libpfm4 names without their "pmu::" prefix too. */
		const char *name = list[i].name;
		int d;

		base = strstr(name, "::");
		d = edit_distance(spec, name);
		if (base) {
			int d2 = edit_distance(spec, base + 2);

			if (d2 < d)
				d = d2;
		}
		if (d > limit)
			continue;
		for (j = n; j > 0 && best[j - 1] > d; j--)
			if (j < max) {
				best[j] = best[j - 1];
				memcpy(out[j], out[j - 1], PMU_EVENT_NAME_MAX);
			}
		if (j < max) {
			best[j] = d;
			snprintf(out[j], PMU_EVENT_NAME_MAX, "%s", name);
			if (n < max)
				n++;
		}
	}
	free(list);
	return n;
}
