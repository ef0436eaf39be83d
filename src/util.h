/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the commands. */
#ifndef PMUPROF_UTIL_H
#define PMUPROF_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* The executable a command name runs (PATH lookup unless it has a '/'), malloc'd, or NULL. */
char *find_in_path(const char *cmd);

/*
 * Fork cmd (the executable at path) stopped before exec: it execs when a byte is written
 * to *go_fd, and exits 127 when *go_fd is closed first. Returns the pid or -errno.
 */
pid_t launch_paused(char **cmd, const char *path, int *go_fd);

/*
 * "12,345" → pids appended to *out (realloc'd; *nr counts them). 0, -EINVAL with the
 * offending item copied to bad, or -ENOMEM.
 */
int pid_list__parse(const char *list, pid_t **out, int *nr, char *bad, size_t sz);

/*
 * Append every thread of process pid to *tasks (realloc'd; *nr counts them).
 * 0, -ESRCH when there is no such process, or -ENOMEM.
 */
int threads_of(pid_t pid, pid_t **tasks, int *nr);

/* True when process pid has exited: gone, or a zombie its parent has not reaped yet. */
bool process_exited(pid_t pid);

/* CLOCK_MONOTONIC in seconds. */
double monotonic_now(void);

/* s as a JSON string literal (quotes, escapes). */
void json_write_string(FILE *f, const char *s);

#endif
