/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the commands. */
#ifndef PMUPROF_UTIL_H
#define PMUPROF_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* The executable a command name runs (PATH lookup unless it has a '/'), malloc'd, or NULL. */
char *command__find(const char *cmd);

/*
 * Fork cmd (the executable at path) stopped before exec: it execs when a byte is written
 * to *go_fd, and exits 127 when *go_fd is closed first. It inherits no descriptor that
 * pmuprof opened; stdout_to_stderr gives it stderr as its stdout. Returns the pid or
 * -errno.
 */
pid_t command__launch_paused(char **cmd, const char *path, int *go_fd, bool stdout_to_stderr);

/*
 * Remember the descriptors pmuprof was started with: a launched command inherits those
 * and no other (see command__launch_paused). Call first thing in main().
 */
void fds__note_inherited(void);

/*
 * Send sig to a launched command and reap it; if it is still running after grace
 * seconds, SIGKILL it. 0 (status filled) or a negative errno.
 */
int command__stop(pid_t pid, int sig, double grace, int *status);

/*
 * "12,345" → pids appended to *out (realloc'd; *nr counts them). 0, -EINVAL with the
 * offending item copied to bad, or -ENOMEM.
 */
int pid_list__parse(const char *list, pid_t **out, int *nr, char *bad, size_t sz);

/*
 * Append every thread of process pid to *tasks (realloc'd; *nr counts them).
 * 0, -ESRCH when there is no such process, or -ENOMEM.
 */
int process__threads(pid_t pid, pid_t **tasks, int *nr);

/* True when process pid has exited: gone, or a zombie its parent has not reaped yet. */
bool process__exited(pid_t pid);

/*
 * SIGINT and SIGTERM to on_stop, SIGCHLD to on_child, without SA_RESTART: a blocking call
 * returns EINTR to the loop that made it instead of hiding the signal.
 */
void signals__install(void (*on_stop)(int), void (*on_child)(int));

/* CLOCK_MONOTONIC in seconds. */
double clock__monotonic(void);

/*
 * JSON through json-c. Bytes that are not UTF-8 become U+FFFD (JSON text is Unicode;
 * process and event names need not be).
 */
struct json_object;

/* A JSON string of s (NULL: ""), or NULL without memory. */
struct json_object *json__string(const char *s);

/* key → value in obj (NULL: null), the key made valid UTF-8; value's reference passes to obj. */
int json__add(struct json_object *obj, const char *key, struct json_object *value);

/* A number printed with fmt ("%.3f", "%.6g"), or NULL (null) when v is not finite. */
struct json_object *json__number(double v, const char *fmt);

/* obj on one line and a newline; drops the caller's reference. 0 or -EIO. */
int json__write_line(FILE *f, struct json_object *obj);

/* obj on one line, no newline (an element of a longer text); drops the reference. */
int json__write_text(FILE *f, struct json_object *obj);

/* obj indented over several lines and a newline; drops the caller's reference. */
int json__write_pretty(FILE *f, struct json_object *obj);

#endif
