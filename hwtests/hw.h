/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hardware suite: each test program checks its prerequisites before criterion runs
 * and exits 77 with the reason on stderr when they are not met (not root, no hardware
 * PMU, this CPU lacks the event): a skip is reported as one, never as a pass.
 */
#ifndef PMUPROF_HW_H
#define PMUPROF_HW_H

#include <criterion/criterion.h>
#include "oracle.h"

/* Each test file defines this: NULL when the test can run here, else why not. */
const char *hw_prereq(void);

/* Common prerequisites: root and a hardware PMU. NULL or the reason. */
const char *hw_need_pmu(void);
/* The event must open (user-space counting). NULL or the reason. */
const char *hw_need_event(const char *event);

#endif
