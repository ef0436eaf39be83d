// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

/* 0: silent (default); each -v raises it. */
static int log_level;

void log__set_level(int level)
{
	log_level = level;
}

int log__get_level(void)
{
	return log_level;
}

void log__printf(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int log__libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warns of what it works around ("Retrying without BTF"): not news at -v. */
	int ours = level == LIBBPF_WARN ? LOG_DEBUG : LOG_TRACE;

	if (ours > log_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}
