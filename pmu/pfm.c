// SPDX-License-Identifier: GPL-2.0
/*
 * libpfm4 glue: names → perf_event_attr, the event tables for `pmuprof list`. The library
 * is loaded at the first name it is asked for, not linked: relocating its event tables
 * costs 2 MB of resident memory in every process that maps it, and the usual events
 * (cycles, generic and raw ones) never need it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* The kernel's header first: libpfm4's own copy then steps aside. */
#include "pmu.h"
#include "pmu-private.h"
#include "lazylib.h"
#include <perfmon/pfmlib_perf_event.h>

static int pfm_state; /* 0 not tried, 1 ok, negative errno */

/* The part of libpfm4 used here, once loaded. */
static struct {
	__typeof__(pfm_initialize) *initialize;
	__typeof__(pfm_strerror) *strerror;
	__typeof__(pfm_get_pmu_info) *get_pmu_info;
	__typeof__(pfm_get_event_info) *get_event_info;
	__typeof__(pfm_get_event_next) *get_event_next;
	__typeof__(pfm_get_os_event_encoding) *get_os_event_encoding;
} pfm_lib;

static const struct lazylib_sym pfm_syms[] = {
	LAZYLIB_SYM(pfm_lib, initialize, pfm_initialize),
	LAZYLIB_SYM(pfm_lib, strerror, pfm_strerror),
	LAZYLIB_SYM(pfm_lib, get_pmu_info, pfm_get_pmu_info),
	LAZYLIB_SYM(pfm_lib, get_event_info, pfm_get_event_info),
	LAZYLIB_SYM(pfm_lib, get_event_next, pfm_get_event_next),
	LAZYLIB_SYM(pfm_lib, get_os_event_encoding, pfm_get_os_event_encoding),
};

static struct lazylib pfm_lazy = LAZYLIB(PFM_SONAME, PFM_PACKAGE, pfm_syms);

int pmu_pfm__init(void)
{
	if (!pfm_state) {
		int r = lazylib__load(&pfm_lazy) ? PFM_ERR_NOINIT : pfm_lib.initialize();

		pfm_state = r == PFM_SUCCESS ? 1 : -ENODEV;
	}
	return pfm_state < 0 ? pfm_state : 0;
}

/* libpfm4's errors at the module edge. */
static int pfm_errno(int code)
{
	switch (code) {
	case PFM_ERR_NOTFOUND:
		return -ENOENT;
	case PFM_ERR_NOMEM:
		return -ENOMEM;
	case PFM_ERR_NOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
}

static const char *pfm_reason(int code)
{
	switch (code) {
	case PFM_ERR_NOTFOUND:
		return "unknown event";
	case PFM_ERR_UMASK:
		return "unknown or missing unit mask";
	case PFM_ERR_ATTR:
		return "unknown modifier or unit mask";
	case PFM_ERR_ATTR_VAL:
		return "invalid modifier value (period and freq together?)";
	case PFM_ERR_ATTR_SET:
		return "modifier given twice";
	case PFM_ERR_FEATCOMB:
		return "modifiers that cannot be combined";
	case PFM_ERR_TOOMANY:
		return "too many modifiers";
	case PFM_ERR_NOTSUPP:
		return "not supported here (an uncore event needs its PMU under "
		       "/sys/bus/event_source/devices)";
	default:
		return pfm_lib.strerror(code);
	}
}

/* "skl::EVENT" on a machine without that PMU: libpfm4 knows it, the CPU does not. */
static bool pmu_known_but_absent(const char *spec, char *err, size_t errsz)
{
	const char *sep = strstr(spec, "::");
	int p;

	/* With inactive PMUs encoded, an unknown name is just unknown. */
	if (!sep || getenv("LIBPFM_ENCODE_INACTIVE"))
		return false;
	pfm_for_all_pmus(p)
	{
		pfm_pmu_info_t info;

		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		if (pfm_lib.get_pmu_info(p, &info) != PFM_SUCCESS || !info.name)
			continue;
		if (strlen(info.name) == (size_t)(sep - spec) &&
		    !strncmp(info.name, spec, sep - spec) && !info.is_present) {
			snprintf(err, errsz,
				 "the %s PMU (%s) is not on this machine; LIBPFM_ENCODE_INACTIVE=1 "
				 "encodes it anyway (pmuprof list --details)",
				 info.name, info.desc ? info.desc : "");
			return true;
		}
	}
	return false;
}

/* An uncore event (skx_unc_imc0::...): counted on its sysfs PMU's cpumask. */
static void mark_uncore(struct pmu_event *ev, int idx)
{
	pfm_event_info_t einfo;
	pfm_pmu_info_t pinfo;
	char **pmus = NULL;
	int nr = 0, i;

	memset(&einfo, 0, sizeof(einfo));
	einfo.size = sizeof(einfo);
	memset(&pinfo, 0, sizeof(pinfo));
	pinfo.size = sizeof(pinfo);
	if (pfm_lib.get_event_info(idx, PFM_OS_PERF_EVENT_EXT, &einfo) != PFM_SUCCESS ||
	    pfm_lib.get_pmu_info(einfo.pmu, &pinfo) != PFM_SUCCESS ||
	    pinfo.type != PFM_PMU_TYPE_UNCORE)
		return;
	ev->uncore = true;
	if (pmu_sysfs__list(&pmus, &nr))
		return;
	for (i = 0; i < nr; i++) {
		__u32 type;

		if (!pmu_sysfs__type(pmus[i], &type) && type == ev->attr.type) {
			pmu_sysfs__cpus(pmus[i], &ev->cpumask);
			snprintf(ev->pmu, sizeof(ev->pmu), "%.63s", pmus[i]);
			break;
		}
	}
	pmu_names__free(pmus, nr);
}

int pmu_pfm__encode(const char *spec, struct pmu_event *ev, char *err, size_t errsz)
{
	pfm_perf_encode_arg_t arg;
	char *fstr = NULL;
	int r;

	r = pmu_pfm__init();
	if (r) {
		if (pfm_lazy.state < 0)
			lazylib__strerror(&pfm_lazy, err, errsz);
		else
			snprintf(err, errsz, "libpfm4 could not be initialized");
		return r;
	}
	memset(&ev->attr, 0, sizeof(ev->attr));
	/* libpfm copies only the first 64 bytes of the attr unless size says more. */
	ev->attr.size = sizeof(ev->attr);
	memset(&arg, 0, sizeof(arg));
	arg.attr = &ev->attr;
	arg.fstr = &fstr;
	arg.size = sizeof(arg);
	r = pfm_lib.get_os_event_encoding(spec, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
	if (r != PFM_SUCCESS) {
		snprintf(err, errsz, "%s", pfm_reason(r));
		free(fstr);
		if (r == PFM_ERR_NOTFOUND && pmu_known_but_absent(spec, err, errsz))
			return -ENODEV;
		return pfm_errno(r);
	}
	ev->attr.size = sizeof(ev->attr);
	snprintf(ev->encoding, sizeof(ev->encoding), "%s", fstr ? fstr : spec);
	free(fstr);
	if (ev->attr.freq)
		ev->has_freq = true;
	else if (ev->attr.sample_period)
		ev->has_period = true;
	ev->hardware = ev->attr.type != PERF_TYPE_SOFTWARE &&
		       ev->attr.type != PERF_TYPE_TRACEPOINT &&
		       ev->attr.type != PERF_TYPE_BREAKPOINT;
	mark_uncore(ev, arg.idx);
	return 0;
}

int pmu_events__list(bool all_pmus, struct pmu_list_entry **out, int *nr)
{
	const char *const *g = pmu_events__generic_names();
	struct pmu_list_entry *list = NULL, *tmp;
	char **pmus = NULL, **evs;
	int n = 0, cap = 0, i, j, nr_pmus = 0, nr_evs, p;

#define PUSH()                                                                                     \
	do {                                                                                       \
		if (n == cap) {                                                                    \
			cap = cap ? cap * 2 : 256;                                                 \
			tmp = realloc(list, cap * sizeof(*list));                                  \
			if (!tmp)                                                                  \
				goto nomem;                                                        \
			list = tmp;                                                                \
		}                                                                                  \
		memset(&list[n], 0, sizeof(list[n]));                                              \
	} while (0)

	for (; *g; g++) {
		struct pmu_event ev;

		PUSH();
		snprintf(list[n].name, sizeof(list[n].name), "%s", *g);
		pmu_event__parse(*g, &ev);
		snprintf(list[n].desc, sizeof(list[n].desc), "%s event",
			 ev.attr.type == PERF_TYPE_SOFTWARE   ? "software"
			 : ev.attr.type == PERF_TYPE_HW_CACHE ? "hardware cache"
							      : "hardware");
		list[n].source = "generic";
		list[n].present = true;
		n++;
	}

	if (!pmu_pfm__init()) {
		pfm_for_all_pmus(p)
		{
			pfm_pmu_info_t pinfo;

			memset(&pinfo, 0, sizeof(pinfo));
			pinfo.size = sizeof(pinfo);
			if (pfm_lib.get_pmu_info(p, &pinfo) != PFM_SUCCESS)
				continue;
			/* libpfm's own perf:: tables repeat the generic names. */
			if (!pinfo.name || !strncmp(pinfo.name, "perf", 4))
				continue;
			if (!pinfo.is_present && !all_pmus)
				continue;
			for (i = pinfo.first_event; i != -1; i = pfm_lib.get_event_next(i)) {
				pfm_event_info_t einfo;

				memset(&einfo, 0, sizeof(einfo));
				einfo.size = sizeof(einfo);
				if (pfm_lib.get_event_info(i, PFM_OS_PERF_EVENT_EXT, &einfo) !=
				    PFM_SUCCESS)
					continue;
				PUSH();
				snprintf(list[n].name, sizeof(list[n].name), "%s::%s", pinfo.name,
					 einfo.name);
				snprintf(list[n].desc, sizeof(list[n].desc), "%s",
					 einfo.desc ? einfo.desc : "");
				snprintf(list[n].pmu, sizeof(list[n].pmu), "%s", pinfo.name);
				list[n].source = "libpfm4";
				list[n].present = pinfo.is_present;
				n++;
			}
		}
	}

	if (!pmu_sysfs__list(&pmus, &nr_pmus)) {
		for (i = 0; i < nr_pmus; i++) {
			if (pmu_sysfs__events(pmus[i], &evs, &nr_evs))
				continue;
			for (j = 0; j < nr_evs; j++) {
				PUSH();
				snprintf(list[n].name, sizeof(list[n].name), "%s/%s/", pmus[i],
					 evs[j]);
				snprintf(list[n].desc, sizeof(list[n].desc),
					 "sysfs event of PMU %s", pmus[i]);
				snprintf(list[n].pmu, sizeof(list[n].pmu), "%s", pmus[i]);
				list[n].source = "sysfs";
				list[n].present = true;
				n++;
			}
			pmu_names__free(evs, nr_evs);
		}
		pmu_names__free(pmus, nr_pmus);
	}
	*out = list;
	*nr = n;
	return 0;
nomem:
	free(list);
	return -ENOMEM;
#undef PUSH
}
