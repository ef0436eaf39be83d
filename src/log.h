/* SPDX-License-Identifier: GPL-2.0 */
/* Debug sink. Library modules never print for users; they may log here (quiet unless -v). */
#ifndef PMUPROF_LOG_H
#define PMUPROF_LOG_H

#include <stdarg.h>
#include <bpf/libbpf.h>

/* -v: what pmuprof opens and why; -vv: libbpf's warnings and our debug; -vvv: all of libbpf. */
enum log_level { LOG_INFO = 1, LOG_DEBUG = 2, LOG_TRACE = 3 };

void log__set_level(int level);
int log__get_level(void);
void log__printf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libbpf's print callback, routed through this sink. */
int log__libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

#define pr_debug(...) log__printf(LOG_DEBUG, __VA_ARGS__)
#define pr_info(...)  log__printf(LOG_INFO, __VA_ARGS__)

#endif
