/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the commands. */
#ifndef PMUPROF_UTIL_H
#define PMUPROF_UTIL_H

#include <stdio.h>

/* The executable a command name runs (PATH lookup unless it has a '/'), malloc'd, or NULL. */
char *find_in_path(const char *cmd);

/* CLOCK_MONOTONIC in seconds. */
double monotonic_now(void);

/* s as a JSON string literal (quotes, escapes). */
void json_write_string(FILE *f, const char *s);

#endif
