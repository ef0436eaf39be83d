/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the files of pmu/ only. */
#ifndef PMUPROF_PMU_PRIVATE_H
#define PMUPROF_PMU_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include "pmu.h"

int pmu_sysfs__read(const char *pmu, const char *file, char *buf, size_t sz);
bool pmu_sysfs__exists(const char *pmu);
int pmu_sysfs__type(const char *pmu, __u32 *type);
int pmu_sysfs__cpus(const char *pmu, struct pmu_cpumask *mask);
/* Parse "PMU/terms/" at the start of spec; returns the length consumed or -errno. */
int pmu_sysfs__parse(const char *spec, struct pmu_event *ev, char *err, size_t errsz);

/* libpfm4 encoding; -ENOENT when libpfm4 does not know the name. */
int pmu_pfm__encode(const char *spec, struct pmu_event *ev, char *err, size_t errsz);

#endif
