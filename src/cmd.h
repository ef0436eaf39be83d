/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PMUPROF_CMD_H
#define PMUPROF_CMD_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes: 0 success, 2 bad input or a refused operation, 1 an unexpected failure. */
#define EXIT_BAD_INPUT 2

struct option;

/*
 * The one-line error for what getopt_long returned as c ('?' or ':', with a leading ':'
 * in the option string): names the option, even inside a cluster (-ax), and points at
 * 'pmuprof CMD --help'. Returns EXIT_BAD_INPUT.
 */
int cmd_option_error(const char *cmd, int c, char **argv, const struct option *options);

/* --call-graph: perf's spelling (fp, dwarf, dwarf,SIZE; no stack is copied here, SIZE is
 * checked and ignored). CALL_GRAPH_FP or CALL_GRAPH_DWARF, -EINVAL for anything else. */
enum { CALL_GRAPH_DEFAULT = 0, CALL_GRAPH_FP = 1, CALL_GRAPH_DWARF = 2 };
int cmd_call_graph__parse(const char *arg);
/*
 * Whether the kernel can walk user stacks with CFI tables (bpf_loop, bpf_probe_read_user).
 * When it cannot and say is set, one line "PREFIX: this kernel lacks ..." on stderr says
 * user stacks follow frame pointers.
 */
bool cmd_call_graph__kernel_can(const char *prefix, bool say);

/* Bytes, or with a K, M or G suffix (powers of 1024); 0 when invalid or below 64 KiB. */
unsigned long long cmd_size__parse(const char *s);

int cmd_record(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_collapse(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_report(int argc, char **argv);

struct stack_table;
/* pmuprof report's table of a recorded profile on f, titled with the event (--report). */
int report__print_table(FILE *f, struct stack_table *st, const char *event);

#endif
